"""Uncertain fits, ranges of inputs and the tornado (xlcalc.core.uncertainty, xlcalc.core.sensitivity)."""

import numpy as np
import pytest

from coverage_runs import coverage
from synthetic_runs import spread_runs
from xlcalc import (
    InvalidInputError,
    Range,
    UncertainFit,
    budget_optimal,
    budget_optimal_range,
    compute_optimal,
    compute_optimal_range,
    cost_optimal,
    cost_optimal_per_request,
    cost_optimal_range,
    cost_sensitivity,
    get_fit,
    uncertain_fit,
)
from xlcalc.core.fitting import fit_scaling_law
from xlcalc.core.laws import Fit
from xlcalc.core.uncertainty import PUBLISHED_STANDARD_ERRORS

PRICES = dict(train_usd_per_hour=1.4, train_peak_tflops=312, infer_usd_per_hour=0.6, infer_peak_tflops=624,
              mfu_prefill=0.4, mfu_decode=0.2)


class TestUncertainFit:
    def test_from_bootstrap_keeps_every_resample(self):
        n, d, losses = spread_runs(40, seed=3, noise=0.02)
        result = fit_scaling_law(n, d, losses, bootstrap=12, seed=1)
        fit = UncertainFit.from_bootstrap(result)
        assert fit.samples.shape == (12, 5)
        assert fit.constants == pytest.approx(result.constants, rel=0, abs=0)

    @pytest.mark.parametrize("resamples", [0, 1])
    def test_bootstrap_of_0_or_1_is_an_error(self, resamples):
        n, d, losses = spread_runs(40, seed=3, noise=0.02)
        result = fit_scaling_law(n, d, losses, bootstrap=resamples, seed=1)
        with pytest.raises(InvalidInputError, match="bootstrap"):
            UncertainFit.from_bootstrap(result)

    def test_epoch_published_errors(self):
        fit = uncertain_fit("epoch2024", samples=20000, seed=5)
        median = np.median(fit.samples, axis=0)
        assert median == pytest.approx(get_fit("epoch2024").constants, rel=0.02)
        spread = fit.samples.std(axis=0)
        assert spread[[0, 3, 4]] == pytest.approx(np.array(PUBLISHED_STANDARD_ERRORS["epoch2024"])[[0, 3, 4]], rel=0.03)
        # A, B log-normal with the sd of ln A and ln B over the authors' bootstrap (data_analysis.ipynb)
        assert np.log(fit.samples[:, 1]).std() == pytest.approx(0.258, rel=0.03)
        assert np.log(fit.samples[:, 2]).std() == pytest.approx(0.421, rel=0.03)

    def test_epoch_errors_are_the_authors_bootstrap_figures(self):
        # epoch-research/analyzing-chinchilla, data_analysis.ipynb, "Parameter estimates and their standard errors"
        assert PUBLISHED_STANDARD_ERRORS["epoch2024"] == (0.02566, 124.52232, 1293.28410, 0.01540, 0.02060)

    def test_fit_without_published_errors_is_refused(self):
        with pytest.raises(InvalidInputError, match="no published uncertainty"):
            uncertain_fit("chinchilla")

    def test_seed_reproduces(self):
        a = uncertain_fit("epoch2024", samples=50, seed=3).samples
        assert np.array_equal(a, uncertain_fit("epoch2024", samples=50, seed=3).samples)
        assert not np.array_equal(a, uncertain_fit("epoch2024", samples=50, seed=4).samples)


