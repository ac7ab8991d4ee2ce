"""Sums PocketCoffea histograms into datacard templates: one per (column, variation).

A column is ``{process}_{year}``: every dataset of every sample of the process in that
year, for one category. Data is one ``data_obs`` template summed over its years.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..exceptions import InvalidArgument
from ._histograms import Binning, axis_edges, slice_flow
from ._inputs import datasets_for, is_data_dataset, known_samples, presel_count
from ._messages import LargeVariationWarning, NegativeBinWarning, notice
from .processes import Process
from .systematics import SystematicUncertainty

__all__ = ["Template", "TemplateBuilder"]

Template = tuple[np.ndarray, np.ndarray]  # (values, variances), datacard bins only


def _variations(h: Any) -> set[str]:
    names = [a.name for a in h.axes]
    if "variation" in names:
        return set(h.axes["variation"])
    return set(h.axes[1]) if h.ndim == 3 else set()


class TemplateBuilder:
    """Finds the histograms of each column and sums them with a common binning."""

    def __init__(
        self,
        histograms: Mapping[str, Mapping[str, Any]],
        datasets_metadata: Mapping[str, Any],
        cutflow: Mapping[str, Any] | None,
        category: str,
        bins_edges: Sequence[float] | int | None,
        flow: str,
        verbose: bool,
    ) -> None:
        self.histograms = histograms
        self.metadata = datasets_metadata
        self.cutflow = cutflow
        self.category = category
        self.verbose = verbose
        self._bins_edges = bins_edges
        self._flow = flow
        self.binning: Binning | None = None
        self.axis: Any = None  # observable axis of the first histogram used
        self.outside = 0.0  # nominal MC + data content outside the datacard range
        self._told: set[str] = set()

    def _notice_once(self, message: str) -> None:
        if message not in self._told:
            self._told.add(message)
            notice(message, self.verbose)

    def sources(self, process: Process, year: str) -> list[tuple[str, str, Any]]:
        """(sample, dataset, histogram) of a process in a year (empty ones skipped)."""
        out = []
        for sample in process.samples:
            datasets = datasets_for(self.metadata, sample, year)
            if not datasets and sample not in self.histograms:
                self._check_known(process, sample)
            if not datasets:
                self._notice_once(
                    f"Sample {sample} of process {process.name} has no dataset in "
                    f"{year}; it adds nothing to {process.name}_{year}."
                )
                continue
            if sample not in self.histograms:
                msg = (
                    f"Missing histogram for sample {sample!r} "
                    f"(process {process.name!r}); "
                    f"samples with histograms: {', '.join(self.histograms)}"
                )
                raise ValueError(msg)
            for dataset in datasets:
                h = self.histograms[sample].get(dataset)
                if h is None:
                    if not presel_count(self.cutflow, dataset):
                        self._notice_once(
                            f"Sample {sample} for dataset {dataset} has 0 events in "
                            "category `presel`. Skipping this dataset."
                        )
                        continue
                    msg = (
                        f"Sample {sample!r} for dataset {dataset!r} not found in "
                        f"histograms ({', '.join(self.histograms[sample])}) although "
                        "the cutflow has events for it"
                    )
                    raise ValueError(msg)
                self._check_axis(h, f"sample {sample!r}, dataset {dataset!r}")
                out.append((sample, dataset, h))
        return out

    def _check_known(self, process: Process, sample: str) -> None:
        """A sample in no year of ``datasets_metadata`` and without histograms is a
        typo, not a sample missing in one year: the column would silently lack it."""
        known = known_samples(self.metadata)
        if sample in known:
            return
        msg = (
            f"process {process.name!r}: sample {sample!r} is in neither "
            f"datasets_metadata nor the histograms (samples: "
            f"{', '.join(sorted(known | set(self.histograms)))})"
        )
        raise InvalidArgument(msg)

    def _check_mc(self, process: Process, sample: str, dataset: str, h: Any) -> None:
        """Data used as a simulated process would enter the card as a prediction."""
        if is_data_dataset(self.metadata, dataset) or h.ndim == 2:
            msg = (
                f"MC process {process.name!r}: sample {sample!r} (dataset {dataset!r}) "
                "is data (isMC False in datasets_metadata, or a histogram without a "
                "variation axis); list it in a DataProcess instead"
            )
            raise InvalidArgument(msg)

    def _check_axis(self, h: Any, where: str) -> None:
        axis = h.axes[-1]
        if self.axis is None:
            self.axis = axis
            self.binning = Binning(axis_edges(axis), self._bins_edges, self._flow)
            return
        edges, ref = axis_edges(axis), axis_edges(self.axis)
        if len(edges) != len(ref) or not np.allclose(edges, ref, rtol=1e-9, atol=0):
            msg = (
                f"{where}: observable axis {axis.name!r} has other bins than "
                f"{self.axis.name!r} of the first histogram"
            )
            raise ValueError(msg)

    def _add(self, total: list[np.ndarray] | None, h: Any, variation: str | None,
             where: str, count_outside: bool) -> list[np.ndarray]:  # fmt: skip
        values, variances = slice_flow(h, self.category, variation, where)
        assert self.binning is not None
        if count_outside and self._flow == "drop":
            self.outside += abs(self.binning.outside(values))
        binned = [self.binning.apply(values), self.binning.apply(variances)]
        if total is None:
            return binned
        return [total[0] + binned[0], total[1] + binned[1]]

    def _empty(self) -> Template:
        n = self.binning.nbins if self.binning else 0
        return np.zeros(n), np.zeros(n)

    def column(
        self, process: Process, year: str, shapes: Sequence[SystematicUncertainty]
    ) -> dict[str, Template]:
        """Nominal and ``{datacard_name}Up/Down`` templates of ``{process}_{year}``.

        A variation missing from a histogram is replaced by its nominal (with a notice),
        as PocketCoffea does: the nuisance then has no effect from that dataset.
        """
        out: dict[str, list[np.ndarray] | None] = {"nominal": None}
        for s in shapes:
            out[f"{s.datacard_name}Up"] = out[f"{s.datacard_name}Down"] = None
        for sample, dataset, h in self.sources(process, year):
            self._check_mc(process, sample, dataset, h)
            where = f"sample {sample!r}, dataset {dataset!r}"
            out["nominal"] = self._add(out["nominal"], h, "nominal", where, True)
            present = _variations(h)
            for s in shapes:
                for shift in ("Up", "Down"):
                    source = f"{s.get_coffea_name(process.name)}{shift}"
                    if source not in present:
                        self._notice_once(
                            f"Setting `{source}` variation to nominal variation for "
                            f"sample {sample} (dataset {dataset})."
                        )
                        source = "nominal"
                    key = f"{s.datacard_name}{shift}"
                    out[key] = self._add(out[key], h, source, where, False)
        return {k: tuple(v) if v is not None else self._empty() for k, v in out.items()}

    def data(self, process: Process) -> Template:
        """``data_obs``: every sample of the data process over all its years."""
        total = None
        for year in process.years:
            for sample, dataset, h in self.sources(process, year):
                where = f"data sample {sample!r}, dataset {dataset!r}"
                total = self._add(total, h, None, where, True)
        return tuple(total) if total is not None else self._empty()

    def total_with_flow(
        self, process: Process, years: Sequence[str], variation: str,
        categories: Sequence[str],
    ) -> float:  # fmt: skip
        """Sum with flow over categories and years (shape-only rateParam scaling)."""
        total = 0.0
        for year in years:
            for sample, dataset, h in self.sources(process, year):
                source = variation if variation in _variations(h) else "nominal"
                for cat in categories:
                    where = f"sample {sample!r}, dataset {dataset!r}"
                    values, _ = slice_flow(h, cat, source, where)
                    total += float(values.sum())
        return total


def clip_negative(templates: dict[str, Template]) -> list[str]:
    """Sets negative bins to zero (value and variance); returns the names touched."""
    touched = []
    for name, (values, variances) in templates.items():
        neg = values < 0
        if neg.any():
            touched.append(f"{name} ({int(neg.sum())} bin(s), min {values.min():g})")
            values[neg] = 0.0
            variances[neg] = 0.0
    return touched


def warn_clipped(touched: list[str], category: str) -> None:
    """One warning per datacard listing the clipped templates."""
    if touched:
        warnings.warn(
            NegativeBinWarning(
                f"category {category}: negative bins set to 0 (value and variance) "
                f"before writing: {'; '.join(touched)}"
            ),
            stacklevel=3,
        )


def check_variation(
    nominal: np.ndarray, varied: np.ndarray, name: str, column: str, category: str,
    threshold: float = 1.0,
) -> None:  # fmt: skip
    """Warns when a variation exceeds its nominal by more than ``threshold``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(nominal != 0, (varied - nominal) / nominal, 0.0)
    if np.any(rel > threshold):
        warnings.warn(
            LargeVariationWarning(
                f"Variation {name} for process {column} differs by more than "
                f"{threshold:.0%} from nominal in some bins of the {category} "
                f"category. Average difference: {rel.mean():.0%}"
            ),
            stacklevel=3,
        )
