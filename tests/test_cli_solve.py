"""`xlcalc solve` and the CLI frame: tables, JSON, one-line errors with exit status 2."""

import json
import re
import subprocess
import sys

import pytest

import xlcalc
from xlcalc.cli import main


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
