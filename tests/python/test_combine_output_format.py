"""The higgsCombine*.root files `hifit combine` writes, read back and compared with
the files the real Combine v10.6.0 wrote for the same commands on
ci/htt_multiple_regions.txt (../shared/data/combine/references/outputs/
htt_multiple_regions/, with their logs): the `limit` tree's branch names, types and
order, its row structure (quantileExpected, deltaNLL, iToy ...), the common values
(mh, iSeed, syst, iChannel) and the `toys` directory; and the numbers in the rows
where the two runs commit the same points."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest
import uproot
from scipy import stats

from hifit.combine import run

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "combine"
CARD = DATA / "ci" / "htt_multiple_regions.txt"
OUTPUTS = DATA / "references" / "outputs" / "htt_multiple_regions"

# the reference files' names say which command wrote them (-n .<tag>); the grid's
# log shows 20 points over r's default range
COMMANDS = {
    "mdf": "-M MultiDimFit --algo singles",
    "grid": "-M MultiDimFit --algo grid --points 20",
    "asymptotic": "-M AsymptoticLimits",
    "sig_obs": "-M Significance",
    "sig_exp_apriori": "-M Significance -t -1 --expectSignal 1",
    "sig_exp_aposteriori": "-M Significance -t -1 --expectSignal 1 --toysFrequentist",
}


def reference(tag: str) -> Path:
    (path,) = OUTPUTS.glob(f"higgsCombine.{tag}.*.root")
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("format")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        for tag, command in COMMANDS.items():
            args = [str(CARD), "-m", "125", "-n", f".{tag}", *shlex.split(command)]
            assert run(args) == 0, tag
            out[tag] = folder / reference(tag).name  # the same file name
            assert out[tag].is_file(), tag
    return out


def layout(path: Path) -> list[tuple[str, str]]:
    tree = uproot.open(path)["limit"]
    return [(name, tree[name].typename) for name in tree.keys()]


@pytest.mark.parametrize("tag", list(COMMANDS))
def test_branches_names_types_and_order(tag, written):
    assert layout(written[tag]) == layout(reference(tag))


@pytest.mark.parametrize("tag", list(COMMANDS))
def test_file_has_the_toys_directory_and_tree_title(tag, written):
    ours, theirs = uproot.open(written[tag]), uproot.open(reference(tag))
    assert sorted(k.split(";")[0] for k in ours.keys()) == sorted(
        k.split(";")[0] for k in theirs.keys()
    )
    assert ours["limit"].title == theirs["limit"].title


@pytest.mark.parametrize("tag", list(COMMANDS))
def test_common_branches(tag, written):
    ours = uproot.open(written[tag])["limit"].arrays(library="np")
    theirs = uproot.open(reference(tag))["limit"].arrays(library="np")
    for name in ("mh", "syst", "iSeed", "iChannel", "iToy", "t_cpu", "t_real"):
        assert set(ours[name]) == set(theirs[name]), name


@pytest.mark.parametrize("tag", ["mdf", "asymptotic", "sig_obs", "sig_exp_apriori",
                                 "sig_exp_aposteriori"])  # fmt: skip
def test_rows(tag, written):
    ours = uproot.open(written[tag])["limit"].arrays(library="np")
    theirs = uproot.open(reference(tag))["limit"].arrays(library="np")
    np.testing.assert_array_equal(ours["quantileExpected"], theirs["quantileExpected"])
    # the values: Combine's precision (the tolerances of test_combine_real_runs.py
    # are per quantity; 1 % covers all of them here)
    value = "r" if tag == "mdf" else "limit"
    np.testing.assert_allclose(ours[value], theirs[value], rtol=0.01)
    if "deltaNLL" in theirs:
        np.testing.assert_array_equal(ours["deltaNLL"], theirs["deltaNLL"])


def test_asymptotic_limit_errors(written):
    """limitErr: 0 on the expected rows, as Combine; on the observed row the accuracy
    of the search. Combine's is its bisection's last half-bracket, within its goal
    max(rAbsAcc 5e-4, rRelAcc 5e-3 * limit); hifit's (Brent to 1e-6 relative) is far
    smaller, and the two limits agree within the two accuracies."""
    ours = uproot.open(written["asymptotic"])["limit"].arrays(library="np")
    theirs = uproot.open(reference("asymptotic"))["limit"].arrays(library="np")
    expected = theirs["quantileExpected"] > 0
    assert not theirs["limitErr"][expected].any()
    assert not ours["limitErr"][expected].any()
    (obs,) = np.flatnonzero(~expected)
    goal = max(5e-4, 5e-3 * theirs["limit"][obs])
    assert 0 < theirs["limitErr"][obs] <= goal
    assert 0 < ours["limitErr"][obs] <= 1e-6 * ours["limit"][obs]
    gap = abs(ours["limit"][obs] - theirs["limit"][obs])
    assert gap <= theirs["limitErr"][obs] + ours["limitErr"][obs]


def test_grid_rows(written):
    ours = uproot.open(written["grid"])["limit"].arrays(library="np")
    theirs = uproot.open(reference("grid"))["limit"].arrays(library="np")
    # the best fit first, then the points in Combine's order
    assert (ours["quantileExpected"][0], ours["deltaNLL"][0]) == (-1.0, 0.0)
    assert ours["r"][0] == pytest.approx(theirs["r"][0], abs=0.005)
    points = 0.5 + np.arange(20)  # bin centres of 20 points over [0, 20]
    assert set(ours["r"][1:]) <= set(points)
    assert list(ours["r"][1:]) == sorted(ours["r"][1:])
    # Combine left out the points whose fit failed (19 of 20 rows here); hifit too,
    # and at most one of them
    assert len(ours["r"]) >= len(theirs["r"]) - 1
    common = np.intersect1d(ours["r"][1:], theirs["r"][1:])
    assert len(common) >= 16
    for r in common:
        mine = ours["deltaNLL"][ours["r"] == r][0]
        real = theirs["deltaNLL"][theirs["r"] == r][0]
        # the best fits differ by 1e-3 in r (Combine's tolerance), which moves
        # deltaNLL by up to 2e-3 near the minimum; far out the two models' profiles
        # differ by up to 5e-4 relative (7.8e-3 at r = 7.5, where hifit's fit
        # converges to EDM 1e-16 and no lower minimum exists from other starts)
        assert mine == pytest.approx(real, abs=2e-3, rel=1e-3), r
        q = ours["quantileExpected"][ours["r"] == r][0]
        # chi2 survival of 2 deltaNLL with 1 degree of freedom, as Combine
        assert q == pytest.approx(stats.chi2.sf(2 * mine, 1), rel=1e-5)
