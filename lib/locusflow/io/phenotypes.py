"""Phenotype and covariate tables: read, check and align with a genotype store's samples.

A table is whitespace- or tab-separated with a header; the sample id column is ``IID`` (or ``#IID``,
``sample_id``; plink's ``FID`` is allowed and ignored). Missing values: ``NA``, ``nan``, ``.``, empty
and, in phenotype tables, plink's ``-9``. Binary traits are coded 0/1 or plink's 1/2 (control/case).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..logs import get_logger
from ..errors import InputError

log = get_logger("phenotypes")
ID_COLUMNS = ("IID", "#IID", "sample_id", "iid")
MISSING = ["NA", "nan", "NaN", ".", ""]


def read_table(path, *, missing_code: float | None = None, columns=None) -> pd.DataFrame:
    """Numeric table indexed by sample id; a non-numeric cell is an error naming row and column.

    Parameters
    ----------
    path : file (tab or whitespace separated, header row)
    missing_code : a number that also means missing (plink: -9 in phenotype tables)
    columns : keep only these value columns (each must exist)

    Returns
    -------
    pandas.DataFrame of float64, index = sample ids (str)

    References
    ----------
    plink2 ``--pheno`` / ``--covar`` file format (IID column, NA and -9 missing).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    csv = path.suffix == ".csv"     # sniffed delimiter: the python parser; whitespace: the C one
    df = pd.read_csv(path, sep=None if csv else r"\s+", dtype=str, engine="python" if csv else "c",
                     keep_default_na=False)
    idcol = next((c for c in ID_COLUMNS if c in df.columns), None)
    if idcol is None:
        raise InputError(path, f"a sample id column named one of {list(ID_COLUMNS)}", row=0)
    ids = df[idcol]
    dup = ids.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(path, "unique sample ids", row=i + 1, column=idcol, value=ids.iloc[i])
    values = [c for c in df.columns if c not in (idcol, "FID", "#FID")]
    if columns is not None:
        for c in columns:
            if c not in values:
                raise InputError(path, f"a column '{c}'", row=0, value=values)
        values = list(columns)
    out = {}
    for c in values:
        raw = df[c].str.strip()
        num = pd.to_numeric(raw.where(~raw.isin(MISSING)), errors="coerce")
        bad = num.isna() & ~raw.isin(MISSING)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(path, "a number or NA", row=i + 1, column=c, value=raw.iloc[i])
        if missing_code is not None:
            num = num.mask(num == missing_code)
        out[c] = num.astype(np.float64).to_numpy()
    return pd.DataFrame(out, index=pd.Index(ids.astype(str), name="sample_id"))


def is_binary(y: np.ndarray) -> bool:
    """True when the observed values are two of {0, 1} or {1, 2} (plink case/control).

    Parameters
    ----------
    y : (n,) phenotype values, NaN = missing

    Returns
    -------
    bool

    References
    ----------
    plink2 case/control coding (1/2, or 0/1 with ``--1``).
    """
    u = np.unique(y[~np.isnan(y)])
    return len(u) == 2 and (set(u) <= {0.0, 1.0} or set(u) <= {1.0, 2.0})


@dataclass
class GwasSamples:
    """Phenotypes and covariates aligned with the store's samples, with what was left out and why.

    Attributes
    ----------
    store_index : positions in the store of the samples used (phenotyped, covariates complete)
    pheno : (n, t) float64, NaN = missing; binary traits recoded 0/1
    covar : (n, c) float64 or None
    traits, binary : names and kinds of the traits
    report : counts of samples kept and dropped by reason
    """

    store_index: np.ndarray
    pheno: np.ndarray
    covar: np.ndarray | None
    traits: list
    binary: list
    covar_names: list = field(default_factory=list)
    report: dict = field(default_factory=dict)


