"""The ``hifit`` command line."""

from __future__ import annotations

import sys
from typing import Any

import click

from ._inspect import render, summary
from ._io import write_json_atomic
from ._workspace import PatchSet, Workspace
from .exceptions import HifitError
from .infer import fit as run_fit


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hifit")
def cli() -> None:
    """Fast statistical inference on binned likelihoods (pyhf JSON workspaces).

    Every command reads a pyhf workspace; signal hypotheses from a patchset are
    selected with --patchset and --patch.
    """


def _load(workspace: str, patchset: str | None, patch: str | None) -> Workspace:
    if (patchset is None) != (patch is None):
        raise click.UsageError("--patchset and --patch must be given together")
    ws = Workspace.load(workspace)
    return PatchSet.load(patchset).apply(ws, patch) if patchset else ws


_patch_options = [
    click.option(
        "--patchset", type=click.Path(dir_okay=False), help="pyhf patchset JSON."
    ),
    click.option("--patch", help="Name of the patch to apply from --patchset."),
]


def _with_patch_options(func: Any) -> Any:
    for option in reversed(_patch_options):
        func = option(func)
    return func


@cli.command()
@click.argument("workspace", type=click.Path(dir_okay=False))
@_with_patch_options
@click.option(
    "-o", "--output-file", type=click.Path(dir_okay=False), help="Write JSON."
)
def inspect(
    workspace: str, patchset: str | None, patch: str | None, output_file: str | None
) -> None:
    """Summarize a workspace: channels, samples, parameters (as `pyhf inspect`)."""
    info = summary(_load(workspace, patchset, patch))
    click.echo(render(info), nl=False)
    if output_file:
        write_json_atomic(output_file, info)


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
@click.argument("workspace", type=click.Path(dir_okay=False))
@_with_patch_options
@click.option("--measurement", help="Measurement name (default: the first).")
@click.option("--no-poi", is_flag=True, help="Fit without a parameter of interest.")
@click.option(
    "--fix", multiple=True, metavar="NAME=VALUE", help="Fix a parameter (repeatable)."
)
@click.option(
    "-o", "--output-file", type=click.Path(dir_okay=False), help="Write results JSON."
)
def fit_command(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    no_poi: bool,
    fix: tuple[str, ...],
    output_file: str | None,
) -> None:
    """Maximum-likelihood fit: best-fit values, uncertainties and correlations.

    Background-only workspaces whose POI exists only after a signal patch are
    fitted without POI automatically (as with --no-poi).
    """
    ws = _load(workspace, patchset, patch)
    kwargs: dict[str, Any] = {"measurement_name": measurement}
    if no_poi:
        kwargs["poi_name"] = None
    try:
        model = ws.model(**kwargs)
    except HifitError as err:
        if "parameter of interest" not in str(err) or no_poi:
            raise
        click.echo(
            "note: the measurement's POI is not in the model; fitting without POI",
            err=True,
        )
        model = ws.model(measurement_name=measurement, poi_name=None)
    config = model.config
    init, fixed = config.suggested_init(), config.suggested_fixed()
    for name, value in _parse_fix(fix).items():
        if name not in config.par_names:
            raise click.BadParameter(
                f"no parameter named {name!r} in the model", param_hint="--fix"
            )
        i = config.par_names.index(name)
        init[i], fixed[i] = value, True
    result = run_fit(ws.data(model), model, init, None, fixed)
    click.echo(_fit_table(result))
    if output_file:
        write_json_atomic(output_file, result.to_dict())
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: expected failures become one line on stderr and exit code 2."""
    try:
        code = cli.main(args=argv, prog_name="hifit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("hifit: aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        click.echo(f"hifit: error: {err.format_message()}", err=True)
        sys.exit(2)
    except (HifitError, OSError) as err:
        click.echo(f"hifit: error: {err}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
