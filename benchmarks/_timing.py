"""Shared by the benchmark scripts: CPU time of repeated runs, shown as min and median, and the CPU's name."""

from __future__ import annotations

import platform
import statistics
import time


def cpu_times(repeats: int, run) -> list[float]:
    """CPU seconds of this process for each of ``repeats`` runs of ``run()``."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return times


def min_median(times) -> str:
    """'min 0.1234 s, median 0.1301 s'."""
    return f"min {min(times):.4g} s, median {statistics.median(times):.4g} s"


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what the platform module knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
