"""A fast reader for the common VCF shape: FORMAT ``GT`` only, diploid, one-digit allele indices.

Most genotype VCFs (1000 Genomes, imputation servers after ``bcftools annotate -x FORMAT``, exports from
PLINK) have exactly ``GT`` in FORMAT and calls like ``0|1`` or ``./.``: every sample field is 3 bytes, so the
genotype part of a line is ``4 n - 1`` bytes and can be decoded as an ``(n, 4)`` byte array with numpy,
without tokenising 2,500 fields per line. :func:`read_gt_blocks` streams the decompressed text in blocks of
whole lines (memory bounded by ``block_bytes``), checks that every line has this shape, and yields the
fixed columns and the calls of each block. A file of another shape (other FORMAT keys, haploid or
multi-digit calls, CRLF line ends, a line with the wrong field count) raises :class:`NotFixedWidth` before
anything is written, and the caller falls back to the general reader (bio2zarr), which also reports
malformed lines precisely.

This is what ``plink --vcf`` does for speed (it special-cases GT-only VCFs too).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

FIXED = ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
MAX_FIXED = 4096          # bytes of the fixed columns of a line (longer: the general reader)


class NotFixedWidth(Exception):
    """The file is not GT-only diploid with one-digit alleles (the general reader handles it)."""


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        try:
            import pysam                      # htslib's BGZF reader: faster than zlib here
            return pysam.libcbgzf.BGZFile(str(path), "rb")
        except (ImportError, OSError, ValueError):
            return gzip.open(path, "rb")
    return open(path, "rb")


def read_header(fh) -> tuple[list[str], bytes]:
    """Sample ids of the ``#CHROM`` line, and the data bytes already read after it.

    Parameters
    ----------
    fh : file object
        Opened at the start of the (decompressed) VCF.

    Returns
    -------
    samples : list of str
    rest : bytes
        Data read past the header line (the start of the first data line).

    Raises
    ------
    NotFixedWidth
        When no ``#CHROM`` line is found.
    """
    buf = b""
    while True:
        data = fh.read(1 << 20)
        if not data and not buf:
            raise NotFixedWidth("no #CHROM line")
        buf += data
        i = buf.find(b"\n#CHROM")
        start = 0 if buf.startswith(b"#CHROM") else (i + 1 if i >= 0 else -1)
        if start >= 0:
            end = buf.find(b"\n", start)
            if end >= 0:
                cols = buf[start:end].decode().rstrip("\r").split("\t")
                return cols[9:], buf[end + 1:]
        if not data:
            raise NotFixedWidth("no #CHROM line")


@njit(cache=True, nogil=True)
def _allele(c):     # pragma: no cover - compiled
    """Allele index of one VCF GT byte: '0'..'9' -> 0..9, '.' -> -1, anything else -> -2."""
    if 48 <= c <= 57:
        return c - 48
    return -1 if c == 46 else -2


@njit(cache=True, nogil=True)
def _gather_fixed(buf, starts, lengths, out):     # pragma: no cover - compiled
    """Copy each line's first ``lengths`` bytes into ``out`` back to back, the last byte of each a newline."""
    q = 0
    for i in range(starts.shape[0]):
        out[q:q + lengths[i]] = buf[starts[i]:starts[i] + lengths[i]]
        q += lengths[i]
        out[q - 1] = 10


@njit(cache=True, nogil=True)
def _decode_fields(buf, begin, n, calls, alt_count, called):     # pragma: no cover - compiled
    """Fields ``a|b`` / ``a/b`` (then tab, or newline after the last) of each line from ``begin``: calls
    (allele index, -1 for '.'), per line the count of allele 1 and of fully called samples. Returns the
    first bad line, or -1."""
    for i in range(begin.shape[0]):
        p = begin[i]
        alt = 0
        ok = 0
        for j in range(n):
            a, sep, b, end = buf[p], buf[p + 1], buf[p + 2], buf[p + 3]
            if not (sep == 124 or sep == 47) or not (end == 9 if j < n - 1 else end == 10):
                return i
            ca, cb = _allele(a), _allele(b)
            if ca == -2 or cb == -2:
                return i
            calls[i, j, 0] = ca
            calls[i, j, 1] = cb
            if ca >= 0 and cb >= 0:
                ok += 1
                alt += (ca == 1) + (cb == 1)
            p += 4
        alt_count[i] = alt
        called[i] = ok
    return -1


