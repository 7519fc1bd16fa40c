"""The configurations the shotgun stochastic search scored: each counted once, the best of them kept.

Most of what the search scores are *rows* ``B + {j : j = 1..m}`` of a base configuration B: the additions
of the current configuration C and its change moves (the additions of each C - c_i). A row is kept as one
*block* (its base, SNP indices j and log posteriors), never as m separate configurations; deletions are kept
one by one. Ownership rules count and keep each configuration once, without a hash of all of them:

* D of size s belongs to the row of the first base scored among its (s-1)-subsets;
* a new row of B drops j when B + j was scored as a deletion, or by an earlier row (B - b + j was a
  base for some b in B: ``_ext`` maps each (s-1)-subset of a scored base to the SNPs that extend it);
* a deletion is new only if none of its (s-1)-subsets is a scored base and it was not scored before.

Counts: ``n_evaluated``, configurations whose Bayes factor was computed (each once); ``n_stored``, those of
them admitted to a store of the ``cap`` best: the figure FINEMAP 1.4.2 logs as "configurations evaluated"
(measured on the binary: with ``--n-configs-top N`` on 200 SNPs with one signal and K = 3 it logs N + 199 and
lists N configurations; with a cap it never reaches, it counts every configuration scored). That store
holds every configuration scored, however improbable, so it is tracked apart from ours as the ``cap``
largest log posteriors scored (``_virt``, sorted): configurations enter one at a time in the order scored,
each while there is room, then only if strictly above the smallest held, which it evicts (``admitted``).
This reproduces the binary's count exactly where its search is deterministic (200 SNPs, one signal,
K = 3: N + 199 for N = 200-2,000).

Kept configurations: those within ``log_prune`` nats of the best score (the search's threshold) and at or
above that floor, i.e. FINEMAP's store less what is 20 nats below the best. Kept entries live in flat
arrays, so eviction is one vectorised pass.
"""
from __future__ import annotations

import numpy as np

from .keyset import KeySet
from .region import Region


def admitted(store: np.ndarray, new: np.ndarray, cap: int, chunk: int = 512) -> np.ndarray:
    """Which of ``new`` (in order) enter a store of the ``cap`` largest values holding ``store`` (sorted,
    ascending), one at a time: each enters while the store has room, then only if strictly above its
    smallest, which it evicts. ``new[i]`` enters iff fewer than ``cap`` of ``store`` and ``new[:i]`` are >= it
    (evicted values were below it, so counting all earlier ones is exact).

    Parameters
    ----------
    store : numpy.ndarray
        Values held, sorted ascending (at most ``cap``).
    new : numpy.ndarray
        Candidates in arrival order.
    cap : int
        Capacity.
    chunk : int
        Rows of the pairwise comparison done at once (only for candidates that may be refused).

    Returns
    -------
    numpy.ndarray of bool
        Mask of the candidates that enter.
    """
    n = len(new)
    if len(store) + n <= cap:
        return np.ones(n, dtype=bool)
    slack = cap - (len(store) - np.searchsorted(store, new, side="left"))   # room left above each candidate
    ok = slack > np.arange(n)                 # fewer earlier candidates than the room: enters for sure
    todo = np.flatnonzero(~ok & (slack > 0))
    for start in range(0, len(todo), chunk):
        idx = todo[start:start + chunk]
        ahead = (new[None, :idx[-1]] >= new[idx, None]) & (np.arange(idx[-1]) < idx[:, None])
        ok[idx] = ahead.sum(axis=1) < slack[idx]
    return ok


