"""The ``twas_results`` frame of a TWAS kernel from its per-model arrays (S-PrediXcan and FUSION alike).

One row per model: the model's own columns (its first weight row), z, p-value, effect size, var_g,
the SNPs used and every SNP dropped with its reason (``REASON_NAMES``), per-reason counts and the
numbers of swapped and strand-flipped SNPs. Columns are gathered in a dict and one frame is built at
the end, conformed to schema ``twas_results``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ..io.harmonise import AMBIGUOUS, FLIP, FLIP_SWAP, MISMATCH, SWAP
from ..io.matching import is_placed
from ..schema import arrow_string, load

MODEL_COLS = ["model_id", "gene", "gene_name", "tissue", "method", "panel"]
# the columns of schema weights that a trait-time reader needs (a reader need not load the others)
WEIGHT_COLUMNS = MODEL_COLS + ["chrom", "pos", "rsid", "effect_allele", "other_allele", "weight", "cv_r2", "cv_pval",
                               "cv_qval", "n_snps_in_model", "weight_row"]


def model_codes(model_id: pd.Series):
    """Integer code of each row's model.

    Parameters
    ----------
    model_id : pandas.Series
        Model id per weight row.

    Returns
    -------
    (numpy.ndarray, pandas.Index)
        Code per row and the distinct ids in order of first appearance (``pandas.factorize``).
    """
    return pd.factorize(model_id, sort=False)


REASON_NAMES = ("", "not_in_gwas", "allele_mismatch", "ambiguous", "nonfinite_z", "not_in_ld", "zero_weight",
                 "model_failed")


def _reasons(w: pd.DataFrame, used: np.ndarray, mcode: np.ndarray, models, reason=None) -> dict:
    """Per model: ';'-joined SNPs used and 'rsid:reason' of the others, and per-reason counts (columns)."""
    nm = len(models)
    if reason is None:
        how = w["how"].to_numpy()
        rc = np.zeros(len(w), np.int8)
        rc[how == -1], rc[how == MISMATCH], rc[how == AMBIGUOUS] = 1, 2, 3
        rc[(how > 0) & ~np.isfinite(w["z"].to_numpy())] = 4
        rc[(rc == 0) & ~used] = 5
    else:
        rc = pd.Index(REASON_NAMES).get_indexer(np.asarray(reason, dtype=object)).astype(np.int8)
    import pyarrow as pa
    import pyarrow.compute as pc
    snp = w["rsid"]
    if snp.isna().any():
        snp = snp.astype(object).fillna(w["chrom"].astype(str) + ":" + w["pos"].astype(str))
    if isinstance(snp.dtype, pd.CategoricalDtype):    # Arrow takes from the categories: no string per row
        cats = pa.array(np.asarray(snp.cat.categories, dtype=object), pa.string())
        codes = snp.cat.codes.to_numpy()

        def take(sel):
            return cats.take(pa.array(codes[sel]))
    else:
        arr = pa.array(snp.to_numpy(dtype=object), pa.string())

        def take(sel):
            return arr.filter(pa.array(sel)) if sel.dtype == bool else arr.take(pa.array(sel))
    out = {"snps_used": _join(mcode[used], take(used), nm)}
    drop = ~used
    names = pa.array(list(REASON_NAMES), pa.string()).take(pa.array(rc[drop]))
    out["snps_dropped"] = _join(mcode[drop], pc.binary_join_element_wise(take(drop), names, ":"), nm)
    per = np.bincount(mcode.astype(np.int64) * 8 + np.maximum(rc, 0), minlength=nm * 8).reshape(nm, 8)   # one pass
    for k, r in enumerate(REASON_NAMES[1:7], start=1):
        out[f"n_dropped_{r}"] = per[:, k].astype(np.int64)
    how = w["how"].to_numpy() if "how" in w else np.zeros(len(w), np.int8)
    out["n_swapped"] = np.bincount(mcode, used & ((how == SWAP) | (how == FLIP_SWAP)), minlength=nm).astype(np.int64)
    out["n_strand_flipped"] = np.bincount(mcode, used & ((how == FLIP) | (how == FLIP_SWAP)), minlength=nm).astype(np.int64)
    return out


def _join(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """';'-joined values per model code (order of appearance kept); '' if none. One stable sort by code,
    then Arrow joins each model's slice (a list array over the sorted values)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not len(codes):
        return pd.array(np.full(n, "", dtype=object), dtype=pd.ArrowDtype(pa.string()))
    values = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.string())
    if np.any(codes[1:] < codes[:-1]):
        order = np.argsort(codes, kind="stable")
        codes, values = codes[order], values.take(pa.array(order))
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.bincount(codes, minlength=n), out=offsets[1:])
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    lists = pa.ListArray.from_arrays(pa.array(offsets), values)
    return pd.array(pc.binary_join(lists, ";"), dtype=pd.ArrowDtype(pa.string()))


