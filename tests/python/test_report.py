"""`hifit run` writes figures and a self-contained HTML report; Chromium renders it."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hifit.cli import report
from hifit.results import document

SECTIONS = (
    "inputs",
    "status",
    "fit",
    "poi",
    "limit",
    "pvalues",
    "yields",
    "ranking",
    "templates",
    "modifiers",
    "figures",
)
LABEL = "ATLAS Internal"
# pulls, correlation matrix, data/MC pre- and post-fit for SR and CR, ranking,
# scan of the POI, limit
N_FIGURES = 9
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _hifit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "hifit.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("report")
    subprocess.run(
        [sys.executable, "-m", "hifit.examples.demo", str(base / "demo")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    out = base / "out"
    config = str(base / "demo" / "config.yml")
    proc = _hifit("run", config, "-o", str(out), "--label", LABEL, cwd=base)
    assert "[8/9] figures" in proc.stderr
    assert "[9/9] report" in proc.stderr
    return out


def test_run_writes_figures(run_dir: Path) -> None:
    pngs = sorted(p.stem for p in (run_dir / "figures").glob("*.png"))
    assert pngs == sorted(
        [
            "pulls",
            "correlation_matrix",
            "SR_prefit",
            "SR_postfit",
            "CR_prefit",
            "CR_postfit",
            "ranking",
            "scan_mu_signal",
            "limit",
        ]
    )
    for stem in pngs:
        assert (run_dir / "figures" / f"{stem}.png").read_bytes()[:8] == PNG_MAGIC
        assert (run_dir / "figures" / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"


def test_report_content(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    for section in SECTIONS:
        assert f'<h2 id="{section}">' in page
    assert "mu_signal" in page
    assert "yields_per_channel_post-fit" in page
    assert "yields_per_bin_pre-fit" in page
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert page.count("<img") == len(images) == N_FIGURES
    for data in images:
        assert base64.b64decode(data)[:8] == PNG_MAGIC
    # self-contained: no external resources
    assert not re.search(r'(src|href)="(https?:|//|file:)', page)
    assert 'class="note"' not in page  # nothing missing for a model with a POI
    # no temporary file left behind
    assert not list(run_dir.glob(".report.html.*"))


def test_report_command_rewrites(run_dir: Path) -> None:
    target = run_dir / "report.html"
    before = target.read_text()
    target.unlink()
    proc = _hifit("report", str(run_dir), cwd=run_dir)
    assert "report.html" in proc.stdout
    assert target.read_text() == before


def test_missing_inputs_are_noted(tmp_path: Path) -> None:
    fit = document(
        "fit",
        {
            "parameters": [{"name": "a", "value": 1.0, "uncertainty": 0.5}],
            "poi": None,
            "twice_nll": 3.0,
        },
    )
    (tmp_path / "fit.json").write_text(json.dumps(fit))
    page = report.write(tmp_path).read_text()
    for section in SECTIONS:
        assert f'<h2 id="{section}">' in page
    assert "No parameter of interest" in page
    assert "No ranking" in page
    assert "No upper limit" in page
    assert "No yield tables" in page
    assert "No figures" in page
    assert "No run.json" in page
    assert "No p-values" in page
    assert "No data/MC figures" in page
    assert "No workspace.json" in page
    assert "<img" not in page


def _section(page: str, name: str) -> str:
    """The HTML of one section: from its heading to the next one."""
    start = page.index(f'<h2 id="{name}">')
    end = page.find("<h2 ", start + 1)
    return page[start : end if end > 0 else None]


def _rows(section: str) -> list[list[str]]:
    """The cells of every table row of a section, unescaped."""
    return [
        [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section)
    ]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _doc(run_dir: Path, kind: str) -> dict:
    return json.loads((run_dir / f"{kind}.json").read_text())


def test_report_inputs(run_dir: Path) -> None:
    import hifit

    page = (run_dir / "report.html").read_text()
    rows = dict(r for r in _rows(_section(page, "inputs")) if len(r) == 2)
    config = (run_dir.parent / "demo" / "config.yml").resolve()
    ntuples = (run_dir.parent / "demo" / "ntuples.root").resolve()
    assert rows["results written by hifit"] == hifit.__version__
    assert rows["report written by hifit"] == hifit.__version__
    assert rows["config"] == str(config)
    assert rows["config SHA-256"] == _sha256(config)
    assert rows[str(ntuples)] == _sha256(ntuples)  # the one ntuple file
    text = re.search(r'<pre id="config-text">(.*?)</pre>', page, re.S)
    assert text is not None and html.unescape(text.group(1)) == config.read_text()


def test_report_fit_status(run_dir: Path) -> None:
    section = _section((run_dir / "report.html").read_text(), "status")
    rows = dict(r for r in _rows(section) if len(r) == 2)
    fit, ranking = _doc(run_dir, "fit"), _doc(run_dir, "ranking")
    assert fit["valid"] and rows["converged"] == "yes"
    assert rows["minimizer status"] == fit["status"] == "converged"
    assert rows["EDM"] == f"{fit['edm']:.3g}"
    assert rows["covariance"] == "accurate (Hessian positive definite)"
    assert rows["iterations"] == str(fit["iterations"])
    assert rows["parameters"] == str(len(fit["parameters"]))
    assert rows["ranking"] == (
        f"{ranking['refits']} refits, {ranking['failed_fits']} failed"
    )
    scan = _doc(run_dir, "scan")
    assert rows["scan"] == f"{sum(scan['valid'])} of {len(scan['valid'])} points valid"
    assert "Every fit converged." in section and "Failed fits" not in section


def test_report_p_values(run_dir: Path) -> None:
    rows = _rows(_section((run_dir / "report.html").read_text(), "pvalues"))
    sig, cls = _doc(run_dir, "significance"), _doc(run_dir, "hypotest")
    for which in ("observed", "expected"):
        assert [which, f"{sig[f'{which}_p_value']:.4g}"] == [
            r[:2] for r in rows if r and r[0] == which
        ][0]
    assert cls["mu"] == 1.0
    observed = next(r for r in rows if r and r[0] == "POI = 1, observed")
    assert observed[1:] == [f"{cls[k]:.4g}" for k in ("CLs_obs", "CLsb", "CLb")]
    bands = ("-2σ", "-1σ", "median", "+1σ", "+2σ")
    for band, value in zip(bands, cls["CLs_exp"], strict=True):
        row = next(r for r in rows if r and r[0] == f"POI = 1, expected {band}")
        assert row[1] == f"{value:.4g}"


def test_report_templates_and_figures(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    templates = re.findall(r'alt="([^"]+)"', _section(page, "templates"))
    assert sorted(templates) == ["CR_postfit", "CR_prefit", "SR_postfit", "SR_prefit"]
    others = re.findall(r'alt="([^"]+)"', _section(page, "figures"))
    assert others == [
        "pulls",
        "correlation_matrix",
        "ranking",
        "scan_mu_signal",
        "limit",
    ]


def test_report_modifier_grid(run_dir: Path) -> None:
    """Every (channel, sample) cell lists the modifiers of workspace.json."""
    rows = _rows(_section((run_dir / "report.html").read_text(), "modifiers"))
    spec = json.loads((run_dir / "workspace.json").read_text())
    samples = sorted({s["name"] for c in spec["channels"] for s in c["samples"]})
    header = re.findall(
        r"<th>(.*?)</th>", _section((run_dir / "report.html").read_text(), "modifiers")
    )
    assert header[1:] == samples
    by_channel = {r[0]: r[1:] for r in rows if r}
    assert sorted(by_channel) == sorted(c["name"] for c in spec["channels"])
    for channel in spec["channels"]:
        cells = dict(zip(samples, by_channel[channel["name"]], strict=True))
        for sample in channel["samples"]:
            expected = {f"{m['name']} ({m['type']})" for m in sample["modifiers"]}
            assert set(cells[sample["name"]].split(", ")) == expected


def test_report_label(run_dir: Path, tmp_path: Path) -> None:
    """The run's label heads its report; `hifit report --label` replaces it."""
    page = (run_dir / "report.html").read_text()
    assert '<span class="label"><b>ATLAS</b> <i>Internal</i></span>' in page
    assert json.loads((run_dir / "run.json").read_text())["label"] == LABEL
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    _hifit("report", str(copy), "--label", "CMS Preliminary", cwd=tmp_path)
    page = (copy / "report.html").read_text()
    assert '<span class="label"><b>CMS</b> <i>Preliminary</i></span>' in page


