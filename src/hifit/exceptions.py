"""Exception types. Every hifit error derives from :class:`HifitError` (a ValueError)."""

from ._core import HifitError, InvalidArgument, InvalidModel, InvalidPatch, InvalidSpec

__all__ = ["HifitError", "InvalidArgument", "InvalidModel", "InvalidPatch", "InvalidSpec"]
