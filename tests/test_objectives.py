"""The lifetime optimum under usd, kWh and CO2 (xlcalc.core.objectives): the paper's regime, brute force, energy by hand, bad input."""

import math

import numpy as np
import pytest

import xlcalc
from xlcalc import InvalidInputError
from xlcalc.core.data_limits import R_D_STAR
from xlcalc.core.lifetime import compute_optimal, cost_optimal
from xlcalc.core.objectives import lifetime_optimal
from xlcalc.core.serving import decode_mfu

PAPER = dict(train_peak_tflops=312.0, infer_peak_tflops=624.0, train_usd_per_hour=1.4, infer_usd_per_hour=0.6,
             mfu_prefill=0.4, mfu_decode=0.2)
A100 = dict(infer_mem_bw_tbs=2.0, infer_memory_gb=80.0)


# ----------------------------------------------------------------------------------------------
# The paper's regime


def test_fixed_mfu_is_the_papers_cost_optimum():
    ours = lifetime_optimal(1.947, 1e13, 2.5e12, **PAPER)
    paper = cost_optimal(1.947, 1e13, 2.5e12, train_usd_per_hour=1.4, train_peak_tflops=312,
                         infer_usd_per_hour=0.6, infer_peak_tflops=624, mfu_prefill=0.4, mfu_decode=0.2)
    assert ours.params == pytest.approx(paper.params, rel=1e-12)
    assert ours.tokens == pytest.approx(paper.tokens, rel=1e-12)
    assert ours.usd == pytest.approx(paper.usd, rel=1e-12)


def test_memory_bound_roofline_without_kv_cache_has_constant_mfu():
    # decode step = bytes N / W (memory-bound), FLOPs = 2 N batch: MFU = 2 batch W / (bytes P) for every N.
    batch, bandwidth, bytes_per_param, peak = 32, 2.0, 2.0, 624.0
    formula = 2 * batch * bandwidth * 1e12 / (bytes_per_param * peak * 1e12)
    sizes = np.array([1e9, 7e9, 70e9, 400e9])
    mfu = decode_mfu(sizes, peak, bandwidth, bytes_per_param=bytes_per_param, batch=batch, gpus=8)
    assert np.allclose(mfu, formula, rtol=1e-12)
    assert formula == pytest.approx(0.10256410256410256, rel=1e-15)


@pytest.mark.parametrize("objective", ["usd", "kwh", "co2"])
@pytest.mark.parametrize("unique", [np.inf, 4e11])
def test_roofline_in_the_papers_regime_equals_the_fixed_mfu_optimum(objective, unique):
    batch = 32
    mfu = 2 * batch * 2.0 / (2.0 * 624.0)   # 0.1026: memory-bound (below the compute-bound 0.2 below)
    common = dict(PAPER, train_tdp_w=400, infer_tdp_w=400, train_g_per_kwh=300, infer_g_per_kwh=50,
                  objective=objective, unique_tokens=unique)
    common.pop("mfu_decode")
    roofline = lifetime_optimal(1.947, 1e13, 2.5e12, serving="roofline", batch=batch, kv_bytes_per_param=0,
                                mfu_decode=0.2, **A100, **common)
    paper = lifetime_optimal(1.947, 1e13, 2.5e12, mfu_decode=mfu, **common)
    assert roofline.params == pytest.approx(paper.params, rel=1e-9)
    assert roofline.tokens == pytest.approx(paper.tokens, rel=1e-9)
    assert roofline.value == pytest.approx(paper.value, rel=1e-9)
    assert xlcalc.core.lifetime_costs.BINDINGS[int(roofline.binding)] == "memory bandwidth"


def _roofline_pair(**extra):
    """(roofline optimum, fixed-MFU optimum at the roofline's unconstrained MFU) for a 64-sequence batch."""
    batch = 64
    mfu = 2 * batch * 2.0 / (2.0 * 624.0)
    base = dict(PAPER)
    base.pop("mfu_decode")
    roofline = lifetime_optimal(1.947, 1e13, 1e13, serving="roofline", batch=batch, mfu_decode=0.9,
                                **dict(A100, **base, **extra))
    paper = lifetime_optimal(1.947, 1e13, 1e13, mfu_decode=mfu, **base)
    return roofline, paper


