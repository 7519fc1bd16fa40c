"""Per-variant functional scores (DNA-LM LLRs, GPNxLD, any numeric column) read for a region, by variant.

A score table is a ``variant_scores`` or ``gpnxld`` dataset directory (Parquet partitioned by chrom), a
Parquet file or a delimited text file, with ``variant_id`` (``chrom:pos:ref:alt``) and the score column.
Scores are indexed under both allele orders: a score describes the site and its two alleles (e.g. the
deleteriousness of the genome's allele -> the other), so it applies whichever allele a panel calls alt.
Rows with a null score (variants the scorer rejected: REF mismatch, indel, ...) are left out.

Transforms (``transform``) turn a raw score into a non-negative or signed functional score:
``deleterious`` = max(0, -x) (an LLR: how much less likely the alt is than the ref), ``abs`` = |x|,
``identity`` = x, ``negate`` = -x.

References
----------
Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120 (GPN LLR; negative = putatively deleterious).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

TRANSFORMS = {
    "deleterious": lambda x: np.maximum(0.0, -x),
    "abs": np.abs,
    "identity": lambda x: x,
    "negate": lambda x: -x,
}


def transform_scores(values, transform: str = "deleterious") -> np.ndarray:
    """A raw score mapped by one of :data:`TRANSFORMS` (NaN stays NaN).

    Parameters
    ----------
    values : array-like of float
        Raw scores (e.g. LLR = log P(alt) - log P(ref)).
    transform : {"deleterious", "abs", "identity", "negate"}
        The mapping (module docstring).

    Returns
    -------
    ndarray of float

    Raises
    ------
    InputError
        Unknown ``transform``.
    """
    if transform not in TRANSFORMS:
        raise InputError("config", f"a score transform, one of {sorted(TRANSFORMS)}", column="transform",
                         value=transform)
    with np.errstate(invalid="ignore"):
        return TRANSFORMS[transform](np.asarray(values, dtype=np.float64))


def _read_table(path: Path, column: str, filters) -> pd.DataFrame:
    """variant_id and ``column`` of the rows in ``filters`` (pushed down to Parquet where it has the columns)."""
    cols = ["variant_id", column]
    if path.is_dir() or path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.dataset as ds
        hive = path.is_dir() and any(p.name.startswith("chrom=") for p in path.iterdir())
        part = ds.partitioning(pa.schema([("chrom", pa.string())]), flavor="hive") if hive else None
        d = ds.dataset(str(path), format="parquet", partitioning=part)
        names = set(d.schema.names)
        expr = None
        for c, op, v in filters if {"chrom", "pos"} <= names else ():
            e = {"==": ds.field(c) == v, ">=": ds.field(c) >= v, "<": ds.field(c) < v}[op]
            expr = e if expr is None else expr & e
        df = d.to_table(columns=[c for c in cols if c in names], filter=expr).to_pandas()
    else:
        df = pd.read_csv(path, sep=None, engine="python", dtype={"variant_id": str})
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise InputError(path, f"a score table with columns {', '.join(cols)}", column=miss[0], value=list(df.columns))
    df = df[cols].reset_index(drop=True)
    parts = df["variant_id"].astype(str).str.split(":", expand=True)
    if len(df) and parts.shape[1] != 4:
        raise InputError(path, "variant_id as chrom:pos:ref:alt", column="variant_id", value=df["variant_id"].iloc[0])
    keep = np.ones(len(df), bool)
    for c, op, v in filters or ():
        x = parts[0].str.removeprefix("chr") if c == "chrom" else pd.to_numeric(parts[1], errors="coerce")
        keep &= {"==": x == v, ">=": x >= v, "<": x < v}[op].to_numpy()
    return df[keep].reset_index(drop=True)


def read_scores(path, column: str = "llr", transform: str = "deleterious", *, chrom=None, start=None,
                stop=None, both_orders: bool = True) -> pd.Series:
    """Transformed scores of a table's variants, indexed by ``variant_id`` under both allele orders.

    Parameters
    ----------
    path : str or Path
        A ``variant_scores``/``gpnxld`` dataset directory, a Parquet file or a delimited text file with
        ``variant_id`` and ``column``.
    column : str
        The score column [llr].
    transform : str
        One of :data:`TRANSFORMS` [deleterious: max(0, -llr)].
    chrom : str, optional
        Only this chromosome (``chr`` prefix dropped).
    start, stop : int, optional
        Only positions ``start <= pos < stop`` (with ``chrom``).
    both_orders : bool
        Index each score under ``chrom:pos:alt:ref`` too (False: each row once, as the table names it).

    Returns
    -------
    pandas.Series of float
        Score by variant_id (``chrom:pos:ref:alt`` and ``chrom:pos:alt:ref``); rows with a null score are
        left out; the first row wins where a variant repeats.

    Raises
    ------
    InputError
        Missing path or columns, a malformed variant_id, or a non-numeric score.

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "a score table (variant_scores dataset or a file with variant_id and a score)")
    filters = []
    if chrom is not None:
        filters.append(("chrom", "==", str(chrom).removeprefix("chr")))
        if start is not None:
            filters += [("pos", ">=", int(start)), ("pos", "<", int(stop))]
    df = _read_table(path, column, filters)
    x = pd.to_numeric(df[column], errors="coerce")
    bad = np.flatnonzero(x.isna().to_numpy() & df[column].notna().to_numpy())
    if bad.size:
        raise InputError(path, "numeric scores", row=int(bad[0]) + 1, column=column, value=df[column].iloc[bad[0]])
    keep = x.notna().to_numpy()
    ids = df["variant_id"].astype(str).to_numpy()[keep]
    if not len(ids):
        return pd.Series(dtype=np.float64)
    parts = pd.Series(ids).str.split(":", expand=True)
    val = transform_scores(x.to_numpy()[keep], transform)
    if not both_orders:
        out = pd.Series(val, index=ids)
        return out[~out.index.duplicated(keep="first")]
    swapped = (parts[0] + ":" + parts[1] + ":" + parts[3] + ":" + parts[2]).to_numpy()
    out = pd.Series(np.concatenate([val, val]), index=np.concatenate([ids, swapped]))
    return out[~out.index.duplicated(keep="first")]