class TestPropagation:
    def test_collapsed_range_is_exactly_the_point_answer(self):
        point = cost_optimal(1.947, 1e13, 2.5e12, **PRICES)
        ranged = cost_optimal_range(Range(1.947, 1.947, 1.947), (1e13, 1e13, 1e13), 2.5e12,
                                    **{**PRICES, "train_usd_per_hour": (1.4, 1.4, 1.4)}, samples=100)
        for name in ("params", "tokens", "usd", "saving"):
            assert set(ranged.interval(name)) == {float(getattr(point, name))}
        compute = compute_optimal(np.array([1.9, 2.0]), 2e12)
        ranged = compute_optimal_range(np.array([1.9, 2.0]), (2e12, 2e12, 2e12))
        assert np.array_equal(ranged.outputs["params"], np.vstack([compute.params] * 3))

    def test_samples_equal_a_loop_over_point_fits(self):
        fit = uncertain_fit("epoch2024", samples=40, seed=2)
        result = cost_optimal_range(2.1, 1e13, 2.5e12, **PRICES, fit=fit, samples=40, percentiles=[0, 50, 100])
        loop = [cost_optimal(2.1, 1e13, 2.5e12, **PRICES, fit=Fit(*row)).params for row in fit.samples]
        assert result.interval("params") == pytest.approx(
            (min(loop), np.median(loop), max(loop)), rel=1e-12)

    def test_intervals_are_ordered_and_widen_with_range(self):
        narrow = cost_optimal_range(2.0, 1e13, 2.5e12, **{**PRICES, "infer_usd_per_hour": (0.55, 0.6, 0.65)})
        wide = cost_optimal_range(2.0, 1e13, 2.5e12, **{**PRICES, "infer_usd_per_hour": (0.3, 0.6, 1.2)})
        for r in (narrow, wide):
            for name, rows in r.outputs.items():
                assert rows[0] <= rows[1] <= rows[2], name
        assert wide.interval("usd")[2] - wide.interval("usd")[0] > narrow.interval("usd")[2] - narrow.interval("usd")[0]

    def test_scenarios_broadcast_against_samples(self):
        result = compute_optimal_range(np.linspace(2.0, 2.2, 7), 1e12, fit=uncertain_fit("epoch2024", samples=30))
        assert result.outputs["params"].shape == (3, 7)
        assert np.all(np.diff(result.outputs["params"][1]) < 0)  # a higher loss needs a smaller model

    def test_bad_samples_are_reported_and_excluded(self):
        good = uncertain_fit("epoch2024", samples=10, seed=1).samples
        bad = good.copy()
        bad[2, 3] = -0.1   # a resample with a negative exponent
        bad[5, 0] = 2.5    # E above the loss
        result = compute_optimal_range(2.1, 1e12, fit=UncertainFit(get_fit("epoch2024"), bad), samples=10)
        assert result.excluded == 2
        assert result.reasons == {"alpha <= 0 or not finite": 1, "loss at or below the sample's E": 1}
        clean = compute_optimal_range(2.1, 1e12, fit=UncertainFit(get_fit("epoch2024"), np.delete(good, [2, 5], 0)),
                                      samples=8, percentiles=[0, 100])
        kept = compute_optimal_range(2.1, 1e12, fit=UncertainFit(get_fit("epoch2024"), bad), samples=10,
                                     percentiles=[0, 100])
        assert kept.interval("params") == clean.interval("params")
        assert all(np.isfinite(kept.interval("params")))

    def test_no_valid_sample_is_an_error(self):
        samples = np.tile(get_fit("epoch2024").constants, (4, 1))
        samples[:, 4] = -1
        with pytest.raises(InvalidInputError, match="no valid sample.*beta <= 0"):
            compute_optimal_range(2.1, 1e12, fit=UncertainFit(get_fit("epoch2024"), samples), samples=4)

    @pytest.mark.parametrize("bad, match", [
        (dict(loss=(2.0, 1.95, 2.1)), "low <= base <= high"),
        (dict(loss=(1.5, 1.8, 2.1)), "loss = 1.5 is not allowed"),
        (dict(samples=1), "samples = 1 is not allowed"),
        (dict(percentiles=(10, 120)), "percentiles"),
    ])
    def test_bad_input(self, bad, match):
        args = {"loss": 1.9, "inference_tokens": 1e12, **bad}
        with pytest.raises(InvalidInputError, match=match):
            compute_optimal_range(**args)

    def test_one_sample_row_is_refused(self):
        with pytest.raises(InvalidInputError, match="at least 2"):
            UncertainFit(get_fit("epoch2024"), [get_fit("epoch2024").constants])

    def test_seeded(self):
        args = dict(loss=(1.9, 2.0, 2.1), inference_tokens=(1e11, 1e12, 1e13), samples=50)
        assert compute_optimal_range(**args, seed=1).outputs["params"].tolist() == \
            compute_optimal_range(**args, seed=1).outputs["params"].tolist()

    def test_breakeven_pays_back_the_extra_training(self):
        result = cost_optimal_range(1.947, 1e13, 2.5e12, **PRICES, percentiles=[50])
        opt = cost_optimal(1.947, 1e13, 2.5e12, **PRICES)
        t = result.interval("breakeven_tokens")[0]
        served = 1e13 + 2.5e12
        # at t tokens served (same input/output mix), the optimum's lifetime $ equals the Chinchilla model's
        infer_per_param = (opt.inference_usd / opt.params) * t / served
        k = opt.train_usd / (6 * opt.params * opt.tokens)
        mine = opt.train_usd + opt.params * infer_per_param
        theirs = 6 * k * opt.chinchilla.params * opt.chinchilla.tokens + opt.chinchilla.params * infer_per_param
        assert mine == pytest.approx(theirs, rel=1e-9)
        assert result.interval("usd_per_mtok")[0] == pytest.approx(opt.usd / served * 1e6, rel=1e-12)