def test_a_binding_latency_target_moves_the_optimum_to_fewer_params_and_more_tokens():
    roofline, paper = _roofline_pair(kv_bytes_per_param=1.6e-5, input_tokens_per_request=1000,
                                     output_tokens_per_request=250, tpot_target_s=0.01, max_gpus=1)
    assert xlcalc.core.lifetime_costs.BINDINGS[int(roofline.binding)] == "latency"
    assert roofline.batch < 64
    assert roofline.params < 0.99 * paper.params and roofline.tokens > 1.01 * paper.tokens
    assert roofline.usd > paper.usd
    assert roofline.fixed_mfu.params > roofline.params


def test_a_latency_target_met_only_by_smaller_models_caps_the_size():
    # 20 ms per token on one GPU: the batch cap of 64 binds at the optimum's size, but no larger model meets it.
    roofline, paper = _roofline_pair(kv_bytes_per_param=1.6e-5, input_tokens_per_request=1000,
                                     output_tokens_per_request=250, tpot_target_s=0.02, max_gpus=1)
    assert xlcalc.core.lifetime_costs.BINDINGS[int(roofline.binding)] == "latency"
    assert roofline.params < paper.params and roofline.gpus == 1


def test_binding_memory_capacity_moves_the_optimum_to_fewer_params_and_more_tokens():
    roofline, paper = _roofline_pair(kv_bytes_per_param=2e-5, input_tokens_per_request=4000,
                                     output_tokens_per_request=1000, infer_memory_gb=24.0, max_gpus=1)
    assert xlcalc.core.lifetime_costs.BINDINGS[int(roofline.binding)] == "memory capacity"
    assert roofline.batch < 64
    assert roofline.params < 0.99 * paper.params and roofline.tokens > paper.tokens


def test_kv_cache_defaults_to_the_model_shape_of_the_losss_chinchilla_model_for_every_objective():
    base = dict(PAPER, serving="roofline", batch=16, input_tokens_per_request=2000, output_tokens_per_request=500,
                train_tdp_w=700, infer_tdp_w=700, infer_pue=1.3, **A100)
    shape = xlcalc.model_shape(xlcalc.chinchilla_for_loss(1.947).params)
    ratio = shape.kv_bytes_per_token(2) / shape.params
    for objective in ("usd", "kwh"):
        default = lifetime_optimal(1.947, 1e13, 2.5e12, objective=objective, **base)
        typed = lifetime_optimal(1.947, 1e13, 2.5e12, objective=objective, kv_bytes_per_param=ratio, **base)
        assert default.params == pytest.approx(typed.params, rel=1e-12)
        assert default.value == pytest.approx(typed.value, rel=1e-12)


# ----------------------------------------------------------------------------------------------
# Brute force: a dense search along the iso-loss curve never beats the solver


def _tokens_of_effective(effective, unique):
    z = (effective / unique - 1.0) / R_D_STAR
    with np.errstate(invalid="ignore", divide="ignore"):
        repeated = unique * (1.0 - R_D_STAR * np.log1p(-np.minimum(z, 1.0)))
    return np.where(effective <= unique, effective, repeated)


