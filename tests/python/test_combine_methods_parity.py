"""`hifit combine` against the real Combine v10.6.0 on every public card.

Each card runs through `hifit combine` with exactly the command lines recorded in
../shared/data/combine/references/combine_real_runs.json (`commands`: MultiDimFit
--algo singles, AsymptoticLimits, Significance observed, -t -1 --expectSignal 1,
and with --toysFrequentist), in process; the numbers are read back from the
higgsCombine*.root files it writes and from its printed lines (what users' grep
scripts read), and compared with the recorded ones at the tolerances of
test_combine_real_runs.py (Combine's own precision; see its docstring).

Run with -s to see the worst deviation per quantity.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import uproot
from test_combine_real_runs import (
    CARDS,
    COMBINE,
    INTERVAL_CASES,
    MINOS_SHORT,
    Q0_ABS,
    Q0_REL,
    QUANTILES,
    R_REL,
    REFERENCE,
    expected_limit_tolerance,
    limit_tolerance,
    sigma_r,
)

from hifit.combine import run

# quantity -> (|Δ| / tolerance, card, |Δ|, |Δ| / |Combine|) of the worst card
WORST: dict[str, tuple[float, str, float, float]] = {}


@pytest.fixture(scope="module", autouse=True)
def worst_deviations():
    yield
    if WORST:
        n = len(CARDS)
        print(f"\nhifit combine vs Combine, worst |Δ|/tolerance over {n} cards:")
        print(f"  {'quantity':34s} {'|Δ|/tol':>8s} {'|Δ|':>9s} {'|Δ|/value':>9s}")
        for quantity, (size, card, delta, rel) in sorted(WORST.items()):
            print(
                f"  {quantity:34s} {size:8.2f} {delta:9.2g} {rel:9.2g}  "
                f"({Path(card).name})"
            )


def record(quantity: str, card: str, got: float, expected: float, tol: float) -> None:
    delta = abs(got - expected)
    rel = delta / abs(expected) if expected else 0.0
    if quantity not in WORST or delta / tol > WORST[quantity][0]:
        WORST[quantity] = (delta / tol, card, delta, rel)


def argv(card: str, step: str) -> list[str]:
    """The recorded command with the card in place of the workspace."""
    words = shlex.split(REFERENCE[card]["commands"][step])
    assert words[:2] == ["combine", "ws.root"]
    return [str(COMBINE / card), *words[2:]]


_RUNS: dict[tuple[str, str], tuple[dict, str]] = {}


def combine(card: str, step: str, tmp_path_factory, capsys) -> tuple[dict, str]:
    """(limit tree as arrays, stdout) of one recorded command, run once."""
    key = (card, step)
    if key not in _RUNS:
        folder = tmp_path_factory.mktemp("combine")
        args = argv(card, step)
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(folder)
            capsys.readouterr()
            code = run(args)
            out = capsys.readouterr().out
        assert code == 0, out
        (written,) = folder.glob("higgsCombine*.root")
        name = args[args.index("-n") + 1]
        method = args[args.index("-M") + 1]
        mass = args[args.index("-m") + 1]
        assert written.name == f"higgsCombine{name}.{method}.mH{mass}.root"
        tree = uproot.open(written)["limit"].arrays(library="np")
        _RUNS[key] = (tree, out)
    return _RUNS[key]


@pytest.mark.parametrize("card", CARDS)
def test_multidimfit_singles(card, tmp_path_factory, capsys):
    ref = REFERENCE[card]
    tree, out = combine(card, "mdf", tmp_path_factory, capsys)
    np.testing.assert_array_equal(
        tree["quantileExpected"], np.float32([-1, -0.32, 0.32])
    )
    np.testing.assert_array_equal(tree["deltaNLL"], 0.0)
    r, lo, hi = (float(x) for x in tree["r"])
    tolerance = R_REL * sigma_r(ref)
    record("MultiDimFit r", card, r, ref["r"], tolerance)
    assert r == pytest.approx(ref["r"], abs=tolerance)
    # the printed line: "   r :    +1.311   -0.671/+0.774 (68%)"
    printed = re.search(r"^\s+r :\s+(\S+)\s+(\S+)/(\S+) \(68%\)$", out, re.M)
    assert printed, out
    assert float(printed.group(1)) == pytest.approx(r, abs=5e-4)
    assert float(printed.group(2)) == pytest.approx(lo - r, abs=5e-4)
    assert float(printed.group(3)) == pytest.approx(hi - r, abs=5e-4)


@pytest.mark.parametrize(("card", "end"), INTERVAL_CASES)
def test_multidimfit_interval_end(card, end, tmp_path_factory, capsys):
    ref = REFERENCE[card]
    tree, _ = combine(card, "mdf", tmp_path_factory, capsys)
    value = float(tree["r"][1 if end == "lower" else 2])
    expected = ref["r_interval"][0 if end == "lower" else 1]
    tolerance = R_REL * sigma_r(ref, end)
    short = " (Combine short, xfail)" if card in MINOS_SHORT and end == "upper" else ""
    record(f"MultiDimFit r {end}{short}", card, value, expected, tolerance)
    assert value == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize("card", CARDS)
def test_asymptotic_limits(card, tmp_path_factory, capsys):
    ref = REFERENCE[card]
    tree, out = combine(card, "asymptotic", tmp_path_factory, capsys)
    np.testing.assert_array_equal(
        tree["quantileExpected"], np.float32([*QUANTILES, -1.0])
    )
    observed = float(tree["limit"][-1])
    tolerance = limit_tolerance(ref["limit_obs"])
    record("limit observed", card, observed, ref["limit_obs"], tolerance)
    assert observed == pytest.approx(ref["limit_obs"], abs=tolerance)
    printed = re.search(r"^Observed Limit: r < (\S+)$", out, re.M)
    assert printed and float(printed.group(1)) == pytest.approx(observed, abs=5e-5)
    for q, value, expected in zip(
        QUANTILES, tree["limit"][:5], ref["limit_exp"], strict=True
    ):
        tolerance = expected_limit_tolerance(expected, q)
        record(f"limit expected {q}", card, value, expected, tolerance)
        assert value == pytest.approx(expected, abs=tolerance), q
        line = re.search(rf"^Expected {q * 100:4.1f}%: r < (\S+)$", out, re.M)
        assert line and float(line.group(1)) == pytest.approx(value, abs=5e-5)


SIGNIFICANCES = {
    "sig_obs": ("significance", 0),
    "sig_exp_apriori": ("significance_exp_apriori", -1),
    "sig_exp_aposteriori": ("significance_exp_aposteriori", -1),
}


@pytest.mark.parametrize("step", list(SIGNIFICANCES))
@pytest.mark.parametrize("card", CARDS)
def test_significance(card, step, tmp_path_factory, capsys):
    key, i_toy = SIGNIFICANCES[step]
    expected = REFERENCE[card][key]
    tree, out = combine(card, step, tmp_path_factory, capsys)
    assert len(tree["limit"]) == 1
    assert tree["iToy"][0] == i_toy  # Combine: -1 for the Asimov data set
    z = float(tree["limit"][0])
    tolerance_q0 = max(Q0_REL * expected**2, Q0_ABS)
    record(
        f"Z {step}", card, z, expected, np.sqrt(expected**2 + tolerance_q0) - expected
    )
    assert z**2 == pytest.approx(expected**2, abs=tolerance_q0)
    printed = re.search(r"^ -- Significance -- \nSignificance: (\S+)$", out, re.M)
    assert printed and float(printed.group(1)) == pytest.approx(z, rel=1e-5)
