"""A ROOT file holding one flat TTree (numeric branches, one basket each) and empty
subdirectories, written with the standard library: Combine's higgsCombine files.

uproot writes the same file but takes longer to import (it imports awkward and
fsspec: ~0.7 s) than the rest of a ``hifit combine`` command. The layout is
uproot's (uproot/writing/_cascadetree.py, _cascade.py): TTree v20, TBranch v13,
TLeaf[DFIL] with a ``kNewClassTag`` each, uncompressed TBasket keys, a small file
(32-bit seeks). The StreamerInfo list is empty: ROOT and uproot read these classes
with their own dictionaries. tests/python/test_root_tree.py reads the files back
with uproot (and compares them with uproot's own output).
"""

from __future__ import annotations

import datetime
import os
import struct
from collections.abc import Mapping, Sequence

import numpy as np

KEY = struct.Struct(">ihiIhhii")  # fNbytes fVersion fObjlen fDatime fKeylen fCycle
#                                   fSeekKey fSeekPdir (small key, version 4)
FILE_HEADER = struct.Struct(">4siiiiiiiBiiiH16s")
DIRECTORY = struct.Struct(">hIIiiiii")
TTREE20 = struct.Struct(">qqqqqdiiiiIqqqqqq")
TBRANCH13_1 = struct.Struct(">iiiiq")
TBRANCH13_2 = struct.Struct(">iIiqqqq")
TLEAF2 = struct.Struct(">iii??")
BASKET = struct.Struct(">Hiiii")
BYTECOUNT = 0x40000000
NEW_CLASS_TAG = 0xFFFFFFFF
BEGIN = 100
START_BIG_FILE = 2000000000
BASKET_CAPACITY = 10  # fMaxBaskets, as uproot
LEAF = {  # numpy kind -> (TLeaf letter, fMinimum/fMaximum format)
    np.dtype(np.float64): ("D", ">dd"),
    np.dtype(np.float32): ("F", ">ff"),
    np.dtype(np.int32): ("I", ">ii"),
    np.dtype(np.int64): ("L", ">qq"),
}
UUID = bytes(16)


def _string(text: str) -> bytes:
    raw = text.encode("utf-8", errors="surrogateescape")
    head = (
        bytes([len(raw)]) if len(raw) < 255 else b"\xff" + struct.pack(">I", len(raw))
    )
    return head + raw


def _datime(now: datetime.datetime) -> int:
    return (
        (now.year - 1995) << 26
        | now.month << 22
        | now.day << 17
        | now.hour << 12
        | now.minute << 6
        | now.second
    )


class _Writer:
    """Appends keys to a growing file image; seeks are the image's offsets."""

    def __init__(self, datime: int) -> None:
        self.image = bytearray(BEGIN)
        self.datime = datime

    def key(
        self,
        classname: str,
        name: str,
        title: str,
        payload: bytes,
        parent: int,
        extra: bytes = b"",
        cycle: int = 1,
    ) -> tuple[int, bytes, int]:
        """Writes a key and its object; returns (seek, key header, total bytes)."""
        strings = _string(classname) + _string(name) + _string(title)
        keylen = KEY.size + len(strings) + len(extra)
        seek = len(self.image)
        nbytes = keylen + len(payload)
        header = (
            KEY.pack(nbytes, 4, len(payload), self.datime, keylen, cycle, seek, parent)
            + strings
        )
        self.image += header + extra + payload
        return seek, header, nbytes

    @staticmethod
    def keylen(classname: str, name: str, title: str) -> int:
        return KEY.size + len(_string(classname) + _string(name) + _string(title))


def _directory(
    nbytes_keys: int,
    nbytes_name: int,
    seek_dir: int,
    seek_parent: int,
    seek_keys: int,
    datime: int,
) -> bytes:
    record = DIRECTORY.pack(
        5, datime, datime, nbytes_keys, nbytes_name, seek_dir, seek_parent, seek_keys
    )
    return record + b"\x00\x01" + UUID + bytes(12)  # UUID v1, room for 64-bit seeks


def _numbytes_version(body: bytes, version: int) -> bytes:
    return struct.pack(">IH", (len(body) + 2) | BYTECOUNT, version) + body


def _any_object(classname: str, body: bytes) -> bytes:
    tag = classname.encode() + b"\x00"
    return (
        struct.pack(">II", (len(tag) + len(body) + 4) | BYTECOUNT, NEW_CLASS_TAG)
        + tag
        + body
    )


