"""Write R objects as an ``.RData`` file (what R's ``save()`` writes), without R.

R's serialisation format version 2, XDR (big-endian), gzip-compressed, as ``save(..., version = 2)``:
``RDX2\\n`` then ``X\\n``, the format and R versions, and a pairlist whose tags are the object names.
Supported values: numeric and integer vectors and matrices (``dim``, ``dimnames``), character vectors,
logical NA, and data frames (a list with ``names``, compact ``row.names`` and class ``data.frame``);
NaN is written as R's ``NA_real_``.

References
----------
R Core Team, "R Internals", section 1.8 (Serialization formats); R ``src/main/serialize.c``.
"""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pandas as pd

NILVALUE, SYMSXP, LISTSXP, CHARSXP, LGLSXP, INTSXP, REALSXP, STRSXP, VECSXP = 254, 1, 2, 9, 10, 13, 14, 16, 19
IS_OBJECT, HAS_ATTR, HAS_TAG = 1 << 8, 1 << 9, 1 << 10
UTF8 = 1 << 3 << 12                   # CHARSXP levels: UTF-8 encoded
NA_INT = -2147483648
NA_REAL = struct.pack(">d", struct.unpack(">d", bytes.fromhex("7ff00000000007a2"))[0])   # R's NA_real_


def _i(v: int) -> bytes:
    return struct.pack(">i", v)


def _char(s) -> bytes:
    if s is None or (isinstance(s, float) and np.isnan(s)):
        return _i(CHARSXP) + _i(-1)
    b = str(s).encode("utf-8")
    return _i(CHARSXP | UTF8) + _i(len(b)) + b


def _attrs(pairs: list) -> bytes:
    out = b""
    for name, value in pairs:
        out += _i(LISTSXP | HAS_TAG) + _i(SYMSXP) + _char(name) + _item(value)
    return out + _i(NILVALUE)


def _vector(typ: int, body: bytes, n: int, attrs: list, obj: bool = False) -> bytes:
    flags = typ | (HAS_ATTR if attrs else 0) | (IS_OBJECT if obj else 0)
    return _i(flags) + _i(n) + body + (_attrs(attrs) if attrs else b"")


def _item(v, attrs: list | None = None) -> bytes:
    attrs = attrs or []
    if isinstance(v, RMatrix):
        return _item(v.values, [("dim", np.array(v.values.shape, np.int32)),
                                ("dimnames", [_strs(v.rownames), _strs(v.colnames)])])
    if isinstance(v, pd.DataFrame):
        cols = [v[c].to_numpy() for c in v.columns]
        return _vector(VECSXP, b"".join(_item(c) for c in cols), len(cols),
                       [("names", _strs(v.columns)), ("class", _strs(["data.frame"])),
                        ("row.names", np.array([NA_INT, -len(v)], np.int32))], obj=True)
    if isinstance(v, list):
        return _vector(VECSXP, b"".join(_item(x) for x in v), len(v), attrs)
    if isinstance(v, _Strs):
        return _vector(STRSXP, b"".join(_char(s) for s in v.values), len(v.values), attrs)
    a = np.asarray(v)
    if a.dtype.kind in "OUS":
        return _item(_strs(a.ravel(order="F")), attrs)
    if a.dtype.kind in "iu":
        return _vector(INTSXP, a.astype(">i4").ravel(order="F").tobytes(), a.size, attrs)
    if a.dtype.kind == "b":
        return _vector(LGLSXP, a.astype(">i4").ravel(order="F").tobytes(), a.size, attrs)
    d = a.astype(">f8").ravel(order="F")
    body = b"".join(NA_REAL if np.isnan(x) else struct.pack(">d", x) for x in d) if np.isnan(d).any() else d.tobytes()
    return _vector(REALSXP, body, a.size, attrs)


class _Strs:
    def __init__(self, values):
        self.values = [None if (isinstance(s, float) and np.isnan(s)) else str(s) for s in values]


def _strs(values) -> _Strs:
    return _Strs(list(values))


class RMatrix:
    """A numeric matrix with row and column names (R ``matrix`` with ``dimnames``).

    Parameters
    ----------
    values : numpy.ndarray
        [rows, columns] numbers.
    rownames, colnames : sequence of str
        Its dimnames.
    """

    def __init__(self, values, rownames, colnames):
        self.values = np.asarray(values)
        self.rownames, self.colnames = list(rownames), list(colnames)


def write_rdata(objects: dict, path) -> Path:
    """``save()`` the named objects to ``path`` (gzip, format version 2), replacing it atomically.

    Parameters
    ----------
    objects : dict
        Name -> value: numpy arrays / scalars (numeric, integer, logical, character), :class:`RMatrix`,
        pandas DataFrames, lists (R lists).
    path : str or pathlib.Path
        Output file.

    Returns
    -------
    pathlib.Path
        ``path``; R's ``load()`` restores the objects.

    References
    ----------
    R Internals, section 1.8; R ``save()``.
    """
    path = Path(path)
    body = b"RDX2\nX\n" + _i(2) + _i(0x040100) + _i(0x020300)
    for name, value in objects.items():
        body += _i(LISTSXP | HAS_TAG) + _i(SYMSXP) + _char(name) + _item(value)
    body += _i(NILVALUE)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(body)
    os.replace(tmp, path)
    return path