class ConfigStore:
    """Configurations scored by the shotgun stochastic search (counted once), the best of them kept, and
    the bases whose rows were scored."""

    def __init__(self, region: Region, cap: int | None = None):
        self.region = region
        self.cap = None if cap is None else int(cap)
        self.floor = -np.inf
        self.n_evaluated = self.n_stored = 0
        self._virt = np.zeros(0)                     # the cap largest log posteriors scored (FINEMAP's store)
        self._virt_new: list[np.ndarray] = []
        self.scored_ind = KeySet(10)                 # deletions scored (keys)
        self.expanded = KeySet(10)                   # bases whose rows were scored (keys)
        self._ext: dict[bytes, list[int]] = {}      # (s-1)-subset of a scored base -> extra SNPs
        self.rows_done: set[bytes] = set()
        kk = region.max_causal
        self.blk_c: list[np.ndarray] = []            # padded base of each block
        self._pending = {"ind": [], "blk": []}
        self.ind_c = np.zeros((0, kk), np.int32)
        self.ind_s = np.zeros(0, np.int8)
        self.ind_lp = np.zeros(0)
        self.e_blk = np.zeros(0, np.int32)
        self.e_j = np.zeros(0, np.int32)
        self.e_lp = np.zeros(0)
        self.size = 0
        self.log_mass = -np.inf

    def __len__(self):
        return self.size

    def _pad(self, c):
        out = np.full(self.region.max_causal, self.region.m, dtype=np.int32)
        out[:len(c)] = c
        return out

    def _key(self, c) -> np.ndarray:
        return self.region.keys(self._pad(c)[None], np.array([len(c)]))

    def _admit(self, lp: np.ndarray) -> np.ndarray:
        """Count newly scored configurations; mask of those above the floor (admission counted at flush)."""
        self.n_evaluated += len(lp)
        if self.cap is None:
            self.n_stored += len(lp)
            return np.ones(len(lp), dtype=bool)
        ok = lp > self.floor
        self._virt_new.append(lp[ok])
        return ok

    def _add_mass(self, lp: np.ndarray):
        top = lp.max()
        self.log_mass = np.logaddexp(self.log_mass, top + np.log(np.exp(lp - top).sum()))
        self.size += len(lp)

    def add_row(self, c: np.ndarray, lp_row: np.ndarray, threshold: float):
        """The row of base c (sorted): scores of c + j over all m SNPs, -inf where not scored or allowed.
        Counts its configurations not scored before and keeps those above the threshold and the floor."""
        tag = np.asarray(c, dtype=np.int64).tobytes()
        if tag in self.rows_done:
            return
        reg = self.region
        j = np.flatnonzero(np.isfinite(lp_row))
        if len(j) and len(self.scored_ind):
            j = j[~self.scored_ind.contains(reg.extension_keys(c, j))]
        taken = [x for i in range(len(c)) for x in self._ext.get(np.delete(c, i).tobytes(), ())]
        if taken and len(j):
            j = j[~np.isin(j, taken)]
        for i in range(len(c)):
            self._ext.setdefault(np.delete(c, i).tobytes(), []).append(int(c[i]))
        self.expanded.add_new(self._key(c))
        self.rows_done.add(tag)
        ok = self._admit(lp_row[j])
        j = j[ok & (lp_row[j] >= threshold)]
        if len(j):
            self._pending["blk"].append((np.full(len(j), len(self.blk_c), np.int32), j.astype(np.int32),
                                         lp_row[j]))
            self.blk_c.append(self._pad(c))
            self._add_mass(lp_row[j])

    def add_deletions(self, configs: np.ndarray, sizes: np.ndarray, lp: np.ndarray, threshold: float):
        """Deletion neighbours ([N, K] padded with m, sorted; finite scores): counts the new ones and keeps
        those above the threshold and the floor."""
        if not len(lp):
            return
        reg = self.region
        if len(self.expanded):
            sub = reg.subset_keys(configs, sizes)
            owned = self.expanded.contains(sub.ravel()).reshape(sub.shape)
            owned &= np.arange(configs.shape[1]) < sizes[:, None]
            keep = ~owned.any(axis=1)
            configs, sizes, lp = configs[keep], sizes[keep], lp[keep]
        new = self.scored_ind.add_new(reg.keys(configs, sizes))
        configs, sizes, lp = configs[new], sizes[new], lp[new]
        keep = self._admit(lp) & (lp >= threshold)
        if keep.any():
            self._pending["ind"].append((configs[keep], sizes[keep], lp[keep]))
            self._add_mass(lp[keep])

    def flush(self):
        """Append the pending configurations to the flat arrays; count the neighbourhood's admissions to
        FINEMAP's store (``admitted``), raise the floor to its smallest log posterior and evict the kept
        configurations below it."""
        if self._pending["ind"]:
            c, s, lp = zip(*self._pending["ind"])
            self.ind_c = np.concatenate([self.ind_c, *c])
            self.ind_s = np.concatenate([self.ind_s, *s])
            self.ind_lp = np.concatenate([self.ind_lp, *lp])
        if self._pending["blk"]:
            b, j, lp = zip(*self._pending["blk"])
            self.e_blk = np.concatenate([self.e_blk, *b])
            self.e_j = np.concatenate([self.e_j, *j])
            self.e_lp = np.concatenate([self.e_lp, *lp])
        self._pending = {"ind": [], "blk": []}
        if self.cap is None or not self._virt_new:
            return
        new = np.concatenate(self._virt_new)
        self._virt_new = []
        ok = admitted(self._virt, new, self.cap)
        self.n_stored += int(ok.sum())
        add = np.sort(new[ok])
        virt = np.insert(self._virt, np.searchsorted(self._virt, add), add)[-self.cap:]   # stays sorted
        self._virt = virt
        if len(virt) < self.cap or virt[0] <= self.floor:
            return
        self.floor = float(virt[0])
        ties = int(np.searchsorted(virt, self.floor, side="right"))     # held at the floor: the first ones
        keep = self.ind_lp > self.floor
        tied = self.ind_lp == self.floor
        keep |= tied & (np.cumsum(tied) <= ties)
        ties -= int((keep & tied).sum())
        self.ind_c, self.ind_s, self.ind_lp = self.ind_c[keep], self.ind_s[keep], self.ind_lp[keep]
        keep = self.e_lp > self.floor
        tied = self.e_lp == self.floor
        keep |= tied & (np.cumsum(tied) <= ties)
        self.e_blk, self.e_j, self.e_lp = self.e_blk[keep], self.e_j[keep], self.e_lp[keep]
        both = np.concatenate([self.ind_lp, self.e_lp])
        self.size = len(both)
        if self.size:
            top = both.max()
            self.log_mass = top + np.log(np.exp(both - top).sum())

    def above(self, cut: float):
        """Kept configurations with log posterior >= cut: (sorted padded configs [N, K], sizes, lp)."""
        self.flush()
        m = self.region.m
        hit = self.ind_lp >= cut
        configs, sizes, lp = [self.ind_c[hit]], [self.ind_s[hit].astype(np.int64)], [self.ind_lp[hit]]
        hit = np.flatnonzero(self.e_lp >= cut)
        if len(hit):
            base = np.array(self.blk_c, dtype=np.int32)[self.e_blk[hit]]
            bsize = (base < m).sum(axis=1)
            base[np.arange(len(hit)), bsize] = self.e_j[hit]
            base.sort(axis=1)
            configs.append(base)
            sizes.append(bsize + 1)
            lp.append(self.e_lp[hit])
        return np.concatenate(configs), np.concatenate(sizes), np.concatenate(lp)

    def arrays(self):
        """(individual configs, sizes, lp), (block bases [B, K], entry block, entry j, entry lp)."""
        self.flush()
        kk = self.region.max_causal
        return (self.ind_c, self.ind_s, self.ind_lp), \
            (np.array(self.blk_c, dtype=np.int32).reshape(-1, kk), self.e_blk, self.e_j, self.e_lp)
