"""Reading PocketCoffea ``.coffea`` outputs without coffea.

A ``.coffea`` file is an lz4-framed (cloud)pickle of nested dicts of ``hist.Hist``.
Unpickling runs constructors named in the file, so only the classes such outputs need
are allowed (hist, boost-histogram, numpy, a few builtins and collections); anything
else is refused with the offending name.
"""

from __future__ import annotations

import builtins
import collections
import importlib
import os
import pickle
from typing import Any

__all__ = ["ColumnAccumulator", "load_coffea"]


class ColumnAccumulator:
    """Stand-in for ``coffea.processor.column_accumulator`` (a numpy column)."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def value(self) -> Any:
        """The accumulated numpy array."""
        return self.__dict__.get("_value")

    def __repr__(self) -> str:
        return f"ColumnAccumulator({self.value!r})"


_BUILTINS = {"dict", "set", "frozenset", "list", "tuple", "int", "float", "complex",
             "str", "bytes", "bytearray", "bool", "slice", "range"}  # fmt: skip
_COLLECTIONS = {"defaultdict", "OrderedDict", "Counter", "deque"}
_NUMPY = {
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"),
}
# Packages whose *classes* may be rebuilt (histograms, axes, storages).
_HIST_PACKAGES = ("hist", "boost_histogram")
_SUBSTITUTES = {
    ("coffea.processor.accumulator", "column_accumulator"): ColumnAccumulator,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, path: str) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SUBSTITUTES:
            return _SUBSTITUTES[(module, name)]
        if module == "builtins" and name in _BUILTINS:
            return getattr(builtins, name)
        if module == "collections" and name in _COLLECTIONS:
            return getattr(collections, name)
        # numpy < 2 pickles name numpy.core, numpy >= 2 numpy._core
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core") :]
        if (module, name) in _NUMPY:
            return getattr(importlib.import_module(module), name)
        if module.split(".")[0] in _HIST_PACKAGES:
            obj = getattr(importlib.import_module(module), name, None)
            if isinstance(obj, type):
                return obj
        msg = (
            f"{self._path}: refusing to unpickle {module}.{name}; a .coffea output "
            "only needs hist, boost-histogram, numpy and builtin containers"
        )
        raise pickle.UnpicklingError(msg)


def load_coffea(path: str | os.PathLike[str]) -> Any:
    """Load a PocketCoffea ``.coffea`` output (what ``coffea.util.load`` returns).

    Parameters
    ----------
    path : str or path-like
        The file; lz4-framed pickles and plain pickles are both accepted.

    Returns
    -------
    dict
        The output: ``variables[hist][sample][dataset] -> hist.Hist``, ``cutflow``,
        ``datasets_metadata``, ``sumw``, ...
    """
    import lz4.frame

    path = os.fspath(path)
    with open(path, "rb") as raw:
        magic = raw.read(4)
    opener = lz4.frame.open if magic == b"\x04\x22\x4d\x18" else open
    try:
        with opener(path, "rb") as fh:
            return _RestrictedUnpickler(fh, path).load()
    except (EOFError, RuntimeError, pickle.UnpicklingError) as err:
        if isinstance(err, pickle.UnpicklingError) and "refusing" in str(err):
            raise
        msg = f"{path}: not a readable .coffea file ({err})"
        raise ValueError(msg) from err
