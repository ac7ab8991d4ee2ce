"""`hifit combine-plot`: the figures Combine users make, from the files Combine (and
``hifit combine``) write: scan, impacts, limits, prefit-postfit."""

from __future__ import annotations

import click

from ._group import cli

FILES = click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False)
)
OUTPUT = click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The figure; its format from the suffix (.pdf, .png, .svg).",
)


@cli.group("combine-plot")
def combine_plot() -> None:
    """Figures from Combine's output files, in mplhep's CMS style.

    \b
    scan            higgsCombine*.MultiDimFit*.root (--algo grid): 1D or 2D
    impacts         impacts.json (combineTool.py -M Impacts, hifit combine -M Impacts)
    limits          higgsCombine*.AsymptoticLimits.mH*.root, one per mass: Brazil band
    prefit-postfit  fitDiagnostics*.root (--saveShapes): stacks per channel
    """


def _save(fig, output: str) -> None:
    import matplotlib.pyplot as plt

    from ..io import save_figure

    save_figure(fig, output, bbox_inches="tight")
    plt.close(fig)
    click.echo(f"written {output}")


def _check(output: str, inputs: tuple[str, ...]) -> None:
    from ..io import check_outputs

    check_outputs([output], inputs)


@combine_plot.command("scan")
@FILES
@OUTPUT
@click.option(
    "--POI",
    "pois",
    multiple=True,
    help="The scanned POI(s) (default: the file's first; two for 2D).",
)
@click.option("--2d", "two_d", is_flag=True, help="A 2D scan: contours of two POIs.")
@click.option("--label", "labels", multiple=True, help="Legend label per file (1D).")
def scan(files, output, pois, two_d, labels) -> None:
    """plot1DScan.py: 2ΔNLL against the POI (several files overlaid), with the
    68 % crossings in the legend; a grid over two POIs (or --2d): 68/95 % contours."""
    from ..combine import figures

    _check(output, files)
    if not pois and len(files) == 1 and len(figures.scanned_pois(files[0])) == 2:
        two_d = True  # a grid over two POIs
    if two_d or len(pois) == 2:
        if len(files) != 1:
            raise click.BadParameter("a 2D scan takes one file", param_hint="FILES")
        fig = figures.scan_2d_figure(figures.read_scan_2d(files[0], pois or None))
    else:
        poi = pois[0] if pois else None
        fig = figures.scan_1d_figure(
            [figures.read_scan_1d(f, poi) for f in files], labels
        )
    _save(fig, output)


@combine_plot.command("impacts")
@click.argument("file", type=click.Path(dir_okay=False))
@OUTPUT
@click.option("--POI", "poi", default=None, help="The POI (default: the first).")
@click.option(
    "--max-pars",
    default=30,
    show_default=True,
    type=click.IntRange(1),
    help="Parameters shown, by decreasing impact.",
)
def impacts(file, output, poi, max_pars) -> None:
    """plotImpacts.py: pulls and impacts of the parameters with the largest impact."""
    from ..combine import figures

    _check(output, (file,))
    _save(figures.impacts_figure(figures.read_impacts(file, poi), max_pars), output)


@combine_plot.command("limits")
@FILES
@OUTPUT
@click.option("--POI", "poi", default="r", show_default=True, help="The y-axis label.")
def limits(files, output, poi) -> None:
    """The Brazil band over masses from AsymptoticLimits files (or combineTool's
    CollectLimits JSON)."""
    from ..combine import figures

    _check(output, files)
    _save(figures.limits_figure(figures.read_limits(files), poi), output)


@combine_plot.command("prefit-postfit")
@click.argument("file", type=click.Path(dir_okay=False))
@OUTPUT
@click.option(
    "--fit",
    type=click.Choice(["prefit", "fit_b", "fit_s"]),
    default="fit_s",
    show_default=True,
    help="Which shapes_* directory.",
)
@click.option("--channel", "channels", multiple=True, help="Channels (default: all).")
def prefit_postfit(file, output, fit, channels) -> None:
    """Stacked processes, signal, uncertainty and data per channel from a
    FitDiagnostics file written with --saveShapes."""
    from ..combine import figures

    _check(output, (file,))
    stacks = figures.read_stacks(file, fit)
    if channels:
        known = [s.channel for s in stacks]
        for c in channels:
            if c not in known:
                raise click.BadParameter(
                    f"no channel {c!r} (the file has {', '.join(known)})",
                    param_hint="--channel",
                )
        stacks = [s for s in stacks if s.channel in channels]
    _save(figures.stacks_figure(stacks, fit), output)
