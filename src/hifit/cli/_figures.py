"""``--figures DIR`` and ``--label TEXT`` of `hifit fit | ranking | scan | limit`.

The figures are cabinetry's, drawn from the command's result document by
:mod:`hifit.cabinetry.visualize` under cabinetry's file names: ``pulls.pdf`` and
``correlation_matrix.pdf`` (fit), ``ranking.pdf``, ``scan_<par>.pdf``, ``limit.pdf``.
cabinetry has no 2D scan figure: a 2D scan is drawn as ``hifit combine-plot scan
--2d`` draws it (68 % / 95 % contours), into ``scan_<x>_<y>.pdf``. cabinetry saves
PDF only, and so do these options. matplotlib (and mplhep, for a label) load only
when --figures is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def figure_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--figures DIR and --label TEXT (passed as ``figures_dir``, ``figure_label``)."""
    command = click.option(
        "--label",
        "figure_label",
        metavar="TEXT",
        help='Experiment label on the figures, through mplhep ("ATLAS Internal": '
        "the first word names the experiment).",
    )(command)
    return click.option(
        "--figures",
        "figures_dir",
        type=click.Path(file_okay=False),
        help="Folder for the result's figures, as cabinetry draws and names them "
        "(PDF).",
    )(command)


def check_label(figures_dir: str | None, figure_label: str | None) -> None:
    """Refuse --label without --figures, or an empty one, before any work."""
    if figure_label is None:
        return
    if not figure_label.strip():
        raise click.BadParameter("the label is empty", param_hint="--label")
    if figures_dir is None:
        raise click.BadParameter("needs --figures DIR", param_hint="--label")


def _file_name(name: str) -> str:
    """cabinetry's parameter names in file names: ``[`` → ``_``, ``]`` dropped."""
    return name.replace("[", "_").replace("]", "")


def write_figures(
    kind: str, doc: dict[str, Any], folder: str | None, label: str | None = None
) -> list[Path]:
    """Draw the figures of a ``kind`` result document into ``folder`` (nothing when
    None); the files written, each announced on stdout."""
    if folder is None:
        return []
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..cabinetry import visualize

    out = Path(folder)
    options = {"figure_folder": out, "label": label, "close_figure": True}
    written = []
    if kind == "fit":
        visualize.pulls(doc, **options)
        visualize.correlation_matrix(doc, **options)
        written = [out / "pulls.pdf", out / "correlation_matrix.pdf"]
    elif kind == "ranking":
        visualize.ranking(doc, **options)
        written = [out / "ranking.pdf"]
    elif kind == "scan" and "values_y" not in doc:
        visualize.scan(doc, **options)
        written = [out / f"scan_{_file_name(doc['parameters'][0])}.pdf"]
    elif kind == "scan":
        fig = scan_2d_figure(doc, label)
        names = "_".join(_file_name(p) for p in doc["parameters"])
        written = [out / f"scan_{names}.pdf"]
        _save(fig, written[0])
        plt.close(fig)
    elif kind == "limit":
        visualize.limit(doc, **options)
        written = [out / "limit.pdf"]
    else:
        raise ValueError(f"no figures for a {kind} result")
    for path in written:
        click.echo(f"figure written to {path}")
    return written


def _save(fig: Any, path: Path) -> None:
    from ..io import save_figure

    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path, bbox_inches="tight")  # as `hifit combine-plot` saves it


def scan_2d_input(doc: dict[str, Any]) -> Any:
    """A 2D ``hifit.scan`` document as the 2D-scan figure's input: every grid point
    (x varies slowest, as ``delta_twice_nll[i][j]`` at ``values[i], values_y[j]``)
    and the unconditional best fit."""
    import numpy as np

    from ..combine.figure_inputs import Scan2D

    x, y = np.meshgrid(doc["values"], doc["values_y"], indexing="ij")
    z = np.asarray(doc["delta_twice_nll"], dtype=float)
    return Scan2D(
        (doc["parameters"][0], doc["parameters"][1]),
        x.ravel(),
        y.ravel(),
        z.ravel(),
        (float(doc["bestfit"][0]), float(doc["bestfit"][1])),
    )


def scan_2d_figure(doc: dict[str, Any], label: str | None) -> Any:
    """The 2D scan's contour figure (`hifit combine-plot scan --2d`'s drawing),
    without Combine's "CMS" mark; ``label`` through mplhep instead."""
    from ..cabinetry.visualize import utils
    from ..combine import figures

    fig = figures.scan_2d_figure(scan_2d_input(doc), cms_label=False)
    if label:
        _, _, style = figures._style()
        with style:  # the figure's (CMS) font sizes
            utils.experiment_label(fig.axes[0], label)
    return fig