def _brute_force(sc, objective, points=100_000):
    """Lowest objective over `points` values of ln D' spread over the whole iso-loss curve (independent code)."""
    E, A, B, a, b = xlcalc.get_fit("chinchilla").constants
    c = sc["loss"] - E
    lo = math.log(B / c) / b
    hi = min(math.log(sc["unique_tokens"] * (1 + R_D_STAR)), lo + 40.0)
    x = lo + (hi - lo) * np.linspace(1e-9, 1.0 - 1e-12, points)
    n = (A / (c - B * np.exp(-b * x))) ** (1 / a)
    d = _tokens_of_effective(np.exp(x), sc["unique_tokens"])
    train_h = 6 * n * d / (3600 * sc["train_peak_tflops"] * 1e12 * sc["mfu_train"])
    prefill_h = 2 * n * sc["input_tokens"] / (3600 * sc["infer_peak_tflops"] * 1e12 * sc["mfu_prefill"])
    peak = sc["infer_peak_tflops"] * 1e12 * sc["mfu_decode"]
    if sc["serving"] == "fixed_mfu":
        decode_h = sc["output_tokens"] * 2 * n / peak / 3600
    else:
        bw = sc["infer_mem_bw_tbs"] * 1e12 * sc["bw_eff"]
        mem = sc["infer_memory_gb"] * 1e9 * (1 - sc["headroom"])
        k, bp, tau = sc["kv_bytes_per_param"], sc["bytes_per_param"], sc["tpot_target_s"]
        seq = sc["input_tokens_per_request"] + sc["output_tokens_per_request"]
        ctx = sc["input_tokens_per_request"] + sc["output_tokens_per_request"] / 2

        def step(batch, g):
            return np.maximum(2 * n * batch / (g * peak), (bp * n + batch * ctx * k * n) / (g * bw))

        decode_h = np.full(n.shape, np.inf)
        g = 1
        while g <= sc["max_gpus"]:   # every power of two that holds one sequence and meets the target; the cheapest
            fits = (g * mem >= n * (bp + seq * k)) & (step(1.0, g) <= tau)
            with np.errstate(divide="ignore", invalid="ignore"):
                batch = np.minimum.reduce([np.full(n.shape, sc["batch"]), (g * mem - bp * n) / (seq * k * n),
                                           (tau * g * bw - bp * n) / (ctx * k * n), tau * g * peak / (2 * n)])
                hours = sc["output_tokens"] * g * step(batch, g) / batch / 3600
            decode_h = np.where(fits & (hours < decode_h), hours, decode_h)
            g *= 2
    w_t, w_i = {"usd": (sc["train_usd_per_hour"], sc["infer_usd_per_hour"]),
                "kwh": (sc["train_tdp_w"] / 1000 * sc["train_pue"], sc["infer_tdp_w"] / 1000 * sc["infer_pue"]),
                "co2": (sc["train_tdp_w"] / 1000 * sc["train_pue"] * sc["train_g_per_kwh"] / 1000,
                        sc["infer_tdp_w"] / 1000 * sc["infer_pue"] * sc["infer_g_per_kwh"] / 1000)}[objective]
    total = w_t * train_h + w_i * (prefill_h + decode_h)
    total = np.where(np.isfinite(total), total, np.inf)
    return total.min()


def _scenarios(rng, count):
    n_chin = 10 ** rng.uniform(8, 12, count)
    loss = np.array([float(xlcalc.loss(n, xlcalc.chinchilla_tokens(n))) for n in n_chin])
    out = []
    for i in range(count):
        capped = rng.random() < 0.5
        floor_tokens = (410.7 / (loss[i] - 1.69)) ** (1 / 0.283)   # D' where the data term alone is the loss
        sc = dict(loss=loss[i], input_tokens=10 ** rng.uniform(8, 15) * (rng.random() < 0.9),
                  output_tokens=10 ** rng.uniform(8, 15) * (rng.random() < 0.9),
                  train_peak_tflops=rng.uniform(100, 2000), infer_peak_tflops=rng.uniform(100, 2000),
                  train_usd_per_hour=rng.uniform(0.5, 5), infer_usd_per_hour=rng.uniform(0.5, 5),
                  mfu_train=rng.uniform(0.2, 0.6), mfu_prefill=rng.uniform(0.2, 0.8), mfu_decode=rng.uniform(0.005, 0.6),
                  train_tdp_w=rng.uniform(300, 1200), infer_tdp_w=rng.uniform(70, 1200),
                  train_pue=rng.uniform(1, 1.6), infer_pue=rng.uniform(1, 1.6),
                  train_g_per_kwh=rng.uniform(1, 800), infer_g_per_kwh=rng.uniform(0, 800),
                  unique_tokens=floor_tokens / (1 + R_D_STAR) * 10 ** rng.uniform(0.05, 2) if capped else np.inf,
                  serving="roofline" if rng.random() < 0.6 else "fixed_mfu",
                  infer_mem_bw_tbs=rng.uniform(0.3, 8), infer_memory_gb=rng.choice([16.0, 24.0, 48.0, 80.0, 192.0]),
                  bw_eff=rng.uniform(0.5, 1), bytes_per_param=rng.choice([1.0, 2.0]),
                  kv_bytes_per_param=rng.choice([0.0, 10 ** rng.uniform(-6, -4)]),
                  input_tokens_per_request=float(rng.integers(0, 8000)),
                  output_tokens_per_request=float(rng.integers(1, 2000)),
                  batch=float(rng.integers(1, 513)) if rng.random() < 0.7 else np.inf,
                  tpot_target_s=10 ** rng.uniform(-2.5, -0.5) if rng.random() < 0.6 else np.inf,
                  headroom=0.1, max_gpus=float(rng.choice([1, 2, 4, 8, 16])))
        if not np.isfinite(sc["batch"]) and not np.isfinite(sc["tpot_target_s"]):
            sc["batch"] = 8.0
        out.append(sc)
    return out


