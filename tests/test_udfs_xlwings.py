"""What Excel on Windows sees of xlcalc.udfs, through xlwings' own Windows code (no Excel here).

On Linux ``xw.func`` leaves a function as it is. xlwings' Windows module (``xlwings.udfs``: ``xlfunc``,
``xlarg``, ``import_udfs``, ``call_udf``) imports pythoncom, pywintypes and win32com.client, and reads cells
through ``xlwings._xlwindows`` (which cannot be imported off Windows: it loads DLLs through ctypes). The
context manager :func:`windows_xlwings` puts small stand-ins for those in ``sys.modules``, takes xlwings'
real cell-cleaning code (``_clean_value_data_element``, ``Engine.clean_value_data`` and
``prepare_xl_data_element``) from ``_xlwindows.py``'s source, imports ``xlcalc.udfs`` under xlwings' real
decorators, and puts everything back afterwards. The tests then run what "Import Functions" does (the
VBA module and the ``MacroOptions`` calls) and calls as Excel makes them (``call_udf``).
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import importlib
import math
import os
import pathlib
import re
import sys
import types

import numpy as np
import pytest

import xlwings
import xlwings.base_classes

import xlcalc
from xlcalc.core import laws, lifetime

XLWINGS_VERSION = "0.37.8"  # the version whose Windows UDF code these tests were checked against
MODULE = "xlcalc.udfs"
# The modules of the families of Excel functions, which MODULE (the one xlwings is given) star-imports.
FAMILY_MODULES = ("xlcalc.excel.laws", "xlcalc.excel.optima", "xlcalc.excel.costs", "xlcalc.excel.hardware",
                  "xlcalc.excel.serving", "xlcalc.excel.objectives", "xlcalc.excel.ranges")
GOLDEN_VBA = pathlib.Path(__file__).parent / "golden" / "xlcalc_udfs.bas"
REGENERATE = "XLCALC_UPDATE_GOLDEN=1 python3 -m pytest tests/test_udfs_xlwings.py -k golden"
MISSING = -2147352572  # what VBA passes for an omitted Optional argument
COM_ERRORS = {"#DIV/0!": -2146826281, "#N/A": -2146826246, "#VALUE!": -2146826273}
EXPECTED_FUNCTIONS = {
    "CHINCHILLA_LOSS", "CHINCHILLA_OPT", "CHINCHILLA_TOKENS", "TOKENS_FOR_LOSS", "PARAMS_FOR_LOSS",
    "INFERENCE_OPT", "COST_OPT", "BUDGET_OPT", "BREAKEVEN_TOKENS", "TOKENS_PER_SEC", "COST_PER_MTOK",
    "MONTHLY_COST", "GPUS_NEEDED", "TRAIN_COST", "OVERTRAIN_RATIO", "INFERENCE_FACTOR", "TRAIN_FLOPS",
    "INFER_FLOPS", "GPU_SPEC", "GPU_LIST", "FIT_CONSTANTS", "SCALING_FIT",
    "MODEL_SHAPE", "KV_BYTES_PER_TOKEN", "TTFT", "TIME_PER_TOKEN", "MAX_BATCH", "COST_PER_MTOK_SLO",
    "LIFETIME_OPT", "SERVING_LIFETIME_OPT", "EFFECTIVE_TOKENS",
    "COST_OPT_RANGE", "SENSITIVITY",
}
# Words VBA reserves: an argument with one of these names would break the generated module.
VBA_RESERVED = {
    "and", "as", "boolean", "byref", "byte", "byval", "call", "case", "class", "const", "currency", "date",
    "debug", "dim", "do", "double", "each", "else", "elseif", "empty", "end", "endif", "enum", "eqv", "error",
    "event", "exit", "false", "for", "friend", "function", "get", "global", "gosub", "goto", "if", "imp",
    "implements", "in", "input", "integer", "is", "len", "let", "like", "lock", "long", "longlong", "longptr",
    "loop", "lset", "me", "mod", "name", "new", "next", "not", "nothing", "null", "object", "on", "open",
    "option", "optional", "or", "paramarray", "preserve", "print", "private", "property", "public", "put",
    "raiseevent", "redim", "rem", "resume", "return", "rset", "seek", "select", "set", "shared", "single",
    "static", "step", "stop", "string", "sub", "then", "to", "true", "type", "typeof", "until", "variant",
    "wend", "while", "with", "withevents", "write", "xor",
}


# ----------------------------------------------------------------------------------------------
# Stand-ins for the Windows side


class TimeType(dt.datetime):
    """pywintypes.TimeType: what a date cell holds when it arrives through COM."""


class ComError(Exception):
    """pywintypes.com_error."""


class ExcelRange:
    """A worksheet range as VBA hands it to Python: a COM object whose Value is a scalar or rows (tuples)."""

    def __init__(self, rows):
        self.rows = tuple(tuple(row) for row in rows)

    @property
    def Count(self):
        return len(self.rows) * len(self.rows[0])

    @property
    def Value(self):
        return self.rows[0][0] if len(self.rows) == 1 and len(self.rows[0]) == 1 else self.rows


class RecordingApplication:
    """Excel.Application: records MacroOptions as "Import Functions" sends them."""

    Version = "16.0"

    def __init__(self):
        self.macro_options = []

    def MacroOptions(self, macro, **options):
        self.macro_options.append((macro, options))


class RecordingWorkbook:
    """A workbook whose VBProject keeps the text of the module "Import Functions" imports."""

    Name = "xlcalc_demo.xlsm"

    def __init__(self):
        self.Application = RecordingApplication()
        self.imported = []
        workbook = self

        class Components:
            def __call__(self, name):
                raise ComError(f"no component {name}")

            def Remove(self, component):
                raise AssertionError("nothing to remove")

            def Import(self, path):
                workbook.imported.append(pathlib.Path(path).read_text())

        self.VBProject = types.SimpleNamespace(VBComponents=Components())


def _windows_cell_code(engine_name="excel"):
    """xlwings' own cell reading and writing code for Windows, taken from _xlwindows.py's source."""
    source = pathlib.Path(xlwings.__file__).with_name("_xlwindows.py").read_text()
    wanted = {"_com_time_to_datetime", "_clean_value_data_element", "cell_errors", "Engine"}
    nodes = [node for node in ast.parse(source).body
             if (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in wanted)
             or (isinstance(node, ast.Assign) and any(getattr(t, "id", None) in wanted for t in node.targets))]
    namespace = {"dt": dt, "np": np, "pd": None, "time_types": (dt.date, dt.datetime, TimeType, np.datetime64)}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), "xlwings/_xlwindows.py", "exec"), namespace)
    engine = namespace["Engine"]()
    assert engine.name == engine_name
    return engine


@contextlib.contextmanager
def windows_xlwings():
    """xlwings' Windows UDF machinery over stand-ins, with xlcalc.udfs imported under its real decorators."""
    replaced = ("pythoncom", "pywintypes", "win32com", "win32com.client", "xlwings._xlwindows", "xlwings.com_server",
                "xlwings.udfs", MODULE, *FAMILY_MODULES)
    saved_modules = {name: sys.modules[name] for name in replaced if name in sys.modules}
    saved_attributes = {name: getattr(xlwings, name) for name in ("func", "arg", "ret", "sub")}
    saved_xlcalc_udfs = getattr(xlcalc, "udfs", None)
    engines = xlwings.engines
    saved_engines = (list(engines.engines), dict(engines.engines_by_name), engines.active)
    try:
        pythoncom = types.ModuleType("pythoncom")
        pythoncom.CoInitialize = lambda: None
        pywintypes = types.ModuleType("pywintypes")
        pywintypes.TimeType, pywintypes.com_error = TimeType, ComError
        win32com = types.ModuleType("win32com")
        win32com_client = types.ModuleType("win32com.client")
        win32com_client.Dispatch = lambda obj, *args, **kwargs: obj
        win32com.client = win32com_client
        engine = _windows_cell_code()
        app = types.SimpleNamespace(engine=engine, pid=1)
        book = types.SimpleNamespace(app=app)

        # xlwings._xlwindows.Range over a stand-in COM range; like the real one it derives from xlwings'
        # base Range, so engine settings added by xlwings (e.g. max_cells_per_read in 0.37) come from xlwings
        class RangeImpl(xlwings.base_classes.Range):
            def __init__(self, xl):
                self.xl = xl
                self.sheet = types.SimpleNamespace(book=book)

            def __len__(self):  # as _xlwindows.Range: the number of cells
                return (self.xl and self.xl.Count) or 0

            @property
            def shape(self):  # rows, columns (the real one reads them from the COM range's coordinates)
                return (0, 0) if self.xl is None else (len(self.xl.rows), len(self.xl.rows[0]))

            @property
            def raw_value(self):
                return None if self.xl is None else self.xl.Value

        xlwindows = types.ModuleType("xlwings._xlwindows")
        xlwindows.Range, xlwindows.BOOK_CALLER = RangeImpl, None
        xlwindows.is_range_instance = lambda obj: isinstance(obj, ExcelRange)
        com_server = types.ModuleType("xlwings.com_server")
        com_server.loop = None  # only async UDFs use it
        sys.modules.update({"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com,
                            "win32com.client": win32com_client, "xlwings._xlwindows": xlwindows,
                            "xlwings.com_server": com_server})
        xlwings._xlwindows = xlwindows
        engines.add(xlwings.main.Engine(impl=engine))
        sys.modules.pop("xlwings.udfs", None)
        windows_udfs = importlib.import_module("xlwings.udfs")
        xlwings.func, xlwings.arg, xlwings.ret, xlwings.sub = (windows_udfs.xlfunc, windows_udfs.xlarg,
                                                               windows_udfs.xlret, windows_udfs.xlsub)
        sys.modules.pop(MODULE, None)
        for family in FAMILY_MODULES:  # xlcalc.udfs imports them: under the real decorators too
            sys.modules.pop(family, None)
        windows_udfs.udf_modules.clear()
        module = windows_udfs.get_udf_module(MODULE, None)  # imports xlcalc.udfs under the real decorators
        yield types.SimpleNamespace(xlwings_udfs=windows_udfs, module=module)
    finally:
        for name in replaced:  # only what was replaced: modules imported meanwhile for real stay imported
            sys.modules.pop(name, None)
        sys.modules.update(saved_modules)
        for name, value in saved_attributes.items():
            setattr(xlwings, name, value)
        if hasattr(xlwings, "_xlwindows"):
            del xlwings._xlwindows
        if saved_xlcalc_udfs is None:
            if hasattr(xlcalc, "udfs"):
                del xlcalc.udfs
        else:
            xlcalc.udfs = saved_xlcalc_udfs
        engines.engines[:], engines.active = saved_engines[0], saved_engines[2]
        engines.engines_by_name.clear()
        engines.engines_by_name.update(saved_engines[1])


