"""FOCUS gene-level fine-mapping: the math of one LD block (Mancuso et al. 2019 Nat Genet; MA-FOCUS,
Lu et al. 2022 AJHG). Reference implementation: PyPI ``pyfocus`` 0.802 (``pyfocus/finemap.py``).

For ``m`` gene models with aligned weights ``W`` (p SNPs x m), GWAS z ``z`` (p) and LD
``V = corr(G_ref) + ridge * I``:

- TWAS z (``assoc_test``):              z_twas_g = w_g' z / sqrt(w_g' V w_g)
- predicted-expression correlation:     Omega = D^-1/2 (W' V W) D^-1/2,  D = diag(W' V W)
- prior effect variance (``calculate_pips``):  s^2 = z_twas' Omega^+ z_twas  (least-squares solution,
  LAPACK gelsd as ``scipy.linalg.lstsq``); for a causal set S of size k the per-gene variance is s^2 / k
- FINEMAP-style log Bayes factor of S (``bayes_factor``), with R = Omega[S, S], c = s^2 / k:
      log BF_S = -1/2 log det(I + c R) + 1/2 c z_S' (I + c R)^-1 z_S
  (pyfocus writes it with the SVD of R; we use a batched Cholesky over stacked k x k submatrices)
- prior: log pi_S = k log p + (m - k) log(1 - p); the NULL.MODEL (k = 0) has m log(1 - p)
- PIP_g = sum_{S ∋ g} BF_S pi_S / (pi_0 + sum_S BF_S pi_S); the null row gets pi_0 / (same)
- multi-ancestry: log BF_S summed over populations (each with its own Omega and s^2), prior once.
- intercept (``get_resid``): regress the TWAS z on the mean LD-tagged pleiotropy a = D^-1/2 W' V 1 in the
  Omega^+ metric (generalised least squares), report the residual z and the intercept's z.

All sets with 1..max_genes genes are enumerated in vectorised batches (combinations generated with numpy,
never one Python call per set); above ``max_sets`` sets a shotgun stochastic search (FINEMAP-style
neighbourhood moves) is used instead and the switch is logged.
"""
from __future__ import annotations

from math import comb

import numpy as np
import scipy.linalg as lin

from .. import get_logger

log = get_logger("focus")


def twas_z(W: np.ndarray, z: np.ndarray, V: np.ndarray) -> np.ndarray:
    """TWAS z of every column of ``W``: w'z / sqrt(w'Vw) (pyfocus ``assoc_test``, no heterogeneity)."""
    return (W.T @ z) / np.sqrt(np.einsum("im,im->m", W, V @ W))


def expression_correlation(W: np.ndarray, V: np.ndarray, intercept: bool = False):
    """Omega = scaled W'VW (pyfocus ``estimate_cor``); with ``intercept`` also D^-1/2 W'V (m x p)."""
    wcov = W.T @ V @ W
    scale = 1.0 / np.sqrt(np.diag(wcov))
    wcor = wcov * scale[:, None] * scale[None, :]
    if intercept:
        return wcor, (W.T @ V) * scale[:, None]
    return wcor, None


def prior_chisq(z: np.ndarray, wcor: np.ndarray) -> float:
    """s^2 = z' Omega^+ z via the least-squares solution of Omega x = z (as pyfocus)."""
    sol = lin.lstsq(wcor, z)[0]
    return float(z @ sol)


def intercept_residual(z: np.ndarray, swld: np.ndarray, wcor: np.ndarray):
    """Residual TWAS z and intercept z after removing the mean tagged pleiotropy (pyfocus ``get_resid``)."""
    a = swld.sum(axis=1)
    winv, rank = lin.pinvh(wcor, return_rank=True)
    denom = a @ winv @ a
    alpha = (a @ winv @ z) / denom
    resid = z - a * alpha
    s2 = (resid @ winv @ resid) / (rank - 1)
    return resid, float(alpha / np.sqrt(s2 / denom))


def colex_combinations(n: int, r: int) -> np.ndarray:
    """All r-subsets of range(n) in colexicographic order (int32, C(n, r) x r); those of range(n') are
    the first C(n', r) rows."""
    if r == 0:
        return np.zeros((1, 0), dtype=np.int32)
    if n < r:
        return np.zeros((0, r), dtype=np.int32)
    prev = colex_combinations(n - 1, r - 1)
    parts = [np.column_stack([prev[:comb(t, r - 1)], np.full(comb(t, r - 1), t, dtype=np.int32)])
             for t in range(r - 1, n)]  # loop over genes (the largest member), not sets
    return np.concatenate(parts).astype(np.int32)


