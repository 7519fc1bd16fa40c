"""Does GWAS signal concentrate in high-scoring variants? Binned enrichment with block-jackknife intervals.

Variants are split into ``n_bins`` equal-count bins of an annotation score (DNA-LM ``-llr``, GPNxLD, or a
baseline: LD score, GC content, CpG). Per bin and per GWAS statistic (``chi2`` = z^2, ``gw`` = 1 when
p < 5e-8, fine-mapped ``pip``) the mean, and the enrichment = bin mean / mean over all variants. The
top-minus-bottom enrichment difference summarises the direction. Standard errors come from a delete-one
block jackknife over contiguous blocks of variants (blocks ordered by position, the LD-score regression
convention: variance = (B - 1) / B * sum_b (theta_(b) - mean theta_(.))^2), so LD between neighbouring
variants is kept inside a block; intervals are estimate +- 1.96 SE. All per-bin sums are computed once
per (block, bin) and each leave-one-block-out estimate by subtraction (no loop over variants).

References
----------
Bulik-Sullivan BK et al. (2015) LD Score regression distinguishes confounding from polygenicity in
genome-wide association studies. Nat Genet 47:291 (block jackknife over contiguous SNP blocks).
Finucane HK et al. (2015) Partitioning heritability by functional annotation using genome-wide association
summary statistics. Nat Genet 47:1228 (enrichment of signal in annotation bins).
Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
effects. PNAS 120:e2311219120 (GPN scores; enrichment of GWAS fine-mapped variants).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


def jackknife_blocks(pos, n_blocks: int = 20) -> np.ndarray:
    """Block label (0..B-1) of each variant: contiguous, equal-count blocks in position order.

    Parameters
    ----------
    pos : array-like
        Positions (or any sort key; one chromosome, or chromosome-major order).
    n_blocks : int
        Number of blocks B.

    Returns
    -------
    ndarray of int64
        Block of each variant, in the input order.
    """
    pos = np.asarray(pos)
    rank = np.empty(len(pos), np.int64)
    rank[np.argsort(pos, kind="stable")] = np.arange(len(pos))
    return (rank * n_blocks // max(len(pos), 1)).astype(np.int64)


def score_bins(score, n_bins: int = 5) -> np.ndarray:
    """Equal-count bins (0 = lowest scores) of a score; ties split in input order, NaN -> -1.

    Parameters
    ----------
    score : array-like of float
    n_bins : int

    Returns
    -------
    ndarray of int64
    """
    s = np.asarray(score, dtype=np.float64)
    ok = np.isfinite(s)
    out = np.full(len(s), -1, np.int64)
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(s[ok], kind="stable")]
    out[order] = np.arange(len(order)) * n_bins // max(len(order), 1)
    return out


def _jk(full: np.ndarray, loo: np.ndarray) -> np.ndarray:
    """Block-jackknife SE from the full estimate's leave-one-out values (blocks on axis 0)."""
    b = loo.shape[0]
    return np.sqrt((b - 1) / b * np.nansum((loo - np.nanmean(loo, axis=0)) ** 2, axis=0))


