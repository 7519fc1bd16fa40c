"""Positions against 1-based inclusive intervals, vectorised (sorted starts, running maximum of ends,
searchsorted): the overlap primitives of :mod:`locusflow.dnalm.annotate` and :mod:`locusflow.dnalm.regions`.
"""
from __future__ import annotations

import numpy as np


def covered(pos: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whether each position lies inside any interval (intervals may overlap).

    Parameters
    ----------
    pos : ndarray of int64
        Positions (one chromosome).
    start, end : ndarray of int64
        Intervals, 1-based inclusive.

    Returns
    -------
    ndarray of bool
    """
    pos = np.asarray(pos, dtype=np.int64)
    if len(start) == 0:
        return np.zeros(len(pos), bool)
    o = np.argsort(start, kind="stable")
    s, cmax = np.asarray(start)[o], np.maximum.accumulate(np.asarray(end)[o])
    i = np.searchsorted(s, pos, side="right") - 1
    return (i >= 0) & (cmax[np.maximum(i, 0)] >= pos)


def overlap_pairs(pos: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (variant, interval) pairs with start <= pos <= end, vectorised.

    Parameters
    ----------
    pos : ndarray of int64
        Positions (one chromosome).
    start, end : ndarray of int64
        Intervals (1-based inclusive; may overlap).

    Returns
    -------
    tuple of ndarray
        Variant indices and interval indices of the overlapping pairs.
    """
    if len(start) == 0 or len(pos) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    o = np.argsort(start, kind="stable")
    s, e = start[o], end[o]
    span = int((e - s).max())
    hi = np.searchsorted(s, pos, side="right")
    lo = np.searchsorted(s, pos - span, side="left")
    n = hi - lo
    vi = np.repeat(np.arange(len(pos)), n)
    ii = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
    keep = e[ii] >= pos[vi]
    return vi[keep], o[ii[keep]]


