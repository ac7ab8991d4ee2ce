"""`hifit cls | limit | significance | scan | ranking`."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any

import click
import numpy as np

from .. import infer
from .._workspace import PatchSet, Workspace
from ._common import (
    cli,
    jobs_option,
    load_model,
    output_option,
    resolve_jobs,
    workspace_options,
    write_output,
)

_TEST_STATS = click.Choice(["qtilde", "q", "q0"])


def _warn_invalid(valid: bool, message: str) -> None:
    if not valid:
        click.echo(f"warning: not every fit converged: {message}", err=True)


@cli.command()
@workspace_options
@click.option(
    "--mu", type=float, default=1.0, show_default=True, help="Tested POI value."
)
@click.option("--test-stat", type=_TEST_STATS, default="qtilde", show_default=True)
@click.option(
    "--toys", type=click.IntRange(min=1), help="Toy-based instead of asymptotic."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the toys."
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False),
    help="Signal grid: also write a CSV table.",
)
@jobs_option
@output_option
def cls(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    mu: float,
    test_stat: str,
    toys: int | None,
    seed: int,
    csv_file: str | None,
    jobs: int,
    output_file: str | None,
) -> None:
    """CLs of the hypothesis POI = --mu (asymptotic, or with --toys).

    With --patchset and no --patch, every patch of the patchset is evaluated in
    parallel (a signal grid) and the results are written with -o / --csv.
    """
    if patchset is not None and patch is None:
        _grid(workspace, patchset, mu, test_stat, jobs, output_file, csv_file)
        return
    _, model, data = load_model(workspace, patchset, patch, measurement, need_poi=True)
    if toys:
        r = infer.toys.hypotest(
            mu,
            data,
            model,
            ntoys=toys,
            seed=seed,
            jobs=resolve_jobs(jobs),
            test_stat=test_stat,
        )
    else:
        r = infer.hypotest(mu, data, model, test_stat=test_stat)
    payload = {
        "CLs_obs": r.CLs_obs,
        "CLs_exp": r.CLs_exp,
        "CLsb": r.CLsb,
        "CLb": r.CLb,
        "mu": mu,
        "test_stat": test_stat,
        "valid": r.valid,
        "message": r.message,
    }
    click.echo(f"CLs_obs = {r.CLs_obs:.6g}   (CLsb = {r.CLsb:.6g}, CLb = {r.CLb:.6g})")
    click.echo(
        "CLs_exp = " + ", ".join(f"{v:.6g}" for v in r.CLs_exp) + "   (-2σ … +2σ)"
    )
    _warn_invalid(r.valid, r.message)
    write_output(output_file, payload)


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
    points = infer.grid(
        Workspace.load(workspace),
        ps,
        mu=mu,
        test_stat=test_stat,
        jobs=resolve_jobs(jobs),
        progress=True,
    )
    failed = [p.patch for p in points if not p.valid]
    click.echo(f"{len(points)} patches evaluated, {len(failed)} with failed fits")
    for name in failed:
        click.echo(f"warning: {name}: not every fit converged", err=True)
    write_output(
        output_file,
        {
            "labels": ps.labels,
            "mu": mu,
            "test_stat": test_stat,
            "results": [p.to_dict() for p in points],
        },
    )
    if csv_file:
        _write_csv(csv_file, ps.labels, points)


def _write_csv(path: str, labels: list[str], points: list[Any]) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as out:
        writer = csv.writer(out)
        bands = ["CLs_exp_m2", "CLs_exp_m1", "CLs_exp", "CLs_exp_p1", "CLs_exp_p2"]
        writer.writerow(["patch", *labels, "CLs_obs", *bands, "valid"])
        for p in points:
            writer.writerow([p.patch, *p.values, p.CLs_obs, *p.CLs_exp, p.valid])
    os.replace(tmp, target)


@cli.command()
@workspace_options
@click.option("--level", type=float, default=0.05, show_default=True, help="CLs level.")
@click.option(
    "--scan",
    "scan_spec",
    metavar="LO:HI:N",
    help="Interpolate on a fixed grid of N points instead of root finding.",
)
@output_option
def limit(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    level: float,
    scan_spec: str | None,
    output_file: str | None,
) -> None:
    """Observed and expected CLs upper limits on the POI (asymptotic, qtilde)."""
    _, model, data = load_model(workspace, patchset, patch, measurement, need_poi=True)
    grid = _parse_range(scan_spec, "--scan") if scan_spec else None
    r = infer.upper_limit(data, model, scan=grid, level=level)
    click.echo(f"observed upper limit: {r.observed:.6g}")
    for label, v in zip(
        ["-2σ", "-1σ", "median", "+1σ", "+2σ"], r.expected, strict=True
    ):
        click.echo(f"expected {label:>6}: {v:.6g}")
    _warn_invalid(r.valid, r.message)
    write_output(output_file, r.to_dict())


def _parse_range(spec: str, hint: str) -> np.ndarray:
    try:
        lo, hi, n = spec.split(":")
        return np.linspace(float(lo), float(hi), int(n))
    except ValueError:
        raise click.BadParameter(
            f"expected LO:HI:N, found {spec!r}", param_hint=hint
        ) from None


@cli.command()
@workspace_options
@output_option
def significance(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    output_file: str | None,
) -> None:
    """Discovery significance (q0), observed and expected (Asimov at POI = 1)."""
    _, model, data = load_model(workspace, patchset, patch, measurement, need_poi=True)
    r = infer.significance(data, model)
    click.echo(
        f"observed: p0 = {r.observed_p_value:.6g}, Z = {r.observed_significance:.4f}"
    )
    click.echo(
        f"expected: p0 = {r.expected_p_value:.6g}, Z = {r.expected_significance:.4f}"
    )
    _warn_invalid(r.valid, r.message)
    write_output(output_file, r.to_dict())


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
@jobs_option
@output_option
def scan(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    pars: tuple[str, ...],
    ranges: tuple[str, ...],
    jobs: int,
    output_file: str | None,
) -> None:
    """Profile-likelihood scan of one or two parameters (-2 Δln L)."""
    _, model, data = load_model(workspace, patchset, patch, measurement)
    names = list(pars) or (
        [model.config.par_names[model.config.poi_index]]
        if model.config.poi_index is not None
        else []
    )
    if not names or len(names) > 2:
        raise click.UsageError("give one or two --par (or use a model with a POI)")
    for name in names:
        if name not in model.config.par_names:
            raise click.BadParameter(f"no parameter named {name!r}", param_hint="--par")
    if ranges and len(ranges) != len(names):
        raise click.UsageError("give one --range per --par")
    best = infer.fit(data, model)
    grids = []
    for k, name in enumerate(names):
        if ranges:
            grids.append(_parse_range(ranges[k], "--range"))
        else:
            i = model.config.par_names.index(name)
            lo, hi = model.config.suggested_bounds()[i]
            x, s = best.bestfit[i], best.uncertainty[i] or 1.0
            grids.append(np.linspace(max(lo, x - 2 * s), min(hi, x + 2 * s), 21))
    r = infer.scan(
        data,
        model,
        names if len(names) == 2 else names[0],
        grids[0],
        grids[1] if len(names) == 2 else None,
        jobs=resolve_jobs(jobs),
    )
    if len(names) == 1:
        for x, d in zip(r.values_x, r.delta_twice_nll, strict=True):
            click.echo(f"{names[0]} = {x:12.6g}   -2Δln L = {d:10.5f}")
    else:
        click.echo(
            f"2D scan of {names[0]} × {names[1]}: {r.delta_twice_nll.size} points"
        )
    if not r.valid.all():
        click.echo(
            f"warning: {int((~r.valid).sum())} scan fits did not converge", err=True
        )
    write_output(output_file, r.to_dict())


@cli.command()
@workspace_options
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Parameters shown in the table.",
)
@jobs_option
@output_option
def ranking(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    top: int,
    jobs: int,
    output_file: str | None,
) -> None:
    """Impact of every nuisance parameter on the POI (cabinetry's ranking)."""
    _, model, data = load_model(workspace, patchset, patch, measurement, need_poi=True)
    r = infer.ranking(data, model, jobs=resolve_jobs(jobs))
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
    _warn_invalid(r.valid, f"{r.failed_fits} impact fits failed")
    write_output(output_file, r.to_dict())
