"""The package's layers stay layered: no module imports a layer above its own, and the math imports only numpy and scipy.

Layers, lowest first (README "Layout"):

0. foundation: ``xlcalc.errors``, ``xlcalc.units`` and argument checking (``xlcalc._checks``, ``_reasons``,
   ``_scalar_checks``);
1. ``xlcalc.data``: the shipped catalogs (accelerators, prices, model shapes) and the training-run reader;
2. ``xlcalc.core``: the mathematics;
3. the faces, side by side and blind to each other: ``xlcalc.excel`` with its xlwings entry module ``xlcalc.udfs``,
   and ``xlcalc.workbooks`` (templates, recalculation, refresh, check);
4. ``xlcalc.cli``, the command line, and ``xlcalc`` itself (the public API, which loads only layers 0-2).
"""

import ast
import pathlib
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "xlcalc"
FACES = ("excel", "workbooks")
# What the math may import: numpy, scipy and the parts of the standard library that neither read files nor talk
# to the user (the faces and the command line do that).
CORE_MAY_IMPORT = {"numpy", "scipy", "__future__", "dataclasses", "math", "functools", "itertools", "types", "warnings",
                   "numbers", "typing", "contextlib", "collections", "bisect", "operator", "heapq", "statistics",
                   "time", "sys", "enum", "abc"}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> tuple[int, str]:
    """(rank, name) of a module of the package."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top in ("errors", "units", "_checks", "_reasons", "_scalar_checks"):
        return 0, "foundation"
    if top == "data":
        return 1, "data"
    if top == "core":
        return 2, "core"
    if top == "udfs":
        return 3, "excel"
    if top in FACES:
        return 3, top
    if top == "cli" or module == "xlcalc":
        return 4, top or "xlcalc"
    raise AssertionError(f"{module} is in no layer: put it in one of foundation, data, core, excel, workbooks, cli")


def _imports(path: pathlib.Path):
    """(imported module, line) for every import statement of a file, relative ones resolved."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            names_a_module = False
            for alias in node.names:   # `from . import laws` imports the module xlcalc.laws
                candidate = PACKAGE.parent / f"{source}.{alias.name}".replace(".", "/")
                if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
                    names_a_module = True
                    yield f"{source}.{alias.name}", node.lineno
            if not names_a_module:
                yield source, node.lineno


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    assert len(MODULES) > 40
    for path in MODULES:
        _layer(_module_name(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_upward(path):
    module = _module_name(path)
    rank, name = _layer(module)
    for imported, line in _imports(path):
        if imported != "xlcalc" and not imported.startswith("xlcalc."):
            continue
        if imported == "xlcalc":   # `from .. import __version__` and friends: the package's own attributes
            assert name in ("cli", "xlcalc", "workbooks", "excel"), f"{module}:{line} imports the xlcalc package"
            continue
        its_rank, its_name = _layer(imported)
        assert its_rank < rank or its_name == name or (name == "excel" and its_name == "excel"), \
            f"{module}:{line} ({name}, layer {rank}) imports {imported} ({its_name}, layer {its_rank})"


@pytest.mark.parametrize("path", [p for p in MODULES if _layer(_module_name(p))[1] == "core"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_math_imports_only_numpy_and_scipy(path):
    for imported, line in _imports(path):
        top = imported.split(".")[0]
        assert top == "xlcalc" or top in CORE_MAY_IMPORT, f"{_module_name(path)}:{line} imports {imported}"


def test_the_public_api_loads_no_face():
    """``import xlcalc`` (and every lazily loaded name) pulls in neither Excel's nor the workbooks' modules."""
    import subprocess

    code = ("import sys, xlcalc\n"
            "[getattr(xlcalc, name) for name in sorted(xlcalc._LAZY_NAMES)]\n"
            "print(sorted(m for m in sys.modules if m.startswith(('xlcalc.excel', 'xlcalc.workbooks', 'xlcalc.cli'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout
    assert out.strip() == "[]"
