"""Phenotype tables for genomic selection: read, check against the genotyped samples, report."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..logs import get_logger

log = get_logger("breed")
ID_COLUMNS = ("IID", "iid", "id", "ID", "animal", "sample", "sample_id", "line")


def read_phenotypes(path, samples, *, id_column=None, traits=None, covariates=()) -> tuple[pd.DataFrame, dict]:
    """A phenotype table aligned to the genotyped samples.

    Parameters
    ----------
    path : str or pathlib.Path
        TSV/CSV (or whitespace separated) with a header: a sample id column, trait columns, covariates.
    samples : array-like of str
        Genotyped sample ids (the store's order).
    id_column : str, optional
        Default: the first of IID, id, animal, sample, sample_id, line present, else the first column.
    traits : list of str, optional
        Trait columns (default every column but the id and the covariates).
    covariates : sequence of str
        Numeric fixed-effect columns.

    Returns
    -------
    table : pandas.DataFrame
        One row per genotyped sample in store order (NaN where it has no record), columns traits and
        covariates.
    report : dict
        n_genotyped, n_with_record, n_genotyped_without_record, n_records_not_genotyped.

    Raises
    ------
    InputError
        A missing column, a non-numeric value (file, row and column named), duplicated ids, no
        phenotyped sample among the genotyped ones, a constant covariate.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "phenotype table (an id column and one column per trait) not found")
    tab = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False)
    idc = id_column or next((c for c in ID_COLUMNS if c in tab.columns), tab.columns[0])
    if idc not in tab.columns:
        raise InputError(path, f"a sample id column '{idc}'", column=idc)
    covariates = list(covariates or [])
    traits = list(traits) if traits else [c for c in tab.columns if c != idc and c not in covariates
                                          and c.upper() != "FID"]
    for c in traits + covariates:
        if c not in tab.columns:
            raise InputError(path, f"a column named '{c}' (columns: {list(tab.columns)})", column=c)
    dup = tab[idc].duplicated()
    if dup.any():
        raise InputError(path, "one row per sample id", row=int(np.argmax(dup.to_numpy())) + 1, column=idc,
                         value=tab[idc][dup].iloc[0])
    num = {}
    for c in traits + covariates:    # loop over columns
        txt = tab[c].str.strip()
        val = pd.to_numeric(txt.where(~txt.isin(["", "NA", "nan", "NaN", "-9"])), errors="coerce")
        bad = val.isna() & ~txt.isin(["", "NA", "nan", "NaN", "-9"])
        if bad.any():
            k = int(np.argmax(bad.to_numpy()))
            raise InputError(path, "a number (or NA)", row=k + 1, column=c, value=tab[c].iloc[k])
        num[c] = val.to_numpy(dtype=np.float64)
    table = pd.DataFrame(num, index=tab[idc].to_numpy())
    samples = pd.Index(np.asarray(samples, dtype=str))
    known = table.index.isin(samples)
    if not known.any():
        raise InputError(path, f"sample ids of the genotypes (column '{idc}'; none of them matches, e.g. "
                         f"{list(samples[:3])})", column=idc, value=list(table.index[:3]))
    out = table.reindex(samples)
    for c in covariates:
        v = out[c].to_numpy()
        if np.nanstd(v) == 0:
            raise InputError(path, "a covariate that varies among the genotyped samples (a constant is "
                             "already the intercept)", column=c)
    report = {"n_genotyped": len(samples), "n_with_record": int(out[traits].notna().any(axis=1).sum()),
              "n_genotyped_without_record": int(out[traits].isna().all(axis=1).sum()),
              "n_records_not_genotyped": int((~known).sum())}
    if report["n_records_not_genotyped"] or report["n_genotyped_without_record"]:
        log.warning("%s: %d records of samples not genotyped (ignored); %d genotyped samples without a "
                    "record (GEBV predicted)", path, report["n_records_not_genotyped"],
                    report["n_genotyped_without_record"])
    return out, report