@pytest.mark.parametrize("objective", ["usd", "kwh", "co2"])
def test_dense_search_never_beats_the_solver(objective):
    rng = np.random.default_rng({"usd": 1, "kwh": 2, "co2": 3}[objective])
    scenarios = _scenarios(rng, 1000)
    solved = infeasible = 0
    for mode in ("fixed_mfu", "roofline"):
        chosen = [sc for sc in scenarios if sc["serving"] == mode]
        arrays = {k: np.array([sc[k] for sc in chosen]) for k in chosen[0] if k != "serving"}
        with xlcalc.invalid_reasons() as reasons:
            got = lifetime_optimal(**arrays, objective=objective, serving=mode)
        for j, sc in enumerate(chosen):
            best = _brute_force(sc, objective)
            if np.isnan(got.value[j]):
                assert "can be served on up to" in reasons.reasons[j], reasons.reasons[j]
                assert best == np.inf, (sc, best)   # really nothing feasible
                infeasible += 1
                continue
            assert got.value[j] <= best * (1 + 1e-9), (sc, got.value[j], best)
            assert best <= got.value[j] * (1 + 1e-2), (sc, got.value[j], best)  # and the grid comes close
            solved += 1
    assert solved > 800   # the check covers most scenarios; infeasible ones are also checked above


# ----------------------------------------------------------------------------------------------
# Limited unique data


def test_unique_tokens_at_least_the_tokens_is_the_plain_law_exactly():
    plain = lifetime_optimal(1.947, 1e13, 2.5e12, **PAPER)
    roomy = lifetime_optimal(1.947, 1e13, 2.5e12, unique_tokens=plain.tokens * 1.0001, **PAPER)
    assert roomy.params == pytest.approx(plain.params, rel=1e-12)
    assert roomy.tokens == pytest.approx(plain.tokens, rel=1e-12)
    assert roomy.data_binds == 0 and roomy.epochs < 1
    assert xlcalc.effective_tokens(plain.tokens, plain.tokens) == plain.tokens


def test_muennighoff_worked_numbers():
    # datablations README ("Parametric Fit"), the two models of Figure 1 (right) of Muennighoff et al. 2023:
    # 6.34B params on 242B tokens and 8.67B on 178B, both with 25B unique tokens.
    assert xlcalc.data_constrained_loss(6.34e9, 242e9, 25e9) == pytest.approx(2.2256440889984477, rel=1e-14)
    assert xlcalc.data_constrained_loss(8.67e9, 178e9, 25e9) == pytest.approx(2.2269634075087867, rel=1e-14)
    # Eq. 5: R*_D = 15.4 repetitions; 4 epochs (3 repeats) of 1B unique tokens are worth 3.73B fresh ones.
    assert xlcalc.effective_tokens(4e9, 1e9) == pytest.approx(1e9 * (1 + 15.387756 * (1 - math.exp(-3 / 15.387756))))


