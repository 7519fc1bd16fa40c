"""Elastic net in glmnet's parameterisation, with cv.glmnet's lambda choice.

glmnet (Friedman, Hastie & Tibshirani 2010, J Stat Softw 33:1), family gaussian, ``standardize=TRUE``,
``intercept=TRUE``: with x_j standardised by its mean and *population* SD s_j, y centred and scaled by
its population SD s_y, glmnet solves for each lambda

    min_b  1/(2n) ||y~ - X~ b||^2 + (lambda / s_y) [ (1 - alpha)/2 ||b||^2 + alpha ||b||_1 ]

and reports beta_j = b_j s_y / s_j and beta_0 = mean(y) - sum_j mean(x_j) beta_j. (The 1/s_y on the
penalty is glmnet's: its ridge part is not invariant to the scale of y.) The solver is glmnet's own
covariance-update coordinate descent (:mod:`locusflow.twas.train.coordinate_descent`), compiled, with its
stopping rule (``thresh``), its default lambda path and its path-stopping rules; columns constant in a
training set get coefficient 0, as glmnet's.

BLAS-shaped: the cross-products ``X'X`` of a gene are formed once (:class:`GramCache`) and every fit of
the gene (all rows, each cross-validation fold, each outer fold of a nested CV) standardises them with
its own moments, subtracting only its left-out rows' share; the whole lambda path of a fit reuses them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .coordinate_descent import GramCache, cov_path

__all__ = ["EnetPath", "CVResult", "GramCache", "glmnet_lambdas", "elastic_net_path", "cv_elastic_net",
           "fold_ids", "lambda_interp"]


@dataclass
class EnetPath:
    """A fitted glmnet path on the original scale.

    Attributes
    ----------
    lambdas : numpy.ndarray
        [L] penalties (glmnet ``lambda``).
    intercept : numpy.ndarray
        [L] intercepts (glmnet ``a0``).
    coef : numpy.ndarray
        [L, p] coefficients (glmnet ``t(beta)``).
    dev_ratio : numpy.ndarray
        [L] fraction of the null deviance explained (glmnet ``dev.ratio``).
    n_passes : int
        Coordinate-descent passes over the data, all lambdas together (glmnet ``npasses``).
    """

    lambdas: np.ndarray
    intercept: np.ndarray
    coef: np.ndarray
    dev_ratio: np.ndarray
    n_passes: int


@dataclass
class CVResult:
    """cv.glmnet's result.

    Attributes
    ----------
    lambdas, cvm, cvsd : numpy.ndarray
        [L] the lambda sequence, the cross-validated mean squared error and its standard error.
    nzero : numpy.ndarray
        [L] non-zero coefficients of the all-rows fit.
    lambda_min : float
        Largest lambda at the smallest cvm; ``index_min`` its index.
    coef : numpy.ndarray
        [p] coefficients of the all-rows fit at lambda_min; ``intercept`` its intercept.
    foldid : numpy.ndarray
        Fold of each row (1..K).
    fit_preval : numpy.ndarray
        [n, L] held-out predictions of each row by its fold's fit (cv.glmnet ``keep=TRUE``).
    path : EnetPath
        The all-rows fit (cv.glmnet ``glmnet.fit``).
    """

    lambdas: np.ndarray
    cvm: np.ndarray
    cvsd: np.ndarray
    nzero: np.ndarray
    lambda_min: float
    index_min: int
    coef: np.ndarray
    intercept: float
    foldid: np.ndarray
    fit_preval: np.ndarray
    path: EnetPath


def default_min_ratio(n: int, p: int) -> float:
    """glmnet's default ``lambda.min.ratio``: 0.01 when n < p, else 1e-4.

    Parameters
    ----------
    n, p : int
        Rows and columns of x.

    Returns
    -------
    float
    """
    return 1e-2 if n < p else 1e-4


def glmnet_lambdas(x: np.ndarray, y: np.ndarray, alpha: float = 0.5, n_lambda: int = 100,
                   lambda_min_ratio: float | None = None) -> np.ndarray:
    """glmnet's default lambda sequence: ``n_lambda`` values log-spaced from lambda_max down.

    Parameters
    ----------
    x : numpy.ndarray
        [n, p] predictors.
    y : numpy.ndarray
        [n] response.
    alpha : float
        Elastic-net mixing (1: lasso).
    n_lambda : int
        Length of the sequence (glmnet ``nlambda``).
    lambda_min_ratio : float, optional
        Smallest lambda / lambda_max (glmnet: 1e-2 when n < p, else 1e-4).

    Returns
    -------
    numpy.ndarray
        Decreasing lambdas; lambda_max = max_j |<x~_j, y - mean(y)>| / (n max(alpha, 1e-3)), x~_j
        standardised by the population SD, is the smallest lambda whose coefficients are all 0. (The
        path glmnet computes itself may stop earlier: :func:`elastic_net_path` with ``lambdas=None``.)

    References
    ----------
    Friedman, Hastie & Tibshirani 2010, J Stat Softw 33:1 (glmnet, section 2.5).
    """
    x = np.asarray(x, float)
    n, p = x.shape
    sd = x.std(axis=0)
    ok = sd > 0
    score = np.abs((x[:, ok] - x[:, ok].mean(axis=0)).T @ (y - np.mean(y))) / sd[ok]
    lam_max = (score.max() if len(score) else 0.0) / (n * max(alpha, 1e-3))
    ratio = lambda_min_ratio if lambda_min_ratio is not None else default_min_ratio(n, p)
    return lam_max * ratio ** (np.arange(n_lambda) / max(n_lambda - 1, 1))


def fit_rows(gram: GramCache, y: np.ndarray, drop: np.ndarray, lambdas: np.ndarray | None = None, *,
             alpha: float = 0.5, n_lambda: int = 100, lambda_min_ratio: float | None = None,
             thresh: float = 1e-7, max_iter: int = 100_000) -> EnetPath:
    """glmnet on all rows of a gene but ``drop``, from the gene's shared cross-products.

    Parameters
    ----------
    gram : GramCache
        Cross-products of the gene's [n, p] predictors (all rows).
    y : numpy.ndarray
        [n] response, all rows.
    drop : numpy.ndarray
        Row indices left out of the fit.
    lambdas : numpy.ndarray, optional
        User lambdas (every one fitted); default glmnet's own path (``n_lambda``, ``lambda_min_ratio``,
        stopping early by glmnet's rules).
    alpha, n_lambda, lambda_min_ratio, thresh, max_iter
        As glmnet's ``alpha``, ``nlambda``, ``lambda.min.ratio``, ``thresh``, ``maxit``.

    Returns
    -------
    EnetPath

    References
    ----------
    R package glmnet ``glmnet(x[-drop, ], y[-drop], alpha, lambda, standardize=TRUE)``.
    """
    y = np.asarray(y, float)
    drop = np.asarray(drop, dtype=np.int64)
    keep = np.ones(gram.n, bool)
    keep[drop] = False
    xr, nt, xm, xs, ju = gram.training(drop)
    yt = y[keep]
    ym = yt.mean()
    ys = np.sqrt(np.mean((yt - ym) ** 2))
    p = gram.p
    user = lambdas is not None
    nlam = len(lambdas) if user else int(n_lambda)
    if not ys > 0 or not ju.any():        # glmnet stops with an error on a constant y: the mean model
        lam = np.asarray(lambdas, float) if user else np.full(nlam, np.nan)
        return EnetPath(lam, np.full(nlam, ym), np.zeros((nlam, p)), np.zeros(nlam), 0)
    yc = np.where(keep, y - ym, 0.0)     # sum_T (x - mean_T) (y - ym) = sum_T x (y - ym)
    g0 = np.where(ju, gram.xt @ yc / (nt * xs * ys), 0.0)
    if user:
        ulam, flmin = np.asarray(lambdas, float) / ys, 1.0
    else:
        ulam = np.zeros(1)
        flmin = float(lambda_min_ratio if lambda_min_ratio is not None else default_min_ratio(nt, p))
    while True:
        a, alm, rsq, lmu, nlp, status = cov_path(g0, xm, xs, ju, float(nt), gram.gcols, gram.slot, gram.nslots,
                                                 gram.xt, xr, yc / ys, keep.astype(float), gram.xq,
                                                 xm + gram.center, ulam, flmin, nlam, float(alpha), float(thresh),
                                                 int(max_iter))
        if status != 2:
            break
        gram.grow()
    if status == 1:
        warnings.warn(f"glmnet: convergence for lambda {lmu + 1} not reached after maxit={max_iter} passes; "
                      f"solutions for larger lambdas returned", RuntimeWarning, stacklevel=2)
    lam = alm[:lmu] * ys
    if not user and lmu > 2:             # glmnet's fix.lam: the first lambda log-linearly from the next two
        lam[0] = np.exp(2 * np.log(lam[1]) - np.log(lam[2]))
    coef = a[:lmu] * (ys / xs)
    coef[:, ~ju] = 0.0
    intercept = ym - coef @ (xm + gram.center)
    return EnetPath(lam, intercept, coef, rsq[:lmu], int(nlp))


def elastic_net_path(x: np.ndarray, y: np.ndarray, lambdas: np.ndarray | None = None, alpha: float = 0.5, *,
                     n_lambda: int = 100, lambda_min_ratio: float | None = None, thresh: float = 1e-7,
                     max_iter: int = 100_000) -> EnetPath:
    """glmnet's gaussian elastic net over a lambda path (warm starts along it).

    Parameters
    ----------
    x : numpy.ndarray
        [n, p] predictors (e.g. dosages of a gene's cis SNPs).
    y : numpy.ndarray
        [n] response (e.g. residualised expression).
    lambdas : numpy.ndarray, optional
        Decreasing penalties on glmnet's scale; default glmnet's own path.
    alpha : float
        Elastic-net mixing: 1 lasso, 0 ridge (PredictDB: 0.5).
    n_lambda, lambda_min_ratio : optional
        glmnet's ``nlambda`` and ``lambda.min.ratio`` (default 1e-2 when n < p, else 1e-4) when
        ``lambdas`` is None.
    thresh : float
        Coordinate descent stops when no coefficient update changes the objective by more than
        ``thresh`` times the null deviance (glmnet ``thresh``).
    max_iter : int
        Most passes over the data, all lambdas together (glmnet ``maxit``).

    Returns
    -------
    EnetPath
        Lambdas, intercepts, coefficients on the original scale of ``x``, deviance ratios.

    References
    ----------
    Friedman, Hastie & Tibshirani 2010, J Stat Softw 33:1; R package glmnet ``glmnet(x, y, alpha,
    lambda, standardize=TRUE)``.
    """
    x = np.asarray(x, float)
    return fit_rows(GramCache(x), y, np.zeros(0, np.int64), lambdas, alpha=alpha, n_lambda=n_lambda,
                    lambda_min_ratio=lambda_min_ratio, thresh=thresh, max_iter=max_iter)


def lambda_interp(lambdas: np.ndarray, s: np.ndarray):
    """glmnet's ``lambda.interp``: where each ``s`` falls on a fitted path, linearly in lambda.

    Parameters
    ----------
    lambdas : numpy.ndarray
        [L] the fit's decreasing lambdas.
    s : numpy.ndarray
        Lambdas to predict at (clamped to the fit's range).

    Returns
    -------
    tuple
        ``(left, right, frac)``: coefficients at ``s`` are ``frac * b[left] + (1 - frac) * b[right]``.

    References
    ----------
    R package glmnet ``lambda.interp`` (``predict.glmnet(..., s)``; cv.glmnet's ``alignment='lambda'``).
    """
    s = np.asarray(s, float)
    k = len(lambdas)
    if k == 1:
        z = np.zeros(len(s), np.int64)
        return z, z, np.ones(len(s))
    span = lambdas[0] - lambdas[-1]
    sfrac = (lambdas[0] - s) / span
    lamn = (lambdas[0] - lambdas) / span
    sfrac = np.clip(sfrac, lamn.min(), lamn.max())
    coord = np.interp(sfrac, lamn, np.arange(1.0, k + 1))
    left, right = np.floor(coord).astype(np.int64) - 1, np.ceil(coord).astype(np.int64) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (sfrac - lamn[right]) / (lamn[left] - lamn[right])
    frac[(left == right) | (np.abs(lamn[left] - lamn[right]) < np.finfo(float).eps)] = 1.0
    return left, right, frac


def fold_ids(n: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """PredictDB's ``generate_fold_ids``: folds 1..K repeated to length n and shuffled.

    Parameters
    ----------
    n, n_folds : int
        Rows and folds.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        [n] int fold of each row.
    """
    return rng.permutation(np.tile(np.arange(1, n_folds + 1), -(-n // n_folds))[:n])


def cv_elastic_net(x: np.ndarray | None, y: np.ndarray, *, alpha: float = 0.5, foldid: np.ndarray | None = None,
                   n_folds: int = 10, lambdas: np.ndarray | None = None, seed: int | np.random.Generator = 0,
                   n_lambda: int = 100, lambda_min_ratio: float | None = None, thresh: float = 1e-7,
                   max_iter: int = 100_000, rows: np.ndarray | None = None,
                   gram: GramCache | None = None) -> CVResult:
    """cv.glmnet: lambda by K-fold cross-validated mean squared error, and the model at lambda.min.

    Parameters
    ----------
    x : numpy.ndarray or None
        [n, p] predictors (None when ``gram`` is given).
    y : numpy.ndarray
        [n] response.
    alpha : float
        Elastic-net mixing.
    foldid : numpy.ndarray, optional
        Fold (1..K) of each used row (cv.glmnet ``foldid``); default PredictDB's :func:`fold_ids`.
    n_folds : int
        K when ``foldid`` is not given.
    lambdas : numpy.ndarray, optional
        The sequence, fitted in every fold. Default as cv.glmnet: glmnet's own path on the used rows,
        and each fold its own path, its predictions at the all-rows lambdas interpolated linearly in
        lambda (:func:`lambda_interp`).
    seed : int or numpy.random.Generator
        Seed (or generator) of the folds.
    n_lambda, lambda_min_ratio, thresh, max_iter
        As :func:`elastic_net_path`.
    rows : numpy.ndarray, optional
        Indices of the rows of ``x``/``y`` to use (default all): a nested CV's training part.
    gram : GramCache, optional
        Cross-products of all rows of ``x``, shared with other fits of the same gene.

    Returns
    -------
    CVResult
        ``cvm``/``cvsd`` are cv.glmnet's fold-size-weighted mean and standard error of the held-out MSE;
        ``lambda_min`` the largest lambda at the smallest cvm.

    References
    ----------
    R package glmnet ``cv.glmnet(x, y, alpha, foldid, type.measure='mse', keep=TRUE)``; PredictDB
    ``generate_fold_ids``.
    """
    gram = gram if gram is not None else GramCache(np.asarray(x, float))
    y = np.asarray(y, float)
    n_all = gram.n
    rows = np.arange(n_all) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.setdiff1d(np.arange(n_all), rows)
    if foldid is None:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        foldid = fold_ids(len(rows), n_folds, rng)
    foldid = np.asarray(foldid).astype(int)
    kw = dict(alpha=alpha, thresh=thresh, max_iter=max_iter, n_lambda=n_lambda, lambda_min_ratio=lambda_min_ratio)
    full = fit_rows(gram, y, out, lambdas, **kw)
    lam = full.lambdas
    folds = np.unique(foldid)
    L = len(lam)
    mse = np.full((len(folds), L), np.nan)
    size = np.zeros(len(folds))
    preval = np.full((len(rows), L), np.nan)
    for i, k in enumerate(folds):              # loop over folds (10)
        held = foldid == k
        # cv.glmnet passes its own `lambda` argument on: with none, each fold computes its own path
        fit = fit_rows(gram, y, np.concatenate([out, rows[held]]), lambdas, **kw)
        left, right, frac = lambda_interp(fit.lambdas, lam)
        coef = fit.coef[left] * frac[:, None] + fit.coef[right] * (1 - frac[:, None])
        b0 = fit.intercept[left] * frac + fit.intercept[right] * (1 - frac)
        pred = gram.xt[:, rows[held]].T @ coef.T + (b0 + coef @ gram.center)
        preval[held] = pred
        mse[i] = ((y[rows[held]][:, None] - pred) ** 2).mean(axis=0)
        size[i] = held.sum()
    good = ~np.isnan(mse)
    w = np.where(good, size[:, None], 0.0)
    cvm = np.nansum(w * np.nan_to_num(mse), axis=0) / w.sum(axis=0)
    n_good = good.sum(axis=0)
    cvsd = np.sqrt(np.sum(w * np.nan_to_num(mse - cvm) ** 2, axis=0) / w.sum(axis=0) / np.maximum(n_good - 1, 1))
    cvsd[n_good < 2] = np.nan
    i_min = int(np.flatnonzero(cvm <= np.nanmin(cvm))[0])
    nzero = (full.coef != 0).sum(axis=1)
    return CVResult(lam, cvm, cvsd, nzero, float(lam[i_min]), i_min, full.coef[i_min], float(full.intercept[i_min]),
                    foldid, preval, full)
