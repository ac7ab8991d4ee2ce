"""Template histograms on disk: cabinetry's names and cabinetry's files.

A template is stored as ``{HistogramFolder}/{name}.npz``, exactly what cabinetry's
``histo.Histogram.save`` writes (arrays ``yields``, ``stdev``, ``bins``), so templates
move between cabinetry and hifit both ways. ``General: TemplateFormat: root`` (a hifit
setting) asks for ``{name}.root`` instead: one TH1D named ``name`` (yields, edges,
sumw2 = stdev², no under- or overflow). Post-processed copies are
``{name}_modified.<ext>``. Reading accepts either format, ``.npz`` first. Files are
written to a temporary file that is then renamed, so a reader never sees a
half-written template.
"""

from __future__ import annotations

import logging
import os
import pathlib
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import numpy as np

from .. import root_input
from ..exceptions import InvalidSpec
from ..input_files import check_regular_file
from ..io import replacing, root_file

log = logging.getLogger("cabinetry.histo")  # where cabinetry logs these messages

MODIFIED_SUFFIX = "_modified"
#: file formats, the first one being cabinetry's and the default
FORMATS = ("npz", "root")


class Template(NamedTuple):
    """A template histogram: ``yields`` and ``stdev`` per bin, ``bins`` edges."""

    yields: np.ndarray
    stdev: np.ndarray
    bins: np.ndarray


def name(
    region: Mapping[str, Any],
    sample: Mapping[str, Any],
    systematic: Mapping[str, Any],
    *,
    template: Literal["Up", "Down"] | None = None,
) -> str:
    """cabinetry's template name: ``{Region}_{Sample}[_{Systematic}_{Up|Down}]``.

    Spaces become ``-``.
    """
    label = f"{region['Name']}_{sample['Name']}"
    if template is not None:
        label += f"_{systematic['Name']}_{template}"
    return label.replace(" ", "-")


def from_boost(histogram: Any, label: str) -> Template:
    """The in-range content of a 1D boost-histogram (flow bins are dropped)."""
    if histogram.ndim != 1:
        raise ValueError(f"{label}: expected a 1D histogram, found {histogram.ndim}D")
    variances = histogram.variances()
    if variances is None:
        raise ValueError(
            f"{label}: the histogram has no variances (weighted fill into a storage "
            "without them); use boost_histogram.storage.Weight()"
        )
    return Template(
        np.asarray(histogram.values(), dtype=float),
        np.sqrt(variances),
        np.asarray(histogram.axes[0].edges, dtype=float),
    )


def file_format(general: Mapping[str, Any]) -> str:
    """The format templates are written in: ``General.TemplateFormat``, or npz."""
    return general.get("TemplateFormat", FORMATS[0])


def path(
    folder: str | os.PathLike[str], label: str, fmt: str = FORMATS[0]
) -> pathlib.Path:
    return pathlib.Path(folder) / f"{label}.{fmt}"


def find(folder: str | os.PathLike[str], label: str) -> pathlib.Path | None:
    """The existing file of template ``label`` (npz first), or None."""
    for fmt in FORMATS:
        candidate = path(folder, label, fmt)
        if candidate.exists():
            return candidate
    return None


def _th1d(label: str, template: Template) -> Any:
    """A TH1D with explicit edges and sumw2, statistics as ROOT would compute them."""
    from uproot.writing import identify

    yields, stdev, bins = template
    sumw2 = stdev**2
    centers = 0.5 * (bins[1:] + bins[:-1])
    axis = identify.to_TAxis(
        fName="xaxis",
        fTitle="",
        fNbins=len(yields),
        fXmin=bins[0],
        fXmax=bins[-1],
        fXbins=np.asarray(bins, dtype=">f8"),
    )
    flow = np.zeros(1)
    return identify.to_TH1x(
        fName=label,
        fTitle=label,
        data=np.concatenate([flow, yields, flow]).astype(">f8"),
        fEntries=float(np.sum(yields)),
        fTsumw=float(np.sum(yields)),
        fTsumw2=float(np.sum(sumw2)),
        fTsumwx=float(np.sum(yields * centers)),
        fTsumwx2=float(np.sum(yields * centers**2)),
        fSumw2=np.concatenate([flow, sumw2, flow]).astype(">f8"),
        fXaxis=axis,
    )


