"""Logistic regression GWAS with a Firth fallback, batched over the variants of a chunk.

For one binary trait y (0/1) with covariates C (intercept first) and the samples D_v observed at
variant v, the model is logit P(y=1) = g beta + C gamma. All variants of a chunk are fitted together
by Newton-Raphson (IRLS): every iteration is one batched (k+1)-square solve,

    H = X' W X,  U = X' (y - mu),  theta <- theta + H^-1 U,   W = diag(mu (1 - mu)) over D_v,

starting from the null-model fit. se = sqrt((H^-1)_gg), z = beta / se, p = 2 Phi(-|z|) (Wald).

Firth's penalised likelihood (Firth 1993) replaces U by U* = X' (y - mu + h (1/2 - mu)), with h the
diagonal of W^1/2 X H^-1 X' W^1/2 (the hat matrix), and is used, as plink2's ``firth-fallback`` does, for
a variant whose plain fit does not converge or whose allele-by-status table has an empty cell
(no alt allele in cases or controls, or no ref allele in cases or controls). Its se comes from H^-1
at the penalised optimum.

References
----------
Firth D (1993) Biometrika 80:27; Heinze & Schemper (2002) Stat Med 21:2409.
Peer: plink2 ``--glm`` logistic with ``firth-fallback`` (Chang et al. 2015, GigaScience 4:7).
"""
from __future__ import annotations

import numpy as np
from scipy import special, stats

from .linear import design


def null_fit(y: np.ndarray, c: np.ndarray, max_iter: int = 50) -> np.ndarray:
    """Coefficients of logit P(y=1) = C gamma over the observed samples (no variant).

    Parameters
    ----------
    y : (n,) 0/1 status of the observed samples
    c : (n, k) covariates with the intercept
    max_iter : Newton iterations

    Returns
    -------
    (k,) float64 coefficients

    References
    ----------
    McCullagh & Nelder (1989) Generalized Linear Models, ch. 4.
    """
    gam = np.zeros(c.shape[1])
    for _ in range(max_iter):  # Newton on k covariates only
        mu = special.expit(c @ gam)
        w = mu * (1 - mu)
        step = np.linalg.solve((c * w[:, None]).T @ c, c.T @ (y - mu))
        gam += step
        if np.abs(step).max() < 1e-12:
            break
    return gam


def _gram(x, w):
    """X' W X for a batch: x (v, n, p), w (v, n) -> (v, p, p), one batched matmul."""
    return (x * w[:, :, None]).transpose(0, 2, 1) @ x


def _inv(h):
    """Batched inverse; a singular matrix (a variant without variation among the samples used) gets NaN."""
    try:
        return np.linalg.inv(h)
    except np.linalg.LinAlgError:
        out = np.full_like(h, np.nan)
        ok = np.linalg.matrix_rank(h) == h.shape[-1]
        out[ok] = np.linalg.inv(h[ok])
        return out


def _objective(x, y, d, theta, firth: bool) -> np.ndarray:
    """Log-likelihood over the used samples (plus 1/2 log det H for Firth), per variant."""
    eta = (x @ theta[:, :, None])[..., 0]
    ll = (d * (y[None, :] * eta - np.logaddexp(0.0, eta))).sum(1)
    if firth:
        mu = special.expit(eta)
        sign, logdet = np.linalg.slogdet(_gram(x, mu * (1 - mu) * d))
        ll = ll + np.where(sign > 0, 0.5 * logdet, -np.inf)
    return ll


