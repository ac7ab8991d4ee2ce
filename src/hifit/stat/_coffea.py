"""Reading PocketCoffea ``.coffea`` outputs without coffea.

A ``.coffea`` file is an lz4-framed (cloud)pickle of nested dicts of ``hist.Hist``.
Unpickling runs constructors named in the file, so only the classes such outputs need
are allowed (hist, boost-histogram, numpy, a few builtins and collections); anything
else is refused with the offending name, as are numpy object arrays and arrays or
histograms beyond ``MAX_CELLS`` cells.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import types
from typing import Any

import numpy as np

from ..exceptions import HifitError

__all__ = ["MAX_CELLS", "CoffeaLoadError", "ColumnAccumulator", "load_coffea"]


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


class CoffeaLoadError(HifitError):
    """A ``.coffea`` file that cannot be read safely; the message names the file."""


MAX_CELLS = 100_000_000
"""Largest array or histogram (cells, flow bins included) built from a file: 1e8 cells
is 1.6 GB of weighted storage, far beyond any PocketCoffea output."""

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


def _top(module: object) -> str:
    return module.split(".")[0] if isinstance(module, str) else ""


def _is_hist_class(obj: Any) -> bool:
    return isinstance(obj, type) and _top(obj.__module__) in _HIST_PACKAGES


class _Refused(Exception):
    """Raised inside the unpickler; load_coffea turns it into CoffeaLoadError."""


def _check_array(value: Any) -> None:
    if isinstance(value, np.dtype) and value.hasobject:
        raise _Refused("refusing a numpy object dtype")
    if isinstance(value, np.ndarray):
        _check_array(value.dtype)
        if value.size > MAX_CELLS:
            raise _Refused(
                f"refusing an array of {value.size} cells (limit {MAX_CELLS})"
            )


def _check_histogram(core: Any) -> None:
    # Rebuilding trusts the file: axes and storage must agree, or viewing the
    # storage reads past its end.
    extents = [core.axis(i).extent for i in range(core.rank())]
    cells = math.prod(extents)
    if cells > MAX_CELLS:
        raise _Refused(f"refusing a histogram of {cells} cells (limit {MAX_CELLS})")
    if cells != core.size():
        msg = f"histogram axes give {cells} cells but its storage holds {core.size()}"
        raise _Refused(msg)


# The pure-Python unpickler exposes its opcode table, so every constructor call and
# every state restore can be checked before (or right after) it happens.
class _RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SUBSTITUTES:
            return _SUBSTITUTES[(module, name)]
        # numpy < 2 pickles name numpy.core, numpy >= 2 numpy._core
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core") :]
        allowed = (
            (module == "builtins" and name in _BUILTINS)
            or (module == "collections" and name in _COLLECTIONS)
            or (module, name) in _NUMPY
            or _top(module) in _HIST_PACKAGES
        )
        if allowed and "." not in name:
            try:
                obj = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                obj = None
            # The object's own module, not the path it was reached by:
            # hist.numpy or a re-exported pathlib.Path must not slip through.
            own = getattr(obj, "__module__", None)
            if _top(own) in _HIST_PACKAGES:
                ok = _is_hist_class(obj)
            else:
                ok = own == module or _top(own) == _top(module) == "numpy"
            if obj is not None and ok:
                return obj
        raise _Refused(
            f"refusing to unpickle {module}.{name}; a .coffea output only needs "
            "hist, boost-histogram, numpy and builtin containers"
        )

    @staticmethod
    def _check_call(func: Any, args: tuple[Any, ...]) -> None:
        # hist classes are only rebuilt empty and then given their state (checked in
        # BUILD); a constructor call with arguments could allocate any size.
        if _is_hist_class(func) and args:
            raise _Refused(f"refusing to call {func.__qualname__} with arguments")
        for arg in args:
            _check_array(arg)
            if isinstance(arg, tuple) and func in _SHAPED and len(arg) < 33:
                cells = math.prod(int(n) for n in arg if isinstance(n, int))
                if cells > MAX_CELLS:
                    raise _Refused(
                        f"refusing an array of {cells} cells (limit {MAX_CELLS})"
                    )

    def load_reduce(self) -> None:
        self._check_call(self.stack[-2], self.stack[-1])
        super().load_reduce()
        _check_array(self.stack[-1])

    def load_newobj(self) -> None:
        self._check_call(self.stack[-2], self.stack[-1])
        super().load_newobj()

    def load_newobj_ex(self) -> None:
        cls, args, kwargs = self.stack[-3:]
        self._check_call(cls, (*args, *kwargs.values()))
        super().load_newobj_ex()

    def _instantiate(self, klass: Any, args: tuple[Any, ...]) -> None:
        self._check_call(klass, args)
        super()._instantiate(klass, args)

    def load_build(self) -> None:
        inst = self.stack[-2]
        if isinstance(inst, (type, types.ModuleType)) or callable(inst):
            raise _Refused(f"refusing to set the state of {inst!r}")
        if isinstance(inst, np.ndarray):
            for part in self.stack[-1] if isinstance(self.stack[-1], tuple) else ():
                _check_array(part)
        super().load_build()
        _check_array(inst)
        if _top(type(inst).__module__) == "boost_histogram" and hasattr(inst, "rank"):
            _check_histogram(inst)

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


_SHAPED = {np._core.numeric._frombuffer, np._core.multiarray._reconstruct}


def load_coffea(path: str | os.PathLike[str]) -> Any:
    """Load a PocketCoffea ``.coffea`` output (what ``coffea.util.load`` returns).

    Only hist, boost-histogram, numpy (no object arrays) and builtin containers are
    rebuilt, and no array or histogram beyond :data:`MAX_CELLS` cells.

    Parameters
    ----------
    path : str or path-like
        The file; lz4-framed pickles and plain pickles are both accepted.

    Returns
    -------
    dict
        The output: ``variables[hist][sample][dataset] -> hist.Hist``, ``cutflow``,
        ``datasets_metadata``, ``sumw``, ...

    Raises
    ------
    CoffeaLoadError
        Unreadable file, a class outside the allowed packages, an object array, an
        inconsistent or oversized histogram.
    """
    import lz4.frame

    path = os.fspath(path)
    try:
        with open(path, "rb") as raw:
            magic = raw.read(4)
        opener = lz4.frame.open if magic == b"\x04\x22\x4d\x18" else open
        with opener(path, "rb") as fh:
            return _RestrictedUnpickler(fh).load()
    except _Refused as err:
        raise CoffeaLoadError(f"{path}: {err}") from None
    except (Exception, RecursionError) as err:
        msg = f"{path}: not a readable .coffea file ({type(err).__name__}: {err})"
        raise CoffeaLoadError(msg) from err
