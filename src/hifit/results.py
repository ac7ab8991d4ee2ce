"""One JSON document per kind of result, versioned.

Every result hifit writes — by the CLI (``-o``), by ``hifit run`` and by
``to_dict()`` of the result types in :mod:`hifit.infer` — is a JSON object whose
``schema`` names its kind (``"hifit.fit"``, ``"hifit.hypotest"``, ``"hifit.limit"``,
``"hifit.significance"``, ``"hifit.scan"``, ``"hifit.ranking"``, ``"hifit.grid"``)
and whose ``version`` is :data:`SCHEMA_VERSION`. The fields of each kind are listed in
the README ("Result files"). :func:`load` reads a document back and checks its kind, so
that ``hifit.visualize`` and ``hifit report`` can draw a file the CLI wrote.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .exceptions import HifitError
from .input_files import InputFileError, read_utf8

SCHEMA_VERSION = 1
KINDS = ("fit", "hypotest", "limit", "significance", "scan", "ranking", "grid")


class InvalidResult(HifitError):
    """A file or object that is not a hifit result document of the expected kind."""


def document(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as a result document of ``kind`` (schema and version first)."""
    if kind not in KINDS:
        msg = f"unknown result kind {kind!r} (known: {', '.join(KINDS)})"
        raise ValueError(msg)
    return {"schema": f"hifit.{kind}", "version": SCHEMA_VERSION, **payload}


def kind_of(doc: dict[str, Any]) -> str:
    """The kind of a result document, e.g. ``"fit"``."""
    return str(doc["schema"]).removeprefix("hifit.")


def load(
    source: str | os.PathLike[str] | dict[str, Any], kind: str | None = None
) -> dict[str, Any]:
    """A result document from a file (or an already loaded dict), checked to be of
    ``kind`` if given."""
    where = "result" if isinstance(source, dict) else str(source)
    if isinstance(source, dict):
        doc = source
    else:
        try:
            doc = json.loads(read_utf8(source, "a result document"))
        except InputFileError as err:  # a device, directory or not UTF-8
            raise InvalidResult(str(err)) from None
        except (OSError, json.JSONDecodeError, RecursionError) as err:
            msg = f"{where}: cannot read a result document: {err}"
            raise InvalidResult(msg) from None
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if not isinstance(schema, str) or kind_of(doc) not in KINDS:
        msg = f"{where}: not a hifit result document (no 'schema' key naming a kind)"
        raise InvalidResult(msg)
    if doc.get("version") != SCHEMA_VERSION:
        msg = (
            f"{where}: {schema} version {doc.get('version')!r}, this hifit reads "
            f"version {SCHEMA_VERSION}"
        )
        raise InvalidResult(msg)
    if kind is not None and kind_of(doc) != kind:
        msg = f"{where}: a {kind_of(doc)} result, expected a {kind} result"
        raise InvalidResult(msg)
    return doc