def test_a_data_cap_that_binds_reports_epochs_and_the_cost_against_unlimited_data():
    free = lifetime_optimal(1.947, 1e13, 2.5e12, **PAPER)
    capped = lifetime_optimal(1.947, 1e13, 2.5e12, unique_tokens=5e11, **PAPER)
    assert capped.data_binds == 1 and capped.epochs == pytest.approx(capped.tokens / 5e11)
    assert capped.effective_tokens == pytest.approx(xlcalc.effective_tokens(capped.tokens, 5e11), rel=1e-12)
    assert capped.usd > free.usd and capped.unlimited.value == pytest.approx(free.usd, rel=1e-12)
    assert capped.params > free.params   # scarce data: a bigger model on fewer effective tokens
    assert xlcalc.data_constrained_loss(capped.params, capped.tokens, 5e11, fit="chinchilla") != capped  # runs


@pytest.mark.parametrize("latency", [np.inf, 0.03])
@pytest.mark.parametrize("caps", [(-1.0, 2.0), (-1.5, 0.5)])   # log10 of U / Chinchilla tokens: few, most bind
def test_the_unlimited_data_reference_of_the_roofline_is_the_uncapped_optimum(latency, caps):
    """Where the capped roofline optimum repeats no data it is also the unlimited one (not solved again); where it
    does, the reference is solved: either way it is the optimum of the same call without unique_tokens."""
    rng = np.random.default_rng(7)
    sizes = 10 ** rng.uniform(9, 12, 600)
    losses = xlcalc.loss(sizes, xlcalc.chinchilla_tokens(sizes))
    unique = xlcalc.chinchilla_tokens(sizes) * 10 ** rng.uniform(*caps, sizes.size)
    demand = dict(input_tokens=10 ** rng.uniform(9, 14, sizes.size), output_tokens=10 ** rng.uniform(9, 14, sizes.size))
    common = dict(PAPER, serving="roofline", batch=64, tpot_target_s=latency, max_gpus=64, **A100, **demand)
    with xlcalc.invalid_reasons():
        capped = lifetime_optimal(losses, unique_tokens=unique, **common)
        free = lifetime_optimal(losses, **common)
    ok = np.isfinite(capped.value)
    binds = capped.data_binds == 1
    assert 0.1 < np.mean(binds[ok]) < 0.9   # both kinds of scenario
    np.testing.assert_array_equal(capped.unlimited.params[ok & ~binds], capped.params[ok & ~binds])
    for ours, theirs in ((capped.unlimited.params, free.params), (capped.unlimited.tokens, free.tokens),
                         (capped.unlimited.value, free.value)):
        np.testing.assert_allclose(ours[ok], theirs[ok], rtol=1e-12)
    assert np.all(capped.value[ok] >= capped.unlimited.value[ok] * (1 - 1e-15))


def test_an_unreachable_loss_says_the_lowest_reachable_loss():
    lowest = 1.69 + 410.7 / (1e9 * (1 + R_D_STAR)) ** 0.283
    with pytest.raises(InvalidInputError, match=r"unique_tokens = 1e\+09.*lowest reachable loss is 2\.21822 "):
        lifetime_optimal(2.0, 1e13, 0, unique_tokens=1e9, **PAPER)
    assert f"{lowest:.6g}" == "2.21822"


# ----------------------------------------------------------------------------------------------
# Energy and carbon


