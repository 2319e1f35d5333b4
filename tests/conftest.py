"""Fixtures shared by several test modules (pytest finds this file; tests/ is on sys.path)."""

import pytest


@pytest.fixture(scope="class")
def windows():
    """xlwings' Windows UDF machinery with xlcalc.udfs imported under it (tests/test_udfs_xlwings.py), for a class
    of tests (for the tests of a module outside a class, for the module), then everything put back."""
    from test_udfs_xlwings import windows_xlwings
    with windows_xlwings() as namespace:
        yield namespace
