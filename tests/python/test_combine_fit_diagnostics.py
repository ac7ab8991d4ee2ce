"""hifit combine -M FitDiagnostics --saveShapes --saveWithUncertainties against the real
Combine's fitDiagnostics.fd.root on htt_multiple_regions (outputs/htt_multiple_regions,
`combine ws.root -m 125 -n .fd -M FitDiagnostics --saveShapes --saveWithUncertainties`).

Tolerances, and why:
* r and its MINOS errors: 0.5 % (issue 14's parity goal; Minuit's EDM ~1e-3 vs hifit's
  exact minimum).
* Nuisance values of fit_s / fit_b: 0.1 of their post-fit error (Minuit stops early on
  the flat directions of weakly constrained shape nuisances).
* Yields per bin: 0.5 % where a bin holds more than 1e-3 of its histogram's maximum.
* Their uncertainties: Combine resamples the covariance with 200 toys (a ~5-7 % MC
  error, correlated over bins) through non-linear lnN factors (kappa up to 1.35:
  ~8 %), hifit propagates linearly: median deviation 10 %, every sizeable bin of the
  totals within 40 %.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import uproot

from hifit.combine.options import parse
from hifit.combine.runner import run_options

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data" / "combine"
CARD = DATA / "ci" / "htt_multiple_regions.txt"
REF = DATA / "references" / "outputs" / "htt_multiple_regions"
STAGES = ("shapes_prefit", "shapes_fit_b", "shapes_fit_s")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    where = tmp_path_factory.mktemp("fd")
    argv = [str(CARD), "-m", "125", "-n", ".fd", "-M", "FitDiagnostics",
            "--saveShapes", "--saveWithUncertainties"]  # fmt: skip
    out: list[str] = []
    cwd = Path.cwd()
    try:
        import os

        os.chdir(where)
        code = run_options(parse(argv), echo=out.append)
    finally:
        os.chdir(cwd)
    assert code == 0
    return (
        "".join(out),
        uproot.open(where / "fitDiagnostics.fd.root"),
        uproot.open(where / "higgsCombine.fd.FitDiagnostics.mH125.root"),
    )


def test_best_fit_and_limit_tree(outputs):
    text, fd, tree = outputs
    ref_tree = uproot.open(REF / "higgsCombine.fd.FitDiagnostics.mH125.root")
    ours = tree["limit"].arrays(library="np")
    ref = ref_tree["limit"].arrays(library="np")
    assert tree["limit"].keys() == ref_tree["limit"].keys()
    np.testing.assert_array_equal(ours["quantileExpected"], ref["quantileExpected"])
    np.testing.assert_allclose(ours["limit"], ref["limit"], rtol=5e-3)
    np.testing.assert_allclose(ours["limitErr"], ref["limitErr"], rtol=5e-3)
    assert "Best fit r: " in text and "(68% CL)" in text


def test_fit_trees(outputs):
    _, fd, _ = outputs
    ref = uproot.open(REF / "fitDiagnostics.fd.root")
    for name in ("tree_fit_sb", "tree_fit_b", "tree_prefit"):
        assert set(fd[name].keys()) == set(ref[name].keys()), name
    sb = fd["tree_fit_sb"].arrays(library="np")
    ref_sb = ref["tree_fit_sb"].arrays(library="np")
    for key in ("r", "rLoErr", "rHiErr", "rErr"):
        assert sb[key][0] == pytest.approx(ref_sb[key][0], rel=5e-3), key
    assert sb["nll_nll0"][0] == pytest.approx(ref_sb["nll_nll0"][0], rel=5e-3)
    for name in ("tree_fit_sb", "tree_fit_b", "tree_prefit"):
        ours = fd[name].arrays(library="np")
        theirs = ref[name].arrays(library="np")
        for key in theirs:
            if key.endswith("_In"):
                assert ours[key][0] == pytest.approx(theirs[key][0], abs=1e-9), key
    # nuisance values within 0.1 of their post-fit errors (fit_s covariance)
    cov = fd["covariance_fit_s"].values()
    names = [k for k in ref_sb if k + "_In" in ref_sb]
    worst = 0.0
    for tree in ("tree_fit_sb", "tree_fit_b"):
        ours = fd[tree].arrays(library="np")
        theirs = ref[tree].arrays(library="np")
        for key in names:
            worst = max(worst, abs(ours[key][0] - theirs[key][0]))
    sigma_min = np.sqrt(np.min(np.diag(cov)[np.diag(cov) > 0]))
    assert worst < 0.1 * max(sigma_min, 1.0)


def _hists(f, stage):
    out = {}
    for ch in f[stage].keys(recursive=False, cycle=False):
        for name in f[stage][ch].keys(cycle=False):
            out[(ch, name)] = f[stage][ch][name]
    return out


def test_shapes(outputs):
    _, fd, _ = outputs
    ref = uproot.open(REF / "fitDiagnostics.fd.root")
    deviations = []
    for stage in STAGES:
        ours, theirs = _hists(fd, stage), _hists(ref, stage)
        # the data graph is a TGraph + data_hist here (uproot writes no
        # TGraphAsymmErrors): every other object is there, with Combine's name
        assert set(theirs) == set(ours) - {(ch, "data_hist") for ch, _ in ours}
        for key, h in theirs.items():
            if key[1] == "data":
                np.testing.assert_array_equal(ours[key].values()[1], h.values()[1])
                continue
            mine = ours[key]
            assert mine.values().shape == h.values().shape, key
            if key[1] == "total_covar":
                continue
            v, rv = mine.values(), h.values()
            big = rv > 1e-3 * rv.max()
            if not big.any():  # an empty histogram (the signal of fit_b)
                assert np.all(np.abs(v) <= 1e-6 * max(1.0, np.abs(rv).max())), key
                continue
            np.testing.assert_allclose(v[big], rv[big], rtol=5e-3, err_msg=str(key))
            e, re_ = mine.errors()[big], h.errors()[big]
            ok = re_ > 1e-3 * max(re_.max(), 1e-30)
            rel = np.abs(e[ok] / re_[ok] - 1)
            deviations.extend(rel)
            if key[1] in ("total", "total_background"):
                assert rel.max() < 0.4, (stage, key, rel.max())
    assert np.median(deviations) < 0.1


RECORDED = Path(__file__).resolve().parent / "references" / "combine_methods.json"
REAL_RUNS = DATA / "references" / "combine_real_runs.json"


def recorded_cards() -> list[str]:
    if not RECORDED.is_file():
        return []
    section = json.loads(RECORDED.read_text()).get("FitDiagnostics") or {}
    return [
        c for c, rec in section.get("cards", {}).items() if rec.get("r") is not None
    ]


@pytest.mark.parametrize("card", recorded_cards() or [None])
def test_matches_recorded_real_combine(card, tmp_path, monkeypatch):
    """Every card the real Combine ran FitDiagnostics on (combine_methods.json).
    r and its MINOS errors within 0.5 % of sigma_r (1e-3 at least: Combine's MINOS
    stops short by 0.9 % of sigma_r with r at its bound, test_combine_real_runs.py);
    constrained nuisances within 0.1 (gmN as event counts); norms and shapes per bin
    within 0.5 %. Per process only on cards without autoMCStats: Combine shares
    a bin's Barlow-Beeston-lite shift among processes by their MC variance, hifit in
    proportion to their yields (totals agree). Entries below 1e-4 of their channel's
    total are skipped (the signal of fits with r at 0: ~1e-8 in Combine, 0 here). So
    are total_signal/total_background on autoMCStats cards (the same sharing)."""
    if card is None:
        pytest.skip("no FitDiagnostics records in combine_methods.json")
    rec = json.loads(RECORDED.read_text())["FitDiagnostics"]["cards"][card]
    mass = json.loads(REAL_RUNS.read_text())["cards"][card]["mass"]
    per_process = "autoMCStats" not in (DATA / card).read_text()
    monkeypatch.chdir(tmp_path)
    argv = [str(DATA / card), "-m", f"{mass:g}", "-n", ".fd", "-M", "FitDiagnostics",
            "--saveShapes", "--saveWithUncertainties"]  # fmt: skip
    assert run_options(parse(argv), echo=lambda _: None) == 0
    fd = uproot.open(tmp_path / "fitDiagnostics.fd.root")
    sb = fd["tree_fit_sb"].arrays(library="np")
    sigma = abs(rec["r_hi_err"])
    for key, ref in (("r", "r"), ("rLoErr", "r_lo_err"), ("rHiErr", "r_hi_err")):
        tol = max(5e-3 * sigma, 1e-3)
        assert sb[key][0] == pytest.approx(abs(rec[ref]), abs=tol), key
    for tree in ("tree_fit_sb", "tree_fit_b"):
        ours, ref = fd[tree].arrays(library="np"), rec[tree]
        for key, value in ref.items():
            if key + "_In" in ref:  # a constrained nuisance
                assert abs(ours[key][0] - value) < 0.1, (tree, key)
    for stage in ("prefit", "fit_s", "fit_b"):
        ours, ref = fd[f"norm_{stage}"].arrays(library="np"), rec[f"norm_{stage}"]
        scale = {
            k.split("/")[0]: v["value"] for k, v in ref.items() if k.endswith("/total")
        }
        for key, value in ref.items():
            ch, proc = key.split("/")
            if proc != "total" and not per_process:
                continue
            if abs(value["value"]) > 1e-4 * scale.get(ch, abs(value["value"])):
                assert ours[key][0] == pytest.approx(value["value"], rel=5e-3), key
    for stage in STAGES:
        for ch, hists in rec[stage].items():
            floor = 1e-4 * max(hists["total"]["values"]) if "total" in hists else 0.0
            for name, h in hists.items():
                if name == "data":
                    np.testing.assert_allclose(
                        fd[f"{stage}/{ch}/data"].values()[1], h["y"], rtol=1e-9
                    )
                    continue
                if name != "total" and not per_process:
                    continue
                v, rv = fd[f"{stage}/{ch}/{name}"].values(), np.array(h["values"])
                big = rv > max(1e-3 * rv.max(), floor)
                np.testing.assert_allclose(
                    v[big], rv[big], rtol=5e-3, err_msg=f"{stage}/{ch}/{name}"
                )
