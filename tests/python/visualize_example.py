"""Inputs shared by the figure tests: cabinetry's example workspace fitted with hifit.

Every inference result is computed once per test session (``shared_example``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import hifit

CABINETRY_DATA = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cabinetry"
)
EXAMPLE_WORKSPACE = CABINETRY_DATA / "derived" / "example_workspace_config_example.json"
EXAMPLE_CONFIG = CABINETRY_DATA / "cabinetry-examples" / "config_example.yml"


class Example:
    """Model, data, config and every inference result, computed once."""

    def __init__(self) -> None:
        spec = hifit.cabinetry.workspace.load(str(EXAMPLE_WORKSPACE))
        self.model, self.data = hifit.cabinetry.model_utils.model_and_data(spec)
        self.config = hifit.cabinetry.configuration.load(EXAMPLE_CONFIG)
        self.fit_results = hifit.cabinetry.fit.fit(self.model, self.data)
        self.ranking = hifit.cabinetry.fit.ranking(
            self.model, self.data, fit_results=self.fit_results
        )
        self.scan = hifit.cabinetry.fit.scan(self.model, self.data, "Signal_norm")
        self.limit = hifit.cabinetry.fit.limit(self.model, self.data)
        self.prefit = hifit.cabinetry.model_utils.prediction(self.model)
        self.postfit = hifit.cabinetry.model_utils.prediction(
            self.model, fit_results=self.fit_results
        )


@functools.cache
def shared_example() -> Example:
    """One Example for all figure test modules (the results are read-only)."""
    return Example()
