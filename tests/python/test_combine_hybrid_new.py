"""hifit combine -M HybridNew --LHCmode LHC-limits.

Reference computed exactly in the same run: a one-bin counting card
(statistical_routines_tutorial/datacard_obs12.txt, 12 events on s = 2.3, b = 5.4)
with its nuisances frozen, where the LHC test statistic q(n) has a closed form and
CLs+b / CLb are Poisson sums over n. Toy results must agree within 4 of their own MC
errors (CLs: binomial errors as RooStats; the limit: the error of Combine's
exponential fit, which underestimates the spread between seeds by up to ~2x, hence
the 4). Recorded real-Combine numbers (combine_methods.json, HybridNew) are compared
when present, within 4 combined MC errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import uproot
from scipy import optimize, stats

from hifit.combine.methods import hybrid_new
from hifit.combine.options import parse
from hifit.combine.runner import run_options
from hifit.combine.setup import build
from hifit.infer.hybrid_new import HybridNew

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".." / "shared" / "data" / "combine"
CARD = DATA / "tutorials" / "statistical_routines_tutorial" / "datacard_obs12.txt"
RECORDED = ROOT / "tests" / "python" / "references" / "combine_methods.json"
REAL_RUNS = DATA / "references" / "combine_real_runs.json"
FROZEN = ["--freezeParameters", "allConstrainedNuisances"]


def card_counts() -> tuple[float, float, float]:
    """(observed, signal, background) read from the card."""
    text = CARD.read_text()
    n = float(re.search(r"^observation\s+(\S+)", text, re.M)[1])
    s, b = (float(x) for x in re.search(r"^rate\s+(\S+)\s+(\S+)", text, re.M).groups())
    return n, s, b


def exact_cls(r: float) -> float:
    """LHC statistic: q = 2 (nu(r) - nu(r^) + n ln(nu(r^)/nu(r))), r^ in [0, r]."""
    n_obs, s, b = card_counts()
    n = np.arange(0, 400, dtype=float)
    nu_r = r * s + b
    r_hat = np.clip((n - b) / s, 0.0, r)
    nu_hat = r_hat * s + b
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 2 * (nu_r - nu_hat + np.where(n > 0, n * np.log(nu_hat / nu_r), 0.0))
    q_obs = q[int(n_obs)]
    tail = q >= q_obs - 2e-4  # Combine's EPS on the observed statistic
    clsb = stats.poisson.pmf(n, nu_r)[tail].sum()
    clb = stats.poisson.pmf(n, b)[tail].sum()
    return clsb / clb


def run(tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    out: list[str] = []
    options = parse(argv)
    code = run_options(options, echo=out.append)
    rows = uproot.open(tmp_path / options.output_name())["limit"].arrays(library="np")
    return code, "".join(out), rows


def test_single_point_cls_matches_exact(tmp_path, monkeypatch):
    argv = [str(CARD), "-M", "HybridNew", "--LHCmode", "LHC-limits", "--singlePoint",
            "r=5", "-T", "2000", "--fullBToys", "--clsAcc", "0", *FROZEN]  # fmt: skip
    code, text, rows = run(tmp_path, monkeypatch, argv)
    assert code == 0
    assert re.search(r"CLs = \S+ \+/- \S+", text)
    cls, err = rows["limit"][0], rows["limitErr"][0]
    assert err > 0
    assert abs(cls - exact_cls(5.0)) < 4 * err


def test_limit_matches_exact(tmp_path, monkeypatch):
    argv = [str(CARD), "-M", "HybridNew", "--LHCmode", "LHC-limits", "-T", "300",
            "--clsAcc", "0.01", "--rMax", "20", *FROZEN]  # fmt: skip
    code, text, rows = run(tmp_path, monkeypatch, argv)
    assert code == 0
    assert re.search(r"Limit: r < \S+ \+/- \S+ @ 95% CL", text)
    exact = optimize.brentq(lambda r: exact_cls(r) - 0.05, 0.1, 20.0)
    limit, err = rows["limit"][0], rows["limitErr"][0]
    assert abs(limit - exact) < 4 * err + 0.1  # + rAbsAcc, Combine's bisection goal


def test_only_lhc_mode():
    """Without --LHCmode LHC-limits / --testStat LHC: bad input (exit 2)."""
    setup = build(parse([str(CARD), "-M", "HybridNew"]))
    with pytest.raises(ValueError, match="LHC"):
        hybrid_new.run(setup)


def recorded_runs() -> list[tuple[str, str, str, float, float]]:
    """(card, record, command, value, MC error) of every recorded HybridNew run."""
    if not RECORDED.is_file():
        return []
    cards = json.loads(RECORDED.read_text()).get("HybridNew", {}).get("cards", {})
    out = []
    for key, rec in cards.items():
        card = key.split(" (")[0]
        for name, run_ in rec.items():
            if not isinstance(run_, dict) or "command" not in run_:
                continue
            value = run_.get("limit", run_.get("CLs"))
            error = run_.get("limit_err", run_.get("CLs_err"))
            # every run: the CI command, the single points and the observed and
            # expected (--expectedFromGrid 0.5) limit searches (~1-3 s each)
            if value is not None and error is not None:
                out.append((card, name, run_["command"], value, error))
    return out


@pytest.mark.parametrize(
    ("card", "name", "command", "value", "error"),
    recorded_runs() or [pytest.param(None, None, None, 0, 0, id="none")],
)
def test_matches_real_combine(tmp_path, monkeypatch, card, name, command, value, error):
    """The real Combine's HybridNew runs (combine_methods.json), re-run with the same
    options: limits / CLs within 4 combined MC errors (see the module docstring)."""
    if card is None:
        pytest.skip("no HybridNew records in combine_methods.json")
    argv = []
    for token in command.split()[1:]:
        if token == "ws.root" or token.endswith(card):
            token = str(DATA / card)
        if token != "--saveHybridResult":
            argv.append(token)
    if not any(t in ("-m", "--mass") for t in argv):
        mass = json.loads(REAL_RUNS.read_text())["cards"][card]["mass"]
        argv += ["-m", f"{mass:g}"]
    code, _, rows = run(tmp_path, monkeypatch, argv)
    assert code == 0
    err = np.hypot(rows["limitErr"][-1], error)
    assert abs(rows["limit"][-1] - value) < 4 * err, (name, rows["limit"][-1], value)


def test_expected_from_grid_and_clsplusb_rows(tmp_path, monkeypatch):
    """--expectedFromGrid q: the observed statistic replaced by the q quantile of the
    b-only toys, the row tagged quantileExpected = q; --rule CLsplusb prints Pmu and
    reports CLs+b, which is CLs times CLb <= CLs."""
    base = [str(CARD), "-M", "HybridNew", "--LHCmode", "LHC-limits", "--singlePoint",
            "5", "-T", "1000", "--fullBToys", "--clsAcc", "0", *FROZEN]  # fmt: skip
    code, _, rows = run(tmp_path, monkeypatch, [*base, "--expectedFromGrid", "0.5"])
    assert code == 0 and rows["quantileExpected"][0] == pytest.approx(0.5)
    _, text, pmu = run(tmp_path, monkeypatch, [*base, "--rule", "CLsplusb", "-n", "b"])
    assert "Pmu = " in text
    _, _, cls = run(tmp_path, monkeypatch, [*base, "-n", "c"])
    assert 0 < pmu["limit"][0] <= cls["limit"][0]


def combine_cls_quantile_statistic(q_b, q_sb, quantile):
    """The rule of Combine's HybridNew::applyClsQuantile (its default --clsQuantiles
    1), written independently in numpy as a reference:
    each b-only toy, by its position in the sorted b-only toys, gets CLs = P(q_sb >=
    q) / (its tail fraction); the toy where that CLs distribution reaches `quantile`."""
    b, s = np.sort(q_b), np.sort(q_sb)
    tail = (len(b) - np.arange(len(b))) / len(b)
    pmu = (len(s) - np.searchsorted(s, b, side="left")) / len(s)
    order = np.lexsort((b, pmu / tail))
    k = int(np.argmax(np.arange(1, len(b) + 1) >= quantile * len(b)))
    return b[order][k]


def test_expected_uses_combines_cls_quantile():
    """--expectedFromGrid q: CLs at the b-only toy Combine's applyClsQuantile picks
    (not the plain b-only quantile where toys tie),
    recomputed from the toy distributions hifit returns."""
    argv = [str(CARD), "-M", "HybridNew", "--LHCmode", "LHC-limits", *FROZEN]
    setup = build(parse(argv))  # discrete statistic: many ties
    for quantile in (0.025, 0.16, 0.5):  # at r = 2 the plain quantile differs
        engine = HybridNew(
            setup.data, setup.model, **setup.fit_kwargs(), toys=400,
            full_b_toys=True, cls_acc=0, expected_quantile=quantile,
        )  # fmt: skip
        p = engine.eval(2.0)
        q = combine_cls_quantile_statistic(p.q_b, p.q_sb, quantile) - 2e-4
        sb, b = np.mean(np.asarray(p.q_sb) >= q), np.mean(np.asarray(p.q_b) >= q)
        assert p.cls == pytest.approx(sb / b, rel=1e-12), quantile
