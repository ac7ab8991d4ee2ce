"""A self-contained HTML report of a ``hifit run`` output folder.

:func:`write` reads what the run wrote into the folder (``fit.json``,
``results.json``, ``tables/*.txt`` and ``figures/*.png``) and writes
``report.html`` next to them: fit results, POI, limit and significance, yield
tables, ranking and every figure embedded as a base64 PNG. The page loads no
external resources. Missing inputs are skipped with a note in the page.
"""

from __future__ import annotations

import base64
import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

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


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with path.open() as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _table(
    header: list[str], rows: list[list[Any]], classes: list[str] | None = None
) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f"<td>{_esc(c)}</td>" for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _fmt(x: float) -> str:
    return f"{x:.4f}"


def _fit_section(fit: dict[str, Any] | None, poi: str | None) -> str:
    out = ['<h2 id="fit">Fit results</h2>']
    if fit is None:
        return out[0] + _note("No fit results (fit.json missing or unreadable).")
    labels = fit.get("labels", [])
    rows = [
        [label, _fmt(value), _fmt(unc)]
        for label, value, unc in zip(
            labels, fit.get("bestfit", []), fit.get("uncertainty", []), strict=False
        )
    ]
    classes = ["poi" if label == poi else "" for label in labels]
    out.append(_table(["parameter", "value", "uncertainty"], rows, classes))
    if "best_twice_nll" in fit:
        out.append(f"<p>-2 ln L at the best fit: {_fmt(fit['best_twice_nll'])}</p>")
    return "".join(out)


def _poi_section(results: dict[str, Any]) -> str:
    out = '<h2 id="poi">Parameter of interest</h2>'
    poi = results.get("poi")
    if not poi:
        return out + _note("No parameter of interest in the model: skipped.")
    return out + (
        f"<p><b>{_esc(poi['name'])}</b> = {_fmt(poi['bestfit'])} "
        f"± {_fmt(poi['uncertainty'])}</p>"
    )


def _limit_section(results: dict[str, Any]) -> str:
    out = ['<h2 id="limit">Upper limit and significance</h2>']
    lim = results.get("limit")
    if lim:
        cl = lim.get("confidence_level", 0.95)
        names = ["observed", "expected -2σ", "expected -1σ", "expected (median)"]
        names += ["expected +1σ", "expected +2σ"]
        values = [lim["observed"], *lim.get("expected", [])]
        rows = [[n, _fmt(v)] for n, v in zip(names, values, strict=False)]
        out.append(_table([f"{cl:.0%} CL upper limit", "POI value"], rows))
    else:
        out.append(_note("No upper limit (model without a POI?): skipped."))
    sig = results.get("significance")
    if sig:
        rows = [
            ["observed", _fmt(sig["observed"])],
            ["expected", _fmt(sig["expected"])],
        ]
        out.append(_table(["discovery significance", "σ"], rows))
    else:
        out.append(_note("No discovery significance (model without a POI?): skipped."))
    return "".join(out)


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


def _ranking_section(results: dict[str, Any]) -> str:
    out = '<h2 id="ranking">Impact ranking</h2>'
    ranking = results.get("ranking")
    if not ranking:
        return out + _note("No ranking (model without a POI?): skipped.")
    has_prefit = "prefit_up" in ranking and "prefit_down" in ranking
    columns = ["postfit_up", "postfit_down"]
    header = ["parameter", "post-fit impact up", "post-fit impact down"]
    if has_prefit:
        columns += ["prefit_up", "prefit_down"]
        header += ["pre-fit impact up", "pre-fit impact down"]
    entries = [
        (label, [float(ranking[c][i]) for c in columns])
        for i, label in enumerate(ranking["labels"])
    ]
    # largest post-fit impact first, as in the ranking figure
    entries.sort(key=lambda e: max(abs(e[1][0]), abs(e[1][1])), reverse=True)
    rows = [[label, *(f"{x:+.4f}" for x in values)] for label, values in entries]
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


def _figures_section(out_dir: Path) -> str:
    out = ['<h2 id="figures">Figures</h2>']
    files = figure_files(out_dir)
    if not files:
        out.append(_note("No figures found in figures/: skipped."))
    for path in files:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        out.append(
            f'<figure><img src="data:image/png;base64,{data}" '
            f'alt="{_esc(path.stem)}"><figcaption>{_esc(path.name)}</figcaption>'
            "</figure>"
        )
    return "".join(out)


def render(out_dir: str | os.PathLike[str]) -> str:
    """The report page of a run folder, as HTML text."""
    folder = Path(out_dir)
    fit = _read_json(folder / "fit.json")
    results = _read_json(folder / "results.json") or {}
    if fit is None and "fit" in results:
        fit = results["fit"]
    poi = (results.get("poi") or {}).get("name")
    notes = []
    if not (folder / "results.json").is_file():
        notes.append(_note("results.json missing: POI, limit and ranking skipped."))
    body = [
        "<h1>hifit report</h1>",
        f"<p>Run folder: <code>{_esc(folder.resolve())}</code></p>",
        *notes,
        _fit_section(fit, poi),
        _poi_section(results),
        _limit_section(results),
        _yields_section(folder / "tables"),
        _ranking_section(results),
        _figures_section(folder),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>hifit report</title>"
        f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write(out_dir: str | os.PathLike[str]) -> Path:
    """Write ``report.html`` into a run folder (atomically) and return its path."""
    folder = Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder {folder} not found")
    target = folder / "report.html"
    text = render(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".report.html.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the page is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
