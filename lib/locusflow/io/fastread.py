"""Fast columnar reading helpers: Arrow tables into pandas without a Python object per value, and
gz files decompressed by ISA-L when the optional ``isal`` package is installed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def maybe_gunzip(path: Path):
    """A gz file decompressed by ISA-L (``isal``, optional, ~2x faster than zlib) into memory; else the
    path itself (Arrow decompresses it with zlib).

    Parameters
    ----------
    path : pathlib.Path
        File to read; only a ``.gz`` suffix is decompressed here.

    Returns
    -------
    pyarrow.BufferReader or pathlib.Path
        The decompressed bytes in memory when ``path`` ends in ``.gz``, ``isal`` is installed and the
        file decompresses; otherwise ``path`` unchanged (a corrupt file is left to Arrow to report).
    """
    if path.suffix != ".gz":
        return path
    try:
        from isal import igzip
    except ImportError:
        return path
    import pyarrow as pa
    try:
        return pa.BufferReader(igzip.decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError):
        return path      # let Arrow report it (and the checked reader name the problem)


def arrow_frame(t) -> pd.DataFrame:
    """pandas frame of an Arrow table without a Python object per value: dictionary columns become
    categoricals (chunk dictionaries unified, codes taken as they are), strings Arrow-backed strings.

    Parameters
    ----------
    t : pyarrow.Table
        Table to convert; chunks of a dictionary column are unified only when their dictionaries differ,
        and a null dictionary index becomes code -1.

    Returns
    -------
    pandas.DataFrame
        One column per table column, in order: categoricals for dictionary columns, ``pd.ArrowDtype``
        strings for (large) string columns, NumPy arrays otherwise.
    """
    import pyarrow as pa
    out = {}
    for name, col in zip(t.column_names, t.columns):
        if pa.types.is_dictionary(col.type):
            chunks = col.chunks        # Parquet batches repeat one dictionary: unify only when they differ
            if len(chunks) > 1 and not all(c.dictionary.equals(chunks[0].dictionary) for c in chunks[1:]):
                chunks = pa.table({name: col}).unify_dictionaries().column(0).chunks
            if not chunks:
                chunks = [pa.array([], col.type)]
            codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks])
            if col.null_count:
                codes = np.where(np.concatenate([c.indices.is_null().to_numpy(zero_copy_only=False)
                                                 for c in chunks]), -1, codes)
            cats = pd.Index(chunks[0].dictionary.to_numpy(zero_copy_only=False))
            out[name] = categorical_from_codes(codes, cats)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out[name] = pd.Series(col.combine_chunks(), dtype=pd.ArrowDtype(col.type)).array
        else:
            out[name] = col.to_numpy()
    return pd.DataFrame(out, copy=False)


def categorical_from_codes(codes: np.ndarray, cats: pd.Index) -> pd.Categorical:
    """Categorical of ``codes`` over distinct ``cats`` (an Arrow dictionary) without pandas' validation of
    the categories: ``from_codes`` hashes every category to check uniqueness (~6 ms per 75k rsids, twice).

    Parameters
    ----------
    codes : numpy.ndarray of int
        Category code per row (-1: missing).
    cats : pandas.Index
        Distinct categories (not checked).

    Returns
    -------
    pandas.Categorical
    """
    try:
        from pandas.core.dtypes.cast import coerce_indexer_dtype
        dtype = pd.CategoricalDtype._from_fastpath(cats, False)
        return super(pd.Categorical, pd.Categorical)._simple_new(coerce_indexer_dtype(codes, cats), dtype)
    except (AttributeError, ImportError, TypeError):     # another pandas: the validated route
        return pd.Categorical.from_codes(codes, categories=cats, validate=False)