def align_samples(store_samples, pheno: pd.DataFrame, covar: pd.DataFrame | None = None, *,
                  pheno_path="phenotypes", covar_path="covariates", binary="auto") -> GwasSamples:
    """Match phenotype and covariate rows to the store's samples and check them.

    Unknown sample ids (not in the store) are an error; store samples without a phenotype row, and
    samples with a missing covariate, are left out and counted in ``report``. A covariate that is
    constant, or a linear combination of others, over the samples used is an error naming it.

    Parameters
    ----------
    store_samples : sample ids of the genotype store, in store order
    pheno, covar : tables from `read_table`
    binary : "auto" (0/1 or 1/2 traits are binary), True, False, or a list of binary trait names

    Returns
    -------
    GwasSamples

    References
    ----------
    plink2 ``--glm``: samples missing a covariate are left out of every regression.
    """
    store_samples = pd.Index(np.asarray(store_samples, dtype=str))
    for tab, path in ((pheno, pheno_path), (covar, covar_path)):
        if tab is None:
            continue
        unknown = ~tab.index.isin(store_samples)
        if unknown.any():
            bad = list(tab.index[unknown][:5])
            raise InputError(path, f"sample ids present in the genotype store ({int(unknown.sum())} of "
                             f"{len(tab)} are not)", row=int(np.flatnonzero(unknown)[0]) + 1,
                             column="IID", value=bad)
    keep = store_samples.isin(pheno.index)
    report = {"store_samples": len(store_samples), "no_phenotype_row": int((~keep).sum())}
    if covar is not None:
        in_cov = store_samples.isin(covar.index)
        report["no_covariate_row"] = int((keep & ~in_cov).sum())
        keep &= in_cov
        cv = covar.reindex(store_samples).to_numpy()
        miss_cov = np.isnan(cv).any(1)
        report["missing_covariate"] = int((keep & miss_cov).sum())
        keep &= ~miss_cov
    idx = np.flatnonzero(keep)
    if not len(idx):
        raise InputError(pheno_path, "samples with a phenotype row" + ("" if covar is None else
                         " and every covariate") + f" among the genotype store's {len(store_samples)} "
                         f"(none: {report})")
    ph = pheno.reindex(store_samples[idx])
    y = ph.to_numpy(np.float64).copy()
    traits = list(ph.columns)
    kinds = []
    for j, t in enumerate(traits):
        if np.isnan(y[:, j]).all():
            raise InputError(pheno_path, f"observed values of the trait among the {len(idx)} analysed samples "
                             "(all are missing)", column=t)
        b = is_binary(y[:, j]) if binary == "auto" else (t in binary if isinstance(binary, (list, tuple))
                                                          else bool(binary))
        if b:
            if not is_binary(y[:, j]):
                raise InputError(pheno_path, "a binary trait coded 0/1 or 1/2", column=t,
                                 value=list(np.unique(y[~np.isnan(y[:, j]), j])[:5]))
            if np.nanmax(y[:, j]) == 2:
                y[:, j] -= 1
        elif np.nanstd(y[:, j]) == 0:
            raise InputError(pheno_path, "a trait that varies across the analysed samples", column=t)
        kinds.append(bool(b))
    c = None
    names = []
    if covar is not None:
        c = covar.reindex(store_samples[idx]).to_numpy(np.float64)
        names = list(covar.columns)
        check_covariates(c, names, covar_path)
    report["analysed"] = int(len(idx))
    report["per_trait"] = {t: int((~np.isnan(y[:, j])).sum()) for j, t in enumerate(traits)}
    log.info("samples: %d analysed of %d in the store; %d without a phenotype row%s", len(idx),
             len(store_samples), report["no_phenotype_row"],
             "" if covar is None else f", {report['no_covariate_row']} without a covariate row, "
                                      f"{report['missing_covariate']} with a missing covariate")
    return GwasSamples(store_index=idx, pheno=y, covar=c, traits=traits, binary=kinds,
                       covar_names=names, report=report)


def check_covariates(c: np.ndarray, names, path) -> None:
    """A constant covariate, or one that is a linear combination of the others, is an error.

    Parameters
    ----------
    c : (n, c) covariates over the analysed samples
    names : their column names
    path : the covariate file (for the message)

    Returns
    -------
    None; raises InputError naming the column

    References
    ----------
    plink2 ``--glm`` refuses collinear covariates (its VIF / max-corr checks).
    """
    sd = c.std(0)
    for j in np.flatnonzero(sd == 0):
        raise InputError(path, "a covariate that varies across the analysed samples (a constant one is "
                         "collinear with the intercept)", column=names[j], value=float(c[0, j]))
    x = np.hstack([np.ones((len(c), 1)), (c - c.mean(0)) / sd])
    rank = np.linalg.matrix_rank(x)
    if rank < x.shape[1]:
        # the first column that adds nothing to the ones before it
        for j in range(1, x.shape[1]):  # loop over covariates (a handful), not samples
            if np.linalg.matrix_rank(x[:, :j + 1]) <= j:
                raise InputError(path, "covariates that are not linear combinations of each other "
                                 f"(this one is a combination of {', '.join(names[:j - 1])} and the intercept)",
                                 column=names[j - 1])
