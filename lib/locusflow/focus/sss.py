"""Shotgun stochastic search over causal gene sets, for blocks where the cost model of
:func:`locusflow.focus.search.search_costs` says enumeration would take longer.

FINEMAP's search (Benner et al. 2016 Bioinformatics): from the current set, score every neighbour
(add one gene, delete one, swap one member for a non-member) in one vectorised Bayes-factor call,
keep every scored set, move to a neighbour drawn in proportion to its posterior. PIPs are computed
over all visited sets plus the NULL.MODEL; sets never visited contribute nothing, so the PIPs are
exact when the visited sets hold (almost) all of the posterior mass.
"""
from __future__ import annotations

import numpy as np

from .bayes import log_bf_sets


def _neighbours(cur: tuple, m: int, k_max: int) -> list[np.ndarray]:
    out = [[] for _ in range(k_max + 1)]
    cur_a = np.array(cur, dtype=np.int32)
    others = np.setdiff1d(np.arange(m, dtype=np.int32), cur_a)
    if len(cur) < k_max:  # add
        out[len(cur) + 1] = np.sort(np.column_stack([np.repeat(cur_a[None], len(others), 0), others]), 1)
    if len(cur) > 1:  # delete
        out[len(cur) - 1] = np.array([np.delete(cur_a, i) for i in range(len(cur))])
    if cur:  # swap: each member for each non-member
        sw = np.repeat(cur_a[None], len(cur) * len(others), 0)
        pos = np.repeat(np.arange(len(cur)), len(others))
        sw[np.arange(len(sw)), pos] = np.tile(others, len(cur))
        prev = out[len(cur)]
        out[len(cur)] = np.sort(sw, 1) if not len(prev) else np.vstack([prev, np.sort(sw, 1)])
    return [np.asarray(o, dtype=np.int32).reshape(-1, k) if k else np.zeros((0, 0), np.int32)
            for k, o in enumerate(out)]


def stochastic_search(zs, wcors, chisqs, prior_prob, k_max, n_iter=20000, seed=1):
    """PIPs and null probability per output over the sets the search visits.

    Parameters
    ----------
    zs, wcors, chisqs : list
        Per population: TWAS z, Omega and s^2 (genes in the same order).
    prior_prob : float
        Prior probability that a gene is causal.
    k_max : int
        Largest causal set.
    n_iter, seed : int
        Iterations and random seed.

    Returns
    -------
    (list of numpy.ndarray, list of float)
        Per output (populations, then the joint one when there are two or more).

    References
    ----------
    Benner C et al. (2016) Bioinformatics 32:1493 (FINEMAP).
    """
    rng = np.random.default_rng(seed)
    n_pop, m = len(zs), len(zs[0])
    n_out = 1 if n_pop == 1 else n_pop + 1
    lp, lq = np.log(prior_prob), np.log1p(-prior_prob)
    seen: dict[tuple, np.ndarray] = {}
    cur: tuple = ()
    for _ in range(n_iter):
        cand_sets, cand_scores = [], []
        for k, sets in enumerate(_neighbours(cur, m, k_max)):
            if k == 0 or not len(sets):
                continue
            sets = np.unique(sets, axis=0)
            bfs = np.array([log_bf_sets(sets, zs[i], wcors[i], chisqs[i]) for i in range(n_pop)])
            prior = k * lp + (m - k) * lq
            local = bfs + prior if n_pop == 1 else np.vstack([bfs + prior, bfs.sum(0) + prior])
            for row, s in enumerate(map(tuple, sets)):  # loop over neighbour sets (<= k m), not SNPs
                seen.setdefault(s, local[:, row])
            cand_sets.extend(map(tuple, sets))
            cand_scores.append(local[-1])
        if not cand_sets:
            break
        sc = np.concatenate(cand_scores)
        p = np.exp(sc - sc.max())
        cur = cand_sets[rng.choice(len(sc), p=p / p.sum())]
    keys = list(seen)
    local = np.array([seen[s] for s in keys]).T.reshape(n_out, -1)
    sizes = np.array([len(s) for s in keys])
    log_null = m * lq
    pips, nulls = [], []
    for i in range(n_out):
        top = max(log_null, local[i].max())
        w = np.exp(local[i] - top)
        total = w.sum() + np.exp(log_null - top)
        g = np.zeros(m)
        for k in np.unique(sizes):  # loop over set sizes (<= max_genes)
            sel = np.flatnonzero(sizes == k)
            members = np.array([keys[j] for j in sel], dtype=np.int64)
            np.add.at(g, members.ravel(), np.repeat(w[sel], k))
        pips.append(g / total)
        nulls.append(float(np.exp(log_null - top) / total))
    return pips, nulls
