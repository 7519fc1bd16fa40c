"""Fast columnar reading helpers: Arrow tables into pandas without a Python object per value, and
gz files decompressed by ISA-L when the optional ``isal`` package is installed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def maybe_gunzip(path: Path):
    """A gz file decompressed by ISA-L (``isal``, optional, ~2x faster than zlib) into memory; else the
    path itself (Arrow decompresses it with zlib)."""
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
    categoricals (chunk dictionaries unified, codes taken as they are), strings Arrow-backed strings."""
    import pyarrow as pa
    if any(pa.types.is_dictionary(c.type) and c.num_chunks > 1 for c in t.columns):
        t = t.unify_dictionaries()
    out = {}
    for name, col in zip(t.column_names, t.columns):
        if pa.types.is_dictionary(col.type):
            col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
            codes = col.indices.to_numpy(zero_copy_only=False)
            codes = np.where(col.indices.is_null().to_numpy(zero_copy_only=False), -1, codes) if col.null_count else codes
            out[name] = pd.Categorical.from_codes(codes, categories=pd.Index(col.dictionary.to_numpy(zero_copy_only=False)),
                                                  validate=False)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out[name] = pd.Series(col.combine_chunks(), dtype=pd.ArrowDtype(col.type)).array
        else:
            out[name] = col.to_numpy()
    return pd.DataFrame(out, copy=False)
