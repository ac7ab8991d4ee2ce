"""`hifit templates | workspace | run`: the cabinetry workflow from a YAML config."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..io import check_outputs, save_figure, write_json_atomic
from . import _executor
from ._common import cli, exit_if_failed, jobs_option


def _load_config(path: str) -> dict[str, Any]:
    from ..cabinetry import configuration

    return configuration.load(path)


def _is_ntuple(config: dict[str, Any]) -> bool:
    # cabinetry's rule: ntuple inputs when every sample names a tree
    return all("Tree" in sample for sample in config["Samples"])


def _make_templates(config: dict[str, Any], executor: Any) -> None:
    from ..cabinetry import templates

    if _is_ntuple(config):
        templates.build(config, executor=executor)
    else:
        templates.collect(config)
    templates.postprocess(config)


@cli.command("templates")
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
@jobs_option
@_executor.cluster_options
def templates_command(config: str, jobs: int) -> None:
    """Build template histograms (from ntuples, or collect them from histogram files)
    and post-process them, as cabinetry's `templates` and `postprocess`.

    Ntuples are read and filled in parallel (file × entry-range units) on --jobs
    threads, a --dask LocalCluster or a --scheduler's cluster; the templates are the
    same wherever they were filled."""
    cfg = _load_config(config)
    with _executor.executor(jobs or os.cpu_count() or 1) as executor:
        _make_templates(cfg, executor)
    click.echo("templates written")


@cli.command("workspace")
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
@click.argument("ws_spec", type=click.Path(dir_okay=False))
def workspace_command(config: str, ws_spec: str) -> None:
    """Build the pyhf workspace of a config from its templates and write it."""
    from ..cabinetry import workspace

    check_outputs([ws_spec], [config])
    ws = workspace.build(_load_config(config))
    workspace.save(ws, ws_spec)
    click.echo(f"workspace written to {ws_spec}")


class _Steps:
    """Numbered progress lines with timings, on stderr."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0

    def run(self, label: str, action: Callable[[], Any]) -> Any:
        self.done += 1
        click.echo(f"[{self.done}/{self.total}] {label} ...", err=True, nl=False)
        start = time.perf_counter()
        try:
            result = action()
        except BaseException:
            click.echo(" failed", err=True)  # the error follows on its own line
            raise
        click.echo(f" {time.perf_counter() - start:.2f} s", err=True)
        return result


class _FailedFit(Exception):
    """A fit the run's results rely on did not converge (exit 1, nothing written)."""


def _require(valid: bool, message: str) -> None:
    if not valid:
        raise _FailedFit(message)


@cli.command("run")
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default="hifit-output",
    show_default=True,
    help="Folder for the workspace, results, tables, figures and report.",
)
@click.option(
    "--label",
    metavar="TEXT",
    help='Experiment label on the figures and the report, through mplhep ("ATLAS '
    'Internal": the first word names the experiment).',
)
@click.option(
    "--blind",
    is_flag=True,
    help="Every step on the pre-fit Asimov data set (cabinetry's "
    "model_utils.asimov_data) instead of the observed data: results, tables, "
    "figures and report never show the observations; the report says blinded.",
)
@jobs_option
@_executor.executor_options
def run_command(
    config: str, output_dir: str, label: str | None, blind: bool, jobs: int
) -> None:
    """The whole chain: templates → workspace → fit → ranking, limit and
    significance → yield tables, figures → report, written into one folder. Results
    are the same documents the inference commands write with -o (fit.json,
    ranking.json, limit.json, hypotest.json: CLs at POI = 1, significance.json,
    scan.json).

    Exit code 1 when a fit the results rely on did not converge (naming it); then
    nothing is written into the folder, as every fit runs before the first write.
    run.json records the hifit version, the config and every input file with its
    SHA-256 digest.

    The ranking and POI-scan fits finished so far are kept in
    <OUTPUT_DIR>.checkpoint.jsonl while the run goes: after an interruption --resume
    computes only the missing ones."""
    check_outputs([], [config], folders=[output_dir])
    if label is not None and not label.strip():
        raise click.BadParameter("the label is empty", param_hint="--label")
    out = Path(output_dir)
    # next to the folder, not in it: nothing is written into it before every fit ran
    ckpt_base = str(out.parent / out.name)
    run = {
        "command": "run",
        "config": config,
        "config_sha256": hashlib.sha256(Path(config).read_bytes()).hexdigest(),
        "blind": blind,
    }
    try:
        with (
            _executor.checkpoint(ckpt_base, run) as ckpt,
            _executor.executor(jobs or os.cpu_count() or 1) as executor,
        ):
            _run(config, out, executor, label, blind, ckpt)
    except _FailedFit as err:
        exit_if_failed(False, f"{err}; nothing written to {output_dir}")
    _executor.remove_checkpoint(ckpt_base)