def test_failed_fits_are_named(tmp_path: Path) -> None:
    fit = document(
        "fit",
        {
            "parameters": [{"name": "a", "value": 1.0, "uncertainty": 0.0}],
            "poi": None,
            "twice_nll": 3.0,
            "valid": False,
            "status": "maximum number of iterations reached",
            "edm": 0.25,
            "iterations": 1000,
        },
    )
    ranking = document(
        "ranking",
        {
            "valid": False,
            "refits": 4,
            "failed_fits": 1,
            "message": "a refit did not converge",
            "parameters": [],
        },
    )
    (tmp_path / "fit.json").write_text(json.dumps(fit))
    (tmp_path / "ranking.json").write_text(json.dumps(ranking))
    section = _section(report.render(tmp_path), "status")
    rows = dict(r for r in _rows(section) if len(r) == 2)
    assert rows["converged"] == "NO"
    assert rows["EDM"] == "0.25"
    assert rows["covariance"] == "not computed (no minimum)"
    assert "Failed fits" in section
    assert "fit to data: maximum number of iterations reached" in section
    assert "ranking: 1 of 4 impact refits: a refit did not converge" in section


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


def test_report_renders_in_chromium(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "no chromium binary on PATH (Debian package `chromium`, installed by "
            "`make system-deps`)"
        )
    url = (run_dir / "report.html").resolve().as_uri()
    common = [
        binary,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]

    # the report's script sets the title to the number of decoded images
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr
    title = re.search(r"<title>([^<]*)</title>", dom.stdout)
    assert title is not None
    assert title.group(1) == f"{N_FIGURES}/{N_FIGURES} images loaded"

    screenshot = tmp_path / "report.png"
    shot = subprocess.run(
        [
            *common,
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={screenshot}",
            "--window-size=1200,3000",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0, shot.stderr
    console_errors = [
        line
        for line in shot.stderr.splitlines()
        if ("Uncaught" in line or "ERROR:CONSOLE" in line) and "report.html" in line
    ]
    assert not console_errors
    data = screenshot.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 50_000  # a rendered page with plots, not a blank one
    with capsys.disabled():
        print(f"\nreport screenshot: {screenshot}")
