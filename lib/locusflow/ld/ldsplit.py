"""Data-driven LD blocks: the optimal split of Privé (2022), as bigsnpr ``snp_ldsplit`` computes it.

Privé F. Optimal linkage disequilibrium splitting. Bioinformatics 38(1):255-256 (2022); reference
implementation bigsnpr ``snp_ldsplit`` (R/split-LD.R, src/split-LD.cpp). Re-implemented here from the
algorithm, vectorised with numpy.

For m variants in position order and a split into K consecutive blocks, the cost is the sum of
squared correlations between variants in different blocks (each pair once):

    cost = sum_{p < q, block(p) != block(q)} r2(p, q)

with r2 set to 0 below ``thr_r2`` and to +inf above ``max_r2`` (a pair that strong must stay within a
block). Writing E(i, j) = sum_{p=i..j} sum_{q>j} r2(p, q) for the cost of cutting after a block
[i, j], the minimum cost of splitting variants i..m-1 into k blocks is the dynamic programme

    C_k(i) = min_{min_size <= s <= max_size} E(i, i+s-1) + C_{k-1}(i+s),   C_0(m) = 0,

ties broken by the smaller sum of squared block sizes ``cost2`` (then the larger first block, as
bigsnpr does). An optional ``max_span`` (bp) forbids blocks whose first and last variants are
further apart (bigsnpr's ``pos_scaled``). K = 1, 2, ... up to ``max_K`` are solved.

Choice of K, and where this departs from bigsnpr. bigsnpr reports the K whose cost is at most
``max_cost`` (default m / 200) and its example picks the reported split minimising
``cost2 * sqrt(5 + cost)``. Both are absolute in r2 units, calibrated on HapMap3 variants (about one
per 2 kb) with thousands of samples. On a dense panel (1000 Genomes, 3-5 variants per kb, 489
samples) any split that respects ``max_size`` cuts through LD: on the 22 1-Mb polypred windows the
cheapest split of each window costs 0-3,500, so no K met m / 200 on 21 of 22 windows and the old
fallback (no cost limit, bigsnpr's score) picked ~19 blocks per window with r2 = 1 across
boundaries. Here the cost is measured from the cheapest split any K achieves (the cost that the size
limits force): reported are the K with ``cost <= min_K cost + max_cost``, and the default choice
minimises ``cost2 * sqrt(5 + cost - min_K cost)``. When the cheapest split costs 0 (bigsnpr's usual
case) both rules are bigsnpr's. The search stops (as bigsnpr's does) at the first K whose cost
passes that limit while growing.

Two inputs keep sampling noise out of the cost (:func:`ldsplit_kernel`): ``thr_r2`` defaults to the
r2 that a pair of independent variants passes with probability 1 / band^2 (n r2 ~ chi2_1, so about
one noise pair per boundary; 0.054 at n = 489 and band = 2,000; at least 0.01, bigsnpr's value for
large samples), and the split is computed on variants with MAF >= ``split_maf`` (default 0.05: r2
between rare variants at a few hundred samples is mostly noise, e.g. two singletons of one person
have r2 = 1). Rarer variants then join the block their position falls in, so a block's variant
count can pass ``max_size``, which counts the variants of the split.

Memory. r2 is taken within a band of ``band`` variants (pairs further apart count 0, as bigsnpr's
sparse ``snp_cor`` matrix does), computed by chunked float32 GEMMs and held as [m, band] float32.
The cut costs E for every end j and size s = min_size..min(max_size, band) are built chunk by chunk
(cumulative sums along the band, no loop over variants: with T(p, k) = sum_{d>=k} r2(p, p+d),
E(j-s+1, j) = sum_{t=1..s} T(j-t+1, t)) and held as float32 (as bigsnpr's ``res_E``). Peak memory:
the m x n float32 standardised dosages, plus 4 m band (r2) + 4 m (max_size - min_size + 1) (E) +
4 m K (argmin table) bytes, plus O(band^2) float64 per chunk, never m x m: for m = 50,000 variants,
band = max_size = 2,000, K = 100, about 0.8 GB. Time O(K (max_size - min_size) m) in vector
operations of length m: split chromosome by chromosome, on a thinned panel for very dense data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import as_strided

from ..logs import get_logger
from ..errors import InputError
from ..io.genotypes import GenotypeStore, standardise
from .blocks import assign_blocks, intervals_from_starts

log = get_logger("ld.ldsplit")


def banded_r2(x: np.ndarray, band: int, chunk: int = 1024) -> np.ndarray:
    """Squared correlations of each variant with the next ``band`` variants.

    r2[p, d-1] = r(p, p+d)^2 for d = 1..band (0 past the end), r = x_p . x_q / n, computed chunk by chunk
    as float32 GEMMs of [chunk, n] x [n, chunk + band].

    Parameters
    ----------
    x : numpy.ndarray
        [m, n] standardised dosages, variants in position order.
    band : int
        Pairs further apart than ``band`` variants count 0 (bigsnpr's sparse ``snp_cor``).
    chunk : int
        Rows per GEMM.

    Returns
    -------
    numpy.ndarray
        [m, band] float32.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    m, n = x.shape
    band = int(max(1, min(band, max(m - 1, 1))))
    out = np.zeros((m, band), dtype=np.float32)
    step = max(int(chunk), band)
    for c0 in range(0, m, step):  # loop over chunks of variants, not variants
        c1 = min(m, c0 + step)
        hi = min(m, c1 + band)
        r = x[c0:c1] @ x[c0:hi].T
        r *= np.float32(1.0 / n)
        pad = np.zeros((c1 - c0, (c1 - c0) + band + 1), dtype=np.float32)
        pad[:, : hi - c0] = r
        cols = np.arange(c1 - c0)[:, None] + 1 + np.arange(band)[None, :]
        out[c0:c1] = np.take_along_axis(pad, cols, axis=1) ** 2
    np.minimum(out, 1.0, out=out)  # float32 rounding can give r slightly above 1
    return out


def noise_thr_r2(n: int, band: int, floor: float = 0.01) -> float:
    """Default ``thr_r2``: the r2 a pair of independent variants passes with probability 1 / band^2.

    Under independence n r2 ~ chi2 with 1 degree of freedom, and a boundary is straddled by about
    band^2 / 2 pairs of the band, so about one noise pair per boundary counts.

    Parameters
    ----------
    n : int
        Samples the correlations come from.
    band : int
        Band of the r2 matrix (variants).
    floor : float
        Smallest value returned (bigsnpr suggests 0.01 for large samples).

    Returns
    -------
    float

    References
    ----------
    Privé F. (2022) Bioinformatics 38:255-256 (``thr_r2``, 0.01-0.05 by sample size).
    """
    from scipy.special import chdtri
    band = max(int(band), 2)
    return float(max(floor, chdtri(1, 1.0 / band ** 2) / max(int(n), 1)))


def cut_costs(r2: np.ndarray, thr_r2: float = 0.0, max_r2: float = 1.0, min_size: int = 1,
              max_size: int | None = None, chunk: int | None = None) -> np.ndarray:
    """Cost of every block by size and end: ``E[s - min_size, j] = E(j-s+1, j)``.

    T(p, k) = sum_{d >= k} r2(p, p+d) by a reversed cumulative sum; the anti-diagonals T(j-t+1, t) are
    read through a strided view (rows before the first variant are zero padding) and summed over t,
    ``chunk`` ends at a time (float64 sums, stored float32).

    Parameters
    ----------
    r2 : numpy.ndarray
        [m, band] from :func:`banded_r2`.
    thr_r2 : float
        r2 below it counts 0.
    max_r2 : float
        r2 above it counts +inf (such a pair may not straddle a boundary).
    min_size, max_size : int
        Block sizes kept (rows); sizes past ``band`` cost as much as ``band`` and are not stored:
        row ``min(s, max(band, min_size)) - min_size`` holds size s. ``max_size`` defaults to band.
    chunk : int, optional
        Block ends per step [max(band, 256)].

    Returns
    -------
    numpy.ndarray
        [min(max_size, max(band, min_size)) - min_size + 1, m] float32; entries with j < s - 1 (blocks
        that would start before the first variant) are meaningless.
    """
    m, band = r2.shape
    min_size = int(min_size)
    top = max(min_size, min(int(max_size or band), band))
    cols = np.minimum(np.arange(min_size, top + 1), band) - 1
    out = np.empty((len(cols), m), dtype=np.float32)
    step = int(chunk or max(band, 256))
    for j0 in range(0, m, step):  # loop over chunks of block ends, not variants
        j1 = min(m, j0 + step)
        p0, lo = j0 - band + 1, max(0, j0 - band + 1)
        b = r2[lo:j1].astype(np.float64)
        b[b < thr_r2] = 0.0
        b[r2[lo:j1] > max_r2] = np.inf
        tail = np.zeros((j1 - p0, band))
        np.cumsum(b[:, ::-1], axis=1, out=tail[lo - p0:, ::-1])
        rs, cs = tail.strides
        anti = as_strided(tail[band - 1:], shape=(j1 - j0, band), strides=(rs, cs - rs), writeable=False)
        out[:, j0:j1] = np.cumsum(anti, axis=1)[:, cols].T
    return out


def ldsplit(r2: np.ndarray, min_size: int, max_size: int, *, max_K: int = 500, thr_r2: float = 0.0,
            max_r2: float = 0.3, pos=None, max_span: float | None = None,
            max_cost: float | None = None) -> pd.DataFrame:
    """Optimal splits of one chromosome into K = 1..max_K blocks (Privé 2022).

    Parameters
    ----------
    r2 : numpy.ndarray
        [m, band] from :func:`banded_r2` (variants in position order).
    min_size, max_size : int
        Block size limits in variants.
    max_K : int
        Largest number of blocks tried.
    thr_r2, max_r2 : float
        As :func:`cut_costs`.
    pos : array-like of int, optional
        Positions, with ``max_span`` bounding a block's bp span.
    max_span : float, optional
    max_cost : float, optional
        Largest cost reported above the cheapest split found (default m / 200; ``inf``: every feasible
        K up to ``max_K``). The search stops at the first K past that limit whose cost grew.

    Returns
    -------
    pandas.DataFrame
        One row per reported K: n_block, cost, cost2, sizes (list of block sizes); empty when no split
        satisfies the limits.

    References
    ----------
    Privé F. (2022) Optimal linkage disequilibrium splitting. Bioinformatics 38:255-256; bigsnpr
    ``snp_ldsplit``.
    """
    m, band = r2.shape
    min_size, max_size = int(min_size), int(min(max_size, m))
    if min_size < 1 or max_size < min_size:
        raise ValueError(f"need 1 <= min_size <= max_size (got {min_size}, {max_size})")
    e_sz = cut_costs(r2, thr_r2, max_r2, min_size, max_size)
    top = min_size + len(e_sz) - 1                # sizes past it cost as much as it
    max_cost = m / 200 if max_cost is None else float(max_cost)
    pos = None if pos is None or max_span is None else np.asarray(pos, dtype=np.float64)
    inf = np.inf
    prev1 = np.full(m + 1, inf)
    prev1[m] = 0.0
    prev2 = np.where(np.arange(m + 1) == m, 0.0, inf)
    args, found = [], []
    best = inf
    steps = np.arange(m + 1, dtype=np.int32)
    for k in range(1, min(int(max_K), m // min_size) + 1):
        cur1, cur2 = np.full(m + 1, inf), np.full(m + 1, inf)
        arg = np.full(m + 1, -1, dtype=np.int32)
        for s in range(max_size, min_size - 1, -1):  # loop over block sizes; descending = bigsnpr ties
            n_i = m - s + 1
            c1 = e_sz[min(s, top) - min_size, s - 1:] + prev1[s:]
            if pos is not None:
                c1 = np.where(pos[s - 1:] - pos[:n_i] > max_span, inf, c1)
            c2 = s * s + prev2[s:]
            better = (c1 < cur1[:n_i]) | ((c1 == cur1[:n_i]) & (c2 < cur2[:n_i]))
            np.copyto(cur1[:n_i], c1, where=better)
            np.copyto(cur2[:n_i], c2, where=better)
            np.copyto(arg[:n_i], steps[s:s + n_i], where=better)
        args.append(arg)
        if np.isfinite(cur1[0]):
            found.append((k, float(cur1[0]), float(cur2[0])))
            best = min(best, float(cur1[0]))
        if not np.isfinite(cur1).any() or (best + max_cost < cur1[0] and prev1[0] < cur1[0]):
            break
        prev1, prev2 = cur1, cur2
    rows = [{"n_block": k, "cost": c, "cost2": c2, "sizes": _path(args, k)}
            for k, c, c2 in found if c <= best + max_cost]
    return pd.DataFrame(rows, columns=["n_block", "cost", "cost2", "sizes"])


def _path(args: list, k: int) -> list:
    """Block sizes of the optimal K=k split from the argmin tables (next block's first index)."""
    sizes, i = [], 0
    for level in range(k - 1, -1, -1):
        j = int(args[level][i])
        sizes.append(j - i)
        i = j
    return sizes


def choose_split(solutions: pd.DataFrame, n_blocks: int | None = None) -> list:
    """Block sizes of the split to use.

    Parameters
    ----------
    solutions : pandas.DataFrame
        From :func:`ldsplit`.
    n_blocks : int, optional
        Take the split with this many blocks; default min ``cost2 * sqrt(5 + cost - min(cost))``
        (bigsnpr's example choice, with the cost counted from the cheapest reported split).

    Returns
    -------
    list of int
    """
    if not len(solutions):
        raise ValueError("no split satisfies the block size limits")
    if n_blocks is not None:
        hit = solutions[solutions["n_block"] == int(n_blocks)]
        if not len(hit):
            raise ValueError(f"no feasible split into {n_blocks} blocks (feasible: "
                             f"{list(solutions['n_block'])})")
        return list(hit["sizes"].iloc[0])
    cost = solutions["cost"].to_numpy(dtype=np.float64)
    score = solutions["cost2"].to_numpy(dtype=np.float64) * np.sqrt(5 + cost - cost.min())
    return list(solutions["sizes"].iloc[int(np.argmin(score))])


def cross_block_r2(r2: np.ndarray, sizes, *, pairs: bool = False):
    """Sum of banded r2 over pairs in different blocks (the quantity the split minimises, with
    ``thr_r2 = 0``).

    Parameters
    ----------
    r2 : numpy.ndarray
        [m, band] from :func:`banded_r2`.
    sizes : list of int
        Block sizes (summing to m).
    pairs : bool
        Also return the number of such pairs (their mean r2 is the sum over the count).

    Returns
    -------
    float, or (float, int) when ``pairs``
    """
    m, band = r2.shape
    block = np.repeat(np.arange(len(sizes)), sizes)
    q = np.arange(m)[:, None] + 1 + np.arange(band)[None, :]
    cross = (q < m) & (block[np.minimum(q, m - 1)] != block[:, None])
    total = float(np.sum(r2, where=cross, dtype=np.float64))
    return (total, int(cross.sum())) if pairs else total


def memory_bound(m_all: int, m: int, n: int, band: int, min_size: int, max_size: int, max_K: int) -> int:
    """Bytes of the largest working set of :func:`ldsplit_kernel` on one chromosome (the documented bound).

    Reading and standardising the dosages takes about 4 m_all n + 13 m n bytes; the banded r2
    (4 m band), the cut costs (4 m S with S = min(max_size, band) - min_size + 1) and the argmin tables
    of the dynamic programme (4 m K) are held together, with float64 chunk buffers of about
    40 (c + band) band bytes (c = max(1024, band) variants per chunk). Nothing is m x m.

    Parameters
    ----------
    m_all : int
        Variants of the chromosome.
    m : int
        Variants used for the split (MAF >= split_maf).
    n : int
        Samples.
    band, min_size, max_size, max_K : int
        As :func:`ldsplit_kernel` (band after its default, at most m - 1).

    Returns
    -------
    int
        Bytes, plus 64 MiB for the interpreter's own tables.
    """
    k = min(int(max_K), m // max(int(min_size), 1))
    sizes = max(min(int(max_size), band) - int(min_size) + 1, 1)
    step = max(1024, band)
    read = 4 * m_all * n + 13 * m * n
    split = 4 * m * (band + sizes + k) + 40 * (step + band) * band
    return int(max(read, split + 4 * m * n) + 64 * 2 ** 20)


def ldsplit_kernel(unit: dict, *, store: str, samples=None, min_size: int = 200, max_size: int = 2000,
                   band: int | None = None, max_K: int = 500, thr_r2: float | None = None,
                   max_r2: float = 0.3, split_maf: float = 0.05, max_span: float | None = None,
                   max_cost: float | None = None, n_blocks=None, genome_build: str = "") -> pd.DataFrame:
    """Work-list task: data-driven blocks of one chromosome of a genotype store.

    The split is computed on the variants with MAF >= ``split_maf``; each block starts at its first
    such variant (the chromosome's first block at its first variant), so rarer variants join the
    block their position falls in.

    Parameters
    ----------
    unit : dict
        chrom and ``index`` (store rows of the chromosome's variants in position order).
    store : str
        Genotype store path.
    samples : list of int, optional
        Store sample indices (None: all).
    min_size, max_size, band, max_K, max_r2, max_span, max_cost : optional
        As :func:`ldsplit` (``band`` defaults to ``max_size``), sizes in variants used for the split.
    thr_r2 : float, optional
        As :func:`ldsplit`; default :func:`noise_thr_r2` for the samples and band.
    split_maf : float
        Variants with a lower minor allele frequency (and monomorphic ones) are left out of the split.
    n_blocks : int, optional
        As :func:`choose_split`.
    genome_build : str
        Recorded in the output.

    Returns
    -------
    pandas.DataFrame
        Schema ``ld_blocks``.

    Raises
    ------
    InputError
        When no split satisfies the size limits and ``max_span``.
    """
    st = GenotypeStore(store)
    idx = np.asarray(unit["index"], dtype=np.int64)
    smp = None if samples is None else np.asarray(samples, dtype=np.int64)
    g = st.dosages(index=idx, samples=smp)
    with np.errstate(invalid="ignore"):
        af = np.nanmean(g, axis=1) / 2
    maf = np.nan_to_num(np.minimum(af, 1 - af))
    keep = np.flatnonzero((maf >= float(split_maf)) & (maf > 0))
    pos = st.variants["pos"].to_numpy()[idx]
    var = st.variants.iloc[idx]
    if len(keep) < 2:
        firsts = [0]
    else:
        x = standardise(g[keep])
        del g
        mx = min(int(max_size), len(keep))
        bw = min(int(band or mx), len(keep) - 1)
        thr = noise_thr_r2(x.shape[1], bw) if thr_r2 is None else float(thr_r2)
        r2 = banded_r2(x, bw)
        del x
        lo = min(int(min_size), len(keep))
        args = dict(max_K=max_K, thr_r2=thr, pos=pos[keep], max_span=max_span, max_cost=max_cost)
        sol = ldsplit(r2, lo, mx, max_r2=max_r2, **args)
        if not len(sol) and max_r2 < 1:
            log.warning("ldsplit chromosome %s: every split within the size limits has a pair with r2 > %g "
                        "across a boundary; splitting with max_r2 = 1", unit["chrom"], max_r2)
            sol = ldsplit(r2, lo, mx, max_r2=1.0, **args)
        if not len(sol):
            raise InputError(store, f"a split of chromosome {unit['chrom']} ({len(keep)} variants with MAF >= "
                             f"{split_maf}) into blocks of {min_size}-{max_size} variants (max_span {max_span}); "
                             "relax ld.min_size/max_size/max_span")
        sizes = choose_split(sol, n_blocks)
        firsts = keep[np.concatenate([[0], np.cumsum(sizes)[:-1]])]
        firsts[0] = 0
    iv = intervals_from_starts(unit["chrom"], pos, firsts)
    n = st.n_samples if smp is None else len(smp)
    blocks, _ = assign_blocks(var, iv, n_samples=n, source="ldsplit", genome_build=genome_build)
    return blocks
