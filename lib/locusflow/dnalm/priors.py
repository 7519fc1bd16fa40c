"""From variant scores into the genetics: GPNxLD and functional priors for fine-mapping.

GPNxLD (per variant j of an LD block): ``gpnxld_j = sum_k r_jk^2 a_k`` over the block's variants k
(``a`` a calibrated functional score, by default ``a = max(0, -llr)``: how much less likely the alt is),
from the ld stage's stored matrices.

Functional priors (PolyFun-style): within a block of m variants, the prior causal probability is a
monotone function of the score, ``pi_j = exp(beta * s_j) / sum_k exp(beta * s_k)``, so the mean prior is
the uniform 1/m (beta = 0 gives the uniform prior). ``beta`` can be estimated by maximising the
marginal likelihood across blocks under one causal variant per block, with Wakefield's approximate
Bayes factors: ``L(beta) = prod_blocks sum_j pi_j(beta) ABF_j``.

References
----------
Benegas G et al. (2023) PNAS 120:e2311219120 (GPN; GPNxLD-style LD-aware scores in follow-ups).
Weissbrod O et al. (2020) Functionally informed fine-mapping and polygenic localization of complex trait
heritability (PolyFun). Nat Genet 52:1355.
Wakefield J (2009) Bayes factors for genome-wide association studies. Genet Epidemiol 33:79.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp


def functional_score(llr) -> np.ndarray:
    """Calibrated functional score ``a = max(0, -llr)`` (null scores count as 0).

    Parameters
    ----------
    llr : array-like
        Log-likelihood ratios log P(alt) - log P(ref); NaN for unscored variants.

    Returns
    -------
    ndarray of float
        Non-negative scores, 0 where ``llr`` is NaN or positive.

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120 (GPN).
    """
    return np.nan_to_num(np.maximum(0.0, -np.asarray(llr, float)), nan=0.0)


def gpnxld(r: np.ndarray, a) -> np.ndarray:
    """``sum_k r_jk^2 a_k`` for each variant j of one block.

    Parameters
    ----------
    r : ndarray, (m, m)
        LD (correlation) matrix of the block.
    a : array-like, (m,)
        Functional score per variant.

    Returns
    -------
    ndarray, (m,)
    """
    r = np.asarray(r, dtype=np.float64)
    return (r * r) @ np.asarray(a, dtype=np.float64)


def gpnxld_blocks(ld_dir, scores: pd.DataFrame, block_ids) -> pd.DataFrame:
    """GPNxLD over blocks from the ld stage's matrices.

    Parameters
    ----------
    ld_dir : str or Path
        The ld stage's ``matrices`` directory.
    scores : DataFrame
        variant_id and llr (schema variant_scores); variants without a score count as a = 0.
    block_ids : list of str

    Returns
    -------
    DataFrame
        block_id, variant_id, a, gpnxld.
    """
    from ..ld.matrix import read_block_ld
    a_by_id = pd.Series(functional_score(scores["llr"]), index=scores["variant_id"].to_numpy())
    out = []
    for b in block_ids:
        var, r = read_block_ld(ld_dir, b)
        a = a_by_id.reindex(var["variant_id"]).fillna(0.0).to_numpy()
        out.append(pd.DataFrame({"block_id": b, "variant_id": var["variant_id"].to_numpy(), "a": a,
                                 "gpnxld": gpnxld(r, a)}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["block_id", "variant_id", "a", "gpnxld"])


def functional_priors(score, beta: float) -> np.ndarray:
    """Prior causal probabilities of one block, ``softmax(beta * score)`` (mean = 1/m).

    Parameters
    ----------
    score : array-like, (m,)
        Functional score (higher = more likely causal for beta > 0).
    beta : float
        Link slope; 0 gives the uniform prior.

    Returns
    -------
    ndarray, (m,)
        Sums to 1.
    """
    s = beta * np.asarray(score, float)
    return np.exp(s - logsumexp(s))


def log_abf(z, se=1.0, w: float = 0.04) -> np.ndarray:
    """Wakefield's log approximate Bayes factor of each z (prior effect variance ``w``, ``V = se^2``).

    With ``se = 1`` the effect is on the z scale and ``w`` is the prior variance of the non-centrality
    (e.g. n h2 per causal SNP).

    Parameters
    ----------
    z : array-like
        Association z-scores.
    se : float or array-like
        Standard error of each effect (broadcast against ``z``).
    w : float
        Prior variance of the causal effect.

    Returns
    -------
    ndarray of float
        ``0.5 log(V / (V + w)) + 0.5 z^2 w / (V + w)`` per variant (natural log).

    References
    ----------
    Wakefield J (2009) Bayes factors for genome-wide association studies. Genet Epidemiol 33:79.
    """
    v = np.asarray(se, float) ** 2
    z = np.asarray(z, float)
    return 0.5 * np.log(v / (v + w)) + 0.5 * z ** 2 * w / (v + w)


def single_causal_pip(z, score, beta: float, se=1.0, w: float = 0.04) -> np.ndarray:
    """PIPs of one block under one causal variant with the functional prior.

    Parameters
    ----------
    z : array-like, (m,)
        Z-scores of the block's variants.
    score : array-like, (m,)
        Functional score per variant.
    beta : float
        Link slope of :func:`functional_priors`.
    se, w : float
        As in :func:`log_abf`.

    Returns
    -------
    ndarray, (m,)
        Posterior inclusion probabilities ``pi_j ABF_j / sum_k pi_k ABF_k``; sums to 1.

    References
    ----------
    Weissbrod O et al. (2020) PolyFun. Nat Genet 52:1355.
    Wakefield J (2009) Genet Epidemiol 33:79.
    """
    lp = np.log(functional_priors(score, beta)) + log_abf(z, se, w)
    return np.exp(lp - logsumexp(lp))


def estimate_beta(blocks, grid=np.linspace(-3, 3, 121), se=1.0, w: float = 0.04) -> float:
    """The link slope maximising ``sum_blocks log sum_j pi_j(beta) ABF_j`` over ``grid``.

    Parameters
    ----------
    blocks : iterable of (z, score) pairs
        Per-block z-scores and functional scores.
    grid : array-like
        Candidate slopes.
    se, w : float
        As in :func:`log_abf`.

    Returns
    -------
    float
    """
    grid = np.asarray(grid, float)
    ll = np.zeros(len(grid))
    for z, sc in blocks:                       # one vectorised pass over the grid per block
        logit = grid[:, None] * np.asarray(sc, float)[None, :]
        ll += logsumexp(logit - logsumexp(logit, axis=1, keepdims=True) + log_abf(z, se, w)[None, :], axis=1)
    return float(grid[int(np.argmax(ll))])
