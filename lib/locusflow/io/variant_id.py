"""The join key of every dataset: ``variant_id = chrom:pos:ref:alt`` (DESIGN rule 3)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

STR = pd.StringDtype("pyarrow")


def _arrow_str(c) -> pa.Array:
    return pa.array(pd.Series(c).reset_index(drop=True).astype(STR)).cast(pa.string())


def variant_ids(chrom, pos, ref, alt) -> pd.Series:
    """``chrom:pos:ref:alt`` strings, built by Arrow compute.

    Parameters
    ----------
    chrom : array-like
        Chromosome names.
    pos : array-like of int
        Positions (cast to int64).
    ref : array-like of str
        Reference alleles.
    alt : array-like of str
        Alternate alleles.

    Returns
    -------
    pandas.Series
        Arrow-backed strings ``chrom:pos:ref:alt``, unnamed, with a 0..n-1 index.
    """
    p = pc.cast(pa.array(np.asarray(pos, dtype=np.int64)), pa.string())
    joined = pc.binary_join_element_wise(_arrow_str(chrom), p, _arrow_str(ref), _arrow_str(alt), ":")
    return pd.Series(joined.to_pandas(types_mapper={pa.string(): STR}.get), dtype=STR).rename(None)
