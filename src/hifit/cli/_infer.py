"""`hifit cls | limit | significance | scan | ranking`."""

from __future__ import annotations

import csv
import math
import sys
from typing import Any

import click
import numpy as np

from .. import infer
from ..io import check_outputs, replacing
from ..pyhf_workspace import PatchSet, Workspace
from ..results import document
from . import _executor
from ._common import (
    MAX_GRID_POINTS,
    FitSettings,
    check_within_bounds,
    cli,
    exit_if_failed,
    finite,
    fit_options,
    fit_settings,
    is_datacard,
    jobs_option,
    load_model,
    output_option,
    parse_grid,
    resolve_jobs,
    unknown_name,
    workspace_options,
    write_output,
)
from ._figures import check_label, figure_options, write_figures

_TEST_STATS = click.Choice(["qtilde", "q", "q0"])
PYHF_NTOYS = 2000  # pyhf's ToyCalculator default

convention_option = click.option(
    "--convention",
    type=click.Choice(["auto", "combine", "pyhf"]),
    default="auto",
    show_default=True,
    help="Whose asymptotic conventions: 'combine' (expected bands at the 2.5/16/50/"
    "84/97.5 % quantiles, as AsymptoticLimits; a-priori expected significance) or "
    "'pyhf' (bands at -2..+2 σ; post-fit Asimov). auto: Combine's for datacards, "
    "pyhf's for JSON workspaces.",
)


