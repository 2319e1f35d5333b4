"""Time to first token, time per output token with tensor-parallel all-reduce, largest batch within an SLO (xlcalc.core.latency)."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import xlcalc
from xlcalc import InvalidInputError, UnknownNameError
from xlcalc.data.hardware import gpu
from xlcalc.core.latency import EFFICIENCIES, allreduce_s, efficiencies_for, time_per_token_s, ttft_s
from xlcalc.core.slo import TargetUnreachableError, max_batch
from xlcalc.data.model_shapes import model_shape

A100 = gpu("A100-80GB")
H100 = gpu("H100 SXM")
L4 = gpu("L4")


def hardware(acc, precision="bf16"):
    return dict(peak_tflops=acc.peak_tflops(precision), mem_bw_tbs=acc.mem_bw_tbs)


def link(acc):
    return dict(link_gbs=acc.interconnect_gbs, link_latency_us=acc.interconnect_latency_us)


def efficiency(acc, *names):
    e = efficiencies_for(acc.name)
    return {name: getattr(e, name) for name in names}


def decode_tokens_per_sec(model, acc, gpus, bytes_per_param, context, precision="bf16"):
    """Batch-1 decode tokens/s with the family's efficiencies and the catalog's interconnect."""
    step = time_per_token_s(model, **hardware(acc, precision), context_tokens=context, gpus=gpus,
                            bytes_per_param=bytes_per_param, **link(acc), **efficiency(acc, "mfu_decode", "bw_eff"))
    return 1.0 / step


def static_batch_tokens_per_sec(model, acc, batch, prompt, output, gpus, bytes_per_value, precision):
    """Output tokens/s of a static batch (TensorRT-LLM's gptSessionBenchmark): batch x output / (TTFT + (output-1) steps)."""
    common = dict(batch=batch, gpus=gpus, bytes_per_param=bytes_per_value, kv_bytes_per_value=bytes_per_value,
                  **link(acc))
    first = ttft_s(model, **hardware(acc, precision), input_tokens=prompt, **common,
                   **efficiency(acc, "mfu_prefill", "mfu_decode", "bw_eff"))
    step = time_per_token_s(model, **hardware(acc, precision), context_tokens=prompt + output / 2, **common,
                            **efficiency(acc, "mfu_decode", "bw_eff"))
    return batch * output / (first + (output - 1) * step)


def first_token_ms(model, acc, prompt, gpus, bytes_per_value, precision):
    return 1e3 * ttft_s(model, **hardware(acc, precision), input_tokens=prompt, gpus=gpus,
                        bytes_per_param=bytes_per_value, kv_bytes_per_value=bytes_per_value, **link(acc),
                        **efficiency(acc, "mfu_prefill", "mfu_decode", "bw_eff"))


class TestPublishedAnchors:
    """Every anchor within 20% with one set of efficiencies per accelerator family (EFFICIENCIES):

    Ampere (A100): mfu_prefill 0.72, mfu_decode 0.5, bw_eff 0.68; Hopper (H100): 0.45, 0.35, 0.52; the
    interconnect bandwidth and per-step latency (4 us on NVLink) come from the accelerator catalog.
    The errors reached are in the comments (predicted / measured - 1).
    """

    def test_the_sets_used(self):
        sets = {k: (e.mfu_prefill, e.mfu_decode, e.bw_eff) for k, e in EFFICIENCIES.items()}
        assert sets["Ampere"] == (0.72, 0.5, 0.68) and sets["Hopper"] == (0.45, 0.35, 0.52)
        assert efficiencies_for("A100-80GB SXM4").family == "Ampere" and efficiencies_for("H200 SXM").family == "Hopper"
        assert A100.interconnect_gbs == 300 and A100.interconnect_latency_us == 4

    # gpt-fast README at commit cadb213 (2023-12-05), pytorch-labs/gpt-fast: 8 x A100-80GB power-limited to
    # 330 W, batch 1, 5-token prompt, 200 new tokens (mean context about 105). Its later README (commit
    # c5d3454, 2023-12-16, custom all-reduce) gives 21.32 / 38.01 / 62.50 for the tensor-parallel 70B;
    # this test uses the earlier, NCCL table (20.53 / 34.15 / 47.25) that the 4 us per step fits.
    @pytest.mark.parametrize("model, gpus, bytes_per_param, measured", [
        ("Llama-2-7B", 1, 2, 104.9),      # -0.4%
        ("Llama-2-70B", 1, 1, 19.13),     # +5.4% (int8 weights; 69 GB on one 80 GB GPU: it fits, checked below)
        ("Llama-2-70B", 2, 2, 20.53),     # -4.2%
        ("Llama-2-70B", 4, 2, 34.15),     # +2.2%
        ("Llama-2-70B", 8, 2, 47.25),     # -1.0%
    ])
    def test_gpt_fast_decode(self, model, gpus, bytes_per_param, measured):
        predicted = decode_tokens_per_sec(model, A100, gpus, bytes_per_param, context=105)
        assert predicted == pytest.approx(measured, rel=0.20)
        assert predicted == pytest.approx(measured, rel=0.06)   # the error reached

    def test_gpt_fast_70b_int8_fits_one_a100(self):
        # 68.98 GB of int8 weights plus 205 tokens of FP16 KV cache (67 MB) on 80 GB: 86.3%, within 90%.
        r = max_batch("Llama-2-70B", **hardware(A100), memory_gb=A100.memory_gb, input_tokens=5, output_tokens=200,
                      tpot_target_s=1.0, gpus=1, bytes_per_param=1)
        assert r.batch >= 1
        assert xlcalc.check_fits(68.976648192e9, 80, bytes_per_param=1) == pytest.approx(0.8622, abs=1e-4)

    # TensorRT-LLM 0.5.0, docs/source/performance.md (raw.githubusercontent.com/NVIDIA/TensorRT-LLM/release/0.5.0):
    # throughput of a static batch of 64, 128 prompt / 128 output tokens, FP8 weights and KV cache on H100.
    @pytest.mark.parametrize("model, gpus, measured", [
        ("Llama-2-7B", 1, 9193),    # +5.7%
        ("Llama-2-70B", 4, 3317),   # +9.6%
    ])
    def test_tensorrt_llm_h100_fp8_throughput(self, model, gpus, measured):
        predicted = static_batch_tokens_per_sec(model, H100, 64, 128, 128, gpus, 1, "fp8")
        assert predicted == pytest.approx(measured, rel=0.20)
        assert predicted == pytest.approx(measured, rel=0.10)

    def test_tensorrt_llm_a100_fp16_throughput(self):
        # shared/REFERENCE.md reads 3,486 tokens/s for Llama-2-7B FP16 on one A100 (batch 64, 128/128) from the
        # 0.5 docs; the stored copy searched here is cut before that table, so this figure is as REFERENCE.md
        # reports it (the H100 rows of the same table were checked).
        predicted = static_batch_tokens_per_sec("Llama-2-7B", A100, 64, 128, 128, 1, 2, "bf16")
        assert predicted == pytest.approx(3486, rel=0.05)       # +2.3%

    # First-token latency, batch 1, 2,048-token prompt, "data from TensorRT-LLM v0.5" (performance.md, low
    # latency tables, as kept in later versions of the file).
    @pytest.mark.parametrize("model, acc, gpus, bytes_per_value, precision, measured_ms", [
        ("Llama-2-7B", A100, 1, 2, "bf16", 133),    # +2.0%
        ("Llama-2-70B", A100, 4, 2, "bf16", 377),   # +0.5%
        ("Llama-2-7B", H100, 1, 1, "fp8", 36),      # -0.8%
        ("Llama-2-70B", H100, 4, 1, "fp8", 109),    # +6.5%
    ])
    def test_tensorrt_llm_first_token(self, model, acc, gpus, bytes_per_value, precision, measured_ms):
        predicted = first_token_ms(model, acc, 2048, gpus, bytes_per_value, precision)
        assert predicted == pytest.approx(measured_ms, rel=0.20)
        assert predicted == pytest.approx(measured_ms, rel=0.07)

    # Not an anchor of the issue, stated for honesty: the 128-token prompts of the same tables, where the
    # first token is a few weight reads and fixed overheads dominate. A100: 16 and 47 ms measured, the model
    # gives +20% and +25%; H100 FP8: 7 and 26 ms, +9% and +10%.
    @pytest.mark.parametrize("model, acc, gpus, bytes_per_value, precision, measured_ms, error", [
        ("Llama-2-7B", A100, 1, 2, "bf16", 16, 0.197),
        ("Llama-2-70B", A100, 4, 2, "bf16", 47, 0.254),
        ("Llama-2-7B", H100, 1, 1, "fp8", 7, 0.089),
        ("Llama-2-70B", H100, 4, 1, "fp8", 26, 0.098),
    ])
    def test_short_prompts_as_stated(self, model, acc, gpus, bytes_per_value, precision, measured_ms, error):
        predicted = first_token_ms(model, acc, 128, gpus, bytes_per_value, precision)
        assert predicted / measured_ms - 1 == pytest.approx(error, abs=0.005)


class TestFormulas:
    def test_decode_step_by_hand(self):
        s = model_shape("Llama-2-70B")
        kw = dict(peak_tflops=312, mem_bw_tbs=2.0, context_tokens=1000, batch=4, gpus=4, mfu_decode=0.5, bw_eff=0.5,
                  link_gbs=300, link_latency_us=4)
        kv = 2 * 80 * 8 * 128 * 2
        compute = 4 * (2 * s.matmul_params + 4 * 80 * 8192 * 1000) / (4 * 312e12 * 0.5)
        memory = (2 * s.matmul_params + 4 * 1000 * kv) / (4 * 2e12 * 0.5)
        comm = 2 * 80 * (2 * 3 * 4e-6 + 2 * 3 / 4 * 4 * 8192 * 2 / 300e9)
        assert time_per_token_s(s, **kw) == pytest.approx(max(compute, memory) + comm, rel=1e-12)

    def test_one_gpu_has_no_allreduce_and_needs_no_link(self):
        assert allreduce_s(8192, 80, 1, 1, 300, 4) == 0.0
        assert time_per_token_s("Llama-2-7B", 312, 2.0, 0, bw_eff=1.0) == pytest.approx(
            2 * model_shape("Llama-2-7B").matmul_params / 2e12, rel=1e-12)

    def test_allreduce_ring(self):
        # 2 per layer; ring: 2 (g-1) steps of latency and 2 (g-1)/g of the data through each GPU's link
        assert allreduce_s(8192, 80, 1, 8, 300, 4) == pytest.approx(160 * (14 * 4e-6 + 1.75 * 8192 * 2 / 300e9))

    def test_ttft_by_hand(self):
        s = model_shape("Llama-2-7B")
        prompt = 2048
        prefill = prompt * (2 * s.matmul_params + 4 * 32 * 4096 * (prompt + 1) / 2) / (312e12 * 0.7)
        step = max((2 * s.matmul_params + 4 * 32 * 4096 * prompt) / (312e12 * 0.5),
                   (2 * s.matmul_params + prompt * 524288) / (2e12 * 0.6))
        assert ttft_s(s, 312, 2.0, prompt, mfu_prefill=0.7, mfu_decode=0.5, bw_eff=0.6) == pytest.approx(
            prefill + step, rel=1e-12)

    def test_broadcasting(self):
        out = time_per_token_s("Llama-2-7B", 312, 2.0, [[0], [4096]], batch=[1, 8, 64])
        assert out.shape == (2, 3) and np.all(out[1] > out[0])
        assert np.all(np.diff(out[1]) > 0) and np.all(out[0] == out[0, 0])   # no KV cache: weights bound


class TestMaxBatch:
    KW = dict(peak_tflops=989.5, mem_bw_tbs=3.35, memory_gb=80, input_tokens=1000, output_tokens=200,
              link_gbs=450, link_latency_us=4)

    def test_closed_form_equals_the_search(self):
        # The batch is the largest B meeting both targets and fitting: check against a search over B.
        for gpus, tpot, ttft in [(1, 0.03, 1.0), (2, 0.05, 1.0), (4, 0.05, np.inf), (1, np.inf, 2.0), (8, 0.025, 0.3)]:
            r = max_batch("Llama-3.1-70B" if gpus > 1 else "Llama-3.1-8B", **self.KW, tpot_target_s=tpot,
                          ttft_target_s=ttft, gpus=gpus, usd_per_hour=2.0)
            model = "Llama-3.1-70B" if gpus > 1 else "Llama-3.1-8B"
            common = dict(gpus=gpus, **{k: self.KW[k] for k in ("link_gbs", "link_latency_us")})
            batches = np.arange(1, 5000)
            step = time_per_token_s(model, 989.5, 3.35, 1100, batch=batches, **common)
            first = ttft_s(model, 989.5, 3.35, 1000, batch=batches, **common)
            s = model_shape(model)
            fits = s.params * 2 + batches * 1200 * s.kv_bytes_per_token() <= gpus * 80e9 * 0.9
            ok = (step <= tpot) & (first <= ttft) & fits
            assert r.batch == batches[ok].max()
            assert r.time_per_token_s == pytest.approx(step[ok][-1]) and r.ttft_s == pytest.approx(first[ok][-1])
            assert r.tokens_per_sec == pytest.approx(r.batch / r.time_per_token_s)
            assert r.usd_per_mtok_output == pytest.approx(2.0 * gpus * r.time_per_token_s / r.batch / 3600 * 1e6)

    def test_auto_gpus_picks_the_cheapest(self):
        auto = max_batch("Llama-3.1-70B", **self.KW, tpot_target_s=0.03, ttft_target_s=2.0)
        with xlcalc.invalid_reasons():
            costs = {g: max_batch("Llama-3.1-70B", **self.KW, tpot_target_s=0.03, ttft_target_s=2.0, gpus=g)
                     .usd_per_mtok_output for g in (1, 2, 4, 8)}
        costs = {g: c for g, c in costs.items() if not np.isnan(c)}
        assert set(costs) == {4, 8}   # 1 does not fit, 2 cannot meet the targets
        assert auto.usd_per_mtok_output == min(costs.values()) and auto.gpus == min(costs, key=costs.get)

    def test_70b_on_one_l4_says_what_would(self):
        # The example: a 70B on one L4 at 20 ms per token.
        with pytest.raises(TargetUnreachableError, match=r"the model does not fit on 1 GPU of 24 GB: one sequence "
                                                          r"needs 138\.\d+ GB .* 7 GPUs' worth .*no replica of up to "
                                                          r"64 GPUs meets 20 ms per output token: the fastest, batch 1 "
                                                          r"on \d+ GPUs gives [\d.]+ ms per output token"):
            max_batch("Llama-2-70B", **hardware(L4), memory_gb=24, input_tokens=1000, output_tokens=200,
                      tpot_target_s=0.02, gpus=1, **link(L4))

    def test_says_how_many_gpus_would(self):
        with pytest.raises(TargetUnreachableError, match="no batch meets 30 ms per output token on 1 GPU; 4 GPUs per "
                                                          "replica would meet the target"):
            max_batch("Llama-2-7B", **hardware(L4), memory_gb=24, input_tokens=1000, output_tokens=200,
                      tpot_target_s=0.03, gpus=1, **link(L4))

    def test_fits_on_no_number_of_gpus(self):
        with pytest.raises(TargetUnreachableError, match="it fits on no replica of up to 64 GPUs"):
            max_batch(5e12, **hardware(L4), memory_gb=24, input_tokens=1000, output_tokens=200, tpot_target_s=1.0,
                      **link(L4))

    @pytest.mark.parametrize("kwargs, match", [
        (dict(tpot_target_s=0.0), "tpot_target_s = 0 is not allowed: must be a time > 0"),
        (dict(tpot_target_s=0.05, ttft_target_s=-1.0), "ttft_target_s = -1 is not allowed"),
        (dict(tpot_target_s=0.05, input_tokens=-5), "input_tokens = -5 is not allowed: must be a number >= 0"),
        (dict(), "give a time-per-token target, a time-to-first-token target or both"),
        (dict(tpot_target_s=0.05, gpus=3.5), "gpus = 3.5 is not allowed"),
        (dict(tpot_target_s=0.05, gpus=2, link_gbs=np.nan), "link_gbs = NaN is not allowed: must be a number > 0 "
                                                             "when gpus > 1"),
        (dict(tpot_target_s=0.05, headroom=1.0), "headroom = 1 is not allowed"),
    ])
    def test_bad_input(self, kwargs, match):
        args = {**self.KW, **kwargs}
        with pytest.raises(InvalidInputError, match=match):
            max_batch("Llama-3.1-8B", **args)

    def test_unknown_model(self):
        with pytest.raises(UnknownNameError, match="did you mean"):
            max_batch("Lama-3.1-8B", **self.KW, tpot_target_s=0.05)

    def test_errors_per_element(self):
        with xlcalc.invalid_reasons() as why:
            r = max_batch(["Llama-3.1-8B", "nope", "Llama-3.1-8B"], **{**self.KW, "input_tokens": [1000, 1000, -1]},
                          tpot_target_s=[0.05, 0.05, 0.05], gpus=1)
        assert r.batch[0] > 1 and np.isnan(r.batch[1:]).all()
        assert why.reasons[0] == "" and "not in the shape catalog" in why.reasons[1]
        assert why.reasons[2] == "input_tokens = -1 is not allowed: must be a number >= 0"


SLO = st.floats(0.005, 0.2)


class TestProperties:
    KW = dict(peak_tflops=312, mem_bw_tbs=2.039, memory_gb=80, link_gbs=300, link_latency_us=4, usd_per_hour=1.5)

    @given(st.sampled_from(["Llama-2-7B", "Llama-3.1-8B", "Llama-3.1-70B", "Qwen2.5-32B"]), SLO, SLO,
           st.sampled_from([1, 2, 4, 8, 0]), st.integers(10, 4000), st.integers(1, 1000))
    @settings(max_examples=80, deadline=None)
    def test_a_looser_target_never_gives_a_smaller_batch_or_a_higher_cost(self, model, a, b, gpus, prompt, output):
        tight, loose = min(a, b), max(a, b)
        with xlcalc.invalid_reasons():
            t = max_batch(model, **self.KW, input_tokens=prompt, output_tokens=output, tpot_target_s=tight, gpus=gpus)
            lo = max_batch(model, **self.KW, input_tokens=prompt, output_tokens=output, tpot_target_s=loose, gpus=gpus)
        if np.isnan(t.batch):
            return
        assert lo.usd_per_mtok_output <= t.usd_per_mtok_output * (1 + 1e-12)
        if gpus:   # with the GPUs left open the cheapest replica may be a smaller one with a smaller batch
            assert lo.batch >= t.batch

    @given(st.sampled_from(["Llama-2-7B", "Llama-2-70B", "Llama-3.1-405B", "Gemma-2-27B"]), st.integers(1, 7),
           st.integers(1, 8000), st.sampled_from([1, 2]))
    @settings(max_examples=80, deadline=None)
    def test_more_gpus_never_make_a_fitting_model_not_fit(self, model, gpus, context, bytes_per_param):
        def fits(g):
            with xlcalc.invalid_reasons() as why:
                max_batch(model, **self.KW, input_tokens=context, output_tokens=0, tpot_target_s=100.0,
                          ttft_target_s=1e6, gpus=g, bytes_per_param=bytes_per_param)
            return "does not fit" not in str(why.reasons)
        assume(fits(gpus))
        assert fits(gpus + 1) and fits(2 * gpus)
