"""`xlcalc solve` and the CLI frame: tables, JSON, one-line errors with exit status 2."""

import json
import re
import subprocess
import sys
import warnings

import pytest

import xlcalc
from xlcalc.cli import main
from xlcalc.cli._output import NEGATIVE_NUMBER, human


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestSolveCommands:
    def test_compute_optimal_table(self, capsys):
        code, out, _ = run(capsys, "solve", "compute-optimal", "--loss", "1.947", "--inference-tokens", "2e12")
        assert code == 0
        assert "24.18B" in out and "2.657T" in out and "70.96%" in out and "146.77%" in out and "95.22%" in out

    def test_compute_optimal_json_matches_api(self, capsys):
        code, out, _ = run(capsys, "solve", "compute-optimal", "--chinchilla-params", "70B", "--inference-tokens",
                           "2e12", "--json")
        data = json.loads(out)
        expected = xlcalc.compute_optimal(data["loss"], 2e12)
        assert code == 0 and data["optimal"]["params"] == expected.params
        assert data["saving"] == pytest.approx(0.01313, abs=5e-6)

    def test_cost_optimal_defaults_are_the_papers_assumptions(self, capsys):
        code, out, _ = run(capsys, "solve", "cost-optimal", "--chinchilla-params", "30e9", "--requests", "1.5e9",
                           "--input-tokens", "70", "--output-tokens", "215", "--json")
        data = json.loads(out)
        assert data["optimal"]["params"] == pytest.approx(1.567e10, rel=5e-4)
        assert data["saving"] == pytest.approx(0.1899, abs=5e-5)

    def test_budget(self, capsys):
        code, out, _ = run(capsys, "solve", "budget", "--total-flops", "1e24", "--inference-tokens", "0", "--json")
        data = json.loads(out)
        assert data["optimal"]["params"] == pytest.approx(xlcalc.chinchilla_optimal(1e24).params, rel=1e-12)

    def test_chinchilla_with_custom_fit(self, capsys):
        code, out, _ = run(capsys, "solve", "chinchilla", "--compute", "1e24", "--fit", "1.69,406.4,410.7,0.34,0.28",
                           "--json")
        assert json.loads(out)["params"] == pytest.approx(xlcalc.chinchilla_optimal(1e24, fit="hoffmann2022").params)


class TestErrors:
    @pytest.mark.parametrize("argv,message", [
        (["solve", "compute-optimal", "--loss", "1.5", "--inference-tokens", "1e12"], "loss = 1.5 is not allowed"),
        (["solve", "compute-optimal", "--loss", "x", "--inference-tokens", "1e12"], "'x' is not a number"),
        (["solve", "chinchilla", "--compute", "1e24", "--fit", "kaplan"], "fit = 'kaplan' is not a known fit"),
        (["solve", "budget", "--total-flops", "-5", "--inference-tokens", "1"], "total_flops = -5"),
        (["solve", "cost-optimal", "--loss", "2", "--requests", "1e9", "--input-tokens", "1", "--output-tokens", "1",
          "--mfu-decode", "2"], "mfu_decode = 2 is not allowed: must be in \\(0, 1\\]"),
    ])
    def test_one_line_error_exit_2(self, capsys, argv, message):
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse's own errors
            code = exit.code
        err = capsys.readouterr().err
        assert code == 2
        assert len(err.strip().splitlines()) == 1
        assert re.search(message, err)

    def test_no_traceback_from_the_console_script(self):
        result = subprocess.run([sys.executable, "-m", "xlcalc.cli", "solve", "compute-optimal", "--loss", "1",
                                 "--inference-tokens", "1"], capture_output=True, text=True)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and "irreducible loss" in result.stderr


