"""`hifit run` writes figures and a self-contained HTML report; Chromium renders it."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hifit.cli import report
from hifit.results import document

SECTIONS = ("fit", "poi", "limit", "yields", "ranking", "figures")
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
    proc = _hifit("run", str(base / "demo" / "config.yml"), "-o", str(out), cwd=base)
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
    assert "<img" not in page


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