def test_energy_training_phase_by_hand():
    # No inference: the least-energy model is Chinchilla's; kWh = 6 N D / (3600 s x 312e12 x 0.5) x 0.7 kW x 1.1.
    opt = lifetime_optimal(2.0, 0, 0, objective="kwh", train_tdp_w=700, infer_tdp_w=400, train_pue=1.1, **PAPER)
    n, d = xlcalc.chinchilla_for_loss(2.0).params, xlcalc.chinchilla_for_loss(2.0).tokens
    assert opt.params == pytest.approx(n, rel=1e-9)
    gpu_hours = 6 * n * d / (3600 * 312e12 * 0.5)
    assert opt.kwh == pytest.approx(gpu_hours * 0.7 * 1.1, rel=1e-9)
    assert opt.usd == pytest.approx(gpu_hours * 1.4, rel=1e-9)


def test_energy_inference_phases_by_hand():
    # Fixed MFU: 1e12 prompt tokens at 2N FLOPs / (624e12 x 0.4) and 1e12 generated at 2N / (624e12 x 0.2),
    # on 400 W accelerators in a PUE 1.25 data centre.
    opt = lifetime_optimal(2.0, 1e12, 1e12, objective="kwh", train_tdp_w=700, infer_tdp_w=400, infer_pue=1.25, **PAPER)
    n = opt.params
    prefill_h = 2 * n * 1e12 / (624e12 * 0.4) / 3600
    decode_h = 2 * n * 1e12 / (624e12 * 0.2) / 3600
    assert opt.inference_gpu_hours == pytest.approx(prefill_h + decode_h, rel=1e-12)
    train_kwh = opt.train_gpu_hours * 0.7
    assert opt.kwh == pytest.approx(train_kwh + (prefill_h + decode_h) * 0.4 * 1.25, rel=1e-12)
    # the roofline phase: batch 8, memory-bound, 2-byte weights on a 2 TB/s GPU: N x 2 bytes / 2e12 B/s per step
    roof = lifetime_optimal(2.0, 0, 1e12, objective="kwh", serving="roofline", batch=8, kv_bytes_per_param=0,
                            train_tdp_w=700, infer_tdp_w=400, **A100, **dict(PAPER, mfu_decode=1.0))
    step_s = roof.params * 2 / 2e12
    assert roof.inference_gpu_hours == pytest.approx(1e12 / 8 * step_s / 3600, rel=1e-12)


def test_carbon_is_linear_in_intensity_and_the_least_carbon_model_depends_only_on_the_ratio():
    common = dict(PAPER, objective="co2", train_tdp_w=700, infer_tdp_w=400)
    one = lifetime_optimal(2.0, 1e13, 1e13, train_g_per_kwh=400, infer_g_per_kwh=100, **common)
    three = lifetime_optimal(2.0, 1e13, 1e13, train_g_per_kwh=1200, infer_g_per_kwh=300, **common)
    assert three.params == pytest.approx(one.params, rel=1e-12)
    assert three.co2_kg == pytest.approx(3 * one.co2_kg, rel=1e-12)
    assert one.co2_kg == pytest.approx(one.train_gpu_hours * 0.7 * 0.4 + one.inference_gpu_hours * 0.4 * 0.1,
                                       rel=1e-12)
    # Cleaner serving than training: the least-carbon model serves more and trains less than the least-energy one.
    energy = lifetime_optimal(2.0, 1e13, 1e13, **dict(common, objective="kwh"))
    assert one.params > energy.params


@pytest.mark.parametrize("serving", [dict(), dict(serving="roofline", batch=64, tpot_target_s=0.02, max_gpus=1,
                                                input_tokens_per_request=1000, output_tokens_per_request=250, **A100)])
def test_side_by_side_each_optimum_is_best_at_its_own_objective(serving):
    common = dict(PAPER, train_tdp_w=700, infer_tdp_w=300, train_g_per_kwh=500, infer_g_per_kwh=50, **serving)
    optima = {o: lifetime_optimal(2.0, 1e13, 1e13, objective=o, **common) for o in ("usd", "kwh", "co2")}
    for own, field in (("usd", "usd"), ("kwh", "kwh"), ("co2", "co2_kg")):
        for other in optima.values():
            assert getattr(optima[own], field) <= getattr(other, field) * (1 + 1e-12)


