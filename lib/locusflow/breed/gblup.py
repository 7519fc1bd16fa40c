"""GBLUP with REML variance components, and ridge-regression BLUP (rrBLUP) on markers.

Model: y = X b + g + e,  g ~ N(0, s2_g K),  e ~ N(0, s2_e I), delta = s2_e / s2_g.

REML by the spectral method of EMMA (Kang et al. 2008), as R ``rrBLUP::mixed.solve`` computes it:
with S = I - X (X'X)^-1 X' and the n - p eigenpairs (lambda_s, u_s) of S K S that span the residual
space, eta = U' y and

    l_R(delta) = 1/2 [ (n-p) log((n-p) / (2 pi)) - (n-p) - (n-p) log(sum_s eta_s^2 / (lambda_s + delta))
                       - sum_s log(lambda_s + delta) ]

(the terms free of delta dropped); delta_hat maximises it over log(delta) in [1e-9, 1e9] (a grid, then
a bounded scalar search), s2_g = sum eta^2 / (lambda + delta) / (n - p) and s2_e = delta s2_g.

BLUP: H = K + delta I, b = (X' H^-1 X)^-1 X' H^-1 y, g = K H^-1 (y - X b) for the training animals
and K_new,train H^-1 (y - X b) for others (one eigendecomposition of K_train serves every H^-1).

rrBLUP: y = X b + Z u + e, u ~ N(0, s2_u I), solved as the m x m system (Z'Z + lambda I) u = Z'(y - Xb)
with lambda = s2_e / s2_u; with K = Z Z' / c it is GBLUP (GEBV Z u = g, s2_g = c s2_u).

References
----------
Kang H.M. et al. (2008) Efficient control of population structure in model organism association
mapping. Genetics 178:1709-1723 (EMMA). Endelman J.B. (2011) Ridge regression and other kernels for
genomic selection with R package rrBLUP. Plant Genome 4:250-255 (``mixed.solve``). VanRaden (2008).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ..errors import InputError

LOG_DELTA_BOUNDS = (np.log(1e-9), np.log(1e9))


@dataclass
class MixedModelFit:
    """A fitted y = Xb + g + e: ``delta_`` = s2_e / s2_g, ``beta_``, ``gebv_`` (training animals),
    ``alpha_`` = H^-1 (y - Xb) (so that g_new = K_new,train alpha_), REML log-likelihood ``loglik_``."""
    delta_: float
    var_g_: float
    var_e_: float
    beta_: np.ndarray
    gebv_: np.ndarray
    alpha_: np.ndarray
    loglik_: float

    @property
    def h2_(self) -> float:
        """Heritability s2_g / (s2_g + s2_e) (with K scaled to mean diagonal 1)."""
        return self.var_g_ / (self.var_g_ + self.var_e_)

    def predict(self, k_new_train: np.ndarray, x_new=None) -> np.ndarray:
        """GEBV (plus fixed effects when ``x_new`` is given) of new animals.

        Parameters
        ----------
        k_new_train : numpy.ndarray
            [n_new, n_train] relationships of the new animals to the training ones.
        x_new : numpy.ndarray, optional
            [n_new, p] fixed-effect design of the new animals.

        Returns
        -------
        numpy.ndarray
            [n_new] K_new,train alpha (+ X_new beta).
        """
        g = np.asarray(k_new_train) @ self.alpha_
        return g if x_new is None else g + np.asarray(x_new) @ self.beta_


def _design(x, n: int) -> np.ndarray:
    if x is None:
        return np.ones((n, 1))
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(n, -1)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise InputError("covariates", "a fixed-effect design of full column rank (a constant or "
                         "duplicated covariate?)", value=x.shape)
    return x


def reml_loglik(log_delta, eta2: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """EMMA's REML log-likelihood at one or many log(delta), constants kept.

    Parameters
    ----------
    log_delta : float or numpy.ndarray
        log(s2_e / s2_g).
    eta2 : numpy.ndarray
        [n - p] squared projections of y on the residual eigenvectors of S K S.
    lam : numpy.ndarray
        [n - p] their eigenvalues.

    Returns
    -------
    numpy.ndarray
        l_R per log(delta) (module docstring).
    """
    d = np.exp(np.atleast_1d(np.asarray(log_delta, dtype=np.float64)))[:, None]
    q = eta2.size
    s = np.sum(eta2 / (lam + d), axis=1)
    return 0.5 * (q * np.log(q / (2 * np.pi)) - q - q * np.log(s) - np.sum(np.log(lam + d), axis=1))


def fit_gblup(y, K, X=None, *, delta: float | None = None) -> MixedModelFit:
    """REML variance components and BLUP of y = Xb + g + e with g ~ N(0, s2_g K).

    Parameters
    ----------
    y : array-like
        [n] phenotypes (no missing values: drop or predict those animals).
    K : array-like
        [n, n] relationship matrix of the same animals (e.g. :func:`~locusflow.breed.relationship.vanraden_grm`).
    X : array-like, optional
        [n, p] fixed effects (default an intercept).
    delta : float, optional
        Fix s2_e / s2_g instead of estimating it (e.g. inside cross-validation with a known ratio).

    Returns
    -------
    MixedModelFit

    References
    ----------
    Kang et al. (2008) Genetics 178:1709 (EMMA REML); Endelman (2011) Plant Genome 4:250 (rrBLUP
    ``mixed.solve``, which this reproduces).
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    n = y.size
    if not np.isfinite(y).all():
        raise InputError("phenotypes", "finite phenotype values (drop missing animals first)")
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (n, n):
        raise InputError("relationship matrix", f"a {n} x {n} matrix", value=K.shape)
    X = _design(X, n)
    p = X.shape[1]
    xtx_inv = np.linalg.inv(X.T @ X)
    S = np.eye(n) - X @ xtx_inv @ X.T
    lam, U = np.linalg.eigh(S @ K @ S)
    lam, U = lam[p:] if n > p else lam, U[:, p:]               # the n - p residual directions
    eta2 = (U.T @ y) ** 2
    if delta is None:
        grid = np.linspace(*LOG_DELTA_BOUNDS, 201)
        ll = reml_loglik(grid, eta2, lam)
        i = int(np.argmax(ll))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        res = minimize_scalar(lambda t: -reml_loglik(t, eta2, lam)[0], bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-10})
        log_delta = float(res.x) if -res.fun >= ll[i] else float(grid[i])
    else:
        log_delta = float(np.log(delta))
    dl = float(np.exp(log_delta))
    var_g = float(np.sum(eta2 / (lam + dl)) / (n - p))
    # BLUP through the eigendecomposition of K (H^-1 = V (D + delta)^-1 V')
    dk, V = np.linalg.eigh(K)
    hinv = (V / (dk + dl)) @ V.T
    beta = np.linalg.solve(X.T @ hinv @ X, X.T @ hinv @ y)
    alpha = hinv @ (y - X @ beta)
    return MixedModelFit(delta_=dl, var_g_=var_g, var_e_=dl * var_g, beta_=beta, gebv_=K @ alpha,
                         alpha_=alpha, loglik_=float(reml_loglik(log_delta, eta2, lam)[0]))