def decode_block(buf: np.ndarray, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Fixed columns and calls of a block of whole lines.

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        Whole data lines, each ending in ``\\n``.
    n : int
        Samples.

    Returns
    -------
    fixed : pandas.DataFrame
        The 9 fixed columns as text (:data:`FIXED`).
    calls : numpy.ndarray of int8, shape (lines, n, 2)
        Allele indices, -1 missing; ``phased`` is not kept (genotype stores hold unphased dosages).
    alt_count, called : numpy.ndarray of int64
        Per line: copies of allele 1 over fully called samples, and the number of those samples.

    Raises
    ------
    NotFixedWidth
        When a line is not FORMAT GT, diploid, one-digit.
    """
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], ends[:-1] + 1])
    L = len(ends)
    width = 4 * n - 1
    # the 9th tab of each line, looked for in its first 256 bytes, then (lines with long INFO) further
    tab9 = np.full(L, -1, np.int64)
    todo = np.arange(L)
    k = 256
    while len(todo):
        idx = np.minimum(starts[todo, None] + np.arange(k)[None, :], len(buf) - 1)
        count = np.cumsum(buf[idx] == 9, axis=1, dtype=np.int16)
        found = count[:, -1] >= 9
        tab9[todo[found]] = starts[todo[found]] + np.argmax(count[found] >= 9, axis=1)
        todo = todo[~found]
        if k >= MAX_FIXED:
            if len(todo):
                raise NotFixedWidth("a line without 9 fixed columns in its first bytes")
            break
        k *= 4
    if not np.array_equal(ends - tab9 - 1, np.full(L, width)):
        raise NotFixedWidth("genotype fields of other widths (not GT-only diploid one-digit)")
    # one compiled pass over the genotype fields: allele indices, alt counts and called samples per line
    calls = np.empty((L, n, 2), np.int8)
    alt_count, called = np.empty(L, np.int64), np.empty(L, np.int64)
    bad = _decode_fields(buf, tab9 + 1, n, calls, alt_count, called)
    if bad >= 0:
        raise NotFixedWidth("a sample field that is not a|b or a/b with one-digit alleles")
    # the fixed columns of every line, each ended by a newline (its 9th tab's place), for pandas' reader
    lengths = tab9 - starts + 1
    fixed_bytes = np.empty(int(lengths.sum()), np.uint8)
    _gather_fixed(buf, starts, lengths, fixed_bytes)
    from io import BytesIO
    fixed = pd.read_csv(BytesIO(fixed_bytes.tobytes()), sep="\t", header=None, names=FIXED, dtype=str,
                        keep_default_na=False, quoting=3, engine="c")
    if len(fixed) != L or (fixed["FORMAT"] != "GT").any():
        raise NotFixedWidth("FORMAT other than GT")
    return fixed, calls, alt_count, called


def read_gt_blocks(path, block_bytes: int = 64 << 20):
    """Stream a GT-only VCF as blocks of (fixed columns, calls).

    Parameters
    ----------
    path : str or pathlib.Path
        VCF, plain, gzip or bgzip.
    block_bytes : int
        Decompressed bytes per block (a block holds whole lines; memory is a few times this).

    Yields
    ------
    samples : list of str
        First item: the sample ids.
    (fixed, calls, alt_count, called) : tuple
        Then one per block (:func:`decode_block`).

    Raises
    ------
    NotFixedWidth
        When the file does not have the fixed-width shape (the caller uses the general reader).
    """
    path = Path(path)
    with _open(path) as fh:
        samples, head = read_header(fh)
        yield samples
        n = len(samples)
        if n == 0:
            raise NotFixedWidth("no samples")
        pending, eof = np.frombuffer(head, np.uint8), False
        while True:
            if len(pending) < block_bytes and not eof:        # fill up to one block
                data = fh.read(block_bytes)
                eof = not data
                if data:
                    pending = np.concatenate([pending, np.frombuffer(data, np.uint8)])
                    continue
            if not len(pending):
                return
            newlines = np.flatnonzero(pending[:block_bytes] == 10)
            if len(newlines):
                cut = int(newlines[-1]) + 1
            else:                                             # a line longer than a block
                more = np.flatnonzero(pending == 10)
                if len(more):
                    cut = int(more[0]) + 1
                elif not eof:
                    data = fh.read(block_bytes)
                    eof = not data
                    pending = np.concatenate([pending, np.frombuffer(data, np.uint8)])
                    continue
                else:                                         # the last line without its newline
                    pending = np.concatenate([pending, np.array([10], np.uint8)])
                    cut = len(pending)
            block, pending = pending[:cut], pending[cut:]
            if (block[:4096] == 13).any():
                raise NotFixedWidth("CRLF line ends")
            yield decode_block(block, n)
