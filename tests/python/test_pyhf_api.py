"""pyhf's Python API on hifit objects, compared with pyhf on the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hifit
from hifit import simplemodels

pyhf = pytest.importorskip("pyhf")

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
TWO_BIN = DATA / "pyhf-docs-json" / "2-bin_1-channel.json"
COUPLED = (
    DATA / "validation-workspaces" / "validation_2bin_2channel_coupledhistosys.json"
)
SBOTTOM = DATA / "atlas-sbottom-ins1748602" / "RegionA" / "BkgOnly.json"
PATCHSET_DIR = DATA / "pyhf-tests" / "test_patchset"


def both(path):
    return hifit.Workspace.load(path), pyhf.Workspace(
        json.loads(Path(path).read_text())
    )


@pytest.mark.parametrize("path", [TWO_BIN, COUPLED, SBOTTOM], ids=lambda p: p.stem)
def test_summaries_and_document_operations(path):
    ws, ref = both(path)
    assert ws.channels == ref.channels
    assert ws.samples == ref.samples
    assert ws.modifiers == ref.modifiers
    assert ws.channel_nbins == ref.channel_nbins
    assert ws.get_measurement() == ref.get_measurement()
    assert hifit.Workspace.sorted(ws).spec() == dict(pyhf.Workspace.sorted(ref))
    assert ws.digest() == pyhf.utils.digest(ref)
    assert ws.digest("md5") == pyhf.utils.digest(ref, "md5")
    name, kind = ws.modifiers[-1]
    try:
        want = dict(ref.prune(modifiers=[name], samples=[ref.samples[0]]))
    except pyhf.exceptions.InvalidSpecification:  # a channel left without samples
        with pytest.raises(hifit.InvalidSpec):
            ws.prune(modifiers=[name], samples=[ws.samples[0]])
    else:
        assert ws.prune(modifiers=[name], samples=[ws.samples[0]]).spec() == want
    assert ws.prune(modifier_types=[kind]).spec() == dict(
        ref.prune(modifier_types=[kind])
    )
    names = {"modifiers": {name: "renamed"}, "channels": {ws.channels[0]: "c0"}}
    assert ws.rename(**names).spec() == dict(ref.rename(**names))


def test_combine_joins():
    ws, ref = both(TWO_BIN)
    other, other_ref = both(COUPLED)
    for join in ("outer", "left outer", "right outer"):
        got = hifit.Workspace.combine(ws, other, join=join)
        want = pyhf.Workspace.combine(ref, other_ref, join=join)
        assert got.spec() == dict(want)
    same = hifit.Workspace.combine(ws, ws, join="outer", merge_channels=True)
    assert same.spec() == dict(
        pyhf.Workspace.combine(ref, ref, join="outer", merge_channels=True)
    )
    with pytest.raises(hifit.HifitError, match="in common with the same name"):
        hifit.Workspace.combine(ws, ws)


def test_digest_floats_as_python_writes_them():
    # numbers at every boundary of Python's repr (fixed vs exponent, shortest digits)
    values = [
        1e16,
        1e15,
        9999999999999998.0,
        1e-5,
        0.0001,
        0.3313450217247009,
        5e-324,
        1.7976931348623157e308,
        123456789.125,
        0.1 + 0.2,
        2.5e-7,
    ]
    spec = json.loads(TWO_BIN.read_text())
    spec["channels"][0]["samples"][0]["data"] = values[:2]
    spec["observations"][0]["data"] = values[2:4]
    spec["channels"][0]["samples"][1]["modifiers"][0]["data"] = values[4:6]
    spec["measurements"][0]["config"]["parameters"] = [
        {
            "name": "mu",
            "bounds": [[-values[6], values[7]]],
            "inits": [values[8]],
            "auxdata": values[9:],
        }
    ]
    text = json.dumps(spec)
    got = hifit.Workspace._wrap(hifit._core.Workspace.from_json(text, "<edge>"))
    assert got.digest() == pyhf.utils.digest(json.loads(text))


def test_patchset_metadata_digests_verify():
    ws, ref = both(PATCHSET_DIR / "example_bkgonly.json")
    doc = json.loads((PATCHSET_DIR / "example_patchset.json").read_text())
    ps, ps_ref = (
        hifit.PatchSet.load(PATCHSET_DIR / "example_patchset.json"),
        pyhf.PatchSet(doc),
    )
    assert ps.metadata == ps_ref.metadata
    assert ps.digests == ps_ref.digests
    ps.verify(ws)
    with pytest.raises(hifit.InvalidPatch, match="digest verification failed"):
        ps.verify(hifit.Workspace.load(TWO_BIN))


def test_simplemodels_and_model_methods():
    args = ([12.0, 11.0], [50.0, 52.0], [3.0, 7.0])
    model, ref = (
        simplemodels.uncorrelated_background(*args),
        pyhf.simplemodels.uncorrelated_background(*args),
    )
    assert model.config.par_names == ref.config.par_names
    pars = [1.3, 0.9, 1.1]
    np.testing.assert_allclose(
        model.expected_auxdata(pars), ref.expected_auxdata(pars), rtol=1e-12
    )
    np.testing.assert_allclose(
        model.expected_data(pars), ref.expected_data(pars), rtol=1e-12
    )
    args = ([12.0, 11.0], [50.0, 52.0], [45.0, 57.0], [55.0, 47.0])
    model, ref = (
        simplemodels.correlated_background(*args),
        pyhf.simplemodels.correlated_background(*args),
    )
    assert model.config.par_names == ref.config.par_names
    data = [62.0, 63.0, *model.config.auxdata]
    np.testing.assert_allclose(
        model.logpdf([0.4, 0.7], data), ref.logpdf([0.4, 0.7], data), rtol=1e-10
    )


def test_infer_takes_a_pyhf_model():
    ref = pyhf.simplemodels.uncorrelated_background(
        [12.0, 11.0], [50.0, 52.0], [3.0, 7.0]
    )
    data = [51.0, 48.0, *ref.config.auxdata]
    fitted = hifit.infer.fit(data, ref)
    expected = pyhf.infer.mle.fit(data, ref, return_fitted_val=True)
    assert fitted.twice_nll == pytest.approx(float(expected[1]), rel=1e-6)
    cls = hifit.infer.hypotest(1.0, data, ref)
    assert cls.CLs_obs == pytest.approx(
        float(pyhf.infer.hypotest(1.0, data, ref)), rel=2e-3
    )


@pytest.mark.parametrize("path", [TWO_BIN, COUPLED], ids=lambda p: p.stem)
def test_main_and_constraint_logpdf_split_like_pyhf(path):
    ws, ref = both(path)
    model, ref_model = ws.model(), ref.model()
    assert model.config.par_names == ref_model.config.par_names
    pars = np.asarray(model.config.suggested_init()) * 1.1 + 0.05
    main = np.asarray(ws.data(model, include_auxdata=False))
    aux = np.asarray(model.config.auxdata)
    want_main = float(np.sum(ref_model.mainlogpdf(main, pars)))
    want_constraint = float(np.sum(ref_model.constraint_logpdf(aux, pars)))
    assert model.mainlogpdf(main, pars)[0] == pytest.approx(want_main, rel=1e-10)
    assert model.constraint_logpdf(aux, pars)[0] == pytest.approx(
        want_constraint, rel=1e-10, abs=1e-12
    )


@pytest.mark.parametrize("path", [TWO_BIN, COUPLED, SBOTTOM], ids=lambda p: p.stem)
def test_nominal_rates_as_pyhf(path):
    """Same shape (1, samples, 1, bins), order and values as pyhf's (zeros where a
    sample is absent from a channel). POI-less models: the background-only file
    names a POI no modifier declares."""
    ws, ref = both(path)
    model, ref_model = ws.model(poi_name=None), ref.model(poi_name=None)
    assert model.config.samples == ref_model.config.samples
    want = np.asarray(ref_model.nominal_rates)
    assert model.nominal_rates.shape == want.shape
    np.testing.assert_array_equal(model.nominal_rates, want)


def test_nominal_rates_need_a_histfactory_model():
    from hifit import datacard
    from hifit.exceptions import InvalidArgument

    card = DATA.parent / "combine" / "tutorials" / "counting"
    card = card / "simple-counting-experiment.txt"
    if not card.is_file():
        pytest.skip("shared Combine data missing")
    model = datacard.load_model(card).model
    with pytest.raises(InvalidArgument, match="HistFactory"):
        model.nominal_rates  # noqa: B018
