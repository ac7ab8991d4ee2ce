"""pyhf's one-channel example models (``pyhf.simplemodels``) as hifit models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model import Model
from .pyhf_workspace import model_from_spec

__all__ = ["correlated_background", "uncorrelated_background"]


def _model(channel: str, signal: Any, background: dict[str, Any]) -> Model:
    spec = {
        "channels": [
            {
                "name": channel,
                "samples": [
                    {
                        "name": "signal",
                        "data": list(signal),
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None}
                        ],
                    },
                    background,
                ],
            }
        ]
    }
    return model_from_spec(spec)


def uncorrelated_background(
    signal: Sequence[float],
    bkg: Sequence[float],
    bkg_uncertainty: Sequence[float],
    batch_size: None = None,
    validate: bool = True,
) -> Model:
    """Signal (POI ``mu``) over a background with a per-bin shapesys uncertainty."""
    del validate  # the core always validates
    _no_batches(batch_size)
    background = {
        "name": "background",
        "data": list(bkg),
        "modifiers": [
            {
                "name": "uncorr_bkguncrt",
                "type": "shapesys",
                "data": list(bkg_uncertainty),
            }
        ],
    }
    return _model("singlechannel", signal, background)


def correlated_background(
    signal: Sequence[float],
    bkg: Sequence[float],
    bkg_up: Sequence[float],
    bkg_down: Sequence[float],
    batch_size: None = None,
    validate: bool = True,
) -> Model:
    """Signal (POI ``mu``) over a background with one correlated histosys variation."""
    del validate
    _no_batches(batch_size)
    background = {
        "name": "background",
        "data": list(bkg),
        "modifiers": [
            {
                "name": "correlated_bkg_uncertainty",
                "type": "histosys",
                "data": {"hi_data": list(bkg_up), "lo_data": list(bkg_down)},
            }
        ],
    }
    return _model("single_channel", signal, background)


def _no_batches(batch_size: object) -> None:
    if batch_size is not None:
        from .exceptions import InvalidArgument

        raise InvalidArgument("hifit models are not batched: batch_size must be None")
