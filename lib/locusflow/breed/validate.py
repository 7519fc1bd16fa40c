"""Validation of genomic predictions: k-fold, forward-in-time and across-population designs.

For each split the model is fitted on the training animals only (marker weights, allele frequencies
and variance components included: nothing is learned from the test animals), then

    accuracy = cor(GEBV_test, y_test)        bias = slope of the regression of y_test on GEBV_test

(a slope of 1 means unbiased GEBV; < 1 over-dispersed). With a known heritability h2 the accuracy
of the true breeding value is estimated by accuracy / sqrt(h2) (Legarra et al. 2008).

References
----------
Legarra A. et al. (2008) Performance of genomic selection in mice. Genetics 180:611-618.
Crossa J. et al. (2010) Prediction of genetic values of quantitative traits in plant breeding using
pedigree and molecular markers. Genetics 186:713-724 (the wheat data and its CV design).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError


def kfold(n: int, k: int = 5, seed: int = 0) -> np.ndarray:
    """Fold label 0..k-1 per animal, balanced and random.

    Parameters
    ----------
    n : int
        Animals.
    k : int
        Folds.
    seed : int

    Returns
    -------
    numpy.ndarray
        [n] int fold labels.
    """
    if k < 2 or k > n:
        raise InputError("validation", f"2 <= k <= {n} folds", value=k)
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(n) % k)


def forward_in_time(birth, cutoff) -> np.ndarray:
    """Fold labels for a forward-in-time split: animals born before ``cutoff`` train (label 1), the
    rest are predicted (label 0).

    Parameters
    ----------
    birth : array-like
        Birth year (or generation) per animal.
    cutoff : float

    Returns
    -------
    numpy.ndarray
        [n] labels; use with :func:`cross_validate` and ``test_folds=[0]``.
    """
    return (np.asarray(birth) < cutoff).astype(int)


def accuracy_bias(y, gebv) -> tuple[float, float]:
    """Predictive accuracy cor(GEBV, y) and bias slope b in y = a + b GEBV.

    Parameters
    ----------
    y, gebv : array-like

    Returns
    -------
    tuple of float
        (accuracy, slope).
    """
    y, g = np.asarray(y, float), np.asarray(gebv, float)
    gc = g - g.mean()
    return float(np.corrcoef(y, g)[0, 1]), float(gc @ (y - y.mean()) / (gc @ gc))


def cross_validate(y, predict_fold, folds, test_folds=None, h2: float | None = None) -> pd.DataFrame:
    """Run a model over validation splits and report accuracy and bias per split.

    Parameters
    ----------
    y : array-like
        [n] phenotypes (NaN: never in a test set).
    predict_fold : callable
        ``predict_fold(train_idx, test_idx) -> GEBV of test_idx`` (fits on train only).
    folds : array-like
        [n] fold label per animal (:func:`kfold`, :func:`forward_in_time`, populations, ...).
    test_folds : list, optional
        Labels used as test sets (default every label).
    h2 : float, optional
        Known heritability: adds accuracy / sqrt(h2).

    Returns
    -------
    pandas.DataFrame
        fold, n_train, n_test, accuracy, bias (and accuracy_tbv).
    """
    y = np.asarray(y, dtype=np.float64)
    folds = np.asarray(folds)
    rows = []
    labels = np.unique(folds) if test_folds is None else test_folds
    for f in labels:    # loop over folds
        test = np.flatnonzero((folds == f) & np.isfinite(y))
        train = np.flatnonzero((folds != f) & np.isfinite(y))
        g = np.asarray(predict_fold(train, test), dtype=np.float64)
        acc, slope = accuracy_bias(y[test], g)
        row = {"fold": f, "n_train": train.size, "n_test": test.size, "accuracy": acc, "bias": slope}
        if h2:
            row["accuracy_tbv"] = acc / np.sqrt(h2)
        rows.append(row)
    return pd.DataFrame(rows)