def _finite_option(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    return value if value is None else finite(value, f"--{param.name}")


def _level_option(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 < value < 1.0:
        raise click.BadParameter(f"{value} is not in (0, 1)", param_hint="--level")
    return value


def _load(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    fix: tuple[str, ...],
    asimov: bool,
    *,
    need_poi: bool = True,
) -> tuple[Any, FitSettings]:
    """The model and what its fits start from: data (observed or Asimov), initial
    values and fixed flags with --fix applied."""
    _, model, data = load_model(
        workspace, patchset, patch, measurement, need_poi=need_poi
    )
    card = is_datacard(workspace)
    return model, fit_settings(model, data, fix, asimov, card=card)


def _data_label(settings: FitSettings) -> dict[str, str]:
    return {"data": "asimov" if settings.asimov else "observed"}


def _poi_name(model: Any) -> str:
    return model.config.par_names[model.config.poi_index]


def _free_nuisances(model: Any, fixed: list[bool]) -> list[int]:
    poi = model.config.poi_index
    return [i for i, f in enumerate(fixed) if not f and i != poi]


def _require_free_poi(model: Any, settings: FitSettings) -> None:
    """Hypothesis tests need a free POI whose range holds the background-only
    hypothesis (POI = 0)."""
    poi = model.config.poi_index
    if model.config.suggested_fixed()[poi]:
        raise click.UsageError(
            f"the POI {_poi_name(model)} is fixed in the model; "
            "hypothesis tests need it free"
        )
    lo, hi = model.config.suggested_bounds()[poi]
    if not lo <= 0.0 <= hi:
        raise click.UsageError(
            f"the bounds [{lo:g}, {hi:g}] of the POI {_poi_name(model)} exclude the "
            "background-only hypothesis (POI = 0) that hypothesis tests need"
        )
    settings.require_free(model, _poi_name(model), "a hypothesis test")


@cli.command()
@workspace_options
@click.option(
    "--mu",
    type=float,
    default=1.0,
    show_default=True,
    callback=_finite_option,
    help="Tested POI value (within the POI's bounds).",
)
@click.option("--test-stat", type=_TEST_STATS, default="qtilde", show_default=True)
@click.option(
    "--toys",
    type=click.IntRange(1, 1_000_000),
    help="Toy-based instead of asymptotic (at most 10^6 toys).",
)
@click.option(
    "--calctype",
    type=click.Choice(["asymptotics", "toybased"]),
    help="pyhf's name for the calculator: toybased is --toys 2000 (pyhf's default) "
    "unless --toys says how many.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**64 - 1),
    default=0,
    show_default=True,
    help="Seed of the toys (0 … 2^64-1).",
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False),
    help="Signal grid: also write a CSV table.",
)
@convention_option
@fit_options
@jobs_option
@_executor.executor_options
@output_option
def cls(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    mu: float,
    test_stat: str,
    toys: int | None,
    calctype: str | None,
    seed: int,
    csv_file: str | None,
    convention: str,
    asimov: bool,
    fix: tuple[str, ...],
    jobs: int,
    output_file: str | None,
) -> None:
    """CLs of the hypothesis POI = --mu (asymptotic, or with --toys).

    With --patchset and no --patch, every patch of the patchset is evaluated in
    parallel (a signal grid): its table is printed and, with -o / --csv, written.
    Exit code 1 when a fit the result relies on did not converge. With --toys the
    CLs line carries its Monte-Carlo error (binomial errors of CLs+b and CLb
    propagated as Combine's HybridNew does; CLs_obs_error in the JSON).
    """
    check_outputs([output_file, csv_file], [workspace, patchset])
    if calctype == "asymptotics" and toys:
        raise click.BadParameter(
            "--toys asks for the toy-based calculator", param_hint="--calctype"
        )
    if calctype == "toybased":
        toys = toys or PYHF_NTOYS
    if patchset is not None and patch is None:
        if asimov or fix:
            raise click.UsageError(
                "--asimov and --fix apply to one workspace: give --patch (a signal "
                "grid fits every patch on its observed data)"
            )
        _grid(workspace, patchset, mu, test_stat, jobs, output_file, csv_file)
        return
    model, settings = _load(workspace, patchset, patch, measurement, fix, asimov)
    _require_free_poi(model, settings)
    check_within_bounds(model, _poi_name(model), [mu], "--mu")
    data = settings.data
    if toys:
        run = _run_id(
            "cls",
            workspace,
            patchset,
            patch,
            measurement,
            fix,
            asimov,
            mu=mu,
            test_stat=test_stat,
            toys=toys,
            seed=seed,
        )
        with _executor.fan_out(output_file, run, resolve_jobs(jobs)) as (
            ckpt,
            executor,
        ):
            r = infer.toys.hypotest(
                mu,
                data,
                model,
                ntoys=toys,
                seed=seed,
                test_stat=test_stat,
                executor=executor,
                checkpoint=ckpt.job("toys") if ckpt else None,
                progress=True,
                **settings.kwargs(),
            )
    else:
        r = infer.hypotest(
            mu,
            data,
            model,
            test_stat=test_stat,
            convention=convention,
            **settings.kwargs(),
        )
    payload = {**r.to_dict(), "mu": mu, "test_stat": test_stat, **_data_label(settings)}
    error = f" ± {r.CLs_obs_error:.2g}" if toys else ""
    click.echo(
        f"CLs_obs = {r.CLs_obs:.6g}{error}   (CLsb = {r.CLsb:.6g}, CLb = {r.CLb:.6g})"
    )
    click.echo(
        "CLs_exp = " + ", ".join(f"{v:.6g}" for v in r.CLs_exp) + "   (-2σ … +2σ)"
    )
    exit_if_failed(r.valid, r.message)
    write_output(output_file, payload)
    _executor.remove_checkpoint(output_file)


def _grid(
    workspace: str,
    patchset: str,
    mu: float,
    test_stat: str,
    jobs: int,
    output_file: str | None,
    csv_file: str | None,
) -> None:
    ps = PatchSet.load(patchset)
    run = {
        "command": "cls",
        "workspace": workspace,
        "patchset": patchset,
        "mu": mu,
        "test_stat": test_stat,
    }
    with _executor.fan_out(output_file, run, resolve_jobs(jobs)) as (
        ckpt,
        executor,
    ):
        points = infer.grid(
            Workspace.load(workspace),
            ps,
            mu=mu,
            test_stat=test_stat,
            progress=True,
            executor=executor,
            checkpoint=ckpt.job(
                "grid",
                encode=infer.GridPoint.to_dict,
                decode=infer.GridPoint.from_dict,
            )
            if ckpt
            else None,
        )
    click.echo(_grid_table(ps.labels, points))
    failed = [p for p in points if not p.valid]
    click.echo(f"{len(points)} patches evaluated, {len(failed)} with failed fits")
    for p in failed:
        click.echo(f"hifit: {p.patch}: {p.message}", err=True)
    write_output(
        output_file,
        document(
            "grid",
            {
                "labels": ps.labels,
                "mu": mu,
                "test_stat": test_stat,
                "results": [p.to_dict() for p in points],
            },
        ),
    )
    if csv_file:
        _write_csv(csv_file, ps.labels, points)
    _executor.remove_checkpoint(output_file)
    if failed:  # the file keeps every point, the failed ones marked invalid
        sys.exit(1)


def _grid_table(labels: list[str], points: list[Any]) -> str:
    head = ["patch", *labels, "CLs_obs", "CLs_exp", "valid"]
    rows = [
        [p.patch, *(f"{v:g}" for v in p.values), f"{p.CLs_obs:.4g}"]
        + [f"{p.CLs_exp[2]:.4g}", "yes" if p.valid else "NO"]
        for p in points
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    return "\n".join(
        "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True))
        for row in [head, *rows]
    )


def _write_csv(path: str, labels: list[str], points: list[Any]) -> None:
    with replacing(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out)
        bands = ["CLs_exp_m2", "CLs_exp_m1", "CLs_exp", "CLs_exp_p1", "CLs_exp_p2"]
        writer.writerow(["patch", *labels, "CLs_obs", *bands, "valid"])
        for p in points:
            writer.writerow([p.patch, *p.values, p.CLs_obs, *p.CLs_exp, p.valid])


@cli.command()
@workspace_options
@click.option(
    "--level",
    type=float,
    default=0.05,
    show_default=True,
    callback=_level_option,
    help="CLs level, in (0, 1).",
)
@click.option(
    "--scan",
    "scan_spec",
    metavar="LO:HI:N",
    help="Interpolate on a fixed grid of N points instead of root finding.",
)
@convention_option
@figure_options
@fit_options
@jobs_option
@_executor.executor_options
@output_option
def limit(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    level: float,
    scan_spec: str | None,
    convention: str,
    asimov: bool,
    fix: tuple[str, ...],
    jobs: int,
    figures_dir: str | None,
    figure_label: str | None,
    output_file: str | None,
) -> None:
    """Observed and expected CLs upper limits on the POI (asymptotic, qtilde).

    Expected limits are exact crossings of the Asimov profile likelihood (Combine's
    AsymptoticLimits solves the same equation to 0.5 %). Exit code 1 when a fit the
    limits rely on did not converge; 2 when the --scan grid does not bracket every
    limit.

    With --scan the hypothesis tests run in parallel (--jobs threads, or a Dask
    cluster with --scheduler / --dask) and --resume reuses an interrupted run's
    points. Root finding (no --scan) is sequential by nature: each step needs the
    previous one, so it runs in this process (--jobs has no effect there and
    --scheduler, --dask and --resume are refused).
    """
    check_outputs([output_file], [workspace, patchset], folders=[figures_dir])
    check_label(figures_dir, figure_label)
    opts = _executor._options()
    if scan_spec is None and (opts["scheduler"] or opts["dask"] or opts["resume"]):
        raise click.UsageError(
            "--scheduler, --dask and --resume need --scan (root finding is "
            "sequential and runs in this process)"
        )
    model, settings = _load(workspace, patchset, patch, measurement, fix, asimov)
    _require_free_poi(model, settings)
    grid = parse_grid(scan_spec, "--scan") if scan_spec else None
    if grid is None:
        r = infer.upper_limit(
            settings.data,
            model,
            level=level,
            convention=convention,
            **settings.kwargs(),
        )
    else:
        check_within_bounds(model, _poi_name(model), grid, "--scan")
        run = _run_id(
            "limit",
            workspace,
            patchset,
            patch,
            measurement,
            fix,
            asimov,
            scan=[float(x) for x in grid],
            level=level,
            convention=convention,
        )
        with _executor.fan_out(output_file, run, resolve_jobs(jobs)) as (
            ckpt,
            executor,
        ):
            r = infer.upper_limit(
                settings.data,
                model,
                scan=grid,
                level=level,
                convention=convention,
                executor=executor,
                checkpoint=ckpt.job("limit scan") if ckpt else None,
                progress=True,
                **settings.kwargs(),
            )
    click.echo(f"observed upper limit: {_limit_text(r.observed)}")
    labels = (
        ["2.5%", "16%", "50%", "84%", "97.5%"]
        if r.convention == "combine"
        else ["-2σ", "-1σ", "median", "+1σ", "+2σ"]
    )
    for label, v in zip(labels, r.expected, strict=True):
        click.echo(f"expected {label:>6}: {_limit_text(v)}")
    click.echo(f"({r.convention}'s convention)")
    if r.notes:
        click.echo(f"note: {r.notes}")
    failed = [p for p in r.points if not p.valid]
    exit_if_failed(
        not failed,
        f"{len(failed)} of {len(r.points)} hypothesis tests have failed fits, "
        f"the first at mu = {failed[0].mu:g}: {failed[0].message}"
        if failed
        else "",
    )
    if grid is not None and not all(map(math.isfinite, [r.observed, *r.expected])):
        first, last = r.points[0], r.points[-1]
        raise click.BadParameter(
            f"{scan_spec} does not bracket every limit (CLs_obs = "
            f"{first.CLs_obs:.3g} at {first.mu:g}, {last.CLs_obs:.3g} at "
            f"{last.mu:g}; level {level:g}): widen it",
            param_hint="--scan",
        )
    exit_if_failed(r.valid, r.message)
    write_output(output_file, {**r.to_dict(), **_data_label(settings)})
    write_figures("limit", r.to_dict(), figures_dir, figure_label)
    _executor.remove_checkpoint(output_file)


def _run_id(
    command: str,
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    fix: tuple[str, ...],
    asimov: bool,
    **options: Any,
) -> dict[str, Any]:
    """What names a run in its checkpoint: --resume refuses another run's."""
    return {
        "command": command,
        "workspace": workspace,
        "patchset": patchset,
        "patch": patch,
        "measurement": measurement,
        **options,
        "fix": list(fix),
        "asimov": asimov,
    }


def _limit_text(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else "none"


@cli.command()
@workspace_options
@convention_option
@click.option(
    "--expected",
    type=click.Choice(["auto", "prefit", "postfit"]),
    default="auto",
    show_default=True,
    help="Asimov data (POI = 1) of the expected significance: 'prefit' (nuisances "
    "at their initial values: Combine's -t -1 --expectSignal 1) or 'postfit' "
    "(nuisances fitted to data: pyhf's, and Combine's --toysFrequentist). auto: the "
    "convention's (Combine: prefit, pyhf: postfit).",
)
@fit_options
@output_option
def significance(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    convention: str,
    expected: str,
    asimov: bool,
    fix: tuple[str, ...],
    output_file: str | None,
) -> None:
    """Discovery significance (q0), observed and expected (Asimov at POI = 1).

    Z = √q0 (as Combine reports it; finite where the p-value underflows), p0 = 1 - Φ(Z).
    """
    check_outputs([output_file], [workspace, patchset])
    model, settings = _load(workspace, patchset, patch, measurement, fix, asimov)
    _require_free_poi(model, settings)
    r = infer.significance(
        settings.data,
        model,
        convention=convention,
        expected=expected,
        **settings.kwargs(),
    )
    click.echo(
        f"observed: p0 = {r.observed_p_value:.6g}, Z = {r.observed_significance:.4f}"
    )
    click.echo(
        f"expected: p0 = {r.expected_p_value:.6g}, Z = {r.expected_significance:.4f}"
        f"   ({r.expected} Asimov, {r.convention}'s convention)"
    )
    exit_if_failed(r.valid, r.message)
    write_output(output_file, {**r.to_dict(), **_data_label(settings)})


@cli.command()
@workspace_options
@click.option(
    "--par",
    "pars",
    multiple=True,
    metavar="NAME",
    help="Parameter to scan (default: the POI); twice for a 2D scan.",
)
@click.option(
    "--range",
    "ranges",
    multiple=True,
    metavar="LO:HI:N",
    help="Grid per --par (default: best fit ± 2σ, 21 points).",
)
@fit_options
@jobs_option
@figure_options
@_executor.executor_options
@output_option
def scan(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    pars: tuple[str, ...],
    ranges: tuple[str, ...],
    asimov: bool,
    fix: tuple[str, ...],
    jobs: int,
    figures_dir: str | None,
    figure_label: str | None,
    output_file: str | None,
) -> None:
    """Profile-likelihood scan of one or two parameters (-2 Δln L).

    Exit code 1 when the free fit or a fit at a scan point did not converge.
    """
    check_outputs([output_file], [workspace, patchset], folders=[figures_dir])
    check_label(figures_dir, figure_label)
    model, settings = _load(
        workspace, patchset, patch, measurement, fix, asimov, need_poi=False
    )
    data = settings.data
    names = list(pars) or (
        [model.config.par_names[model.config.poi_index]]
        if model.config.poi_index is not None
        else []
    )
    if not names or len(names) > 2:
        raise click.UsageError("give one or two --par (or use a model with a POI)")
    if len(set(names)) != len(names):
        raise click.BadParameter(f"{names[0]!r} is given twice", param_hint="--par")
    for name in names:
        if name not in model.config.par_names:
            unknown_name(name, model.config.par_names, "parameter", "--par")
        if model.config.suggested_fixed()[model.config.par_names.index(name)]:
            # -2Δln L is relative to the best fit with the scanned parameter free
            what = f"{name!r} is fixed in the model; a scan needs it free"
            if not pars:
                raise click.UsageError(f"the POI {what}")
            raise click.BadParameter(what, param_hint="--par")
        settings.require_free(model, name, "a scan")
    if ranges and len(ranges) != len(names):
        raise click.UsageError("give one --range per --par")
    grids = [parse_grid(spec, "--range") for spec in ranges]
    for name, values in zip(names, grids, strict=False):
        check_within_bounds(model, name, values, "--range")
    if np.prod([len(g) for g in grids]) > MAX_GRID_POINTS:
        raise click.BadParameter(
            f"the grid has more than {MAX_GRID_POINTS} points", param_hint="--range"
        )
    best = infer.fit(data, model, **settings.kwargs())
    exit_if_failed(best.valid, f"the free fit did not converge: {best.status}")
    if not grids:
        for name in names:
            i = model.config.par_names.index(name)
            lo, hi = model.config.suggested_bounds()[i]
            x, s = best.bestfit[i], best.uncertainty[i] or 1.0
            grids.append(np.linspace(max(lo, x - 2 * s), min(hi, x + 2 * s), 21))
    run = _run_id(
        "scan",
        workspace,
        patchset,
        patch,
        measurement,
        fix,
        asimov,
        pars=names,
        grids=[list(map(float, g)) for g in grids],
    )
    with _executor.fan_out(output_file, run, resolve_jobs(jobs)) as (
        ckpt,
        executor,
    ):
        r = infer.scan(
            data,
            model,
            names if len(names) == 2 else names[0],
            grids[0],
            grids[1] if len(names) == 2 else None,
            executor=executor,
            checkpoint=ckpt.job("scan") if ckpt else None,
            progress=True,
            **settings.kwargs(),
        )
    if len(names) == 1:
        for x, d in zip(r.values_x, r.delta_twice_nll, strict=True):
            click.echo(f"{names[0]} = {x:12.6g}   -2Δln L = {d:10.5f}")
    else:
        click.echo(_scan_2d_table(names, r))
    bad = np.argwhere(~r.valid)
    if len(bad):
        axes = [r.values_x] if r.values_y is None else [r.values_x, r.values_y]
        points = [
            ", ".join(
                f"{n} = {v[k]:g}" for n, v, k in zip(names, axes, idx, strict=True)
            )
            for idx in bad[:5]
        ]
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        exit_if_failed(
            False, f"scan fits did not converge at {'; '.join(points)}{more}"
        )
    write_output(output_file, {**r.to_dict(), **_data_label(settings)})
    write_figures("scan", r.to_dict(), figures_dir, figure_label)
    _executor.remove_checkpoint(output_file)


def _scan_2d_table(names: list[str], r: Any) -> str:
    """-2Δln L on the grid: rows are the first parameter, columns the second."""
    corner = f"{names[0]} \\ {names[1]}"
    width = max(10, len(corner))
    lines = [f"{corner:>{width}}" + "".join(f"{y:>10.4g}" for y in r.values_y)]
    for x, row in zip(r.values_x, r.delta_twice_nll, strict=True):
        lines.append(f"{x:>{width}.6g}" + "".join(f"{d:>10.4f}" for d in row))
    return "\n".join(lines)


@cli.command()
@workspace_options
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Parameters shown in the table.",
)
@fit_options
@jobs_option
@figure_options
@_executor.executor_options
@output_option
def ranking(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    top: int,
    asimov: bool,
    fix: tuple[str, ...],
    jobs: int,
    figures_dir: str | None,
    figure_label: str | None,
    output_file: str | None,
) -> None:
    """Impact of every nuisance parameter on the POI (cabinetry's ranking).

    Exit code 1 when the free fit or an impact refit did not converge.
    """
    check_outputs([output_file], [workspace, patchset], folders=[figures_dir])
    check_label(figures_dir, figure_label)
    model, settings = _load(workspace, patchset, patch, measurement, fix, asimov)
    _require_free_poi(model, settings)
    if not _free_nuisances(model, settings.fixed):
        raise click.UsageError(
            "every parameter but the POI is fixed: there is no nuisance parameter "
            "to rank"
        )
    run = _run_id("ranking", workspace, patchset, patch, measurement, fix, asimov)
    with _executor.fan_out(output_file, run, resolve_jobs(jobs)) as (
        ckpt,
        executor,
    ):
        r = infer.ranking(
            settings.data,
            model,
            executor=executor,
            checkpoint=ckpt.job("ranking") if ckpt else None,
            progress=True,
            **settings.kwargs(),
        )
    width = max([len(n) for n in r.labels[:top]] + [9])
    click.echo(
        f"{'parameter':<{width}}  {'post up':>10}  {'post down':>10}  "
        f"{'pre up':>10}  {'pre down':>10}"
    )
    for i in range(min(top, len(r.labels))):
        # "*": the shifted value was clipped to the parameter's bound
        cells = [
            f"{getattr(r, k)[i]:+10.5f}" + ("*" if r.clipped[i][j] else " ")
            for k, j in (("postfit_up", 2), ("postfit_down", 3), ("prefit_up", 0))
        ] + [f"{r.prefit_down[i]:+10.5f}" + ("*" if r.clipped[i][1] else "")]
        click.echo(f"{r.labels[i]:<{width}}  " + " ".join(cells))
    if r.clipped.any():
        click.echo(
            f"* clipped to the parameter's bound ({int(r.clipped.sum())} shifts)"
        )
    exit_if_failed(
        r.valid, f"{r.failed_fits} impact refits did not converge: {r.message}"
    )
    write_output(output_file, {**r.to_dict(), **_data_label(settings)})
    write_figures("ranking", r.to_dict(), figures_dir, figure_label)
    _executor.remove_checkpoint(output_file)
