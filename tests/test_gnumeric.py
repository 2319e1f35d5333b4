"""A second engine: Gnumeric (ssconvert --recalc) recalculates both workbooks in the scenarios the LibreOffice tests
use, and every out_ cell equals xlcalc's Python solver, with no error cell outside the chart-feed cells."""

import math

import openpyxl
import pytest

from xlcalc.workbooks import recalc
from xlcalc.workbooks.templates import deployment_cost_model as dcm
from xlcalc.workbooks.templates import lifetime_sizing as ls
from xlcalc.workbooks.check import agrees, read_price_rows

from test_deployment_cost_model import INVALID as DCM_INVALID
from test_deployment_cost_model import SCENARIOS as DCM_SCENARIOS
from test_deployment_cost_model import curve_mismatches, write_scenario
from test_lifetime_sizing import INVALID as LS_INVALID
from test_lifetime_sizing import SCENARIOS as LS_SCENARIOS
from test_lifetime_sizing import scenario_inputs, write_scenarios
from workbook_views import errors_outside_chart_feeds

REL = 1e-9

#: Gnumeric writes no default cell style; openpyxl says so when reading its files.
pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")
DOUBLE_EPS = 2.0 ** -52


def lifetime_tolerance(inputs: dict) -> float:
    """1e-9, or more where the outputs amplify a last-digit difference in the typed loss.

    Gnumeric reads a typed decimal in extended precision, so its loss can differ from the double LibreOffice and
    Python use by half an ulp; the optima depend on (loss - E)^(-1/alpha) and (loss - E)^(-1/beta), which turn a
    relative change e of the loss into loss / (loss - E) / min(alpha, beta) x e. Eight ulps of that, or 1e-9.
    """
    try:
        fit = ls.fit_from_inputs(inputs)
        loss = float(inputs["in_loss"])
    except (ValueError, TypeError, KeyError):  # an unusable fit: the scenario is an invalid one
        return REL
    if not loss > fit.E:
        return REL
    condition = loss / (loss - fit.E) / min(fit.alpha, fit.beta)
    return max(REL, 8 * DOUBLE_EPS * condition)


@pytest.fixture(scope="module")
def gnumeric_lifetime(tmp_path_factory):
    if recalc.ssconvert_path() is None:
        pytest.skip(f"Gnumeric is not installed: {recalc.GNUMERIC_INSTALL_HINT}")
    template = tmp_path_factory.mktemp("ls_template") / "template.xlsx"
    ls.build().save(template)
    paths = write_scenarios(template, tmp_path_factory.mktemp("ls_scenarios"))
    done = recalc.recalculate_gnumeric(list(paths.values()), tmp_path_factory.mktemp("ls_gnumeric"))
    return dict(zip(paths, done))


@pytest.fixture(scope="module")
def gnumeric_deployment(tmp_path_factory):
    if recalc.ssconvert_path() is None:
        pytest.skip(f"Gnumeric is not installed: {recalc.GNUMERIC_INSTALL_HINT}")
    source = tmp_path_factory.mktemp("dcm_scenarios")
    scenarios = DCM_SCENARIOS | {name: (changes, []) for name, (changes, _) in DCM_INVALID.items()}
    paths = [write_scenario(source, name, inputs, rows) for name, (inputs, rows) in scenarios.items()]
    done = recalc.recalculate_gnumeric(paths, tmp_path_factory.mktemp("dcm_gnumeric"))
    return dict(zip(scenarios, done))


class TestLifetimeSizingInGnumeric:
    @pytest.mark.parametrize("scenario", LS_SCENARIOS)
    def test_every_out_cell_equals_the_solver(self, gnumeric_lifetime, scenario):
        path = gnumeric_lifetime[scenario]
        names = recalc.read_names(path)
        inputs = {k: v for k, v in names.items() if k.startswith("in_")}
        typed = scenario_inputs(scenario)
        exact = {k for k, v in typed.items() if not isinstance(v, (int, float))}  # text and empty cells
        assert {k: inputs[k] for k in exact} == {k: typed[k] for k in exact}
        assert {k: v for k, v in inputs.items() if k not in exact} == pytest.approx(
            {k: v for k, v in typed.items() if k not in exact}, rel=1e-14)
        expected = ls.expected_outputs(inputs, prices=read_price_rows(openpyxl.load_workbook(path)))
        outputs = {k: v for k, v in names.items() if k.startswith("out_")}
        assert set(outputs) == set(expected)
        tolerance = lifetime_tolerance(inputs)
        wrong = {k: (outputs[k], v) for k, v in expected.items() if not agrees(outputs[k], v, tolerance)}
        assert wrong == {}

    def test_the_tolerance_is_loosened_only_where_the_inputs_are_ill_conditioned(self):
        loosened = {name for name in LS_SCENARIOS if lifetime_tolerance(scenario_inputs(name)) > REL}
        assert loosened == {"loss_near_E"}
        assert lifetime_tolerance(scenario_inputs("loss_near_E")) < 1e-7

    @pytest.mark.parametrize("scenario", LS_INVALID)
    def test_unusable_inputs_are_named_as_in_libreoffice(self, gnumeric_lifetime, scenario):
        names = recalc.read_names(gnumeric_lifetime[scenario], ("out_", ls.STATUS))
        assert names[ls.STATUS] == LS_INVALID[scenario][1]
        assert {v for k, v in names.items() if k.startswith("out_")} == {ls.NOT_USABLE}

    @pytest.mark.parametrize("scenario", [*LS_SCENARIOS, *LS_INVALID])
    def test_no_error_cells(self, gnumeric_lifetime, scenario):
        assert errors_outside_chart_feeds(gnumeric_lifetime[scenario]) == []


class TestDeploymentCostModelInGnumeric:
    @pytest.mark.parametrize("scenario", DCM_SCENARIOS)
    def test_every_out_cell_equals_the_solver(self, gnumeric_deployment, scenario):
        path = gnumeric_deployment[scenario]
        values = recalc.read_names(path)
        inputs = {k: v for k, v in values.items() if k.startswith("in_")}
        expected = dcm.expected_outputs(inputs, prices=read_price_rows(openpyxl.load_workbook(path, data_only=True)))
        assert set(expected) == set(dcm.output_names())
        wrong = {k: (values.get(k), v) for k, v in expected.items() if not agrees(values.get(k), v, REL)}
        assert wrong == {}

    @pytest.mark.parametrize("scenario", ["defaults", "latency_targets"])
    def test_latency_curve_matches_the_solver(self, gnumeric_deployment, scenario):
        assert curve_mismatches(gnumeric_deployment[scenario], REL) == []

    @pytest.mark.parametrize("scenario", DCM_INVALID)
    def test_unusable_inputs_are_named_as_in_libreoffice(self, gnumeric_deployment, scenario):
        values = recalc.read_names(gnumeric_deployment[scenario], ("out_", dcm.STATUS))
        assert values[dcm.STATUS] == DCM_INVALID[scenario][1]
        assert {values[k] for k in dcm.output_names()} == {dcm.NOT_AVAILABLE}

    @pytest.mark.parametrize("scenario", [*DCM_SCENARIOS, *DCM_INVALID])
    def test_no_error_cells(self, gnumeric_deployment, scenario):
        assert errors_outside_chart_feeds(gnumeric_deployment[scenario]) == []


def test_tolerance_formula_is_finite_for_every_scenario():
    assert all(math.isfinite(lifetime_tolerance(scenario_inputs(name))) for name in LS_SCENARIOS)
