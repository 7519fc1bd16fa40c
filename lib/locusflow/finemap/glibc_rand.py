"""glibc's ``rand()`` stream, so that a stochastic search driven by C's ``srand(seed); rand()`` (FINEMAP-inf's
reference implementation, built on Linux) can be followed step by step.

glibc's default generator (TYPE_3, additive feedback, 31 words of state): ``r_0 = seed`` (0 is taken as
1), ``r_i = 16807 r_{i-1} mod (2^31 - 1)`` for i = 1..30, ``r_i = r_{i-31}`` for i = 31..33,
``r_i = (r_{i-3} + r_{i-31}) mod 2^32`` for i >= 34; the k-th output (k = 0, 1, ...) is
``r_{k+344} >> 1``, in [0, RAND_MAX = 2^31 - 1].
"""
from __future__ import annotations

import numpy as np

RAND_MAX = 2147483647


class GlibcRand:
    """The sequence of glibc ``rand()`` after ``srand(seed)``; :meth:`uniform` gives ``rand() / RAND_MAX``.

    Parameters
    ----------
    seed : int
        The ``srand`` seed, 0 <= seed <= 2^31 - 1.

    References
    ----------
    GNU C Library ``stdlib/random_r.c`` (``__srandom_r``, ``__random_r``, TYPE_3); P. Selinger, "The GLIBC
    pseudo-random number generator" (2007).
    """

    def __init__(self, seed: int):
        seed = int(seed)
        if not 0 <= seed <= RAND_MAX:
            raise ValueError(f"seed must be in [0, {RAND_MAX}], not {seed}")
        r = [seed or 1]
        for _ in range(30):       # the 31 words of state, by Schrage's method as glibc computes them
            hi, lo = divmod(r[-1], 127773)
            w = 16807 * lo - 2836 * hi
            r.append(w + RAND_MAX if w < 0 else w)
        r += r[:3]
        self._state = r           # the last 34 words
        self._buf = np.zeros(0, dtype=np.int64)
        self._skip = 310          # outputs start at r_344
        self._used = 0

    def _more(self, count: int) -> np.ndarray:
        r = self._state
        out = []
        for _ in range(count + self._skip):     # loop over draws (a few thousand per search)
            r.append((r[-31] + r[-3]) & 0xFFFFFFFF)
            out.append(r[-1] >> 1)
        del r[:-34]
        out, self._skip = out[self._skip:], 0
        return np.asarray(out, dtype=np.int64)

    def rand(self) -> int:
        """The next ``rand()`` value."""
        if self._used == self._buf.size:
            self._buf, self._used = self._more(1024), 0
        self._used += 1
        return int(self._buf[self._used - 1])

    def uniform(self) -> float:
        """``(double) rand() / RAND_MAX`` (in [0, 1])."""
        return self.rand() / RAND_MAX
