"""XtX of SuSiE's sufficient statistics held as diag(g) R diag(g), never copied at (n-1) scale.

Used by :mod:`locusflow.finemap.susie` (Wang et al. 2020; susieR 0.12.35 ``susie_suff_stat``).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg.blas import dsymv


class Gram:
    """XtX = diag(g) R diag(g), with an optional trailing null column of zeros (``null_weight``)."""

    def __init__(self, R: np.ndarray, g, null: bool = False):
        self.R, self.p = R, R.shape[0]
        self.g = np.broadcast_to(np.asarray(g, dtype=np.float64), (self.p,)).copy()
        self.unit = bool(np.all(self.g == 1.0))
        self.null = null
        d = self.g * self.g * np.diagonal(R)
        self.d = np.append(d, 0.0) if null else d

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """XtX v; R is symmetric, so BLAS dsymv reads half of it (R.T is its Fortran-order view)."""
        x = v[: self.p]
        out = _symv(self.R, x) if self.unit else self.g * _symv(self.R, self.g * x)
        return np.append(out, 0.0) if self.null else out

    def corr(self, idx: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """Xcorr[idx, cols] as susieR: XtX itself if diag(XtX) is 0/1, else cov2cor(XtX)."""
        cols = idx if cols is None else cols
        sub = self.R[np.ix_(idx, cols)]
        if np.all((self.d == 0) | (self.d == 1)):
            return sub if self.unit else sub * self.g[idx, None] * self.g[None, cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            # cov2cor(XtX)_ij = g_i g_j R_ij / sqrt(d_i d_j), d = g^2 diag(R); the diagonal is 1
            out = sub * (self.g[idx] / np.sqrt(self.d[idx]))[:, None] * (self.g[cols] / np.sqrt(self.d[cols]))[None, :]
        out[idx[:, None] == cols[None, :]] = 1.0
        return out


def _symv(R, x):
    if R.flags.c_contiguous:
        return dsymv(1.0, R.T, x, lower=0)
    if R.flags.f_contiguous:
        return dsymv(1.0, R, x)
    return R @ x


def as_ld(R, error=ValueError) -> np.ndarray:
    """R as a symmetric float64 matrix (susieR: XtX = (XtX + t(XtX)) / 2); ``error`` when it is not square and finite.

    Parameters
    ----------
    R : array_like, shape (p, p)
        LD matrix.
    error : type
        Exception class raised for a non-square or non-finite R.

    Returns
    -------
    numpy.ndarray, shape (p, p)
        R as float64, symmetrised as (R + R') / 2 when it is not exactly symmetric.

    References
    ----------
    susieR 0.12.35 ``susie_suff_stat`` input checks.
    """
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        raise error(f"R must be a square matrix, got shape {R.shape}")
    if not np.all(np.isfinite(R)):
        raise error("R contains NA or infinite values")
    if not np.array_equal(R, R.T):   # susieR: XtX = (XtX + t(XtX)) / 2
        R = (R + R.T) / 2
    return R
