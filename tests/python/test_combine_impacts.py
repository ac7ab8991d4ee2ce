"""`hifit combine CARD -M Impacts -o impacts.json`: combineTool's Impacts workflow.

The JSON is read back and checked against computations made here with hifit's
public API by another route (each parameter's MINOS interval, then a plain fit with
the parameter fixed at each end), against the real Combine's MultiDimFit singles
(combine_real_runs.json) for the POI, and against the real combineTool impacts
recorded in tests/python/references/combine_methods.json when present.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from statistics import NormalDist

import pytest

from hifit.cli import main
from hifit.datacard import load_model
from hifit.infer import fit, ranking
from hifit.infer.ranking import prefit_uncertainties
from hifit.infer.scans import minos

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / ".." / "shared" / "data" / "combine"
REAL = DATA / "references" / "combine_real_runs.json"
RECORDED = HERE / "references" / "combine_methods.json"
CARDS = [
    "tutorials/counting/realistic-counting-experiment.txt",
    "tutorials/shapes/simple-shapes-TH1.txt",
]

pytestmark = pytest.mark.skipif(
    not REAL.is_file(), reason="shared Combine data missing"
)


def _mass(card: str) -> float:
    """The mass the real Combine ran the card at."""
    return json.loads(REAL.read_text())["cards"][card].get("mass", 120)


def _run(tmp_path: Path, card: str, *extra: str) -> dict:
    out = tmp_path / "impacts.json"
    mass = str(_mass(card))
    argv = ["combine", str(DATA / card), "-M", "Impacts", "-m", mass, "-o", str(out)]
    here = os.getcwd()
    os.chdir(tmp_path)  # higgsCombineTest.Impacts.mH*.root goes to the current folder
    try:
        with pytest.raises(SystemExit) as code:
            main([*argv, "--doInitialFit", "--doFits", "--robustFit", "1", *extra])
    finally:
        os.chdir(here)
    assert code.value.code == 0
    assert (tmp_path / f"higgsCombineTest.Impacts.mH{mass}.root").is_file()
    return json.loads(out.read_text())


@pytest.fixture(scope="module", params=CARDS)
def impacts(request, tmp_path_factory) -> tuple[str, dict]:
    card = request.param
    return card, _run(tmp_path_factory.mktemp("impacts"), card)


def test_format_is_combinetools(impacts) -> None:
    card, doc = impacts
    built = load_model(str(DATA / card), mass=_mass(card))
    names = built.model.config.par_names
    assert doc["method"] == "default"
    assert [p["name"] for p in doc["POIs"]] == ["r"]
    free = [
        n
        for n, f in zip(names, built.model.config.suggested_fixed(), strict=True)
        if not f
    ]
    assert [p["name"] for p in doc["params"]] == [n for n in free if n != "r"]
    for p in doc["params"]:
        assert set(p) == {"name", "fit", "prefit", "groups", "type", "r", "impact_r"}
        lo, c, hi = p["fit"]
        assert lo <= c <= hi
        assert p["impact_r"] == pytest.approx(max(abs(x - p["r"][1]) for x in p["r"]))
        assert p["type"] in ("Gaussian", "Unconstrained", "Poisson")


def test_poi_matches_real_combine_singles(impacts) -> None:
    card, doc = impacts
    real = json.loads(REAL.read_text())["cards"][f"{card}"]
    lo, c, hi = doc["POIs"][0]["fit"]
    assert c == pytest.approx(real["r"], rel=5e-3, abs=1e-3)
    assert lo == pytest.approx(real["r"] + real["r_lo"], rel=5e-3, abs=2e-3)
    assert hi == pytest.approx(real["r"] + real["r_hi"], rel=5e-3, abs=2e-3)


def test_each_impact_recomputed_by_plain_fits(impacts) -> None:
    """Per parameter: its interval from MINOS, and r from a plain fit with the
    parameter fixed at each end (no continuation, no shared starting points)."""
    card, doc = impacts
    built = load_model(str(DATA / card), mass=_mass(card))
    model, data = built.model, built.data
    names = model.config.par_names
    best = fit(data, model)
    # MultiDimFit's error level: 1 with shapes, chi2_1's 68 % quantile without
    level = 1.0 if built.card.shapes else NormalDist().inv_cdf(0.84) ** 2
    widths = prefit_uncertainties(model)
    for p in doc["params"]:
        i = names.index(p["name"])
        interval = minos(data, model, p["name"], fit_result=best, delta_twice_nll=level)
        found = interval[p["name"]]
        theta = best.bestfit[i]
        # gmN parameters are written as Combine's count N = 1 / width^2 times ours
        scale = 1.0 / widths[i] ** 2 if p["type"] == "Poisson" else 1.0
        lo, hi = p["fit"][0] / scale, p["fit"][2] / scale
        assert lo == pytest.approx(theta + found.lower, abs=2e-3)
        assert hi == pytest.approx(theta + found.upper, abs=2e-3)
        for k, end in ((0, lo), (2, hi)):
            init = list(best.bestfit)
            init[i] = end
            fixed = list(model.config.suggested_fixed())
            fixed[i] = True
            refit = fit(data, model, init_pars=init, fixed_params=fixed)
            assert refit.valid
            r = refit.bestfit[names.index("r")]
            assert p["r"][k] == pytest.approx(r, abs=2e-3), (p["name"], k)


def test_close_to_hesse_ranking(impacts) -> None:
    """hifit.infer.ranking's post-fit shifts (at -+ the Hesse sigma), scaled to the
    profile crossings (the response is near linear), give the same POI shifts."""
    card, doc = impacts
    built = load_model(str(DATA / card), mass=_mass(card))
    ranked = ranking(built.data, built.model)
    by_name = {n: k for k, n in enumerate(ranked.labels)}
    for p in doc["params"]:
        k = by_name[p["name"]]
        sigma = ranked.uncertainty[k]
        lo, theta, hi = p["fit"]
        if p["type"] == "Poisson":  # Combine's units: the gmN count
            theta_ours = ranked.bestfit[k]
            lo, theta, hi = (x * theta_ours / theta for x in (lo, theta, hi))
        for shift, end, column in (
            (ranked.postfit_down, lo, 0),
            (ranked.postfit_up, hi, 2),
        ):
            expected = shift[k] * abs(end - theta) / sigma
            got = p["r"][column] - p["r"][1]
            assert got == pytest.approx(expected, rel=0.1, abs=3e-3), p["name"]


def test_named_and_exclude(tmp_path: Path) -> None:
    card = CARDS[0]
    full = _run(tmp_path, card)
    names = [p["name"] for p in full["params"]]
    doc = _run(tmp_path, card, "--named", ",".join(names[:2]))
    assert [p["name"] for p in doc["params"]] == names[:2]
    assert doc["params"][0] == full["params"][0]
    pattern = names[0][:3]
    doc = _run(tmp_path, card, "--exclude", f"rgx{{^{pattern}}}")
    assert [p["name"] for p in doc["params"]] == [
        n for n in names if not n.startswith(pattern)
    ]


def _recorded() -> dict:
    if not RECORDED.is_file():
        return {}
    cards = json.loads(RECORDED.read_text()).get("Impacts", {}).get("cards", {})
    return {
        card: {**e["impacts"], "missing": e.get("missing", [])}
        for card, e in cards.items()
        if "impacts" in e
    }


# On htt Combine stops short along a flat direction: its central values lie 1.7e-3
# above hifit's minimum in -2 ln L, one bin-by-bin shape nuisance 0.037 away.
SHALLOWER_COMBINE_MINIMUM = {"ci/htt_multiple_regions.txt"}


def _combine_minimum_excess(card: str, ours: dict, ref: dict) -> float:
    """-2 ln L at Combine's central values minus at hifit's (hifit's likelihood; a
    parameter Combine did not report stays at hifit's value)."""
    built = load_model(str(DATA / card), mass=_mass(card))
    names = built.model.config.par_names
    central = {p["name"]: p["fit"][1] for p in ours["params"] + ours["POIs"]}
    pars = [central[n] for n in names]
    twice_nll_ours = built.model.twice_nll(pars, built.data)
    central.update({p["name"]: p["fit"][1] for p in ref["params"] + ref["POIs"]})
    pars = [central[n] for n in names]
    return built.model.twice_nll(pars, built.data) - twice_nll_ours


def _xfail_where_combine_stops_short(card: str, ours: dict, ref: dict) -> None:
    if card in SHALLOWER_COMBINE_MINIMUM:
        excess = _combine_minimum_excess(card, ours, ref)
        assert excess > 0  # Combine's best fit is not a lower point of the likelihood
        pytest.xfail(f"Combine's best fit is {excess:.1e} above hifit's in -2 ln L")


@pytest.fixture(scope="module")
def recorded_runs(tmp_path_factory) -> dict:
    return {
        card: (_run(tmp_path_factory.mktemp("recorded"), card), ref)
        for card, ref in _recorded().items()
    }


@pytest.mark.skipif(not _recorded(), reason="no recorded Combine impacts yet")
@pytest.mark.parametrize("card", sorted(_recorded()))
def test_impacts_match_recorded_combine(recorded_runs, card: str) -> None:
    """The real combineTool impacts (recorded): the same parameters and types, the
    POI interval within 1.5 % of its width, each impact within 5 % of the POI's
    68 % width, and r at each end within 2e-3 + 1 % of the width."""
    if card in SHALLOWER_COMBINE_MINIMUM:
        pytest.xfail(
            "htt: Combine's r at the lower crossing of CMS_scale_t_tautau_8TeV is its "
            "best-fit r exactly (hifit: +0.15); not yet understood"
        )
    ours, ref = recorded_runs[card]
    width = ref["POIs"][0]["fit"][2] - ref["POIs"][0]["fit"][0]
    assert ours["POIs"][0]["fit"] == pytest.approx(
        ref["POIs"][0]["fit"], abs=0.015 * width
    )
    mine = {p["name"]: p for p in ours["params"]}
    # combineTool lists a parameter whose impact fits failed under "missing"
    assert set(mine) == {p["name"] for p in ref["params"]} | set(ref.get("missing", []))
    for p in _compared(ref, mine):
        q = mine[p["name"]]
        assert q["type"] == p["type"], p["name"]
        assert q["impact_r"] == pytest.approx(p["impact_r"], abs=0.05 * width), p[
            "name"
        ]
        assert q["r"] == pytest.approx(p["r"], abs=2e-3 + 0.01 * width), p["name"]
        if p["type"] == "Poisson":
            assert q["prefit"] == pytest.approx(p["prefit"], rel=1e-3), p["name"]


def _compared(ref: dict, mine: dict) -> list[dict]:
    """The recorded parameters whose crossings Combine found. Where its MultiDimFit
    --algo impact returned no interval (both ends at the best fit: abcd's unconstrained
    rateParam beta), ours must be a real interval around the same best fit."""
    found = []
    for p in ref["params"]:
        lo, best, hi = p["fit"]
        if lo == best == hi:
            q = mine[p["name"]]["fit"]
            assert q[0] < q[1] < q[2], p["name"]
            assert q[1] == pytest.approx(best, abs=0.01, rel=5e-3), p["name"]
        else:
            found.append(p)
    return found


# hifit profiles the Barlow-Beeston-lite parameter of a bin without data in closed
# form inside the likelihood (combine/main_terms.cpp) even when the impact scan holds
# it fixed, so -2 ln L is flat along it and its crossings stay at +-1 (Combine's
# analytic minimisation only acts on floating parameters). Fits report its profiled
# value, so the best-fit values agree (test_best_fit_values_match_recorded_combine).
FLAT_PROFILED_SCANS = {"ci/template-analysis_shape_autoMCStats.txt"}


@pytest.mark.skipif(not _recorded(), reason="no recorded Combine impacts yet")
@pytest.mark.parametrize("card", sorted(_recorded()))
def test_best_fit_values_match_recorded_combine(recorded_runs, card: str) -> None:
    """Each parameter's fitted value (profiled Barlow-Beeston-lite parameters of
    empty bins included): 0.01 (Combine's units; 5e-3 of the count for gmN)."""
    ours, ref = recorded_runs[card]
    _xfail_where_combine_stops_short(card, ours, ref)
    mine = {p["name"]: p for p in ours["params"]}
    for p in ref["params"]:
        got = mine[p["name"]]["fit"][1]
        assert got == pytest.approx(p["fit"][1], abs=0.01, rel=5e-3), p["name"]


@pytest.mark.skipif(not _recorded(), reason="no recorded Combine impacts yet")
@pytest.mark.parametrize(
    "card",
    [
        pytest.param(
            c, marks=pytest.mark.xfail(strict=True, reason="flat profiled scans")
        )
        if c in FLAT_PROFILED_SCANS
        else c
        for c in sorted(_recorded())
    ],
)
def test_crossings_match_recorded_combine(recorded_runs, card: str) -> None:
    """Each parameter's fitted value and 68 % crossings: 0.01 (Combine's units;
    5e-3 of the count for gmN parameters)."""
    ours, ref = recorded_runs[card]
    _xfail_where_combine_stops_short(card, ours, ref)
    mine = {p["name"]: p for p in ours["params"]}
    for p in _compared(ref, mine):
        got = mine[p["name"]]["fit"]
        assert got == pytest.approx(p["fit"], abs=0.01, rel=5e-3), p["name"]


def test_approx_is_refused_before_any_work(tmp_path: Path) -> None:
    card = str(DATA / CARDS[0])
    with pytest.raises(SystemExit) as code:
        main(
            [
                "combine",
                card,
                "-M",
                "Impacts",
                "--approx",
                "hesse",
                "-o",
                str(tmp_path / "x.json"),
            ]
        )
    assert code.value.code == 2
    assert not (tmp_path / "x.json").exists()
