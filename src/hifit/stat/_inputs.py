"""Lookups in PocketCoffea's ``datasets_metadata`` and ``cutflow`` (both layouts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["datasets_for", "is_data_dataset", "known_samples", "presel_count"]


def presel_count(cutflow: Mapping[str, Any] | None, dataset: str) -> float | None:
    """Events of ``dataset`` after preselection, or None when the cutflow lacks it.

    Accepts the current layout ``cutflow["presel"][dataset][variation]`` and the older
    one ``cutflow["presel"][dataset]`` (a number), which PocketCoffea <= 0.9 writes and
    its own datacard code can no longer read.
    """
    presel = (cutflow or {}).get("presel")
    if not isinstance(presel, Mapping) or dataset not in presel:
        return None
    entry = presel[dataset]
    if isinstance(entry, Mapping):
        if "nominal" in entry:
            return float(entry["nominal"])
        return float(max(entry.values(), default=0))
    return float(entry)


def datasets_for(metadata: Mapping[str, Any], sample: str, year: str) -> list[str]:
    """Datasets of ``sample`` in data-taking period ``year`` (sorted; [] if none)."""
    try:
        periods = metadata["by_datataking_period"]
    except (KeyError, TypeError):
        msg = "datasets_metadata has no 'by_datataking_period' entry"
        raise ValueError(msg) from None
    if year not in periods:
        msg = (
            f"year {year!r} is not in datasets_metadata['by_datataking_period'] "
            f"(years: {', '.join(map(str, periods))})"
        )
        raise ValueError(msg)
    found = periods[year].get(sample, ())
    return sorted(found) if isinstance(found, set | frozenset) else list(found)


def known_samples(metadata: Mapping[str, Any]) -> set[str]:
    """Every sample of ``datasets_metadata``, over all data-taking periods."""
    periods = metadata.get("by_datataking_period", {})
    return {str(s) for year in periods.values() for s in year}


def is_data_dataset(metadata: Mapping[str, Any], dataset: str) -> bool:
    """Whether ``by_dataset`` marks ``dataset`` as data (``isMC`` False; PocketCoffea
    stores it as the string ``"False"``)."""
    entry = metadata.get("by_dataset", {}).get(dataset)
    if not isinstance(entry, Mapping) or "isMC" not in entry:
        return False
    return str(entry["isMC"]).strip().lower() in ("false", "0")
