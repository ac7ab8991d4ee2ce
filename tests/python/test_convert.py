"""Datacard <-> pyhf workspace conversion, checked against pyhf itself.

pyhf is the oracle for what a workspace means: a converted workspace must give the
card's yields at the nominal, and a workspace written as a card and read back must give
pyhf's yields at the nominal and at +-1 sigma of every normsys/histosys.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hifit
from hifit import _core, datacard
from hifit import convert as conv
from hifit.exceptions import HifitError, InvalidModel

pyhf = pytest.importorskip("pyhf")

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PYHF = SHARED / "pyhf"
COMBINE = SHARED / "combine"

WORKSPACES = [
    PYHF / "validation-workspaces" / name
    for name in (
        "simplemodels_correlated_background_doc_example.json",
        "simplemodels_uncorrelated_background_doc_example.json",
        "validation_1bin_lumi.json",
        "validation_1bin_normsys.json",
        "validation_1bin_shapesys.json",
        "validation_2bin_2channel.json",
        "validation_2bin_2channel_coupledhistosys.json",
        "validation_2bin_2channel_couplednorm.json",
        "validation_2bin_histosys.json",
    )
] + [PYHF / "pyhf-validation" / "xmlimport_input_bkg.json"]

CARDS = {  # card: $MASS
    "tutorials/counting/realistic-counting-experiment.txt": 120,
    "tutorials/counting/realistic-multi-channel.txt": 120,
    "tutorials/CAT23001/datacard-5-multi-signal.txt": 125,
    "tutorials/rate_params/signal_region.txt": 120,
    "tutorials/shapes/simple-shapes-TH1.txt": 120,
    "ci/template-analysis_shapeInterp.txt": 200,
    "ci/template-analysis_shapeInterp_womcstats.txt": 200,
}


def pyhf_model(spec):
    return pyhf.Workspace(spec).model()


def yields_by_sample(model, overrides=None):
    """pyhf's expected yields per sample at the suggested init (parameters the model
    does not have are skipped)."""
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    for name, value in (overrides or {}).items():
        if name in model.config.parameters:
            pars[model.config.par_slice(name)] = value
    by_sample = model.main_model.expected_data(pars, return_by_sample=True)
    return dict(zip(model.config.samples, np.asarray(by_sample), strict=True))


# ---- workspace -> card -> workspace -------------------------------------------------


@pytest.mark.parametrize("path", WORKSPACES, ids=lambda p: p.stem)
def test_workspace_through_card_keeps_pyhf_yields(path, tmp_path):
    card_path = tmp_path / "card.txt"
    written = conv.workspace_to_card(path, card_path)
    assert written.shapes_path == tmp_path / "card_shapes.root"
    card, templates = datacard.read(card_path)
    core, _ = _core.datacard.to_workspace(card, templates, [])
    back = hifit.Workspace._wrap(core).spec()

    original = json.loads(path.read_text())
    before, after = pyhf_model(original), pyhf_model(back)
    assert after.config.channels == before.config.channels
    np.testing.assert_allclose(
        pyhf.Workspace(back).data(after, include_auxdata=False),
        pyhf.Workspace(original).data(before, include_auxdata=False),
    )
    points = [{}]
    fixed = before.config.suggested_fixed()
    for name in before.config.par_order:
        kinds = {m[1] for m in before.config.modifiers if m[0] == name}
        is_fixed = fixed[before.config.par_slice(name)][0]  # folded into the card
        if kinds & {"normsys", "histosys"} and not is_fixed:
            points += [{name: -1.0}, {name: 1.0}]
    for point in points:
        expected = yields_by_sample(before, point)
        got = yields_by_sample(after, point)
        for sample, rates in expected.items():
            # Combine drops zero-rate processes, so the card has no column for them.
            np.testing.assert_allclose(
                got.get(sample, 0.0), rates, rtol=1e-9, atol=1e-12
            )


def test_shapes_file_holds_th1d_with_sumw2(tmp_path):
    import uproot

    path = PYHF / "validation-workspaces" / "validation_2bin_2channel.json"
    result = conv.workspace_to_card(path, tmp_path / "out" / "c.txt")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "c.txt",
        "c_shapes.root",
    ]
    spec = json.loads(path.read_text())
    with uproot.open(result.shapes_path) as f:
        for channel in spec["channels"]:
            for sample in channel["samples"]:
                h = f[f"{channel['name']}/{sample['name']}"]
                assert h.classname == "TH1D"
                np.testing.assert_allclose(h.values(), sample["data"])
                stat = [m for m in sample["modifiers"] if m["type"] == "staterror"]
                if stat:
                    np.testing.assert_allclose(
                        h.variances(), np.square(stat[0]["data"])
                    )
        data = f["signal/data_obs"]
        obs = {o["name"]: o["data"] for o in spec["observations"]}
        np.testing.assert_allclose(data.values(), obs["signal"])
    assert "shapes  *  *  c_shapes.root" in result.card_text
    assert "# Not kept exactly:" in result.card_text


def test_shapefactor_is_refused():
    path = PYHF / "validation-workspaces"
    path /= "validation_2bin_2channel_coupledshapefactor.json"
    with pytest.raises(InvalidModel, match="shapefactor 'coupled_shapefactor'"):
        conv.workspace_to_card(path)


# ---- card -> workspace --------------------------------------------------------------


def card_yields(card, templates):
    """What Combine predicts at the nominal, per (bin, process): the card rate for
    counting bins; templates normalised to the rate (raw with autoMCStats)."""
    out = {}
    auto = {a.bin for a in card.auto_mc_stats}
    for col in card.columns:
        if col.rate == 0:
            continue
        h = templates.get((col.bin, col.process, ""))
        if h is None:
            out[col.bin, col.process] = np.array([col.rate])
            continue
        values = np.asarray(h.contents)
        if col.rate >= 0 and "*" not in auto and col.bin not in auto:
            values = values * col.rate / values.sum()
        out[col.bin, col.process] = values
    return out


@pytest.mark.parametrize("relpath", list(CARDS), ids=lambda p: Path(p).stem)
def test_card_to_workspace_keeps_card_yields(relpath, tmp_path):
    path = COMBINE / relpath
    out = tmp_path / "ws.json"
    result = conv.card_to_workspace(path, out, mass=CARDS[relpath])
    spec = json.loads(out.read_text())
    model = pyhf_model(spec)  # pyhf validates the schema, too

    card, templates = datacard.read(path, mass=CARDS[relpath])
    expected = card_yields(card, templates)
    offsets = model.config.channel_slices
    # rateParams at 1: the card rates are the yields before the rateParams' inits
    free = {m[0]: 1.0 for m in model.config.modifiers if m[1] == "normfactor"}
    by_sample = yields_by_sample(model, free)
    for (bin_name, process), rates in expected.items():
        got = by_sample[process][offsets[bin_name]]
        np.testing.assert_allclose(
            got, rates, rtol=1e-9, err_msg=f"{bin_name}/{process}"
        )

    data = pyhf.Workspace(spec).data(model, include_auxdata=False)
    for i, bin_name in enumerate(card.bins):
        h = templates.get((bin_name, "data_obs", ""))
        obs = h.contents if h is not None else [card.observation[i]]
        np.testing.assert_allclose(data[offsets[bin_name]], obs)
    assert all(isinstance(line, str) and line for line in result.inexact)


def test_card_to_workspace_notes_and_poi_map(tmp_path):
    path = COMBINE / "tutorials" / "CAT23001" / "datacard-5-multi-signal.txt"
    result = conv.card_to_workspace(
        path, mass=125, poi_map={"ggH*": "r_ggH", "qqH*": "r_qqH"}
    )
    spec = result.workspace.spec()
    assert spec["measurements"][0]["config"]["poi"] == "r_ggH"
    factors = {
        s["name"]: [m["name"] for m in s["modifiers"] if m["type"] == "normfactor"]
        for c in spec["channels"]
        for s in c["samples"]
    }
    assert factors["ggH_hgg"] == ["r_ggH"]
    assert factors["qqH_hgg"] == ["r_qqH"]
    assert any(line.startswith("lnN QCDscale_ggH:") for line in result.inexact)
    # one line per nuisance, however many columns it has
    assert len(result.inexact) == len(set(result.inexact))


def test_formula_rate_param_is_refused_with_its_line():
    path = COMBINE / "tutorials" / "CAT23001" / "datacard-4-abcd.txt"
    with pytest.raises(
        InvalidModel, match=r"datacard-4-abcd.txt:\d+: rateParam 'alpha'"
    ):
        conv.card_to_workspace(path)


# ---- card -> workspace -> card: the fit result --------------------------------------


def _combine_model_missing() -> bool:
    card = _core.datacard.parse(
        "imax 1\njmax 1\nkmax 0\nbin a\nobservation 1\n"
        "bin a a\nprocess s b\nprocess 0 1\nrate 1 1\n"
    )
    try:
        _core.datacard.build_model(card, {})
    except HifitError as err:
        return "not implemented" in str(err)
    return False


def combine_fit(path, mass):
    card, templates = datacard.read(path, mass=mass)
    built = _core.datacard.build_model(card, templates)
    model = hifit.Model(built.model)
    result = hifit.infer.fit(built.data, model)
    assert result.valid
    i = model.config.poi_index
    return result.bestfit[i], result.uncertainty[i]


@pytest.mark.skipif(
    _combine_model_missing(),
    reason="Combine's model (_core.datacard.build_model) is not implemented yet",
)
@pytest.mark.parametrize(
    ("relpath", "tolerance"),
    [
        ("tutorials/shapes/simple-shapes-TH1.txt", 0.05),
        ("ci/template-analysis_shapeInterp.txt", 0.05),
        ("tutorials/CAT23001/datacard-5-multi-signal.txt", 0.02),
    ],
    ids=lambda v: Path(v).stem if isinstance(v, str) else None,
)
def test_card_round_trip_keeps_the_fit_result(relpath, tolerance, tmp_path):
    """card -> workspace -> card: best-fit r moves by < tolerance x its error."""
    path, mass = COMBINE / relpath, CARDS.get(relpath, 125)
    conv.card_to_workspace(path, tmp_path / "ws.json", mass=mass)
    conv.workspace_to_card(tmp_path / "ws.json", tmp_path / "card.txt")
    r0, err0 = combine_fit(path, mass)
    r1, err1 = combine_fit(tmp_path / "card.txt", mass)
    assert abs(r1 - r0) < tolerance * err0
    assert err1 == pytest.approx(err0, rel=tolerance)
