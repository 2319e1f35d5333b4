"""The arrays lifetime_optimal returns without copying (Checked.finish(fresh=True)) and the reasons it makes only when
asked for (Checked.mark with a function or DeferredReasons): every output an array of its own, inputs untouched,
the same texts as made eagerly."""

import dataclasses
import itertools
import warnings

import numpy as np
import pytest

import xlcalc
from xlcalc._checks import Checked, DeferredReasons
from xlcalc._reasons import format_floats, format_value
from xlcalc.core.objectives import lifetime_optimal

HARDWARE = dict(train_peak_tflops=989.0, infer_peak_tflops=989.0, train_usd_per_hour=2.5, infer_usd_per_hour=2.5,
                train_tdp_w=700.0, infer_tdp_w=700.0, train_pue=1.2, infer_pue=1.2, train_g_per_kwh=400.0)
ROOFLINE = dict(serving="roofline", infer_mem_bw_tbs=3.35, infer_memory_gb=80.0, batch=64.0, mfu_decode=0.5,
                kv_bytes_per_param=1.6e-5, input_tokens_per_request=1000.0, output_tokens_per_request=250.0,
                tpot_target_s=0.03)


def _scenarios(count, seed=5):
    """Losses of models from 1e8 to 1e12 params; a quarter of Chinchilla's tokens as the unique-data cap (so that
    with the roofline and a latency target some scenarios have no servable model)."""
    rng = np.random.default_rng(seed)
    sizes = 10 ** rng.uniform(8, 12, count)
    losses = xlcalc.loss(sizes, xlcalc.chinchilla_tokens(sizes))
    inputs, outputs = 10 ** rng.uniform(8, 15, count), 10 ** rng.uniform(8, 15, count)
    return losses, inputs, outputs, xlcalc.chinchilla_tokens(sizes) / 4, rng.uniform(20, 600, count)


def _figures(result):
    """The 20 figures of a LifetimeOptimum, its references' included, by name."""
    out = {}
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        if dataclasses.is_dataclass(value):
            out.update({f"{field.name}.{inner.name}": getattr(value, inner.name) for inner in dataclasses.fields(value)})
        else:
            out[field.name] = value
    return out


CASES = {
    "fixed MFU (the optimum is both references)": dict(objective="usd"),
    "fixed MFU, data cap": dict(objective="kwh", capped=True),
    "roofline": dict(objective="usd", **ROOFLINE),
    "roofline, data cap, unservable scenarios": dict(objective="co2", capped=True, **ROOFLINE),
    "flops": dict(objective="flops"),
}


