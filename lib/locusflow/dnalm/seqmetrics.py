"""Held-out metrics of sequence models: AUROC, AUPRC (average precision), R^2, and bootstrap intervals.

AUROC is the Mann-Whitney probability that a random positive scores above a random negative (ties
count one half), from mid-ranks: ``(sum of positive ranks - n1 (n1 + 1) / 2) / (n1 n0)``. AUPRC is the
average precision ``sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds, highest first
(scikit-learn's ``average_precision_score``, no interpolation). ``R^2 = 1 - SS_res / SS_tot``. A bootstrap
resamples whole clusters (e.g. all windows of one locus) with replacement, stratified by class.

References
----------
Hanley JA, McNeil BJ (1982) The meaning and use of the area under a ROC curve. Radiology 143:29.
Boyd K, Eng KH, Page CD (2013) Area under the precision-recall curve: point estimates and confidence
intervals. ECML PKDD, LNCS 8190:451.
Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap. Chapman & Hall.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auroc(y, score) -> float:
    """Area under the ROC curve of ``score`` for binary ``y`` (module docstring).

    Parameters
    ----------
    y : array-like of {0, 1}
    score : array-like of float

    Returns
    -------
    float
        NaN when one class is absent.

    References
    ----------
    Hanley JA, McNeil BJ (1982) Radiology 143:29.
    """
    y = np.asarray(y) > 0
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(np.asarray(score, float))
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auprc(y, score) -> float:
    """Average precision of ``score`` for binary ``y`` (module docstring; scikit-learn's definition).

    Parameters
    ----------
    y : array-like of {0, 1}
        Labels, 1 the positive class.
    score : array-like of float
        Higher = more likely positive; tied scores form one threshold.

    Returns
    -------
    float
        The area in [0, 1]; NaN without positives.

    References
    ----------
    Boyd K, Eng KH, Page CD (2013) ECML PKDD, LNCS 8190:451.
    """
    y = np.asarray(y) > 0
    if not y.any():
        return float("nan")
    s = np.asarray(score, float)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]          # the last index of each distinct score
    tp = np.cumsum(y)[last]
    prec, rec = tp / (last + 1), tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


def r_squared(y, pred) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``.

    Parameters
    ----------
    y, pred : array-like of float

    Returns
    -------
    float
    """
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    return float(1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def classification_metrics(y, out: np.ndarray) -> dict:
    """AUROC, AUPRC and accuracy of outputs for binary or multiclass labels.

    Parameters
    ----------
    y : array-like of int
        Class indices 0..K-1.
    out : ndarray, (n, 1) or (n, K)
        Binary: the logit of class 1; multiclass: a logit per class.

    Returns
    -------
    dict
        ``n``, ``n_positive`` (binary) or ``n_per_class``, ``auroc``, ``auprc`` (multiclass: macro
        averages of one-vs-rest), ``accuracy``.

    References
    ----------
    Hanley JA, McNeil BJ (1982) Radiology 143:29.
    """
    y = np.asarray(y).astype(int)
    if out.shape[1] == 1:
        s = out[:, 0]
        return {"n": int(len(y)), "n_positive": int(y.sum()), "auroc": auroc(y, s), "auprc": auprc(y, s),
                "accuracy": float(((s > 0) == (y > 0)).mean())}
    k = out.shape[1]
    return {"n": int(len(y)), "n_per_class": [int((y == c).sum()) for c in range(k)],
            "auroc": float(np.nanmean([auroc(y == c, out[:, c]) for c in range(k)])),
            "auprc": float(np.nanmean([auprc(y == c, out[:, c]) for c in range(k)])),
            "accuracy": float((out.argmax(1) == y).mean())}


def bootstrap_auroc_difference(y, score_a, score_b, clusters=None, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """AUROC(a) - AUROC(b) on the same windows, with a cluster bootstrap interval.

    Parameters
    ----------
    y : array-like of {0, 1}
    score_a, score_b : array-like of float
        Two models' scores of the same windows.
    clusters : array-like, optional
        Cluster of each window (resampled whole, within its class) [each window its own].
    n_boot : int
        Bootstrap replicates.
    seed : int

    Returns
    -------
    dict
        ``difference``, ``lo``, ``hi`` (2.5% and 97.5% percentiles), ``p_le_0`` (share of replicates
        with a difference <= 0).

    References
    ----------
    Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap. Chapman & Hall.
    """
    y = np.asarray(y) > 0
    a, b = np.asarray(score_a, float), np.asarray(score_b, float)
    cl = np.arange(len(y)) if clusters is None else np.unique(np.asarray(clusters), return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    groups = {}
    for cls in (True, False):
        ids = np.unique(cl[y == cls])
        groups[cls] = [np.flatnonzero((cl == i) & (y == cls)) for i in ids]
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        idx = np.concatenate([g[j] for cls in (True, False) for g in [groups[cls]]
                              for j in rng.integers(0, len(g), len(g))])
        diffs[i] = auroc(y[idx], a[idx]) - auroc(y[idx], b[idx])
    d = auroc(y, a) - auroc(y, b)
    return {"difference": d, "lo": float(np.percentile(diffs, 2.5)), "hi": float(np.percentile(diffs, 97.5)),
            "p_le_0": float((diffs <= 0).mean())}
