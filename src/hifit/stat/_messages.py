"""Warning classes and notices of hifit.stat.

Warnings flag input that gives a valid but suspicious card (huge variations, clipped
negative bins); notices report documented fallbacks (missing variation -> nominal,
entries outside the datacard range dropped). Notices are printed when ``verbose`` (as
PocketCoffea does) and logged otherwise.
"""

from __future__ import annotations

import logging

__all__ = ["LargeVariationWarning", "NegativeBinWarning", "StatWarning", "notice"]

log = logging.getLogger("hifit.stat")


class StatWarning(UserWarning):
    """Generic hifit.stat warning."""


class LargeVariationWarning(StatWarning):
    """A shape variation differs from its nominal by more than 100 % in some bin."""


class NegativeBinWarning(StatWarning):
    """Template bins with negative content were set to zero."""


def notice(message: str, verbose: bool) -> None:
    """Report a documented fallback: printed if ``verbose``, else logged at INFO."""
    if verbose:
        print(message)
    else:
        log.info(message)
