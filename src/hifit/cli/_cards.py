"""`hifit combine-cards`: combineCards.py without CMSSW."""

from __future__ import annotations

import click

from ..datacard import combine
from ..io import check_outputs
from ._common import cli


def _labelled(items: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        label, sep, path = item.partition("=")
        if not sep:
            label, path = "", item  # a bare path is labelled chN, as combineCards.py
        if not path:
            raise click.BadParameter(
                f"expected LABEL=CARD, found {item!r}", param_hint="CARDS"
            )
        out.append((label or f"ch{len(out) + 1}", path))
    return out


@cli.command("combine-cards")
@click.argument("cards", nargs=-1, required=True, metavar="LABEL=CARD...")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the combined card here (atomically) instead of to standard output.",
)
def combine_cards(cards: tuple[str, ...], output: str | None) -> None:
    """Merge Combine datacards into one, as combineCards.py does.

    Each CARD is given as LABEL=PATH. The bin of a single-bin card is renamed
    to LABEL; the bins of a multi-bin card get the prefix LABEL_; label "." keeps
    the bin names. A bare PATH gets the label chN (N: its position). Processes with
    the same name are merged (signal and background roles must agree), nuisances
    with the same name are correlated, and the ROOT file names of shapes lines are
    rewritten relative to the output card's directory (the current directory when
    printing to standard output).

    Example: hifit combine-cards sr=sr.txt cr=cr.txt -o combined.txt
    """
    labelled = _labelled(cards)
    check_outputs([output], [path for _, path in labelled])
    text = combine(labelled, output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)
