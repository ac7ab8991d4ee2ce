"""`hifit fit | ranking | scan | limit --figures DIR [--label TEXT]`.

Each command runs in-process with -o; every figure it saves is kept (the saving
function is wrapped), and the numbers its artists show are compared with the JSON
result the same run wrote. The files must carry cabinetry's names and be PDFs.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402

from hifit.cabinetry.visualize import utils as vis_utils  # noqa: E402
from hifit.cli import _figures  # noqa: E402
from hifit.cli import main as hifit_main  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
TWO_BIN = DATA / "pyhf-docs-json" / "2-bin_1-channel.json"
COUPLED = (
    DATA / "validation-workspaces" / "validation_2bin_2channel_coupledhistosys.json"
)

pytestmark = pytest.mark.skipif(not TWO_BIN.is_file(), reason="shared data missing")


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """file name -> the figure saved there, for every figure the command saves."""
    figures: dict[str, object] = {}
    original = vis_utils.save_and_close

    def keep(fig, path, close_figure):
        original(fig, path, False)
        if path is not None:
            figures[Path(path).name] = fig

    monkeypatch.setattr(vis_utils, "save_and_close", keep)
    original_2d = _figures.scan_2d_figure

    def keep_2d(doc, label):
        fig = original_2d(doc, label)
        figures["2d"] = fig
        return fig

    monkeypatch.setattr(_figures, "scan_2d_figure", keep_2d)
    return figures


def run(*args: object) -> int:
    try:
        hifit_main([str(a) for a in args])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def _is_pdf(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]


def _texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def test_fit_pulls_and_correlation(tmp_path, saved, capsys):
    out = tmp_path / "figs"
    assert run("fit", TWO_BIN, "--figures", out, "-o", tmp_path / "fit.json") == 0
    assert "figure written to" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "correlation_matrix.pdf",
        "pulls.pdf",
    ]
    assert all(_is_pdf(p) for p in out.iterdir())
    doc = json.loads((tmp_path / "fit.json").read_text())
    pars = [p for p in doc["parameters"] if p["uncertainty"]]

    ax = saved["pulls.pdf"].axes[0]
    (errorbar,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    x, _ = errorbar.lines[0].get_data()
    np.testing.assert_array_equal(x, [p["value"] for p in pars])
    (bars,) = errorbar.lines[2]  # horizontal error bars: value ± uncertainty
    spans = np.array([seg[:, 0] for seg in bars.get_segments()])
    np.testing.assert_allclose(
        spans[:, 1] - spans[:, 0], [2 * p["uncertainty"] for p in pars], rtol=1e-12
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == [p["name"] for p in pars]

    image = saved["correlation_matrix.pdf"].axes[0].get_images()[0]
    np.testing.assert_array_equal(image.get_array(), doc["correlation"])
    assert "ATLAS" not in _texts(saved["pulls.pdf"])  # no label unless asked


def test_ranking_impacts(tmp_path, saved):
    out = tmp_path / "figs"
    code = run(
        "ranking", TWO_BIN, "--figures", out, "--label", "ATLAS Internal",
        "-o", tmp_path / "ranking.json",
    )  # fmt: skip
    assert code == 0
    assert _is_pdf(out / "ranking.pdf")
    doc = json.loads((tmp_path / "ranking.json").read_text())
    fig = saved["ranking.pdf"]
    pars = sorted(
        doc["parameters"],
        key=lambda p: max(abs(p["postfit_up"]), abs(p["postfit_down"])),
        reverse=True,
    )
    ax_pulls, ax_impact = fig.axes
    bars = [c for c in ax_impact.containers if isinstance(c, BarContainer)]
    keys = ["prefit_up", "prefit_down", "postfit_up", "postfit_down"]
    for container, key in zip(bars, keys, strict=True):
        np.testing.assert_array_equal(
            [patch.get_width() for patch in container], [p[key] for p in pars]
        )
    assert [t.get_text() for t in ax_pulls.get_yticklabels()] == [
        p["name"] for p in pars
    ]
    texts = _texts(fig)
    assert "ATLAS" in texts and "Internal" in texts


@pytest.mark.parametrize("label", [None, "CMS Preliminary"])
def test_scan_1d(tmp_path, saved, label):
    out = tmp_path / "figs"
    extra = ["--label", label] if label else []
    code = run(
        "scan", TWO_BIN, "--range", "0:2:9", "--figures", out, *extra,
        "-o", tmp_path / "scan.json",
    )  # fmt: skip
    assert code == 0
    assert _is_pdf(out / "scan_mu.pdf")
    doc = json.loads((tmp_path / "scan.json").read_text())
    fig = saved["scan_mu.pdf"]
    x, y = fig.axes[0].lines[0].get_data()
    np.testing.assert_array_equal(x, doc["values"])
    np.testing.assert_array_equal(y, doc["delta_twice_nll"])
    assert ("Preliminary" in _texts(fig)) == bool(label)


def test_scan_2d(tmp_path, saved):
    out = tmp_path / "figs"
    code = run(
        "scan", COUPLED, "--par", "mu", "--par", "coupled_histosys",
        "--range", "0:3:7", "--range", "-2:2:5", "--figures", out,
        "--label", "LHCb Unofficial", "-o", tmp_path / "scan.json",
    )  # fmt: skip
    assert code == 0
    assert _is_pdf(out / "scan_mu_coupled_histosys.pdf")
    doc = json.loads((tmp_path / "scan.json").read_text())
    scan = _figures.scan_2d_input(doc)
    for i, x in enumerate(doc["values"]):
        for j, y in enumerate(doc["values_y"]):
            k = i * len(doc["values_y"]) + j
            assert (scan.x[k], scan.y[k]) == (x, y)
            assert scan.twice_dnll[k] == doc["delta_twice_nll"][i][j]
    fig = saved["2d"]
    ax = fig.axes[0]
    best = [line for line in ax.lines if line.get_label() == "Best fit"][0]
    assert list(best.get_xydata()[0]) == doc["bestfit"]
    np.testing.assert_allclose(fig.contour_set.levels, [2.30, 5.99])
    texts = _texts(fig)
    assert "LHCb" in texts and "Unofficial" in texts and "CMS" not in texts


def test_limit_brazil(tmp_path, saved):
    out = tmp_path / "figs"
    code = run(
        "limit", TWO_BIN, "--scan", "0:5:11", "--figures", out,
        "-o", tmp_path / "limit.json",
    )  # fmt: skip
    assert code == 0
    assert _is_pdf(out / "limit.pdf")
    doc = json.loads((tmp_path / "limit.json").read_text())
    ax = saved["limit.pdf"].axes[0]
    mu = [p["mu"] for p in doc["scan"]]
    observed, expected = ax.lines[0].get_data(), ax.lines[1].get_data()
    np.testing.assert_array_equal(observed[0], mu)
    np.testing.assert_array_equal(observed[1], [p["CLs_obs"] for p in doc["scan"]])
    np.testing.assert_array_equal(expected[1], [p["CLs_exp"][2] for p in doc["scan"]])
    green, yellow = [c for c in ax.collections if isinstance(c, PolyCollection)]
    # the ±1σ band's upper edge follows CLs_exp[+1σ] (its vertices, drawn forwards
    # along the lower edge and back along the upper one)
    path = green.get_paths()[0].vertices
    upper = {tuple(v) for v in path}
    for p in doc["scan"]:
        assert (p["mu"], p["CLs_exp"][3]) in upper
        assert (p["mu"], p["CLs_exp"][1]) in upper
    assert yellow.get_paths()
    cls_line = [line for line in ax.lines if line.get_linestyle() == "-."][0]
    assert cls_line.get_ydata()[0] == pytest.approx(doc["level"])


def test_label_needs_figures(tmp_path, capsys):
    assert run("fit", TWO_BIN, "--label", "ATLAS Internal") == 2
    assert "--figures" in capsys.readouterr().err
    assert run("fit", TWO_BIN, "--figures", tmp_path, "--label", " ") == 2


def test_bad_input_draws_nothing(tmp_path):
    """Bad input: exit 2 before any work, no figure folder."""
    out = tmp_path / "figs"
    code = run("scan", TWO_BIN, "--range", "0:2:3", "--figures", out, "--par", "nope")
    assert code == 2
    assert not out.exists()