def import_functions(windows) -> RecordingWorkbook:
    """Run xlwings' "Import Functions" (import_udfs) into a recording workbook."""
    workbook = RecordingWorkbook()
    windows.xlwings_udfs.import_udfs(MODULE, workbook)
    return workbook


def excel_call(windows, name, *args):
    """Call a UDF as Excel does through VBA: ranges as COM ranges, omitted optionals as MISSING."""
    return windows.xlwings_udfs.call_udf(MODULE, name, args)


def column(*values):
    return ExcelRange([[v] for v in values])


def row(*values):
    return ExcelRange([list(values)])


def cell(value):
    return ExcelRange([[value]])


@pytest.fixture(scope="class")  # as `windows` (tests/conftest.py)
def imported(windows):
    return import_functions(windows)


# ----------------------------------------------------------------------------------------------


class TestPinnedVersion:
    def test_xlwings_version_is_the_one_checked(self):
        assert xlwings.__version__ == XLWINGS_VERSION, (
            f"xlwings {xlwings.__version__} is installed; these tests were checked against {XLWINGS_VERSION}. "
            "Re-read xlwings/udfs.py (xlfunc, import_udfs, call_udf) for changes, then update XLWINGS_VERSION "
            f"and regenerate the golden VBA: {REGENERATE}")


