"""Start-up: `import xlcalc`, `xlcalc solve` and `xlcalc --help` load no workbook or Excel machinery.

Each check runs in a fresh interpreter started with -S, so that no site .pth file has loaded zipfile
before xlcalc is imported (in some environments one does), with the parent's sys.path so the same
packages are found.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEAVY = ("zipfile", "openpyxl", "xlwings")

PROBE = """
import contextlib, io, json, sys
sys.path[:0] = {path!r}
before = set(sys.modules)
{code}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def modules_loaded_by(code: str) -> set[str]:
    """The modules that ``code`` adds to sys.modules in a fresh interpreter."""
    path = [str(ROOT)] + [p for p in sys.path if p]
    result = subprocess.run([sys.executable, "-S", "-c", PROBE.format(path=path, code=code)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


CLI = """
from xlcalc import cli
with contextlib.redirect_stdout(io.StringIO()):
    try:
        status = cli.main({argv!r})
    except SystemExit as exit:
        status = exit.code
assert status == 0, status
"""


class TestImports:
    def test_the_probe_sees_a_heavy_import(self):  # the check below can fail
        assert "zipfile" in heavy(modules_loaded_by("import xlcalc.workbooks.files"))

    def test_import_xlcalc(self):
        loaded = modules_loaded_by("import xlcalc")
        assert heavy(loaded) == []
        assert "xlcalc.data.hardware" not in loaded and "xlcalc.core.fitting" not in loaded  # loaded on first use

    @pytest.mark.parametrize("argv", [
        ["solve", "compute-optimal", "--loss", "2.0", "--inference-tokens", "1e12"],
        ["solve", "budget", "--total-flops", "1e24", "--inference-tokens", "1e12", "--json"],
        ["--help"],
    ], ids=["solve", "solve-json", "help"])
    def test_cli(self, argv):
        assert heavy(modules_loaded_by(CLI.format(argv=argv))) == []

    def test_lazy_names_still_work(self):
        loaded = modules_loaded_by("import xlcalc; assert xlcalc.gpu('H100 SXM5').mem_bw_tbs > 0; "
                                   "assert 'fit_scaling_law' in dir(xlcalc); from xlcalc import *")
        assert "xlcalc.data.hardware" in loaded and "xlcalc.core.fitting" in loaded
