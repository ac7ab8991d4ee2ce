"""Histogram arithmetic for datacards: slicing PocketCoffea histograms, rebinning, flow.

Arrays here always carry the flow bins of the observable,
``[underflow, bins..., overflow]`` (zeros where the axis has none),
so rebinning and the flow policy see every entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["FLOW_MODES", "Binning", "axis_edges", "slice_flow"]

FLOW_MODES = ("drop", "fold")


def axis_edges(axis: Any) -> np.ndarray:
    """Bin edges of an observable axis (bin indices for category axes)."""
    edges = getattr(axis, "edges", None)
    if edges is None or not axis.traits.ordered:
        return np.arange(len(axis) + 1, dtype=float)
    return np.asarray(edges, dtype=float)


def _axis_position(h: Any, name: str, fallback: int | None) -> int | None:
    names = [a.name for a in h.axes]
    if name in names:
        return names.index(name)
    return fallback


def _flow_index(axis: Any, key: str, what: str, where: str) -> int:
    try:
        i = axis.index(key)
    except KeyError:
        msg = f"{where}: {what} {key!r} not in the histogram ({', '.join(axis)})"
        raise ValueError(msg) from None
    return int(i) + (1 if axis.traits.underflow else 0)


def slice_flow(
    h: Any, category: str, variation: str | None, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """(values, variances) of ``h[category, variation, :]`` including flow bins.

    The category axis is the one named ``cat`` (else the first), the variation axis the
    one named ``variation`` (else the second of three), the observable the last; data
    histograms have no variation axis. Histograms without variances (not ``Weight``
    storage) take the values as variances (Poisson counts).
    """
    ndim = h.ndim
    icat = _axis_position(h, "cat", 0)
    ivar = _axis_position(h, "variation", 1 if ndim == 3 else None)
    expected = 2 + (ivar is not None)
    if ndim != expected or icat == ndim - 1 or ivar == ndim - 1:
        names = ", ".join(str(a.name) for a in h.axes)
        msg = (
            f"{where}: histogram axes ({names}) are not (cat, [variation,] observable) "
            "as PocketCoffea stores them"
        )
        raise ValueError(msg)
    index: list[Any] = [slice(None)] * ndim
    index[icat] = _flow_index(h.axes[icat], category, "category", where)
    if ivar is not None:
        index[ivar] = _flow_index(
            h.axes[ivar], variation or "nominal", "variation", where
        )
    view = h.view(flow=True)[tuple(index)]
    if view.dtype.names and "value" in view.dtype.names:
        values = np.array(view["value"], dtype=float)
        variances = np.array(view["variance"], dtype=float)
    else:
        values = np.array(view, dtype=float)
        variances = values.copy()
    axis = h.axes[-1]
    pad = (0 if axis.traits.underflow else 1, 0 if axis.traits.overflow else 1)
    return np.pad(values, pad), np.pad(variances, pad)


class Binning:
    """Maps an observable's bins (with flow) onto the datacard bins.

    Parameters
    ----------
    edges : array
        Edges of the input observable axis.
    bins_edges : sequence of float, int or None
        New edges (each must coincide with an input edge), an integer number of
        adjacent bins to merge, or None to keep the binning.
    flow : "drop" or "fold"
        What happens to entries outside the datacard range (under/overflow, and bins
        cut away by ``bins_edges``): dropped, or added to the first/last bin.
    """

    def __init__(
        self, edges: np.ndarray, bins_edges: Sequence[float] | int | None, flow: str
    ) -> None:
        if flow not in FLOW_MODES:
            msg = f"flow must be one of {FLOW_MODES}, got {flow!r}"
            raise ValueError(msg)
        self.flow = flow
        n = len(edges) - 1
        if bins_edges is None:
            stops = np.arange(n + 1)
        elif isinstance(bins_edges, int | np.integer) and not isinstance(
            bins_edges, bool
        ):
            k = int(bins_edges)
            if k < 1 or n % k:
                msg = f"cannot merge {n} bins in groups of {k}: {k} must divide {n}"
                raise ValueError(msg)
            stops = np.arange(0, n + 1, k)
        else:
            stops = self._match(edges, np.asarray(bins_edges, dtype=float))
        self.stops = stops  # input in-range bin index of each new edge
        self.edges = np.asarray(edges, dtype=float)[stops]

    @staticmethod
    def _match(edges: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        if wanted.ndim != 1 or len(wanted) < 2 or np.any(np.diff(wanted) <= 0):
            msg = f"bins_edges must be at least two increasing edges, got {wanted}"
            raise ValueError(msg)
        scale = max(1.0, float(np.max(np.abs(edges))))
        stops = []
        for w in wanted:
            hit = np.flatnonzero(np.isclose(edges, w, rtol=0, atol=1e-9 * scale))
            if len(hit) == 0:
                msg = (
                    f"cannot rebin: edge {w:g} is not an edge of the histogram "
                    f"({', '.join(f'{e:g}' for e in edges)})"
                )
                raise ValueError(msg)
            stops.append(int(hit[0]))
        return np.asarray(stops)

    @property
    def nbins(self) -> int:
        """Number of datacard bins."""
        return len(self.stops) - 1

    def apply(self, flow_array: np.ndarray) -> np.ndarray:
        """Datacard bins from an array with flow (variances add the same way)."""
        inner = flow_array[1:-1]
        # reduceat on the cut array: each group is summed directly (no cumsum
        # differences), so unrebinned bins come out bit-identical
        out = np.add.reduceat(inner[: self.stops[-1]], self.stops[:-1])
        if self.flow == "fold":
            out[0] += flow_array[0] + inner[: self.stops[0]].sum()
            out[-1] += flow_array[-1] + inner[self.stops[-1] :].sum()
        return out

    def outside(self, flow_array: np.ndarray) -> float:
        """Total content outside the datacard range (what ``drop`` discards)."""
        inner = flow_array[1:-1]
        return float(
            flow_array[0]
            + flow_array[-1]
            + inner[: self.stops[0]].sum()
            + inner[self.stops[-1] :].sum()
        )