def _run(
    config: str,
    out: Path,
    executor: Any,
    label: str | None,
    blind: bool = False,
    ckpt: Any = None,
) -> None:
    from .. import infer
    from ..cabinetry import model_utils, tabulate, workspace
    from ..cabinetry.fit.results_containers import from_document
    from . import report
    from ._run_inputs import run_document

    steps = _Steps(9)
    cfg = steps.run("reading the config", lambda: _load_config(config))
    steps.run("building templates", lambda: _make_templates(cfg, executor))
    ws = steps.run("building the workspace", lambda: workspace.build(cfg))
    # blinded: the observations are never read into the run
    model, data = model_utils.model_and_data(ws, asimov=blind)
    data_kind = {"data": "asimov" if blind else "observed"}

    def fit() -> Any:
        fitted = infer.fit(data, model)
        _require(fitted.valid, f"the fit to data did not converge: {fitted.status}")
        return fitted

    fitted = steps.run("fitting", fit)
    result = from_document(fitted.to_dict())
    has_poi = model.config.poi_index is not None
    documents: dict[str, dict[str, Any]] = {"fit": {**fitted.to_dict(), **data_kind}}
    if has_poi:

        def ranking() -> None:
            r = infer.ranking(
                data,
                model,
                fit_result=fitted,
                executor=executor,
                checkpoint=ckpt.job("ranking") if ckpt else None,
                progress=True,
            )
            _require(
                r.valid,
                f"ranking: {r.failed_fits} impact refits did not converge: {r.message}",
            )
            documents["ranking"] = {**r.to_dict(), **data_kind}

        def inference() -> None:
            limit = infer.upper_limit(data, model)
            _require(limit.valid, f"upper limit: {limit.message}")
            significance = infer.significance(data, model)
            _require(significance.valid, f"significance: {significance.message}")
            documents["limit"] = {**limit.to_dict(), **data_kind}
            documents["significance"] = {**significance.to_dict(), **data_kind}
            lo, hi = model.config.suggested_bounds()[model.config.poi_index]
            if lo <= 1.0 <= hi:  # CLs of the nominal signal, for the report
                cls = infer.hypotest(1.0, data, model)
                _require(cls.valid, f"CLs at POI = 1: {cls.message}")
                documents["hypotest"] = {**cls.to_dict(), **data_kind}
            scan = _poi_scan(
                infer, data, model, fitted, executor, ckpt.job("scan") if ckpt else None
            )
            documents["scan"] = {**scan, **data_kind}

        steps.run("ranking", ranking)
        steps.run("limit, CLs, significance and POI scan", inference)
    else:
        steps.done += 2

    # every fit converged: from here on only writing
    def results() -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "run.json", run_document(config, cfg, label))
        workspace.save(ws, out / "workspace.json")
        for kind, doc in documents.items():
            write_json_atomic(out / f"{kind}.json", doc)
        predictions: dict[str, Any] = {}
        for which, res in (("prefit", None), ("postfit", result)):
            prediction = model_utils.prediction(model, fit_results=res)
            predictions[which] = prediction
            tabulate.yields(
                prediction, data, table_folder=str(out / "tables"), per_channel=True
            )
        return predictions

    predictions = steps.run("writing results and yield tables", results)
    steps.run(
        "figures",
        lambda: _make_figures(
            out / "figures",
            cfg=cfg,
            data=data,
            result=result,
            predictions=predictions,
            documents=documents,
            label=label,
        ),
    )
    steps.run("report", lambda: report.write(out))
    if has_poi:
        poi = model.config.poi_index
        click.echo(
            f"{model.config.poi_name} = {fitted.bestfit[poi]:.4f} ± "
            f"{fitted.uncertainty[poi]:.4f}"
        )
    if blind:
        click.echo("blinded: every result is on the Asimov data set")
    click.echo(
        f"results in {out}/ (run.json, workspace.json, fit.json, ranking.json, "
        "limit.json, hypotest.json, significance.json, scan.json, tables/, figures/, "
        "report.html)"
    )