_RENAME = {"cv_r2": "pred_perf_r2", "cv_pval": "pred_perf_pval", "cv_qval": "pred_perf_qval"}


def _model_columns(w: pd.DataFrame, mcode: np.ndarray, models) -> dict:
    """Per-model columns (the first row of each model), as Series in model-code order."""
    _, first = np.unique(mcode, return_index=True)
    out = {}
    for c in MODEL_COLS + ["cv_r2", "cv_pval", "cv_qval", "n_snps_in_model"]:
        if c in w:
            out[_RENAME.get(c, c)] = w[c].iloc[first].reset_index(drop=True)
    if "chrom" in w:   # chrom of the model: its first placed SNP
        pl = np.flatnonzero(is_placed(w["chrom"]))
        _, f2 = np.unique(mcode[pl], return_index=True)
        ch = np.full(len(models), "NA", dtype=object)
        ch[mcode[pl][f2]] = w["chrom"].take(pl[f2]).to_numpy(dtype=object)
        out["chrom"] = ch
    return out


def assemble(w, used, num, var_g, eff, n_in_cov, n_used, method, ld_reference, reason=None, codes=None):
    """The results frame (schema ``twas_results``) of the models of ``w`` from per-model arrays.

    ``zscore = num / sqrt(var_g)`` and ``pvalue = 2 Phi(-|z|)``.

    Parameters
    ----------
    w : pandas.DataFrame
        The weight rows (schema weights) with ``how`` (allele match) and ``z``.
    used : numpy.ndarray of bool
        Per weight row: the SNP entered the model's z.
    num, var_g, eff, n_in_cov, n_used : numpy.ndarray
        Per model: numerator of z, variance of predicted expression, effect size, SNPs in the LD
        (covariance file or panel), SNPs used.
    method, ld_reference : str
        ``twas_method`` and ``ld_reference`` columns.
    reason : array-like of str, optional
        Per weight row, its drop reason (one of ``REASON_NAMES``); derived from ``how``, ``z`` and
        ``used`` when not given.
    codes : (numpy.ndarray, pandas.Index), optional
        :func:`model_codes` of ``w["model_id"]`` when already computed.

    Returns
    -------
    pandas.DataFrame
        One row per model, schema ``twas_results`` (block_id null).
    """
    mcode, models = codes if codes is not None else model_codes(w["model_id"])
    nm = len(models)
    res = _model_columns(w, mcode, models)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = num / np.sqrt(np.where(var_g > 0, var_g, np.nan))
    res.update({"zscore": z, "effect_size": eff, "var_g": var_g,
                "pvalue": 2 * ndtr(-np.abs(z)),      # = 2 norm.sf(|z|) (scipy: sf(x) = ndtr(-x))
                "n_snps_used": n_used, "n_snps_in_cov": n_in_cov})
    res.update(_reasons(w, used, mcode, models, reason))
    if "n_snps_in_model" not in res or res["n_snps_in_model"].isna().any():
        res["n_snps_in_model"] = np.bincount(mcode, (w["weight"] != 0).to_numpy(), minlength=nm).astype(np.int64)
    sch = _results_schema()
    const = {"twas_method": method, "ld_reference": ld_reference, "block_id": None, "n_imputed": 0}
    cols = {}
    for c in sch.columns:
        v = res.get(c.name, const.get(c.name))
        if not isinstance(v, (np.ndarray, pd.Series, pd.api.extensions.ExtensionArray)):
            v = np.full(nm, v, dtype=object if v is None or isinstance(v, str) else None)
        if c.type == "string" and not arrow_string(getattr(v, "dtype", None)) and pd.notna(v).any():
            # str once per column (Arrow), not per value in conform
            v = pd.Series(v).astype("string[pyarrow]").array
        cols[c.name] = v.array if isinstance(v, pd.Series) else v
    return sch.conform(pd.DataFrame(cols, copy=False), source=f"{method} kernel")


@lru_cache(maxsize=1)
def _results_schema():
    return load("twas_results")
