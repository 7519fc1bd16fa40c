"""A vectorised hash set of non-negative int64 keys (open addressing, linear probing, numpy only).

The shotgun stochastic search stores every configuration it evaluates exactly once; a neighbourhood
holds tens of thousands of configurations, so membership is tested for a whole batch in a few numpy
passes instead of one Python set operation per configuration. Keys that do not fit int64 (object
arrays of Python ints, for very large regions) fall back to a Python set.
"""
from __future__ import annotations

import numpy as np

_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing


class KeySet:
    """An open-addressing hash set of configurations (64-bit keys) that grows by doubling: the search
    asks it whether a configuration was already scored, so no neighbour is evaluated twice."""

    def __init__(self, capacity_bits: int = 16):
        self._bits = capacity_bits
        self._table = np.full(1 << capacity_bits, -1, dtype=np.int64)
        self._count = 0
        self._pyset: set | None = None

    def __len__(self) -> int:
        return self._count if self._pyset is None else len(self._pyset)

    def add_new(self, keys: np.ndarray) -> np.ndarray:
        """Insert distinct ``keys``; return the mask of those that were not present before."""
        if keys.dtype == object:
            if self._pyset is None:
                self._pyset = set()
            new = np.fromiter((k not in self._pyset for k in keys), bool, len(keys))
            self._pyset.update(keys[new].tolist())
            return new
        keys = np.asarray(keys, dtype=np.int64)
        while (self._count + len(keys)) * 4 > len(self._table):
            self._grow()
        new = self._insert(keys)
        self._count += int(new.sum())
        return new

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Membership mask of ``keys`` (no insertion)."""
        if keys.dtype == object or self._pyset is not None:
            found = self._pyset or set()
            return np.fromiter((k in found for k in keys), bool, len(keys))
        keys = np.asarray(keys, dtype=np.int64)
        table, mask = self._table, len(self._table) - 1
        out = np.zeros(len(keys), dtype=bool)
        todo = np.arange(len(keys))
        slot = self._hash(keys)
        while todo.size:
            cur = table[slot[todo]]
            hit = cur == keys[todo]
            out[todo[hit]] = True
            todo = todo[~hit & (cur != -1)]
            slot[todo] = (slot[todo] + 1) & mask
        return out

    def _hash(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys.astype(np.uint64) * _MULT) >> np.uint64(64 - self._bits)).astype(np.int64)

    def _insert(self, keys: np.ndarray) -> np.ndarray:
        table, mask = self._table, len(self._table) - 1
        new = np.zeros(len(keys), dtype=bool)
        todo = np.arange(len(keys))
        slot = self._hash(keys)
        while todo.size:
            s, k = slot[todo], keys[todo]
            cur = table[s]
            empty = cur == -1
            table[s[empty]] = k[empty]           # among colliding writers one wins
            won = empty & (table[s] == k)
            new[todo[won]] = True
            done = won | (cur == k)
            todo = todo[~done]
            slot[todo] = (slot[todo] + 1) & mask
        return new

    def _grow(self):
        old = self._table[self._table >= 0]
        self._bits += 1
        self._table = np.full(1 << self._bits, -1, dtype=np.int64)
        self._insert(old)
