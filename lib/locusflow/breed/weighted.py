"""Genomic prediction that gives prioritised variants their due weight.

Marker weights come from a prioritisation score s_j >= 0 (fine-mapping PIPs, DNA-LM scores, GWAS
chi^2) and a mixing proportion alpha:

    d_j = (1 - alpha) + alpha * m * s_j / sum_k s_k          (mean weight 1)

so alpha = 0 is VanRaden's G and alpha -> 1 puts the genetic variance on the prioritised markers
(weighted GBLUP, Zhang et al. 2016). alpha is chosen on the training animals only, by the REML
log-likelihood of each weighted G (the models share their fixed effects, so their REML likelihoods
compare). Scores computed from phenotypes (GWAS, PIPs) must come from the training animals of the
fold as well: :func:`training_scores` computes them there.

References
----------
Zhang X. et al. (2016) Weighting strategies for single-step genomic BLUP. Front Genet 7:151.
Edwards S.M. et al. (2016) Partitioning of genomic variance reveals biological pathways associated
with udder health and milk production traits in dairy cattle. Genet Sel Evol 47:60 (GFBLUP).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .gblup import MixedModelFit, fit_gblup
from .relationship import allele_counts, center

ALPHAS = (0.0, 0.25, 0.5, 0.75, 0.9, 0.99)


def marker_weights(scores, alpha: float) -> np.ndarray:
    """Per-marker weights d = (1 - alpha) + alpha m s / sum(s), mean 1.

    Parameters
    ----------
    scores : array-like
        [m] non-negative prioritisation scores.
    alpha : float
        In [0, 1].

    Returns
    -------
    numpy.ndarray
        [m] weights.
    """
    s = np.asarray(scores, dtype=np.float64)
    if (s < 0).any() or not np.isfinite(s).all() or s.sum() <= 0:
        raise InputError("marker scores", "finite non-negative scores, not all zero")
    if not 0 <= alpha <= 1:
        raise InputError("alpha", "a mixing proportion in [0, 1]", value=alpha)
    return (1 - alpha) + alpha * s.size * s / s.sum()


def training_scores(markers, y, method: str = "chi2") -> np.ndarray:
    """Prioritisation scores from the training animals' phenotypes (no test animal involved).

    Parameters
    ----------
    markers : array-like
        [n_train, m] genotypes.
    y : array-like
        [n_train] phenotypes.
    method : {"chi2", "pip"}
        ``chi2``: marginal association chi^2 = n r^2 per marker (one GEMM); ``pip``: SuSiE-RSS PIPs
        of those z-scores with the training animals' own LD, per chunk of 1,000 adjacent markers.

    Returns
    -------
    numpy.ndarray
        [m] scores.
    """
    w, _ = center(allele_counts(markers))
    y = np.asarray(y, dtype=np.float64)
    yc = y - y.mean()
    sd = np.sqrt(np.einsum("ij,ij->j", w, w))
    ok = sd > 0
    r = np.zeros(w.shape[1])
    r[ok] = (w[:, ok].T @ yc) / (sd[ok] * np.sqrt(yc @ yc))
    n = y.size
    if method == "chi2":
        return n * r ** 2
    if method != "pip":
        raise InputError("breed.weights", "chi2 or pip", value=method)
    from ..finemap.susie import susie_rss
    z = r * np.sqrt((n - 2) / np.maximum(1 - r ** 2, 1e-12))
    pip = np.zeros_like(z)
    for a in range(0, z.size, 1000):      # loop over marker chunks (LD blocks), not markers
        idx = np.flatnonzero(ok[a:a + 1000]) + a
        if idx.size < 2:
            continue
        xs = w[:, idx] / sd[idx]
        R = xs.T @ xs
        pip[idx] = susie_rss(z[idx], R, n, L=10).pip
    return pip + 1e-6


@dataclass
class WeightedFit:
    """The chosen mixing proportion ``alpha_``, the fit on its weighted G, the weights and every
    alpha's REML log-likelihood (``loglik_by_alpha_``)."""
    alpha_: float
    fit_: MixedModelFit
    weights_: np.ndarray
    loglik_by_alpha_: dict
    freq_: np.ndarray
    scale_: float

    def predict(self, markers_new, markers_train) -> np.ndarray:
        """GEBV of new animals: K_new,train alpha with the fitted weights and training frequencies.

        Parameters
        ----------
        markers_new, markers_train : array-like
            [n_new, m] and [n_train, m] genotypes.

        Returns
        -------
        numpy.ndarray
        """
        wn, _ = center(allele_counts(markers_new), self.freq_)
        wt, _ = center(allele_counts(markers_train), self.freq_)
        return ((wn * self.weights_) @ wt.T / self.scale_) @ self.fit_.alpha_


def fit_weighted_gblup(y, markers, scores, *, alphas=ALPHAS, X=None) -> WeightedFit:
    """Weighted GBLUP with the mixing proportion chosen by REML on the training animals.

    Parameters
    ----------
    y : array-like
        [n] training phenotypes.
    markers : array-like
        [n, m] training genotypes.
    scores : array-like
        [m] prioritisation scores (PIPs, DNA-LM scores, chi^2), computed without test animals.
    alphas : sequence of float
        Mixing proportions tried (0 = plain GBLUP).
    X : array-like, optional
        Fixed effects.

    Returns
    -------
    WeightedFit

    References
    ----------
    Zhang et al. (2016) Front Genet 7:151.
    """
    w, p = center(allele_counts(markers))
    base = 2 * p * (1 - p)
    s = marker_weights(scores, 1.0)                  # = m s / sum(s); d(alpha) = (1 - alpha) + alpha s
    # G(alpha) is linear in the weights: two GEMMs serve every alpha
    plain, prior = w @ w.T, (w * s) @ w.T
    c0, c1 = float(base.sum()), float(np.sum(s * base))
    best = None
    ll = {}
    for a in alphas:        # a handful of candidate weightings
        d = marker_weights(scores, a)
        scale = (1 - a) * c0 + a * c1
        fit = fit_gblup(y, ((1 - a) * plain + a * prior) / scale, X)
        ll[float(a)] = fit.loglik_
        if best is None or fit.loglik_ > best[1].loglik_:
            best = (float(a), fit, d, scale)
    a, fit, d, scale = best
    return WeightedFit(alpha_=a, fit_=fit, weights_=d, loglik_by_alpha_=ll, freq_=p, scale_=scale)
