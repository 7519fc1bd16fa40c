"""Elastic net in glmnet's parameterisation, with cv.glmnet's lambda choice and PredictDB's nested CV.

glmnet (Friedman, Hastie & Tibshirani 2010, J Stat Softw 33:1), family gaussian, ``standardize=TRUE``,
``intercept=TRUE``: with x_j standardised by its mean and *population* SD s_j, y centred and scaled by
its population SD s_y, glmnet solves for each lambda

    min_b  1/(2n) ||y~ - X~ b||^2 + (lambda / s_y) [ (1 - alpha)/2 ||b||^2 + alpha ||b||_1 ]

and reports beta_j = b_j s_y / s_j and beta_0 = mean(y) - sum_j mean(x_j) beta_j. (The 1/s_y on the
penalty is glmnet's: its ridge part is not invariant to the scale of y.) The coordinate descent is
scikit-learn's (``enet_path`` on a precomputed Gram matrix, ``alpha = lambda / s_y``,
``l1_ratio = alpha``), which solves exactly this problem.

BLAS-shaped: the raw cross-products X'X, X'y and column sums are formed once per gene, and once per
fold for the fold's own rows (together one pass of n p^2); every training set's standardised Gram
matrix is the total minus its fold's, so the folds of cv.glmnet and the whole lambda path reuse them.
Columns constant in a training set get coefficient 0, as glmnet's.

PredictDB (Gamazon et al. 2015, Nat Genet 47:1091; hakyimlab PredictDB pipeline
``nested_cv_elastic_net_perf``): 5 outer folds, in each a 10-fold cv.glmnet on the training part and
its lambda.min model predicting the held-out part; per fold R2 = 1 - RSS/TSS, rho = cor(pred, obs),
z = atanh(rho) sqrt(n_test - 3) (rho 0 when the prediction is constant), Stouffer's
zscore = sum z / sqrt(5), zscore_pval = 2 Phi(-|zscore|); a model is kept when rho_avg > 0.1 and
zscore_pval < 0.05.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.special import ndtr


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
        Smallest lambda / lambda_max (glmnet: 1e-4 when n > p, else 1e-2).

    Returns
    -------
    numpy.ndarray
        Decreasing lambdas; lambda_max = max_j |<x~_j, y - mean(y)>| / (n alpha), x~_j standardised
        by the population SD, is the smallest lambda whose coefficients are all 0.

    References
    ----------
    Friedman, Hastie & Tibshirani 2010, J Stat Softw 33:1 (glmnet, section 2.5).
    """
    n, p = x.shape
    sd = x.std(axis=0)
    ok = sd > 0
    score = np.abs((x[:, ok] - x[:, ok].mean(axis=0)).T @ (y - y.mean())) / sd[ok]
    lam_max = (score.max() if len(score) else 0.0) / (n * max(alpha, 1e-3))
    ratio = lambda_min_ratio if lambda_min_ratio is not None else (1e-4 if n > p else 1e-2)
    return lam_max * ratio ** (np.arange(n_lambda) / max(n_lambda - 1, 1))


class _Moments:
    """Raw cross-products of the whole data and of each fold's rows: any row set's standardised problem
    (all rows, all but one fold) is a difference of these."""

    def __init__(self, x, y, foldid):
        self.x, self.y = x, y
        self.folds = np.unique(foldid) if foldid is not None else np.zeros(0, int)
        self.foldid = foldid
        self.xx, self.xy = x.T @ x, x.T @ y
        self.sx, self.sy, self.yy, self.n = x.sum(axis=0), y.sum(), y @ y, len(y)
        self.parts = {}
        for k in self.folds:                        # loop over folds (10): one GEMM each
            r = foldid == k
            xk, yk = x[r], y[r]
            self.parts[k] = (xk.T @ xk, xk.T @ yk, xk.sum(axis=0), yk.sum(), yk @ yk, int(r.sum()))

    def problem(self, drop=None):
        """(rows, Gram, X~'y~, x mean, x sd, y mean, y sd, kept columns) of all rows but fold ``drop``."""
        xx, xy, sx, sy, yy, n = self.xx, self.xy, self.sx, self.sy, self.yy, self.n
        rows = np.ones(self.n, bool)
        if drop is not None:
            pxx, pxy, psx, psy, pyy, pn = self.parts[drop]
            xx, xy, sx, sy, yy, n = xx - pxx, xy - pxy, sx - psx, sy - psy, yy - pyy, n - pn
            rows = self.foldid != drop
        xm, ym = sx / n, sy / n
        var = np.diag(xx) / n - xm ** 2
        keep = var > 1e-12 * np.maximum(1.0, xm ** 2)        # constant columns: coefficient 0 (glmnet)
        xs = np.sqrt(np.where(keep, var, 1.0))
        ys = np.sqrt(max(yy / n - ym ** 2, 0.0))
        k = np.flatnonzero(keep)
        gram = (xx[np.ix_(k, k)] - n * np.outer(xm[k], xm[k])) / np.outer(xs[k], xs[k])
        xty = (xy[k] - n * xm[k] * ym) / xs[k] / (ys if ys > 0 else 1.0)
        return rows, gram, xty, xm, xs, ym, ys, k


