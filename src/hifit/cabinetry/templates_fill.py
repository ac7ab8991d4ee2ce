"""Filling template histograms from ntuples, in parallel on an executor.

Each template is a :class:`Fill` (tree, variable, weight, selection, binning) over a
list of files. The work is cut into units of one file × one entry range
(``step_size`` entries); a worker reads a unit with uproot and fills a
boost-histogram with ``Weight`` storage (sum of weights and of squared weights per
bin), and the client adds the partial histograms of each template in unit order.

The units and the order of the additions depend only on the inputs and
``step_size``, never on the number of workers or where a unit ran: threads, a
``LocalCluster`` or a remote Dask cluster give bit-identical templates. Against one
fill over all events (cabinetry's way) only the order of the floating-point
additions differs: unweighted counts are exact, weighted sums agree to ~1e-15
relative (tested at 1e-12).

Before any filling, every file is opened once per tree (on the executor too: opening
is slow on remote storage) for its entry count, and each template's expressions are
checked on its first file, so bad input fails before any filling, with the same
messages as a serial read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import root_input
from ..exceptions import HifitError

__all__ = [
    "DEFAULT_STEP_SIZE",
    "Fill",
    "Probe",
    "TemplateInputError",
    "Unit",
    "fill",
    "plan",
]

log = logging.getLogger("cabinetry.templates")  # cabinetry's logger name

#: entries per work unit: ~0.1-0.5 s of reading and filling for a few branches
DEFAULT_STEP_SIZE = 1_000_000


class TemplateInputError(HifitError):
    """An input ntuple or histogram lacks a tree, branch or histogram."""


@dataclass(frozen=True)
class Fill:
    """How one template histogram is filled."""

    label: str  # the template's name, for messages
    paths: tuple[str, ...]  # files or globs, summed in this order
    tree: str
    variable: str
    weight: str | None  # an expression to evaluate, or None for ``constant``
    constant: float
    selection: str | None
    bins: tuple[float, ...]

    @property
    def expressions(self) -> list[str]:
        return [self.variable] if self.weight is None else [self.variable, self.weight]

    @property
    def context(self) -> str:
        return f"cannot build template {self.label}"


class Unit(NamedTuple):
    """Entries [start, stop) of one file, filled into template ``fill``."""

    fill: int
    path: str
    start: int
    stop: int


# --- messages ------------------------------------------------------------------------


def missing_key_error(
    exc: Exception, action: str, file_path: str, what_in_file: str
) -> TemplateInputError:
    """A concise message for uproot's KeyInFileError, naming the file."""
    key = getattr(exc, "key", "?")
    file_path = getattr(exc, "file_path", None) or file_path
    if getattr(exc, "object_path", None) is None:
        available = ", ".join(k.split(";")[0] for k in getattr(exc, "keys", None) or [])
        message = f"no {what_in_file} {key!r} in {file_path}"
        if available:
            message += f" (available: {available})"
    else:
        tree = exc.object_path.lstrip("/").split(";")[0]
        message = f"no branch {key!r} in tree {tree!r} of {file_path}"
    return TemplateInputError(f"{action}: {message}")


def _is_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


def _missing_file_error(path: str, label: str) -> FileNotFoundError:
    if _is_glob(path):
        return FileNotFoundError(
            f"cannot build template {label}: no file matches {path}"
        )
    return FileNotFoundError(f"cannot build template {label}: no file {path}")


# --- reading -------------------------------------------------------------------------


def _open(path: str, spec: Fill) -> Any:
    """The open file (a ``with`` target); errors name the file and the template."""
    import uproot

    try:
        if os.path.lexists(path):  # a Path inside: colons are not object paths
            return root_input.open_file(path, spec.context)
        return uproot.open(path)  # a URL, or a missing file
    except FileNotFoundError as exc:
        raise _missing_file_error(path, spec.label) from exc


def _tree(source: Any, path: str, spec: Fill) -> Any:
    import uproot

    try:
        with root_input.reading(path, f"tree {spec.tree!r}", spec.context):
            return source[spec.tree]
    except uproot.KeyInFileError as exc:
        raise missing_key_error(exc, spec.context, path, "tree") from exc


def _arrays(tree: Any, path: str, spec: Fill, start: int, stop: int) -> dict:
    """The expressions' values of the selected entries in [start, stop)."""
    import uproot

    try:
        with root_input.reading(path, f"tree {spec.tree!r}", spec.context):
            return tree.arrays(
                spec.expressions,
                cut=spec.selection,
                entry_start=start,
                entry_stop=stop,
                library="np",
            )
    except uproot.KeyInFileError as exc:
        raise missing_key_error(exc, spec.context, path, "tree") from exc


def _expand(path: str, spec: Fill) -> list[str]:
    """The files of one path entry; a glob's matches sorted, so that the order of the
    additions does not depend on the file system."""
    import uproot

    try:
        files = [str(f) for f, _ in uproot._util.regularize_files({path: None}, False)]
    except FileNotFoundError as exc:
        raise _missing_file_error(path, spec.label) from exc
    return sorted(files) if _is_glob(path) else files