def run_checked(capsys, argv):
    """Run the CLI in-process with every warning an error (a stray RuntimeWarning would be a second stderr line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit:  # argparse's own errors
            code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


LOSS = ["--loss", "2"]
REQUEST = ["--requests", "1e9", "--input-tokens", "70", "--output-tokens", "215"]
BAD_ARGUMENTS = [
    # the top level and the workbook commands
    (["nosuch"], "invalid choice: 'nosuch'"),
    (["build", "--bogus"], "unrecognized arguments: --bogus"),
    (["build", "--out"], "expected one argument"),
    (["refresh"], "required: BOOK.xlsx"),
    (["refresh", "absent.xlsx"], "does not exist"),
    (["check", "absent.xlsx"], "does not exist"),
    # solve: argparse's checks
    (["solve"], "required: KIND"),
    (["solve", "nosuch"], "invalid choice: 'nosuch'"),
    (["solve", "chinchilla"], "required: --compute"),
    (["solve", "chinchilla", "--compute", "1e24", "--extra"], "unrecognized arguments: --extra"),
    (["solve", "compute-optimal", "--inference-tokens", "1e12"], "one of the arguments --loss --chinchilla-params"),
    (["solve", "compute-optimal", *LOSS, "--chinchilla-params", "70B", "--inference-tokens", "1"], "not allowed with"),
    (["solve", "compute-optimal", "--loss", "two", "--inference-tokens", "1"], "'two' is not a number"),
    (["solve", "compute-optimal", "--loss", "", "--inference-tokens", "1"], "'' is not a number"),
    (["solve", "budget", "--total-flops", "1e24"], "required: --inference-tokens"),
    (["solve", "cost-optimal", *LOSS, "--requests", "1e9"], "required: --input-tokens, --output-tokens"),
    # --fit: names, numbers, stray commas
    (["solve", "compute-optimal", *LOSS, "--inference-tokens", "2e12", "--fit", "1,2,3,4,x"],
     r"--fit = '1,2,3,4,x' is not allowed: value 5 is 'x', not a number"),
    (["solve", "compute-optimal", *LOSS, "--inference-tokens", "2e12", "--fit", "1.69,406.4,410.7,0.336,0.283,"],
     r"value 6 is empty \(a stray comma\?\)"),
    (["solve", "chinchilla", "--compute", "1e24", "--fit", ",1.69,406.4,410.7,0.336,0.283"], "value 1 is empty"),
    (["solve", "chinchilla", "--compute", "1e24", "--fit", "1,2,3"], "fit has 3 numbers"),
    (["solve", "chinchilla", "--compute", "1e24", "--fit", "1,2,3,-0.1,0.2"], "fit alpha = -0.1 is not allowed"),
    (["solve", "chinchilla", "--compute", "1e24", "--fit", " "], "is not a known fit"),
    # values the core rejects, negative numbers with exponents or suffixes included
    (["solve", "chinchilla", "--compute", "-1e24"], "compute_flops = -1e\\+24 is not allowed"),
    (["solve", "chinchilla", "--compute", "nan"], "compute_flops = NaN is not allowed"),
    (["solve", "chinchilla", "--compute", "1e400"], "compute_flops = inf is not allowed"),
    (["solve", "compute-optimal", "--loss", "-2", "--inference-tokens", "1"], "loss = -2 is not allowed"),
    (["solve", "compute-optimal", "--chinchilla-params", "-70B", "--inference-tokens", "1"],
     "params = -7e\\+10 is not allowed"),
    (["solve", "compute-optimal", *LOSS, "--inference-tokens", "-2e12"], "inference_tokens = -2e\\+12 is not allowed"),
    (["solve", "compute-optimal", *LOSS, "--inference-tokens", "1e300"], "outside the floating-point range"),
    (["solve", "budget", "--total-flops", "-1.5e24", "--inference-tokens", "1"], "total_flops = -1.5e\\+24"),
    (["solve", "budget", "--total-flops", "1e24", "--inference-tokens", "-inf"], "inference_tokens = -inf"),
    # cost-optimal: per-request values are checked under their own flags
    (["solve", "cost-optimal", *LOSS, "--requests", "2e9", "--input-tokens", "-5", "--output-tokens", "1"],
     "^xlcalc solve: error: --input-tokens = -5 is not allowed: must be a number >= 0$"),
    (["solve", "cost-optimal", *LOSS, "--requests", "-2e9", "--input-tokens", "5", "--output-tokens", "1"],
     r"--requests = -2e\+09 is not allowed: must be a number >= 0"),
    (["solve", "cost-optimal", *LOSS, "--requests", "2e9", "--input-tokens", "5", "--output-tokens", "nan"],
     "--output-tokens = NaN is not allowed"),
    (["solve", "cost-optimal", *LOSS, "--requests", "1e200", "--input-tokens", "1e200", "--output-tokens", "1"],
     r"--requests x --input-tokens = inf is not allowed"),
    (["solve", "cost-optimal", *LOSS, *REQUEST, "--mfu-train", "-0.5"], "mfu_train = -0.5 is not allowed"),
    (["solve", "cost-optimal", *LOSS, *REQUEST, "--train-usd-per-hour", "-1e3"], "train_usd_per_hour = -1000"),
    (["solve", "cost-optimal", *LOSS, *REQUEST, "--infer-peak-tflops", "0"], "infer_peak_tflops = 0"),
]


class TestBadArguments:
    """Every bad argument gives one line on stderr and exit status 2: no traceback, no warning, no output."""

    @pytest.mark.parametrize("argv,message", BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS])
    def test_one_line_exit_2(self, capsys, argv, message):
        code, out, err = run_checked(capsys, argv)
        assert code == 2 and out == ""
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert re.search(message, err.strip()), err

    @pytest.mark.parametrize("argv", [
        ["solve", "compute-optimal", "--loss", "2", "--inference-tokens", "2e12", "--fit", "1,2,3,4,x"],
        ["solve", "cost-optimal", "--loss", "2", "--requests", "-2e9", "--input-tokens", "5", "--output-tokens", "1"],
        ["solve", "compute-optimal", "--loss", "2", "--inference-tokens", "1e300"],
    ])
    def test_console_script(self, argv):
        result = subprocess.run([sys.executable, "-m", "xlcalc.cli", *argv], capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


class TestNegativeNumbers:
    @pytest.mark.parametrize("text", ["-5", "-2e9", "-2E+9", "-.5", "-1.5e-3", "-70B", "-inf", "-NaN"])
    def test_read_as_values(self, text):
        assert NEGATIVE_NUMBER.match(text)

    @pytest.mark.parametrize("text", ["--loss", "-h", "-x", "-e9", "-2e", "-70BB"])
    def test_options_stay_options(self, text):
        assert not NEGATIVE_NUMBER.match(text)

    def test_a_negative_value_reaches_validation(self, capsys):
        code, _, err = run_checked(capsys, ["solve", "budget", "--total-flops", "1e24", "--inference-tokens", "-1e12"])
        assert code == 2 and "inference_tokens = -1e+12 is not allowed: must be a number >= 0" in err


class TestCustomFitText:
    def test_spaces_and_suffixes_in_the_numbers(self, capsys):
        code, out, _ = run(capsys, "solve", "chinchilla", "--compute", "1e24", "--fit", " 1.69, 406.4,410.7 ,0.34,0.28",
                           "--json")
        assert code == 0
        assert json.loads(out)["params"] == pytest.approx(xlcalc.chinchilla_optimal(1e24, fit="hoffmann2022").params)


class TestHuman:
    @pytest.mark.parametrize("value,kind,text", [
        (0.7096, "percent", "70.96%"),
        (1.4677, "percent", "146.77%"),
        (1.5e226, "percent", "1.5e+228%"),
        (9999.99, "percent", "999999.00%"),
        (1701715.4, "usd", "$1,701,715"),
        (12.345, "usd", "$12.35"),
        (1.706e54, "usd", "$1.706e+54"),
        (2.418e10, "params", "24.18B"),
        (2.657e12, "tokens", "2.657T"),
        (9.99e14, "params", "999T"),
        (8.20349e136, "params", "8.203e+136"),
        (512.0, "params", "512"),
        (1.9106151, "loss", "1.910615"),
        (1e300, "loss", "1e+300"),
        (2.41e20, "flops", "2.41e+20"),
        (float("nan"), "percent", "n/a"),
    ])
    def test_formats(self, value, kind, text):
        assert human(value, kind) == text

    def test_no_number_is_longer_than_14_characters(self):
        for kind in ("percent", "usd", "params", "tokens", "loss", "flops", ""):
            for value in (1e300, -1e300, 1.7976931348623157e308, 5e-324):
                assert len(human(value, kind)) <= 14, (kind, value)

    def test_huge_valid_optimum_prints_sanely(self, capsys):
        code, out, _ = run(capsys, "solve", "chinchilla", "--compute", "1e300")
        assert code == 0 and "8.203e+136" in out and max(len(line) for line in out.splitlines()) < 100
