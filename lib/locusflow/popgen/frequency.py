"""Allele frequencies per block of a genotype store (plink --freq / plink2 --freq equivalent).

alt_freq = sum(dosage) / (2 * n_nonmissing); obs_ct = 2 * n_nonmissing; het_obs = #(dosage == 1) / n_nonmissing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.genotypes import GenotypeStore


def allele_frequencies(dosage: np.ndarray) -> pd.DataFrame:
    """Frequencies from a [variants, samples] dosage matrix with NaN for missing calls."""
    ok = ~np.isnan(dosage)
    n = ok.sum(1)
    total = np.where(ok, dosage, 0).sum(1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = total / (2.0 * n)
        het = ((dosage == 1) & ok).sum(1) / n
    return pd.DataFrame({"alt_freq": f, "maf": np.minimum(f, 1 - f), "obs_ct": 2 * n, "het_obs": het})


def frequency_kernel(unit: dict, store: str, samples=None) -> pd.DataFrame:
    """Work unit: rows ``unit['start']:unit['stop']`` of ``store``; optional sample subset (ids)."""
    g = GenotypeStore(store)
    idx = None if samples is None else g.sample_index(samples)
    d = g.dosages(unit["start"], unit["stop"], samples=idx)
    v = g.variants.iloc[unit["start"]:unit["stop"]]
    out = allele_frequencies(d)
    out.insert(0, "pos", v["pos"].to_numpy())
    out.insert(0, "chrom", v["chrom"].to_numpy())
    out.insert(0, "variant_id", v["variant_id"].to_numpy())
    return out
