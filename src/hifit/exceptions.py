"""Exception types; every hifit error derives from :class:`HifitError` (ValueError)."""

from ._core import HifitError, InvalidArgument, InvalidModel, InvalidPatch, InvalidSpec

__all__ = [
    "HifitError",
    "InvalidArgument",
    "InvalidModel",
    "InvalidPatch",
    "InvalidSpec",
]
