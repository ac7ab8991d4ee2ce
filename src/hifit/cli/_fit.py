"""`hifit inspect` and `hifit fit`."""

from __future__ import annotations

import sys
from typing import Any

import click

from .._inspect import render, summary
from ..infer import fit as run_fit
from ..infer import goodness_of_fit, minos
from ._common import (
    cli,
    load_model,
    load_workspace,
    output_option,
    workspace_options,
    write_output,
)


@cli.command()
@click.argument("workspace", type=click.Path(dir_okay=False))
@click.option("--patchset", type=click.Path(dir_okay=False), help="pyhf patchset JSON.")
@click.option("--patch", help="Name of the patch to apply from --patchset.")
@output_option
def inspect(
    workspace: str, patchset: str | None, patch: str | None, output_file: str | None
) -> None:
    """Summarize a workspace: channels, samples, parameters (as `pyhf inspect`)."""
    info = summary(load_workspace(workspace, patchset, patch))
    click.echo(render(info), nl=False)
    write_output(output_file, info)


def _parse_fix(items: tuple[str, ...]) -> dict[str, float]:
    fixes = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            fixes[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise click.BadParameter(
                f"expected NAME=VALUE, found {item!r}", param_hint="--fix"
            )
    return fixes


@cli.command("fit")
@workspace_options
@click.option("--no-poi", is_flag=True, help="Fit without a parameter of interest.")
@click.option(
    "--fix", multiple=True, metavar="NAME=VALUE", help="Fix a parameter (repeatable)."
)
@click.option(
    "--minos",
    "minos_pars",
    multiple=True,
    metavar="NAME",
    help="Asymmetric MINOS interval for this parameter (repeatable).",
)
@click.option(
    "--goodness-of-fit",
    "gof",
    is_flag=True,
    help="Saturated-model goodness of fit (as cabinetry).",
)
@output_option
def fit_command(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    no_poi: bool,
    fix: tuple[str, ...],
    minos_pars: tuple[str, ...],
    gof: bool,
    output_file: str | None,
) -> None:
    """Maximum-likelihood fit: best-fit values, uncertainties and correlations.

    Background-only workspaces whose POI exists only after a signal patch are
    fitted without POI automatically (as with --no-poi).
    """
    _, model, data = load_model(workspace, patchset, patch, measurement, no_poi=no_poi)
    config = model.config
    init, fixed = config.suggested_init(), config.suggested_fixed()
    for name, value in _parse_fix(fix).items():
        if name not in config.par_names:
            raise click.BadParameter(
                f"no parameter named {name!r} in the model", param_hint="--fix"
            )
        i = config.par_names.index(name)
        init[i], fixed[i] = value, True
    for name in minos_pars:
        if name not in config.par_names:
            raise click.BadParameter(
                f"no parameter named {name!r} in the model", param_hint="--minos"
            )
    result = run_fit(data, model, init, None, fixed)
    payload = result.to_dict()
    click.echo(_fit_table(result))
    if minos_pars and result.valid:
        intervals = minos(
            data,
            model,
            list(minos_pars),
            fit_result=result,
            init_pars=init,
            fixed_params=fixed,
        )
        payload["minos"] = {n: [i.lower, i.upper] for n, i in intervals.items()}
        for name, i in intervals.items():
            click.echo(f"MINOS {name}: {i.lower:+.6f} / {i.upper:+.6f}")
    if gof and result.valid:
        g = goodness_of_fit(data, model, result)
        payload["goodness_of_fit"] = g.__dict__
        click.echo(
            f"goodness of fit: -2 ln(L/L_sat) = {g.twice_delta_nll:.4f}, "
            f"ndof = {g.ndof:g}, p-value = {g.p_value:.4f}"
        )
    write_output(output_file, payload)
    if not result.valid:
        click.echo(f"hifit: fit did not converge: {result.status}", err=True)
        sys.exit(1)


def _fit_table(result: Any) -> str:
    width = max(len(n) for n in result.labels)
    lines = [f"{'parameter':<{width}}  {'value':>12}  {'uncertainty':>12}"]
    lines.append("-" * len(lines[0]))
    for name, value, unc, fixed in zip(
        result.labels, result.bestfit, result.uncertainty, result.fixed, strict=True
    ):
        err = "(fixed)" if fixed else f"{unc:12.6f}"
        lines.append(f"{name:<{width}}  {value:12.6f}  {err:>12}")
    lines.append("")
    lines.append(
        f"twice_nll = {result.twice_nll:.6f}   status: {result.status}   "
        f"iterations: {result.iterations}   time: {1e3 * result.wall_time:.1f} ms"
    )
    return "\n".join(lines)
