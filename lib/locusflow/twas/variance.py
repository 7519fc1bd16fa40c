"""The variance of predicted expression, sigma_g^2 = w' Gamma w, for every model at once.

Every TWAS path calls :func:`expression_variance`: S-PrediXcan on a PredictDB covariance file (its
entries as strings, as import-time codes, or as import-time terms streamed from Parquet), on a
reference panel's LD (one block, or several blocks as one block-diagonal matrix), and FUSION (w on
the standardised scale, Gamma = R). Gamma is given in one of two forms:

- entries: rows ``(i, j, term)`` of an upper triangle, each model's own (a PredictDB covariance file
  holds one matrix per gene), with ``term = Gamma_ij`` times 2 off the diagonal;
  ``sigma_g^2 = sum over entries of model g of term * x_i * x_j``;
- dense: one matrix shared by all models (a panel's LD), with the column of each row;
  ``sigma_g^2 = (W Gamma W')_gg`` for the sparse models x SNPs matrix W of ``x``.

``x`` holds the weights of the SNPs used (0 for the others), so the set of SNPs used is decided by
the caller alone. References: Barbeira et al. 2018 (Nat Commun 9:1825), MetaXcan
``AssociationCalculation``; Gusev et al. 2016 (Nat Genet 48:245), FUSION.assoc_test.R.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np


def expression_variance(x: np.ndarray, model: np.ndarray, n_models: int, *,
                        entries: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
                        ld: np.ndarray | None = None, column: np.ndarray | None = None) -> np.ndarray:
    """sigma_g^2 = w' Gamma w per model, from covariance entries or from one dense LD matrix.

    Parameters
    ----------
    x : numpy.ndarray of float
        Per row (a weight row, or any index space the entries use): the weight if the SNP is used,
        else 0. With entries whose ``term`` already holds the weights, 1 for used rows.
    model : numpy.ndarray of int
        Model code 0..n_models-1 of each row of ``x``.
    n_models : int
        Number of models.
    entries : iterable of (numpy.ndarray, numpy.ndarray, numpy.ndarray), optional
        Chunks of ``(i, j, term)``: row indices into ``x`` (-1, or beyond ``x``: not used) and
        ``term = Gamma_ij`` (x2 off the diagonal), each pair once. Chunks are summed one by one into
        small reused buffers (Arrow record batches as they are read): no temporary the size of the
        covariance table.
    ld : numpy.ndarray, optional
        Dense [p, p] Gamma shared by every model (panel covariance, or FUSION's correlation R).
    column : numpy.ndarray of int, optional
        With ``ld``: the column of ``ld`` of each row (-1: not in it).

    Returns
    -------
    numpy.ndarray of float
        sigma_g^2 per model (0 for a model with no entry).

    References
    ----------
    Barbeira et al. 2018, Nat Commun 9:1825 (MetaXcan ``AssociationCalculation``: ``w' Gamma w``);
    Gusev et al. 2016, Nat Genet 48:245 (FUSION.assoc_test.R: ``t(wgt) %*% LD %*% wgt``).
    """
    if (entries is None) == (ld is None):
        raise ValueError("give exactly one of entries= or ld=")
    if ld is not None:
        return _dense(x, model, n_models, ld, column)
    return _entry_sums(np.asarray(x, float), np.asarray(model), n_models, entries)


def _dense(x, model, n_models, ld, column) -> np.ndarray:
    """diag(W Gamma W') with W sparse [models, columns]: one sparse-dense product."""
    import scipy.sparse as sp     # here: the covariance path and the CLI start do not need it
    nz = (column >= 0) & (x != 0)
    W = sp.csr_matrix((x[nz], (model[nz], column[nz])), shape=(n_models, ld.shape[0]))
    return np.asarray(W.multiply(W @ ld).sum(axis=1)).ravel()


def _entry_sums(x, model, n_models, entries) -> np.ndarray:
    """sum of term * x_i * x_j per model of i over the chunks (fresh memory is slow to fault in on these
    VMs: ~20 ms per 13 MB array, against ~1 ms for the arithmetic, hence the reused buffers)."""
    u = np.append(x, 0.0)                      # the last slot: rows not used (-1, beyond x)
    mc = np.append(np.asarray(model, np.intp), n_models)
    out = np.zeros(n_models + 1)
    buf = None
    for r1, r2, term in entries:
        n = len(term)
        if not n:
            continue
        over = max(int(r1.max()), int(r2.max())) + 2
        if over > len(u):           # rows beyond x: unused
            u = np.append(u, np.zeros(over - len(u)))
            mc = np.append(mc, np.full(over - len(mc), n_models, np.intp))
        r1 = np.where(r1 < 0, len(u) - 1, r1) if r1.min() < 0 else r1
        r2 = np.where(r2 < 0, len(u) - 1, r2) if r2.min() < 0 else r2
        if buf is None or len(buf) < n:
            buf, b2, i1, i2 = np.empty(n), np.empty(n), np.empty(n, np.intp), np.empty(n, np.intp)
        t, t2, k1, k2 = buf[:n], b2[:n], i1[:n], i2[:n]
        np.copyto(k1, r1)           # intp indices: numpy's take is ~3x faster than with int32
        np.copyto(k2, r2)
        np.take(u, k1, out=t)
        np.take(u, k2, out=t2)
        t *= t2
        if np.isfinite(term).all():
            t *= term
        else:                       # 0 x inf/NaN on rows not used must not reach the sums
            t[:] = np.where(t != 0, t * term, 0.0)
        np.take(mc, k1, out=k2)
        out += np.bincount(k2, t, minlength=n_models + 1)
    return out[:n_models]
