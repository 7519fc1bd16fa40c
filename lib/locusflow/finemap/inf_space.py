"""Configuration scores of FINEMAP-inf: sparse effects on a configuration C plus an infinitesimal background.

Standardised genotypes X (n samples), ``X'X = n R = V diag(D^2) V'``, ``X'y = sqrt(n) z``. Given
(sigma^2, tau^2), ``Omega = (sigma^2 I + tau^2 X X')^-1`` acts in the eigenbasis as ``w_k = 1 / (tau^2
D_k^2 + sigma^2)``, so ``M = X' Omega X = V diag(D^2 w) V'`` and ``r = X' Omega y = V (w V'X'y)``. A
configuration C with effects ``b_C ~ N(0, s^2 I)`` has ``omega_C = M_CC + I / s^2``, posterior
``b_C ~ N(omega_C^-1 r_C, omega_C^-1)`` and Bayes factor against the empty configuration
``log BF_s(C) = r_C' omega_C^-1 r_C / 2 - log det(omega_C) / 2 - |C| log(s^2) / 2``. Its unnormalised log
posterior is ``log q(C) = log mean_s BF_s(C) + sum_{j in C} log(pi_j / (1 - pi_j))`` (s^2 on the grid
``S``, uniform prior over it).

Every configuration the search meets is a visited configuration with one SNP added, swapped or removed,
so :class:`InfSpace` keeps the columns of M (and of ``X'X`` and ``(X'X)^2`` for the variance update) of
the SNPs of visited configurations only; any pair in an explored configuration has one of them there.
"""
from __future__ import annotations

import numpy as np

from .sss.bayes import logsumexp

CHUNK = 65536      # configurations scored per batch


def ld_eigen(z, R, n, eigen, source: str):
    """(z as float64, V, D^2): eigenvectors of ``X'X = n R`` and its eigenvalues clipped at 0, from R
    (scipy ``eigh``, as the reference) or from ``eigen = (V, Dsq)``.

    Parameters
    ----------
    z : array-like, shape (p,)
        z-scores.
    R : array-like, shape (p, p)
        In-sample LD (ignored when ``eigen`` is given).
    n : float
        Sample size.
    eigen : tuple or None
        Precomputed ``(V, Dsq)``.
    source : str
        Kernel named in the error.

    Returns
    -------
    tuple
        ``(z, V, dsq)``.

    Raises
    ------
    InputError
        When R is not p x p.
    """
    from scipy.linalg import eigh
    from ..errors import InputError
    z = np.asarray(z, dtype=np.float64)
    if eigen is not None:
        return z, eigen[0], np.maximum(np.asarray(eigen[1], dtype=np.float64), 0.0)
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (z.size, z.size):
        raise InputError(source, f"R must be {z.size} x {z.size} to match z", column="R", value=R.shape)
    lam, V = eigh(R)
    return z, V, np.maximum(n * lam, 0.0)


