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
them at or above the eviction floor when scored: the figure FINEMAP 1.4.2 logs as "configurations
evaluated", which counts what enters its store of the ``--n-configs-top`` best (measured on the binary: with
``--n-configs-top N`` on a region where the search scores more than N, its log shows N plus the evicted
ones and its .config lists the N kept; with a cap it never reaches, it counts every configuration scored).

Kept configurations: those within ``log_prune`` nats of the best score (the search's threshold) and, with
``cap`` (``--n-configs-top``, 50,000), only the ``cap`` most probable: after each neighbourhood the rest are
evicted, and the floor (the cap-th largest log posterior; it only rises) rejects later ones below it, as
FINEMAP's store does. Kept entries live in flat arrays, so eviction is one vectorised pass.
"""
from __future__ import annotations

import numpy as np

from .keyset import KeySet
from .region import Region


class ConfigStore:
    """Configurations scored by the shotgun stochastic search (counted once), the best of them kept, and
    the bases whose rows were scored."""

    def __init__(self, region: Region, cap: int | None = None):
        self.region = region
        self.cap = None if cap is None else int(cap)
        self.floor = -np.inf
        self.n_evaluated = self.n_stored = 0
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

    def _count(self, lp: np.ndarray):
        self.n_evaluated += len(lp)
        self.n_stored += int((lp >= self.floor).sum())

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
        self._count(lp_row[j])
        j = j[lp_row[j] >= max(threshold, self.floor)]
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
        self._count(lp)
        keep = lp >= max(threshold, self.floor)
        if keep.any():
            self._pending["ind"].append((configs[keep], sizes[keep], lp[keep]))
            self._add_mass(lp[keep])

    def flush(self):
        """Append the pending configurations to the flat arrays; evict all but the ``cap`` most probable
        (ties at the floor are kept)."""
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
        if self.cap is None or self.size <= self.cap:
            return
        both = np.concatenate([self.ind_lp, self.e_lp])
        self.floor = max(self.floor, float(np.partition(both, self.size - self.cap)[self.size - self.cap]))
        keep = self.ind_lp >= self.floor
        self.ind_c, self.ind_s, self.ind_lp = self.ind_c[keep], self.ind_s[keep], self.ind_lp[keep]
        keep = self.e_lp >= self.floor
        self.e_blk, self.e_j, self.e_lp = self.e_blk[keep], self.e_j[keep], self.e_lp[keep]
        both = both[both >= self.floor]
        self.size = len(both)
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