# ----------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(objective="co2", train_tdp_w=700, infer_tdp_w=400, train_g_per_kwh=400, infer_g_per_kwh=-1),
     r"infer_g_per_kwh = -1 is not allowed: must be a grid carbon intensity"),
    (dict(unique_tokens=0), r"unique_tokens = 0 is not allowed"),
    (dict(objective="kwh", train_tdp_w=700), r"infer_tdp_w is missing: objective 'kwh' needs a power in W > 0 \(the "
                                             r"accelerator has no published TDP: type one\)"),
    (dict(objective="watts"), r"objective = 'watts' is not allowed: must be one of usd, kwh, co2"),
    (dict(serving="roofline", infer_mem_bw_tbs=2, infer_memory_gb=80), r"batch = inf is not allowed: give a batch"),
    (dict(train_pue=0.9), r"train_pue = 0.9 is not allowed: must be a power usage effectiveness >= 1"),
])
def test_bad_input_names_the_argument(kwargs, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        lifetime_optimal(2.0, 1e13, 1e13, **dict(PAPER, **kwargs))


def test_bad_elements_of_an_array_are_nan_with_their_reason():
    with xlcalc.invalid_reasons() as reasons:
        got = lifetime_optimal([2.0, 2.0, 2.1], 1e13, 1e13, unique_tokens=[1e12, 0, 1e9], **PAPER)
    assert np.isfinite(got.params[0]) and np.isnan(got.params[1]) and np.isnan(got.params[2])
    assert "unique_tokens = 0" in reasons.reasons[1]
    assert "lowest reachable loss" in reasons.reasons[2]


# ----------------------------------------------------------------------------------------------
# FLOPs: the compute-optimal and Chinchilla models, with and without a data cap


def test_flops_objective_is_compute_optimal_and_chinchilla():
    opt = lifetime_optimal(1.947, 1.5e12, 0.5e12, objective="flops", **PAPER)
    ref = compute_optimal(1.947, 2e12)
    assert opt.params == pytest.approx(ref.params, rel=1e-12) and opt.value == pytest.approx(ref.flops, rel=1e-12)
    chin = lifetime_optimal(1.947, 0, 0, objective="flops", **PAPER)
    assert chin.params == pytest.approx(xlcalc.chinchilla_for_loss(1.947).params, rel=1e-9)


def test_data_constrained_chinchilla_beats_a_dense_search():
    unique = 3e11
    opt = lifetime_optimal(2.0, 0, 0, objective="flops", unique_tokens=unique, **PAPER)
    E, A, B, a, b = xlcalc.get_fit("chinchilla").constants
    c = 2.0 - E
    lo, hi = math.log(B / c) / b, math.log(unique * (1 + R_D_STAR))
    x = lo + (hi - lo) * np.linspace(1e-9, 1 - 1e-12, 100_000)
    n = (A / (c - B * np.exp(-b * x))) ** (1 / a)
    flops = 6 * n * _tokens_of_effective(np.exp(x), unique)
    assert opt.value <= flops.min() * (1 + 1e-12) and flops.min() <= opt.value * (1 + 1e-6)
    assert opt.data_binds == 1 and opt.params > xlcalc.chinchilla_for_loss(2.0).params


def test_flops_needs_fixed_mfu():
    with pytest.raises(InvalidInputError, match="objective = 'flops' is not allowed: 'flops' counts 6ND"):
        lifetime_optimal(2.0, 1e12, 1e12, objective="flops", serving="roofline", batch=8, **dict(PAPER, **A100))


def test_the_figures_of_the_flops_optimum_use_the_decode_mfu_given():
    flops = lifetime_optimal(1.947, 1e13, 2.5e12, objective="flops", **PAPER)
    usd = lifetime_optimal(1.947, 1e13, 2.5e12, **PAPER)
    n = flops.params
    assert flops.inference_gpu_hours == pytest.approx((2 * n * 1e13 / (624e12 * 0.4) + 2 * n * 2.5e12 / (624e12 * 0.2))
                                                      / 3600, rel=1e-12)
    assert usd.usd <= flops.usd
