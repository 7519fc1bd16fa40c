"""Logistic regression GWAS with a Firth fallback, batched over the variants of a chunk: plink2's fits.

For one binary trait y (0/1), covariates C and the samples D_v observed at variant v, the model is
logit P(y=1) = b0 + g beta + C gamma. The predictors of a variant are [1, g, C] (plink2's order). Every
product over samples is one GEMM for the whole batch of variants (no (variants x samples x predictors)
array): X' W X from weighted sums of 1, g, g^2 and of C, C (x) C; the hat values x_i' A x_i likewise.

Logistic fit: plink2's ``LogisticRegressionD``, itself R's ``glm.fit``: start from the least-squares fit
of z = (y - 1/2) 2 (ln 3 + 4/3) (glm.fit's first IRLS step from mu = (y + 1/2) / 2), then Newton steps
theta <- theta + H^-1 X'(y - mu), H = X' diag(mu (1 - mu)) X, until the log-likelihood changes by less
than 1e-8 (0.05 + |loglik|) (at most 24 steps; then "unfinished", reported as plink2 does). The
standard error comes from H at the last step's starting point (glm.fit's and plink2's), z = beta / se,
p = 2 Phi(-|z|) (Wald).

Firth fit: plink2's ``FirthRegressionD``, a port of logistf 1.24 (pl = FALSE): from theta = 0, steps
delta = (X' diag((1 + h) mu (1 - mu)) X)^-1 U*, U* = X'(y - mu + h (1/2 - mu)), h the diagonal of the
hat matrix W^1/2 X H^-1 X' W^1/2, each step capped at 5 in its largest coordinate, until the last step,
max |U*| and the rise of the penalised log-likelihood (+ 1/2 log det H) are all <= 1e-5 (at most 26
steps). se from that weighted matrix at the last step's start, as plink2 reports it.

Firth is used, as plink2's default ``firth-fallback``, for a variant whose allele-by-status table has an
empty cell (no alt or no ref allele among cases or among controls) and for one whose logistic fit fails
(a log-likelihood that is not a number). A result is missing (NaN) where the genotype is constant over
the samples used, the Firth fit leaves (0, 1) or a variance is not positive and finite, or the genotype's
estimate is perfectly correlated with another's (plink2's ``validParameters`` checks).

References
----------
Firth D (1993) Biometrika 80:27; Heinze G & Schemper M (2002) Stat Med 21:2409 (logistf).
Peer: plink2 ``--glm`` logistic with ``firth-fallback`` (Chang et al. 2015, GigaScience 4:7); double
precision since plink2 2.00a5 (the Debian 2.00a3.5 build fits in single precision).
"""
from __future__ import annotations

import numpy as np
from scipy import special

GLM_START = 2.0 * (np.log(3.0) + 4.0 / 3.0)   # glm.fit's first working response, times (y - 1/2)


class _Design:
    """Predictors [1, g, C] of a batch of variants, kept as g (v, n) and C (n, q): products are GEMMs."""

    def __init__(self, g: np.ndarray, c: np.ndarray):
        self.g, self.c = g, c
        self.q = c.shape[1]
        self.cc = (c[:, :, None] * c[:, None, :]).reshape(len(c), -1)   # c_i c_i' flattened, (n, q^2)

    @property
    def p(self) -> int:
        return self.q + 2

    def eta(self, theta):
        e = theta[:, :1] + theta[:, 1:2] * self.g
        return e + theta[:, 2:] @ self.c.T if self.q else e

    def xt(self, r):
        """X' r for every variant: (v, n) -> (v, p)."""
        out = [r.sum(1)[:, None], (r * self.g).sum(1)[:, None]]
        return np.concatenate(out + ([r @ self.c] if self.q else []), axis=1)

    def gram(self, w):
        """X' diag(w) X for every variant: (v, n) -> (v, p, p)."""
        v, q = len(w), self.q
        wg = w * self.g
        h = np.empty((v, q + 2, q + 2))
        h[:, 0, 0] = w.sum(1)
        h[:, 0, 1] = h[:, 1, 0] = wg.sum(1)
        h[:, 1, 1] = (wg * self.g).sum(1)
        if q:
            a, b = w @ self.c, wg @ self.c
            h[:, 0, 2:], h[:, 2:, 0], h[:, 1, 2:], h[:, 2:, 1] = a, a, b, b
            h[:, 2:, 2:] = (w @ self.cc).reshape(v, q, q)
        return h

    def quad(self, a):
        """x_i' A_v x_i for every sample i and variant v: (v, p, p) symmetric -> (v, n)."""
        g = self.g
        out = a[:, 0, 0, None] + 2 * a[:, 0, 1, None] * g + a[:, 1, 1, None] * g * g
        if self.q:
            out += 2 * (a[:, 0, 2:] @ self.c.T) + 2 * (a[:, 1, 2:] @ self.c.T) * g
            out += a[:, 2:, 2:].reshape(len(a), -1) @ self.cc.T
        return out


