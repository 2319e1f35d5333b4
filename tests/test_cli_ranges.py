"""`xlcalc fit --save`, `xlcalc solve ... --fit FIT.json`, `--ranges`, `--range`, `--tornado`."""

import json
import pathlib
import subprocess
import sys

import pytest

from xlcalc import (
    Range,
    budget_optimal,
    budget_optimal_range,
    cost_optimal,
    cost_optimal_range,
    cost_sensitivity,
    fit_scaling_law,
    read_runs,
    uncertain_fit,
)
from xlcalc.cli.solve import PAPER_HARDWARE
from xlcalc.core.laws import Fit

RUNS = pathlib.Path(__file__).parent / "data" / "mosaic_training_runs.csv"
COST = ["solve", "cost-optimal", "--loss", "1.947", "--requests", "1e10", "--input-tokens", "1000",
        "--output-tokens", "250"]


def run(*args):
    return subprocess.run([sys.executable, "-m", "xlcalc.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def fit_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    done = run("fit", str(RUNS), "--bootstrap", "8", "--seed", "3", "--save", str(path))
    assert done.returncode == 0, done.stderr
    return path


class TestFitFile:
    def test_saved_fit_holds_constants_and_every_resample(self, fit_file):
        document = json.loads(fit_file.read_text())
        runs = read_runs(str(RUNS))
        result = fit_scaling_law(runs.params, runs.tokens, runs.losses, bootstrap=8, seed=3)
        assert list(document["constants"].values()) == list(result.constants)
        assert document["samples"] == result.bootstrap_constants.tolist()

    def test_solve_with_the_file_uses_its_point_fit(self, fit_file):
        done = run("solve", "compute-optimal", "--loss", "2.5", "--inference-tokens", "1e12", "--fit", str(fit_file),
                   "--json")
        assert done.returncode == 0, done.stderr
        constants = json.loads(fit_file.read_text())["constants"]
        from xlcalc import compute_optimal
        expected = compute_optimal(2.5, 1e12, fit=Fit(*constants.values()))
        assert json.loads(done.stdout)["optimal"]["params"] == expected.params

    def test_ranges_use_its_samples(self, fit_file):
        done = run("solve", "compute-optimal", "--loss", "2.5", "--inference-tokens", "1e12", "--fit", str(fit_file),
                   "--ranges", "--samples", "8", "--json")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["fit_uncertain"] and out["samples"] == 8
        low, median, high = out["outputs"]["params"]
        assert low < median < high

    @pytest.mark.parametrize("content, match", [("{", "is not JSON"), ('{"a": 1}', "is not a fit file")])
    def test_bad_fit_file(self, tmp_path, content, match):
        path = tmp_path / "bad.json"
        path.write_text(content)
        done = run("solve", "compute-optimal", "--loss", "2.5", "--inference-tokens", "1e12", "--fit", str(path))
        assert done.returncode != 0 and match in done.stderr and "Traceback" not in done.stderr


class TestSolveRanges:
    def test_collapsed_range_is_the_point_answer(self):
        done = run(*COST, "--range", "infer_usd_per_hour=1.1:1.1:1.1", "--json")
        assert done.returncode == 0, done.stderr
        point = cost_optimal(1.947, 1e13, 2.5e12, **PAPER_HARDWARE)
        assert json.loads(done.stdout)["outputs"]["usd"] == [point.usd] * 3

    def test_tornado_json_is_the_python_table(self):
        done = run(*COST, "--tornado", "--range", "infer_usd_per_hour=0.8:1.1:1.6", "--json")
        assert done.returncode == 0, done.stderr
        table = cost_sensitivity(1.947, 1e13, 2.5e12, **PAPER_HARDWARE, ranges={"infer_usd_per_hour": (0.8, 1.6)})
        rows = json.loads(done.stdout)["rows"]
        assert [r["input"] for r in rows] == [r.name for r in table.rows]
        assert [r["usd"] for r in rows] == [list(r.usd) for r in table.rows]

    @pytest.mark.parametrize("option, match", [
        ("infer_usd_per_hour=1.8:1.1:1.6", "low <= base <= high"),
        ("price=1:2:3", "not an input here"),
        ("infer_usd_per_hour=1:2", "three numbers"),
    ])
    def test_bad_range(self, option, match):
        done = run(*COST, "--range", option)
        assert done.returncode != 0 and match in done.stderr and "Traceback" not in done.stderr


class TestPerRequestRanges:
    def test_requests_and_tokens_per_request_are_the_python_percentiles(self):
        done = run(*COST, "--range", "requests=5e9:1e10:3e10", "--range", "output_tokens_per_request=100:250:400",
                   "--samples", "300", "--seed", "2", "--json")
        assert done.returncode == 0, done.stderr
        core = cost_optimal_range(1.947, requests=Range(5e9, 1e10, 3e10), input_tokens_per_request=1000.0,
                                  output_tokens_per_request=Range(100, 250, 400), **PAPER_HARDWARE, samples=300,
                                  seed=2)
        out = json.loads(done.stdout)
        assert out["outputs"]["usd"] == list(core.interval("usd"))
        assert out["inputs"]["requests"] == [5e9, 1e10, 3e10] and out["inputs"]["input_tokens_per_request"] == 1000

    @pytest.mark.parametrize("options, match", [
        (["--range", "requests=5e9:1e10:3e10", "--range", "output_tokens=1e12:2.5e12:3e12"], "not both"),
        (["--range", "requests=5e9:1e10:3e10", "--tornado"], "--tornado swings the lifetime token totals"),
        (["--range", "requests=-5e9:1e10:3e10"], "requests = -5e+09 is not allowed"),
    ])
    def test_bad_per_request_ranges(self, options, match):
        done = run(*COST, *options)
        assert done.returncode != 0 and match in done.stderr and "Traceback" not in done.stderr


class TestBudgetRanges:
    BUDGET = ["solve", "budget", "--total-flops", "1e24", "--inference-tokens", "2e12"]

    def test_collapsed_range_is_the_point_answer(self):
        done = run(*self.BUDGET, "--range", "total_flops=1e24:1e24:1e24", "--json")
        assert done.returncode == 0, done.stderr
        point = budget_optimal(1e24, 2e12)
        out = json.loads(done.stdout)
        assert out["outputs"]["params"] == [point.params] * 3 and out["outputs"]["loss"] == [point.loss] * 3

    def test_uncertain_fit_and_range_are_the_python_percentiles(self):
        done = run(*self.BUDGET, "--fit", "epoch2024", "--range", "inference_tokens=1e12:2e12:8e12", "--samples",
                   "200", "--seed", "5", "--json")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        core = budget_optimal_range(1e24, Range(1e12, 2e12, 8e12), fit=uncertain_fit("epoch2024", samples=200, seed=5),
                                    samples=200, seed=5)
        assert out["fit_uncertain"] and out["excluded"] == 0
        assert out["outputs"]["params"] == list(core.interval("params"))
        low, median, high = out["outputs"]["loss"]
        assert low < median < high

    def test_table(self):
        done = run(*self.BUDGET, "--fit", "epoch2024", "--ranges", "--samples", "100")
        assert done.returncode == 0, done.stderr
        assert "Budget-optimal model: P10 / median / P90 over 100 draws" in done.stdout
        assert "chinchilla_loss" in done.stdout and "fit epoch2024: 100 sample fits" in done.stdout

    @pytest.mark.parametrize("option, match", [
        ("total_flops=2e24:1e24:3e24", "low <= base <= high"),
        ("total_flops=-1:1e24:3e24", "total_flops = -1 is not allowed"),
        ("loss=1:2:3", "not an input here"),
    ])
    def test_bad_range(self, option, match):
        done = run(*self.BUDGET, "--range", option)
        assert done.returncode != 0 and match in done.stderr and "Traceback" not in done.stderr
