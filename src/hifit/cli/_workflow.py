"""`hifit templates | workspace | run`: the cabinetry workflow from a YAML config."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..io import write_json_atomic
from ._common import cli


def _load_config(path: str) -> dict[str, Any]:
    from ..cabinetry import configuration

    return configuration.load(path)


def _is_ntuple(config: dict[str, Any]) -> bool:
    # cabinetry's rule: ntuple inputs when every sample names a tree
    return all("Tree" in sample for sample in config["Samples"])


def _make_templates(config: dict[str, Any]) -> None:
    from ..cabinetry import templates

    if _is_ntuple(config):
        templates.build(config)
    else:
        templates.collect(config)
    templates.postprocess(config)


@cli.command("templates")
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
def templates_command(config: str) -> None:
    """Build template histograms (from ntuples, or collect them from histogram files)
    and post-process them, as cabinetry's `templates` and `postprocess`."""
    _make_templates(_load_config(config))
    click.echo("templates written")


@cli.command("workspace")
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
@click.argument("ws_spec", type=click.Path(dir_okay=False))
def workspace_command(config: str, ws_spec: str) -> None:
    """Build the pyhf workspace of a config from its templates and write it."""
    from ..cabinetry import workspace

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
def run_command(config: str, output_dir: str) -> None:
    """The whole chain: templates → workspace → fit → yields → ranking, limit and
    significance → figures → report, written into one folder."""
    from ..cabinetry import fit, model_utils, tabulate, workspace
    from . import report

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps = _Steps(9)
    cfg = steps.run("reading the config", lambda: _load_config(config))
    steps.run("building templates", lambda: _make_templates(cfg))
    ws = steps.run("building the workspace", lambda: workspace.build(cfg))
    workspace.save(ws, out / "workspace.json")
    model, data = model_utils.model_and_data(ws)
    result = steps.run("fitting", lambda: fit.fit(model, data))
    write_json_atomic(out / "fit.json", _fit_payload(result))
    predictions: dict[str, Any] = {}

    def tables() -> None:
        for label, res in (("prefit", None), ("postfit", result)):
            prediction = model_utils.prediction(model, fit_results=res)
            predictions[label] = prediction
            tabulate.yields(
                prediction, data, table_folder=str(out / "tables"), per_channel=True
            )

    steps.run("yield tables", tables)
    has_poi = model.config.poi_index is not None
    summary: dict[str, Any] = {"fit": _fit_payload(result)}
    ranking = lim = None
    if has_poi:
        i = model.config.poi_index
        summary["poi"] = {
            "name": model.config.par_names[i],
            "bestfit": float(result.bestfit[i]),
            "uncertainty": float(result.uncertainty[i]),
        }
        ranking = steps.run(
            "ranking", lambda: fit.ranking(model, data, fit_results=result)
        )
        summary["ranking"] = {
            "labels": list(ranking.labels),
            "postfit_up": list(map(float, ranking.postfit_up)),
            "postfit_down": list(map(float, ranking.postfit_down)),
            "prefit_up": list(map(float, ranking.prefit_up)),
            "prefit_down": list(map(float, ranking.prefit_down)),
        }

        def inference() -> Any:
            lim = fit.limit(model, data)
            sig = fit.significance(model, data)
            summary["limit"] = {
                "observed": float(lim.observed_limit),
                "expected": list(map(float, lim.expected_limit)),
                "confidence_level": float(lim.confidence_level),
            }
            summary["significance"] = {
                "observed": float(sig.observed_significance),
                "expected": float(sig.expected_significance),
            }
            return lim

        lim = steps.run("limit and significance", inference)
    else:
        steps.done += 2
    write_json_atomic(out / "results.json", summary)

    def figures() -> None:
        scan = None
        if has_poi:
            scan = fit.scan(model, data, summary["poi"]["name"])
        _make_figures(
            out / "figures",
            cfg=cfg,
            data=data,
            result=result,
            predictions=predictions,
            ranking=ranking,
            limit=lim,
            scan=scan,
        )

    steps.run("figures", figures)
    steps.run("report", lambda: report.write(out))
    if has_poi:
        poi = summary["poi"]
        click.echo(f"{poi['name']} = {poi['bestfit']:.4f} ± {poi['uncertainty']:.4f}")
    click.echo(
        f"results in {out}/ (workspace.json, fit.json, results.json, tables/, "
        "figures/, report.html)"
    )


@cli.command("report")
@click.argument("output_dir", type=click.Path(file_okay=False, exists=True))
def report_command(output_dir: str) -> None:
    """Write OUTPUT_DIR/report.html, a self-contained HTML page of what `hifit run`
    wrote into OUTPUT_DIR (fit, POI, limit, significance, yields, ranking, figures)."""
    from . import report

    click.echo(f"report written to {report.write(output_dir)}")


def _make_figures(
    folder: Path,
    *,
    cfg: dict[str, Any],
    data: Any,
    result: Any,
    predictions: dict[str, Any],
    ranking: Any,
    limit: Any,
    scan: Any,
) -> None:
    """All figures of a run, each saved as PNG and PDF into ``folder``."""
    import matplotlib.pyplot as plt

    from ..cabinetry import visualize

    folder.mkdir(parents=True, exist_ok=True)

    def save(fig: Any, name: str) -> None:
        for suffix in ("png", "pdf"):
            fig.savefig(folder / f"{name}.{suffix}", dpi=100)
        plt.close(fig)

    options: dict[str, Any] = {"save_figure": False, "close_figure": False}
    save(visualize.pulls(result, **options), "pulls")
    save(visualize.correlation_matrix(result, **options), "correlation_matrix")
    for label, prediction in predictions.items():
        for entry in visualize.data_mc(prediction, data, config=cfg, **options) or []:
            save(entry["figure"], f"{entry['region'].replace(' ', '-')}_{label}")
    if ranking is not None:
        save(visualize.ranking(ranking, **options), "ranking")
    if scan is not None:
        name = scan.name.replace("[", "_").replace("]", "")
        save(visualize.scan(scan, **options), f"scan_{name}")
    if limit is not None:
        save(visualize.limit(limit, **options), "limit")


def _fit_payload(result: Any) -> dict[str, Any]:
    return {
        "labels": list(result.labels),
        "bestfit": [float(x) for x in result.bestfit],
        "uncertainty": [float(x) for x in result.uncertainty],
        "best_twice_nll": float(result.best_twice_nll),
        "correlation": [[float(x) for x in row] for row in result.corr_mat],
    }
