"""Functional priors from per-variant scores (DNA-LM LLRs, GPNxLD, ...): a monotone link, PolyFun-style.

Within a block of m variants the prior probability that variant j is a given effect's causal variant is
``pi_j = g(beta, s_j) / sum_k g(beta, s_k)``, so the mean prior is the uniform 1/m and ``beta = 0`` gives
the uniform prior. ``s`` is the transformed score (:func:`locusflow.io.scores.transform_scores`)
standardised over the whole score table, and the link ``g`` is

- ``exp``: ``g = exp(beta * s)``, ``s = (a - mean a) / sd a`` (log-linear, as PolyFun's SNPVAR enters
  on the log scale); unscored variants get ``s = 0`` (the mean);
- ``linear``: ``g = 1 + beta * s``, ``s = a / mean a`` for a non-negative score ``a``, ``beta >= 0``;
  unscored variants get ``s = 1``.

The link is monotone non-decreasing (``beta >= 0``: a higher functional score never lowers the prior;
a score unrelated to causality gives ``beta = 0``, the uniform prior). Its slope can be estimated by
maximising the marginal likelihood across the blocks fine-mapped,
under one causal variant per block with Wakefield's approximate Bayes factors on the z scale:
``L(beta, w) = prod_blocks sum_j pi_j(beta) ABF_j(w)``, with the prior variance ``w`` of the causal
non-centrality estimated on the same grid. Under one causal variant the Bayes factor of "j is causal"
given all the block's z and its LD is the univariate ABF of z_j, so LD is not needed here.

References
----------
Weissbrod O et al. (2020) Functionally informed fine-mapping and polygenic localization of complex trait
heritability (PolyFun). Nat Genet 52:1355.
Wakefield J (2009) Bayes factors for genome-wide association studies. Genet Epidemiol 33:79.
Kichaev G et al. (2014) Integrating functional data to prioritize causal variants in statistical
fine-mapping studies (PAINTOR). PLoS Genet 10:e1004722 (priors from annotations, estimated by likelihood).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from ..errors import InputError
from ..io.scores import read_scores

LINKS = ("exp", "linear")
BETA_GRID = {"exp": np.linspace(0, 3, 61), "linear": np.concatenate([[0.0], np.geomspace(0.01, 100, 81)])}
W_GRID = np.geomspace(1.0, 1e4, 17)
NEUTRAL = {"exp": 0.0, "linear": 1.0}
PRIOR_SPEC = ("scores", "column", "transform", "link", "center", "scale", "beta")   # what a block's kernel needs


def functional_priors(score, beta: float, link: str = "exp") -> np.ndarray:
    """Prior causal probabilities of one block, ``g(beta, s) / sum g`` (mean = 1/m).

    Parameters
    ----------
    score : array-like, (m,)
        Standardised functional score (higher = more likely causal for beta > 0).
    beta : float
        Link slope; 0 gives the uniform prior.
    link : {"exp", "linear"}
        ``exp(beta s)`` or ``1 + beta s`` (module docstring).

    Returns
    -------
    ndarray, (m,)
        Sums to 1.

    References
    ----------
    Weissbrod O et al. (2020) PolyFun. Nat Genet 52:1355.
    """
    s = np.asarray(score, float)
    lg = _log_link(np.atleast_1d(float(beta)), s, link)[0]
    return np.exp(lg - logsumexp(lg))


def _log_link(betas: np.ndarray, s: np.ndarray, link: str) -> np.ndarray:
    """log g(beta, s) for every beta (rows) and variant (columns)."""
    if link == "exp":
        return betas[:, None] * s[None, :]
    return np.log(np.maximum(1.0 + betas[:, None] * s[None, :], 1e-300))


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


def single_causal_pip(z, score, beta: float, se=1.0, w: float = 0.04, link: str = "exp") -> np.ndarray:
    """PIPs of one block under one causal variant with the functional prior.

    Parameters
    ----------
    z : array-like, (m,)
        Z-scores of the block's variants.
    score : array-like, (m,)
        Standardised functional score per variant.
    beta : float
        Link slope of :func:`functional_priors`.
    se, w : float
        As in :func:`log_abf`.
    link : {"exp", "linear"}

    Returns
    -------
    ndarray, (m,)
        Posterior inclusion probabilities ``pi_j ABF_j / sum_k pi_k ABF_k``; sums to 1.

    References
    ----------
    Weissbrod O et al. (2020) PolyFun. Nat Genet 52:1355.
    Wakefield J (2009) Genet Epidemiol 33:79.
    """
    lp = np.log(functional_priors(score, beta, link)) + log_abf(z, se, w)
    return np.exp(lp - logsumexp(lp))


def estimate_link(blocks, link: str = "exp", betas=None, ws=None) -> dict:
    """Slope and effect variance maximising ``sum_blocks log sum_j pi_j(beta) ABF_j(w)`` over a grid.

    Parameters
    ----------
    blocks : iterable of (z, score) pairs
        Per-block z-scores and standardised functional scores.
    link : {"exp", "linear"}
    betas : array-like, optional
        Candidate slopes [:data:`BETA_GRID` of the link].
    ws : array-like, optional
        Candidate prior variances of the causal non-centrality [:data:`W_GRID`; a scalar fixes it].

    Returns
    -------
    dict
        ``beta``, ``w``, ``loglik`` (at the maximum), ``loglik_uniform`` (beta = 0, best w) and
        ``n_blocks``.

    References
    ----------
    Kichaev G et al. (2014) PLoS Genet 10:e1004722; Weissbrod O et al. (2020) Nat Genet 52:1355.
    """
    betas = np.asarray(BETA_GRID[link] if betas is None else betas, float)
    if not np.any(betas == 0):
        betas = np.concatenate([betas, [0.0]])
    ws = np.atleast_1d(np.asarray(W_GRID if ws is None else ws, float))
    ll = np.zeros((len(betas), len(ws)))
    n = 0
    for z, sc in blocks:                        # one vectorised pass over the grid per block
        z, sc = np.asarray(z, float), np.asarray(sc, float)
        if not len(z):
            continue
        lg = _log_link(betas, sc, link)
        lpi = lg - logsumexp(lg, axis=1, keepdims=True)                          # (betas, m)
        labf = log_abf(z[None, :], 1.0, ws[:, None])                             # (ws, m)
        mp, ma = lpi.max(1, keepdims=True), labf.max(1, keepdims=True)           # log sum_j pi_j ABF_j as a product
        ll += np.log(np.exp(lpi - mp) @ np.exp(labf - ma).T) + mp + ma.T
        n += 1
    i, j = np.unravel_index(int(np.argmax(ll)), ll.shape)
    zero = int(np.flatnonzero(betas == 0)[0])
    return {"beta": float(betas[i]), "w": float(ws[j]), "loglik": float(ll[i, j]),
            "loglik_uniform": float(ll[zero].max()), "n_blocks": n}


def estimate_beta(blocks, grid=None, se=1.0, w: float = 0.04, link: str = "exp") -> float:
    """The link slope maximising the marginal likelihood at a fixed effect variance ``w`` (z scale, se = 1).

    Parameters
    ----------
    blocks : iterable of (z, score) pairs
    grid : array-like, optional
        Candidate slopes [:data:`BETA_GRID` of the link].
    se : float
        Must be 1 (kept for the signature of :func:`log_abf`).
    w : float
        Prior variance of the causal non-centrality.
    link : {"exp", "linear"}

    Returns
    -------
    float
    """
    if se != 1.0:
        raise ValueError("estimate_beta works on the z scale (se = 1)")
    return estimate_link(blocks, link, grid, [w])["beta"]


def calibration(values, link: str = "exp", *, source="scores", transform: str = "deleterious") -> dict:
    """Centre and scale that standardise transformed scores for ``link``.

    Parameters
    ----------
    values : array-like of float
        The transformed score of every scored variant (each once).
    link : {"exp", "linear"}
    source, transform : str
        Named in errors (the score table, the transform used).

    Returns
    -------
    dict
        ``center``, ``scale`` (exp: mean and SD; linear: 0 and the mean) and ``n_scored``.

    Raises
    ------
    InputError
        Unknown link, fewer than two scores or a constant score, or a negative score under the linear link.
    """
    if link not in LINKS:
        raise InputError("config", f"finemap.priors.link one of {LINKS}", column="finemap.priors.link", value=link)
    v = np.asarray(values, float)
    if len(v) < 2 or not np.std(v) > 0:
        raise InputError(source, f"varying scores (found {len(v)} scored values, constant or fewer than two)")
    if link == "linear":
        if (v < 0).any():
            raise InputError(source, f"non-negative scores for the linear link (transform '{transform}' gives "
                             "negative ones: use deleterious or abs)")
        return {"center": 0.0, "scale": float(v.mean()), "n_scored": len(v)}
    return {"center": float(v.mean()), "scale": float(v.std()), "n_scored": len(v)}


def standardise(a: pd.Series, variant_ids, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """Standardised score of each variant (neutral where unscored) and whether it had a score.

    Parameters
    ----------
    a : pandas.Series
        Transformed scores by variant_id (:func:`locusflow.io.scores.read_scores`, both allele orders).
    variant_ids : array-like of str
        The variants wanted.
    spec : dict
        ``link``, ``center``, ``scale`` (:func:`calibration`).

    Returns
    -------
    s : ndarray of float
    scored : ndarray of bool
    """
    v = a.reindex(pd.Index(np.asarray(variant_ids, dtype=str))).to_numpy(dtype=float)
    scored = np.isfinite(v)
    s = (np.where(scored, v, 0.0) - spec["center"]) / spec["scale"]
    return np.where(scored, s, NEUTRAL[spec.get("link", "exp")]), scored


def prepare_priors(opts: dict, scores, sumstats: pd.DataFrame, units) -> dict:
    """The kernel's prior spec from the ``finemap.priors`` section: calibration and the link's slope.

    Parameters
    ----------
    opts : dict
        ``column`` [llr], ``transform`` [deleterious], ``link`` [exp], ``beta``, ``estimate`` [true
        unless ``beta`` is given].
    scores : str or Path
        The score table.
    sumstats : pandas.DataFrame
        variant_id, chrom, pos, z of the GWAS (for the estimate).
    units : pandas.DataFrame or list of dict
        The blocks fine-mapped (chrom, start, stop).

    Returns
    -------
    dict
        ``scores``, ``column``, ``transform``, ``link``, ``center``, ``scale``, ``beta`` (for
        :func:`block_prior_weights`), ``n_scored``, ``estimated`` and, when estimated, ``w``, ``loglik``,
        ``loglik_uniform``, ``n_blocks``.

    References
    ----------
    Weissbrod O et al. (2020) Nat Genet 52:1355; Wakefield J (2009) Genet Epidemiol 33:79.
    """
    spec = {"scores": str(scores), "column": opts.get("column") or "llr",
            "transform": opts.get("transform") or "deleterious", "link": opts.get("link") or "exp"}
    once = read_scores(scores, spec["column"], spec["transform"], both_orders=False)
    spec |= calibration(once.to_numpy(), spec["link"], source=str(scores), transform=spec["transform"])
    beta, estimate = opts.get("beta"), opts.get("estimate")
    spec["estimated"] = bool(beta is None if estimate is None else estimate)
    if not spec["estimated"]:
        spec["beta"] = float(1.0 if beta is None else beta)
        return spec
    a = read_scores(scores, spec["column"], spec["transform"])
    ss = sumstats[np.isfinite(sumstats["z"].to_numpy())]
    chrom, pos = ss["chrom"].astype(str).to_numpy(), ss["pos"].to_numpy()
    blocks = []
    for u in (units.to_dict("records") if isinstance(units, pd.DataFrame) else units):   # a loop over blocks
        sel = (chrom == str(u["chrom"])) & (pos >= int(u["start"])) & (pos < int(u["stop"]))
        blocks.append((ss["z"].to_numpy()[sel], standardise(a, ss["variant_id"].to_numpy()[sel], spec)[0]))
    est = estimate_link(blocks, spec["link"])
    return spec | est


def block_prior_weights(variant_ids, spec: dict, unit: dict | None = None) -> tuple[np.ndarray, int]:
    """Prior weights ``g(beta, s)`` of a block's variants (normalised later over the variants kept).

    Parameters
    ----------
    variant_ids : array-like of str
        The block's variants (chrom:pos:ref:alt; either allele order matches a score).
    spec : dict
        From :func:`prepare_priors` (``scores``, ``column``, ``transform``, ``link``, ``center``,
        ``scale``, ``beta``).
    unit : dict, optional
        The block (``chrom``, ``start``, ``stop``): only its slice of the score table is read.

    Returns
    -------
    weights : ndarray of float, positive
    n_scored : int
        Variants that had a score.
    """
    kw = {} if unit is None else {"chrom": unit["chrom"], "start": unit["start"], "stop": unit["stop"]}
    a = read_scores(spec["scores"], spec["column"], spec["transform"], **kw)
    s, scored = standardise(a, variant_ids, spec)
    lg = _log_link(np.atleast_1d(float(spec["beta"])), s, spec["link"])[0]
    return np.exp(lg - (lg.max() if len(lg) else 0.0)), int(scored.sum())
