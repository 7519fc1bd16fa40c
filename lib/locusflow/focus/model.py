"""FOCUS gene-level fine-mapping of one LD block: the kernel (Mancuso et al. 2019 Nat Genet; MA-FOCUS,
Lu et al. 2022 AJHG). Reference implementation: PyPI ``pyfocus`` 0.802 (``pyfocus/finemap.py``).

For ``m`` gene models with aligned weights ``W`` (p SNPs x m), GWAS z ``z`` (p) and panel LD
``V = corr(G_ref) + ridge * I``:

- TWAS z (``assoc_test``):              z_twas_g = w_g' z / sqrt(w_g' V w_g)
- predicted-expression correlation:     Omega = D^-1/2 (W' V W) D^-1/2,  D = diag(W' V W)
- prior effect variance (``calculate_pips``):  s^2 = z_twas' Omega^+ z_twas  (least-squares solution,
  LAPACK gelsd as ``scipy.linalg.lstsq``); a causal set of k genes gives each s^2 / k
- Bayes factors: :mod:`locusflow.focus.bayes`; posterior over sets: :mod:`locusflow.focus.search`
- intercept (``get_resid``): regress the TWAS z on the mean LD-tagged pleiotropy a = D^-1/2 W' V 1 in the
  Omega^+ metric (generalised least squares), report the residual z and the intercept's z.

Why FOCUS's TWAS z is not the ``twas`` stage's z: the formula is FUSION's (``locusflow.twas.fusion``,
w'z / sqrt(w'Rw) on standardised weights), but FOCUS puts the ridge-adjusted V = R + 0.1 I into the
denominator (pyfocus ``--ridge-term``), imputes no missing z (a weight SNP without GWAS z or panel
genotypes is dropped) and computes R from the block's panel SNPs; so with ridge = 0 and no missing SNP
the two agree, and otherwise FOCUS's z is smaller in magnitude. S-PrediXcan z (covariance weights, no
ridge) differs the same way. The FOCUS z is kept here because the Bayes factors need exactly this V.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as lin

from .search import fine_map_genes


def twas_z(W: np.ndarray, z: np.ndarray, V: np.ndarray) -> np.ndarray:
    """TWAS z of every gene model of a block, FOCUS's ridge-adjusted form.

    Parameters
    ----------
    W : numpy.ndarray, shape (p, m)
        Weights aligned to the panel's alt alleles (standardised-genotype scale).
    z : numpy.ndarray, shape (p,)
        GWAS z of the same SNPs, oriented to alt.
    V : numpy.ndarray, shape (p, p)
        Panel correlation plus ridge * I.

    Returns
    -------
    numpy.ndarray, shape (m,)
        w'z / sqrt(w'Vw) per column.

    References
    ----------
    Gusev A et al. (2016) Nat Genet 48:245; pyfocus 0.802 ``assoc_test`` (no heterogeneity).
    """
    return (W.T @ z) / np.sqrt(np.einsum("im,im->m", W, V @ W))


def expression_correlation(W: np.ndarray, V: np.ndarray, intercept: bool = False):
    """Correlation of predicted expression, Omega = D^-1/2 W'VW D^-1/2.

    Parameters
    ----------
    W : numpy.ndarray, shape (p, m)
        Aligned weights.
    V : numpy.ndarray, shape (p, p)
        Panel correlation plus ridge * I.
    intercept : bool
        Also return D^-1/2 W'V (m x p), the LD-tagging of each model used by the intercept.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray or None)
        Omega (m x m) and D^-1/2 W'V or None.

    References
    ----------
    pyfocus 0.802 ``estimate_cor``.
    """
    wcov = W.T @ V @ W
    scale = 1.0 / np.sqrt(np.diag(wcov))
    wcor = wcov * scale[:, None] * scale[None, :]
    if intercept:
        return wcor, (W.T @ V) * scale[:, None]
    return wcor, None


def prior_chisq(z: np.ndarray, wcor: np.ndarray) -> float:
    """Prior effect variance s^2 = z' Omega^+ z (least-squares solution of Omega x = z, as pyfocus).

    Parameters
    ----------
    z : numpy.ndarray, shape (m,)
        TWAS z.
    wcor : numpy.ndarray, shape (m, m)
        Omega.

    Returns
    -------
    float

    References
    ----------
    pyfocus 0.802 ``calculate_pips``.
    """
    sol = lin.lstsq(wcor, z)[0]
    return float(z @ sol)


def intercept_residual(z: np.ndarray, swld: np.ndarray, wcor: np.ndarray):
    """TWAS z with the mean tagged pleiotropy regressed out (GLS in the Omega^+ metric).

    Parameters
    ----------
    z : numpy.ndarray, shape (m,)
        TWAS z.
    swld : numpy.ndarray, shape (m, p)
        D^-1/2 W'V from :func:`expression_correlation`.
    wcor : numpy.ndarray, shape (m, m)
        Omega.

    Returns
    -------
    (numpy.ndarray, float)
        Residual z and the z of the intercept.

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675 (Methods); pyfocus 0.802 ``get_resid`` (its ``--intercept``
    raises NameError in 0.802, so this is checked by its defining property, not against the peer).
    """
    a = swld.sum(axis=1)
    winv, rank = lin.pinvh(wcor, return_rank=True)
    denom = a @ winv @ a
    alpha = (a @ winv @ z) / denom
    resid = z - a * alpha
    s2 = (resid @ winv @ resid) / (rank - 1)
    return resid, float(alpha / np.sqrt(s2 / denom))


def credible_set(pips: np.ndarray, level: float = 0.9) -> np.ndarray:
    """Credible gene set: rows by decreasing PIP, normalised to sum 1, until the cumulative sum reaches
    ``level``.

    Parameters
    ----------
    pips : numpy.ndarray
        PIPs of the genes and of the null model (last).
    level : float
        Credible level (pyfocus ``--credible-level``, 0.9).

    Returns
    -------
    numpy.ndarray of int64
        1 for rows in the set, else 0.

    References
    ----------
    pyfocus 0.802 ``add_credible_set``.
    """
    order = np.argsort(-pips, kind="stable")
    csum = np.cumsum(pips[order] / pips.sum())
    n_in = int(np.searchsorted(csum, level, side="left")) + 1
    out = np.zeros(len(pips), dtype=np.int64)
    out[order[:min(n_in, len(pips))]] = 1
    return out


def focus_block(z, W, V, *, prior_prob: float, max_genes: int = 3, credible_level: float = 0.9,
                intercept: bool = False, search: str = "auto", sss_iter: int = 20000, seed: int = 1) -> dict:
    """FOCUS on one LD block: TWAS z, gene PIPs and credible sets, for one or more populations.

    Parameters
    ----------
    z : sequence of numpy.ndarray
        Per population, GWAS z (p_i) of the SNPs that carry a weight, oriented to the panel's alt allele.
    W : sequence of numpy.ndarray
        Per population, weights (p_i x m) aligned to alt; the m gene models in the same order everywhere.
    V : sequence of numpy.ndarray
        Per population, panel correlation of the p_i SNPs plus ridge * I (:func:`locusflow.focus.align.panel_ld`).
    prior_prob : float
        Prior probability that a gene is causal (pyfocus: 1 / GENCODE genes in the block).
    max_genes : int
        Largest causal set (pyfocus ``--max-genes``).
    credible_level : float
        Level of the credible gene set.
    intercept : bool
        Regress the TWAS z on the mean tagged pleiotropy first (pyfocus ``--intercept``).
    search : {'auto', 'exhaustive', 'sss'}
        Enumeration or stochastic search; 'auto' by the cost model of :func:`locusflow.focus.search.search_costs`.
    sss_iter, seed : int
        Stochastic search iterations and seed.

    Returns
    -------
    dict
        ``twas_z``, ``inter_z``, ``wcor`` (per population); ``pip`` (m genes), ``null`` (NULL.MODEL
        probability) and ``in_cred_set`` (m + 1 rows, null last) per output: the populations, then the
        joint multi-ancestry result when there are two or more; ``search``.

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675; Lu Z et al. (2022) AJHG 109:1388;
    pyfocus 0.802 ``focus finemap`` (``pyfocus.fine_map``).
    """
    tz, wcors, chisqs, inter = [], [], [], []
    for zi, Wi, Vi in zip(z, W, V):  # loop over populations
        t = twas_z(Wi, zi, Vi)
        wcor, swld = expression_correlation(Wi, Vi, intercept)
        chisqs.append(prior_chisq(t, wcor))
        if intercept:
            t, iz = intercept_residual(t, swld, wcor)
        else:
            iz = np.nan
        tz.append(t)
        wcors.append(wcor)
        inter.append(iz)
    pips, nulls, method = fine_map_genes(tz, wcors, chisqs, prior_prob, max_genes, search, sss_iter=sss_iter,
                                         seed=seed)
    cred = [credible_set(np.append(p, n), credible_level) for p, n in zip(pips, nulls)]
    return {"twas_z": tz, "inter_z": inter, "wcor": wcors, "pip": pips, "null": nulls, "in_cred_set": cred,
            "search": method}
