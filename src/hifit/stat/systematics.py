"""Systematic uncertainties, with the fields of ``pocket_coffea.utils.stat``.

A nuisance is correlated across every (process, year) column it lists; to decorrelate by
year, declare one uncertainty per year with ``datacard_name=f"{name}_{year}"`` and
``coffea_name_alias=name``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .processes import Process, _check_token

__all__ = ["RATE_TYPES", "SHAPE_TYPES", "SystematicUncertainty", "Systematics"]

RATE_TYPES = ("lnN", "lnU")  # one kappa (or down/up pair) per column
SHAPE_TYPES = ("shape", "shapeN", "shapeU")  # Up/Down templates, value = scale


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{what} must be a number, got {value!r}"
        raise ValueError(msg)
    x = float(value)
    if not math.isfinite(x):
        msg = f"{what} must be finite, got {value!r}"
        raise ValueError(msg)
    return x


def _entry(value: object, typ: str, where: str) -> float | tuple[float, float]:
    """Validates one column entry: kappa, (down, up) or shape scale."""
    if isinstance(value, tuple | list):
        if typ not in RATE_TYPES:
            msg = f"{where}: a {typ} uncertainty takes one scale, got {value!r}"
            raise ValueError(msg)
        if len(value) == 1:
            value = value[0]
        elif len(value) != 2:
            msg = f"{where}: an asymmetric value is (down, up), got {value!r}"
            raise ValueError(msg)
        else:
            pair = (_number(value[0], where), _number(value[1], where))
            if min(pair) <= 0:
                msg = f"{where}: kappas must be positive, got {value!r}"
                raise ValueError(msg)
            return pair
    x = _number(value, where)
    if typ in RATE_TYPES and x <= 0:
        msg = f"{where}: kappa must be positive, got {value!r}"
        raise ValueError(msg)
    return x


@dataclass
class SystematicUncertainty:
    """One nuisance parameter.

    Parameters
    ----------
    name : str
        Name; also the default datacard name and coffea variation name.
    typ : str
        ``"lnN"`` / ``"lnU"`` (``value`` = kappa or ``(down, up)``), or ``"shape"`` /
        ``"shapeN"`` / ``"shapeU"`` (``value`` = scale, usually 1.0; templates from
        the ``{coffea_name}Up/Down`` entries of the variation axis).
    processes : list, tuple or dict
        Process names (without year), or ``{process: value}``.
    years : list or tuple
        Years whose columns the nuisance affects.
    value : float or tuple, optional
        Value for every listed process (not with a dict of processes).
    datacard_name : str, optional
        Row name in the card (default ``name``).
    coffea_name_alias : str or dict, optional
        Variation name in the coffea histograms, or ``{process: name}``; processes
        missing from the dict use ``name``.
    """

    name: str
    typ: str
    processes: list[str] | tuple[str, ...] | dict[str, float]
    years: list[str] | tuple[str, ...]
    value: float | tuple[float, ...] | None = None
    datacard_name: str | None = None
    coffea_name_alias: str | dict[str, str] | None = None

    def __post_init__(self) -> None:
        where = f"systematic {self.name!r}"
        if self.typ not in RATE_TYPES + SHAPE_TYPES:
            allowed = ", ".join(RATE_TYPES + SHAPE_TYPES)
            msg = f"{where}: type {self.typ!r} is not one of {allowed}"
            raise ValueError(msg)
        if isinstance(self.processes, dict):
            if self.value is not None:
                msg = f"{where}: give either a value or a dict of processes, not both"
                raise ValueError(msg)
            entries = dict(self.processes)
        else:
            if self.value is None:
                msg = (
                    f"{where}: no value; give a value for all processes or a dict "
                    "{process: value}"
                )
                raise ValueError(msg)
            if isinstance(self.processes, str):
                self.processes = [self.processes]
            entries = dict.fromkeys(self.processes, self.value)
        self.processes = {
            _check_token(p, f"{where}: process"): _entry(v, self.typ, f"{where}, {p}")
            for p, v in entries.items()
        }
        if isinstance(self.years, str):
            self.years = [self.years]
        self.years = [str(y) for y in self.years]
        if self.datacard_name is None:
            self.datacard_name = self.name
        _check_token(self.datacard_name, f"{where}: datacard name")
        if self.coffea_name_alias is None:
            self.coffea_name_alias = self.name

    def get_coffea_name(self, process: str) -> str:
        """Variation name of this uncertainty for ``process`` in the coffea output."""
        if isinstance(self.coffea_name_alias, dict):
            return self.coffea_name_alias.get(process, self.name)
        return self.coffea_name_alias

    @property
    def is_shape(self) -> bool:
        """Whether the uncertainty takes Up/Down templates."""
        return self.typ in SHAPE_TYPES

    def applies(self, process: str, year: str) -> bool:
        """Whether the column ``{process}_{year}`` has an entry."""
        return process in self.processes and str(year) in self.years


class Systematics(dict[str, SystematicUncertainty]):
    """Uncertainties by datacard name, in the order given (= the row order)."""

    def __init__(self, systematics: Iterable[SystematicUncertainty]) -> None:
        systematics = list(systematics)
        for s in systematics:
            if not isinstance(s, SystematicUncertainty):
                msg = (
                    "Systematics takes SystematicUncertainty objects, "
                    f"got {type(s).__name__}"
                )
                raise TypeError(msg)
        names = [s.datacard_name for s in systematics]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            msg = (
                f"Duplicate systematic datacard name(s): {', '.join(dup)}; merge them "
                "into one declaration (list all processes and years)"
            )
            raise ValueError(msg)
        super().__init__({s.datacard_name: s for s in systematics})

    @property
    def variations_names(self) -> list[str]:
        """``{datacard_name}Up/Down`` of every shape uncertainty."""
        return [
            f"{s.datacard_name}{shift}"
            for s in self.values()
            if s.is_shape
            for shift in ("Up", "Down")
        ]

    def n_systematics(self) -> int:
        """Number of uncertainties."""
        return len(self)

    def list_type(self, syst_type: str) -> list[str]:
        """Datacard names of the uncertainties of one type."""
        return [k for k, s in self.items() if s.typ == syst_type]

    def get_systematics_by_type(
        self, syst_type: str
    ) -> dict[str, SystematicUncertainty]:
        """Uncertainties of one type, by datacard name."""
        return {k: s for k, s in self.items() if s.typ == syst_type}

    def get_systematics_by_process(
        self, process: Process
    ) -> dict[str, SystematicUncertainty]:
        """Uncertainties that list ``process``."""
        return {k: s for k, s in self.items() if process.name in s.processes}
