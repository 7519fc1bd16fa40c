"""A block's LD matrix and z before fine-mapping: mixed-ancestry LD from several panels, and ImpG imputation
of the z of reference variants the GWAS did not report.

* Mixed ancestry (Benner et al. 2016, FINEMAP's recipe for a meta-analysis of several populations):
  ``R = sum_k n_k R_k / sum_k n_k``, R_k the LD of panel k (a genotype store and its samples) and n_k
  the GWAS sample size of population k. For a sample-size-weighted meta-analysis
  ``z = sum_k sqrt(n_k) z_k / sqrt(sum_k n_k)`` with ``z_k ~ N(sqrt(n_k) R_k b, R_k)`` this is exactly
  Cov(z). Variants absent from, or monomorphic in, any panel are dropped.
* ImpG-Summary (Pasaniuc et al. 2014): for typed SNPs t and untyped m,
  ``z_m = R_mt (R_tt + lambda I)^-1 z_t`` (the conditional mean of z_m given z_t when z ~ N(mu, R)),
  with imputation quality ``r^2_m = diag(R_mt (R_tt + lambda I)^-1 R_tm)`` (the share of z_m's variance
  the typed SNPs explain); untyped variants with r^2 below a threshold are left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError


def impute_z(z, R, typed, ridge: float = 0.1):
    """ImpG-Summary z of the untyped variants and their imputation r^2.

    Parameters
    ----------
    z : array-like, shape (p,)
        z-scores; entries of untyped variants are ignored.
    R : array-like, shape (p, p)
        LD of all p variants.
    typed : array-like of bool, shape (p,)
        Variants with a GWAS z.
    ridge : float
        lambda added to the diagonal of R_tt (0.1).

    Returns
    -------
    z_all : numpy.ndarray, shape (p,)
        z with the untyped entries imputed: ``R_mt (R_tt + lambda I)^-1 z_t``.
    r2 : numpy.ndarray, shape (p,)
        ``diag(R_mt (R_tt + lambda I)^-1 R_tm)`` for untyped variants, 1 for typed ones.

    References
    ----------
    Pasaniuc B, Zaitlen N, Shi H, et al. (2014). Fast and accurate imputation of summary statistics
    enhances evidence of functional enrichment. Bioinformatics 30:2906-2914 (ImpG-Summary).
    """
    from scipy.linalg import cho_factor, cho_solve
    z = np.asarray(z, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(typed, dtype=bool)
    out, r2 = z.copy(), np.ones(z.size)
    m = ~t
    if not m.any():
        return out, r2
    if not t.any():
        out[m], r2[m] = 0.0, 0.0
        return out, r2
    fac = cho_factor(R[np.ix_(t, t)] + ridge * np.eye(int(t.sum())))
    w = cho_solve(fac, R[np.ix_(t, m)])                  # (R_tt + lambda I)^-1 R_tm
    out[m] = w.T @ z[t]
    r2[m] = np.einsum("tm,tm->m", R[np.ix_(t, m)], w)
    return out, r2


def weighted_ld(mats, n):
    """Sample-size-weighted average of LD matrices, ``sum_k n_k R_k / sum_k n_k``.

    Parameters
    ----------
    mats : sequence of numpy.ndarray, each (p, p)
        LD of the same variants in each panel.
    n : sequence of float
        GWAS sample size of each population.

    Returns
    -------
    numpy.ndarray, shape (p, p)
        The mixed LD matrix (float64).

    References
    ----------
    Benner C, Spencer CCA, Havulinna AS, et al. (2016). FINEMAP: efficient variable selection using
    summary data from genome-wide association studies. Bioinformatics 32:1493-1501.
    """
    n = np.asarray(n, dtype=np.float64)
    if len(mats) != n.size or n.size == 0 or (n <= 0).any():
        raise InputError("finemap.ld_panels", "one positive n per panel", column="n", value=n.tolist())
    out = np.zeros(np.shape(mats[0]))
    for r, nk in zip(mats, n):          # loop over panels (a few)
        out += nk * np.asarray(r, dtype=np.float64)
    return out / n.sum()


def panel_ld(m: pd.DataFrame, store: str, panels: list):
    """LD of the block's matched variants ``m`` as :func:`weighted_ld` over ``panels`` ({store, samples, n};
    store defaults to ``store``). Returns (kept mask over m's rows, R of the kept ones).

    Parameters
    ----------
    m : pandas.DataFrame
        Matched variants (``variant_id``; ``store_index`` in ``store``).
    store : str
        The run's genotype store.
    panels : list of dict
        ``{"n": float, "samples": ids or file (default all), "store": path (default ``store``)}``.

    Returns
    -------
    keep : numpy.ndarray of bool
        Variants present and polymorphic in every panel.
    R : numpy.ndarray
        Their mixed LD.
    """
    from ..io.dataset import read_dataset
    from ..io.genotypes import GenotypeStore
    from ..ld.matrix import ld_matrix
    from ..ld.stage import read_samples
    for i, p in enumerate(panels):      # loop over panels: each needs its population's GWAS n
        if not isinstance(p, dict) or not isinstance(p.get("n"), (int, float)) or p["n"] <= 0:
            raise InputError("config", "each of finemap.ld_panels as {n: N > 0, samples: ..., store: ...}",
                             column=f"finemap.ld_panels[{i}].n", value=p)
    keep = np.ones(len(m), dtype=bool)
    index = []
    for p in panels:                    # loop over panels: where each variant is in its store
        path = str(p.get("store") or store)
        if path == str(store):
            idx = m["store_index"].to_numpy()
        else:
            ref = read_dataset(f"{path}/variants.parquet", "variants", columns=["variant_id", "store_index"],
                               filters=[("variant_id", "in", list(m["variant_id"]))])
            idx = m["variant_id"].map(ref.drop_duplicates("variant_id").set_index("variant_id")["store_index"])
            keep &= idx.notna().to_numpy()
            idx = idx.fillna(-1).to_numpy(dtype=np.int64)
        index.append((path, idx))
    present = np.flatnonzero(keep)
    mats, poly = [], np.ones(present.size, dtype=bool)
    for (path, idx), p in zip(index, panels):    # loop over panels: their LD of the common variants
        gs = GenotypeStore(path)
        samples = read_samples(p.get("samples"), gs)
        sidx = gs.sample_index(samples) if samples is not None else None
        r = ld_matrix(gs.dosages(index=idx[present], samples=sidx))
        poly &= np.diag(r) > 0.5                 # ld_matrix gives a monomorphic variant a zero row
        mats.append(r)
    keep[present[~poly]] = False
    return keep, weighted_ld([r[np.ix_(poly, poly)] for r in mats], [p["n"] for p in panels])


def untyped_variants(unit: dict, store: str, matched: pd.DataFrame, ld_var: pd.DataFrame | None = None):
    """Reference variants of the block that the sumstats did not report (candidates for :func:`impute_z`),
    as rows like :func:`.task.read_block_inputs`' with a missing ``z_ref``: polymorphic store variants, or
    the variants of the LD stage's matrix ``ld_var`` (with their ``ld_index``).

    Parameters
    ----------
    unit : dict
        The block: chrom, start, stop.
    store : str
        Genotype store.
    matched : pandas.DataFrame
        The block's matched (typed) variants.
    ld_var : pandas.DataFrame, optional
        Variants of the block's stored LD matrix, in matrix order.

    Returns
    -------
    pandas.DataFrame
        The untyped variants (variant_id, chrom, pos, ref, alt, rsid, store_index or ld_index, z_ref NaN).
    """
    from ..io.dataset import read_dataset
    if ld_var is not None:
        out = ld_var.assign(ld_index=np.arange(len(ld_var)), rsid=None, store_index=-1)
    else:
        chrom, start, stop = str(unit["chrom"]), int(unit["start"]), int(unit["stop"])
        out = read_dataset(f"{store}/variants.parquet", "variants",
                           filters=[("chrom", "==", chrom), ("pos", ">=", start), ("pos", "<", stop)])
        out = out[((out["af"] > 0) & (out["af"] < 1)).to_numpy()].drop_duplicates("variant_id")
    out = out[~out["variant_id"].isin(matched["variant_id"])]
    cols = [c for c in ("variant_id", "chrom", "pos", "ref", "alt", "rsid", "store_index", "ld_index") if c in out]
    return out[cols].assign(z_ref=np.nan, n=np.nan, p=np.nan).reset_index(drop=True)


def impute_block(m: pd.DataFrame, R: np.ndarray, spec: dict):
    """Impute the missing ``z_ref`` of ``m`` (:func:`impute_z`), keep typed variants and untyped ones with
    r^2 >= ``spec['min_r2']`` (0.6). Returns (m with ``imputation_r2`` (NaN when typed), R, counts).

    Parameters
    ----------
    m : pandas.DataFrame
        Typed and untyped variants (z_ref NaN for the latter), in R's order.
    R : numpy.ndarray
        Their LD.
    spec : dict
        ``{"min_r2": 0.6, "ridge": 0.1}``.

    Returns
    -------
    tuple
        (kept rows, their R, {"n_imputed": ..., "n_low_imputation_r2": ...}).
    """
    typed = m["z_ref"].notna().to_numpy()
    z, r2 = impute_z(m["z_ref"].fillna(0.0).to_numpy(dtype=np.float64), R, typed, float(spec.get("ridge", 0.1)))
    ok = typed | (r2 >= float(spec.get("min_r2", 0.6)))
    counts = {"n_imputed": int((ok & ~typed).sum()), "n_low_imputation_r2": int((~ok).sum())}
    m = m.assign(z_ref=z, imputation_r2=np.where(typed, np.nan, r2))[ok].reset_index(drop=True)
    return m, R[np.ix_(ok, ok)], counts