class TestStandIns:
    def test_sys_modules_and_xlwings_are_restored(self):
        before_func, before_udfs = xlwings.func, sys.modules.get(MODULE)
        with windows_xlwings() as windows:
            assert hasattr(windows.module.CHINCHILLA_LOSS, "__xlfunc__")
            assert "pythoncom" in sys.modules
        assert "pythoncom" not in sys.modules and "xlwings.udfs" not in sys.modules
        assert xlwings.func is before_func and sys.modules.get(MODULE) is before_udfs
        assert "excel" not in [engine.name for engine in xlwings.engines]

    def test_plain_functions_outside_the_fixture(self):
        import xlcalc.udfs as plain

        assert not hasattr(plain.CHINCHILLA_LOSS, "__xlfunc__")
        assert plain.CHINCHILLA_LOSS(70e9, 1e12) == pytest.approx(1.947273, abs=1e-6)


class TestImportFunctions:
    def test_the_functions_excel_gets(self, imported):
        names = set(re.findall(r"^Function (\w+)\(", imported.imported[0], re.M))
        assert names == EXPECTED_FUNCTIONS

    def test_golden_vba(self, imported):
        vba = imported.imported[0]
        if os.environ.get("XLCALC_UPDATE_GOLDEN") == "1":
            GOLDEN_VBA.parent.mkdir(exist_ok=True)
            GOLDEN_VBA.write_text(vba)
        assert GOLDEN_VBA.exists(), f"no golden VBA yet; create it with: {REGENERATE}"
        assert vba == GOLDEN_VBA.read_text(), (
            f"the VBA that Import Functions generates differs from {GOLDEN_VBA.name}; if the change to "
            f"xlcalc/udfs.py is intended, regenerate it with: {REGENERATE} and review the diff")

    def test_vba_calls_python_with_every_argument(self, imported):
        vba = imported.imported[0]
        assert 'CHINCHILLA_LOSS = XLPy.CallUDF("xlcalc.udfs", "CHINCHILLA_LOSS", Array(params, tokens, fit), ' \
               "ThisWorkbook, Application.Caller)" in vba
        assert "Function GPU_LIST()" in vba

    def test_optional_arguments_are_optional_in_vba(self, imported, windows):
        vba = imported.imported[0]
        signature = re.search(r"^Function TOKENS_PER_SEC\((.*)\)$", vba, re.M).group(1)
        assert signature == ("params, peak_tflops, mem_bw_tbs, Optional bytes_per_param, Optional batch, "
                             "Optional gpus, Optional mfu, Optional bw_eff")
        for line in re.findall(r"^Function \w+\((.*)\)$", vba, re.M):
            arguments = [a.strip() for a in line.split(",") if a.strip()]
            optional = ["Optional " in a for a in arguments]
            assert optional == sorted(optional), f"a required argument after an optional one: {line}"

    def test_argument_names_are_not_vba_words(self, imported):
        for line in re.findall(r"^Function \w+\((.*)\)$", imported.imported[0], re.M):
            for argument in line.replace("Optional ", "").split(","):
                assert argument.strip().lower() not in VBA_RESERVED