def _tnamed(name: str, title: str, bits: int) -> bytes:
    tobject = b"\x00\x01" + struct.pack(">II", 0, bits | 0x01000000 | 0x02000000)
    return _numbytes_version(tobject + _string(name) + _string(title), 1)


# TAttLine, TAttFill, TAttMarker with ROOT's defaults, as uproot writes them
TTREE_ATTRIBUTES = (
    b"@\x00\x00\x08\x00\x02\x02Z\x00\x01\x00\x01"
    b"@\x00\x00\x06\x00\x02\x00\x00\x03\xe9"
    b"@\x00\x00\n\x00\x02\x00\x01\x00\x01?\x80\x00\x00"
)
TATTFILL = b"@\x00\x00\x06\x00\x02\x00\x00\x03\xe9"
TIOFEATURES = b"@\x00\x00\x07\x00\x00\x1a\xa1/\x10\x00"
EMPTY_TOBJARRAY = (
    b"@\x00\x00\x15\x00\x03\x00\x01\x00\x00\x00\x00\x03\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00"
)
# TObjArray's TObject (version, fUniqueID, fBits) and empty fName
BRANCHES_HEAD = b"\x00\x01\x00\x00\x00\x00\x03\x00@\x00\x00"
LEAVES_HEAD = b"\x00\x01\x00\x00\x00\x00\x03\x00\x00\x00\x00"


def _ttree(
    name: str, title: str, entries: int, branches: list[dict], keylen: int
) -> bytes:
    """The TTree object (metadata; the baskets are separate keys). A TLeaf
    reference is the leaf's position in the key's buffer (key header included)
    plus kMapOffset (2)."""
    total = sum(b["basket_bytes"] for b in branches)
    head = _tnamed(name, title, 1 << 3) + TTREE_ATTRIBUTES
    head += TTREE20.pack(
        entries,
        total,
        total,
        0,
        0,
        1.0,
        0,
        25,
        0,
        1000,
        0,
        1000000000000,
        1000000000000,
        0,
        -300000000,
        -30000000,
        1000000,
    )
    head += b"\x00\x00" + TIOFEATURES  # empty fClusterRangeEnd, fClusterSize
    # the TTree's own byte count + version (6 bytes) precede ``head``; the branch
    # array's byte count + version (6) and TObjArray header precede the branches
    array_head = BRANCHES_HEAD + struct.pack(">ii", len(branches), 0)
    position = keylen + 6 + len(head) + 6 + len(array_head)
    serialized, references = [], []
    for b in branches:
        letter, limits = LEAF[b["dtype"]]
        tleaf = _numbytes_version(
            _tnamed(b["name"], b["name"], 0)
            + TLEAF2.pack(1, b["dtype"].itemsize, 0, False, False)
            + b"\x00\x00\x00\x00",  # null fLeafCount
            2,
        )
        leaf_body = _numbytes_version(tleaf + struct.pack(limits, 0, 0), 1)
        leaf = _any_object("TLeaf" + letter, leaf_body)
        seeks = np.zeros(BASKET_CAPACITY, ">i8")
        seeks[0] = b["basket_seek"]
        sizes = np.zeros(BASKET_CAPACITY, ">i4")
        sizes[0] = b["basket_bytes"]
        starts = np.zeros(BASKET_CAPACITY, ">i8")
        baskets = 1 if b["basket_bytes"] else 0  # an empty tree has no basket
        starts[1] = entries if baskets else 0
        before_leaves = (
            _tnamed(b["name"], f"{b['name']}/{letter}", 0x00400000)
            + TATTFILL
            + TBRANCH13_1.pack(0, 32000, 0, baskets, entries)
            + TIOFEATURES
            + TBRANCH13_2.pack(
                0, BASKET_CAPACITY, 0, entries, 0, b["basket_bytes"], b["basket_bytes"]
            )
            + EMPTY_TOBJARRAY
        )
        leaves_head = LEAVES_HEAD + struct.pack(">ii", 1, 0)
        # branch object: 8 (byte count + class tag) + "TBranch\0" + 6 (TBranch bc+v)
        # + before_leaves + 6 (leaves array bc+v) + leaves_head, then the leaf
        references.append(
            position + 8 + 8 + 6 + len(before_leaves) + 6 + len(leaves_head) + 2
        )
        body = (
            before_leaves
            + _numbytes_version(leaves_head + leaf, 3)
            + EMPTY_TOBJARRAY
            + b"\x01"
            + sizes.tobytes()
            + b"\x01"
            + starts.tobytes()
            + b"\x01"
            + seeks.tobytes()
            + b"\x00"  # empty fFileName
        )
        branch = _any_object("TBranch", _numbytes_version(body, 13))
        serialized.append(branch)
        position += len(branch)
    refs = np.array(references, ">u4").tobytes()
    leaves = (
        struct.pack(
            ">I13sI4s",
            (21 + len(refs)) | BYTECOUNT,
            b"\x00\x03\x00\x01\x00\x00\x00\x00\x03\x00\x00\x00\x00",
            len(references),
            b"\x00\x00\x00\x00",
        )
        + refs
    )
    body = (
        head
        + _numbytes_version(array_head + b"".join(serialized), 3)
        + leaves
        + bytes(28)
    )
    return _numbytes_version(body, 20)