def _fit(x, y, d, theta, firth: bool, max_iter: int, tol: float):
    """Newton iterations with step halving, for a batch.

    x (v, n, p), y (n,), d (v, n) 0/1 sample use, theta (v, p) start. Returns theta, H^-1 at theta, and
    whether each variant converged (largest step below ``tol``).
    """
    v, n, p = x.shape
    done = np.zeros(v, bool)
    conv = np.zeros(v, bool)
    obj = _objective(x, y, d, theta, firth)
    for _ in range(max_iter):  # iterations, each over all variants not yet converged
        act = np.flatnonzero(~done)
        if not len(act):
            break
        xa, da, th = x[act], d[act], theta[act]
        mu = special.expit((xa @ th[:, :, None])[..., 0])
        w = mu * (1 - mu) * da
        hi = _inv(_gram(xa, w))
        r = (y[None, :] - mu) * da
        if firth:
            r = r + ((xa @ hi) * xa).sum(-1) * w * (0.5 - mu) * da
        u = (r[:, None, :] @ xa)[:, 0, :]
        step = (hi @ u[:, :, None])[..., 0]
        big = np.abs(step).max(1, keepdims=True)
        step *= np.minimum(1.0, 5.0 / np.maximum(big, 1e-300))     # at most 5 per coordinate (logistf)
        old = obj[act]
        for _h in range(30):  # step halving while the objective gets worse
            new = _objective(xa, y, da, th + step, firth)
            worse = ~(new >= old - 1e-12 * np.abs(old))
            if not worse.any():
                break
            step[worse] *= 0.5
        theta[act] = th + step
        obj[act] = new
        finished = np.abs(step).max(1) < tol
        conv[act[finished]] = True
        done[act[finished | ~np.isfinite(step).all(1)]] = True
    mu = special.expit((x @ theta[:, :, None])[..., 0])
    hinv = _inv(_gram(x, mu * (1 - mu) * d))
    return theta, hinv, conv


def logistic_assoc(dosage: np.ndarray, y: np.ndarray, covar: np.ndarray | None = None, *,
                   firth_fallback: bool = True, max_iter: int = 30, tol: float = 1e-10,
                   max_abs_beta: float = 30.0) -> dict:
    """Logistic association of every variant of a chunk with one binary trait.

    Parameters
    ----------
    dosage : (v, n) alt dosages, NaN = missing (that sample is left out for that variant)
    y : (n,) 0/1 status, NaN = missing
    covar : (n, c) covariates without intercept, no NaN, or None
    firth_fallback : use Firth regression where the plain fit fails or a table cell is empty
    max_iter, tol : Newton iterations and convergence threshold on the largest step
    max_abs_beta : a plain fit with |beta| beyond this (log OR) is treated as not converged

    Returns
    -------
    dict of (v,) arrays: beta (log OR of alt), se, z, p, n, firth (bool)

    References
    ----------
    Firth (1993) Biometrika 80:27. Peer: plink2 ``--glm`` logistic, ``firth-fallback``.
    """
    g = np.asarray(dosage, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    c = design(covar, n)
    ok_y = ~np.isnan(y)
    yv = np.where(ok_y, y, 0.0)
    d = (~np.isnan(g) & ok_y[None, :]).astype(np.float64)
    g0 = np.where(d > 0, g, 0.0)
    v, k = g.shape[0], c.shape[1]
    x = np.empty((v, n, k + 1))
    x[..., 0] = g0
    x[..., 1:] = c[None]
    theta = np.zeros((v, k + 1))
    theta[:, 1:] = null_fit(yv[ok_y], c[ok_y])
    theta, hinv, conv = _fit(x, yv, d, theta, False, max_iter, tol)
    # allele-by-status table: alt and ref allele counts in cases and controls
    case, ctrl = d * yv[None, :], d * (1 - yv[None, :])
    alt_case, alt_ctrl = (g0 * case).sum(1), (g0 * ctrl).sum(1)
    ref_case, ref_ctrl = ((2 - g0) * case).sum(1), ((2 - g0) * ctrl).sum(1)
    empty = (alt_case == 0) | (alt_ctrl == 0) | (ref_case == 0) | (ref_ctrl == 0)
    failed = ~conv | ~np.isfinite(theta).all(1) | (np.abs(theta[:, 0]) > max_abs_beta)
    use_firth = (empty | failed) & firth_fallback
    if use_firth.any():
        f = np.flatnonzero(use_firth)
        th0 = np.zeros((len(f), k + 1))
        th0[:, 1:] = null_fit(yv[ok_y], c[ok_y])
        tf, hf, cf = _fit(x[f], yv, d[f], th0, True, max_iter * 4, tol)
        theta[f], hinv[f] = tf, hf
        failed[f] = ~cf
    beta = theta[:, 0].copy()
    with np.errstate(invalid="ignore"):
        se = np.sqrt(hinv[:, 0, 0])
        z = beta / se
    bad = failed | ~np.isfinite(se) | (g0.max(1) == g0.min(1))
    beta[bad], se[bad], z[bad] = np.nan, np.nan, np.nan
    p = 2 * stats.norm.sf(np.abs(z))
    return {"beta": beta, "se": se, "z": z, "p": p, "n": d.sum(1), "firth": use_firth}
