"""`hifit combine -M MultiDimFit` against the real Combine's MultiDimFit runs recorded
in references/combine_methods.json (section MultiDimFit, recorded by
references/record_combine_methods.py): grids and fixed points on every card, --algo
singles with the parameter options (freeze names / rgx{} / allConstrainedNuisances /
groups, --setParameters, --rMin/--rMax, --setParameterRanges, -t -1), and two-POI
physics models (floatingXSHiggs, multiSignalModel) with -P, --floatOtherPOIs,
--redefineSignalPOIs, 2D grids. Each recorded command runs through `hifit combine`
with the card in place of the workspace (text2workspace's -P MODEL becomes
--physics-model MODEL) and the limit trees are compared row by row.

Tolerances: POI values and interval ends 0.5 % of the interval's half-width (as
test_combine_real_runs.py); deltaNLL on a grid 2e-3 + 2e-3 relative (Combine's best
fit is good to 0.5 % of sigma, which moves deltaNLL by up to 1e-3 near the minimum;
beyond deltaNLL = 10 (4.5 sigma) the two models' profiles are compared to 2 %:
they agree to 1 % on every card but one, see GRID_TAILS). Points only one of the two
wrote (a failed fit is left out by both) are not compared. Skipped while the
section is not recorded.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import numpy as np
import pytest
import uproot

from hifit.combine import run

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / ".." / "shared" / "data" / "combine"
REFERENCES = Path(
    os.environ.get(
        "HIFIT_COMBINE_REFERENCES", HERE / "references" / "combine_methods.json"
    )
)
SECTION = (
    json.loads(REFERENCES.read_text()).get("MultiDimFit")
    if REFERENCES.exists()
    else None
)
pytestmark = pytest.mark.skipif(
    SECTION is None, reason="the MultiDimFit section of combine_methods.json is absent"
)
R_REL = 0.005
DNLL_ABS = DNLL_REL = 2e-3
FAR, FAR_REL = 10.0, 0.02  # deltaNLL beyond which only the tails are compared


def cases(part: str) -> list:
    return list((SECTION or {}).get(part, {}).get("cards", {}).items())


def hifit_argv(card: str, command: str, t2w: str = "") -> list[str]:
    """The recorded combine command on the card; text2workspace's -P/--PO as hifit's
    --physics-model/--PO."""
    words = shlex.split(command)
    assert words[0] == "combine" and words[1].endswith(".root"), command
    model = []
    t2w_words = shlex.split(t2w)
    for i, word in enumerate(t2w_words):
        if word == "-P":
            model += ["--physics-model", t2w_words[i + 1]]
        elif word == "--PO":
            model += ["--PO", t2w_words[i + 1]]
    return [str(DATA / card), *words[2:], *model]


def run_hifit(argv: list[str], folder: Path) -> dict[str, np.ndarray]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        assert run(argv) == 0, argv
    (path,) = folder.glob("higgsCombine*.root")
    return uproot.open(path)["limit"].arrays(library="np")


def half_width(rows: list[dict], poi: str) -> float:
    ends = [r[poi] for r in rows if abs(r["quantileExpected"]) == pytest.approx(0.32)]
    return 0.5 * (max(ends) - min(ends)) if len(ends) >= 2 else 1.0


def by_point(rows, pois: list[str], key: str) -> dict[tuple, float]:
    """key of each point after the best fit, by its POI values (4 decimals)."""
    return {tuple(round(float(r[p]), 4) for p in pois): float(r[key]) for r in rows[1:]}


def tree_rows(tree: dict) -> list[dict]:
    return [{k: v[i] for k, v in tree.items()} for i in range(len(tree["limit"]))]


def compare_grid(ours: dict, theirs: list[dict], pois: list[str]) -> None:
    """The best fit first, then the points, matched by their POI values."""
    assert ours["quantileExpected"][0] == -1.0 and ours["deltaNLL"][0] == 0.0
    mine = tree_rows(ours)
    real_dnll = by_point(theirs, pois, "deltaNLL")
    mine_dnll = by_point(mine, pois, "deltaNLL")
    common = sorted(set(mine_dnll) & set(real_dnll))
    assert len(common) >= 0.8 * len(real_dnll), (len(common), len(real_dnll))
    real_q = by_point(theirs, pois, "quantileExpected")
    mine_q = by_point(mine, pois, "quantileExpected")
    for point in common:
        expected = real_dnll[point]
        if expected > FAR:  # beyond 2 deltaNLL = 20: the models' tails
            assert mine_dnll[point] == pytest.approx(expected, rel=FAR_REL), point
            continue
        assert mine_dnll[point] == pytest.approx(
            expected, abs=DNLL_ABS, rel=DNLL_REL
        ), point
        # the chi2 probability of 2 deltaNLL (degrees of freedom: the scanned and the
        # other floating POIs): the deltaNLL tolerance moves it by less than this
        tolerance = 2 * (DNLL_ABS + DNLL_REL * expected)
        assert mine_q[point] == pytest.approx(real_q[point], abs=tolerance), point


# hifit's deltaNLL exceeds Combine's beyond r = 4.3 (deltaNLL > 28; 114 vs 87 at
# r = 19.5), where hifit's `sigma` shape nuisance (effect 0.5) sits at its bound 4 in
# both models: the two disagree on the template extrapolated to 0.5 * 4 = 2 sigma
GRID_TAILS = {"tutorials/CAT23001/datacard-2-template-analysis.txt"}


def grid_cases() -> list:
    return [
        pytest.param(
            card,
            rec,
            id=card,
            marks=pytest.mark.xfail(strict=True, reason="the models' far tails differ")
            if card in GRID_TAILS
            else (),
        )  # fmt: skip
        for card, rec in cases("grid")
    ]


@pytest.mark.parametrize(("card", "rec"), grid_cases())
def test_grid(card, rec, tmp_path):
    if "error" in rec:
        pytest.skip(f"Combine failed: {rec['error'][-200:]}")
    ours = run_hifit(hifit_argv(card, rec["command"]), tmp_path)
    compare_grid(ours, rec["rows"], ["r"])


@pytest.mark.parametrize(
    ("card", "rec"), cases("fixed"), ids=[c for c, _ in cases("fixed")]
)
def test_fixed_point(card, rec, tmp_path):
    if "error" in rec or len(rec["rows"]) < 2:
        pytest.skip("Combine wrote no fixed point")
    ours = run_hifit(hifit_argv(card, rec["command"]), tmp_path)
    assert len(ours["r"]) == 2 and ours["r"][1] == rec["rows"][1]["r"]
    assert ours["deltaNLL"][1] == pytest.approx(
        rec["rows"][1]["deltaNLL"], abs=DNLL_ABS, rel=DNLL_REL
    )


# hifit's ends are the exact crossings; Combine's (2 deltaNLL in hifit's likelihood):
VARIANTS_OFF = {
    # MINOS stops short at r's lower bound, as MINOS_SHORT in test_combine_real_runs
    (
        "tutorials/counting/realistic-counting-experiment.txt",
        "freeze_rgx",
    ): "Combine's MINOS stops short: 2 deltaNLL 0.9849 at its end, target 0.98895",
    (
        "tutorials/counting/realistic-counting-experiment.txt",
        "freeze_all_constrained",
    ): "Combine's MINOS stops short: 2 deltaNLL 0.9862 at its end, target 0.98895",
    (
        "ci/template-analysis_shape_autoMCStats.txt",
        "freeze_rgx_mcstats",
    ): "Combine's MINOS overshoots: 2 deltaNLL 1.0028 at its end, target 1",
    # negative signal yields: the likelihood is flat for r < -0.657 (the rates at
    # their floor), any r there is a best fit; Combine reports -0.657, hifit -1
    (
        "tutorials/counting/realistic-counting-experiment.txt",
        "r_range",
    ): "a flat likelihood below r = -0.657 (negative yields)",
}


def variant_cases() -> list:
    return [
        pytest.param(
            card,
            name,
            run_rec,
            id=f"{card}-{name}",
            marks=pytest.mark.xfail(strict=True, reason=VARIANTS_OFF[card, name])
            if (card, name) in VARIANTS_OFF
            else (),
        )  # fmt: skip
        for card, rec in cases("variants")
        for name, run_rec in rec["runs"].items()
    ]


@pytest.mark.parametrize(("card", "name", "rec"), variant_cases())
def test_singles_with_options(card, name, rec, tmp_path):
    if "error" in rec:
        pytest.skip(f"Combine failed: {rec['error'][-200:]}")
    ours = run_hifit(hifit_argv(card, rec["command"]), tmp_path)
    theirs = rec["rows"]
    assert list(ours["quantileExpected"]) == [r["quantileExpected"] for r in theirs]
    tolerance = R_REL * half_width(theirs, "r")
    for i, row in enumerate(theirs):
        assert ours["r"][i] == pytest.approx(row["r"], abs=tolerance), (name, i)


# Combine's best fit stops short of the minimum here: r_qqH = 4.516 has NLL 2.7e-5
# above hifit's 4.4954 (EDM 2e-12), 0.75 % of sigma away; the interval ends agree
# to 1e-3
STOPS_SHORT = {
    ("tutorials/multiDim/toy-hgg-125.txt", "multiSignalModel_qqH_only", "none"),
    ("tutorials/multiDim/toy-hgg-125.txt", "multiSignalModel_qqH_only", "singles"),
}


def two_poi_cases() -> list:
    return [
        pytest.param(
            card,
            model,
            name,
            rec,
            run_rec,
            id=f"{card}-{model}-{name}",
            marks=pytest.mark.xfail(
                strict=True, reason="Combine's best fit stops short"
            )
            if (card, model, name) in STOPS_SHORT
            else (),
        )  # fmt: skip
        for card, models in cases("two_poi")
        for model, rec in models.items()
        for name, run_rec in rec["runs"].items()
    ]


@pytest.mark.parametrize(("card", "model", "name", "rec", "run_rec"), two_poi_cases())
def test_two_poi_models(card, model, name, rec, run_rec, tmp_path):
    if "error" in run_rec:
        pytest.skip(f"Combine failed: {run_rec['error'][-200:]}")
    argv = hifit_argv(card, run_rec["command"], rec["text2workspace"]["command"])
    ours = run_hifit(argv, tmp_path)
    theirs = run_rec["rows"]
    pois = [p for p in rec["pois"] if theirs and p in theirs[0]]
    assert [p for p in rec["pois"] if p in ours] == pois  # the same POI branches
    if "grid" in name:
        scanned = [p for p in pois if len({r[p] for r in theirs[1:]}) > 1]
        compare_grid(ours, theirs, scanned)
        return
    assert len(ours["deltaNLL"]) == len(theirs)
    singles = rec["runs"].get("singles", run_rec)["rows"]
    for p in pois:
        tolerance = R_REL * half_width(singles, p)
        for i, row in enumerate(theirs):
            if name == "fixed" and i == 1:
                assert ours[p][i] == row[p]  # the fixed point itself
                continue
            assert ours[p][i] == pytest.approx(row[p], abs=tolerance), (p, i)
    if name == "fixed":
        assert ours["deltaNLL"][1] == pytest.approx(
            theirs[1]["deltaNLL"], abs=DNLL_ABS, rel=DNLL_REL
        )
        tolerance = 2 * (DNLL_ABS + DNLL_REL * theirs[1]["deltaNLL"])
        assert ours["quantileExpected"][1] == pytest.approx(
            theirs[1]["quantileExpected"], abs=tolerance
        )
    else:
        assert list(ours["quantileExpected"]) == pytest.approx(
            [r["quantileExpected"] for r in theirs], abs=1e-6
        )