def _inv(h):
    """Batched inverse; a singular matrix gets NaN."""
    with np.errstate(all="ignore"):
        try:
            return np.linalg.inv(h)
        except np.linalg.LinAlgError:
            out = np.full_like(h, np.nan)
            ok = np.isfinite(h).all((1, 2))
            ok[ok] = np.linalg.matrix_rank(h[ok]) == h.shape[-1]
            out[ok] = np.linalg.inv(h[ok])
            return out


def _loglik(y, d, mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (d * np.where(y[None, :] != 0, np.log(mu), np.log1p(-mu))).sum(1)


def glm_fit(x: _Design, y, d, max_iter: int = 25):
    """plink2 ``LogisticRegressionD`` (R glm.fit) for every variant of the batch.

    Returns theta (v, p), H^-1 at the last step's start, failed (log-likelihood not a number or a singular
    start) and unfinished (24 steps without meeting the criterion).
    """
    v, p = x.g.shape[0], x.p
    theta = (_inv(x.gram(d)) @ x.xt(d * (y - 0.5) * GLM_START)[:, :, None])[..., 0]   # least squares
    with np.errstate(all="ignore"):
        ll_old = _loglik(y, d, special.expit(x.eta(theta)))
    failed = ~np.isfinite(theta).all(1) | np.isnan(ll_old)
    hinv = np.full((v, p, p), np.nan)
    act = np.flatnonzero(~failed)
    done = failed.copy()
    for _ in range(1, max_iter):  # Newton steps, each over the variants not yet converged
        if not len(act):
            break
        xa = _Design(x.g[act], x.c)
        da, th = d[act], theta[act]
        mu = special.expit(xa.eta(th))
        hi = _inv(xa.gram(mu * (1 - mu) * da))
        th = th + (hi @ xa.xt(da * (y - mu))[:, :, None])[..., 0]
        ll = _loglik(y, da, special.expit(xa.eta(th)))
        theta[act], hinv[act] = th, hi
        bad = np.isnan(ll)
        conv = np.abs(ll - ll_old[act]) < 1e-8 * (0.05 + np.abs(ll))
        failed[act[bad]] = True
        done[act[bad | conv]] = True
        ll_old[act] = ll
        act = act[~(bad | conv)]
    unfinished = ~done
    return theta, hinv, failed, unfinished


def firth_fit(x: _Design, y, d, max_iter: int = 25):
    """plink2 ``FirthRegressionD`` (logistf 1.24, pl = FALSE) for every variant of the batch.

    Returns theta, the inverse weighted information at the last step's start, failed (a fitted
    probability of exactly 0 or 1, or a singular information) and unfinished.
    """
    v, p = x.g.shape[0], x.p
    theta = np.zeros((v, p))
    hinv = np.full((v, p, p), np.nan)
    ll_old = np.zeros(v)
    dmax = np.zeros(v)
    failed = np.zeros(v, bool)
    unfinished = np.zeros(v, bool)
    act = np.arange(v)
    for it in range(max_iter + 2):  # iterations, each over the variants not yet converged
        if not len(act):
            break
        xa = _Design(x.g[act], x.c)
        da, th = d[act], theta[act]
        mu = special.expit(xa.eta(th))
        edge = ((da > 0) & ((mu == 0) | (mu == 1))).any(1)
        w = mu * (1 - mu) * da
        h0 = xa.gram(w)
        sign, logdet = np.linalg.slogdet(h0)
        h0i = _inv(h0)
        ll = _loglik(y, da, mu) + 0.5 * np.where(sign > 0, logdet, np.nan)
        bad = edge | ~np.isfinite(ll) | ~np.isfinite(h0i).all((1, 2))
        hdiag = w * xa.quad(h0i)
        ustar = xa.xt(da * (y - mu) + hdiag * (0.5 - mu))
        stop = np.zeros(len(act), bool)
        if it:
            stop = (dmax[act] <= 1e-5) & (np.abs(ustar).max(1) < 1e-5) & (ll - ll_old[act] < 1e-5)
            unfinished[act[~stop & ~bad]] = it > max_iter
            stop |= it > max_iter
        failed[act[bad]] = True
        go = ~(bad | stop)
        act, xa, th, ustar = act[go], _Design(xa.g[go], x.c), th[go], ustar[go]
        ll_old[act] = ll[go]
        hi = _inv(xa.gram((1 + hdiag[go]) * w[go]))
        delta = (hi @ ustar[:, :, None])[..., 0]
        big = np.abs(delta).max(1)
        scale = np.where(big > 5.0, 5.0 / np.where(big > 0, big, 1.0), 1.0)
        delta *= scale[:, None]
        dmax[act] = np.minimum(big, 5.0)
        theta[act], hinv[act] = th + delta, hi
        failed[act[~np.isfinite(delta).all(1)]] = True
    return theta, hinv, failed, unfinished


def _valid(hinv):
    """plink2's validParameters: positive finite variances; no estimate perfectly correlated with another."""
    diag = np.diagonal(hinv, axis1=1, axis2=2)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(diag[:, 1:]).all(1) & (diag[:, 1:] >= 1e-20).all(1)
        sd = np.sqrt(np.where(diag > 0, diag, np.nan))
        lim = 0.99999 * sd[:, :, None] * sd[:, None, :]
        low = np.tril(np.ones(hinv.shape[1:], bool), -1)   # pairs (i, j < i), the intercept included
        ok &= ~((hinv > lim) & low[None]).any((1, 2))
    return ok


def logistic_assoc(dosage: np.ndarray, y: np.ndarray, covar: np.ndarray | None = None, *,
                   firth_fallback: bool = True, max_iter: int = 25, batch: int = 2048) -> dict:
    """Logistic association of every variant of a chunk with one binary trait (plink2 ``--glm``).

    Parameters
    ----------
    dosage : (v, n) alt dosages, NaN = missing (that sample is left out for that variant)
    y : (n,) 0/1 status, NaN = missing
    covar : (n, c) covariates without intercept, no NaN, or None
    firth_fallback : Firth regression where the table has an empty cell or the logistic fit fails
        (False: those variants are missing, plink2 ``no-firth``)
    max_iter : plink2's iteration limits (logistic 25, Firth 25)
    batch : variants fitted together (memory: a few (batch, n) float64 arrays)

    Returns
    -------
    dict of (v,) arrays: beta (log OR of alt), se, z, p, n, firth (bool), unfinished (bool: the fit hit
    its iteration limit; plink2's ERRCODE UNFINISHED, estimates reported)

    References
    ----------
    Firth (1993) Biometrika 80:27. Peer: plink2 ``--glm`` logistic, ``firth-fallback``.
    """
    g = np.asarray(dosage, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    c = np.zeros((len(y), 0)) if covar is None or np.asarray(covar).size == 0 else \
        np.asarray(covar, dtype=np.float64).reshape(len(y), -1)
    parts = [_assoc(g[s:s + batch], y, c, firth_fallback, max_iter) for s in range(0, len(g), batch)]
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([x[k] for x in parts]) for k in parts[0]}


def _assoc(g, y, c, firth_fallback, max_iter) -> dict:
    ok_y = ~np.isnan(y)
    yv = np.where(ok_y, y, 0.0)
    d = (~np.isnan(g) & ok_y[None, :]).astype(np.float64)
    g0 = np.where(d > 0, g, 0.0)
    v = len(g)
    x = _Design(g0, c)
    # allele-by-status table: alt and ref allele counts in cases and controls
    case, ctrl = d * yv[None, :], d * (1 - yv[None, :])
    alt_case, alt_ctrl = (g0 * case).sum(1), (g0 * ctrl).sum(1)
    ref_case, ref_ctrl = ((2 - g0) * case).sum(1), ((2 - g0) * ctrl).sum(1)
    empty = (alt_case == 0) | (alt_ctrl == 0) | (ref_case == 0) | (ref_ctrl == 0)
    gmin = np.where(d > 0, g0, np.inf).min(1)
    gmax = np.where(d > 0, g0, -np.inf).max(1)
    const = ~(gmax > gmin)
    theta = np.full((v, x.p), np.nan)
    hinv = np.full((v, x.p, x.p), np.nan)
    failed = np.zeros(v, bool)
    unfinished = np.zeros(v, bool)
    use_firth = np.zeros(v, bool)
    plain = np.flatnonzero(~empty & ~const)
    if len(plain):
        theta[plain], hinv[plain], bad, unfinished[plain] = glm_fit(_Design(g0[plain], c), yv, d[plain], max_iter)
        failed[plain] = bad
        use_firth[plain[bad]] = True
    use_firth[empty & ~const] = True
    if not firth_fallback:
        failed |= use_firth
        use_firth[:] = False
    f = np.flatnonzero(use_firth)
    if len(f):
        theta[f], hinv[f], failed[f], unfinished[f] = firth_fit(_Design(g0[f], c), yv, d[f], max_iter)
    beta = theta[:, 1].copy()
    with np.errstate(invalid="ignore"):
        se = np.sqrt(hinv[:, 1, 1])
        z = beta / se
    bad = failed | const | ~_valid(hinv) | ~np.isfinite(se)
    beta[bad], se[bad], z[bad] = np.nan, np.nan, np.nan
    p = 2 * special.ndtr(-np.abs(z))
    return {"beta": beta, "se": se, "z": z, "p": p, "n": d.sum(1), "firth": use_firth, "unfinished": unfinished}