class TestPerRequestDemand:
    DEMAND = dict(requests=1e10, input_tokens_per_request=1000, output_tokens_per_request=250)

    def test_collapsed_range_is_exactly_the_point_answer(self):
        point = cost_optimal_per_request(1.947, **self.DEMAND, **PRICES)
        ranged = cost_optimal_range(1.947, requests=(1e10, 1e10, 1e10), input_tokens_per_request=(1000, 1000, 1000),
                                    output_tokens_per_request=Range(250, 250, 250), **PRICES, samples=50)
        for name in ("params", "tokens", "usd", "saving"):
            assert set(ranged.interval(name)) == {float(getattr(point, name))}, name

    def test_requests_drawn_as_a_range_equal_a_loop_over_the_draws(self):
        requests = Range(5e9, 1e10, 3e10)
        result = cost_optimal_range(1.947, requests=requests, input_tokens_per_request=1000,
                                    output_tokens_per_request=250, **PRICES, samples=60, seed=7, percentiles=[0, 50, 100])
        draws = requests.draw(60, np.random.default_rng(7))
        loop = cost_optimal_per_request(1.947, draws, 1000, 250, **PRICES).usd
        assert result.interval("usd") == pytest.approx((loop.min(), np.median(loop), loop.max()), rel=1e-12)
        low, median, high = result.interval("params")
        assert low < median < high

    def test_tokens_per_request_as_ranges_widen_the_interval(self):
        narrow = cost_optimal_range(1.947, **self.DEMAND, **PRICES)
        wide = cost_optimal_range(1.947, requests=1e10, input_tokens_per_request=(500, 1000, 2000),
                                  output_tokens_per_request=(100, 250, 600), **PRICES)
        assert narrow.interval("usd")[0] == narrow.interval("usd")[2]
        assert wide.interval("usd")[0] < narrow.interval("usd")[1] < wide.interval("usd")[2]

    @pytest.mark.parametrize("demand, match", [
        (dict(input_tokens=1e13, requests=1e10), "not a mix"),
        (dict(requests=1e10, input_tokens_per_request=1000), "not a mix"),
        (dict(requests=(-1e9, 1e10, 2e10), input_tokens_per_request=1000, output_tokens_per_request=250),
         "requests = -1e\\+09 is not allowed"),
        (dict(requests=(2e10, 1e10, 3e10), input_tokens_per_request=1000, output_tokens_per_request=250),
         "requests: range low"),
    ])
    def test_bad_demand(self, demand, match):
        with pytest.raises(InvalidInputError, match=match):
            cost_optimal_range(1.947, **demand, **PRICES)