@dataclass
class RidgeFit:
    """rrBLUP marker effects ``effects_`` (per centred marker), ``beta_`` and the variance ratio."""
    effects_: np.ndarray
    beta_: np.ndarray
    lambda_: float
    var_u_: float
    var_e_: float
    freq_: np.ndarray

    def predict(self, markers, x_new=None) -> np.ndarray:
        """GEBV of animals from their markers: (M - 2p) u (+ X_new beta).

        Parameters
        ----------
        markers : array-like
            [n_new, m] genotypes in the training coding.
        x_new : array-like, optional
            [n_new, p] fixed effects.

        Returns
        -------
        numpy.ndarray
        """
        from .relationship import allele_counts, center
        w, _ = center(allele_counts(markers), self.freq_)
        g = w @ self.effects_
        return g if x_new is None else g + np.asarray(x_new) @ self.beta_


def fit_rrblup(y, markers, X=None, *, lambda_: float | None = None) -> RidgeFit:
    """Ridge-regression BLUP of marker effects (``rrBLUP::mixed.solve(y, Z=markers)``).

    The ratio lambda = s2_e / s2_u is estimated by REML of the equivalent model with K = W W'
    (W the centred markers); the effects solve the m x m system (W'W + lambda I) u = W'(y - X b).

    Parameters
    ----------
    y : array-like
        [n] phenotypes.
    markers : array-like
        [n, m] genotypes (0/1/2 or 0/1).
    X : array-like, optional
        [n, p] fixed effects (default an intercept).
    lambda_ : float, optional
        Fix lambda instead of estimating it.

    Returns
    -------
    RidgeFit

    References
    ----------
    Meuwissen T.H.E., Hayes B.J., Goddard M.E. (2001) Genetics 157:1819-1829; Endelman (2011).
    """
    from .relationship import allele_counts, center
    y = np.asarray(y, dtype=np.float64).ravel()
    w, p = center(allele_counts(markers))
    X = _design(X, y.size)
    fit = fit_gblup(y, w @ w.T, X, delta=lambda_)
    lam = fit.delta_
    m = w.shape[1]
    u = np.linalg.solve(w.T @ w + lam * np.eye(m), w.T @ (y - X @ fit.beta_))
    return RidgeFit(effects_=u, beta_=fit.beta_, lambda_=lam, var_u_=fit.var_g_, var_e_=fit.var_e_, freq_=p)
