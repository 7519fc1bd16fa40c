"""Compiled inner loop of the linear GWAS: int8 calls decoded and multiplied in one pass (numba).

For a chunk with few trait/covariate columns, reading the genotypes is the cost: decoding them to a
float64 matrix and handing it to BLAS writes and reads 8 bytes per genotype, and BLAS is slow on skinny
products. Here each variant's calls, read as one uint16 per (a, b) pair, are decoded through a
65,536-entry table into one row of dosages that stays in L1, then dotted with every model column
(SIMD: the loops are vectorised with reassociation allowed); missing calls count 0 and are flagged
(their variants are redone exactly on the samples observed, `linear._normal_equations`).

References
----------
plink2 ``--glm`` (Chang et al. 2015, GigaScience 4:7) also regresses from packed genotypes per variant.
"""
from __future__ import annotations

import numpy as np
from numba import njit

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}    # vectorised sums; NaN/inf semantics kept


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def call_moments(pairs, samples, table, missing, yt, maskt, gyc, sq, miss):  # pragma: no cover - compiled
    """Dot products of every variant's dosages with the model's columns, from packed call pairs.

    Parameters
    ----------
    pairs : (v, N) uint16 call pairs (allele a | allele b << 8) of every store sample
    samples : (n,) int64 store columns of the analysed samples (column i of yt and maskt)
    table : (65536,) float64 dosage of each pair, 0 for a missing call
    missing : (65536,) int32 1 where the pair has a missing allele
    yt : (c, n) float64 model columns (residual phenotypes, masked covariates), C order
    maskt : (p, n) float64 sample use per missingness pattern
    gyc : (v, c) float64 out: sum_i g_ri yt[:, i]
    sq : (v, p) float64 out: sum_i g_ri^2 maskt[:, i]
    miss : (v,) bool out: a call of the variant is missing

    Returns
    -------
    None (fills gyc, sq, miss)
    """
    v = pairs.shape[0]
    n = samples.shape[0]
    c = yt.shape[0]
    p = maskt.shape[0]
    g = np.empty(n)
    for r in range(v):
        row = pairs[r]
        nm = 0
        for i in range(n):
            u = row[samples[i]]
            g[i] = table[u]
            nm += missing[u]
        miss[r] = nm > 0
        for j in range(c):
            s = 0.0
            for i in range(n):
                s += g[i] * yt[j, i]
            gyc[r, j] = s
        for q in range(p):
            s = 0.0
            for i in range(n):
                s += g[i] * g[i] * maskt[q, i]
            sq[r, q] = s
