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

from .windows import COMPLEMENT, N_TOKEN, reverse_complement


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

    def fit(self, tokens: np.ndarray, weight: np.ndarray | None = None, chunk: int = 1 << 22):
        """Count contexts over one long token array and its reverse complement, ``chunk`` positions at a time.

        Parameters
        ----------
        tokens : ndarray of int
            One chromosome's tokens (A C G T N = 0..4).
        weight : ndarray of float, optional
            Weight of each position (e.g. repeats down-weighted) [1].
        chunk : int
            Positions counted per step (bounds temporary memory; the counts do not depend on it).

        Returns
        -------
        KmerModel
            ``self``, with ``counts_``, ``logp_`` and ``base_logp_``.
        """
        neg, pos = -min(min(self.offsets), 0), max(max(self.offsets), 0)
        n = len(tokens)
        counts = np.zeros((4 ** len(self.offsets), 4))
        w_all = np.ones(n) if weight is None else np.asarray(weight, float)
        for strand in (0, 1):
            for a in range(neg, n - pos, chunk):
                b = min(n - pos, a + chunk)
                lo, hi = a - neg, b + pos                       # the slice of this strand that the chunk reads
                if strand == 0:
                    seq, w = tokens[lo:hi], w_all[lo:hi]
                else:                                           # reverse complement, never materialised whole
                    seq, w = COMPLEMENT[tokens[n - hi:n - lo]][::-1], w_all[n - hi:n - lo][::-1]
                m = b - a
                seq = seq.astype(np.int32)                       # small integers: less memory traffic
                code, ok = np.zeros(m, dtype=np.int32), np.ones(m, dtype=bool)
                for o in self.offsets:                          # contiguous centres: slices, not gathers
                    t = seq[neg + o:neg + o + m]
                    ok &= t < N_TOKEN
                    code = code * 4 + np.minimum(t, 3)
                base, wc = seq[neg:neg + m], w[neg:neg + m]
                ok &= base < N_TOKEN
                counts += np.bincount(code[ok] * 4 + base[ok], weights=wc[ok],
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