def save(
    template: Template,
    folder: str | os.PathLike[str],
    label: str,
    fmt: str = FORMATS[0],
) -> None:
    """Write ``{folder}/{label}.{fmt}`` (through hifit's one output module)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown template format {fmt!r} (known: {FORMATS})")
    target = path(folder, label, fmt)
    log.debug("saving histogram to %s", target)
    if fmt == "root":
        with root_file(target) as out:
            out[label] = _th1d(label, template)
        return
    with replacing(target) as tmp, open(tmp, "wb") as out:
        # a file object: np.savez given a name would append ".npz" to the temporary
        np.savez(
            out,
            yields=np.asarray(template.yields, dtype=float),
            stdev=np.asarray(template.stdev, dtype=float),
            bins=np.asarray(template.bins, dtype=float),
        )


def _read_npz(file_path: pathlib.Path) -> Template:
    check_regular_file(file_path, "a template file (.npz)")
    try:
        with np.load(file_path, allow_pickle=False) as arrays:
            missing = sorted({"yields", "stdev", "bins"} - set(arrays.files))
            if missing:
                raise InvalidSpec(
                    f"{file_path}: not a template file, no arrays {missing}"
                )
            return Template(
                np.asarray(arrays["yields"], dtype=float),
                np.asarray(arrays["stdev"], dtype=float),
                np.asarray(arrays["bins"], dtype=float),
            )
    except InvalidSpec:
        raise
    except Exception as err:  # damaged zip or array data surfaces as many types
        raise InvalidSpec(
            f"{file_path}: unreadable ({type(err).__name__}: {err}); the file is "
            "damaged or truncated, re-create or re-copy it"
        ) from None


def read(file_path: pathlib.Path) -> Template:
    """Read a template file written by :func:`save` or by cabinetry."""
    if not file_path.exists():
        raise FileNotFoundError(
            2,
            f"no template histogram {file_path.name} in {file_path.parent}",
            str(file_path),
        )
    if file_path.suffix == ".npz":
        return _read_npz(file_path)
    with root_input.open_file(file_path) as source:
        with root_input.reading(file_path, f"histogram {file_path.stem!r}"):
            hist = source[file_path.stem]
            # fSumw2 itself: uproot's variances() would turn NaN into 0, and NaN
            # stdev must survive until post-processing.
            sumw2 = np.asarray(hist.member("fSumw2"), dtype=float)[1:-1]
            return Template(
                np.asarray(hist.values(flow=False), dtype=float),
                np.sqrt(sumw2),
                np.asarray(hist.axis().edges(flow=False), dtype=float),
            )


def load(
    folder: str | os.PathLike[str], label: str, *, modified: bool = True
) -> Template:
    """Load template ``label``; with ``modified``, prefer its post-processed copy."""
    if modified:
        modified_path = find(folder, label + MODIFIED_SUFFIX)
        if modified_path is not None:
            return read(modified_path)
        log.info(
            "no modified histogram %s found, loading un-modified histogram",
            path(folder, label + MODIFIED_SUFFIX),
        )
    found = find(folder, label)
    if found is None:
        raise FileNotFoundError(
            2,
            f"no template histogram {label}.npz (nor {label}.root) in {folder}",
            str(path(folder, label)),
        )
    return read(found)


def validate(template: Template, label: str) -> None:
    """Log (not raise) what deserves a look: empty bins, NaN stdev."""
    empty = np.where(np.atleast_1d(template.yields) == 0.0)[0]
    if len(empty) > 0:
        log.warning("%s has empty bins: %s", label, empty)
    nan_pos = np.where(np.isnan(template.stdev))[0]
    if len(nan_pos) > 0:
        log.warning("%s has bins with ill-defined stat. unc.: %s", label, nan_pos)
    not_empty = [b for b in nan_pos if b not in empty]
    if not_empty:
        log.warning(
            "%s has non-empty bins with ill-defined stat. unc.: %s", label, not_empty
        )
