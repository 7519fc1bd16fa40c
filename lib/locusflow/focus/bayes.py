"""Bayes factors of causal gene sets (FOCUS, Mancuso et al. 2019 Nat Genet; FINEMAP's form, Benner et
al. 2016 Bioinformatics). Reference implementation: pyfocus 0.802 ``bayes_factor``.

For a causal set S of k genes with TWAS z ``z_S``, predicted-expression correlation R = Omega[S, S] and
per-gene prior effect variance c = s^2 / k:

    log BF_S = -1/2 log det(I + c R) + 1/2 c z_S' (I + c R)^-1 z_S

pyfocus writes it with the SVD of R; here a Cholesky of I + cR unrolled over k and vectorised over a
batch of sets (closed form for k <= 3), never one Python call per set.
"""
from __future__ import annotations

import numpy as np


def _log_bf_small(sets, z, wcor, c):
    """Closed-form Cholesky of I + cR for k <= 3 (diagonal 1 + c), element arrays over the batch."""
    k = sets.shape[1]
    a = 1.0 + c
    y0 = np.sqrt(c) * z[sets[:, 0]]
    if k == 1:
        return -0.5 * np.log(a) + 0.5 * y0 * y0 / a
    i, j = sets[:, 0], sets[:, 1]
    l10 = c * wcor[i, j] / np.sqrt(a)
    d1 = a - l10 * l10
    u0 = y0 / np.sqrt(a)
    u1 = (np.sqrt(c) * z[j] - l10 * u0) / np.sqrt(d1)
    if k == 2:
        return -0.5 * (np.log(a) + np.log(d1)) + 0.5 * (u0 * u0 + u1 * u1)
    l = sets[:, 2]
    l20 = c * wcor[i, l] / np.sqrt(a)
    l21 = (c * wcor[j, l] - l20 * l10) / np.sqrt(d1)
    d2 = a - l20 * l20 - l21 * l21
    u2 = (np.sqrt(c) * z[l] - l20 * u0 - l21 * u1) / np.sqrt(d2)
    return -0.5 * (np.log(a) + np.log(d1) + np.log(d2)) + 0.5 * (u0 * u0 + u1 * u1 + u2 * u2)


def log_bf_sets(sets: np.ndarray, z: np.ndarray, wcor: np.ndarray, chisq: float) -> np.ndarray:
    """log Bayes factor of every causal gene set of one size.

    Parameters
    ----------
    sets : numpy.ndarray of int, shape (B, k)
        Gene indices of B sets of k genes each.
    z : numpy.ndarray, shape (m,)
        TWAS z of the block's genes.
    wcor : numpy.ndarray, shape (m, m)
        Predicted-expression correlation Omega.
    chisq : float
        Prior effect variance s^2 of the block (:func:`locusflow.focus.model.prior_chisq`); each of the
        k genes gets s^2 / k.

    Returns
    -------
    numpy.ndarray, shape (B,)
        log BF_S = -1/2 log det(I + cR) + 1/2 c z_S'(I + cR)^-1 z_S, c = s^2 / k.

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675 (FOCUS); pyfocus 0.802 ``finemap.bayes_factor``.
    """
    B, k = sets.shape
    c = chisq / k
    if k <= 3:
        return _log_bf_small(sets, z, wcor, c)
    A = wcor[sets[:, :, None], sets[:, None, :]] * c  # B x k x k
    A[:, np.arange(k), np.arange(k)] += 1.0
    y = np.sqrt(c) * z[sets]  # B x k
    L = np.zeros_like(A)
    logdet = np.zeros(B)
    for j in range(k):  # loop over the k <= max_genes columns of the factor, not over sets
        d = A[:, j, j] - np.einsum("bi,bi->b", L[:, j, :j], L[:, j, :j])
        L[:, j, j] = np.sqrt(d)
        logdet += np.log(d)
        for i in range(j + 1, k):
            L[:, i, j] = (A[:, i, j] - np.einsum("bt,bt->b", L[:, i, :j], L[:, j, :j])) / L[:, j, j]
    u = np.zeros_like(y)  # forward solve L u = y; quad = |u|^2 = c z'(I+cR)^-1 z
    for j in range(k):
        u[:, j] = (y[:, j] - np.einsum("bt,bt->b", L[:, j, :j], u[:, :j])) / L[:, j, j]
    return -0.5 * logdet + 0.5 * np.einsum("bk,bk->b", u, u)
