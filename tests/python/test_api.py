"""Python API behaviour: errors, result objects, threads."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import hifit
from hifit.examples import DEMO_WORKSPACE

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
LBB = DATA / "atlas-1Lbb-ins1755298"


@pytest.fixture(scope="module")
def lbb():
    ws = hifit.PatchSet.load(LBB / "patchset.json").apply(
        hifit.Workspace.load(LBB / "BkgOnly.json"), "C1N2_Wh_hbb_1000_0"
    )
    model = ws.model()
    return model, ws.data(model)


def test_schema_error_names_file_and_path():
    spec = json.loads(DEMO_WORKSPACE.read_text())
    spec["channels"][1]["samples"][0]["modifiers"][1]["data"]["hi"] = "big"
    with pytest.raises(
        hifit.InvalidSpec,
        match=r"demo\.json: /channels/1/samples/0/modifiers/1/data/hi: expected a num",
    ):
        hifit.Workspace(spec, source="demo.json")


def test_model_errors_are_hifit_errors():
    spec = json.loads(DEMO_WORKSPACE.read_text())
    spec["channels"][0]["samples"][1]["data"].append(1.0)
    with pytest.raises(
        hifit.InvalidModel,
        match='channel "SR", sample "ttbar": data has 5 bins, the channel has 4',
    ):
        hifit.Workspace(spec).model()
    with pytest.raises(hifit.HifitError, match="not declared"):
        hifit.Workspace(json.loads(DEMO_WORKSPACE.read_text())).model(poi_name="nope")


def test_logpdf_has_pyhf_shape_and_matches_twice_nll():
    ws = hifit.Workspace.load(DEMO_WORKSPACE)
    model = ws.model()
    init, data = model.config.suggested_init(), ws.data(model)
    logpdf = model.logpdf(init, data)
    assert logpdf.shape == (1,)
    assert logpdf[0] == pytest.approx(-0.5 * model.twice_nll(init, data), rel=1e-15)


def test_fit_result_is_frozen_and_readonly(lbb):
    model, data = lbb
    result = hifit.infer.fit(data, model)
    assert result.valid, result.status
    with pytest.raises(ValueError, match="read-only"):
        result.bestfit[0] = 1.0
    with pytest.raises(AttributeError):
        result.twice_nll = 0.0
    assert result.corr_mat.shape == (model.config.npars, model.config.npars)
    assert np.allclose(np.diag(result.corr_mat)[~np.array(result.fixed)], 1.0)


def test_fixed_poi_fit_pins_the_poi(lbb):
    model, data = lbb
    result = hifit.infer.fixed_poi_fit(0.0, data, model)
    assert result.bestfit[model.config.poi_index] == 0.0
    assert result.valid


def test_init_outside_bounds_is_rejected(lbb):
    model, data = lbb
    init = model.config.suggested_init()
    init[model.config.poi_index] = -3.0
    with pytest.raises(hifit.HifitError, match="outside its bounds"):
        hifit.infer.fit(data, model, init_pars=init)


def test_fits_in_threads_agree_with_serial(lbb):
    # The fit releases the GIL; concurrent fits of one shared model must not interfere.
    model, data = lbb
    serial = hifit.infer.fit(data, model)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: hifit.infer.fit(data, model), range(8)))
    for r in results:
        assert np.array_equal(r.bestfit, serial.bestfit)
        assert r.twice_nll == serial.twice_nll
