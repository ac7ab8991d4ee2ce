"""Datacard files: read a card with its TH1 templates, and combine cards.

The card text is parsed in C++ (``hifit._core.datacard``); the templates its ``shapes``
lines name are read here with uproot and handed to C++ as arrays::

    card, templates = hifit.datacard.read("card.txt", mass=125)
    templates[("ch1", "signal", "")].contents        # nominal
    templates[("ch1", "signal", "alphaUp")].sumw2    # a shape variation

:func:`combine` merges cards as ``combineCards.py`` does.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core, root_input
from ..exceptions import InvalidSpec
from ..input_files import read_utf8
from ..io import write_text_atomic
from ._root_th1 import RootFile, Unsupported

__all__ = ["combine", "read"]

_dc = _core.datacard
# What the standard-library TH1 reader gives up on (layouts it does not decode, damaged
# data): uproot then reads the file, and reports damage as one line naming it.
_READER_LIMITS = (
    Unsupported,
    OSError,
    struct.error,
    ValueError,
    IndexError,
    zlib.error,
)

TemplateKey = tuple[str, str, str]


def read(
    path: str | os.PathLike[str],
    *,
    mass: float = 120.0,
    keywords: Mapping[str, str] | None = None,
) -> tuple[Any, dict[TemplateKey, Any]]:
    """Parse a datacard and read every template it needs.

    Parameters
    ----------
    path
        The card. Relative ROOT file names in its ``shapes`` lines are resolved
        against the card's directory.
    mass
        The value of ``$MASS`` (Combine's ``-m``).
    keywords
        ``$WORD`` substitutions (Combine's ``--keyword-value WORD=VALUE``).

    Returns
    -------
    (card, templates)
        ``card`` is a ``hifit._core.datacard.Datacard``; ``templates`` maps
        ``(channel, process, variation)`` to a ``Histogram`` (``variation`` is ""
        for the nominal, ``<nuisance>Up``/``Down`` otherwise; process ``data_obs`` is
        the observed data; it may be absent when the card gives no observed count,
        ``observation -1``, as PocketCoffea's cards without data do). Counting cards
        and ``FAKE`` shapes give no templates; an absent ``shape?`` variation pair
        means that entry is an lnN.

    Raises
    ------
    hifit.exceptions.InvalidSpec
        A malformed card, or a missing ROOT file or object (the message names the
        card file and line of the ``shapes`` line, the ROOT file and the object).
    """
    path = os.fspath(path)
    _check_card_file(path)
    card = _dc.read(path)
    requests = _dc.shape_requests(card, mass=float(mass), keywords=dict(keywords or {}))
    base = Path(path).parent
    files: dict[Path, Any] = {}
    found: dict[TemplateKey, Any] = {}
    optional_missing: set[tuple[str, str, str]] = set()
    try:
        for req in requests:
            hist = _template(req, base, files, path)
            key = (req.channel, req.process, req.variation)
            if hist is None:
                optional_missing.add(key)
            else:
                found[key] = hist
    finally:
        for handle in files.values():
            handle.close()
    # shape? entries are used only as an Up/Down pair; otherwise they fall back to lnN
    for channel, process, variation in optional_missing:
        if not variation:
            continue
        stem = variation[: -len("Up")] if variation.endswith("Up") else variation[:-4]
        for twin in (stem + "Up", stem + "Down"):
            found.pop((channel, process, twin), None)
    return card, found


def _check_card_file(path: str | os.PathLike[str]) -> None:
    """A device, directory or text other than UTF-8 is refused before the C++ parser
    reads it (its names would not decode); a missing file is reported by the parser."""
    if os.path.lexists(path):
        read_utf8(path, "a datacard")


def _template(req: Any, base: Path, files: dict[Path, Any], card_path: str) -> Any:
    """One template as a Histogram; None for an absent optional (shape?) one."""
    where = f"{card_path}:{req.line}"
    file_path = Path(req.file)
    if not file_path.is_absolute():
        file_path = base / file_path
    handle = files.get(file_path)
    if handle is None:
        if not os.path.lexists(file_path):
            msg = f"{where}: the shapes file {str(file_path)!r} does not exist"
            raise InvalidSpec(msg)
        root_input.check_file(file_path, where)  # no device, directory or non-ROOT
        try:
            handle = RootFile(file_path)  # the standard-library reader first
        except _READER_LIMITS:
            handle = root_input.open_file(file_path, where)
        files[file_path] = handle
    if isinstance(handle, RootFile):
        try:
            return _from_reader(handle, req, where, file_path)
        except _READER_LIMITS:
            handle.close()  # what it cannot decode (or finds damaged), uproot reads
            handle = files[file_path] = root_input.open_file(file_path, where)
    with root_input.reading(file_path, f"histogram {req.object!r}", where):
        return _from_uproot(handle, req, where, file_path)


def _missing(req: Any, where: str, file_path: Path) -> InvalidSpec:
    msg = f"{where}: no object {req.object!r} in {str(file_path)!r}"
    if req.variation:
        msg += f" (variation {req.variation} of {req.process} in {req.channel})"
    return InvalidSpec(msg)


def _not_th1(req: Any, where: str, file_path: Path, kind: str) -> InvalidSpec:
    msg = (
        f"{where}: object {req.object!r} in {str(file_path)!r} is a {kind}, "
        "expected a TH1 (only binned templates are supported)"
    )
    return InvalidSpec(msg)


def _from_reader(handle: RootFile, req: Any, where: str, file_path: Path) -> Any:
    key = handle.find(req.object)
    if key is None:
        if not req.required:
            return None
        raise _missing(req, where, file_path)
    if not key.classname.startswith("TH1"):
        raise _not_th1(req, where, file_path, key.classname)
    h = handle.th1(key)
    return _dc.Histogram(h.contents.tolist(), h.sumw2.tolist(), h.edges.tolist())


def _uproot_file(file_path: Path, where: str) -> Any:
    import uproot

    try:
        return uproot.open(file_path)
    except Exception as err:  # uproot raises several types for non-ROOT files
        msg = f"{where}: cannot open the shapes file {str(file_path)!r} ({err})"
        raise InvalidSpec(msg) from None


def _from_uproot(handle: Any, req: Any, where: str, file_path: Path) -> Any:
    import uproot

    try:
        obj = handle[req.object]
    except (KeyError, uproot.KeyInFileError):
        if not req.required:
            return None
        raise _missing(req, where, file_path) from None
    if not getattr(obj, "classname", "").startswith("TH1"):
        raise _not_th1(
            req, where, file_path, getattr(obj, "classname", type(obj).__name__)
        )
    contents = np.asarray(obj.values(flow=False), dtype=np.float64)
    sumw2 = np.asarray(obj.variances(flow=False), dtype=np.float64)
    edges = np.asarray(obj.axis().edges(flow=False), dtype=np.float64)
    return _dc.Histogram(contents.tolist(), sumw2.tolist(), edges.tolist())


def combine(
    cards: Mapping[str, str | os.PathLike[str]]
    | Iterable[tuple[str, str | os.PathLike[str]]],
    output_path: str | os.PathLike[str] | None = None,
) -> str:
    """Merge labelled cards like ``combineCards.py label1=card1.txt ...``.

    A single-bin card's bin is renamed to its label, a multi-bin card's bins get the
    prefix ``label_``; label ``.`` keeps the names. Relative ROOT file names are
    rewritten relative to the directory of ``output_path`` (the current directory
    when None). Returns the card text; with ``output_path`` it is also written there
    (atomically).
    """
    items = list(cards.items()) if isinstance(cards, Mapping) else list(cards)
    out_dir = Path(output_path).parent if output_path is not None else Path()
    parsed = []
    names = []
    for label, card_path in items:
        _check_card_file(card_path)
        card = _dc.read(os.fspath(card_path))
        shapes = card.shapes
        for line in shapes:
            if line.file != "FAKE" and not os.path.isabs(line.file):
                target = Path(card_path).parent / line.file
                line.file = os.path.relpath(target, out_dir).replace(os.sep, "/")
        card.shapes = shapes
        parsed.append((label, card))
        names.append(f"{label}={os.fspath(card_path)}")
    merged = _dc.combine_cards(parsed)
    text = _dc.write(merged, "Combination of " + "  ".join(names))
    if output_path is not None:
        write_text_atomic(output_path, text)
    return text
