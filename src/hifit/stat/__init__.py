"""CMS Combine datacards from PocketCoffea outputs: a drop-in for
``pocket_coffea.utils.stat`` that writes cards Combine (and hifit) can parse.

Typical use (only the import differs from PocketCoffea)::

    from hifit.stat import Datacard, MCProcess, MCProcesses, Systematics, load_coffea
    from hifit.stat.combine import combine_datacards
"""

from __future__ import annotations

from ._coffea import MAX_CELLS, CoffeaLoadError, load_coffea
from ._messages import LargeVariationWarning, NegativeBinWarning, StatWarning
from .combine import AUTO_MC_STATS, Datacard, combine_datacards
from .processes import DataProcess, DataProcesses, MCProcess, MCProcesses
from .systematics import Systematics, SystematicUncertainty

load = load_coffea  # coffea.util.load's name

__all__ = [
    "AUTO_MC_STATS",
    "MAX_CELLS",
    "CoffeaLoadError",
    "DataProcess",
    "DataProcesses",
    "Datacard",
    "LargeVariationWarning",
    "MCProcess",
    "MCProcesses",
    "NegativeBinWarning",
    "StatWarning",
    "SystematicUncertainty",
    "Systematics",
    "combine_datacards",
    "load",
    "load_coffea",
]


def __dir__() -> list[str]:
    return __all__
