"""cis-eQTL mapping: every SNP-gene pair within a window of the TSS, and a gene-level permutation p-value.

Nominal pass (tensorQTL ``map_nominal``; FastQTL): genotypes G [n, m] (alt dosage, missing at the SNP
mean) and expression Y [n, g] are centred and residualised on the covariates C (Q = QR basis of the
centred C: R_M = M_c - Q Q' M_c); with both residuals scaled to unit norm, all correlations of a
chromosome are one product r = G~' Y~ [m, g], kept for pairs with |pos - tss| <= window. With
d = n - 2 - k (k covariates):

    t = r sqrt(d / (1 - r^2)),   p = 2 T_d(-|t|),   beta = r sd(R_y) / sd(R_g),   se = beta / t

which is the OLS fit of y ~ 1 + g + C (Frisch-Waugh-Lovell): beta and se are that regression's
coefficient of g and its standard error, exactly. FDR: Benjamini-Hochberg q-values over all pairs
tested (``fdr``).

Permutation pass (tensorQTL ``map_cis``; Ongen et al. 2016): the gene's expression is permuted
``n_perm`` times (the same permutations for every gene, as tensorQTL), each permutation residualised
and correlated with the gene's cis SNPs (one product per gene), and the largest r^2 over SNPs kept:
``pval_perm = (#{r2_perm >= r2_top} + 1) / (n_perm + 1)``. Beta approximation: the effective degrees of
freedom d* are found (Newton on log d*) such that the method-of-moments shape1 of the permutation
minimum p-values (computed with d*) is 1; Beta(a, b) is then fitted to those p-values by maximum
likelihood (Nelder-Mead from the moment estimates), and ``pval_beta = I_{p*}(a, b)`` with p* the top
SNP's nominal p-value at d* (tensorQTL ``core.calculate_beta_approx_pval``).

References
----------
Ongen H, Buil A, Brown AA, Dermitzakis ET, Delaneau O (2016) Fast and efficient QTL mapper for thousands
of molecular phenotypes. Bioinformatics 32:1479 (FastQTL, beta approximation).
Taylor-Weiner A et al. (2019) Genome Biol 20:228 (tensorQTL; broadinstitute/tensorqtl ``cis.py``,
``core.py``).
Benjamini Y, Hochberg Y (1995) J R Stat Soc B 57:289.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import betaln

CHUNK = 4096       # SNPs per product in the nominal pass (memory: CHUNK x genes doubles)


def residualiser(covariates: np.ndarray | None, n: int) -> np.ndarray:
    """Orthonormal basis Q [n, k] of the centred covariates (empty when none).

    Parameters
    ----------
    covariates : numpy.ndarray or None
        [n, k] covariates (an intercept is implied; do not include one).
    n : int
        Samples.

    Returns
    -------
    numpy.ndarray
        Q with Q'Q = I; columns that are linear combinations of others are dropped.
    """
    if covariates is None or np.asarray(covariates).size == 0:
        return np.zeros((n, 0))
    c = np.asarray(covariates, float)
    c = c - c.mean(axis=0)
    q, r = np.linalg.qr(c)
    keep = np.abs(np.diag(r)) > 1e-10 * max(1.0, np.abs(np.diag(r)).max())
    return q[:, keep]


def residualise(m: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Columns of ``m`` centred and projected off the covariate basis ``q`` (:func:`residualiser`).

    Parameters
    ----------
    m : numpy.ndarray
        [n, p] values (genotypes, expression, predicted expression).
    q : numpy.ndarray
        [n, k] orthonormal basis of the centred covariates (k may be 0).

    Returns
    -------
    numpy.ndarray
        [n, p] residuals of the regression of each column on an intercept and the covariates.
    """
    mc = m - m.mean(axis=0)
    return mc - q @ (q.T @ mc) if q.shape[1] else mc