class TestBudgetRange:
    def test_collapsed_range_is_exactly_the_point_answer(self):
        point = budget_optimal(1e24, 2e12)
        ranged = budget_optimal_range(Range(1e24, 1e24, 1e24), (2e12, 2e12, 2e12), samples=20)
        for name in ("params", "tokens", "loss", "train_flops", "inference_flops"):
            assert set(ranged.interval(name)) == {float(getattr(point, name))}, name
        assert set(ranged.interval("chinchilla_loss")) == {float(point.chinchilla.loss)}
        scenarios = budget_optimal(np.array([1e23, 1e24]), 2e12, fit="epoch2024")
        ranged = budget_optimal_range(np.array([1e23, 1e24]), (2e12, 2e12, 2e12), fit="epoch2024")
        assert np.array_equal(ranged.outputs["params"], np.vstack([scenarios.params] * 3))

    def test_samples_equal_a_loop_over_point_fits(self):
        fit = uncertain_fit("epoch2024", samples=40, seed=2)
        result = budget_optimal_range(1e24, 2e12, fit=fit, samples=40, percentiles=[0, 50, 100])
        for name in ("params", "loss"):
            loop = [getattr(budget_optimal(1e24, 2e12, fit=Fit(*row)), name) for row in fit.samples]
            assert result.interval(name) == pytest.approx((min(loop), np.median(loop), max(loop)), rel=1e-12), name
        loop = [budget_optimal(1e24, 2e12, fit=Fit(*row)).chinchilla.loss for row in fit.samples]
        assert result.interval("chinchilla_loss")[1] == pytest.approx(np.median(loop), rel=1e-12)

    def test_interval_holds_the_median(self):
        result = budget_optimal_range((5e23, 1e24, 3e24), (1e12, 2e12, 8e12), fit=uncertain_fit("epoch2024",
                                                                                               samples=300))
        for name, (low, median, high) in ((k, result.interval(k)) for k in result.outputs):
            assert low < median < high, name
        assert result.excluded == 0
        assert np.all(result.outputs["loss"] < result.outputs["chinchilla_loss"])  # the point of the optimum

    def test_scenarios_broadcast_against_samples(self):
        result = budget_optimal_range(np.logspace(22, 25, 5), 1e12, fit=uncertain_fit("epoch2024", samples=30))
        assert result.outputs["params"].shape == (3, 5)
        assert np.all(np.diff(result.outputs["params"][1]) > 0)  # a bigger budget buys a bigger model

    def test_bad_samples_are_reported_and_excluded(self):
        bad = uncertain_fit("epoch2024", samples=10, seed=1).samples.copy()
        bad[4, 4] = -0.2  # a resample with a negative exponent
        result = budget_optimal_range(1e24, 2e12, fit=UncertainFit(get_fit("epoch2024"), bad), samples=10)
        assert result.excluded == 1 and result.reasons == {"beta <= 0 or not finite": 1}
        assert all(np.isfinite(result.interval("params")))

    @pytest.mark.parametrize("bad, match", [
        (dict(total_flops=(-1e23, 1e24, 2e24)), "total_flops = -1e\\+23 is not allowed"),
        (dict(inference_tokens=(-5.0, 1e12, 2e12)), "inference_tokens = -5 is not allowed"),
        (dict(total_flops=(2e24, 1e24, 3e24)), "low <= base <= high"),
        (dict(total_flops=1e10, inference_tokens=1e12), "total_flops"),
        (dict(samples=1), "samples = 1 is not allowed"),
        (dict(total_flops="lots"), "total_flops"),
    ])
    def test_bad_input(self, bad, match):
        args = {"total_flops": 1e24, "inference_tokens": 2e12, **bad}
        with pytest.raises(InvalidInputError, match=match):
            budget_optimal_range(**args)


class TestCoverage:
    def test_bootstrap_intervals_hold_the_truth_about_as_often_as_nominal(self):
        # 20 repetitions here (about 15 s); tests/coverage_runs.py 200 measures it with 200 (see README)
        shares = coverage(20)
        for name, share in shares.items():
            assert 0.5 <= share <= 1.0, (name, shares)


class TestSensitivity:
    def test_rows_are_point_answers_sorted_by_usd_swing(self):
        t = cost_sensitivity(1.947, 1e13, 2.5e12, **PRICES, ranges={"infer_usd_per_hour": (0.3, 1.2)})
        swings = [row.usd_swing for row in t.rows]
        assert swings == sorted(swings, reverse=True)
        row = next(r for r in t.rows if r.name == "infer_usd_per_hour")
        assert (row.low, row.high) == (0.3, 1.2)
        high = cost_optimal(1.947, 1e13, 2.5e12, **{**PRICES, "infer_usd_per_hour": 1.2})
        assert row.usd[1] == high.usd and row.params[1] == high.params and row.saving[1] == high.saving
        assert t.base["usd"] == cost_optimal(1.947, 1e13, 2.5e12, **PRICES).usd

    def test_default_swing_is_the_share(self):
        t = cost_sensitivity(1.947, 1e13, 2.5e12, **PRICES, share=0.1)
        row = next(r for r in t.rows if r.name == "train_usd_per_hour")
        assert (row.low, row.high) == pytest.approx((1.26, 1.54))
        loss = next(r for r in t.rows if r.name == "loss")
        assert (loss.low, loss.high) == pytest.approx((1.947 - 0.1 * (1.947 - 1.69), 1.947 + 0.1 * (1.947 - 1.69)))

    def test_collapsed_swing_moves_nothing(self):
        t = cost_sensitivity(1.947, 1e13, 2.5e12, **PRICES, share=0.0)
        assert all(row.usd == (t.base["usd"], t.base["usd"]) for row in t.rows)

    @pytest.mark.parametrize("ranges, match", [
        ({"infer_usd_per_hour": (1.0, 0.5)}, "low 1 > high 0.5"),
        ({"infer_usd_per_hour": (0.7, 0.9)}, "outside its range"),
        ({"loss": (1.5, 2.0)}, "loss low = 1.5 is not allowed"),
        ({"price": (1, 2)}, "not an input"),
    ])
    def test_bad_ranges(self, ranges, match):
        with pytest.raises(InvalidInputError, match=match):
            cost_sensitivity(1.947, 1e13, 2.5e12, **PRICES, ranges=ranges)
