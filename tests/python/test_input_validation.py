"""Bad values that are input errors, not failed fits: each is refused before any work
with a message naming the file and the place, through the Python API (a HifitError,
i.e. a ValueError) and through the CLI (one line on stderr, exit 2). Acceptance follows
the reference tool of each format, run here: pyhf for workspaces and patchsets."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest
from test_cli_outcomes import hifit as run_cli
from test_cli_outcomes import one_error_line

import hifit
from hifit.exceptions import HifitError

pyhf = pytest.importorskip("pyhf")

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PATCHSET = SHARED / "pyhf" / "pyhf-tests" / "test_patchset" / "example_patchset.json"
LBB_PATCHSET = SHARED / "pyhf" / "atlas-1Lbb-ins1755298" / "patchset.json"


def pyhf_accepts_patchset(spec) -> bool:
    try:
        pyhf.PatchSet(spec)
    except Exception:  # pyhf raises schema, lookup and its own patchset errors
        return False
    return True


def hifit_accepts_patchset(spec) -> bool:
    try:
        hifit.PatchSet(spec, source="ps.json")
    except HifitError as err:
        assert str(err).startswith("ps.json: /"), err
        return False
    return True


def _set(path, value):
    def edit(spec):
        *parents, last = path
        node = spec
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return edit


_DELETE = object()
PATCH0 = ["patches", 0]
PATCHSET_EDITS = {
    "version 2.0.0": _set(["version"], "2.0.0"),
    "version number": _set(["version"], 1.0),
    "no version": _set(["version"], _DELETE),
    "extra top-level key": _set(["extra"], 1),
    "empty patch name": _set([*PATCH0, "metadata", "name"], ""),
    "patch name with '-'": _set([*PATCH0, "metadata", "name"], "a-b"),
    "patch name not a string": _set([*PATCH0, "metadata", "name"], 3),
    "no patch values": _set([*PATCH0, "metadata", "values"], _DELETE),
    "patch value null": _set([*PATCH0, "metadata", "values"], [None]),
    "values count != labels": _set([*PATCH0, "metadata", "values"], [0, 1]),
    "extra patch key": _set([*PATCH0, "extra"], 1),
    "extra patch metadata key": _set([*PATCH0, "metadata", "extra"], 1),
    "empty labels": _set(["metadata", "labels"], []),
    "empty label": _set(["metadata", "labels"], [""]),
    "label with space": _set(["metadata", "labels"], ["a b"]),
    "no labels": _set(["metadata", "labels"], _DELETE),
    "no digests": _set(["metadata", "digests"], _DELETE),
    "empty digests": _set(["metadata", "digests"], {}),
    "short sha256": _set(["metadata", "digests"], {"sha256": "7c32"}),
    "uppercase md5": _set(["metadata", "digests"], {"md5": "A" * 32}),
    "md5": _set(["metadata", "digests"], {"md5": "a" * 32}),
    "unknown digest": _set(["metadata", "digests"], {"sha1": "a" * 40}),
    "no references": _set(["metadata", "references"], _DELETE),
    "empty references": _set(["metadata", "references"], {}),
    "bad hepdata id": _set(["metadata", "references"], {"hepdata": "ins12"}),
    "no description": _set(["metadata", "description"], _DELETE),
    "description not a string": _set(["metadata", "description"], 1),
    "extra metadata key": _set(["metadata", "extra"], 1),
    "no patches": _set(["patches"], []),
    "unknown op": _set([*PATCH0, "patch", 0, "op"], "frobnicate"),
    "replace without value": _set([*PATCH0, "patch", 0, "value"], _DELETE),
    "op without path": _set([*PATCH0, "patch", 0, "path"], _DELETE),
    "move without from": _set([*PATCH0, "patch", 0], {"op": "move", "path": "/a"}),
    "remove": _set([*PATCH0, "patch", 0], {"op": "remove", "path": "/a"}),
    "patch not a list": _set([*PATCH0, "patch"], {}),
}


def test_the_shared_patchsets_are_accepted_by_both():
    for path in (PATCHSET, LBB_PATCHSET):
        spec = json.loads(path.read_text())
        assert pyhf_accepts_patchset(spec)
        assert hifit_accepts_patchset(spec)


@pytest.mark.parametrize("edit", PATCHSET_EDITS, ids=str)
def test_patchsets_are_refused_exactly_when_pyhf_refuses_them(edit):
    spec = json.loads(PATCHSET.read_text())
    PATCHSET_EDITS[edit](spec)
    assert hifit_accepts_patchset(spec) == pyhf_accepts_patchset(spec)


def test_duplicate_patch_values_are_refused_as_pyhf_does():
    spec = json.loads(PATCHSET.read_text())
    twin = copy.deepcopy(spec["patches"][0])
    twin["metadata"]["name"] = "twin"
    spec["patches"].append(twin)
    assert not pyhf_accepts_patchset(spec)
    assert not hifit_accepts_patchset(spec)
    twin["metadata"]["values"] = [1]
    assert pyhf_accepts_patchset(spec)
    assert hifit_accepts_patchset(spec)