def write_tree(
    path: str | os.PathLike[str],
    tree_name: str,
    title: str,
    columns: Mapping[str, np.ndarray],
    folders: Sequence[str] = (),
) -> None:
    """Writes ``columns`` (name -> 1D array of float64/float32/int32/int64, all of
    one length) as the TTree ``tree_name``, plus empty directories ``folders``."""
    now = _datime(datetime.datetime.now())
    w = _Writer(now)
    file_name = os.path.basename(os.fspath(path))
    top_keylen = w.keylen("TFile", file_name, "")
    top_name = _string(file_name) + _string("")
    nbytes_name = top_keylen + len(top_name)
    # the top directory's key and record come first; their seeks are patched at the end
    top_record = len(top_name) + DIRECTORY.size + 18 + 12
    w.key("TFile", file_name, "", bytes(top_record), 0)
    entries = len(next(iter(columns.values()))) if columns else 0
    branches = []
    for name, values in columns.items():
        array = np.asarray(values)
        dtype = array.dtype.newbyteorder("=")
        if dtype not in LEAF:
            raise TypeError(f"branch {name}: unsupported type {array.dtype}")
        data = array.astype(dtype.newbyteorder(">")).tobytes()
        seek = nbytes = 0
        if entries:
            extra = BASKET.pack(3, 32000, dtype.itemsize, entries, 0) + b"\x00"
            keylen = w.keylen("TBasket", name, tree_name) + len(extra)
            extra = BASKET.pack(3, 32000, dtype.itemsize, entries, keylen + len(data))
            seek, _, nbytes = w.key(
                "TBasket", name, tree_name, data, BEGIN, extra + b"\x00", cycle=0
            )
        branches.append(
            {"name": name, "dtype": dtype, "basket_seek": seek, "basket_bytes": nbytes}
        )
    tree = _ttree(
        tree_name, title, entries, branches, w.keylen("TTree", tree_name, title)
    )
    _, tree_key, _ = w.key("TTree", tree_name, title, tree, BEGIN)
    headers = [tree_key]
    for folder in folders:
        keylen = w.keylen("TDirectory", folder, folder)
        seek = len(w.image)
        record_size = DIRECTORY.size + 18 + 12
        keys_seek = seek + keylen + record_size
        list_keylen = w.keylen("TDirectory", folder, folder)
        record = _directory(list_keylen + 4, keylen, seek, BEGIN, keys_seek, now)
        _, header, _ = w.key("TDirectory", folder, folder, record, BEGIN)
        w.key("TDirectory", folder, folder, struct.pack(">i", 0), seek)
        headers.append(header)
    info_seek, _, info_bytes = w.key(
        "TList",
        "StreamerInfo",
        "Doubly linked list",
        struct.pack(">IHHIIBI", 17 | BYTECOUNT, 5, 1, 0, 0x02000000, 0, 0),
        BEGIN,
    )
    keys_seek, _, keys_bytes = w.key(
        "TFile",
        file_name,
        "",
        struct.pack(">i", len(headers)) + b"".join(headers),
        BEGIN,
    )
    free_keylen = w.keylen("TFile", file_name, "")
    free_seek = len(w.image)
    end = free_seek + free_keylen + 10
    _, _, free_bytes = w.key(
        "TFile", file_name, "", struct.pack(">Hii", 1, end, START_BIG_FILE), BEGIN
    )
    assert len(w.image) == end
    record = _directory(keys_bytes, nbytes_name, BEGIN, 0, keys_seek, now)
    start = BEGIN + top_keylen
    w.image[start : start + top_record] = top_name + record
    w.image[: FILE_HEADER.size] = FILE_HEADER.pack(
        b"root",
        62400,
        BEGIN,
        end,
        free_seek,
        free_bytes,
        1,
        nbytes_name,
        4,
        100,
        info_seek,
        info_bytes,
        1,
        UUID,
    )
    from ..io import replacing

    with replacing(path) as tmp:
        tmp.write_bytes(bytes(w.image))
