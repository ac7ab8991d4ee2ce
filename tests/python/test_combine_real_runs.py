"""Every public datacard against the real Combine v10.6.0.

Reference: ../shared/data/combine/references/combine_real_runs.json, the outputs of
MultiDimFit --algo singles, AsymptoticLimits and Significance (observed; -t -1
--expectSignal 1; and with --toysFrequentist) on every card of the folder. hifit
uses Combine's conventions on cards by default, so no option is passed here.

Tolerances are Combine's own precision:
* limits: its stopping rule, max(rAbsAcc = 5e-4, rRelAcc = 5e-3 * limit); the expected
  ones also stop as soon as |NLL_A - threshold| < 0.05 * minimizer tolerance 0.1
  (findExpectedLimitFromCrossing), which adds 0.005 / (d NLL_A / dr) = 0.005 r / t^2
  (NLL_A - nll0 = t^2 / 2 at the crossing, t = sqrt(q_A) there, q_A ~ r^2);
* best-fit r and the interval ends: 0.5 % of sigma_r (Combine's half-width of the
  interval, or its upper half when the interval starts at r's lower bound);
* significances, compared as q0 = Z^2: 1 % of q0 (0.5 % on Z) or 4e-4, the two
  Minuit2 fits behind Combine's q0 each stopping at EDM < 0.002 * tolerance 0.1 * up
  0.5 = 1e-4 in -ln L. Near Z = 0 that is what Combine's Z is worth: on
  realistic-multi-channel its a-priori Z is 0.0108 where the exact minimisation
  (hifit; also a direct scipy fit of that lnN counting model) gives 0.0143.

Combine's MultiDimFit intervals are MINOS crossings at the errorlevel it sets,
0.5 * chi2_1^-1(0.68) (2 Delta NLL = 0.98895), but on cards with shapes (a
RooSimultaneousOpt, hence a CachingSimNLL) CascadeMinimizer::minos rebuilds the
RooMinimizer and the errorlevel falls back to 0.5 (2 Delta NLL = 1); counting cards
keep 0.98895. The interval is compared at the level Combine actually used.

Run with -s to see the worst |Delta| per quantity over every card.
"""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from hifit.datacard import load_model
from hifit.infer import (
    AsymptoticCalculator,
    fit,
    fixed_poi_fit,
    significance,
    upper_limit,
)
from hifit.infer.scans import minos

COMBINE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "combine"
REFERENCE = json.loads((COMBINE / "references" / "combine_real_runs.json").read_text())[
    "cards"
]
CARDS = sorted(card for card, ref in REFERENCE.items() if "error" not in ref)
REFUSED = sorted(card for card, ref in REFERENCE.items() if "error" in ref)

R_REL = 0.005  # of sigma_r
LIMIT_ABS, LIMIT_REL = 5e-4, 5e-3  # AsymptoticLimits' rAbsAcc, rRelAcc
Q0_REL, Q0_ABS = 0.01, 4e-4

# Combine's MINOS stops short of the crossing on these cards (r at its lower bound):
# its upper end has 2 Delta NLL = 0.9805 in hifit's likelihood where the target is
# 0.98895, 0.87 % of sigma_r inside; hifit's end is the exact crossing (asserted).
MINOS_SHORT = {
    "tutorials/CAT23001/default-physics-model-datacard.txt",
    "tutorials/counting/simple-counting-experiment.txt",
}

# quantity -> {"abs" | "rel" | "tol": (size, card)}: the largest |Δ|, |Δ| / |Combine|
# and |Δ| / tolerance over the cards
WORST: dict[str, dict[str, tuple[float, str]]] = {}


def record(
    quantity: str, card: str, got: float, expected: float, tolerance: float
) -> None:
    size = abs(got - expected)
    sizes = {
        "abs": size,
        "rel": size / abs(expected) if expected else 0.0,
        "tol": size / tolerance,
    }
    worst = WORST.setdefault(quantity, {})
    for key, value in sizes.items():
        if key not in worst or value > worst[key][0]:
            worst[key] = (value, card)


@pytest.fixture(scope="module", autouse=True)
def worst_deviations():
    yield
    if not WORST:
        return
    print(f"\nworst deviations from Combine v10.6.0 over {len(CARDS)} cards:")
    header = ["max |Δ|", "max |Δ|/value", "max |Δ|/tol"]
    print(f"  {'quantity':26s} {header[0]:>10s} {header[1]:>14s} {header[2]:>12s}")
    for quantity, worst in sorted(WORST.items()):
        print(
            f"  {quantity:26s} {worst['abs'][0]:10.3g} {worst['rel'][0]:14.3g} "
            f"{worst['tol'][0]:12.2f}  ({Path(worst['tol'][1]).name})"
        )


def minos_level(card) -> float:
    """2 Delta NLL of Combine's MINOS crossing on this card (see the docstring)."""
    return 1.0 if card.shapes else float(stats.chi2.ppf(0.68, 1))


