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
further apart (bigsnpr's ``pos_scaled``). K = 1, 2, ... up to ``max_K`` are solved, stopping (as
bigsnpr does) once the cost exceeds ``max_cost`` (default m / 200) and grows; the splits with
cost <= max_cost are reported. The split used by default is bigsnpr's example choice, the reported
solution minimising ``cost2 * sqrt(5 + cost)``. Pass ``thr_r2`` > 0 (bigsnpr's example: 0.01-0.05
depending on sample size) so that sampling noise (r2 ~ 1/n per pair) does not dominate the cost.

r2 is taken within a band of ``band`` variants (pairs further apart count 0, as bigsnpr's sparse
``snp_cor`` matrix does), computed by chunked float32 GEMMs. E for all (i, s) comes from cumulative
sums along the band (no loop over variants): with T(p, k) = sum_{d>=k} r2(p, p+d),
E(j-s+1, j) = sum_{t=1..s} T(j-t+1, t). Peak memory about 3 x m x band float64 (2.4 GB for
m = 50,000 and band = 2,000): split chromosome by chromosome, on a thinned panel for dense data.
Time O(K (max_size - min_size) m) in vector operations of length m. Difference from bigsnpr: E is
kept in float64 (bigsnpr stores float), which can break exact ties differently.
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


def cut_costs(r2: np.ndarray, thr_r2: float = 0.0, max_r2: float = 1.0) -> np.ndarray:
    """Cost of every block that ends at each variant: E_end[j, s-1] = E(j-s+1, j), s = 1..band.

    T(p, k) = sum_{d >= k} r2(p, p+d) by a reversed cumulative sum; the anti-diagonals T(j-t+1, t) are
    read through a strided view (rows above 0 are zero padding) and summed over t.

    Parameters
    ----------
    r2 : numpy.ndarray
        [m, band] from :func:`banded_r2`.
    thr_r2 : float
        r2 below it counts 0.
    max_r2 : float
        r2 above it counts +inf (such a pair may not straddle a boundary).

    Returns
    -------
    numpy.ndarray
        [m, band] float64 cut costs.
    """
    m, band = r2.shape
    b = np.where(r2 < thr_r2, 0.0, r2.astype(np.float64))
    b[r2 > max_r2] = np.inf
    tail = np.zeros((m + band - 1, band))
    np.cumsum(b[:, ::-1], axis=1, out=tail[band - 1:, ::-1])
    rs, cs = tail.strides
    anti = as_strided(tail[band - 1:], shape=(m, band), strides=(rs, cs - rs), writeable=False)
    return np.cumsum(anti, axis=1)


