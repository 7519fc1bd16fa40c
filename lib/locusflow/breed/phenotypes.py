"""Phenotype tables for genomic selection: read, check against the genotyped samples, report."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..logs import get_logger

log = get_logger("breed")


def read_phenotypes(path, samples, *, traits=None, covariates=()) -> tuple[pd.DataFrame, dict]:
    """A phenotype table aligned to the genotyped samples.

    Parameters
    ----------
    path : str or pathlib.Path
        Read by :func:`locusflow.gwas.phenotypes.read_table` (sample id column IID, #IID, sample_id or
        iid; NA, ., empty and -9 are missing; a non-numeric cell names its row and column).
    samples : array-like of str
        Genotyped sample ids (the store's order).
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
        A missing column, a non-numeric value, duplicated ids, no phenotyped sample among the
        genotyped ones, a constant covariate.
    """
    from ..gwas.phenotypes import read_table
    covariates = list(covariates or [])
    table = read_table(path, missing_code=-9, columns=(list(traits) + covariates) if traits else None)
    for c in covariates:
        if c not in table.columns:
            raise InputError(path, f"a column named '{c}' (columns: {list(table.columns)})", column=c)
    traits = list(traits) if traits else [c for c in table.columns if c not in covariates]
    samples = pd.Index(np.asarray(samples, dtype=str))
    known = table.index.isin(samples)
    if not known.any():
        raise InputError(path, f"sample ids of the genotypes (none of them matches, e.g. {list(samples[:3])})",
                         value=list(table.index[:3]))
    out = table.reindex(samples)
    for c in covariates:
        if np.nanstd(out[c].to_numpy()) == 0:
            raise InputError(path, "a covariate that varies among the genotyped samples (a constant is "
                             "already the intercept)", column=c)
    report = {"n_genotyped": len(samples), "n_with_record": int(out[traits].notna().any(axis=1).sum()),
              "n_genotyped_without_record": int(out[traits].isna().all(axis=1).sum()),
              "n_records_not_genotyped": int((~known).sum())}
    if report["n_records_not_genotyped"] or report["n_genotyped_without_record"]:
        log.warning("%s: %d records of samples not genotyped (ignored); %d genotyped samples without a "
                    "record (GEBV predicted)", path, report["n_records_not_genotyped"],
                    report["n_genotyped_without_record"])
    return out[traits + covariates], report
