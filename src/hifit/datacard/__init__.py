"""CMS Combine datacards: read a card with its TH1 templates, combine cards, and build
Combine's model of a card for :mod:`hifit.infer`.

The card text is parsed in C++ (``hifit._core.datacard``); the templates its ``shapes``
lines name are read with uproot and handed to C++ as arrays::

    card, templates = hifit.datacard.read("card.txt", mass=125)
    templates[("ch1", "signal", "")].contents        # nominal
    templates[("ch1", "signal", "alphaUp")].sumw2    # a shape variation
    built = hifit.datacard.load_model("card.txt", mass=125)   # .model, .data, .notes

:func:`combine` merges cards as ``combineCards.py`` does.
"""

from __future__ import annotations

from .cards import combine, read
from .model import CardModel, load_model, parse_poi_map

__all__ = ["CardModel", "combine", "load_model", "parse_poi_map", "read"]


def __dir__() -> list[str]:
    return __all__
