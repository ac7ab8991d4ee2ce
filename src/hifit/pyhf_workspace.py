"""pyhf JSON workspaces and patchsets, parsed and validated by the C++ core."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np

from . import _core
from .exceptions import InvalidArgument, InvalidSpec
from .model import Model

# pyhf: Workspace.model() uses the measurement's POI unless poi_name is given;
# poi_name=None means a model without POI.
_MEASUREMENT_POI = object()

# pyhf's modifier_settings replaces the whole default dict; a missing key falls back
# to the class default (normsys code1, histosys code0). Kept for pyhf parity.
_DEFAULT_SETTINGS = {
    "normsys": {"interpcode": "code4"},
    "histosys": {"interpcode": "code4p"},
}
_CLASS_DEFAULTS = {"normsys": "code1", "histosys": "code0"}


def _json_text(obj: Any, source: str) -> str:
    """A Python document as JSON text for the C++ reader; what json cannot encode
    (nesting deeper than Python recurses, sets, arrays) is hifit's InvalidSpec."""
    try:
        return json.dumps(obj)
    except RecursionError:
        raise InvalidSpec(f"{source}: nested too deeply to read") from None
    except (TypeError, ValueError) as err:
        raise InvalidSpec(f"{source}: not a JSON document ({err})") from None


def _interpolation_codes(settings: Mapping[str, Any] | None) -> tuple[str, str]:
    settings = _DEFAULT_SETTINGS if settings is None else settings
    codes = []
    for kind in ("normsys", "histosys"):
        entry = settings.get(kind, {"interpcode": _CLASS_DEFAULTS[kind]})
        codes.append(str(entry.get("interpcode", _CLASS_DEFAULTS[kind])))
    return codes[0], codes[1]


class Workspace:
    """A validated pyhf workspace (schema 1.0.0).

    Build it from a dict (``Workspace(spec)``) or a file (``Workspace.load(path)``).
    """

    __slots__ = ("_ws",)

    def __init__(self, spec: Mapping[str, Any], *, source: str = "<dict>") -> None:
        self._ws = _core.Workspace.from_object(spec, source)

    @classmethod
    def _wrap(cls, core: _core.Workspace) -> Workspace:
        obj = cls.__new__(cls)
        obj._ws = core
        return obj

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Workspace:
        """Read and validate a workspace JSON file."""
        return cls._wrap(_core.Workspace.load(str(path)))

    @property
    def source(self) -> str:
        """Where the workspace came from (file name, plus applied patches)."""
        return self._ws.source

    @property
    def measurement_names(self) -> list[str]:
        return self._ws.measurement_names()

    def spec(self) -> dict[str, Any]:
        """The workspace document as a dict."""
        return json.loads(self._ws.to_json())

    def apply_patch(
        self, patch: Sequence[Mapping[str, Any]] | str, *, source: str = "<patch>"
    ) -> Workspace:
        """A new workspace with an RFC 6902 JSON patch applied."""
        text = patch if isinstance(patch, str) else _json_text(list(patch), source)
        return self._wrap(self._ws.apply_patch(text, source))

    def model(
        self,
        *,
        measurement_name: str | None = None,
        poi_name: Any = _MEASUREMENT_POI,
        modifier_settings: Mapping[str, Any] | None = None,
    ) -> Model:
        """Compile the model of a measurement (the first one by default).

        ``poi_name=None`` builds a model without parameter of interest, as in pyhf.
        """
        if poi_name is _MEASUREMENT_POI:
            poi = None
        elif poi_name is None:
            poi = ""
        else:
            poi = str(poi_name)
        normsys, histosys = _interpolation_codes(modifier_settings)
        core = self._ws.model(measurement_name or "", poi, normsys, histosys)
        return Model(core)

    def data(self, model: Model, include_auxdata: bool = True) -> np.ndarray:
        """Observed main data (model channel order) followed by the auxiliary data."""
        return self._ws.data(model._model, include_auxdata)

    def __repr__(self) -> str:
        return f"<hifit.Workspace from {self.source!r}>"


class PatchSet:
    """A pyhf patchset: named signal hypotheses, each a patch of one workspace."""

    __slots__ = ("_ps",)

    def __init__(self, spec: Mapping[str, Any], *, source: str = "<dict>") -> None:
        self._ps = _core.PatchSet.from_json(_json_text(spec, source), source)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> PatchSet:
        obj = cls.__new__(cls)
        obj._ps = _core.PatchSet.load(str(path))
        return obj

    @property
    def patch_names(self) -> list[str]:
        return list(self._ps.names)

    @property
    def labels(self) -> list[str]:
        return list(self._ps.labels)

    @property
    def description(self) -> str:
        return self._ps.description

    def values(self, name: str) -> list[Any]:
        """``metadata.values`` of the named patch (e.g. signal masses)."""
        return json.loads(self._ps.values_json(self.patch_names.index(name)))

    def patch(self, name: str) -> list[dict[str, Any]]:
        return json.loads(self._ps.patch_json(name))

    def apply(self, workspace: Workspace, name: str) -> Workspace:
        """A new workspace with the named patch applied."""
        if not isinstance(workspace, Workspace):
            raise InvalidArgument("PatchSet.apply expects a hifit.Workspace")
        return Workspace._wrap(self._ps.apply(workspace._ws, name))

    def __len__(self) -> int:
        return len(self._ps.names)

    def __repr__(self) -> str:
        return f"<hifit.PatchSet with {len(self)} patches>"
