"""The ``hifit`` command line: expected failures print one line and exit with code 2."""

from __future__ import annotations

import sys

import click

from ..exceptions import HifitError
from . import _cards, _convert, _fit, _infer, _workflow  # noqa: F401  (registers the commands)
from ._common import cli

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="hifit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("hifit: aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        click.echo(f"hifit: error: {err.format_message()}", err=True)
        sys.exit(2)
    except (HifitError, OSError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        click.echo(f"hifit: error: {message}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
