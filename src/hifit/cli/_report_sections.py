"""The report's sections on how the results came about: the run and its inputs
(``run.json``), the status and validity of every fit, the p-values, and the
modifier grid of the workspace (``workspace.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._report_html import esc, fmt, fmt_p, note, table

Documents = dict[str, dict[str, Any] | None]


def read_run(folder: Path) -> dict[str, Any] | None:
    """``run.json`` of a run folder (written by `hifit run`), or None."""
    try:
        doc = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == "hifit.run" else None


def inputs_section(run: dict[str, Any] | None) -> str:
    from .. import __version__

    out = ['<h2 id="inputs">Run and inputs</h2>']
    if run is None:
        out.append(f"<p>Report written by hifit {esc(__version__)}.</p>")
        out.append(note("No run.json (the folder was not written by `hifit run`)."))
        return "".join(out)
    rows = [
        ["results written by hifit", run.get("hifit_version", "?")],
        ["report written by hifit", __version__],
        ["config", run["config"]["path"]],
        ["config SHA-256", run["config"]["sha256"]],
    ]
    out.append(table(["run", ""], rows))
    inputs = run.get("inputs", [])
    if inputs:
        out.append(f"<h3>Input files ({len(inputs)})</h3>")
        out.append(
            table(["file", "SHA-256"], [[i["path"], i["sha256"]] for i in inputs])
        )
    else:
        out.append(note("No input files recorded."))
    out.append(
        "<details><summary>config</summary>"
        f'<pre id="config-text">{esc(run["config"].get("text", ""))}</pre></details>'
    )
    return "".join(out)


def covariance_status(fit: dict[str, Any]) -> str:
    """What the fit's status says of its covariance (hifit computes it only at a
    converged minimum, where the Hessian of the free parameters must be positive
    definite)."""
    if fit.get("status") == "converged":
        return "accurate (Hessian positive definite)"
    if "not positive definite" in str(fit.get("status", "")):
        return "failed: Hessian not positive definite"
    return "not computed (no minimum)"


def failures(docs: Documents) -> list[str]:
    """Every fit of the run that failed, named."""
    out = []
    fit, ranking = docs.get("fit"), docs.get("ranking")
    if fit is not None and not fit.get("valid", True):
        out.append(f"fit to data: {fit.get('status')}")
    if ranking is not None and not ranking.get("valid", True):
        out.append(
            f"ranking: {ranking.get('failed_fits')} of {ranking.get('refits')} "
            f"impact refits: {ranking.get('message')}"
        )
    for kind, what in (("limit", "upper limit"), ("significance", "significance")):
        doc = docs.get(kind)
        if doc is not None and not doc.get("valid", True):
            out.append(f"{what}: {doc.get('message')}")
    scan = docs.get("scan")
    if scan is not None:
        bad = [
            f"{x:g}"
            for x, ok in zip(scan["values"], scan.get("valid", []), strict=False)
            if ok is False
        ]
        if bad:
            out.append(f"scan of {scan['parameters'][0]}: fits at {', '.join(bad)}")
    return out


def status_section(docs: Documents) -> str:
    out = ['<h2 id="status">Fit status and validity</h2>']
    fit = docs.get("fit")
    if fit is None:
        out.append(note("No fit results: no fit status."))
    else:
        names = [p["name"] for p in fit["parameters"]]

        def flagged(key: str) -> str:
            hits = [p["name"] for p in fit["parameters"] if p.get(key)]
            return ", ".join(hits) or "none"

        rows = [
            ["converged", "yes" if fit.get("valid", True) else "NO"],
            ["minimizer status", fit.get("status", "?")],
            ["EDM", f"{fit['edm']:.3g}" if "edm" in fit else "?"],
            ["covariance", covariance_status(fit)],
            ["iterations", fit.get("iterations", "?")],
            ["parameters", len(names)],
            ["at a bound", flagged("at_bound")],
            ["fixed", flagged("fixed")],
        ]
        out.append(table(["fit to data", ""], rows))
    summary = []
    ranking = docs.get("ranking")
    if ranking is not None:
        summary.append(
            ["ranking", f"{ranking.get('refits')} refits, "
             f"{ranking.get('failed_fits')} failed"]
        )  # fmt: skip
    for kind in ("limit", "significance"):
        doc = docs.get(kind)
        if doc is not None:
            summary.append([kind, "valid" if doc.get("valid", True) else "FAILED"])
    scan = docs.get("scan")
    if scan is not None:
        valid = scan.get("valid", [])
        summary.append(
            ["scan", f"{sum(v is True for v in valid)} of {len(valid)} points valid"]
        )
    if summary:
        out.append(table(["inference", "fits"], summary))
    failed = failures(docs)
    if failed:
        items = "".join(f"<li>{esc(f)}</li>" for f in failed)
        out.append(f'<p class="failed">Failed fits:</p><ul class="failed">{items}</ul>')
    elif fit is not None:
        out.append('<p class="ok">Every fit converged.</p>')
    return "".join(out)


def pvalues_section(docs: Documents) -> str:
    out = ['<h2 id="pvalues">p-values</h2>']
    sig = docs.get("significance")
    if sig is not None:
        rows = [
            [
                which,
                fmt_p(sig[f"{which}_p_value"]),
                fmt(sig[f"{which}_significance"]),
            ]
            for which in ("observed", "expected")
        ]
        out.append(table(["discovery (POI = 0)", "p0", "Z (σ)"], rows))
    cls = docs.get("hypotest")
    if cls is not None:
        header = ["hypothesis", "CLs", "CLs+b", "CLb"]
        rows = [[f"POI = {cls['mu']:g}, observed"]]
        rows[0] += [fmt_p(cls["CLs_obs"]), fmt_p(cls["CLsb"]), fmt_p(cls["CLb"])]
        for k, band in enumerate(("-2σ", "-1σ", "median", "+1σ", "+2σ")):
            rows.append([f"POI = {cls['mu']:g}, expected {band}"])
            rows[-1] += [fmt_p(cls["CLs_exp"][k]), "", ""]
        out.append(table(header, rows))
    gof = (docs.get("fit") or {}).get("goodness_of_fit")
    if gof:
        out.append(
            f"<p>Goodness of fit (saturated model): p-value {fmt_p(gof['p_value'])}</p>"
        )
    if len(out) == 1:
        out.append(note("No p-values (no significance or CLs results)."))
    return "".join(out)


def modifier_grid(spec: dict[str, Any]) -> tuple[list[str], list[str], dict]:
    """Channels, samples and (channel, sample) → ``["name (type)", ...]`` of a
    workspace spec, as hifit's modifier map (:mod:`hifit.cabinetry.model_utils`,
    behind ``visualize.modifier_grid``) reads it: channels and samples sorted as
    the model orders them; a pair absent from the workspace has no entry."""
    from ..cabinetry import model_utils

    model, _ = model_utils.model_and_data(spec)
    cells: dict[tuple[str, str], list[str]] = {
        (channel["name"], sample["name"]): []
        for channel in spec["channels"]
        for sample in channel["samples"]
    }
    for (channel, sample, name), types in model_utils._modifier_map(model).items():
        cells.setdefault((channel, sample), []).extend(
            f"{name} ({kind})" for kind in types
        )
    return list(model.config.channels), list(model.config.samples), cells


def modifiers_section(folder: Path) -> str:
    out = ['<h2 id="modifiers">Modifier grid</h2>']
    try:
        spec = json.loads((folder / "workspace.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out[0] + note("No workspace.json: no modifier grid.")
    channels, samples, cells = modifier_grid(spec)

    def cell(channel: str, sample: str) -> str:
        if (channel, sample) not in cells:
            return "(not in this channel)"
        return ", ".join(cells[channel, sample]) or "(no modifiers)"

    rows = [[channel] + [cell(channel, s) for s in samples] for channel in channels]
    out.append(table(["channel \\ sample", *samples], rows))
    out.append(
        "<p>Each cell: the modifiers (name and type) acting on the sample in the "
        "channel, as in cabinetry's modifier_grid figure.</p>"
    )
    return "".join(out)
