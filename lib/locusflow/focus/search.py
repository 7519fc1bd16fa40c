"""Posterior over causal gene sets of one block: exhaustive enumeration or shotgun stochastic search,
chosen by a cost model (FOCUS, Mancuso et al. 2019; FINEMAP's search, Benner et al. 2016).

- prior: log pi_S = k log p + (m - k) log(1 - p); the NULL.MODEL (k = 0) has m log(1 - p)
- PIP_g = sum_{S ∋ g} BF_S pi_S / (pi_0 + sum_S BF_S pi_S); the null row gets pi_0 / (same)
- multi-ancestry (MA-FOCUS, Lu et al. 2022 AJHG): log BF_S summed over populations, prior once.

Exhaustive enumeration (pyfocus 0.802 enumerates every set of 1..max_genes genes) runs over all sets
in vectorised batches. The shotgun stochastic search scores every neighbour of the current set (add,
delete, swap) in one call, keeps every scored set and moves to a neighbour drawn by its posterior; its
PIPs are exact when the visited sets hold (almost) all of the mass. Which one runs is decided by
:func:`search_costs`, an estimate of both run times from the set counts (``search='auto'``).
"""
from __future__ import annotations

import functools
from math import comb

import numpy as np

from ..logs import get_logger
from .bayes import log_bf_sets

log = get_logger("focus")

# seconds per scored set (exhaustive, batched), per SSS iteration and per SSS neighbour (its bookkeeping
# is one dict entry per neighbour); measured on the 2-core reference machine (m = 40-400 genes, k <= 3)
COST_SET = 1.2e-7
COST_ITER = 3.5e-4
COST_NEIGHBOUR = 2.5e-6


def colex_combinations(n: int, r: int) -> np.ndarray:
    """All r-subsets of range(n) in colexicographic order.

    Parameters
    ----------
    n : int
        Size of the ground set range(n).
    r : int
        Subset size, >= 0 (r = 0 gives one empty row; n < r gives no rows).

    Returns
    -------
    numpy.ndarray of int32, shape (C(n, r), r)
        Each row a subset, members in increasing order.
        Those of range(n') are the first C(n', r) rows.
    """
    if r == 0:
        return np.zeros((1, 0), dtype=np.int32)
    if n < r:
        return np.zeros((0, r), dtype=np.int32)
    prev = colex_combinations(n - 1, r - 1)
    parts = [np.column_stack([prev[:comb(t, r - 1)], np.full(comb(t, r - 1), t, dtype=np.int32)])
             for t in range(r - 1, n)]  # loop over genes (the largest member), not sets
    return np.concatenate(parts).astype(np.int32)


@functools.lru_cache(maxsize=256)
def _all_sets(m: int, k: int) -> np.ndarray:
    out = colex_combinations(m, k)
    out.setflags(write=False)
    return out


def iter_sets(m: int, k: int, batch: int = 1 << 20):
    """Every k-subset of range(m) exactly once, in batches.

    Parameters
    ----------
    m : int
        Number of genes in the block (set members are 0..m-1).
    k : int
        Set size, >= 1.
    batch : int
        Approximate rows per batch: when C(m, k) <= ``batch`` all sets come in one batch; otherwise
        batches are filled with whole groups of sets sharing their largest member (a batch may exceed it).

    Yields
    ------
    numpy.ndarray of int32, shape (B, k)
        Sets as rows of gene indices in increasing order, batches together in colexicographic order
        (:func:`colex_combinations`). The single-batch array is cached and read-only.

    References
    ----------
    Mancuso N et al. (2019) Probabilistic fine-mapping of transcriptome-wide association studies.
    Nat Genet 51:675-682 (pyfocus enumerates every set of 1..max_genes genes).
    """
    if comb(m, k) <= batch:
        yield _all_sets(m, k)
        return
    if k == 1:
        for s in range(0, m, batch):
            yield np.arange(s, min(m, s + batch), dtype=np.int32)[:, None]
        return
    tail = colex_combinations(m, k - 1)  # (k-1)-subsets; rows < C(n', k-1) use only range(n')
    buf, size = [], 0
    for top in range(k - 1, m):  # the largest member of the set; loop over genes
        rest = tail[:comb(top, k - 1)]
        buf.append(np.column_stack([rest, np.full(len(rest), top, dtype=np.int32)]))
        size += len(rest)
        if size >= batch:
            yield np.concatenate(buf)
            buf, size = [], 0
    if buf:
        yield np.concatenate(buf)


