"""Physics processes of a datacard, with the fields of ``pocket_coffea.utils.stat``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["DataProcess", "DataProcesses", "MCProcess", "MCProcesses", "Process"]

# Process and year names end up as `{process}_{year}` column tokens in the card and as
# ROOT object names: whitespace or '#' would split or comment them out.
_BAD_TOKEN = re.compile(r"[\s#/]")


def _check_token(value: object, what: str) -> str:
    text = str(value)
    if not text or _BAD_TOKEN.search(text):
        msg = f"{what} {text!r} must be non-empty without whitespace, '#' or '/'"
        raise ValueError(msg)
    return text


@dataclass
class Process:
    """A process: a name and the PocketCoffea samples that make it up.

    Use :class:`MCProcess` or :class:`DataProcess`; ``label`` defaults to ``name``.
    """

    name: str
    samples: Iterable
    label: str | None = None
    is_data: bool = field(init=False)

    def __post_init__(self) -> None:
        _check_token(self.name, "process name")
        if isinstance(self.samples, str):
            # list("ttbar") would silently give one sample per letter
            self.samples = [self.samples]
        self.samples = list(self.samples)
        if not self.samples:
            msg = f"process {self.name!r} has no samples"
            raise ValueError(msg)
        if not self.label:
            self.label = self.name
        years = getattr(self, "years", None)
        if years is not None:
            if isinstance(years, str):
                years = [years]
            self.years = [
                _check_token(y, f"year of process {self.name!r}") for y in years
            ]
            if not self.years:
                msg = f"process {self.name!r} has no years"
                raise ValueError(msg)


@dataclass(kw_only=True)
class MCProcess(Process):
    """A simulated process: one datacard column per year, ``{name}_{year}``.

    A background with ``has_rateParam`` gets the line
    ``SF_{name} rateParam * {name}_{year} 1 [0,5]``.
    """

    is_signal: bool
    years: Iterable
    has_rateParam: bool = False

    def __post_init__(self) -> None:
        self.is_data = False
        super().__post_init__()


@dataclass(kw_only=True)
class DataProcess(Process):
    """Observed data; all its samples and years are summed into ``data_obs``."""

    years: Iterable

    def __post_init__(self) -> None:
        self.is_data = True
        super().__post_init__()


class MCProcesses(dict[str, MCProcess]):
    """MC processes by name, in the order given (which fixes the column order)."""

    def __init__(self, processes: Iterable[MCProcess]) -> None:
        processes = list(processes)
        for p in processes:
            if not isinstance(p, MCProcess):
                msg = f"MCProcesses takes MCProcess objects, got {type(p).__name__}"
                raise TypeError(msg)
        names = [p.name for p in processes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            msg = f"Duplicate MC process name(s): {', '.join(dup)}"
            raise ValueError(msg)
        super().__init__({p.name: p for p in processes})

    @property
    def signal_processes(self) -> list[str]:
        """Per-year column names of the signal processes."""
        return [f"{n}_{y}" for n, p in self.items() if p.is_signal for y in p.years]

    @property
    def background_processes(self) -> list[str]:
        """Per-year column names of the background processes."""
        return [f"{n}_{y}" for n, p in self.items() if not p.is_signal for y in p.years]

    @property
    def n_processes(self) -> int:
        """Number of datacard columns (processes times years)."""
        return len(self.signal_processes) + len(self.background_processes)


class DataProcesses(dict[str, DataProcess]):
    """Data processes by name (a Datacard takes exactly one)."""

    def __init__(self, processes: Iterable[DataProcess]) -> None:
        processes = list(processes)
        for p in processes:
            if not isinstance(p, DataProcess):
                msg = f"DataProcesses takes DataProcess objects, got {type(p).__name__}"
                raise TypeError(msg)
        super().__init__({p.name: p for p in processes})
