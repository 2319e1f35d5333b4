"""The fast solver of the lifetime optima (xlcalc.core._objective_kernels) against the reference piece-by-piece solver."""

import numpy as np
import pytest

import xlcalc
from xlcalc.core import _objective_solve
from xlcalc.core.objectives import lifetime_optimal

from test_objectives import _scenarios


def _solve(monkeypatch, solver, arrays, objective, mode):
    monkeypatch.setattr(_objective_solve, "SOLVER", solver)
    with xlcalc.invalid_reasons() as reasons:
        out = lifetime_optimal(**arrays, objective=objective, serving=mode)
    return out, list(reasons.reasons)


def _same_minimum(fast, reference):
    """Never above the reference by more than rounding (at a kink F is not flat, so an x an ulp away moves
    F by ~1e-13), below it by at most 1e-11 (where the root sits at a kink of F' the reference's bisection
    stops a little short of it; the fast solver lands on the kink)."""
    excess = fast / reference - 1.0
    assert excess.max() <= 1e-12 and excess.min() >= -1e-11, (excess.max(), excess.min())
    assert np.mean(np.abs(excess) <= 1e-12) > 0.995


@pytest.mark.parametrize("objective", ["usd", "kwh", "co2"])
@pytest.mark.parametrize("mode", ["fixed_mfu", "roofline"])
def test_fast_solver_equals_the_reference(monkeypatch, objective, mode):
    rng = np.random.default_rng({"usd": 11, "kwh": 12, "co2": 13}[objective] + 10 * (mode == "roofline"))
    chosen = [dict(sc, serving=mode) for sc in _scenarios(rng, 3000)]
    if mode == "fixed_mfu":   # without a cap the fixed-MFU optimum is closed-form in both: test the capped ones
        chosen = [sc for sc in chosen if np.isfinite(sc["unique_tokens"])]
    arrays = {k: np.array([sc[k] for sc in chosen]) for k in chosen[0] if k != "serving"}
    fast, fast_reasons = _solve(monkeypatch, "fast", arrays, objective, mode)
    ref, ref_reasons = _solve(monkeypatch, "reference", arrays, objective, mode)
    assert fast_reasons == ref_reasons
    ok = ~np.isnan(ref.value)
    assert ok.sum() > 0.7 * len(chosen)
    assert np.array_equal(ok, ~np.isnan(fast.value))
    _same_minimum(fast.value[ok], ref.value[ok])
    for name in ("usd", "kwh", "co2_kg"):
        a, b = getattr(fast, name)[ok], getattr(ref, name)[ok]
        assert np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True), name
    for ours, theirs in ((fast.fixed_mfu, ref.fixed_mfu), (fast.unlimited, ref.unlimited)):
        _same_minimum(ours.value[ok], theirs.value[ok])
    # the argmin where the objective is not flat to rounding around it
    assert np.allclose(fast.params[ok], ref.params[ok], rtol=1e-6)
    if mode == "roofline":
        assert np.mean(fast.gpus[ok] == ref.gpus[ok]) > 0.99
        assert np.mean(fast.binding[ok] == ref.binding[ok]) > 0.99


def test_capped_newton_takes_few_steps_on_every_row(monkeypatch):
    """The capped fixed-MFU Newton converges in a few steps on every row, also where serving costs little.

    Its steps are Newton's on G = ln P - ln Q with F' = P - Q; with P = a_t N D (l + d) (an earlier split) ln P
    has a pole where l + d = 0, next to the minimum when serving costs little, and those rows took up to 27
    steps (of one chunk of 16,384 rows like these, the slowest decides how many steps the chunk takes).
    P = a_t N D d and Q = -l N (a_t D + s a_t) are positive everywhere: at most 6 steps here."""
    from xlcalc.core import _objective_kernels as kernels
    rng = np.random.default_rng(2024)
    sizes = 10 ** rng.uniform(8, 12, 16384)
    loss = xlcalc.loss(sizes, xlcalc.chinchilla_tokens(sizes))
    steps = []
    slopes = kernels._slopes

    def counted(f, k, x, branch=None, second=True):
        if second:
            steps.append(x.size)
        return slopes(f, k, x, branch, second)

    monkeypatch.setattr(kernels, "_slopes", counted)
    out = lifetime_optimal(loss, 10 ** rng.uniform(8, 15, sizes.size), 10 ** rng.uniform(8, 15, sizes.size),
                           train_peak_tflops=989.0, infer_peak_tflops=989.0, train_usd_per_hour=2.5,
                           infer_usd_per_hour=2.5, mfu_decode=0.05, unique_tokens=xlcalc.chinchilla_tokens(sizes) / 4)
    assert np.all(out.data_binds == 1.0) and np.all(np.isfinite(out.value))
    assert steps[0] == sizes.size and len(steps) <= 6, steps   # one chunk: one call a step
    assert sum(steps) <= 5.5 * sizes.size, sum(steps) / sizes.size   # evaluations a row (was 6.6)
