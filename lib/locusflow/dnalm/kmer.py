"""k-mer (Markov) baseline for masked-site prediction: P(base | bases at fixed offsets around it).

``offsets = (-5, -4, -3, -2, -1)`` is the order-5 Markov chain (left context only);
``(-3, -2, -1, 1, 2, 3)`` conditions on both sides, like a masked LM with a 7-bp receptive field.
Probabilities are counts plus a pseudo-count ``alpha`` (additive smoothing), weighted as the LM's
loss is (repeats down-weighted), fitted on both strands. Contexts holding N fall back to the base
frequencies.

References
----------
Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120 (k-mer baselines for GPN).
"""
from __future__ import annotations

import numpy as np

from .windows import N_TOKEN, reverse_complement


class KmerModel:
    """Fixed-offset context model over tokens 0..3 (N = 4).

    Parameters
    ----------
    offsets : tuple of int
        Context positions relative to the predicted base.
    alpha : float
        Additive pseudo-count per base.
    """

    def __init__(self, offsets=(-5, -4, -3, -2, -1), alpha: float = 1.0):
        self.offsets, self.alpha = tuple(int(o) for o in offsets), float(alpha)

    def _context(self, tokens: np.ndarray, centre: np.ndarray):
        """Context code of each centre (and whether it is free of N)."""
        code = np.zeros(len(centre), dtype=np.int64)
        ok = np.ones(len(centre), dtype=bool)
        for o in self.offsets:
            t = tokens[..., centre + o] if tokens.ndim == 1 else tokens[np.arange(len(centre)), centre + o]
            ok &= t < N_TOKEN
            code = code * 4 + np.minimum(t, 3)
        return code, ok

    def fit(self, tokens: np.ndarray, weight: np.ndarray | None = None):
        """Count contexts over one long token array (and its reverse complement)."""
        lo, hi = -min(min(self.offsets), 0), len(tokens) - max(max(self.offsets), 0)
        counts = np.zeros((4 ** len(self.offsets), 4))
        w_all = np.ones(len(tokens)) if weight is None else np.asarray(weight, float)
        for seq, w in ((tokens, w_all), (reverse_complement(tokens), w_all[::-1])):
            c = np.arange(lo, hi)
            code, ok = self._context(seq, c)
            ok &= seq[c] < N_TOKEN
            counts += np.bincount(code[ok] * 4 + seq[c][ok], weights=w[c][ok],
                                  minlength=counts.size).reshape(counts.shape)
        self.counts_ = counts
        base = counts.sum(0) + self.alpha
        self.base_logp_ = np.log(base / base.sum())
        sm = counts + self.alpha
        self.logp_ = np.log(sm / sm.sum(1, keepdims=True))
        return self

    def logp(self, windows: np.ndarray, centre: int) -> np.ndarray:
        """log P(base) at column ``centre`` of each window, (n, 4)."""
        c = np.full(len(windows), centre)
        code, ok = self._context(windows, c)
        out = np.where(ok[:, None], self.logp_[code], self.base_logp_[None, :])
        return out

    def logp_both_strands(self, windows: np.ndarray, centre: int) -> np.ndarray:
        """Mean over strands of log P (forward bases; the reverse strand's mapped back by complement)."""
        fwd = self.logp(windows, centre)
        rev = self.logp(reverse_complement(windows), windows.shape[1] - 1 - centre)[:, ::-1]
        return (fwd + rev) / 2