# --- planning (client) ---------------------------------------------------------------


class Probe(NamedTuple):
    """Open ``path`` for the entry count of template ``fill``'s tree; ``check``:
    also evaluate the template's expressions and selection on zero entries."""

    fill: int
    path: str
    check: bool


def probe_files(fills: Sequence[Fill], probes: Sequence[Probe]) -> list[int]:
    """The entry count per probe (an executor task: file opening is slow on remote
    storage, so it runs on the workers too)."""
    counts = []
    for probe in probes:
        spec = fills[probe.fill]
        log.debug("reading input ntuple %s:%s", probe.path, spec.tree)
        with _open(probe.path, spec) as source:
            tree = _tree(source, probe.path, spec)
            if probe.check:
                _arrays(tree, probe.path, spec, 0, 0)
            counts.append(int(tree.num_entries))
    return counts


def plan(
    fills: Sequence[Fill], step_size: int = DEFAULT_STEP_SIZE, executor: Any = None
) -> list[Unit]:
    """The work units of every template, in template, file and entry order.

    Globs are expanded here; each file is opened once per tree for its entry count
    (on ``executor`` if given), and each template's expressions and selection are
    evaluated on zero entries of its first file, so a missing branch fails here.
    """
    if step_size < 1:
        raise ValueError(f"step_size must be at least 1, not {step_size}")
    files = [
        [p for entry in spec.paths for p in _expand(entry, spec)] for spec in fills
    ]
    probes: list[Probe] = []
    seen: set[tuple[str, str]] = set()
    for index, (spec, paths) in enumerate(zip(fills, files, strict=True)):
        for position, path in enumerate(paths):
            if position == 0 or (path, spec.tree) not in seen:
                probes.append(Probe(index, path, check=position == 0))
                seen.add((path, spec.tree))
    if executor is None:
        counts = probe_files(fills, probes)
    else:
        counts = executor.map(probe_files, probes, shared=list(fills))
    entries = {
        (probe.path, fills[probe.fill].tree): n
        for probe, n in zip(probes, counts, strict=True)
    }
    units: list[Unit] = []
    for index, (spec, paths) in enumerate(zip(fills, files, strict=True)):
        for path in paths:
            n = entries[(path, spec.tree)]
            units += [
                Unit(index, path, start, min(start + step_size, n))
                for start in range(0, n, step_size)
            ]
    return units


# --- filling (workers) ---------------------------------------------------------------


def _empty(spec: Fill) -> Any:
    import boost_histogram as bh

    return bh.Histogram(bh.axis.Variable(spec.bins), storage=bh.storage.Weight())


def _fill_unit(tree: Any, spec: Fill, unit: Unit) -> Any:
    import numpy as np

    arrays = _arrays(tree, unit.path, spec, unit.start, unit.stop)
    values = arrays[spec.variable]
    if spec.weight is None:
        weights = np.ones_like(values, dtype=float) * spec.constant
    else:
        weights = arrays[spec.weight]
    histogram = _empty(spec)
    histogram.fill(values, weight=weights)
    return histogram


def fill_units(fills: Sequence[Fill], units: Sequence[Unit]) -> list[Any]:
    """One partial histogram per unit (the executor's task: a contiguous chunk);
    consecutive units of one file share the open file."""
    results: list[Any] = []
    source, open_path = None, None
    try:
        for unit in units:
            spec = fills[unit.fill]
            if unit.path != open_path:
                if source is not None:
                    source.close()
                source, open_path = _open(unit.path, spec), unit.path
            results.append(_fill_unit(_tree(source, unit.path, spec), spec, unit))
    finally:
        if source is not None:
            source.close()
    return results


def fill(
    fills: Sequence[Fill],
    executor: Any,
    *,
    step_size: int = DEFAULT_STEP_SIZE,
    progress: bool = False,
) -> list[Any]:
    """The boost-histogram of every template: units filled on ``executor`` (the
    fills shipped once per worker), partial histograms added in unit order."""
    units = plan(fills, step_size, executor)
    totals = [_empty(spec) for spec in fills]
    if not units:
        return totals
    map_options: dict[str, Any] = {"shared": list(fills)}
    if progress:
        map_options["desc"] = "templates"
    partials = executor.map(fill_units, units, **map_options)
    for unit, partial in zip(units, partials, strict=True):
        totals[unit.fill] += partial
    return totals


def executor_for(
    executor: Any = None, *, jobs: int | None = None, client: Any = None
) -> tuple[Any, Callable[[], None]]:
    """``executor``, else the one set by ``hifit.executor.using`` (when neither
    ``jobs`` nor ``client`` is given), else one made from ``jobs``/``client``; and
    what closes it (a made executor only: a given one belongs to the caller)."""
    from ..executor import current_executor, get_executor

    if executor is None and jobs is None and client is None:
        executor = current_executor()
    if executor is not None:
        return executor, lambda: None

    made = get_executor(jobs, client=client)
    return made, getattr(made, "close", lambda: None)
