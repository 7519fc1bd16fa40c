"""LD of a reference panel over a set of variants: S-PrediXcan's Gamma and FUSION's R."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class PanelLD:
    """LD of a reference panel over ``variants`` (chrom, pos, rsid, ref, alt; effect = alt).

    Build one with :meth:`from_dosages` (or the constructor, from matrices already computed).

    Parameters
    ----------
    variants : pandas.DataFrame
        chrom, pos, rsid, ref, alt of the matrices' rows.
    cov, corr : numpy.ndarray, optional
        As the attributes below.

    Attributes
    ----------
    variants : pandas.DataFrame
        One row per variant, in the order of the matrices.
    cov : numpy.ndarray, optional
        Covariance of alt dosages (S-PrediXcan's Gamma).
    corr : numpy.ndarray, optional
        Correlation (FUSION's R).
    """
    variants: pd.DataFrame
    cov: np.ndarray | None = None
    corr: np.ndarray | None = None

    @classmethod
    def from_dosages(cls, variants: pd.DataFrame, dosage: np.ndarray) -> "PanelLD":
        """Panel LD of an alt-dosage matrix: float64 covariance (divisor n-1, as ``numpy.cov``) and
        correlation (0 where a variant is monomorphic); missing calls mean-imputed.

        Parameters
        ----------
        variants : pandas.DataFrame
            The m variants (chrom, pos, rsid, ref, alt).
        dosage : numpy.ndarray
            [m, n] alt dosages (NaN: missing).

        Returns
        -------
        PanelLD
        """
        x = np.array(dosage, dtype=np.float64)
        mu = np.nanmean(x, axis=1, keepdims=True)
        x = np.where(np.isnan(x), mu, x) - mu
        cov = x @ x.T / max(x.shape[1] - 1, 1)
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(sd, sd)
        corr[~np.isfinite(corr)] = 0.0
        return cls(variants.reset_index(drop=True), cov, corr)