def iter_sets(m: int, k: int, batch: int = 1 << 20):
    """Yield int32 arrays (B x k) covering every k-subset of range(m) exactly once."""
    if k == 1:
        for s in range(0, m, batch):
            yield np.arange(s, min(m, s + batch), dtype=np.int32)[:, None]
        return
    tail = colex_combinations(m, k - 1)  # (k-1)-subsets; rows < C(n', k-1) use only range(n')
    buf, size = [], 0
    for top in range(k - 1, m):  # the largest member of the set; loop over genes
        rest = tail[:comb(top, k - 1)]
        buf.append(np.column_stack([rest, np.full(len(rest), top, dtype=np.int32)]))
        size += len(rest)
        if size >= batch:
            yield np.concatenate(buf)
            buf, size = [], 0
    if buf:
        yield np.concatenate(buf)


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
    """log BF of each row of ``sets`` (B x k) by a Cholesky of I + cR unrolled over k, vectorised over B."""
    B, k = sets.shape
    c = chisq / k
    if k <= 3:
        return _log_bf_small(sets, z, wcor, c)
    A = wcor[sets[:, :, None], sets[:, None, :]] * c  # B x k x k
    A[:, np.arange(k), np.arange(k)] += 1.0
    y = np.sqrt(c) * z[sets]  # B x k
    L = np.zeros_like(A)
    logdet = np.zeros(B)
    for j in range(k):
        d = A[:, j, j] - np.einsum("bi,bi->b", L[:, j, :j], L[:, j, :j])
        L[:, j, j] = np.sqrt(d)
        logdet += np.log(d)
        for i in range(j + 1, k):
            L[:, i, j] = (A[:, i, j] - np.einsum("bt,bt->b", L[:, i, :j], L[:, j, :j])) / L[:, j, j]
    u = np.zeros_like(y)  # forward solve L u = y; quad = |u|^2 = c z'(I+cR)^-1 z
    for j in range(k):
        u[:, j] = (y[:, j] - np.einsum("bt,bt->b", L[:, j, :j], u[:, :j])) / L[:, j, j]
    return -0.5 * logdet + 0.5 * np.einsum("bk,bk->b", u, u)


class _Accumulator:
    """Running log-sum-exp of the marginal and of each gene's posterior mass."""

    def __init__(self, m: int, log_null: float):
        self.shift = log_null
        self.total = 1.0  # exp(log_null - shift)
        self.log_null = log_null
        self.gene = np.zeros(m)

    def add(self, sets: np.ndarray, local: np.ndarray):
        top = float(local.max())
        if top > self.shift:
            f = np.exp(self.shift - top)
            self.total *= f
            self.gene *= f
            self.shift = top
        w = np.exp(local - self.shift)
        self.total += w.sum()
        self.gene += np.bincount(sets.ravel(), weights=np.repeat(w, sets.shape[1]), minlength=len(self.gene))

    def result(self):
        return self.gene / self.total, float(np.exp(self.log_null - self.shift) / self.total)


def fine_map_genes(zs, wcors, chisqs, prior_prob: float, max_genes: int = 3, max_sets: float = 1e8,
                   batch: int = 1 << 20, sss_iter: int = 20000, seed: int = 1):
    """PIPs for every population alone and (when more than one) jointly.

    ``zs``, ``wcors``, ``chisqs``: per-population TWAS z (m), Omega (m x m) and s^2, genes in the same
    order in every population. Returns (pips: list of arrays, null: list of floats, method) where the
    last entry is the multi-ancestry result when there are two or more populations.
    """
    n_pop = len(zs)
    m = len(zs[0])
    k_max = min(m, int(max_genes))
    n_out = 1 if n_pop == 1 else n_pop + 1
    log_null = m * np.log1p(-prior_prob)
    n_sets = sum(comb(m, k) for k in range(1, k_max + 1))
    if n_sets > max_sets:
        log.info("FOCUS: %d genes, %d causal sets > max_sets %g: shotgun stochastic search", m, n_sets, max_sets)
        from .focus_sss import stochastic_search
        return (*stochastic_search(zs, wcors, chisqs, prior_prob, k_max, sss_iter, seed), "sss")
    acc = [_Accumulator(m, log_null) for _ in range(n_out)]
    lp, lq = np.log(prior_prob), np.log1p(-prior_prob)
    for k in range(1, k_max + 1):
        prior = k * lp + (m - k) * lq
        for sets in iter_sets(m, k, batch):
            bfs = [log_bf_sets(sets, zs[i], wcors[i], chisqs[i]) for i in range(n_pop)]
            for i in range(n_pop):
                acc[i].add(sets, bfs[i] + prior)
            if n_pop > 1:
                acc[-1].add(sets, np.sum(bfs, axis=0) + prior)
    res = [a.result() for a in acc]
    return [r[0] for r in res], [r[1] for r in res], "exhaustive"


def credible_set(pips: np.ndarray, level: float = 0.9) -> np.ndarray:
    """1 for the rows (genes and the null) in the ``level`` credible set: PIPs sorted decreasing,
    normalised to sum 1, taken until the cumulative sum reaches ``level`` (pyfocus ``add_credible_set``)."""
    order = np.argsort(-pips, kind="stable")
    csum = np.cumsum(pips[order] / pips.sum())
    n_in = int(np.searchsorted(csum, level, side="left")) + 1
    out = np.zeros(len(pips), dtype=np.int64)
    out[order[:min(n_in, len(pips))]] = 1
    return out