def ldsplit(r2: np.ndarray, min_size: int, max_size: int, *, max_K: int = 500, thr_r2: float = 0.0,
            max_r2: float = 0.3, pos=None, max_span: float | None = None,
            max_cost: float | None = None) -> pd.DataFrame:
    """All optimal splits of one chromosome into K = 1..max_K blocks (Privé 2022).

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
        Largest cost reported (default m / 200).

    Returns
    -------
    pandas.DataFrame
        One row per feasible K: n_block, cost, cost2, sizes (list of block sizes); empty when no split
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
    e_sz = np.ascontiguousarray(cut_costs(r2, thr_r2, max_r2).T)  # [size-1, end]: contiguous per size
    max_cost = m / 200 if max_cost is None else float(max_cost)
    # E(j-s+1, j) grows with s: sizes whose cheapest block already costs more than max_cost can
    # never be part of a reported split (bigsnpr prunes E the same way)
    over = np.flatnonzero(e_sz.min(axis=1) > max_cost)
    if len(over) and over[0] + 1 <= max_size:
        max_size = max(min_size, int(over[0]))
    pos = None if pos is None or max_span is None else np.asarray(pos, dtype=np.float64)
    inf = np.inf
    prev1 = np.full(m + 1, inf)
    prev1[m] = 0.0
    prev2 = np.where(np.arange(m + 1) == m, 0.0, inf)
    args, rows = [], []
    steps = np.arange(m + 1)
    for k in range(1, min(int(max_K), m // min_size) + 1):
        cur1, cur2 = np.full(m + 1, inf), np.full(m + 1, inf)
        arg = np.full(m + 1, -1, dtype=np.int64)
        for s in range(max_size, min_size - 1, -1):  # loop over block sizes; descending = bigsnpr ties
            n_i = m - s + 1
            c1 = e_sz[min(s, band) - 1, s - 1:] + prev1[s:]
            if pos is not None:
                c1 = np.where(pos[s - 1:] - pos[:n_i] > max_span, inf, c1)
            c2 = s * s + prev2[s:]
            better = (c1 < cur1[:n_i]) | ((c1 == cur1[:n_i]) & (c2 < cur2[:n_i]))
            np.copyto(cur1[:n_i], c1, where=better)
            np.copyto(cur2[:n_i], c2, where=better)
            np.copyto(arg[:n_i], steps[s:s + n_i], where=better)
        args.append(arg)
        if np.isfinite(cur1[0]) and cur1[0] <= max_cost:
            rows.append({"n_block": k, "cost": float(cur1[0]), "cost2": float(cur2[0]),
                         "sizes": _path(args, k)})
        if not np.isfinite(cur1).any() or (max_cost < cur1[0] and prev1[0] < cur1[0]):
            break
        prev1, prev2 = cur1, cur2
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
        Take the split with this many blocks; default bigsnpr's choice, min ``cost2 * sqrt(5 + cost)``.

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
    score = solutions["cost2"] * np.sqrt(5 + solutions["cost"])
    return list(solutions["sizes"].iloc[int(np.argmin(score.to_numpy()))])


def cross_block_r2(r2: np.ndarray, sizes) -> float:
    """Sum of banded r2 over pairs in different blocks (the quantity the split minimises).

    Parameters
    ----------
    r2 : numpy.ndarray
        [m, band] from :func:`banded_r2`.
    sizes : list of int
        Block sizes (summing to m).

    Returns
    -------
    float
    """
    m, band = r2.shape
    block = np.repeat(np.arange(len(sizes)), sizes)
    q = np.arange(m)[:, None] + 1 + np.arange(band)[None, :]
    other = np.where(q < m, block[np.minimum(q, m - 1)], -1)
    return float(np.sum(r2, where=(q < m) & (other != block[:, None]), dtype=np.float64))


def ldsplit_kernel(unit: dict, *, store: str, samples=None, min_size: int = 500, max_size: int = 5000,
                   band: int | None = None, max_K: int = 500, thr_r2: float = 0.02, max_r2: float = 0.3,
                   max_span: float | None = None, max_cost: float | None = None, n_blocks=None,
                   genome_build: str = "") -> pd.DataFrame:
    """Work-list task: data-driven blocks of one chromosome of a genotype store.

    Parameters
    ----------
    unit : dict
        chrom and ``index`` (store rows of the chromosome's variants in position order).
    store : str
        Genotype store path.
    samples : list of int, optional
        Store sample indices (None: all).
    min_size, max_size, band, max_K, thr_r2, max_r2, max_span, max_cost : optional
        As :func:`ldsplit` (``band`` defaults to ``max_size``).
    n_blocks : int, optional
        As :func:`choose_split`.
    genome_build : str
        Recorded in the output.

    Returns
    -------
    pandas.DataFrame
        Schema ``ld_blocks``.
    """
    st = GenotypeStore(store)
    idx = np.asarray(unit["index"], dtype=np.int64)
    smp = None if samples is None else np.asarray(samples, dtype=np.int64)
    x = standardise(st.dosages(index=idx, samples=smp))
    mx = min(int(max_size), len(idx))
    r2 = banded_r2(x, band or mx)
    args = dict(max_K=max_K, thr_r2=thr_r2, pos=st.variants["pos"].to_numpy()[idx], max_span=max_span)
    sol = ldsplit(r2, min(int(min_size), len(idx)), mx, max_r2=max_r2, max_cost=max_cost, **args)
    if not len(sol) and (max_r2 < 1 or max_cost is None or np.isfinite(max_cost)):
        log.warning("ldsplit chromosome %s: no split with cost <= max_cost keeps every pair with r2 > %g "
                    "within a block; splitting on the size limits only (max_r2 = 1, max_cost = inf)",
                    unit["chrom"], max_r2)
        sol = ldsplit(r2, min(int(min_size), len(idx)), mx, max_r2=1.0, max_cost=np.inf, **args)
    if not len(sol):
        raise InputError(store, f"a split of chromosome {unit['chrom']} ({len(idx)} variants) into blocks of "
                         f"{min_size}-{max_size} variants (max_span {max_span}); relax ld.min_size/max_size/max_span")
    sizes = choose_split(sol, n_blocks)
    var = st.variants.iloc[idx]
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    iv = intervals_from_starts(unit["chrom"], var["pos"].to_numpy(), firsts)
    blocks, _ = assign_blocks(var, iv, n_samples=x.shape[1], source="ldsplit", genome_build=genome_build)
    return blocks
