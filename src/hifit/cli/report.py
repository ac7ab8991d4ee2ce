"""A self-contained HTML report of a ``hifit run`` output folder.

:func:`write` reads what the run wrote into the folder (``run.json``,
``workspace.json``, ``fit.json``, ``ranking.json``, ``limit.json``,
``significance.json``, ``scan.json`` — hifit result documents —, ``tables/*.txt``
and ``figures/*.png``; a ``hypotest.json`` written by `hifit cls -o` is read too)
and writes ``report.html`` next to them: the run and its inputs (hifit version,
config and input files with SHA-256 digests), fit status and validity, fit
results, POI, limit and significance, p-values, yield tables, ranking, the
pre-/post-fit templates (data/MC figures), the modifier grid and every other
figure, each embedded as a base64 PNG. The page loads no external resources.
Missing inputs are skipped with a note in the page.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from .. import results
from ..io import write_text_atomic
from ._report_html import esc as _esc
from ._report_html import fmt as _fmt
from ._report_html import note as _note
from ._report_html import table as _table
from ._report_sections import (
    inputs_section,
    modifiers_section,
    pvalues_section,
    read_run,
    status_section,
)

__all__ = ["FIGURE_ORDER", "figure_files", "render", "write"]

#: figure name prefixes in the order they appear in the report
FIGURE_ORDER = (
    "pulls",
    "correlation_matrix",
    "*_prefit",
    "*_postfit",
    "ranking",
    "scan_",
    "limit",
)

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { border-bottom: 2px solid #444; }
h2 { margin-top: 2em; border-bottom: 1px solid #aaa; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eee; }
tr.poi td { font-weight: bold; background: #fff7d6; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
.note { color: #8a5a00; font-style: italic; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 520px; border: 1px solid #ddd; }
figcaption { text-align: center; font-size: 0.9em; }
.label { font-size: 1.3em; }
.failed { color: #a00000; font-weight: bold; }
.ok { color: #006400; }
"""