def _path(mom: _Moments, drop, lambdas, alpha, tol, max_iter):
    """(intercepts [L], coefficients [L, p]) of glmnet's problem on all rows but fold ``drop``."""
    from sklearn.linear_model import enet_path
    rows, gram, xty, xm, xs, ym, ys, k = mom.problem(drop)
    p = mom.x.shape[1]
    coef = np.zeros((len(lambdas), p))
    if ys > 0 and len(k):
        xt = np.asfortranarray((mom.x[np.ix_(rows, k)] - xm[k]) / xs[k])    # n_samples and the dual gap
        yt = (mom.y[rows] - ym) / ys
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                # ConvergenceWarning: max_iter is the caller's
            _, b, _ = enet_path(xt, yt, l1_ratio=alpha, alphas=np.asarray(lambdas) / ys, precompute=gram, Xy=xty,
                                check_input=False, tol=tol, max_iter=max_iter)
        coef[:, k] = (b * ys / xs[k][:, None]).T
    return ym - coef @ xm, coef


def elastic_net_path(x: np.ndarray, y: np.ndarray, lambdas: np.ndarray, alpha: float = 0.5, *,
                     tol: float = 1e-7, max_iter: int = 100_000):
    """glmnet's gaussian elastic net over a lambda sequence (warm starts along it).

    Parameters
    ----------
    x : numpy.ndarray
        [n, p] predictors (e.g. dosages of a gene's cis SNPs).
    y : numpy.ndarray
        [n] response (e.g. residualised expression).
    lambdas : numpy.ndarray
        Decreasing penalties on glmnet's scale (:func:`glmnet_lambdas`).
    alpha : float
        Elastic-net mixing: 1 lasso, 0 ridge (PredictDB: 0.5).
    tol : float
        Coordinate-descent tolerance on the duality gap, relative to ||y~||^2 (glmnet thresh: 1e-7).
    max_iter : int
        Most coordinate-descent sweeps per lambda.

    Returns
    -------
    intercept : numpy.ndarray
        [L] intercepts.
    coef : numpy.ndarray
        [L, p] coefficients on the original scale of ``x``.

    References
    ----------
    Friedman, Hastie & Tibshirani 2010, J Stat Softw 33:1; R package glmnet ``glmnet(x, y, alpha,
    lambda, standardize=TRUE)``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    return _path(_Moments(x, y, None), None, lambdas, alpha, tol, max_iter)


def cv_elastic_net(x: np.ndarray, y: np.ndarray, *, alpha: float = 0.5, foldid: np.ndarray | None = None,
                   n_folds: int = 10, lambdas: np.ndarray | None = None, seed: int = 0, tol: float = 1e-7,
                   max_iter: int = 100_000) -> dict:
    """cv.glmnet: lambda by K-fold cross-validated mean squared error, and the model at lambda.min.

    Parameters
    ----------
    x, y : numpy.ndarray
        [n, p] predictors and [n] response.
    alpha : float
        Elastic-net mixing.
    foldid : numpy.ndarray, optional
        Fold of each row (cv.glmnet ``foldid``); default PredictDB's ``generate_fold_ids``: folds
        1..K repeated and shuffled (``seed``).
    n_folds : int
        K when ``foldid`` is not given.
    lambdas : numpy.ndarray, optional
        The sequence (default :func:`glmnet_lambdas` on all rows, as cv.glmnet).
    seed : int
        Seed of the folds.
    tol, max_iter
        As :func:`elastic_net_path`.

    Returns
    -------
    dict
        ``lambdas``, ``cvm`` and ``cvsd`` (cv.glmnet's fold-size-weighted mean and standard error of the
        held-out MSE), ``lambda_min`` (the largest lambda at the smallest cvm), ``index_min``, ``coef``
        [p] and ``intercept`` of the all-rows fit at lambda.min, ``foldid``.

    References
    ----------
    R package glmnet ``cv.glmnet(x, y, alpha, foldid, type.measure='mse')``; PredictDB
    ``generate_fold_ids``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(y)
    if foldid is None:
        rng = np.random.default_rng(seed)
        foldid = rng.permutation(np.tile(np.arange(1, n_folds + 1), -(-n // n_folds))[:n])
    foldid = np.asarray(foldid)
    lambdas = glmnet_lambdas(x, y, alpha) if lambdas is None else np.asarray(lambdas, float)
    mom = _Moments(x, y, foldid)
    K = len(mom.folds)
    mse = np.zeros((K, len(lambdas)))
    size = np.zeros(K)
    for i, k in enumerate(mom.folds):              # loop over folds (10)
        b0, b = _path(mom, k, lambdas, alpha, tol, max_iter)
        r = foldid == k
        pred = x[r] @ b.T + b0                      # [n_k, L]
        mse[i] = ((y[r][:, None] - pred) ** 2).mean(axis=0)
        size[i] = r.sum()
    cvm = size @ mse / size.sum()
    cvsd = np.sqrt((size @ (mse - cvm) ** 2) / size.sum() / max(K - 1, 1))
    i_min = int(np.flatnonzero(cvm <= cvm.min())[0])
    b0, b = _path(mom, None, lambdas, alpha, tol, max_iter)
    return {"lambdas": lambdas, "cvm": cvm, "cvsd": cvsd, "lambda_min": float(lambdas[i_min]), "index_min": i_min,
            "coef": b[i_min], "intercept": float(b0[i_min]), "foldid": foldid}


def nested_cv_performance(x: np.ndarray, y: np.ndarray, *, alpha: float = 0.5, n_outer: int = 5,
                          n_inner: int = 10, seed: int = 0, tol: float = 1e-7, max_iter: int = 100_000) -> dict:
    """PredictDB's performance of the elastic-net procedure: nested cross-validation.

    Parameters
    ----------
    x, y : numpy.ndarray
        Dosages [n, p] of the gene's cis SNPs and its residualised expression [n].
    alpha : float
        Elastic-net mixing (PredictDB: 0.5).
    n_outer, n_inner : int
        Outer (train/test) folds and the folds of each inner :func:`cv_elastic_net`.
    seed : int
        Seed of the outer and inner folds.
    tol, max_iter
        As :func:`elastic_net_path`.

    Returns
    -------
    dict
        ``rho_avg``, ``rho_se``, ``rho_zscore`` (Stouffer), ``zscore_pval``, ``R2_avg``, ``R2_sd``,
        ``rho_avg_squared`` and ``keep`` (PredictDB's rule: rho_avg > 0.1 and zscore_pval < 0.05).

    References
    ----------
    Gamazon et al. 2015, Nat Genet 47:1091; PredictDB pipeline ``nested_cv_elastic_net_perf``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(y)
    rng = np.random.default_rng(seed)
    outer = rng.permutation(np.tile(np.arange(1, n_outer + 1), -(-n // n_outer))[:n])
    r2, rho, z = np.zeros(n_outer), np.zeros(n_outer), np.zeros(n_outer)
    for i in range(n_outer):                        # loop over outer folds (5)
        test = outer == i + 1
        xt, yt = x[~test], y[~test]
        fit = cv_elastic_net(xt, yt, alpha=alpha, n_folds=n_inner, seed=int(rng.integers(1 << 31)), tol=tol,
                             max_iter=max_iter)
        pred = x[test] @ fit["coef"] + fit["intercept"]
        obs = y[test]
        r2[i] = 1.0 - ((obs - pred) ** 2).sum() / (obs ** 2).sum()
        rho[i] = np.corrcoef(pred, obs)[0, 1] if pred.std() > 0 else 0.0
        z[i] = np.arctanh(rho[i]) * np.sqrt(test.sum() - 3)
    zscore = z.sum() / np.sqrt(n_outer)
    pval = float(2 * ndtr(-abs(zscore)))
    rho_avg = float(rho.mean())
    return {"rho_avg": rho_avg, "rho_se": float(rho.std(ddof=1)), "rho_zscore": float(zscore), "zscore_pval": pval,
            "R2_avg": float(r2.mean()), "R2_sd": float(r2.std(ddof=1)), "rho_avg_squared": rho_avg ** 2,
            "keep": bool(rho_avg > 0.1 and pval < 0.05)}
