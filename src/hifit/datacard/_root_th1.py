"""Reading TH1 histograms from ROOT files with the standard library (zlib, lzma;
lz4 when installed): the templates of a datacard's ``shapes`` lines.

uproot reads the same histograms but takes longer to import (~0.7 s: it imports
awkward and fsspec) than reading a card's templates and fitting them. Anything this
reader does not know (another compression, a TH1 streamed in a pre-ROOT-5 layout, a
TH2) raises :class:`Unsupported` and the caller falls back to uproot. Objects are
found by ``dir/sub/name[;cycle]`` (the highest cycle by default), like uproot.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

BYTECOUNT = 0x40000000
IS_REFERENCED = 1 << 4
KEY_SMALL = struct.Struct(">ihiIhhii")
KEY_BIG = struct.Struct(">ihiIhhqq")
DIRECTORY_SMALL = struct.Struct(">hIIiiiii")
DIRECTORY_BIG = struct.Struct(">hIIiiqqq")
ARRAYS = {"TH1F": ">f4", "TH1D": ">f8", "TH1I": ">i4", "TH1S": ">i2", "TH1C": ">i1"}


class Unsupported(Exception):
    """Something this reader does not decode (the caller uses uproot instead)."""


@dataclass
class Key:
    classname: str
    name: str
    cycle: int
    seek: int
    keylen: int
    nbytes: int
    objlen: int


@dataclass
class TH1:
    classname: str
    contents: np.ndarray  # without under/overflow
    sumw2: np.ndarray
    edges: np.ndarray


class _Cursor:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def unpack(self, fmt: str) -> tuple:
        s = struct.Struct(fmt)
        out = s.unpack_from(self.data, self.pos)
        self.pos += s.size
        return out

    def string(self) -> str:
        (n,) = self.unpack(">B")
        if n == 255:
            (n,) = self.unpack(">I")
        text = bytes(self.data[self.pos : self.pos + n]).decode(
            "utf-8", "surrogateescape"
        )
        self.pos += n
        return text

    def version(self) -> tuple[int, int | None]:
        """(version, end position) of a versioned object; the end is None when it was
        written without a byte count."""
        (first,) = struct.unpack_from(">I", self.data, self.pos)
        if first & BYTECOUNT:
            self.pos += 4
            end = self.pos + (first & ~BYTECOUNT)
            (v,) = self.unpack(">h")
            return v, end
        (v,) = self.unpack(">h")
        return v, None

    def skip_object(self) -> None:
        _, end = self.version()
        if end is None:
            raise Unsupported("an object without byte count")
        self.pos = end

    def array(self, dtype: str) -> np.ndarray:
        (n,) = self.unpack(">i")
        width = np.dtype(dtype).itemsize
        out = np.frombuffer(self.data, dtype, n, self.pos).astype(np.float64)
        self.pos += n * width
        return out


class RootFile:
    """A ROOT file opened for its histograms (memory-mapped)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        with open(path, "rb") as f:
            try:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file
                raise Unsupported("an empty file") from None
        if self._map[:4] != b"root":
            self.close()
            raise Unsupported("not a ROOT file")
        (begin,) = struct.unpack_from(">i", self._map, 8)
        (nbytes_name,) = struct.unpack_from(
            ">i", self._map, 28 if self._small() else 36
        )
        self._dirs: dict[int, dict[str, list[Key]]] = {}
        self._top = self._directory_keys(begin + nbytes_name)

    def _small(self) -> bool:
        (version,) = struct.unpack_from(">i", self._map, 4)
        return version < 1000000

    def close(self) -> None:
        self._map.close()

    def __enter__(self) -> RootFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _key(self, pos: int) -> tuple[Key, int]:
        c = _Cursor(self._map, pos)
        nbytes, version, objlen, _, keylen, cycle, seek, _ = c.unpack(KEY_SMALL.format)
        if version > 1000:
            c.pos = pos
            nbytes, version, objlen, _, keylen, cycle, seek, _ = c.unpack(
                KEY_BIG.format
            )
        classname, name = c.string(), c.string()
        c.string()  # title
        return Key(classname, name, cycle, seek, keylen, nbytes, objlen), c.pos

    def _directory_keys(self, record: int) -> dict[str, list[Key]]:
        (version,) = struct.unpack_from(">h", self._map, record)
        layout = DIRECTORY_BIG if version > 1000 else DIRECTORY_SMALL
        seek_keys = layout.unpack_from(self._map, record)[7]
        if seek_keys not in self._dirs:
            _, pos = self._key(seek_keys)
            (n,) = struct.unpack_from(">i", self._map, pos)
            pos += 4
            keys: dict[str, list[Key]] = {}
            for _ in range(n):
                key, pos = self._key(pos)
                keys.setdefault(key.name, []).append(key)
            self._dirs[seek_keys] = keys
        return self._dirs[seek_keys]

    def _object(self, key: Key) -> bytes:
        raw = self._map[key.seek + key.keylen : key.seek + key.nbytes]
        if key.objlen == len(raw):
            return raw
        return _decompress(raw, key.objlen)

    def find(self, path: str) -> Key | None:
        """The key of ``dir/sub/name[;cycle]``; None when absent."""
        keys = self._top
        parts = [p for p in path.split("/") if p]
        for i, part in enumerate(parts):
            name, _, cycle = part.partition(";")
            found = keys.get(name, [])
            if cycle:
                found = [k for k in found if str(k.cycle) == cycle]
            if not found:
                return None
            key = max(found, key=lambda k: k.cycle)
            if i == len(parts) - 1:
                return key
            if not key.classname.startswith("TDirectory"):
                return None
            keys = self._directory_keys(key.seek + key.keylen)
        return None

    def th1(self, key: Key) -> TH1:
        if key.classname not in ARRAYS:
            raise Unsupported(f"class {key.classname}")
        return _th1(key.classname, self._object(key))