class InfSpace:
    """Scores of configurations for one region under (sigma^2, tau^2); see the module docstring.

    Parameters
    ----------
    V, dsq : numpy.ndarray
        Eigenvectors (columns) and eigenvalues of X'X (clipped at 0).
    xty : numpy.ndarray, shape (p,)
        ``X'y = sqrt(n) z``.
    log_odds : numpy.ndarray, shape (p,)
        ``log(pi_j / (1 - pi_j))`` (-inf where pi_j = 0).
    ssq : numpy.ndarray
        Grid of prior effect variances s^2.
    """

    def __init__(self, V, dsq, xty, log_odds, ssq):
        self.V, self.dsq, self.xty, self.log_odds = V, dsq, xty, log_odds
        self.ssq = np.asarray(ssq, dtype=np.float64)
        self.p = xty.size
        self.vtxty = V.T @ xty
        self.kxy = V @ (dsq * self.vtxty)              # (X'X) X'y
        self.pos = np.full(self.p, -1, dtype=np.int64)
        self.members = np.zeros(0, dtype=np.int64)
        self.m_cols = self.k_cols = self.k2_cols = np.zeros((self.p, 0))
        self.v2 = V * V
        self.w = np.ones_like(dsq)
        self.k_ready = 0

    def set_variance(self, sigmasq: float, tausq: float) -> None:
        """Omega for (sigma^2, tau^2): r, diag(M) and the cached columns of M."""
        self.sigmasq, self.tausq = float(sigmasq), float(tausq)
        self.w = 1.0 / (self.tausq * self.dsq + self.sigmasq)
        self.r = self.V @ (self.w * self.vtxty)
        self.m_diag = self.v2 @ (self.dsq * self.w)
        u = self.members.size
        self.m_cols[:, :u] = self._cols(self.members, self.dsq * self.w)

    def _cols(self, idx, scale):
        return self.V @ (scale[:, None] * self.V[idx].T)

    def ensure(self, idx) -> None:
        """Cache the columns of M, X'X and (X'X)^2 of SNPs ``idx``."""
        new = np.unique(np.asarray(idx, dtype=np.int64))
        new = new[self.pos[new] < 0]
        if not new.size:
            return
        u = self.members.size
        if u + new.size > self.m_cols.shape[1]:          # grow the caches (capacity doubles)
            cap = min(self.p, max(2 * self.m_cols.shape[1], u + new.size, 64))
            for name in ("m_cols", "k_cols", "k2_cols"):
                old = getattr(self, name)
                grown = np.empty((self.p, cap))
                grown[:, :u] = old[:, :u]
                setattr(self, name, grown)
        self.pos[new] = u + np.arange(new.size)
        self.members = np.concatenate([self.members, new])
        span = slice(u, u + new.size)
        self.m_cols[:, span] = self._cols(new, self.dsq * self.w)

    def neighbour_scores(self, g):
        """log mean_s BF (log odds excluded) of ``g + {i}`` for every SNP i [p] and, for each member l, of
        ``g - g_l`` [k] and ``g - g_l + {i}`` [k, p] (entries of g's own SNPs are meaningless). The
        inverses for ``g - g_l`` come from ``A^-1`` of g by a rank-one downdate."""
        g = np.asarray(g, dtype=np.int64)
        k = g.size
        mg, rg = self.m_cols[:, self.pos[g]], self.r[g]
        la, lb_h, la_h = [], [], []
        for s in self.ssq:                # loop over the prior variance grid (one value by default)
            ls = np.log(s)
            if not k:
                c = self.m_diag + 1.0 / s
                la.append(0.5 * (self.r * self.r / c - np.log(c) - ls))
                continue
            a = mg[g] + np.eye(k) / s
            ainv = np.linalg.inv(a)
            logdet = 2.0 * np.log(np.diag(np.linalg.cholesky(a))).sum()
            la.append(self._added(mg, rg, ainv, logdet, k, ls))
            d = np.diag(ainv)
            b = ainv[None] - ainv[:, :, None] * ainv[:, None, :] / d[:, None, None]   # (A_{g - g_l})^-1, padded
            logdet_h = logdet + np.log(d)
            quad_h = np.einsum("i,lij,j->l", rg, b, rg)
            lb_h.append(0.5 * (quad_h - logdet_h - (k - 1) * ls))
            th = np.einsum("pj,ljm->lpm", mg, b)
            schur = self.m_diag + 1.0 / s - np.einsum("lpm,pm->lp", th, mg)
            res = self.r - th @ rg
            with np.errstate(divide="ignore", invalid="ignore"):
                la_h.append(0.5 * (quad_h[:, None] + res * res / schur - logdet_h[:, None] - np.log(schur) - k * ls))
        shift = np.log(self.ssq.size)
        out_h = (logsumexp(np.array(lb_h), axis=0) - shift, logsumexp(np.array(la_h), axis=0) - shift) if k else (None, None)
        return (logsumexp(np.array(la), axis=0) - shift,) + out_h

    def _added(self, mg, rg, ainv, logdet, k, ls):
        tt = mg @ ainv
        schur = self.m_diag + 1.0 / np.exp(ls) - np.einsum("ij,ij->i", tt, mg)
        res = self.r - tt @ rg
        with np.errstate(divide="ignore", invalid="ignore"):
            return 0.5 * (rg @ ainv @ rg + res * res / schur - logdet - np.log(schur) - (k + 1) * ls)

    def add_one(self, base):
        """(log mean_s BF(base), log mean_s BF(base + {i}) [p]), log odds excluded."""
        base = np.asarray(base, dtype=np.int64)
        k = base.size
        if not k:
            return 0.0, self.neighbour_scores(base)[0]
        mg, rg = self.m_cols[:, self.pos[base]], self.r[base]
        lb, la = [], []
        for s in self.ssq:                # loop over the prior variance grid
            a = mg[base] + np.eye(k) / s
            ainv = np.linalg.inv(a)
            logdet = 2.0 * np.log(np.diag(np.linalg.cholesky(a))).sum()
            lb.append(0.5 * (rg @ ainv @ rg - logdet - k * np.log(s)))
            la.append(self._added(mg, rg, ainv, logdet, k, np.log(s)))
        shift = np.log(self.ssq.size)
        return float(logsumexp(np.array(lb)) - shift), logsumexp(np.array(la), axis=0) - shift

    def _gather(self, cols, diag, conf):
        """Entries (C, C) of a matrix whose columns of visited SNPs are ``cols``: [N, k, k]."""
        n, k = conf.shape
        out = np.empty((n, k, k))
        ii = np.arange(k)
        out[:, ii, ii] = diag[conf]
        for a in range(k):              # loop over pairs of a configuration's slots (k <= 10)
            for b in range(a + 1, k):
                ga, gb = conf[:, a], conf[:, b]
                pa, pb = self.pos[ga], self.pos[gb]
                v = np.where(pb >= 0, cols[ga, np.maximum(pb, 0)], cols[gb, np.maximum(pa, 0)])
                out[:, a, b] = out[:, b, a] = v
        return out

    def score(self, conf, moments: bool = False):
        """``log q`` of configurations ``conf`` [N, k] (all of size k); with ``moments`` also E[b_C] [N, k]
        and E[b_C b_C'] [N, k, k] averaged over the s^2 grid by its posterior."""
        conf = np.asarray(conf, dtype=np.int64)
        n, k = conf.shape
        lq = np.empty(n)
        eb, ebb = (np.zeros((n, k)), np.zeros((n, k, k))) if moments else (None, None)
        if k == 0:                      # the empty configuration: BF 1
            return np.zeros(n), eb, ebb
        for lo in range(0, n, CHUNK):   # loop over batches of configurations
            c = conf[lo:lo + CHUNK]
            mk = self._gather(self.m_cols, self.m_diag, c)
            rc = self.r[c]
            lbf, mus, invs = [], [], []
            for s in self.ssq:          # loop over the prior variance grid
                a = mk + np.eye(k) / s
                chol = np.linalg.cholesky(a)
                logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1)
                if moments:
                    inv = np.linalg.inv(a)
                    invs.append(inv)
                    u = np.einsum("nij,nj->ni", inv, rc)
                else:
                    u = np.linalg.solve(a, rc[..., None])[..., 0]
                mus.append(u)
                lbf.append(0.5 * ((u * rc).sum(1) - logdet - k * np.log(s)))
            lbf = np.array(lbf)
            tot = logsumexp(lbf, axis=0)
            lq[lo:lo + CHUNK] = tot - np.log(self.ssq.size) + self.log_odds[c].sum(1)
            if moments:
                post = np.exp(lbf - tot)                # p(s^2 | C)
                for t in range(self.ssq.size):          # loop over the grid
                    u = mus[t]
                    eb[lo:lo + CHUNK] += post[t][:, None] * u
                    ebb[lo:lo + CHUNK] += post[t][:, None, None] * (u[:, :, None] * u[:, None, :] + invs[t])
        return lq, eb, ebb

    def moment_terms(self, conf, eb, ebb):
        """Each configuration's share of the method-of-moments vector (Cui et al. 2024):
        ``(-2 E[b]'X'y + tr(E[bb'] (X'X)_CC), -2 E[b]'(X'X X'y) + tr(E[bb'] (X'X)^2_CC))`` [N, 2]."""
        u = self.members.size
        if self.k_ready < u:                        # columns of X'X and (X'X)^2, computed when first needed
            span, new = slice(self.k_ready, u), self.members[self.k_ready:]
            self.k_cols[:, span] = self._cols(new, self.dsq)
            self.k2_cols[:, span] = self._cols(new, self.dsq ** 2)
            self.k_ready = u
        kk = self._gather(self.k_cols, self.v2 @ self.dsq, conf)
        kk2 = self._gather(self.k2_cols, self.v2 @ self.dsq ** 2, conf)
        b0 = -2 * (eb * self.xty[conf]).sum(1) + (ebb * kk).sum((1, 2))
        b1 = -2 * (eb * self.kxy[conf]).sum(1) + (ebb * kk2).sum((1, 2))
        return np.column_stack([b0, b1])
