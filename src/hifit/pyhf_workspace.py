"""pyhf JSON workspaces and patchsets, parsed and validated by the C++ core."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np

from . import _core
from .exceptions import InvalidArgument, InvalidPatch, InvalidSpec
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

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as its JSON (Dask ships workspaces to worker processes)
        return (_workspace_from_json, (self._ws.to_json(), self.source))

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
        return _workspace_model(self, measurement_name or "", poi, normsys, histosys)

    def data(self, model: Model, include_auxdata: bool = True) -> np.ndarray:
        """Observed main data (model channel order) followed by the auxiliary data."""
        return self._ws.data(model._model, include_auxdata)

    # -- pyhf's summaries and document operations (the operations run in C++) --

    @property
    def channels(self) -> list[str]:
        """Sorted unique channel names (pyhf's ``Workspace.channels``)."""
        return list(self._ws.channel_names())

    @property
    def samples(self) -> list[str]:
        """Sorted unique sample names."""
        return list(self._ws.sample_names())

    @property
    def modifiers(self) -> list[tuple[str, str]]:
        """Sorted unique (modifier name, modifier type) pairs."""
        return [tuple(m) for m in self._ws.modifier_names()]

    @property
    def channel_nbins(self) -> dict[str, int]:
        spec = self.spec()
        nbins = {c["name"]: len(c["samples"][0]["data"]) for c in spec["channels"]}
        return {name: nbins[name] for name in self.channels}

    def get_measurement(
        self, measurement_name: str | None = None, measurement_index: int | None = None
    ) -> dict[str, Any]:
        """The measurement object by name, by index, or the first one (as pyhf)."""
        measurements = self.spec()["measurements"]
        names = [m["name"] for m in measurements]
        if measurement_name is not None:
            if measurement_name not in names:
                msg = f"no measurement named {measurement_name!r} in the workspace"
                raise InvalidArgument(msg)
            return measurements[names.index(measurement_name)]
        index = 0 if measurement_index is None else measurement_index
        if not -len(names) <= index < len(names):
            msg = (
                f"The measurement index {index} is out of bounds as only "
                f"{len(names)} measurement(s) have been defined."
            )
            raise InvalidArgument(msg)
        return measurements[index]

    def prune(
        self,
        modifiers: Iterable[str] | None = None,
        modifier_types: Iterable[str] | None = None,
        samples: Iterable[str] | None = None,
        channels: Iterable[str] | None = None,
        measurements: Iterable[str] | None = None,
    ) -> Workspace:
        """A new workspace without the named components (pyhf's ``Workspace.prune``)."""
        return self._wrap(
            self._ws.prune(
                list(modifiers or []),
                list(modifier_types or []),
                list(samples or []),
                list(channels or []),
                list(measurements or []),
            )
        )

    def rename(
        self,
        modifiers: Mapping[str, str] | None = None,
        samples: Mapping[str, str] | None = None,
        channels: Mapping[str, str] | None = None,
        measurements: Mapping[str, str] | None = None,
    ) -> Workspace:
        """A new workspace with components renamed (old name -> new name maps)."""
        return self._wrap(
            self._ws.rename(
                list(dict(modifiers or {}).items()),
                list(dict(samples or {}).items()),
                list(dict(channels or {}).items()),
                list(dict(measurements or {}).items()),
            )
        )

    @classmethod
    def sorted(cls, workspace: Workspace) -> Workspace:
        """A new workspace, every list sorted by name (pyhf's ``Workspace.sorted``)."""
        return cls._wrap(workspace._ws.sorted())

    @classmethod
    def combine(
        cls,
        left: Workspace,
        right: Workspace,
        join: str = "none",
        merge_channels: bool = False,
    ) -> Workspace:
        """Channels, observations and measurements of two workspaces joined by name;
        ``join`` is one of pyhf's "none", "outer", "left outer", "right outer"."""
        return cls._wrap(
            _core.Workspace.combine(left._ws, right._ws, join, merge_channels)
        )

    def digest(self, algorithm: str = "sha256") -> str:
        """pyhf.utils.digest of the workspace (sha256 computed in the core)."""
        if algorithm == "sha256":
            return self._ws.sha256_digest()
        try:
            hasher = hashlib.new(algorithm)
        except ValueError:
            msg = (
                f"{algorithm} is not an algorithm provided by Python's hashlib library."
            )
            raise InvalidArgument(msg) from None
        hasher.update(self._ws.canonical_json().encode("utf-8"))
        return hasher.hexdigest(*(() if "shake" not in algorithm else (32,)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Workspace):
            return NotImplemented
        return self.spec() == other.spec()

    __hash__ = None  # type: ignore[assignment]

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

    @property
    def metadata(self) -> dict[str, Any]:
        """The patchset's metadata object (digests, labels, description, references)."""
        return json.loads(self._ps.metadata_json())

    @property
    def digests(self) -> dict[str, str]:
        """Digests of the background-only workspace, by hash algorithm."""
        return dict(self._ps.digests())

    def verify(self, workspace: Workspace) -> None:
        """Raise InvalidPatch unless the workspace's digests match the patchset's."""
        if not isinstance(workspace, Workspace):
            raise InvalidArgument("PatchSet.verify expects a hifit.Workspace")
        self._ps.verify(workspace._ws)  # sha256, in the core
        for algorithm, expected in self.digests.items():
            if algorithm == "sha256":
                continue
            got = workspace.digest(algorithm)
            if got != expected:
                msg = (
                    f"The digest verification failed for hash algorithm '{algorithm}'. "
                    f"Expected: {expected}. Got: {got}"
                )
                raise InvalidPatch(msg)

    def apply(self, workspace: Workspace, name: str) -> Workspace:
        """A new workspace with the named patch applied."""
        if not isinstance(workspace, Workspace):
            raise InvalidArgument("PatchSet.apply expects a hifit.Workspace")
        return Workspace._wrap(self._ps.apply(workspace._ws, name))

    def __len__(self) -> int:
        return len(self._ps.names)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as the patchset document rebuilt from its parts (Dask workers)
        names = self.patch_names
        spec = {
            "metadata": self.metadata,
            "patches": [
                {
                    "metadata": {"name": name, "values": self.values(name)},
                    "patch": self.patch(name),
                }
                for name in names
            ],
            "version": "1.0.0",
        }
        return (PatchSet, (spec,))

    def __repr__(self) -> str:
        return f"<hifit.PatchSet with {len(self)} patches>"


def _workspace_from_json(text: str, source: str) -> Workspace:
    return Workspace._wrap(_core.Workspace.from_json(text, source))


def _workspace_model(
    workspace: Workspace, measurement: str, poi: str | None, normsys: str, histosys: str
) -> Model:
    """The compiled model, which remembers how it was built so that it pickles (the
    recipe is rerun in the process that unpickles it: a Dask worker)."""
    core = workspace._ws.model(measurement, poi, normsys, histosys)
    return Model(
        core,
        recipe=(_workspace_model, (workspace, measurement, poi, normsys, histosys)),
    )


def model_from_spec(
    spec: Mapping[str, Any],
    *,
    poi_name: str | None = "mu",
    modifier_settings: Mapping[str, Any] | None = None,
) -> Model:
    """A model from a pyhf *model* spec (channels, optional parameters), as
    ``pyhf.Model(spec, poi_name=...)`` builds it: the workspace around it has one
    measurement and placeholder observations (a model does not read them)."""
    channels = list(spec["channels"])
    measurement_poi = poi_name
    if measurement_poi is None:  # the schema wants a POI name; the model drops it
        measurement_poi = channels[0]["samples"][0]["modifiers"][0]["name"]
    workspace = {
        "channels": channels,
        "observations": [
            {"name": c["name"], "data": [0.0] * len(c["samples"][0]["data"])}
            for c in channels
        ],
        "measurements": [
            {
                "name": "measurement",
                "config": {
                    "poi": measurement_poi,
                    "parameters": list(spec.get("parameters", [])),
                },
            }
        ],
        "version": "1.0.0",
    }
    ws = Workspace(workspace, source="<model spec>")
    return ws.model(poi_name=poi_name, modifier_settings=modifier_settings)


def as_hifit_model(model: Any) -> Any:
    """A pyhf ``Model`` rebuilt as a hifit model (through its spec, its POI and its
    interpolation codes); anything else is returned unchanged. pyhf is never imported
    here: the object's own class tells what it is."""
    if isinstance(model, Model) or type(model).__module__.split(".")[0] != "pyhf":
        return model
    config = model.config
    settings = getattr(config, "modifier_settings", None)
    return model_from_spec(
        model.spec, poi_name=config.poi_name, modifier_settings=settings
    )