def _poi_scan(
    infer: Any, data: Any, model: Any, fitted: Any, executor: Any, checkpoint: Any
) -> Any:
    """-2Δln L of the POI over the best fit ± 3σ (11 points), for the scan figure."""
    poi = model.config.poi_index
    best, sigma = fitted.bestfit[poi], fitted.uncertainty[poi] or 1.0
    lo, hi = model.config.suggested_bounds()[poi]
    grid = np.linspace(max(lo, best - 3 * sigma), min(hi, best + 3 * sigma), 11)
    r = infer.scan(data, model, poi, grid, executor=executor, checkpoint=checkpoint)
    failed = [f"{x:g}" for x, ok in zip(r.values_x, r.valid, strict=True) if not ok]
    _require(
        not failed,
        f"POI scan: fits did not converge at {model.config.poi_name} = "
        + ", ".join(failed),
    )
    return r.to_dict()


@cli.command("report")
@click.argument("output_dir", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--label",
    metavar="TEXT",
    help="Experiment label in the page's heading (default: the one `hifit run "
    "--label` gave, recorded in run.json).",
)
def report_command(output_dir: str, label: str | None) -> None:
    """Write OUTPUT_DIR/report.html, a self-contained HTML page of what `hifit run`
    wrote into OUTPUT_DIR (inputs, fit status, fit, POI, limit, significance,
    p-values, yields, ranking, templates, modifier grid, figures)."""
    from . import report

    if label is not None and not label.strip():
        raise click.BadParameter("the label is empty", param_hint="--label")
    click.echo(f"report written to {report.write(output_dir, label=label)}")


def _make_figures(
    folder: Path,
    *,
    cfg: dict[str, Any],
    data: Any,
    result: Any,
    predictions: dict[str, Any],
    documents: dict[str, dict[str, Any]],
    label: str | None = None,
) -> None:
    """All figures of a run, each saved as PNG and PDF into ``folder``; results are
    drawn from their documents, as `hifit.visualize` draws a file of the CLI;
    ``label``: the experiment label on each."""
    import matplotlib.pyplot as plt

    from ..cabinetry import visualize

    folder.mkdir(parents=True, exist_ok=True)

    def save(fig: Any, name: str) -> None:
        for suffix in ("png", "pdf"):
            save_figure(fig, folder / f"{name}.{suffix}", dpi=100)
        plt.close(fig)

    options: dict[str, Any] = {
        "save_figure": False,
        "close_figure": False,
        "label": label,
    }
    save(visualize.pulls(result, **options), "pulls")
    save(visualize.correlation_matrix(result, **options), "correlation_matrix")
    for which, prediction in predictions.items():
        for entry in visualize.data_mc(prediction, data, config=cfg, **options) or []:
            save(entry["figure"], f"{entry['region'].replace(' ', '-')}_{which}")
    if "ranking" in documents:
        save(visualize.ranking(documents["ranking"], **options), "ranking")
    if "scan" in documents:
        name = documents["scan"]["parameters"][0].replace("[", "_").replace("]", "")
        save(visualize.scan(documents["scan"], **options), f"scan_{name}")
    if "limit" in documents:
        save(visualize.limit(documents["limit"], **options), "limit")
