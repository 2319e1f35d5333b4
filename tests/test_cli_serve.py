"""`xlcalc serve`: serving a model on an accelerator at a latency target, as a table or JSON; one-line errors, exit 2."""

import json
import subprocess
import sys

import pytest

from xlcalc.cli import main
from xlcalc.data.hardware import gpu
from xlcalc.core.latency import efficiencies_for
from xlcalc.core.slo import max_batch


def run(capsys, *argv):
    code = main(["serve", *argv])
    out, err = capsys.readouterr()
    return code, out, err


class TestServe:
    def test_json_matches_the_core(self, capsys):
        code, out, _ = run(capsys, "--model", "Llama-3.1-70B", "--gpu", "H100 SXM", "--tpot-ms", "30", "--ttft-ms",
                           "2000", "--json")
        data = json.loads(out)
        h100, e = gpu("H100 SXM"), efficiencies_for("H100 SXM5")
        r = max_batch("Llama-3.1-70B", 989.5, 3.35, 80, 1000, 200, tpot_target_s=0.03, ttft_target_s=2.0,
                      usd_per_hour=h100.usd_per_hour, mfu_prefill=e.mfu_prefill, mfu_decode=e.mfu_decode,
                      bw_eff=e.bw_eff, link_gbs=450, link_latency_us=4)
        assert code == 0 and data["batch"] == r.batch and data["gpus_per_replica"] == r.gpus
        assert data["usd_per_mtok_output"] == pytest.approx(r.usd_per_mtok_output)
        assert data["efficiencies"]["family"] == "Hopper" and data["time_per_token_ms"] <= 30

    def test_table(self, capsys):
        code, out, _ = run(capsys, "--model", "8B", "--gpu", "a100-80gb", "--tpot-ms", "40", "--gpus", "1")
        assert code == 0 and "largest batch" in out and "$ per million output tokens" in out and "(Ampere)" in out

    @pytest.mark.parametrize("argv, message", [
        (["--model", "Llama-2-70B", "--gpu", "L4", "--tpot-ms", "20", "--gpus", "1"],
         "the model does not fit on 1 GPU of 24 GB"),
        (["--model", "Lama-3.1-8B", "--gpu", "L4", "--tpot-ms", "20"], "did you mean Llama-3.1-8B"),
        (["--model", "8B", "--gpu", "L4", "--tpot-ms", "0"], "--tpot-ms = 0 is not allowed"),
        (["--model", "8B", "--gpu", "L4", "--tpot-ms", "50", "--input-tokens", "-5"],
         "--input-tokens = -5 is not allowed: must be a number >= 0"),
        (["--model", "8B", "--gpu", "L4"], "give a target: --tpot-ms, --ttft-ms or both"),
        (["--model", "5T", "--gpu", "L4", "--tpot-ms", "1000"], "it fits on no replica of up to 64 GPUs"),
        (["--model", "8B", "--gpu", "A100-80GB", "--tpot-ms", "50", "--precision", "fp8"], "has no fp8 peak"),
    ])
    def test_one_line_errors_exit_2(self, capsys, argv, message):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and message in err and err.count("\n") == 1
        assert err.startswith("xlcalc serve: error: ")

    def test_as_a_program(self):
        done = subprocess.run([sys.executable, "-m", "xlcalc.cli", "serve", "--model", "Mistral-7B", "--gpu", "L4",
                               "--tpot-ms", "100", "--json"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and json.loads(done.stdout)["model"] == "Mistral-7B"
