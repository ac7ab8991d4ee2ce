"""hifit combine -M GoodnessOfFit --algo saturated.

* The statistic against an independent computation in the same run: Combine's
  likelihood of datacard-5-multi-signal.txt (two counting channels, lnN nuisances)
  written out with numpy and minimised with scipy, minus the saturated model (each
  rate at its count, every constraint at its maximum). Tolerance 1e-5 (both minima are
  exact to ~1e-8).
* Observed values on every card against the real Combine
  (tests/python/references/combine_methods.json, GoodnessOfFit), tolerance 1e-4
  relative (absolute below 1): the statistic is a difference of two minimised NLLs and
  Combine's Minuit stops above the minimum by its EDM (~1e-3 in -2 ln L on htt, 3.6e-5
  relative), where hifit's Newton minimum is exact.
* Toys (-t N, with and without --toysFrequentist): one row per toy; against the
  recorded Combine toy distributions (100 toys each) with a two-sample KS test
  (p > 1e-3: the distributions must agree, the toys themselves cannot).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import uproot
from scipy import optimize, stats

from hifit.combine.methods import goodness_of_fit
from hifit.combine.options import parse
from hifit.combine.runner import run_options
from hifit.combine.setup import build

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data" / "combine"
CARD = DATA / "tutorials" / "CAT23001" / "datacard-5-multi-signal.txt"
RECORDED = ROOT / "tests" / "python" / "references" / "combine_methods.json"
REAL_RUNS = DATA / "references" / "combine_real_runs.json"


def run(tmp_path, monkeypatch, argv: list[str]) -> tuple[int, str, dict]:
    monkeypatch.chdir(tmp_path)
    out: list[str] = []
    options = parse(argv)
    code = run_options(options, echo=out.append)
    rows = uproot.open(tmp_path / options.output_name())["limit"].arrays(library="np")
    return code, "".join(out), rows


def independent_statistic() -> float:
    """The card's Combine likelihood by hand (see the card): 2 sum(nu - n + n ln n/nu)
    + sum theta^2, minimised over r in [0, 20] and the four lnN nuisances."""
    n = np.array([166.0, 8.0])

    def twice_nll(x):
        r, qcd, pdf_gg, pdf_qq, bg = x
        ggh = 1.12**qcd * 1.08**pdf_gg
        qqh = 1.025**pdf_qq
        nu = np.array(
            [
                r * (21 * ggh + 1.6 * qqh) + 140 * 1.05**bg,
                r * (0.4 * ggh + 0.95 * qqh) + 3.2,
            ]
        )
        return (
            2 * np.sum(nu - n + n * np.log(n / nu))
            + qcd**2
            + pdf_gg**2
            + pdf_qq**2
            + bg**2
        )

    bounds = [(0, 20)] + [(-7, 7)] * 4
    tight = {"ftol": 1e-15, "gtol": 1e-12}
    start = [1, 0, 0, 0, 0]
    best = optimize.minimize(
        twice_nll, start, bounds=bounds, method="L-BFGS-B", options=tight
    )
    return float(best.fun)


def test_observed_matches_independent_minimisation(tmp_path, monkeypatch):
    argv = [str(CARD), "-M", "GoodnessOfFit", "--algo", "saturated", "-m", "125"]
    code, text, rows = run(tmp_path, monkeypatch, argv)
    assert code == 0
    assert "Best fit test statistic: " in text
    assert len(rows["limit"]) == 1 and rows["iToy"][0] == 0
    assert rows["limit"][0] == pytest.approx(independent_statistic(), abs=1e-5)


@pytest.mark.parametrize("frequentist", [False, True])
def test_toys_one_row_each(tmp_path, monkeypatch, frequentist):
    argv = [str(CARD), "-M", "GoodnessOfFit", "--algo", "saturated", "-m", "125",
            "-t", "4", "-s", "1"]  # fmt: skip
    argv += ["--toysFrequentist"] if frequentist else []
    code, text, rows = run(tmp_path, monkeypatch, argv)
    assert code == 0
    assert list(rows["iToy"]) == [1, 2, 3, 4]
    assert np.all(np.isfinite(rows["limit"])) and np.all(rows["limit"] >= 0)
    assert text.count("--- GoodnessOfFit ---") == 4


def test_unsupported_algorithms_are_bad_input(tmp_path):
    options = parse([str(CARD), "-M", "GoodnessOfFit", "--algo", "KS"])
    with pytest.raises(ValueError, match="only saturated"):
        goodness_of_fit.run(build(options))


def recorded() -> dict:
    if not RECORDED.is_file():
        pytest.skip("combine_methods.json not recorded yet")
    section = json.loads(RECORDED.read_text()).get("GoodnessOfFit")
    if not section:
        pytest.skip("no GoodnessOfFit records")
    return section["cards"]


def mass_of(card: str) -> float:
    return json.loads(REAL_RUNS.read_text())["cards"][card]["mass"]


def test_observed_matches_real_combine(tmp_path, monkeypatch):
    worst, compared = 0.0, 0
    for card, rec in recorded().items():
        ref = rec.get("observed", {}).get("statistic")
        if ref is None:
            continue
        argv = [str(DATA / card), "-M", "GoodnessOfFit", "--algo", "saturated",
                "-m", f"{mass_of(card):g}"]  # fmt: skip
        code, _, rows = run(tmp_path, monkeypatch, argv)
        assert code == 0, card
        dev = abs(rows["limit"][0] - ref) / max(abs(ref), 1.0)
        worst = max(worst, dev)
        assert dev < 1e-4, (card, rows["limit"][0], ref)
        compared += 1
    assert compared > 0


@pytest.mark.parametrize("key", ["toys", "toys_frequentist"])
def test_toy_distributions_match_real_combine(tmp_path, monkeypatch, key):
    compared = 0
    for card, rec in recorded().items():
        ref = rec.get(key, {}).get("statistics")
        if not ref:
            continue
        argv = [str(DATA / card), "-M", "GoodnessOfFit", "--algo", "saturated",
                "-m", f"{mass_of(card):g}", "-t", "100", "-s", "1"]  # fmt: skip
        if key == "toys_frequentist":
            argv.append("--toysFrequentist")
        code, _, rows = run(tmp_path, monkeypatch, argv)
        assert code == 0, card
        p = stats.ks_2samp(rows["limit"], ref).pvalue
        assert p > 1e-3, (card, p)
        compared += 1
    if not compared:
        pytest.skip(f"no {key} records")