class TestMacroOptions:
    def test_every_function_is_described_in_category_xlcalc(self, imported):
        calls = dict(imported.Application.macro_options)
        assert set(calls) == {f"'xlcalc_demo.xlsm'!{name}" for name in EXPECTED_FUNCTIONS}
        for macro, options in calls.items():
            assert options["Category"] == "xlcalc", macro
            assert 20 <= len(options["Description"]) <= 255 and "\n" not in options["Description"], macro

    def test_descriptions_are_the_docstrings(self, imported, windows):
        calls = dict(imported.Application.macro_options)
        for name in EXPECTED_FUNCTIONS:
            assert calls[f"'xlcalc_demo.xlsm'!{name}"]["Description"] == getattr(windows.module, name).__doc__

    def test_every_argument_is_described(self, imported, windows):
        calls = dict(imported.Application.macro_options)
        for name in EXPECTED_FUNCTIONS:
            udf = getattr(windows.module, name)
            docs = calls[f"'xlcalc_demo.xlsm'!{name}"]["ArgumentDescriptions"]
            arguments = [a["name"] for a in udf.__xlfunc__["args"]]
            if not arguments:
                assert docs is None
                continue
            assert len(docs) == len(arguments), name
            assert docs == [udf.xlcalc_arguments[a] for a in arguments], name
            for doc in docs:
                assert 10 <= len(doc) <= 255 and not doc.startswith("Positional argument"), (name, doc)

    def test_optional_descriptions_state_the_core_default(self, imported):
        calls = dict(imported.Application.macro_options)
        docs = calls["'xlcalc_demo.xlsm'!COST_OPT"]["ArgumentDescriptions"]
        assert docs[-2] == "Decode (output) MFU, in (0, 1]; optional, empty = 0.01"
        assert docs[-1].startswith("Scaling-law fit: a name (chinchilla, hoffmann2022, epoch2024")

    def test_every_argument_arrives_as_rows_with_error_text(self, windows):
        for name in EXPECTED_FUNCTIONS:
            for argument in getattr(windows.module, name).__xlfunc__["args"]:
                assert argument["options"] == {"ndim": 2, "err_to_str": True}, (name, argument["name"])


