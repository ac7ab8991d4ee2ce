"""`hifit combine`: Combine's ``combine`` command line on datacards."""

from __future__ import annotations

import sys

import click

from ._common import cli


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
    accepted and have no effect.
    """
    from ..combine import OptionError, run

    if not argv or argv[0] in ("-h", "--help"):
        click.echo(click.get_current_context().get_help())
        return
    try:
        code = run(list(argv))
    except OptionError as err:
        raise click.UsageError(str(err)) from None
    sys.exit(code)
