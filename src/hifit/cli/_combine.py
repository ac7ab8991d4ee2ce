"""`hifit combine`: Combine's ``combine`` command line on datacards."""

from __future__ import annotations

import sys

import click

from ._group import cli


@cli.command(
    "combine",
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "allow_interspersed_args": False,
        "help_option_names": [],
    },
    add_help_option=False,
)
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def combine_command(argv: tuple[str, ...]) -> None:
    """Run a Combine method on a datacard with Combine's options and outputs.

    Usage as Combine's: hifit combine CARD -M METHOD [-m MASS] [-n NAME] [...].
    Methods: AsymptoticLimits (default), Significance, MultiDimFit, and the others
    hifit implements. Writes higgsCombine<NAME>.<METHOD>.mH<MASS>.root with the
    `limit` tree Combine writes. Options that only tune Combine's minimizer are
    accepted and have no effect. hifit's --scheduler ADDRESS / --dask local:N run
    the fan-outs (MultiDimFit --algo grid points, HybridNew and GoodnessOfFit
    toys) on a Dask cluster; finished grid points and toys are kept in
    <output>.checkpoint.jsonl while the run goes, and hifit's --resume reuses those
    of an interrupted run of the same command line.
    """
    from ..combine import OptionError, run

    if not argv or "-h" in argv or "--help" in argv:
        from ..combine.options import describe

        click.echo(click.get_current_context().get_help())
        click.echo(describe(list(argv)))
        return
    args, cluster = _cluster_options(list(argv))
    resume = "--resume" in args
    args = [a for a in args if a != "--resume"]
    try:
        if cluster:
            from ..executor import get_executor, using

            with get_executor(**cluster) as ex, using(ex):
                code = run(args, resume=resume)
        else:
            code = run(args, resume=resume)
    except OptionError as err:
        raise click.UsageError(str(err)) from None
    sys.exit(code)


def _cluster_options(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """hifit's own --scheduler ADDRESS / --dask local:N, taken out of Combine's
    options: the fan-outs of the method (MultiDimFit --algo grid) run there."""
    rest, found = [], {}
    it = iter(argv)
    for arg in it:
        name, eq, value = arg.partition("=")
        if name in ("--scheduler", "--dask"):
            value = value if eq else next(it, None)
            if value is None:
                raise click.UsageError(f"{name} needs a value")
            if name == "--dask":
                from ..executor import parse_dask_option

                try:
                    parse_dask_option(value)
                except ValueError as err:
                    raise click.BadParameter(str(err), param_hint="--dask") from None
            found[name[2:]] = value
        else:
            rest.append(arg)
    if len(found) > 1:
        raise click.UsageError("give either --scheduler or --dask, not both")
    return rest, found
