"""Project-wide pytest settings.

With XLCALC_NO_SKIPS=1 (set by .ci/run), a skipped test is reported as a failure: CI has everything the
tests need (LibreOffice included), so a skip there would hide a test that never ran. Hypothesis has no
deadline, and in CI its examples are derandomized.
"""

import os

import pytest
from hypothesis import settings

# No per-example time limit (a loaded CI machine is slow, and speed is measured in benchmarks/, not tests);
# in CI the examples are derandomized so a run can be repeated exactly.
settings.register_profile("xlcalc", deadline=None, print_blob=True)
settings.register_profile("xlcalc-ci", parent=settings.get_profile("xlcalc"), derandomize=True)
settings.load_profile("xlcalc-ci" if os.environ.get("XLCALC_NO_SKIPS") == "1" else "xlcalc")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("XLCALC_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run (XLCALC_NO_SKIPS=1): {reason}"