def binned_enrichment(values: dict, score, blocks, *, n_bins: int = 5, name: str = "score",
                      bins=None) -> pd.DataFrame:
    """Mean of each GWAS statistic per score bin, enrichment over all variants, block-jackknife SEs.

    Parameters
    ----------
    values : dict of str -> array-like
        Statistics per variant (e.g. ``chi2``, ``gw`` (0/1), ``pip``); NaN rows are left out of that statistic.
    score : array-like of float
        The annotation binned (NaN: the variant is in no bin, but counts in the overall mean).
    blocks : array-like of int
        Jackknife block of each variant (:func:`jackknife_blocks`).
    n_bins : int
        Equal-count bins.
    name : str
        Score name written to the ``score`` column.
    bins : array-like of int, optional
        Bins given (0..n_bins-1, -1 none) instead of equal-count ones (a binary annotation such as CpG).

    Returns
    -------
    DataFrame
        One row per (stat, bin) and one ``top_minus_bottom`` row per stat: score, stat, bin, n, score_lo,
        score_hi, mean, mean_se, enrichment, enrichment_se, ci_lo, ci_hi (enrichment +- 1.96 SE), z
        (enrichment - 1 over its SE; for top_minus_bottom the difference over its SE).

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291. Finucane HK et al. (2015) Nat Genet 47:1228.
    """
    s = np.asarray(score, dtype=np.float64)
    bins = score_bins(s, n_bins) if bins is None else np.asarray(bins, dtype=np.int64)
    blk = np.asarray(blocks, dtype=np.int64)
    nb = int(blk.max()) + 1
    rows = []
    for stat, v in values.items():
        v = np.asarray(v, dtype=np.float64)
        ok = np.isfinite(v)
        cell = blk[ok] * (n_bins + 1) + (bins[ok] + 1)      # column 0: no bin
        S = np.bincount(cell, weights=v[ok], minlength=nb * (n_bins + 1)).reshape(nb, n_bins + 1)
        N = np.bincount(cell, minlength=nb * (n_bins + 1)).reshape(nb, n_bins + 1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = S[:, 1:].sum(0) / N[:, 1:].sum(0)
            overall = S.sum() / N.sum()
            loo_mean = (S[:, 1:].sum(0) - S[:, 1:]) / (N[:, 1:].sum(0) - N[:, 1:])
            loo_all = (S.sum() - S.sum(1)) / (N.sum() - N.sum(1))
            enr, loo_enr = mean / overall, loo_mean / loo_all[:, None]
            diff, loo_diff = enr[-1] - enr[0], loo_enr[:, -1] - loo_enr[:, 0]
        se_m, se_e, se_d = _jk(mean, loo_mean), _jk(enr, loo_enr), float(_jk(diff, loo_diff))
        for k in range(n_bins):
            inb = bins == k
            rows.append({"score": name, "stat": stat, "bin": str(k + 1), "n": int(N[:, k + 1].sum()),
                         "score_lo": float(s[inb].min()) if inb.any() else np.nan,
                         "score_hi": float(s[inb].max()) if inb.any() else np.nan,
                         "mean": mean[k], "mean_se": se_m[k], "enrichment": enr[k], "enrichment_se": se_e[k],
                         "ci_lo": enr[k] - Z95 * se_e[k], "ci_hi": enr[k] + Z95 * se_e[k],
                         "z": (enr[k] - 1) / se_e[k] if se_e[k] > 0 else np.nan})
        rows.append({"score": name, "stat": stat, "bin": "top_minus_bottom", "n": int(N[:, 1:].sum()),
                     "score_lo": np.nan, "score_hi": np.nan, "mean": mean[-1] - mean[0],
                     "mean_se": float(_jk(mean[-1] - mean[0], loo_mean[:, -1] - loo_mean[:, 0])),
                     "enrichment": diff, "enrichment_se": se_d, "ci_lo": diff - Z95 * se_d,
                     "ci_hi": diff + Z95 * se_d, "z": diff / se_d if se_d > 0 else np.nan})
    return pd.DataFrame(rows)


def enrichment_table(values: dict, scores: dict, pos, *, n_bins: int = 5, n_blocks: int = 20) -> pd.DataFrame:
    """:func:`binned_enrichment` for several scores (the DNA-LM score, GPNxLD, baselines) on the same blocks.

    Parameters
    ----------
    values : dict of str -> array-like
        GWAS statistics per variant (chi2, gw, pip).
    scores : dict of str -> array-like
        Annotation scores per variant.
    pos : array-like
        Positions (jackknife blocks are contiguous in this order).
    n_bins, n_blocks : int
        Score bins; jackknife blocks.

    Returns
    -------
    DataFrame
        The rows of :func:`binned_enrichment` for every score, stacked.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291.
    """
    blocks = jackknife_blocks(pos, n_blocks)
    return pd.concat([binned_enrichment(values, s, blocks, n_bins=n_bins, name=k) for k, s in scores.items()],
                     ignore_index=True)


def joint_regression(y, covariates: dict, blocks) -> pd.DataFrame:
    """OLS of a GWAS statistic on standardised scores jointly (e.g. chi2 ~ LD score + GPNxLD), jackknife SEs.

    Does a score add to LD alone: its coefficient with the LD score in the model, per SD of the score.

    Parameters
    ----------
    y : array-like of float
        Statistic per variant (chi2).
    covariates : dict of str -> array-like
        Scores (standardised here); an intercept is added.
    blocks : array-like of int
        Jackknife blocks.

    Returns
    -------
    DataFrame
        term, coef, se, z (coef / se; block jackknife).

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291.
    """
    X = np.column_stack([np.ones(len(y))] + [(np.asarray(c, float) - np.nanmean(c)) / np.nanstd(c)
                                             for c in covariates.values()])
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(X).all(1)
    X, y, blk = X[ok], y[ok], np.asarray(blocks, dtype=np.int64)[ok]
    nb, p = int(blk.max()) + 1, X.shape[1]
    xtx = np.zeros((nb, p, p))
    xty = np.zeros((nb, p))
    np.add.at(xtx, blk, X[:, :, None] * X[:, None, :])
    np.add.at(xty, blk, X * y[:, None])
    full = np.linalg.solve(xtx.sum(0), xty.sum(0))
    loo = np.linalg.solve(xtx.sum(0) - xtx, (xty.sum(0) - xty)[..., None])[..., 0]
    se = _jk(full, loo)
    return pd.DataFrame({"term": ["intercept", *covariates], "coef": full, "se": se, "z": full / se})


def gc_content(seq: np.ndarray, pos, flank: int = 50) -> np.ndarray:
    """GC fraction of the bases ``pos - flank .. pos + flank`` (N excluded), a base-composition baseline.

    Parameters
    ----------
    seq : ndarray of uint8
        Upper-case chromosome sequence (:meth:`locusflow.io.fasta.Genome.sequence`).
    pos : array-like of int
        1-based positions.
    flank : int
        Bases each side.

    Returns
    -------
    ndarray of float
    """
    gc = np.concatenate([[0], np.cumsum((seq == ord("G")) | (seq == ord("C")))])
    acgt = np.concatenate([[0], np.cumsum(np.isin(seq, np.frombuffer(b"ACGT", np.uint8)))])
    p0 = np.asarray(pos, dtype=np.int64) - 1
    lo, hi = np.clip(p0 - flank, 0, len(seq)), np.clip(p0 + flank + 1, 0, len(seq))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (gc[hi] - gc[lo]) / (acgt[hi] - acgt[lo])


def cpg(seq: np.ndarray, pos) -> np.ndarray:
    """1.0 where the reference base at ``pos`` is part of a CpG dinucleotide (C followed by G, or G after C).

    Parameters
    ----------
    seq : ndarray of uint8
        Upper-case chromosome sequence.
    pos : array-like of int
        1-based positions.

    Returns
    -------
    ndarray of float
    """
    p0 = np.asarray(pos, dtype=np.int64) - 1
    nxt, prv = seq[np.minimum(p0 + 1, len(seq) - 1)], seq[np.maximum(p0 - 1, 0)]
    b = seq[p0]
    return (((b == ord("C")) & (nxt == ord("G"))) | ((b == ord("G")) & (prv == ord("C")))).astype(np.float64)


def ld_scores(r: np.ndarray, n: int) -> np.ndarray:
    """LD scores l_j = sum_k r~^2_jk, r~^2 = r^2 - (1 - r^2) / (n - 2) (the LDSC bias correction).

    Parameters
    ----------
    r : ndarray (m, m)
        Correlation matrix of the variants (the window's reference panel).
    n : int
        Panel sample size.

    Returns
    -------
    ndarray of float

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291.
    """
    r2 = np.asarray(r, dtype=np.float64) ** 2
    return (r2 - (1 - r2) / (n - 2)).sum(1)