class TestOutputsAreArraysOfTheirOwn:
    @pytest.mark.parametrize("case", CASES)
    @pytest.mark.parametrize("bad_inputs", [False, True])
    def test_no_output_shares_memory_with_another_or_an_input(self, case, bad_inputs):
        losses, inputs, outputs, cap, intensity = _scenarios(300)
        if bad_inputs:
            losses[::7] = -1.0
        kwargs = dict(CASES[case])
        if kwargs.pop("capped", False):
            kwargs["unique_tokens"] = cap
        given = dict(loss=losses, input_tokens=inputs, output_tokens=outputs, infer_g_per_kwh=intensity)
        before = {name: a.copy() for name, a in given.items()}
        with xlcalc.invalid_reasons() as why:
            result = lifetime_optimal(**given, **HARDWARE, **kwargs)
        figures = _figures(result)
        if "unservable" in case:
            assert any("no model reaching loss" in r for r in why.reasons)
        assert all(isinstance(a, np.ndarray) and a.shape == (300,) and a.dtype == np.float64 for a in figures.values())
        for (name_a, a), (name_b, b) in itertools.combinations(list(figures.items()) + list(given.items()), 2):
            assert not np.shares_memory(a, b), (name_a, name_b)
        # writing into one output changes no other output and no input
        copies = {name: a.copy() for name, a in figures.items()}
        for name, a in figures.items():
            a[...] = 7.0
            for other, b in figures.items():
                if other != name:
                    np.testing.assert_array_equal(b, copies[other])
            a[...] = copies[name]
        for name, a in given.items():
            np.testing.assert_array_equal(a, before[name])

    def test_the_same_digits_as_the_scenarios_solved_apart(self):
        """Unservable scenarios stay in place (NaN) instead of being removed before finishing: the others' figures
        are those of a call without them, and a bad input beside them changes nothing either."""
        losses, inputs, outputs, cap, intensity = _scenarios(400, seed=9)
        kwargs = dict(CASES["roofline, data cap, unservable scenarios"])
        del kwargs["capped"]

        def solve(keep, loss=losses):
            with xlcalc.invalid_reasons() as why:
                out = lifetime_optimal(loss[keep], inputs[keep], outputs[keep], unique_tokens=cap[keep],
                                       infer_g_per_kwh=intensity[keep], **HARDWARE, **kwargs)
            return _figures(out), why.reasons

        every = np.arange(400)
        whole, reasons = solve(every)
        failed = np.array(["no model reaching" in r for r in reasons])
        assert 5 < failed.sum() < 200
        servable, _ = solve(every[~failed])
        broken = losses.copy()
        broken[every % 5 == 0] = np.nan
        mixed, mixed_reasons = solve(every, broken)
        for name, figure in whole.items():
            assert np.isnan(figure[failed]).all()
            np.testing.assert_array_equal(figure[~failed], servable[name])
            np.testing.assert_array_equal(mixed[name][every % 5 != 0], figure[every % 5 != 0])
        assert list(mixed_reasons[every % 5 != 0]) == list(reasons[every % 5 != 0])

    def test_an_empty_call_gives_empty_arrays(self):
        """(It raised IndexError.)"""
        for kwargs in CASES.values():
            kwargs = {k: v for k, v in kwargs.items() if k != "capped"}
            result = lifetime_optimal(np.zeros(0), np.zeros(0), np.zeros(0), **HARDWARE, infer_g_per_kwh=100.0,
                                      **kwargs)
            assert all(a.shape == (0,) for a in _figures(result).values())


class TestFinishFresh:
    def test_a_fresh_result_is_returned_reshaped_without_a_copy(self):
        c = Checked(x=np.ones((2, 3)))
        fresh = np.arange(6.0)
        out = c.finish(fresh, fresh=True)
        assert out.shape == (2, 3) and np.shares_memory(out, fresh)
        np.testing.assert_array_equal(out, np.arange(6.0).reshape(2, 3))

    def test_copies_what_is_given_twice_an_argument_and_what_is_not_its_own(self):
        given = np.arange(1.0, 7.0)
        c = Checked(x=given)
        fresh = np.arange(6.0)
        view = np.arange(12.0)[::2]
        ints = np.arange(6)
        outs = c.finish(fresh, fresh, given, view, ints, fresh=True)
        assert np.shares_memory(outs[0], fresh)
        for out in outs[1:]:
            assert not any(np.shares_memory(out, a) for a in (fresh, given, view, ints))
            assert out.dtype == np.float64 and out.shape == (6,)
        for a, b in itertools.combinations(outs, 2):
            assert not np.shares_memory(a, b)
        np.testing.assert_array_equal(outs[4], np.arange(6.0))

    def test_nan_where_invalid_in_place_and_scalar_calls_unchanged(self):
        c = Checked(x=np.array([1.0, -1.0, 2.0]))
        c.positive("x")
        valid = c.valid("x")
        with xlcalc.invalid_reasons():
            out = c.finish(valid * 2.0, fresh=True)   # over the valid elements only: scattered, a new array
        np.testing.assert_array_equal(out, [2.0, np.nan, 4.0])
        c = Checked(x=np.array([1.0, 2.0, 3.0]))
        c._valid_at_solve = c.ok   # every element solved, the second failed afterwards
        c.mark(np.array([False, True, False]), lambda index: "failed")
        fresh = np.array([1.0, 0.0, 3.0])
        with xlcalc.invalid_reasons() as why:
            out = c.finish(fresh, fresh=True)
        assert np.shares_memory(out, fresh)
        np.testing.assert_array_equal(out, [1.0, np.nan, 3.0])
        assert list(why.reasons) == ["", "failed", ""]
        assert Checked(x=2.0).finish(np.array([3.0]), fresh=True) == 3.0
        assert type(Checked(x=np.array(2.0)).finish(np.array([3.0]), fresh=True)) is float