@functools.cache
def results(card: str) -> dict:
    ref = REFERENCE[card]
    built = load_model(str(COMBINE / card), mass=ref["mass"])
    model, data = built.model, built.data
    poi = model.config.poi_index
    best = fit(data, model)
    # At r's lower bound the Hessian is not positive definite: the minimum is valid,
    # its covariance is not (one-sided boundary fits are a separate issue).
    at_bound = best.bestfit[poi] == model.config.suggested_bounds()[poi][0]
    assert best.valid or at_bound, best.status
    level = minos_level(built.card)
    interval = minos(data, model, poi, fit_result=best, delta_twice_nll=level)
    interval = next(iter(interval.values()))
    limits = upper_limit(data, model)
    prefit = significance(data, model)
    postfit = significance(data, model, expected="postfit")
    return {
        "model": model,
        "data": data,
        "best": best,
        "level": level,
        "r": best.bestfit[poi],
        "interval": interval,
        "limits": limits,
        "prefit": prefit,
        "postfit": postfit,
    }


def sigma_r(ref: dict, side: str | None = None) -> float:
    lo, hi = ref["r_interval"]
    if side == "upper" or lo <= 0.0:
        return hi - ref["r"]
    if side == "lower":
        return ref["r"] - lo
    return 0.5 * (hi - lo)


@pytest.mark.parametrize("card", CARDS)
def test_best_fit_r(card):
    ref, got = REFERENCE[card], results(card)
    tolerance = R_REL * sigma_r(ref)
    record("r", card, got["r"], ref["r"], tolerance)
    assert got["r"] == pytest.approx(ref["r"], abs=tolerance)


INTERVAL_CASES = [
    pytest.param(
        card,
        end,
        marks=pytest.mark.xfail(
            strict=True, reason="Combine's MINOS stops 0.87 % of sigma_r short"
        )
        if card in MINOS_SHORT and end == "upper"
        else (),
        id=f"{card}-{end}",
    )
    for card in CARDS
    for end in ("lower", "upper")
]


@pytest.mark.parametrize(("card", "end"), INTERVAL_CASES)
def test_interval_end(card, end):
    ref, got = REFERENCE[card], results(card)
    interval = got["interval"]
    assert interval.valid, interval.message
    offset = interval.lower if end == "lower" else interval.upper
    value = got["r"] + offset
    at_bound = interval.lower_at_bound if end == "lower" else interval.upper_at_bound
    if not at_bound:
        # hifit's end is the exact crossing of its profile likelihood
        rise = fixed_poi_fit(value, got["data"], got["model"]).twice_nll
        assert rise - got["best"].twice_nll == pytest.approx(got["level"], abs=1e-5)
    expected = ref["r_interval"][0 if end == "lower" else 1]
    tolerance = R_REL * sigma_r(ref, end)
    record(f"r interval ({end})", card, value, expected, tolerance)
    assert value == pytest.approx(expected, abs=tolerance)


def limit_tolerance(value: float) -> float:
    return max(LIMIT_ABS, LIMIT_REL * abs(value))


QUANTILES = [0.025, 0.16, 0.5, 0.84, 0.975]  # AsymptoticLimits' expected limits
EARLY_STOP = 0.05 * 0.1  # in NLL: 0.05 * Combine's default minimizer tolerance


def expected_limit_tolerance(value: float, quantile: float) -> float:
    n = stats.norm.ppf(quantile)
    t = n + stats.norm.isf(0.05 * quantile)  # sqrt(q_A) at the crossing
    return limit_tolerance(value) + EARLY_STOP * value / t**2


@pytest.mark.parametrize("card", CARDS)
def test_limit_fits_converge(card):
    limits = results(card)["limits"]
    assert limits.valid, limits.message


@pytest.mark.parametrize("card", CARDS)
def test_observed_limit(card):
    ref, got = REFERENCE[card], results(card)
    limits = got["limits"]
    assert limits.convention == "combine"
    tolerance = limit_tolerance(ref["limit_obs"])
    record("limit observed", card, limits.observed, ref["limit_obs"], tolerance)
    assert limits.observed == pytest.approx(ref["limit_obs"], abs=tolerance)


@pytest.mark.parametrize("card", CARDS)
def test_expected_limits(card):
    ref, got = REFERENCE[card], results(card)
    names = ["-2σ", "-1σ", "median", "+1σ", "+2σ"]
    for name, quantile, value, expected in zip(
        names, QUANTILES, got["limits"].expected, ref["limit_exp"], strict=True
    ):
        tolerance = expected_limit_tolerance(expected, quantile)
        record(f"limit expected {name}", card, value, expected, tolerance)
        assert value == pytest.approx(expected, abs=tolerance), name