def impute_mean(dosage: np.ndarray) -> np.ndarray:
    """Dosages [n, m] with each missing (NaN) call at its SNP's mean (tensorQTL ``impute_mean``).

    Parameters
    ----------
    dosage : numpy.ndarray
        [n, m]; NaN = missing.

    Returns
    -------
    numpy.ndarray
        float64 copy; an all-missing SNP becomes 0.
    """
    g = np.array(dosage, dtype=np.float64)
    miss = np.isnan(g)
    if miss.any():
        cnt = (~miss).sum(axis=0)
        mean = np.where(cnt > 0, np.where(miss, 0.0, g).sum(axis=0) / np.maximum(cnt, 1), 0.0)
        g[miss] = np.broadcast_to(mean, g.shape)[miss]
    return g


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (R ``p.adjust(p, 'BH')``).

    Parameters
    ----------
    p : numpy.ndarray
        p-values (NaN kept as NaN, not counted).

    Returns
    -------
    numpy.ndarray
        q_i = min_{j: p_j >= p_i} m p_j / rank_j, capped at 1.
    """
    p = np.asarray(p, float)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not len(ok):
        return q
    order = ok[np.argsort(p[ok])]
    ranked = p[order] * len(ok) / np.arange(1, len(ok) + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def _cis_pairs(pos: np.ndarray, tss: np.ndarray, window: int):
    """(snp index, gene index) of every pair with |pos - tss| <= window; SNPs sorted by position."""
    order = np.argsort(pos, kind="stable")
    sp = pos[order]
    lo = np.searchsorted(sp, tss - window, side="left")
    hi = np.searchsorted(sp, tss + window, side="right")
    cnt = hi - lo
    gene = np.repeat(np.arange(len(tss)), cnt)
    within = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return order[np.repeat(lo, cnt) + within], gene


def cis_nominal(dosage: np.ndarray, pos: np.ndarray, expression: np.ndarray, tss: np.ndarray, *,
                window: int = 1_000_000, covariates: np.ndarray | None = None) -> pd.DataFrame:
    """Nominal association of every cis SNP-gene pair of one chromosome (module docstring).

    Parameters
    ----------
    dosage : numpy.ndarray
        [n, m] alt-allele dosages of the chromosome's SNPs (NaN = missing, mean-imputed).
    pos : numpy.ndarray
        [m] 1-based positions.
    expression : numpy.ndarray
        [n, g] expression of the chromosome's genes (samples in the order of ``dosage``).
    tss : numpy.ndarray
        [g] TSS positions.
    window : int
        Largest |pos - tss| of a cis pair (bp).
    covariates : numpy.ndarray, optional
        [n, k] covariates (PCs, factors coded as indicators).

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``snp`` and ``gene`` (column indices), ``distance`` (pos - tss), ``r``,
        ``beta``, ``se``, ``t``, ``pval``, ``qval`` (BH over the pairs), ``dof``.

    References
    ----------
    Taylor-Weiner A et al. (2019) Genome Biol 20:228 (tensorQTL ``cis.map_nominal``).
    """
    g = impute_mean(dosage)
    y = np.asarray(expression, float)
    n = len(y)
    q = residualiser(covariates, n)
    dof = n - 2 - q.shape[1]
    ry = residualise(y, q)
    ny = np.linalg.norm(ry, axis=0)
    yt = ry / np.where(ny > 0, ny, 1.0)
    snp, gene = _cis_pairs(np.asarray(pos), np.asarray(tss), int(window))
    r = np.empty(len(snp))
    ratio = np.empty(len(snp))
    for s in range(0, g.shape[1], CHUNK):          # loop over SNP chunks: one GEMM each
        e = min(g.shape[1], s + CHUNK)
        sel = np.flatnonzero((snp >= s) & (snp < e))
        if not len(sel):
            continue
        rg = residualise(g[:, s:e], q)
        ng = np.linalg.norm(rg, axis=0)
        corr = (rg / np.where(ng > 0, ng, 1.0)).T @ yt             # [chunk, genes]
        r[sel] = corr[snp[sel] - s, gene[sel]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio[sel] = ny[gene[sel]] / ng[snp[sel] - s]
    mono = ~np.isfinite(ratio)
    r[mono] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt(dof / (1 - r * r))
        beta = r * ratio
        se = np.abs(beta / t)
    p = 2 * stats.t.sf(np.abs(t), dof)
    return pd.DataFrame({"snp": snp, "gene": gene, "distance": np.asarray(pos)[snp] - np.asarray(tss)[gene],
                         "r": r, "beta": beta, "se": se, "t": t, "pval": p, "qval": bh_qvalues(p),
                         "dof": np.full(len(snp), dof)})


def _pval_from_r2(r2, dof):
    t2 = dof * r2 / (1 - r2)
    return 2 * stats.t.sf(np.sqrt(t2), dof)


def _shape1(r2, dof):
    p = _pval_from_r2(r2, dof)
    m, v = p.mean(), p.var()
    return m * (m * (1 - m) / v - 1)


def fit_beta(r2_perm: np.ndarray, dof_init: float, tol: float = 1e-4) -> tuple[float, float, float]:
    """Beta(a, b) of the permutation minimum p-values and the effective degrees of freedom.

    Parameters
    ----------
    r2_perm : numpy.ndarray
        Largest r^2 over the gene's cis SNPs, per permutation.
    dof_init : float
        Nominal degrees of freedom n - 2 - k.
    tol : float
        Tolerance of the root and of the likelihood maximisation (tensorQTL: 1e-4).

    Returns
    -------
    tuple of float
        (a, b, d*).

    References
    ----------
    broadinstitute/tensorqtl ``core.fit_beta_parameters``; Ongen et al. (2016) Bioinformatics 32:1479.
    """
    r2_perm = np.asarray(r2_perm, float)
    try:
        log_dof = optimize.newton(lambda x: np.log(_shape1(r2_perm, np.exp(x))), np.log(dof_init), tol=tol,
                                  maxiter=50)
        dof = float(np.exp(log_dof))
    except (RuntimeError, FloatingPointError, ValueError):
        res = optimize.minimize(lambda x: abs(_shape1(r2_perm, x[0]) - 1), [dof_init], method="Nelder-Mead", tol=tol)
        dof = float(res.x[0])
    p = _pval_from_r2(r2_perm, dof)
    m, v = p.mean(), p.var()
    a0 = m * (m * (1 - m) / v - 1)
    slog, slog1 = np.log(p).sum(), np.log1p(-p).sum()

    def nll(s):
        return (1 - s[0]) * slog + (1 - s[1]) * slog1 + len(p) * betaln(s[0], s[1])
    res = optimize.minimize(nll, [a0, a0 * (1 / m - 1)], method="Nelder-Mead", tol=tol)
    return float(res.x[0]), float(res.x[1]), dof


def cis_permutations(dosage: np.ndarray, pos: np.ndarray, expression: np.ndarray, tss: np.ndarray, *,
                     window: int = 1_000_000, covariates: np.ndarray | None = None, n_perm: int = 1000,
                     seed: int = 0, beta_approx: bool = True) -> pd.DataFrame:
    """Gene-level cis-eQTL p-values: top SNP, permutation and beta-approximated p (module docstring).

    Parameters
    ----------
    dosage, pos, expression, tss, window, covariates
        As :func:`cis_nominal`.
    n_perm : int
        Permutations (tensorQTL default 10,000).
    seed : int
        Seed of the permutations (shared by all genes).
    beta_approx : bool
        Fit the beta approximation (else ``pval_beta`` is NaN).

    Returns
    -------
    pandas.DataFrame
        One row per gene with a cis SNP: ``gene`` (column index), ``num_var``, ``snp`` (top SNP's column),
        ``r``, ``beta``, ``se``, ``pval_nominal``, ``pval_perm``, ``beta_shape1``, ``beta_shape2``,
        ``true_df``, ``pval_true_df``, ``pval_beta``, ``qval`` (BH over genes of ``pval_beta``, else
        of ``pval_perm``).

    References
    ----------
    broadinstitute/tensorqtl ``cis.map_cis``, ``core.calculate_beta_approx_pval``.
    """
    g = impute_mean(dosage)
    y = np.asarray(expression, float)
    n = len(y)
    q = residualiser(covariates, n)
    dof = n - 2 - q.shape[1]
    perm = np.stack([np.random.default_rng(seed + i).permutation(n) for i in range(n_perm)], axis=1)  # [n, P]
    snp, gene = _cis_pairs(np.asarray(pos), np.asarray(tss), int(window))
    bounds = np.searchsorted(gene, np.arange(y.shape[1] + 1))
    rows = []
    for j in range(y.shape[1]):                      # loop over genes: two GEMMs each
        cis = snp[bounds[j]:bounds[j + 1]]
        if not len(cis):
            continue
        rg = residualise(g[:, cis], q)
        ng = np.linalg.norm(rg, axis=0)
        ok = ng > 1e-12 * np.sqrt(n)
        if not ok.any():
            continue
        cis, gt = cis[ok], rg[:, ok] / ng[ok]
        ry = residualise(y[:, j:j + 1], q)[:, 0]
        r = gt.T @ ry / np.linalg.norm(ry)
        top = int(np.argmax(r * r))
        yp = residualise(y[perm, j], q)                # permutations residualised, as tensorQTL
        r2_perm = ((gt.T @ (yp / np.linalg.norm(yp, axis=0))) ** 2).max(axis=0)
        r2 = r[top] ** 2
        beta = r[top] * np.linalg.norm(ry) / ng[ok][top]
        row = {"gene": j, "num_var": len(cis), "snp": int(cis[top]), "r": r[top], "beta": beta,
               "se": abs(beta) / np.sqrt(dof * r2 / (1 - r2)), "pval_nominal": _pval_from_r2(r2, dof),
               "pval_perm": (np.sum(r2_perm >= r2) + 1) / (n_perm + 1), "beta_shape1": np.nan,
               "beta_shape2": np.nan, "true_df": np.nan, "pval_true_df": np.nan, "pval_beta": np.nan}
        if beta_approx:
            a, b, d = fit_beta(r2_perm, dof)
            pt = _pval_from_r2(r2, d)
            row.update(beta_shape1=a, beta_shape2=b, true_df=d, pval_true_df=pt, pval_beta=stats.beta.cdf(pt, a, b))
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out["qval"] = bh_qvalues(out["pval_beta" if beta_approx else "pval_perm"].to_numpy())
    return out