def _decompress(raw: bytes, objlen: int) -> bytes:
    out, pos = [], 0
    while pos < len(raw):
        algorithm = bytes(raw[pos : pos + 2])
        compressed = int.from_bytes(raw[pos + 3 : pos + 6], "little")
        uncompressed = int.from_bytes(raw[pos + 6 : pos + 9], "little")
        block = raw[pos + 9 : pos + 9 + compressed]
        if algorithm == b"ZL":
            out.append(zlib.decompress(block))
        elif algorithm == b"XZ":
            import lzma

            out.append(lzma.decompress(block))
        elif algorithm == b"L4":
            try:
                import lz4.block
            except ImportError:
                raise Unsupported("LZ4 compression without the lz4 package") from None
            out.append(lz4.block.decompress(block[8:], uncompressed_size=uncompressed))
        else:
            raise Unsupported(f"compression {algorithm!r}")
        pos += 9 + compressed
    data = b"".join(out)
    if len(data) != objlen:
        raise Unsupported("inconsistent compressed object")
    return data


def _th1(classname: str, data: bytes) -> TH1:
    c = _Cursor(data)
    c.version()  # TH1F / TH1D ...
    th1_version, th1_end = c.version()
    if th1_version < 5 or th1_end is None:
        raise Unsupported(f"TH1 version {th1_version}")
    _tnamed(c)
    for _ in range(3):  # TAttLine, TAttFill, TAttMarker
        c.skip_object()
    (ncells,) = c.unpack(">i")
    axis_version, axis_end = c.version()
    if axis_version < 6 or axis_end is None:
        raise Unsupported(f"TAxis version {axis_version}")
    c.skip_object()  # TNamed
    c.skip_object()  # TAttAxis
    nbins, xmin, xmax = c.unpack(">idd")
    xbins = c.array(">f8")
    c.pos = axis_end
    c.skip_object()  # fYaxis
    c.skip_object()  # fZaxis
    c.unpack(">hh")  # fBarOffset, fBarWidth
    c.unpack(">dddddddd")  # fEntries ... fNormFactor
    c.array(">f8")  # fContour
    sumw2 = c.array(">f8")
    c.pos = th1_end
    contents = c.array(ARRAYS[classname])
    if ncells != nbins + 2 or len(contents) != ncells:
        raise Unsupported("not a 1D histogram")
    edges = xbins if len(xbins) == nbins + 1 else np.linspace(xmin, xmax, nbins + 1)
    values = contents[1:-1]
    # uproot's convention: Sumw2 where positive (else 0); without Sumw2 the
    # contents where positive
    source = sumw2[1:-1] if len(sumw2) == ncells else values
    variances = np.where(source > 0, source, 0.0)
    return TH1(classname, values, variances, np.asarray(edges, dtype=np.float64))


def _tnamed(c: _Cursor) -> None:
    _, end = c.version()
    if end is None:
        raise Unsupported("TNamed without byte count")
    c.pos = end