def check_significance(quantity: str, card: str, z: float, expected: float) -> None:
    tolerance_q0 = max(Q0_REL * expected**2, Q0_ABS)
    # the same tolerance on Z, for the table
    tolerance_z = math.sqrt(expected**2 + tolerance_q0) - expected
    record(quantity, card, z, expected, tolerance_z)
    assert z**2 == pytest.approx(expected**2, abs=tolerance_q0)


@pytest.mark.parametrize("card", CARDS)
def test_observed_significance(card):
    got = results(card)["prefit"]
    assert got.valid, got.message
    assert got.convention == "combine"
    check_significance(
        "Z observed", card, got.observed_significance, REFERENCE[card]["significance"]
    )


@pytest.mark.parametrize("card", CARDS)
def test_expected_significance_apriori(card):
    got = results(card)["prefit"]
    assert got.expected == "prefit"
    check_significance(
        "Z expected a-priori",
        card,
        got.expected_significance,
        REFERENCE[card]["significance_exp_apriori"],
    )


@pytest.mark.parametrize("card", CARDS)
def test_expected_significance_aposteriori(card):
    got = results(card)["postfit"]
    assert got.valid, got.message
    assert got.expected == "postfit"
    check_significance(
        "Z expected a-posteriori",
        card,
        got.expected_significance,
        REFERENCE[card]["significance_exp_aposteriori"],
    )


@pytest.mark.parametrize("card", REFUSED)
def test_card_combine_refuses_is_refused(card):
    # Combine: "Bin 0j starts with a digit!"
    assert "starts with a digit" in REFERENCE[card]["error"]
    with pytest.raises(ValueError, match="not starting with a digit"):
        load_model(str(COMBINE / card), mass=REFERENCE[card]["mass"])


def test_every_card_is_compared():
    assert len(CARDS) + len(REFUSED) == len(REFERENCE)
    assert len(CARDS) >= 20


def test_significance_beyond_the_double_range_of_p(tmp_path):
    # A single bin, no systematics: q0 = 2 (n ln(n / b) - (n - b)) exactly.
    n, b, s = 190, 1.0, 10.0
    card = tmp_path / "excess.txt"
    card.write_text(
        "imax 1\njmax 1\nkmax 0\n"
        f"bin b1\nobservation {n}\n"
        "bin b1 b1\nprocess sig bkg\nprocess 0 1\n"
        f"rate {s} {b}\n"
    )
    built = load_model(str(card))
    exact = math.sqrt(2 * (n * math.log(n / b) - (n - b)))
    assert stats.norm.sf(exact) == 0.0  # p underflows a double
    for convention in ("combine", "pyhf"):
        got = significance(built.data, built.model, convention=convention)
        assert got.valid, got.message
        assert got.observed_significance == pytest.approx(exact, rel=1e-8)
        assert np.isfinite(got.expected_significance)
        assert got.observed_p_value == 0.0


def run_cli(*args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", "hifit.cli", *map(str, args), "-o", str(out)]
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(out.read_text())


def test_cli_follows_the_model_kind_and_says_so():
    card = "tutorials/counting/realistic-counting-experiment.txt"
    ref = REFERENCE[card]
    path = COMBINE / card
    sig = run_cli("significance", path, "--mass", ref["mass"])
    assert (sig["convention"], sig["expected"]) == ("combine", "prefit")
    z = sig["expected_significance"]
    assert z**2 == pytest.approx(ref["significance_exp_apriori"] ** 2, abs=Q0_ABS)
    post = run_cli("significance", path, "--expected", "postfit")
    z = post["expected_significance"]
    assert z**2 == pytest.approx(ref["significance_exp_aposteriori"] ** 2, abs=Q0_ABS)
    lim = run_cli("limit", path)
    assert lim["convention"] == "combine"
    assert lim["expected"] == pytest.approx(results(card)["limits"].expected)
    workspace = (
        COMBINE.parent
        / "pyhf"
        / "pyhf-tests"
        / "test_patchset"
        / "example_bkgonly.json"
    )
    assert run_cli("limit", workspace)["convention"] == "pyhf"
    pyhf_sig = run_cli("significance", workspace)
    assert (pyhf_sig["convention"], pyhf_sig["expected"]) == ("pyhf", "postfit")
    other = run_cli("limit", path, "--convention", "pyhf")
    assert other["convention"] == "pyhf"
    # pyhf's +2σ band (CLb = Φ(2)) lies above Combine's 97.5 % quantile
    assert other["expected"][4] > lim["expected"][4]


@pytest.mark.parametrize(
    "card", ["ci/htt_multiple_regions.txt", "tutorials/CAT23001/datacard-4-abcd.txt"]
)
def test_expected_limits_are_exact_crossings(card):
    # Combine stops at 0.5 %; hifit solves CLs_exp(limit) = 0.05 to its root tolerance
    got = results(card)
    calc = AsymptoticCalculator(got["data"], got["model"])
    assert calc.convention == "combine"
    for i, limit in enumerate(got["limits"].expected):
        assert calc.hypotest(limit).CLs_exp[i] == pytest.approx(0.05, rel=1e-5)
