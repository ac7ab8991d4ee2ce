"""`hifit inspect` and `hifit fit`."""

from __future__ import annotations

from typing import Any

import click

from ..infer import fit as run_fit
from ..infer import goodness_of_fit, minos
from ..io import check_outputs
from ._common import (
    cli,
    exit_if_failed,
    fit_options,
    fit_settings,
    is_datacard,
    load_card_model,
    load_model,
    load_workspace,
    output_option,
    unknown_name,
    workspace_options,
    write_output,
)
from ._figures import check_label, figure_options, write_figures
from ._inspect import render, summary
from ._poi_summary import poi_summary


@cli.command()
@click.argument("workspace", type=click.Path(dir_okay=False))
@click.option("--patchset", type=click.Path(dir_okay=False), help="pyhf patchset JSON.")
@click.option("--patch", help="Name of the patch to apply from --patchset.")
@output_option
def inspect(
    workspace: str, patchset: str | None, patch: str | None, output_file: str | None
) -> None:
    """Summarize a workspace: channels, samples, parameters (as `pyhf inspect`)."""
    check_outputs([output_file], [workspace, patchset])
    info = summary(load_workspace(workspace, patchset, patch))
    click.echo(render(info), nl=False)
    write_output(output_file, info)


@cli.command("fit")
@workspace_options
@click.option(
    "--no-poi",
    is_flag=True,
    help="Fit without a parameter of interest (datacards: every POI fixed at 0).",
)
@fit_options
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
@figure_options
@output_option
def fit_command(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    no_poi: bool,
    asimov: bool,
    fix: tuple[str, ...],
    minos_pars: tuple[str, ...],
    gof: bool,
    figures_dir: str | None,
    figure_label: str | None,
    output_file: str | None,
) -> None:
    """Maximum-likelihood fit: best-fit values, uncertainties and correlations.

    Background-only workspaces whose POI exists only after a signal patch are
    fitted without POI automatically (as with --no-poi). A parameter pinned at a
    bound is marked "at bound"; its uncertainty is the one-sided width towards the
    inside (--minos gives the exact interval). Under the table, the POI with its
    68 % CL interval (MINOS when --minos ran on it, else the Hessian error).
    """
    check_outputs([output_file], [workspace, patchset], folders=[figures_dir])
    check_label(figures_dir, figure_label)
    model, data, preset = _load(workspace, patchset, patch, measurement, no_poi)
    config = model.config
    settings = fit_settings(
        model, data, fix, asimov, card=is_datacard(workspace), preset=preset
    )
    data, init, fixed = settings.data, settings.init, settings.fixed
    for name in minos_pars:
        if name not in config.par_names:
            unknown_name(name, config.par_names, "parameter", "--minos")
        if fixed[config.par_names.index(name)]:
            raise click.BadParameter(
                f"{name!r} is fixed in this fit", param_hint="--minos"
            )
    if all(fixed):  # pyhf's mle.fit does the same: -2 ln L at the fixed values
        click.echo(
            "note: every parameter is fixed: the fit evaluates -2 ln L at the "
            "given values",
            err=True,
        )
    result = run_fit(data, model, init, None, fixed)
    failures = [] if result.valid else [f"fit did not converge: {result.status}"]
    intervals = {}
    if minos_pars and not result.valid:
        failures.append(f"MINOS for {', '.join(minos_pars)} not run (no valid fit)")
    elif minos_pars:
        intervals = minos(
            data,
            model,
            list(minos_pars),
            fit_result=result,
            init_pars=init,
            fixed_params=fixed,
        )
        improved = next(iter(intervals.values())).improved_fit
        if improved is not None:  # the fit had stopped in a local minimum
            click.echo(
                f"note: MINOS found a lower minimum (-2 ln L {improved.twice_nll:.6f} "
                f"< {result.twice_nll:.6f}); the best fit below is refitted from it",
                err=True,
            )
            result = improved
    payload = {**result.to_dict(), "data": "asimov" if asimov else "observed"}
    click.echo(_fit_table(result))
    if intervals:
        payload["minos"] = {n: [i.lower, i.upper] for n, i in intervals.items()}
        payload["minos_at_bound"] = {
            n: [i.lower_at_bound, i.upper_at_bound] for n, i in intervals.items()
        }
        for name, i in intervals.items():
            click.echo(f"MINOS {name}: {_minos_text(i)}")
            if not i.valid:
                failures.append(f"MINOS for {name} failed: {i.message}")
    if result.poi is not None:
        click.echo(poi_summary(result, intervals.get(result.poi), asimov))
    if gof and result.valid:
        g = goodness_of_fit(data, model, result)
        payload["goodness_of_fit"] = g.__dict__
        click.echo(
            f"goodness of fit: -2 ln(L/L_sat) = {g.twice_delta_nll:.4f}, "
            f"ndof = {g.ndof:g}, p-value = {g.p_value:.4f}"
        )
    exit_if_failed(not failures, "; ".join(failures))
    write_output(output_file, payload)
    write_figures("fit", payload, figures_dir, figure_label)


def _load(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    no_poi: bool,
) -> tuple[Any, Any, dict[str, float]]:
    """Model, data and the parameters --no-poi fixes: on a datacard every POI at 0
    (Combine's --freezeParameters r --setParameters r=0)."""
    if not is_datacard(workspace):
        _, model, data = load_model(
            workspace, patchset, patch, measurement, no_poi=no_poi
        )
        return model, data, {}
    built = load_card_model(workspace, patchset, no_poi=False)
    return built.model, built.data, dict.fromkeys(built.pois if no_poi else [], 0.0)


def _minos_text(interval: Any) -> str:
    ends = []
    for side in ("lower", "upper"):
        text = f"{getattr(interval, side):+.6f}"
        if getattr(interval, f"{side}_at_bound"):
            text += " (at bound)"
        ends.append(text)
    return " / ".join(ends)


def _fit_table(result: Any) -> str:
    width = max(len(n) for n in result.labels)
    lines = [f"{'parameter':<{width}}  {'value':>12}  {'uncertainty':>12}"]
    lines.append("-" * len(lines[0]))
    for i, (name, value, unc) in enumerate(
        zip(result.labels, result.bestfit, result.uncertainty, strict=True)
    ):
        if result.fixed[i]:
            err = f"{'(fixed)':>12}"
        elif result.no_effect[i]:
            err = f"{'(no effect)':>12}"
        elif result.at_bound[i]:
            err = f"{unc:12.6f}  at bound (one-sided)"
        else:
            err = f"{unc:12.6f}"
        lines.append(f"{name:<{width}}  {value:12.6f}  {err}")
    lines.append("")
    lines.append(
        f"twice_nll = {result.twice_nll:.6f}   status: {result.status}   "
        f"iterations: {result.iterations}   time: {1e3 * result.wall_time:.1f} ms"
    )
    return "\n".join(lines)
