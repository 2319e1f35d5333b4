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

    Two things make it so, each measured here on 16,384 capped scenarios (one chunk: one call of the slopes
    a step, so the slowest row decides how many calls the chunk makes):
    - the steps are Newton's on G = ln P - ln Q with F' = P - Q, P = a_t N D d and Q = -l N (a_t D + s a_t),
      positive everywhere; with P = a_t N D (l + d) (an earlier split) ln P had a pole where l + d = 0, next to
      the minimum when serving costs little, and such rows took up to 27 steps;
    - the start is xlcalc.core._capped_start's table (within ~3e-3 of the minimum in ln D'), not the uncapped
      optimum's D'(D) (0.1-0.2 away): 3.2 evaluations a capped row instead of 5.1 (and none at the kink ln U);
    - a row stops once the step after it would be below the tolerance (_newton's SETTLE): 2.3 instead of 3.2."""
    from xlcalc.core import _objective_kernels as kernels
    rng = np.random.default_rng(7)
    sizes = 10 ** rng.uniform(6, 13, 16384)
    loss = xlcalc.loss(sizes, xlcalc.chinchilla_tokens(sizes))
    steps = []
    slopes = kernels._slopes

    def counted(f, k, x, branch=None, second=True):
        steps.append(x.size if second else np.nan)   # F' alone (a kink, a bracket end) counts as a failure
        return slopes(f, k, x, branch, second)

    monkeypatch.setattr(kernels, "_slopes", counted)
    with xlcalc.invalid_reasons():   # a cap too small for the loss: invalid, with its reason
        out = lifetime_optimal(loss, 10 ** rng.uniform(6, 16, sizes.size), 10 ** rng.uniform(6, 16, sizes.size),
                               train_peak_tflops=989.0, infer_peak_tflops=989.0, train_usd_per_hour=2.5,
                               infer_usd_per_hour=2.5, mfu_decode=rng.uniform(0.005, 0.6, sizes.size),
                               unique_tokens=xlcalc.chinchilla_tokens(sizes) * 10 ** rng.uniform(-3, 0.3, sizes.size))
    capped = np.count_nonzero(out.data_binds == 1.0)
    assert capped > 10_000 and np.all(np.isfinite(out.value[out.data_binds == 1.0]))
    assert len(steps) <= 6, steps
    assert sum(steps) <= 2.6 * capped, sum(steps) / capped   # evaluations a capped row (5.1 from D'(D))


@pytest.mark.parametrize("serving", ["fixed_mfu", "roofline"])
def test_stopping_a_step_early_loses_no_digits(monkeypatch, serving):
    """A row that stops because its next step would be below the tolerance (_newton's SETTLE) lands where one
    that waits for a step within the tolerance does, to an ulp or two of ln D' (the minimum's own rounding)."""
    from xlcalc.core import _objective_kernels as kernels
    rng = np.random.default_rng(11)
    chosen = [dict(sc, serving=serving) for sc in _scenarios(rng, 3000) if np.isfinite(sc["unique_tokens"])]
    arrays = {k: np.array([sc[k] for sc in chosen]) for k in chosen[0] if k != "serving"}
    with xlcalc.invalid_reasons():
        early = lifetime_optimal(**arrays, serving=serving)
        monkeypatch.setattr(kernels, "SETTLE", 0.0)   # s^3 <= 0: only a step within the tolerance stops a row
        late = lifetime_optimal(**arrays, serving=serving)
    ok = np.isfinite(late.value)
    assert ok.sum() > 0.5 * len(chosen) and np.array_equal(ok, np.isfinite(early.value))
    x_early, x_late = np.log(early.effective_tokens[ok]), np.log(late.effective_tokens[ok])
    assert np.mean(x_early != x_late) > 0.05   # the rule did stop rows early
    assert np.max(np.abs(x_early - x_late) / np.spacing(x_late)) <= 4
    # F at those x: D(x) is ill-conditioned near the cap (d ln D / d ln D' ~ 1e3), so F's last digits follow x's ulp
    np.testing.assert_allclose(early.value[ok], late.value[ok], rtol=1e-12, atol=0)
