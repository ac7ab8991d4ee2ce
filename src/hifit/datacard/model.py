"""Combine's model of a datacard: the card and its templates (read with uproot by
:func:`hifit.datacard.read`) compiled by the C++ engine into Combine's binned model."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _core
from ..model import Model
from .cards import read


@dataclass(frozen=True)
class CardModel:
    """A datacard's model, its observed data (main bins + auxiliary data) and notes on
    what was approximated while building it."""

    model: Model
    data: np.ndarray
    card: Any
    notes: list[str] = field(default_factory=list)
    pois: list[str] = field(default_factory=list)  # the signal strengths


def parse_poi_map(items: Iterable[str]) -> list[tuple[str, str]]:
    """``PROCESS_GLOB=POI`` strings (Combine's ``--PO map`` in short) as pairs."""
    pairs = []
    for item in items:
        glob, sep, poi = item.partition("=")
        if not sep or not glob or not poi:
            msg = f"--poi-map expects PROCESS=POI (e.g. 'ggH*=r_ggH'), found {item!r}"
            raise ValueError(msg)
        pairs.append((glob, poi))
    return pairs


def load_model(
    path: str,
    *,
    mass: float = 120.0,
    poi_map: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    poi_range: tuple[float, float] = (0.0, 20.0),
    masked_channels: Iterable[str] = (),
    keywords: Mapping[str, str] | None = None,
    check_norm: bool = True,
) -> CardModel:
    """Reads a datacard (and its shapes) and builds Combine's model.

    ``poi_map`` maps signal-process globs to POIs (default: one POI ``r`` on every
    signal); masked channels keep their constraints but not their Poisson terms.
    """
    masked = list(masked_channels)
    card, templates = read(path, mass=mass, keywords=keywords)
    pairs = list(poi_map.items() if isinstance(poi_map, Mapping) else poi_map or [])
    built = _core.datacard.build_model(
        card,
        templates,
        poi_map=pairs,
        poi_range=tuple(map(float, poi_range)),
        masked_channels=masked,
        check_norm=check_norm,
    )
    pois = list(dict.fromkeys(poi for _, poi in pairs)) or ["r"]
    # the model pickles as the call that read it (Dask workers read the card again)
    how = dict(
        mass=mass,
        poi_map=pairs,
        poi_range=poi_range,
        masked_channels=masked,
        keywords=dict(keywords) if keywords is not None else None,
        check_norm=check_norm,
    )
    model = Model(built.model, recipe=(_card_model, (os.path.abspath(path), how)))
    return CardModel(model, np.asarray(built.data), card, list(built.notes), pois)


def _card_model(path: str, how: dict[str, Any]) -> Model:
    return load_model(path, **how).model
