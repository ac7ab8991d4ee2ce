"""The ``hifit`` command line: expected failures print one line and exit with code 2."""

from __future__ import annotations

import sys

import click

from ..exceptions import HifitError
from . import _cards, _convert, _fit, _infer, _pyhf, _workflow  # noqa: F401  (registers the commands)
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
        click.echo(f"hifit: error: {_one_line(message)}", err=True)
        sys.exit(2)
    except (ValueError, OverflowError, RecursionError, UnicodeError) as err:
        # inputs Python itself refuses (numbers beyond double range, nesting too deep)
        click.echo(f"hifit: error: {type(err).__name__}: {_one_line(err)}", err=True)
        sys.exit(2)
    except Exception as err:  # never a traceback: one line that says what to report
        click.echo(
            f"hifit: internal error (please report): {type(err).__name__}: "
            f"{_one_line(err)}",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(message: object) -> str:
    return " ".join(str(message).split())
