"""What a method returns (re-exported by :mod:`hifit.combine.methods`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class MethodResult:
    """What a method produced: the rows of the ``limit`` TTree (branch -> value;
    :mod:`hifit.combine.limit_tree` fills the common branches, ``iToy`` defaults to
    -t when it is 0 or -1), the text printed in Combine's wording, and a failure
    naming the fit the result relies on (exit 1)."""

    rows: list[dict[str, float]]
    text: str
    failure: str | None = None
    write_extra: Callable[[], None] | None = None
