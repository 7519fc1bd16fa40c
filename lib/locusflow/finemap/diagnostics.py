"""LD-mismatch diagnostics for summary-data fine-mapping (Zou et al. 2022, PLoS Genet 18:e1010299).

Reproduces susieR 0.12.35 ``estimate_s_rss`` (method ``null-mle``) and ``kriging_rss``.

With R = U diag(lambda) U' (eigenvalues below ``r_tol`` set to 0) and z~ = z sqrt((n-1)/(z^2+n-2))
when n is given, the z-scores under no effect are modelled as z ~ N(0, (1-s) R + s I):

* s (the inconsistency between z and R) maximises that likelihood,
  -l(s) = 1/2 sum_k log((1-s) lambda_k + s) + 1/2 sum_k (U'z)_k^2 / ((1-s) lambda_k + s),
  by R's Brent on [0, 1];
* with the precision Omega = U diag(1/((1-s) lambda + s)) U', the conditional distribution of z_j
  given the other z-scores has mean z_j - (Omega z)_j / Omega_jj and variance 1/Omega_jj, so the
  standardised difference is (Omega z)_j / sqrt(Omega_jj);
* z_j - condmean_j is given a scale mixture of normals N(0, a^2 condvar_j), a on susieR's 1.05-spaced
  grid from 0.8 to max(2, 2 max|z_std_diff|), with mixture weights fitted by maximum likelihood
  (susieR calls mixsqp; we solve the same convex problem with L-BFGS-B); the log likelihood
  ratio of an allele flip (z_j -> -z_j) is logLR_j = log f(z_j + condmean_j) - log f(z_j - condmean_j).

A variant is flagged as a likely allele flip when logLR > 2 and |z| > 2 (the variants susieR's
diagnostic plot marks in red); optionally also when |z_std_diff| exceeds a threshold (inconsistent LD).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .brent import brent_fmin


def _eigen(R, r_tol):
    lam, U = np.linalg.eigh(np.asarray(R, dtype=np.float64))
    lam = np.where(lam < r_tol, 0.0, lam)
    return lam, U


def _adjust(z, n):
    z = np.where(np.isnan(z), 0.0, np.asarray(z, dtype=np.float64))
    if n is not None:
        if n <= 1:
            raise ValueError("n must be greater than 1")
        z = np.sqrt((n - 1) / (z * z + n - 2)) * z
    return z


def estimate_s_rss(z, R, n=None, r_tol: float = 1e-8, eigen=None) -> float:
    """susieR::estimate_s_rss(method = "null-mle"): the LD-inconsistency parameter s in [0, 1].

    Minimises -l(s) = 1/2 sum_k log((1-s) lambda_k + s) + 1/2 sum_k (U'z)_k^2 / ((1-s) lambda_k + s)
    by R's Brent on [0, 1].

    Parameters
    ----------
    z : array_like, shape (p,)
        z-scores; NaN is treated as 0.
    R : array_like, shape (p, p)
        LD (correlation) matrix.
    n : int, optional
        Sample size; when given, z is adjusted to z sqrt((n-1)/(z^2+n-2)). Must exceed 1.
    r_tol : float
        Eigenvalues of R below this are set to 0.
    eigen : tuple of numpy.ndarray, optional
        Precomputed ``(lambda, U)`` of R (already thresholded), to skip the eigendecomposition.

    Returns
    -------
    float
        The maximum-likelihood s.

    References
    ----------
    Zou et al. (2022) PLoS Genet 18:e1010299; susieR 0.12.35 ``estimate_s_rss``.
    """
    lam, U = eigen if eigen is not None else _eigen(R, r_tol)
    y2 = (U.T @ _adjust(z, n)) ** 2

    def negloglik(s):
        d = (1 - s) * lam + s
        with np.errstate(divide="ignore"):
            return 0.5 * np.sum(np.log(d)) + 0.5 * np.sum(y2 / d)

    return brent_fmin(negloglik, 0.0, 1.0)


def _mixture_weights(loglik: np.ndarray) -> np.ndarray:
    """argmax_w sum_i log sum_k exp(loglik_ik) w_k over the simplex (the mixsqp problem).

    Solved as mixsqp does, over the non-negative orthant with f(w) = -mean_i log (L w)_i + sum_k w_k
    (whose minimum has sum w = 1), here by scipy's bound-constrained L-BFGS-B on the exact gradient,
    then renormalised.
    """
    from scipy.optimize import minimize
    lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    n, k = lik.shape

    def f(w):
        lw = lik @ w
        return -np.mean(np.log(lw)) + w.sum(), -(lik.T @ (1.0 / lw)) / n + 1.0

    res = minimize(f, np.full(k, 1.0 / k), jac=True, method="L-BFGS-B", bounds=[(0, None)] * k,
                   options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10000})
    w = np.maximum(res.x, 0)
    return w / w.sum()


def _log_dnorm(x, sd):
    return -(0.5 * math.log(2 * math.pi) + 0.5 * (x / sd) ** 2 + np.log(sd))


def kriging_rss(z, R, n=None, *, r_tol: float = 1e-8, s: float | None = None, eigen=None) -> pd.DataFrame:
    """susieR::kriging_rss: per variant z, condmean, condvar, z_std_diff, logLR (frame attrs['s']).

    Parameters
    ----------
    z, R, n, r_tol, eigen
        As :func:`estimate_s_rss`.
    s : float, optional
        LD-inconsistency parameter; estimated by :func:`estimate_s_rss` when None, replaced by 0.8 when
        above 1; negative values raise ValueError.

    Returns
    -------
    pandas.DataFrame
        One row per variant with columns ``z`` (adjusted), ``condmean``, ``condvar``, ``z_std_diff`` and
        ``logLR`` (log likelihood ratio of an allele flip); ``attrs['s']`` holds the s used.

    References
    ----------
    Zou et al. (2022) PLoS Genet 18:e1010299; susieR 0.12.35 ``kriging_rss``.
    """
    lam, U = eigen if eigen is not None else _eigen(R, r_tol)
    if s is None:
        s = estimate_s_rss(z, R, n, r_tol, eigen=(lam, U))
    if s > 1:
        s = 0.8
    elif s < 0:
        raise ValueError("s must be non-negative")
    z = _adjust(z, n)
    with np.errstate(divide="ignore"):
        dinv = 1.0 / ((1 - s) * lam + s)
    dinv[np.isinf(dinv)] = 0.0
    omega_diag = (U * U) @ dinv
    omega_z = U @ (dinv * (U.T @ z))
    condvar = 1.0 / omega_diag
    condmean = z - omega_z * condvar
    z_std_diff = (z - condmean) / np.sqrt(condvar)
    a_min = 0.8
    mx = float(np.max(z_std_diff ** 2))
    a_max = 2.0 if mx < 1 else 2.0 * math.sqrt(mx)
    npoint = math.ceil(math.log2(a_max / a_min) / math.log2(1.05))
    grid = 1.05 ** np.arange(-npoint, 1) * a_max
    sd = np.sqrt(condvar)[:, None] * grid[None, :]
    l0 = _log_dnorm((z - condmean)[:, None], sd)
    w = _mixture_weights(l0)
    logl0 = _logmix(l0, w)
    logl1 = _logmix(_log_dnorm((z + condmean)[:, None], sd), w)
    out = pd.DataFrame({"z": z, "condmean": condmean, "condvar": condvar, "z_std_diff": z_std_diff,
                        "logLR": logl1 - logl0})
    out.attrs["s"] = float(s)
    return out


def _logmix(ll, w):
    m = ll.max(axis=1)
    return np.log(np.exp(ll - m[:, None]) @ (w + 1e-15)) + m


def ld_mismatch(z, R, n=None, *, loglr_threshold: float = 2.0, z_threshold: float = 2.0,
                z_std_diff_threshold: float | None = None, r_tol: float = 1e-8) -> pd.DataFrame:
    """kriging_rss plus flags: ``flip`` (logLR > 2 and |z| > 2, susieR's red points), ``ld_inconsistent``
    (|z_std_diff| > ``z_std_diff_threshold`` when given) and ``flagged`` (either).

    Parameters
    ----------
    z, R, n, r_tol
        As :func:`estimate_s_rss`.
    loglr_threshold : float
        ``flip`` needs logLR above this.
    z_threshold : float
        ``flip`` also needs |z| above this.
    z_std_diff_threshold : float, optional
        When given, ``ld_inconsistent`` marks |z_std_diff| above it; otherwise it is all False.

    Returns
    -------
    pandas.DataFrame
        The :func:`kriging_rss` frame with boolean columns ``flip``, ``ld_inconsistent`` and ``flagged``.

    References
    ----------
    Zou et al. (2022) PLoS Genet 18:e1010299 (susieR's ``kriging_rss`` diagnostic plot).
    """
    k = kriging_rss(z, R, n, r_tol=r_tol)
    k["flip"] = (k["logLR"].to_numpy() > loglr_threshold) & (np.abs(k["z"].to_numpy()) > z_threshold)
    if z_std_diff_threshold is None:
        k["ld_inconsistent"] = False
    else:
        k["ld_inconsistent"] = np.abs(k["z_std_diff"].to_numpy()) > z_std_diff_threshold
    k["flagged"] = k["flip"] | k["ld_inconsistent"]
    return k