# sets the page title to "N/M images loaded" once the page has loaded, so a headless
# browser can check that every embedded image decoded
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.getElementsByTagName("img");
  var ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; }
  }
  document.title = ok + "/" + imgs.length + " images loaded";
});
"""


BLINDED = (
    "Blinded (hifit run --blind): every result, table and figure is on the pre-fit "
    "Asimov data set; the observed data were not used."
)


def _read(folder: Path, kind: str) -> dict[str, Any] | None:
    """The ``kind`` result document of a run folder (``<kind>.json``), or None."""
    try:
        return results.load(folder / f"{kind}.json", kind)
    except results.InvalidResult:
        return None


def _fit_section(fit: dict[str, Any] | None) -> str:
    out = ['<h2 id="fit">Fit results</h2>']
    if fit is None:
        return out[0] + _note("No fit results (fit.json missing or unreadable).")
    pars = fit["parameters"]
    rows = [[p["name"], _fmt(p["value"]), _fmt(p["uncertainty"] or 0.0)] for p in pars]
    classes = ["poi" if p["name"] == fit.get("poi") else "" for p in pars]
    out.append(_table(["parameter", "value", "uncertainty"], rows, classes))
    out.append(f"<p>-2 ln L at the best fit: {_fmt(fit['twice_nll'])}</p>")
    return "".join(out)


def _poi_section(fit: dict[str, Any] | None) -> str:
    out = '<h2 id="poi">Parameter of interest</h2>'
    poi = fit.get("poi") if fit else None
    if not poi:
        return out + _note("No parameter of interest in the model: skipped.")
    par = next(p for p in fit["parameters"] if p["name"] == poi)
    return out + (
        f"<p><b>{_esc(poi)}</b> = {_fmt(par['value'])} "
        f"± {_fmt(par['uncertainty'] or 0.0)}</p>"
    )


def _limit_section(lim: dict[str, Any] | None, sig: dict[str, Any] | None) -> str:
    out = ['<h2 id="limit">Upper limit and significance</h2>']
    if lim:
        names = ["observed", "expected -2σ", "expected -1σ", "expected (median)"]
        names += ["expected +1σ", "expected +2σ"]
        values = [lim["observed"], *lim["expected"]]
        rows = [[n, _fmt_limit(v)] for n, v in zip(names, values, strict=True)]
        cl = 1.0 - lim["level"]
        out.append(_table([f"{cl:.0%} CL upper limit", "POI value"], rows))
        if lim.get("notes"):
            out.append(_note(lim["notes"]))
    else:
        out.append(_note("No upper limit (model without a POI?): skipped."))
    if sig:
        rows = [
            ["observed", _fmt(sig["observed_significance"])],
            ["expected", _fmt(sig["expected_significance"])],
        ]
        out.append(_table(["discovery significance", "σ"], rows))
    else:
        out.append(_note("No discovery significance (model without a POI?): skipped."))
    return "".join(out)


def _fmt_limit(value: float | None) -> str:
    return "none" if value is None else _fmt(value)


def _yields_section(folder: Path) -> str:
    out = ['<h2 id="yields">Yield tables</h2>']
    files = sorted(folder.glob("yields_per_*.txt")) if folder.is_dir() else []
    # per channel before per bin, pre-fit before post-fit
    files.sort(key=lambda p: ("per_bin" in p.name, "post-fit" in p.name))
    if not files:
        out.append(_note("No yield tables found in tables/: skipped."))
    for path in files:
        out.append(f"<h3>{_esc(path.stem)}</h3><pre>{_esc(path.read_text())}</pre>")
    return "".join(out)


def _ranking_section(ranking: dict[str, Any] | None) -> str:
    out = '<h2 id="ranking">Impact ranking</h2>'
    if not ranking:
        return out + _note("No ranking (model without a POI?): skipped.")
    columns = ["postfit_up", "postfit_down", "prefit_up", "prefit_down"]
    header = ["parameter", "post-fit impact up", "post-fit impact down"]
    header += ["pre-fit impact up", "pre-fit impact down"]
    # largest post-fit impact first, as in the ranking figure
    pars = sorted(
        ranking["parameters"],
        key=lambda p: max(abs(p["postfit_up"]), abs(p["postfit_down"])),
        reverse=True,
    )
    rows = [[p["name"], *(f"{p[c]:+.4f}" for c in columns)] for p in pars]
    return out + _table(header, rows)


def _figure_rank(path: Path) -> tuple[int, str]:
    stem = path.stem
    for i, pattern in enumerate(FIGURE_ORDER):
        if pattern.startswith("*"):
            if stem.endswith(pattern[1:]):
                return i, stem
        elif stem.startswith(pattern):
            return i, stem
    return len(FIGURE_ORDER), stem


def figure_files(out_dir: str | os.PathLike[str]) -> list[Path]:
    """The PNG figures of a run folder, in report order."""
    folder = Path(out_dir) / "figures"
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.png"), key=_figure_rank)


def _is_template_figure(path: Path) -> bool:
    """The data/MC figures (stacked pre-/post-fit templates): ``*_prefit``,
    ``*_postfit``, with ``_log`` for a logarithmic axis."""
    stem = path.stem.removesuffix("_log")
    return stem.endswith(("_prefit", "_postfit"))


def _embedded(files: list[Path]) -> str:
    out = []
    for path in files:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        out.append(
            f'<figure><img src="data:image/png;base64,{data}" '
            f'alt="{_esc(path.stem)}"><figcaption>{_esc(path.name)}</figcaption>'
            "</figure>"
        )
    return "".join(out)


def _templates_section(out_dir: Path) -> str:
    out = '<h2 id="templates">Templates: pre- and post-fit</h2>'
    files = [p for p in figure_files(out_dir) if _is_template_figure(p)]
    if not files:
        return out + _note("No data/MC figures found in figures/: skipped.")
    return out + _embedded(files)


def _figures_section(out_dir: Path) -> str:
    out = '<h2 id="figures">Figures</h2>'
    files = [p for p in figure_files(out_dir) if not _is_template_figure(p)]
    if not files:
        return out + _note("No figures found in figures/: skipped.")
    return out + _embedded(files)


def _heading(label: str | None) -> str:
    if not label:
        return "<h1>hifit report</h1>"
    experiment, _, text = label.strip().partition(" ")
    return (
        f'<h1>hifit report <span class="label"><b>{_esc(experiment)}</b> '
        f"<i>{_esc(text.strip())}</i></span></h1>"
    )


def render(out_dir: str | os.PathLike[str], label: str | None = None) -> str:
    """The report page of a run folder, as HTML text; ``label``: the experiment
    label of the heading (default: the run's, from ``run.json``)."""
    folder = Path(out_dir)
    run = read_run(folder)
    kinds = ("fit", "ranking", "limit", "significance", "scan", "hypotest")
    docs = {kind: _read(folder, kind) for kind in kinds}
    fit = docs["fit"]
    body = [
        _heading(label or (run or {}).get("label")),
        f"<p>Run folder: <code>{_esc(folder.resolve())}</code></p>",
        *([_note(BLINDED)] if fit and fit.get("data") == "asimov" else []),
        inputs_section(run),
        status_section(docs),
        _fit_section(fit),
        _poi_section(fit),
        _limit_section(docs["limit"], docs["significance"]),
        pvalues_section(docs),
        _yields_section(folder / "tables"),
        _ranking_section(docs["ranking"]),
        _templates_section(folder),
        modifiers_section(folder),
        _figures_section(folder),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>hifit report</title>"
        f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write(out_dir: str | os.PathLike[str], label: str | None = None) -> Path:
    """Write ``report.html`` into a run folder (atomically) and return its path."""
    folder = Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder {folder} not found")
    target = folder / "report.html"
    write_text_atomic(target, render(folder, label))
    return target
