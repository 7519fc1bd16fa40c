"""Covariates of expression (PCs, PEER factors, sex, batch ...) and expression residualised on them.

A covariate table is read in either orientation:

- samples x covariates: a sample id column (``IID``, ``#IID``, ``sample_id``, ``ID``; plink's ``FID``
  ignored), then one column per covariate;
- covariates x samples (PredictDB, GTEx ``*.covariates.txt``): a first column naming the covariate, then
  one column per sample; recognised when most of its header is the expression table's sample ids.

Numeric columns enter as they are; a column with any non-numeric value, or one named in ``factors``, is
a factor: one 0/1 indicator per level but the first (R ``model.matrix`` treatment coding, levels
sorted). A missing value is an error (PredictDB's ``lm`` would silently drop the sample).

Residualisation (PredictDB ``adjust_for_covariates``): the residuals of ``lm(expression ~ covariates)``
(intercept included), then ``scale``d: centred and divided by their SD (n - 1 denominator).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError
from .eqtl import residualise, residualiser

SAMPLE_COLUMNS = ("IID", "#IID", "sample_id", "iid", "ID", "id", "sample")
MISSING = ("", "NA", "nan", "NaN", ".")


def read_covariates(path, samples, factors=()) -> pd.DataFrame:
    """A covariate table as a numeric design (without intercept), rows in ``samples`` order.

    Parameters
    ----------
    path : str or pathlib.Path
        Covariate table (either orientation, see the module docstring).
    samples : array-like of str
        Samples wanted (e.g. the expression table's); each must be in the table.
    factors : sequence of str
        Columns to treat as factors even when numeric (e.g. a batch coded 1, 2, 3).

    Returns
    -------
    pandas.DataFrame
        float64, index ``samples``, one column per numeric covariate and per non-reference level of
        each factor (``name=level``).

    Raises
    ------
    InputError
        Missing file, no sample id column, a sample absent from the table, a missing value, a named
        factor that is not a column.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "a covariate table: file not found")
    raw = pd.read_csv(path, sep=None if path.suffix == ".csv" else r"\s+", engine="python", dtype=str,
                      keep_default_na=False)
    samples = [str(s) for s in samples]
    head = list(raw.columns[1:])
    if len(set(head) & set(samples)) > len(head) / 2:          # covariates x samples
        df = raw.set_index(raw.columns[0]).T
    else:
        idc = next((c for c in SAMPLE_COLUMNS if c in raw.columns), None)
        if idc is None:
            raise InputError(path, f"a sample id column named one of {list(SAMPLE_COLUMNS)}, or covariates x "
                             "samples with the expression table's sample ids as header", row=0,
                             value=list(raw.columns[:6]))
        df = raw.drop(columns=[c for c in ("FID", "#FID") if c in raw.columns]).set_index(idc)
    df.index = df.index.astype(str)
    missing = [s for s in samples if s not in df.index]
    if missing:
        raise InputError(path, "a row for every expression sample", column="sample", value=missing[:5])
    df = df.loc[samples]
    for f in factors:
        if f not in df.columns:
            raise InputError(path, f"a covariate column '{f}' (named in factors)", row=0, value=list(df.columns))
    cols = {}
    for c in df.columns:                    # loop over covariates (a handful)
        v = df[c].astype(str).str.strip()
        if v.isin(MISSING).any():
            s = v.index[v.isin(MISSING)][0]
            raise InputError(path, "a value for every sample (covariates are not imputed)", column=str(c),
                             value=f"sample {s}")
        num = pd.to_numeric(v, errors="coerce")
        if c in factors or num.isna().any():
            for level in sorted(v.unique())[1:]:
                cols[f"{c}={level}"] = (v == level).to_numpy(float)
        else:
            cols[str(c)] = num.to_numpy(float)
    return pd.DataFrame(cols, index=pd.Index(samples, name="sample"))


def residualise_expression(expression: np.ndarray, covariates: np.ndarray | None) -> np.ndarray:
    """PredictDB's expression adjustment: lm residuals on the covariates, centred and scaled.

    Parameters
    ----------
    expression : numpy.ndarray
        [n, g] expression of g genes.
    covariates : numpy.ndarray or None
        [n, k] covariate design (no intercept column).

    Returns
    -------
    numpy.ndarray
        [n, g] residuals / their SD (n - 1 denominator); a gene constant after adjustment gives 0s.

    References
    ----------
    PredictDB ``adjust_for_covariates`` (``scale(summary(lm(expression ~ .))$residuals)``).
    """
    e = np.asarray(expression, float)
    r = residualise(e, residualiser(covariates, e.shape[0]))
    sd = r.std(axis=0, ddof=1)
    return np.where(sd > 1e-12 * np.maximum(np.abs(e).max(axis=0), 1e-300), r / np.where(sd > 0, sd, 1.0), 0.0)
