"""Shapes files of hifit.stat (written through hifit.io) and their hist objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..io import root_file

__all__ = ["make_axis", "to_hist", "write_root"]


def write_root(path: str, objects: Mapping[str, Any]) -> None:
    """Writes histograms to a new ROOT file at ``path`` atomically (via uproot)."""
    with root_file(path) as f:
        for name, obj in objects.items():
            f[name] = obj


def make_axis(edges: np.ndarray, name: str, label: str) -> Any:
    """A flowless observable axis (Regular when the edges are uniform)."""
    import hist

    edges = np.asarray(edges, dtype=float)
    n = len(edges) - 1
    uniform = np.allclose(np.diff(edges), (edges[-1] - edges[0]) / n, rtol=1e-9)
    kw: dict[str, Any] = {"name": name, "label": label, "underflow": False,
                          "overflow": False}  # fmt: skip
    if uniform:
        return hist.axis.Regular(n, edges[0], edges[-1], **kw)
    return hist.axis.Variable(edges, **kw)


def to_hist(axis: Any, values: np.ndarray, variances: np.ndarray) -> Any:
    """1-D ``Weight`` histogram: uproot writes it as a TH1D with sum of squares."""
    import hist

    h = hist.Hist(axis, storage=hist.storage.Weight())
    view = h.view()
    view.value = values
    view.variance = variances
    return h
