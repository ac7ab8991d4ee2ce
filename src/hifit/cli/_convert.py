"""`hifit convert`: Combine datacard <-> pyhf JSON workspace."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..input_files import check_regular_file
from ..io import check_outputs
from ._common import cli

_CARD_SUFFIXES = {".txt", ".dat", ".card"}


def _kind(path: str, what: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in _CARD_SUFFIXES:
        return "card"
    if suffix == ".json":
        return "workspace"
    raise click.UsageError(
        f"cannot tell the format of {what} {path!r} from its extension "
        "(.txt/.dat/.card: datacard, .json: pyhf workspace)"
    )


def _parse_poi_map(items: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        process, sep, poi = item.partition("=")
        if not sep or not process or not poi:
            raise click.BadParameter(
                f"expected PROCESS=POI, found {item!r}", param_hint="--poi-map"
            )
        pairs.append((process, poi))
    return pairs


@cli.command("convert")
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The converted file (.json workspace, or .txt card).",
)
@click.option(
    "--mass",
    type=float,
    default=120.0,
    show_default=True,
    help="$MASS in the card's shapes lines (card -> workspace).",
)
@click.option(
    "--poi-map",
    multiple=True,
    metavar="PROCESS=POI",
    help="Scale signal processes matching the glob by their own POI (repeatable; "
    "default: one POI r for every signal).",
)
@click.option(
    "--shapes-file",
    type=click.Path(dir_okay=False),
    help="ROOT file for the templates (workspace -> card; default: "
    "<card stem>_shapes.root next to the card).",
)
@click.option("--measurement", help="Measurement to convert (default: the first).")
def convert_command(
    input_file: str,
    output: str,
    mass: float,
    poi_map: tuple[str, ...],
    shapes_file: str | None,
    measurement: str | None,
) -> None:
    """Convert a Combine datacard to a pyhf workspace or back.

    The direction follows the extensions (INPUT card.txt -o ws.json, or INPUT
    ws.json -o card.txt). Everything the target format cannot express exactly is
    printed, one line each.
    """
    from .. import convert

    source, target = _kind(input_file, "INPUT"), _kind(output, "OUTPUT")
    if source == target:
        raise click.UsageError(
            f"INPUT and OUTPUT are both a {source}; convert a card to .json or a "
            "workspace to .txt"
        )
    if not os.path.lexists(input_file):
        raise click.UsageError(f"INPUT {input_file!r} does not exist")
    check_regular_file(input_file, "a datacard" if source == "card" else "a workspace")
    shapes = None
    if source == "workspace":  # convert's default: <card stem>_shapes.root beside it
        shapes = shapes_file or Path(output).with_name(
            Path(output).stem + "_shapes.root"
        )
    check_outputs([output, shapes], [input_file])
    if source == "card":
        if shapes_file or measurement:
            raise click.UsageError(
                "--shapes-file and --measurement apply to workspace -> card only"
            )
        result = convert.card_to_workspace(
            input_file, output, mass=mass, poi_map=_parse_poi_map(poi_map)
        )
        spec = result.workspace.spec()
        inexact = result.inexact
        nsamples = sum(len(c["samples"]) for c in spec["channels"])
        written = (
            f"{output} ({_plural(len(spec['channels']), 'channel')}, "
            f"{_plural(nsamples, 'sample')})"
        )
    else:
        if poi_map:
            raise click.UsageError("--poi-map applies to card -> workspace only")
        card = convert.workspace_to_card(
            input_file, output, shapes_file=shapes_file, measurement=measurement
        )
        inexact = card.inexact
        written = f"{output} and {card.shapes_path}"
    for line in inexact:
        click.echo(f"not exact: {line}")
    count = f"{_plural(len(inexact), 'item')} not kept exactly"
    click.echo(f"wrote {written}; {count if inexact else 'exact conversion'}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