class TestReasonsOnDemand:
    def _marked(self, shape, marks):
        """A Checked of ``shape`` with ``marks`` (mask, kind) applied; the texts expected, made eagerly."""
        c = Checked(x=np.zeros(shape))
        expected = np.full(shape, "", dtype=object)
        calls = []
        for step, (mask, kind) in enumerate(marks):
            texts = np.array([f"{kind} {step} at {i}" for i in np.flatnonzero(mask)], dtype=object)
            for flat, text in zip(np.flatnonzero(mask), texts):
                expected.reshape(-1)[flat] = text
            if kind == "array":
                c.mark(mask, texts)
            elif kind == "function":
                def reason_of(index, step=step):
                    calls.append(index)
                    return f"function {step} at {np.ravel_multi_index(index, shape)}"
                c.mark(mask, reason_of)
            else:
                def made(ranks, step=step, positions=np.flatnonzero(mask)):
                    calls.extend(ranks.tolist())
                    return [f"deferred {step} at {positions[r]}" for r in ranks]
                c.mark(mask, DeferredReasons(made))
        return c, expected, calls

    @pytest.mark.parametrize("seed", range(6))
    def test_the_same_texts_as_made_at_once_whatever_the_order_of_the_marks(self, seed):
        rng = np.random.default_rng(seed)
        shape = (5, 7)
        marks = [(rng.random(shape) < 0.3, kind) for kind in rng.choice(["array", "function", "deferred"], 5)]
        c, expected, _ = self._marked(shape, marks)
        with xlcalc.invalid_reasons() as why:
            c.finish(np.zeros(int((~c.bad).sum())))
        assert why.reasons.tolist() == expected.tolist()
        c, expected, _ = self._marked(shape, marks)
        with pytest.warns(xlcalc.InvalidInputWarning) as caught:
            c.finish(np.zeros(int((~c.bad).sum())))
        first = expected.reshape(-1)[np.argmax(c.bad.reshape(-1))]
        assert f"first: {first}. " in str(caught[0].message)

    def test_the_warning_makes_only_the_first_text(self):
        mask = np.zeros(1000, dtype=bool)
        mask[10:] = True
        for kind in ("function", "deferred"):
            c, _, calls = self._marked(1000, [(mask, kind)])
            with pytest.warns(xlcalc.InvalidInputWarning, match="first: .* 0 at 10. "):
                c.finish(np.zeros(10))
            assert len(calls) == 1

    def test_lifetime_optimal_warns_with_the_first_unservable_text(self):
        losses, inputs, outputs, cap, intensity = _scenarios(300)
        kwargs = dict(CASES["roofline, data cap, unservable scenarios"], unique_tokens=cap)
        del kwargs["capped"]
        with xlcalc.invalid_reasons() as why:
            lifetime_optimal(losses, inputs, outputs, infer_g_per_kwh=intensity, **HARDWARE, **kwargs)
        texts = [r for r in why.reasons if r]
        assert texts and all(r.startswith("no model reaching loss = ") for r in texts)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lifetime_optimal(losses, inputs, outputs, infer_g_per_kwh=intensity, **HARDWARE, **kwargs)
        assert [str(w.message) for w in caught] == [
            f"{len(texts)} of 300 elements are invalid and came back as NaN; first: {texts[0]}. "
            "Use xlcalc.invalid_reasons() to get the reason for each."]


def test_format_floats_is_format_value_of_each():
    rng = np.random.default_rng(3)
    values = np.concatenate([[0.0, -0.0, np.nan, np.inf, -np.inf, 1e308, 5e-324, 123456.5, 1234565.0],
                             10 ** rng.uniform(-300, 300, 2000) * rng.choice([-1, 1], 2000)])
    assert format_floats(values) == [format_value(v) for v in values]