class Accumulator:
    """Running log-sum-exp of the marginal and of each gene's posterior mass."""

    def __init__(self, m: int, log_null: float):
        self.shift = log_null
        self.total = 1.0  # exp(log_null - shift)
        self.log_null = log_null
        self.gene = np.zeros(m)

    def add(self, sets: np.ndarray, local: np.ndarray):
        top = float(local.max())
        if top > self.shift:
            f = np.exp(self.shift - top)
            self.total *= f
            self.gene *= f
            self.shift = top
        w = np.exp(local - self.shift)
        self.total += w.sum()
        self.gene += np.bincount(sets.ravel(), weights=np.repeat(w, sets.shape[1]), minlength=len(self.gene))

    def result(self):
        return self.gene / self.total, float(np.exp(self.log_null - self.shift) / self.total)


def search_costs(m: int, max_genes: int, n_pop: int = 1, sss_iter: int = 20000) -> tuple[float, float, int]:
    """Estimated seconds of exhaustive enumeration and of the stochastic search, and the set count.

    Parameters
    ----------
    m : int
        Gene models in the block.
    max_genes : int
        Largest causal set.
    n_pop : int
        Populations (each set is scored once per population).
    sss_iter : int
        Iterations of the stochastic search.

    Returns
    -------
    (float, float, int)
        Exhaustive seconds = n_sets x n_pop x ``COST_SET``; search seconds = iterations x (``COST_ITER``
        + neighbours x (n_pop x ``COST_SET`` + ``COST_NEIGHBOUR``)), neighbours of a set of k = max_genes
        genes: (m - k) swaps per member + k deletions; and n_sets = sum_k C(m, k).

    References
    ----------
    Benner C et al. (2016) Bioinformatics 32:1493 (FINEMAP's shotgun stochastic search).
    """
    k = min(m, int(max_genes))
    n_sets = sum(comb(m, j) for j in range(1, k + 1))
    t_ex = n_sets * n_pop * COST_SET
    nb = k * (m - k) + k + (m - k)
    t_sss = sss_iter * (COST_ITER + nb * (n_pop * COST_SET + COST_NEIGHBOUR))
    return t_ex, t_sss, n_sets


def fine_map_genes(zs, wcors, chisqs, prior_prob: float, max_genes: int = 3, search: str = "auto",
                   batch: int = 1 << 20, sss_iter: int = 20000, seed: int = 1):
    """PIPs of every gene and of the null model, for each population alone and (two or more) jointly.

    Parameters
    ----------
    zs, wcors, chisqs : list
        Per population: TWAS z (m), Omega (m x m) and s^2, genes in the same order everywhere.
    prior_prob : float
        Prior probability p that a gene is causal.
    max_genes : int
        Largest causal set (pyfocus ``--max-genes``, 3).
    search : {'auto', 'exhaustive', 'sss'}
        'auto' takes the cheaper of the two by :func:`search_costs`.
    batch : int
        Sets scored per vectorised call.
    sss_iter, seed : int
        Iterations and seed of the stochastic search.

    Returns
    -------
    (list of numpy.ndarray, list of float, str)
        PIPs and null-model probability per output (populations, then the joint one when there are two
        or more), and the search used ('exhaustive' or 'sss').

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675; Lu Z et al. (2022) AJHG 109:1388 (MA-FOCUS);
    pyfocus 0.802 ``finemap.fine_map``.
    """
    n_pop = len(zs)
    m = len(zs[0])
    k_max = min(m, int(max_genes))
    n_out = 1 if n_pop == 1 else n_pop + 1
    log_null = m * np.log1p(-prior_prob)
    if search not in ("auto", "exhaustive", "sss"):
        raise ValueError(f"search: 'auto', 'exhaustive' or 'sss', not {search!r}")
    if search == "auto":
        t_ex, t_sss, _ = search_costs(m, k_max, n_pop, sss_iter)
        search = "exhaustive" if t_ex <= t_sss else "sss"
    if search == "sss":
        t_ex, t_sss, n_sets = search_costs(m, k_max, n_pop, sss_iter)
        log.info("FOCUS: %d genes, %d causal sets: stochastic search (est. %.1f s; enumeration est. %.1f s)",
                 m, n_sets, t_sss, t_ex)
        from .sss import stochastic_search
        return (*stochastic_search(zs, wcors, chisqs, prior_prob, k_max, sss_iter, seed), "sss")
    acc = [Accumulator(m, log_null) for _ in range(n_out)]
    lp, lq = np.log(prior_prob), np.log1p(-prior_prob)
    for k in range(1, k_max + 1):
        prior = k * lp + (m - k) * lq
        for sets in iter_sets(m, k, batch):
            bfs = [log_bf_sets(sets, zs[i], wcors[i], chisqs[i]) for i in range(n_pop)]
            for i in range(n_pop):
                acc[i].add(sets, bfs[i] + prior)
            if n_pop > 1:
                acc[-1].add(sets, np.sum(bfs, axis=0) + prior)
    res = [a.result() for a in acc]
    return [r[0] for r in res], [r[1] for r in res], "exhaustive"
