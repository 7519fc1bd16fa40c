"""PredictDB's model per gene: nested-CV performance, the cv.glmnet model on all samples, the keep rule.

PredictDB (Gamazon et al. 2015, Nat Genet 47:1091; hakyimlab PredictDb-nextflow
``gtex_v7_nested_cv_elnet.R``, ``nested_cv_elastic_net_perf``):

- nested CV: 5 outer folds (``generate_fold_ids``); in each a 10-fold cv.glmnet on the training part
  and its lambda.min model predicting the held-out part. Per fold R2 = 1 - RSS/TSS with TSS = sum(y^2)
  (y is centred and scaled over all samples), rho = cor(pred, obs) (0 when the prediction is
  constant), z = atanh(rho) sqrt(n_test - 3), and the p of ``cor.test``; ``rho_zscore`` = sum z /
  sqrt(5) (Stouffer), ``zscore_pval`` = 2 Phi(-|rho_zscore|), ``nested_cv_fisher_pval`` = Fisher's
  combination of the fold p-values.
- the model: cv.glmnet (10 folds, ``keep=TRUE``) on all samples; its weights are the all-samples fit at
  lambda.min; ``cv_*`` are the same statistics over its own folds' held-out predictions
  (``fit.preval``), ``in_sample_R2`` the all-samples fit's R2.
- kept (``filter_db.R``) when rho_avg > 0.1 and zscore_pval < 0.05; the PredictDB ``extra`` table then
  names ``pred.perf.R2`` = rho_avg_squared and ``pred.perf.pval`` = zscore_pval.

One difference, documented: where a fold's prediction is constant, PredictDB draws that fold's p-value
from U(0, 1) (``runif(1)``); here it is 1, so that a run is reproducible.

All fits of a gene share one :class:`~locusflow.twas.train.coordinate_descent.GramCache`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr
from scipy.stats import chi2, t as t_dist

from .elastic_net import GramCache, cv_elastic_net, fold_ids

PERF_KEYS = ("R2_avg", "R2_sd", "pval_est", "rho_avg", "rho_se", "rho_zscore", "rho_avg_squared", "zscore_pval")


def fold_statistics(obs: np.ndarray, pred: np.ndarray) -> tuple[float, float, float, float]:
    """One held-out fold's (R2, rho, Fisher z, cor.test p) as PredictDB computes them.

    Parameters
    ----------
    obs, pred : numpy.ndarray
        Observed and predicted expression of the fold's samples.

    Returns
    -------
    tuple of float
        R2 = 1 - sum (obs - pred)^2 / sum obs^2; rho = cor(pred, obs) (0 for a constant prediction);
        z = atanh(rho) sqrt(n - 3); p = two-sided p of Pearson's t = rho sqrt((n - 2)/(1 - rho^2))
        (1 for a constant prediction).
    """
    n = len(obs)
    r2 = 1.0 - ((obs - pred) ** 2).sum() / (obs ** 2).sum()
    if np.ptp(pred) > 0:
        rho = float(np.corrcoef(pred, obs)[0, 1])
        tt = rho * np.sqrt((n - 2) / max(1.0 - rho * rho, 1e-300))
        p = float(2 * t_dist.sf(abs(tt), n - 2))
    else:
        rho, p = 0.0, 1.0
    return float(r2), rho, float(np.arctanh(rho) * np.sqrt(n - 3)), p


def combine_folds(stats: list) -> dict:
    """PredictDB's summary of per-fold statistics.

    Parameters
    ----------
    stats : list of tuple
        :func:`fold_statistics` of each fold.

    Returns
    -------
    dict
        ``R2_avg``, ``R2_sd``, ``pval_est`` (Fisher), ``rho_avg``, ``rho_se`` (SD over folds),
        ``rho_zscore`` (Stouffer), ``rho_avg_squared``, ``zscore_pval``.
    """
    r2, rho, z, p = (np.array(v, float) for v in zip(*stats))
    k = len(r2)
    zscore = z.sum() / np.sqrt(k)
    return {"R2_avg": float(r2.mean()), "R2_sd": float(r2.std(ddof=1)),
            "pval_est": float(chi2.sf(-2 * np.log(p).sum(), 2 * k)), "rho_avg": float(rho.mean()),
            "rho_se": float(rho.std(ddof=1)), "rho_zscore": float(zscore), "rho_avg_squared": float(rho.mean() ** 2),
            "zscore_pval": float(2 * ndtr(-abs(zscore)))}


def nested_cv_performance(x: np.ndarray | None, y: np.ndarray, *, alpha: float = 0.5, n_outer: int = 5,
                          n_inner: int = 10, seed: int | np.random.Generator = 0, thresh: float = 1e-7,
                          max_iter: int = 100_000, gram: GramCache | None = None) -> dict:
    """PredictDB's performance of the elastic-net procedure: nested cross-validation.

    Parameters
    ----------
    x : numpy.ndarray or None
        Dosages [n, p] of the gene's cis SNPs (None when ``gram`` is given).
    y : numpy.ndarray
        Residualised, standardised expression [n].
    alpha : float
        Elastic-net mixing (PredictDB: 0.5).
    n_outer, n_inner : int
        Outer (train/test) folds and the folds of each inner cv.glmnet.
    seed : int or numpy.random.Generator
        Folds: outer first, then each outer fold's inner folds.
    thresh, max_iter
        As :func:`~locusflow.twas.train.elastic_net.elastic_net_path`.
    gram : GramCache, optional
        The gene's cross-products (shared with the final model).

    Returns
    -------
    dict
        :func:`combine_folds` of the outer folds (``R2_avg``, ``R2_sd``, ``pval_est``, ``rho_avg``,
        ``rho_se``, ``rho_zscore``, ``rho_avg_squared``, ``zscore_pval``) and ``keep`` (PredictDB's
        rule: rho_avg > 0.1 and zscore_pval < 0.05).

    References
    ----------
    Gamazon et al. 2015, Nat Genet 47:1091; PredictDB ``nested_cv_elastic_net_perf``.
    """
    gram = gram if gram is not None else GramCache(np.asarray(x, float))
    y = np.asarray(y, float)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    outer = fold_ids(gram.n, n_outer, rng)
    stats = []
    for k in range(1, n_outer + 1):                 # loop over outer folds (5)
        train, test = np.flatnonzero(outer != k), np.flatnonzero(outer == k)
        fit = cv_elastic_net(None, y, alpha=alpha, n_folds=n_inner, seed=rng, thresh=thresh, max_iter=max_iter,
                             rows=train, gram=gram)
        pred = gram.xt[:, test].T @ fit.coef + fit.intercept + fit.coef @ gram.center
        stats.append(fold_statistics(y[test], pred))
    perf = combine_folds(stats)
    perf["keep"] = bool(perf["rho_avg"] > 0.1 and perf["zscore_pval"] < 0.05)
    return perf


def train_gene(x: np.ndarray, y: np.ndarray, *, alpha: float = 0.5, n_outer: int = 5, n_folds: int = 10,
               seed: int = 0, thresh: float = 1e-7, max_iter: int = 100_000) -> dict:
    """One gene as PredictDB trains it: nested-CV performance, then the cv.glmnet model on all samples.

    Parameters
    ----------
    x : numpy.ndarray
        [n, p] dosages of the gene's cis SNPs (after QC).
    y : numpy.ndarray
        [n] expression residualised on covariates and standardised.
    alpha, n_outer, n_folds, seed, thresh, max_iter
        Elastic-net mixing, outer and inner folds, seed of every fold assignment, glmnet's ``thresh``
        and ``maxit``.

    Returns
    -------
    dict
        ``coef`` [p] (the all-samples fit at lambda.min), ``intercept``, and PredictDB's model summary:
        ``alpha``, ``n_snps_in_window``, ``n_snps_in_model``, ``lambda_min_mse``, ``test_R2_avg``,
        ``test_R2_sd``, ``cv_R2_avg``, ``cv_R2_sd``, ``in_sample_R2``, ``nested_cv_fisher_pval``,
        ``rho_avg``, ``rho_se``, ``rho_zscore``, ``rho_avg_squared``, ``zscore_pval``, ``cv_rho_avg``,
        ``cv_rho_se``, ``cv_rho_avg_squared``, ``cv_zscore_est``, ``cv_zscore_pval``, ``cv_pval_est``,
        ``keep``.

    References
    ----------
    PredictDB ``gtex_v7_nested_cv_elnet.R`` (``main``), ``filter_db.R``.
    """
    gram = GramCache(np.asarray(x, float))
    y = np.asarray(y, float)
    rng = np.random.default_rng(seed)
    kw = dict(alpha=alpha, thresh=thresh, max_iter=max_iter)
    perf = nested_cv_performance(None, y, n_outer=n_outer, n_inner=n_folds, seed=rng, gram=gram, **kw)
    fit = cv_elastic_net(None, y, n_folds=n_folds, seed=rng, gram=gram, **kw)
    best = fit.index_min
    cv = combine_folds([fold_statistics(y[fit.foldid == k], fit.fit_preval[fit.foldid == k, best])
                        for k in range(1, n_folds + 1)])
    in_sample = gram.xt.T @ fit.coef + fit.intercept + fit.coef @ gram.center
    return {"coef": fit.coef, "intercept": fit.intercept, "alpha": alpha, "n_snps_in_window": gram.p,
            "n_snps_in_model": int(fit.nzero[best]), "lambda_min_mse": fit.lambda_min,
            "test_R2_avg": perf["R2_avg"], "test_R2_sd": perf["R2_sd"], "cv_R2_avg": cv["R2_avg"],
            "cv_R2_sd": cv["R2_sd"], "in_sample_R2": float(1 - ((y - in_sample) ** 2).sum() / (y ** 2).sum()),
            "nested_cv_fisher_pval": perf["pval_est"], "rho_avg": perf["rho_avg"], "rho_se": perf["rho_se"],
            "rho_zscore": perf["rho_zscore"], "rho_avg_squared": perf["rho_avg_squared"],
            "zscore_pval": perf["zscore_pval"], "cv_rho_avg": cv["rho_avg"], "cv_rho_se": cv["rho_se"],
            "cv_rho_avg_squared": cv["rho_avg_squared"], "cv_zscore_est": cv["rho_zscore"],
            "cv_zscore_pval": cv["zscore_pval"], "cv_pval_est": cv["pval_est"],
            "keep": bool(perf["keep"] and fit.nzero[best] > 0)}
