"""`hifit combine-plot` and hifit.combine.figures on the REAL Combine's output files
(shared/data/combine/references/outputs/htt_multiple_regions) and on files hifit
writes: the numbers each figure shows are checked against the files (read here
with uproot) and the real Combine's recorded results; figures by their structure
(axes, lines, legend text), not pixels."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import uproot  # noqa: E402

from hifit.cli import main  # noqa: E402
from hifit.combine import figures, limit_tree  # noqa: E402
from hifit.datacard import load_model  # noqa: E402
from hifit.infer.scans import scan  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "combine"
OUTPUTS = DATA / "references" / "outputs" / "htt_multiple_regions"
REAL = json.loads((DATA / "references" / "combine_real_runs.json").read_text())
HTT = REAL["cards"]["ci/htt_multiple_regions.txt"]
GRID = OUTPUTS / "higgsCombine.grid.MultiDimFit.mH125.root"
LIMITS = OUTPUTS / "higgsCombine.asymptotic.AsymptoticLimits.mH125.root"
FIT_DIAGNOSTICS = OUTPUTS / "fitDiagnostics.fd.root"

pytestmark = pytest.mark.skipif(
    not GRID.is_file(), reason="shared Combine data missing"
)


def _cli(*argv: str) -> None:
    with pytest.raises(SystemExit) as code:
        main(["combine-plot", *argv])
    assert code.value.code == 0


def test_every_figure_from_real_combine_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # hifit combine writes higgsCombine*.root here
    impacts = tmp_path / "impacts.json"
    with pytest.raises(SystemExit):
        main(
            [
                "combine",
                str(DATA / "tutorials/counting/realistic-counting-experiment.txt"),
                "-M",
                "Impacts",
                "-m",
                "125",
                "-o",
                str(impacts),
            ]
        )
    jobs = {
        "scan": [str(GRID)],
        "impacts": [str(impacts)],
        "limits": [str(LIMITS)],
        "prefit-postfit": [str(FIT_DIAGNOSTICS), "--fit", "prefit"],
    }
    suffix, magic = "pdf", b"%PDF"
    for kind, args in jobs.items():
        out = tmp_path / f"{kind}.{suffix}"
        _cli(kind, *args, "-o", str(out))
        assert out.read_bytes()[:4] == magic, kind


def test_scan_crossings_match_real_combine_singles() -> None:
    """The spline crossings of Combine's own grid agree with Combine's singles
    interval (the grid has steps of 1 in r: 0.02 absolute)."""
    s = figures.read_scan_1d(GRID)
    tree = uproot.open(GRID)["limit"].arrays(library="np")
    assert s.poi == "r"
    assert len(s.x) == len(np.unique(tree["r"]))
    assert s.best == pytest.approx(HTT["r"], abs=1e-6)
    assert s.lo == pytest.approx(HTT["r"] + HTT["r_lo"], abs=0.02)
    assert s.hi == pytest.approx(HTT["r"] + HTT["r_hi"], abs=0.02)
    fig = figures.scan_1d_figure([s])
    ax = fig.axes[0]
    (curve,) = [line for line in ax.lines if line.get_marker() == "o"]
    x, first = np.unique(tree["r"], return_index=True)
    y = 2.0 * tree["deltaNLL"][first]
    assert np.allclose(curve.get_xdata(), x)
    assert np.allclose(curve.get_ydata(), y - y.min())
    flat = [line for line in ax.lines if len(set(line.get_ydata())) == 1]
    levels = sorted(line.get_ydata()[0] for line in flat)
    assert levels == [1.0, 3.84]
    (text,) = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"{s.best:.2f}" in text
    assert f"{s.hi - s.best:+.2f}" in text and f"{s.lo - s.best:+.2f}" in text
    plt.close(fig)


def test_scan_2d_contours(tmp_path: Path) -> None:
    """A 2D grid written as Combine writes it (limit_tree, from hifit's profile
    scan of the two signal strengths): the minimum and the contour levels."""
    built = load_model(
        str(DATA / "tutorials/CAT23001/datacard-5-multi-signal.txt"),
        mass=125,
        poi_map=[("ggH*", "r_ggH"), ("qqH*", "r_qqH")],
    )
    xs, ys = np.linspace(0, 2.5, 6), np.linspace(0, 4, 6)
    r = scan(built.data, built.model, ("r_ggH", "r_qqH"), xs, ys)
    names = built.model.config.par_names
    best = {p: float(r.bestfit[names.index(p)]) for p in ("r_ggH", "r_qqH")}
    rows = [{**best, "deltaNLL": 0.0}] + [
        {"r_ggH": x, "r_qqH": y, "deltaNLL": 0.5 * r.delta_twice_nll[i, j]}
        for i, x in enumerate(xs)
        for j, y in enumerate(ys)
    ]
    path = tmp_path / "higgsCombine.grid2d.MultiDimFit.mH125.root"
    limit_tree.write(path, rows, mass=125, seed=123456)
    s = figures.read_scan_2d(path)
    assert s.pois == ("r_ggH", "r_qqH")
    assert s.best == pytest.approx((best["r_ggH"], best["r_qqH"]), abs=1e-6)
    assert s.twice_dnll.min() == 0.0 and len(s.x) == 37
    fig = figures.scan_2d_figure(s)
    assert list(fig.contour_set.levels) == [2.30, 5.99]
    assert fig.axes[0].get_xlabel() == "r_ggH"
    plt.close(fig)
    out = tmp_path / "scan2d.png"
    _cli("scan", str(path), "-o", str(out))  # two POIs vary: 2D without --2d
    assert figures.scanned_pois(path) == ["r_ggH", "r_qqH"]
    assert figures.scanned_pois(GRID) == ["r"]
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_brazil_band_over_masses(tmp_path: Path, monkeypatch) -> None:
    """hifit combine -M AsymptoticLimits at three masses plus Combine's own file:
    the band holds each file's quantile rows."""
    card = DATA / "tutorials/counting/realistic-counting-experiment.txt"
    monkeypatch.chdir(tmp_path)
    files = []
    for mass in ("120", "130"):
        with pytest.raises(SystemExit):
            main(
                [
                    "combine",
                    str(card),
                    "-M",
                    "AsymptoticLimits",
                    "-m",
                    mass,
                    "-n",
                    f"m{mass}",
                ]
            )
        files.append(Path(f"higgsCombinem{mass}.AsymptoticLimits.mH{mass}.root"))
    band = figures.read_limits([*files, LIMITS])
    assert list(band.mass) == [120.0, 125.0, 130.0]
    tree = uproot.open(LIMITS)["limit"].arrays(library="np")
    for key, q in figures.BRAZIL_QUANTILES.items():
        (value,) = tree["limit"][np.isclose(tree["quantileExpected"], q)]
        assert band.expected[key][1] == value
    assert band.observed[1] == tree["limit"][tree["quantileExpected"] == -1][0]
    fig = figures.limits_figure(band)
    ax = fig.axes[0]
    observed = [line for line in ax.lines if line.get_label() == "Observed"][0]
    assert np.array_equal(observed.get_ydata(), band.observed)
    assert len(ax.collections) == 2  # the 68 % and 95 % bands
    plt.close(fig)


