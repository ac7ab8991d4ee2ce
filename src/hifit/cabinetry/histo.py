"""cabinetry's ``histo`` module: template histograms as boost-histogram objects.

hifit stores templates as cabinetry does (see :mod:`.template_files`); this class reads
them back with the same names cabinetry uses (``Histogram.from_config``, ``from_path``,
``yields``, ``stdev``, ``bins``), and ``save`` (``.npz``), ``validate`` and
``normalize_to_yield`` behave as cabinetry's.
"""

from __future__ import annotations

import pathlib
from typing import Any, TypeVar

import boost_histogram as bh
import numpy as np

from . import template_files

H = TypeVar("H", bound="Histogram")


class Histogram(bh.Histogram):
    """A one-dimensional histogram with weight storage and no flow bins."""

    @classmethod
    def from_arrays(cls: type[H], bins: Any, yields: Any, stdev: Any) -> H:
        if len(bins) != len(yields) + 1:
            msg = "bin edges need one more entry than yields"
            raise ValueError(msg)
        if len(yields) != len(stdev):
            msg = "yields and stdev need to have the same shape"
            raise ValueError(msg)
        out = cls(
            bh.axis.Variable(bins, underflow=False, overflow=False),
            storage=bh.storage.Weight(),
        )
        out[...] = np.stack([np.asarray(yields), np.asarray(stdev) ** 2], axis=-1)
        return out

    @classmethod
    def from_path(
        cls: type[H], histo_path: pathlib.Path, *, modified: bool = True
    ) -> H:
        path = pathlib.Path(histo_path)
        t = template_files.load(path.parent, path.name, modified=modified)
        return cls.from_arrays(t.bins, t.yields, t.stdev)

    @classmethod
    def from_config(
        cls: type[H],
        histo_folder: str | pathlib.Path,
        region: dict[str, Any],
        sample: dict[str, Any],
        systematic: dict[str, Any],
        *,
        template: str | None = None,
        modified: bool = True,
    ) -> H:
        label = name(region, sample, systematic, template=template)
        return cls.from_path(pathlib.Path(histo_folder) / label, modified=modified)

    @property
    def yields(self) -> np.ndarray:
        return self.values()

    @property
    def stdev(self) -> np.ndarray:
        return np.sqrt(self.variances())

    @property
    def bins(self) -> np.ndarray:
        return self.axes[0].edges

    def _template(self) -> template_files.Template:
        return template_files.Template(self.yields, self.stdev, self.bins)

    def save(self, histo_path: pathlib.Path) -> None:
        """Write ``histo_path`` with suffix ``.npz`` (yields, stdev, bins)."""
        path = pathlib.Path(histo_path).with_suffix(".npz")
        template_files.save(self._template(), path.parent, path.stem, "npz")

    def validate(self, name: str) -> None:
        """Log warnings for empty bins and ill-defined stat. uncertainties."""
        template_files.validate(self._template(), name)

    def normalize_to_yield(self, reference_histogram: Histogram) -> float:
        """Scale yields and stdev to the reference's total yield; returns the old
        total over the new one."""
        ratio = sum(self.yields) / sum(reference_histogram.yields)
        self /= ratio
        return ratio


def name(
    region: dict[str, Any],
    sample: dict[str, Any],
    systematic: dict[str, Any],
    *,
    template: str | None = None,
) -> str:
    """``{Region}_{Sample}[_{Systematic}_{Up|Down}]`` with spaces replaced by ``-``."""
    return template_files.name(region, sample, systematic, template=template)
