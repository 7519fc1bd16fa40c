"""Every configuration the shotgun stochastic search evaluated, each counted exactly once.

Most of what the search evaluates are *additions* ``B + {j}`` of a configuration B: the additions of
the current configuration C and its change moves, the additions of each C - c_i (m per base). They are
kept as one *block* per expanded base B (its SNP indices j and log posteriors), never as m separate
configurations. Deletions are kept one by one, keyed by their combinadic rank in a hash set.
Ownership rules keep each configuration once:

* D of size s belongs to the block of the first expanded centre among its (s-1)-subsets;
* a new block of C drops j when C + j is already held individually, or by an earlier block
  (C - c + j expanded for some c in C);
* a configuration is held individually only if none of its (s-1)-subsets is an expanded centre;
* the change moves C - c_i + j of a centre are the additions of the base C - c_i, kept as that base's
  block the first time the base is seen and skipped later. This is exact: the pruning threshold only
  rises, so a configuration dropped then would be dropped now.
"""
from __future__ import annotations

import numpy as np

from .keyset import KeySet
from .region import Region


class ConfigStore:
    """Every configuration the shotgun stochastic search has scored, with its log posterior, and the
    configurations whose neighbourhoods were expanded (FINEMAP's stored configurations)."""

    def __init__(self, region: Region):
        self.region = region
        self.individual = KeySet()
        self.expanded = KeySet(10)
        self._ext: dict[bytes, list[int]] = {}     # (k-1)-subset of an expanded centre -> extra SNPs
        self.rows_done: set[bytes] = set()          # bases whose whole row B + j was stored or is a block
        self.ind_c, self.ind_s, self.ind_lp = [], [], []
        self.blk_c, self.blk_j, self.blk_lp = [], [], []
        self.log_mass = -np.inf

    def _add_mass(self, lp: np.ndarray):
        if len(lp):
            top = lp.max()
            self.log_mass = np.logaddexp(self.log_mass, top + np.log(np.exp(lp - top).sum()))

    def is_expanded(self, c: np.ndarray) -> bool:
        key = self.region.keys(self._pad(c)[None], np.array([len(c)]))
        return bool(self.expanded.contains(key)[0])

    def _pad(self, c):
        out = np.full(self.region.max_causal, self.region.m, dtype=np.int32)
        out[:len(c)] = c
        return out

    def add_block(self, c: np.ndarray, lp_add: np.ndarray, threshold: float):
        """Additions of the new centre c (scores over all m SNPs, -inf where not allowed)."""
        reg = self.region
        j = np.flatnonzero(lp_add >= threshold)
        if len(j) and len(self.individual):
            j = j[~self.individual.contains(reg.extension_keys(c, j))]
        taken = [x for i in range(len(c)) for x in self._ext.get(np.delete(c, i).tobytes(), ())]
        if taken and len(j):
            j = j[~np.isin(j, taken)]
        for i in range(len(c)):
            self._ext.setdefault(np.delete(c, i).tobytes(), []).append(int(c[i]))
        self.expanded.add_new(reg.keys(self._pad(c)[None], np.array([len(c)])))
        self.rows_done.add(np.asarray(c, dtype=np.int64).tobytes())
        if len(j):
            self.blk_c.append(self._pad(c))
            self.blk_j.append(j.astype(np.int32))
            self.blk_lp.append(lp_add[j])
            self._add_mass(lp_add[j])

    def add_individual(self, configs: np.ndarray, sizes: np.ndarray, lp: np.ndarray):
        """Deletion / change neighbours ([N, K] padded with m, sorted)."""
        if not len(lp):
            return
        reg = self.region
        if len(self.expanded):
            sub = reg.subset_keys(configs, sizes)
            owned = self.expanded.contains(sub.ravel()).reshape(sub.shape)
            owned &= np.arange(configs.shape[1]) < sizes[:, None]
            keep = ~owned.any(axis=1)
            configs, sizes, lp = configs[keep], sizes[keep], lp[keep]
        new = self.individual.add_new(reg.keys(configs, sizes))
        if new.any():
            self.ind_c.append(configs[new])
            self.ind_s.append(sizes[new])
            self.ind_lp.append(lp[new])
            self._add_mass(lp[new])

    def arrays(self):
        """(individual configs, sizes, lp), (block centres [B, K], entry block, entry j, entry lp)."""
        kk = self.region.max_causal
        ind = (np.concatenate(self.ind_c) if self.ind_c else np.zeros((0, kk), np.int32),
               np.concatenate(self.ind_s) if self.ind_s else np.zeros(0, np.int8),
               np.concatenate(self.ind_lp) if self.ind_lp else np.zeros(0))
        counts = [len(j) for j in self.blk_j]
        blk = (np.array(self.blk_c, dtype=np.int32).reshape(-1, kk),
               np.repeat(np.arange(len(counts), dtype=np.int32), counts),
               np.concatenate(self.blk_j) if counts else np.zeros(0, np.int32),
               np.concatenate(self.blk_lp) if counts else np.zeros(0))
        return ind, blk

    def __len__(self):
        return sum(len(x) for x in self.ind_lp) + sum(len(x) for x in self.blk_lp)
