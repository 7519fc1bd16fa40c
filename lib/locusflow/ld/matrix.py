"""Per-block LD matrices from a reference panel.

r = X'X / n over standardised dosages X (variants centred and scaled to unit variance, missing calls
mean-imputed), computed as one float32 GEMM; signs follow the `alt` allele. This equals plink's
``--r`` on complete data (Pearson correlation of allele counts).
"""
from __future__ import annotations

import numpy as np

from ..io.genotypes import standardise


def ld_matrix(dosage: np.ndarray) -> np.ndarray:
    """float32 correlation matrix [m, m] of a [m variants, n samples] dosage matrix (NaN = missing)."""
    x = standardise(dosage)
    n = x.shape[1]
    r = x @ x.T
    r /= np.float32(n)
    np.fill_diagonal(r, np.where(np.any(x != 0, axis=1), 1.0, 0.0).astype(np.float32))
    return r
