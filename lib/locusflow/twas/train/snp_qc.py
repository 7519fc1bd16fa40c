"""Quality control of the cis SNPs a model may use: missingness, MAF, Hardy-Weinberg, alleles.

A SNP is kept when, over the training samples, its missing fraction is below ``max_missing`` (0.05),
its minor allele frequency (from the non-missing dosages) is above ``min_maf`` (0.01), its
Hardy-Weinberg exact-test p-value is above ``min_hwe_p`` (1e-6; Wigginton, Cutler & Abecasis 2005,
computed on the hard-call genotype counts, as plink 1.9 ``--hardy``), it is not strand-ambiguous (A/T,
C/G; PredictDB drops them) and it is not part of a multi-allelic site (two or more records at one
position, as the genotype store keeps a split multi-allelic record). Each dropped SNP is counted under
the first reason it fails, in that order: ``multiallelic``, ``ambiguous``, ``missing``, ``maf``, ``hwe``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

QC_REASONS = ("multiallelic", "ambiguous", "missing", "maf", "hwe")
AMBIGUOUS = ("AT", "TA", "CG", "GC")          # ref + alt of a strand-ambiguous SNP


@njit(cache=True, nogil=True)
def _hwe_one(het, hom1, hom2):
    homr, homc = min(hom1, hom2), max(hom1, hom2)
    rare = 2 * homr + het
    n = het + homr + homc
    if n == 0:
        return 1.0
    probs = np.zeros(rare + 1)
    mid = rare * (2 * n - rare) // (2 * n)
    if mid % 2 != rare % 2:
        mid += 1
    probs[mid] = 1.0
    total = 1.0
    chr_, chc = (rare - mid) // 2, n - mid - (rare - mid) // 2
    h = mid
    while h > 1:
        probs[h - 2] = probs[h] * h * (h - 1.0) / (4.0 * (chr_ + 1.0) * (chc + 1.0))
        total += probs[h - 2]
        chr_ += 1
        chc += 1
        h -= 2
    chr_, chc = (rare - mid) // 2, n - mid - (rare - mid) // 2
    h = mid
    while h <= rare - 2:
        probs[h + 2] = probs[h] * 4.0 * chr_ * chc / ((h + 2.0) * (h + 1.0))
        total += probs[h + 2]
        chr_ -= 1
        chc -= 1
        h += 2
    target = probs[het] * (1.0 + 1e-8)        # plink 1.9: ties within a relative 1e-8 count as equal
    p = 0.0
    for i in range(rare + 1):
        if probs[i] <= target:
            p += probs[i]
    return min(1.0, p / total)


@njit(cache=True, nogil=True)
def hwe_exact(het, hom1, hom2):
    """Hardy-Weinberg exact-test p-values (Wigginton, Cutler & Abecasis 2005) of genotype counts.

    Parameters
    ----------
    het, hom1, hom2 : numpy.ndarray
        int64 counts of heterozygotes and of the two homozygotes, per SNP.

    Returns
    -------
    numpy.ndarray
        Two-sided p: the summed probability (given the allele counts) of every heterozygote count no
        more likely than the one observed.

    References
    ----------
    Wigginton JE, Cutler DJ, Abecasis GR (2005) A note on exact tests of Hardy-Weinberg equilibrium.
    Am J Hum Genet 76:887; plink 1.9 ``--hardy``.
    """
    out = np.empty(het.shape[0])
    for i in range(het.shape[0]):
        out[i] = _hwe_one(het[i], hom1[i], hom2[i])
    return out


def snp_qc(dosage: np.ndarray, variants: pd.DataFrame, *, min_maf: float = 0.01, min_hwe_p: float = 1e-6,
           max_missing: float = 0.05, drop_ambiguous: bool = True, drop_multiallelic: bool = True) -> np.ndarray:
    """Which SNPs a model may use, and why the others were dropped.

    Parameters
    ----------
    dosage : numpy.ndarray
        [m, n] alt-allele dosages of the training samples (NaN missing; hard calls 0/1/2 for HWE).
    variants : pandas.DataFrame
        The m SNPs: ``chrom``, ``pos``, ``ref``, ``alt``.
    min_maf, min_hwe_p, max_missing : float
        Keep MAF > min_maf, HWE p > min_hwe_p, missing fraction < max_missing.
    drop_ambiguous, drop_multiallelic : bool
        Drop A/T and C/G SNPs; drop every record of a position with two or more records.

    Returns
    -------
    numpy.ndarray
        [m] int8: -1 for a SNP kept, else the index in :data:`QC_REASONS` of the first reason it fails
        (:func:`qc_counts` counts them).

    References
    ----------
    Gamazon et al. 2015, Nat Genet 47:1091 (PredictDB: MAF and ambiguous filters); Wigginton et al. 2005.
    """
    d = np.asarray(dosage, dtype=float)
    m, n = d.shape
    miss = np.isnan(d)
    n_obs = n - miss.sum(axis=1)
    af = np.where(n_obs > 0, np.nansum(d, axis=1) / np.maximum(2 * n_obs, 1), 0.0)
    maf = np.minimum(af, 1 - af)
    calls = np.rint(np.where(miss, -1, d))
    het = (calls == 1).sum(axis=1).astype(np.int64)
    hom_alt = (calls == 2).sum(axis=1).astype(np.int64)
    hom_ref = (calls == 0).sum(axis=1).astype(np.int64)
    hwe = hwe_exact(het, hom_ref, hom_alt)
    ref = variants["ref"].astype(str).str.upper().to_numpy().astype(str)
    alt = variants["alt"].astype(str).str.upper().to_numpy().astype(str)
    site = pd.Series(variants["chrom"].astype(str).to_numpy() + ":" + variants["pos"].astype(str).to_numpy())
    fails = (site.duplicated(keep=False).to_numpy() & drop_multiallelic,
             np.isin(np.char.add(ref, alt), AMBIGUOUS) & drop_ambiguous,
             miss.sum(axis=1) >= max_missing * n,
             ~(maf > min_maf),
             ~(hwe > min_hwe_p))
    reason = np.full(m, -1, np.int8)
    for i in range(len(QC_REASONS) - 1, -1, -1):      # loop over the 5 reasons: the first failed wins
        reason[fails[i]] = i
    return reason


def qc_counts(reason: np.ndarray) -> dict:
    """SNPs dropped per reason.

    Parameters
    ----------
    reason : numpy.ndarray
        :func:`snp_qc` codes.

    Returns
    -------
    dict
        ``{reason: count}`` for every reason of :data:`QC_REASONS`.
    """
    c = np.bincount(np.asarray(reason)[np.asarray(reason) >= 0], minlength=len(QC_REASONS))
    return {r: int(c[i]) for i, r in enumerate(QC_REASONS)}