def test_stacks_from_fit_diagnostics() -> None:
    """Every channel of shapes_fit_s: the backgrounds found (those summing to
    total_background), the signal total, and the figure's stack heights."""
    stacks = figures.read_stacks(FIT_DIAGNOSTICS, "fit_s")
    f = uproot.open(FIT_DIAGNOSTICS)
    channels = [
        k
        for k, v in f["shapes_fit_s"].classnames(cycle=False).items()
        if v == "TDirectory"
    ]
    assert [s.channel for s in stacks] == channels
    for s in stacks:
        d = f["shapes_fit_s"][s.channel]
        background = d["total_background"].values()
        assert np.allclose(sum(s.backgrounds.values()), background, rtol=1e-5)
        assert np.allclose(s.signal, d["total_signal"].values())
        assert not {"ggH", "qqH", "WH", "ZH"} & set(s.backgrounds)
        assert len(s.data[0]) == d["data"].member("fNpoints")
    fig = figures.stacks_figure(stacks, "fit_s")
    assert len(fig.axes) == 2 * len(stacks)
    assert "Post-fit (S+B)" in fig.axes[0].get_title(loc="right")
    plt.close(fig)


def test_impacts_figure_order_and_bars(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # hifit combine writes higgsCombine*.root here
    out = tmp_path / "impacts.json"
    with pytest.raises(SystemExit):
        main(
            [
                "combine",
                str(DATA / "tutorials/shapes/simple-shapes-TH1.txt"),
                "-M",
                "Impacts",
                "-m",
                "125",
                "-o",
                str(out),
            ]
        )
    doc = figures.read_impacts(out)
    raw = json.loads(out.read_text())["params"]
    ranked = sorted(raw, key=lambda p: -p["impact_r"])
    assert [p["name"] for p in doc["params"]] == [p["name"] for p in ranked]
    fig = figures.impacts_figure(doc, max_params=3)
    pulls, bars = fig.axes[:2]
    shown = [t.get_text() for t in pulls.get_yticklabels()]
    assert shown == [p["name"] for p in ranked[:3]][::-1]
    widths = sorted(abs(b.get_width()) for b in bars.patches)
    expected = sorted(abs(p["r"][k] - p["r"][1]) for p in ranked[:3] for k in (0, 2))
    assert np.allclose(widths, expected)
    plt.close(fig)


def test_bad_inputs_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "not_root.root"
    bad.write_text("hello")
    with pytest.raises(SystemExit) as code:
        main(["combine-plot", "scan", str(bad), "-o", str(tmp_path / "x.png")])
    assert code.value.code == 2
    with pytest.raises(SystemExit) as code:
        main(
            ["combine-plot", "prefit-postfit", str(GRID), "-o", str(tmp_path / "x.png")]
        )
    assert code.value.code == 2
