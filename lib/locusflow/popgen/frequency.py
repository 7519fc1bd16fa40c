"""Allele frequencies per block of a genotype store (plink --freq / plink2 --freq equivalent).

alt_freq = sum(dosage) / (2 * n_nonmissing); obs_ct = 2 * n_nonmissing; het_obs = #(dosage == 1) / n_nonmissing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.genotypes import GenotypeStore


def allele_frequencies(dosage: np.ndarray) -> pd.DataFrame:
    """Frequencies from a [variants, samples] dosage matrix with NaN for missing calls.

    Parameters
    ----------
    dosage : ndarray of float, shape (n_variants, n_samples)
        Alt-allele dosages (0-2) with NaN for missing calls.

    Returns
    -------
    DataFrame
        One row per variant: ``alt_freq`` = sum(dosage) / (2 n_nonmissing), ``maf`` = min(alt_freq,
        1 - alt_freq), ``obs_ct`` = 2 n_nonmissing and ``het_obs`` = #(dosage == 1) / n_nonmissing; NaN
        frequencies for a variant with no called sample.

    References
    ----------
    Chang CC et al. (2015) Second-generation PLINK: rising to the challenge of larger and richer datasets.
    GigaScience 4:7 (``plink --freq`` / ``plink2 --freq`` ALT_FREQS and OBS_CT).
    """
    ok = ~np.isnan(dosage)
    n = ok.sum(1)
    total = np.where(ok, dosage, 0).sum(1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = total / (2.0 * n)
        het = ((dosage == 1) & ok).sum(1) / n
    return pd.DataFrame({"alt_freq": f, "maf": np.minimum(f, 1 - f), "obs_ct": 2 * n, "het_obs": het})


def frequency_kernel(unit: dict, store: str, samples=None) -> pd.DataFrame:
    """Work unit: rows ``unit['start']:unit['stop']`` of ``store``; optional sample subset (ids).

    Parameters
    ----------
    unit : dict
        The work unit; ``start`` and ``stop`` are variant row numbers of the store (stop exclusive).
    store : str
        Path of a locusflow genotype store (``locusflow ingest``).
    samples : sequence of str, optional
        Sample ids to count; default every sample of the store.

    Returns
    -------
    DataFrame
        ``variant_id``, ``chrom``, ``pos`` of the unit's variants, then the columns of
        :func:`allele_frequencies`.

    Raises
    ------
    InputError
        When ``store`` is not a genotype store, or a sample id is not in it.
    """
    g = GenotypeStore(store)
    idx = None if samples is None else g.sample_index(samples)
    d = g.dosages(unit["start"], unit["stop"], samples=idx)
    v = g.variants.iloc[unit["start"]:unit["stop"]]
    out = allele_frequencies(d)
    out.insert(0, "pos", v["pos"].to_numpy())
    out.insert(0, "chrom", v["chrom"].to_numpy())
    out.insert(0, "variant_id", v["variant_id"].to_numpy())
    return out