class TestCallsAsExcelMakesThem:
    def test_constants_typed_in_the_formula(self, windows):
        out = excel_call(windows, "CHINCHILLA_LOSS", 70e9, 1e12, MISSING)
        assert out == [[pytest.approx(1.947273, abs=1e-6)]]

    def test_single_cell_references(self, windows):
        out = excel_call(windows, "CHINCHILLA_LOSS", cell(70e9), cell(1e12), cell("chinchilla"))
        assert out == [[pytest.approx(1.947273, abs=1e-6)]]

    def test_column_of_budgets_gives_a_row_per_scenario(self, windows):
        out = excel_call(windows, "CHINCHILLA_OPT", column(5.88e23, 1e24, 1e22), MISSING)
        assert len(out) == 3 and all(len(r) == 3 for r in out)
        assert out[0][0] == pytest.approx(4.211e10, rel=5e-4)
        assert out[0][1] == pytest.approx(2.327e12, rel=5e-4)

    def test_row_of_budgets_gives_a_column_per_scenario(self, windows):
        out = excel_call(windows, "CHINCHILLA_OPT", row(5.88e23, 1e24), MISSING)
        assert len(out) == 3 and all(len(r) == 2 for r in out)
        assert out[0][0] == pytest.approx(4.211e10, rel=5e-4)

    def test_2d_range_gives_the_same_shape(self, windows):
        params = ExcelRange([[1e9, 7e9, 13e9], [30e9, 70e9, 175e9]])
        out = excel_call(windows, "CHINCHILLA_TOKENS", params, MISSING)
        expected = laws.chinchilla_tokens(np.array([[1e9, 7e9, 13e9], [30e9, 70e9, 175e9]]))
        assert np.allclose(np.array(out, dtype=float), expected, rtol=1e-12)

    def test_column_against_row_gives_a_grid(self, windows):
        out = excel_call(windows, "CHINCHILLA_LOSS", column(1e9, 7e9), row(1e11, 1e12, 1e13), MISSING)
        assert np.allclose(np.array(out, dtype=float),
                           laws.loss(np.array([[1e9], [7e9]]), np.array([[1e11, 1e12, 1e13]])), rtol=1e-12)

    def test_empty_required_cell_is_value_error_in_that_cell_only(self, windows):
        out = excel_call(windows, "CHINCHILLA_TOKENS", column(30e9, None, 70e9), MISSING)
        assert out[0][0] == pytest.approx(1.556e12, rel=5e-4)
        assert out[1][0] == "#VALUE! params is empty: a number is required"
        assert isinstance(out[2][0], float)

    def test_empty_optional_cell_and_omitted_argument_mean_the_default(self, windows):
        omitted = excel_call(windows, "TOKENS_PER_SEC", 7e9, 312, 2.0, MISSING, MISSING, MISSING, MISSING,
                             MISSING)
        empty = excel_call(windows, "TOKENS_PER_SEC", 7e9, 312, 2.0, cell(None), cell(None), cell(None),
                           cell(None), cell(None))
        skipped = excel_call(windows, "TOKENS_PER_SEC", 7e9, 312, 2.0, None, None, None, None, None)  # =F(a,b,c,,)
        assert omitted == empty == skipped == [[pytest.approx(142.857, rel=1e-5)]]

    def test_empty_cells_inside_an_optional_range_take_the_default(self, windows):
        out = excel_call(windows, "TOKENS_PER_SEC", 7e9, 312, 2.0, MISSING, column(1, None, 64), MISSING,
                         MISSING, MISSING)
        assert out[1][0] == out[0][0] == pytest.approx(142.857, rel=1e-5)
        assert out[2][0] > 60 * out[0][0]

    def test_impossible_number_is_num_error_per_cell(self, windows):
        out = excel_call(windows, "CHINCHILLA_LOSS", column(70e9, -1.0, 0.0), 1e12, MISSING)
        assert isinstance(out[0][0], float)
        assert out[1][0] == "#NUM! params = -1 is not allowed: must be a number > 0"
        assert out[2][0].startswith("#NUM! params = 0 ")

    def test_text_is_value_error_and_dates_too(self, windows):
        when = TimeType(2024, 1, 31)
        out = excel_call(windows, "TRAIN_FLOPS", column("70B", when, True, "7e9"), 1e12)
        assert out[0][0] == "#VALUE! params = '70B' is not allowed: must be a number"
        assert out[1][0] == "#VALUE! params is a date: must be a number"
        assert out[2][0] == "#VALUE! params = TRUE is not allowed: must be a number"
        assert out[3][0] == pytest.approx(4.2e22)

    def test_error_cells_keep_their_code(self, windows):
        out = excel_call(windows, "TRAIN_FLOPS", column(7e9, COM_ERRORS["#DIV/0!"]), 1e12)
        assert out[1][0] == "#DIV/0! params is an error cell (#DIV/0!)"

    def test_unknown_fit_is_na(self, windows):
        out = excel_call(windows, "CHINCHILLA_LOSS", 70e9, 1e12, "gpt5")
        assert out == [["#N/A fit = 'gpt5' is not a known fit: use one of chinchilla, hoffmann2022, epoch2024, "
                        "muennighoff2023 or five numbers E, A, B, alpha, beta"]]

    def test_fit_as_a_row_or_a_column_of_five_cells(self, windows):
        constants = laws.FITS["epoch2024"].constants
        by_name = excel_call(windows, "CHINCHILLA_LOSS", 70e9, 1e12, "epoch2024")
        assert excel_call(windows, "CHINCHILLA_LOSS", 70e9, 1e12, row(*constants)) == by_name
        assert excel_call(windows, "CHINCHILLA_LOSS", 70e9, 1e12, column(*constants)) == by_name

    def test_nan_never_reaches_a_cell(self, windows):
        # xlwings writes NaN as an empty cell on Windows: every invalid element must come back as text.
        out = excel_call(windows, "INFERENCE_OPT", column(1.947, 1.5, None), 2e12, MISSING)
        assert isinstance(out[0][0], float)
        assert all(isinstance(v, str) and v.startswith("#") for r in out[1:] for v in r)
        assert out[1][0].startswith("#NUM! loss = 1.5 is not allowed: must be greater than the irreducible loss")

    def test_mismatched_ranges_are_one_value_error(self, windows):
        out = excel_call(windows, "CHINCHILLA_LOSS", column(1e9, 2e9, 3e9), column(1e11, 1e12), MISSING)
        assert out == [["#VALUE! ranges do not fit together (params is 3x1, tokens is 2x1): give ranges of the "
                        "same size, or single cells, or a column against a row"]]

    def test_inference_opt_matches_the_paper_readme(self, windows):
        out = excel_call(windows, "INFERENCE_OPT", 1.947, 2e12, MISSING)
        opt = lifetime.compute_optimal(1.947, 2e12)
        assert out == [[opt.params, opt.tokens, opt.flops, opt.saving]]

    def test_spilled_catalog_has_a_header(self, windows):
        out = excel_call(windows, "GPU_LIST")
        assert out[0][0] == "name" and len(out) > 5
        assert all(len(r) == len(out[0]) for r in out)

    def test_ten_thousand_cells_in_one_call(self, windows):
        losses = np.linspace(1.9, 2.5, 10_000).reshape(-1, 1)
        out = excel_call(windows, "INFERENCE_OPT", ExcelRange(losses.tolist()), 1e13, MISSING)
        assert len(out) == 10_000 and all(isinstance(v, float) for r in out for v in r)
        assert math.isclose(out[-1][0], lifetime.compute_optimal(2.5, 1e13).params, rel_tol=1e-12)
