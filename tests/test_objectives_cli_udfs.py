"""`xlcalc solve lifetime` and the Excel functions LIFETIME_OPT, SERVING_LIFETIME_OPT, EFFECTIVE_TOKENS against the core."""

import json
import subprocess
import sys

import numpy as np
import pytest

import xlcalc
from xlcalc import udfs
from xlcalc.cli import main

H100 = xlcalc.gpu("H100 SXM")
REQUEST = ["--loss", "1.947", "--requests", "1e10", "--input-tokens", "1000", "--output-tokens", "250"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestSolveLifetime:
    def test_json_matches_the_api(self, capsys):
        code, out, _ = run(capsys, "solve", "lifetime", *REQUEST, "--objective", "co2", "--train-g-per-kwh", "400",
                           "--infer-g-per-kwh", "100", "--unique-tokens", "2e12", "--json")
        assert code == 0
        got = json.loads(out)
        want = xlcalc.lifetime_optimal(1.947, 1e13, 2.5e12, objective="co2", train_peak_tflops=H100.peak_tflops_bf16,
                                       infer_peak_tflops=H100.peak_tflops_bf16, train_usd_per_hour=H100.usd_per_hour,
                                       infer_usd_per_hour=H100.usd_per_hour, train_tdp_w=H100.tdp_w,
                                       infer_tdp_w=H100.tdp_w, train_g_per_kwh=400, infer_g_per_kwh=100,
                                       mfu_prefill=xlcalc.efficiencies_for(H100.name).mfu_prefill, mfu_decode=0.01,
                                       unique_tokens=2e12)
        assert got["optimal"]["params"] == pytest.approx(want.params, rel=1e-12)
        assert got["optimal"]["co2_kg"] == pytest.approx(want.co2_kg, rel=1e-12)
        assert got["optimal"]["epochs"] == pytest.approx(want.epochs, rel=1e-12)
        assert set(got["side_by_side"]) == {"usd", "kwh", "co2"}
        assert got["side_by_side"]["co2"]["co2_kg"] <= got["side_by_side"]["usd"]["co2_kg"]

    def test_roofline_table_names_the_replica_and_what_binds(self, capsys):
        code, out, _ = run(capsys, "solve", "lifetime", *REQUEST, "--serving", "roofline", "--batch", "64",
                           "--tpot-ms", "30")
        assert code == 0
        assert "replica: 1 GPUs, batch 64; decode limited by memory bandwidth" in out
        assert "fixed-MFU optimum of the same objective" in out and "least usd" in out

    @pytest.mark.parametrize("extra, message", [
        (["--objective", "co2", "--train-g-per-kwh", "-4"], "--train-g-per-kwh = -4 is not allowed"),
        (["--unique-tokens", "0"], "--unique-tokens = 0 is not allowed"),
        (["--train-gpu", "TPU v5e", "--objective", "kwh"], "--train-tdp-w is missing: objective 'kwh' needs a power"),
    ])
    def test_bad_input_is_one_line_naming_the_flag(self, extra, message):
        result = subprocess.run([sys.executable, "-m", "xlcalc.cli", "solve", "lifetime", *REQUEST, *extra],
                                capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == ""
        assert message in result.stderr and "Traceback" not in result.stderr

    def test_an_unreachable_loss_says_the_lowest(self):
        result = subprocess.run([sys.executable, "-m", "xlcalc.cli", "solve", "lifetime", "--loss", "2.1",
                                 "--requests", "1e10", "--input-tokens", "1000", "--output-tokens", "250",
                                 "--unique-tokens", "1e9"], capture_output=True, text=True)
        assert result.returncode == 2 and "lowest reachable loss is 2.21822" in result.stderr


class TestExcel:
    def test_effective_tokens(self):
        assert udfs.EFFECTIVE_TOKENS([[4e9], [5e8]], 1e9) == [[xlcalc.effective_tokens(4e9, 1e9)], [5e8]]

    def test_lifetime_opt_row_matches_the_core(self):
        row = udfs.LIFETIME_OPT(1.947, 1e13, 2.5e12, 1.4, 312, 0.6, 624, "kwh", 400, 300, 1.1, 1.2, None, None,
                                None, None, 0.4, 0.2)[0]
        want = xlcalc.lifetime_optimal(1.947, 1e13, 2.5e12, objective="kwh", train_peak_tflops=312,
                                       infer_peak_tflops=624, train_usd_per_hour=1.4, infer_usd_per_hour=0.6,
                                       train_tdp_w=400, infer_tdp_w=300, train_pue=1.1, infer_pue=1.2,
                                       mfu_prefill=0.4, mfu_decode=0.2)
        assert row[:5] == pytest.approx([want.params, want.tokens, want.kwh, want.usd, want.kwh], rel=1e-12)
        assert row[5].startswith("#N/A")   # no intensity given: no CO2 figure

    def test_errors_are_per_cell(self):
        out = udfs.LIFETIME_OPT([[1.947], [1.947], [2.1]], 1e13, 2.5e12, 1.4, 312, 0.6, 624, "co2", 400, 300, None,
                                None, [[300], [-1], [300]], 50, [[None], [None], [1e9]])
        assert isinstance(out[0][0], float)
        assert out[1][0].startswith("#NUM! train_g_per_kwh = -1 is not allowed")
        assert "lowest reachable loss is 2.21822" in out[2][0]

    def test_serving_lifetime_opt_uses_the_catalog(self):
        row = udfs.SERVING_LIFETIME_OPT(1.947, 1e13, 2.5e12, "H100 SXM", "H100 SXM", 1000, 250, 64, 30)[0]
        eff = xlcalc.efficiencies_for(H100.name)
        want = xlcalc.lifetime_optimal(1.947, 1e13, 2.5e12, serving="roofline",
                                       train_peak_tflops=H100.peak_tflops_bf16, infer_peak_tflops=H100.peak_tflops_bf16,
                                       train_usd_per_hour=H100.usd_per_hour, infer_usd_per_hour=H100.usd_per_hour,
                                       train_tdp_w=H100.tdp_w, infer_tdp_w=H100.tdp_w, mfu_prefill=eff.mfu_prefill,
                                       mfu_decode=eff.mfu_decode, bw_eff=eff.bw_eff, infer_mem_bw_tbs=H100.mem_bw_tbs,
                                       infer_memory_gb=H100.memory_gb, input_tokens_per_request=1000,
                                       output_tokens_per_request=250, batch=64, tpot_target_s=0.03)
        assert row[0] == pytest.approx(want.params, rel=1e-12) and row[7:9] == [want.gpus, want.batch]

    def test_serving_errors_per_cell(self):
        out = udfs.SERVING_LIFETIME_OPT(1.947, 1e13, 2.5e12, "H100 SXM", [["H100 SXM"], ["Nope"], ["TPU v5e"]], 1000,
                                        250, 64, 30, "kwh")
        assert isinstance(out[0][0], float)
        assert out[1][0].startswith("#N/A accelerator 'Nope' is not in the catalog")
        assert "infer_tdp_w is missing" in out[2][0] and "has no published TDP" in out[2][0]
