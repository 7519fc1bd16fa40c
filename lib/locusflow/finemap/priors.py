"""Functional priors for fine-mapping: per-variant prior weights (PolyFun style, Weissbrod et al. 2020).

A weight w_j >= 0 per variant becomes the prior probability pi_j = w_j / sum_k w_k that variant j is a
given effect's causal variant (susieR ``prior_weights``; FINEMAP's per-SNP prior probabilities). PolyFun
passes its per-SNP heritability estimates (SNPVAR) unchanged; variants without a weight are dropped,
as PolyFun does. The weights file is Parquet or delimited text with either ``variant_id`` (chrom:pos:ref:alt)
or PolyFun's ``CHR BP A1 A2`` (A1 the effect allele, so variant_id = CHR:BP:A2:A1), and a weight column
(``column``; default ``weight``, or ``SNPVAR`` when present). Both allele orders are indexed, so a weight
applies whichever allele the LD reference calls alt.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..errors import InputError


def read_prior_weights(spec, unit: dict | None = None) -> dict:
    """{variant_id: weight} from ``{path: FILE, column: NAME}``, restricted to ``unit``'s block if given.

    Parameters
    ----------
    spec : dict
        ``{path: FILE, column: NAME}`` (Parquet or delimited text with ``variant_id`` or PolyFun's
        ``CHR BP A1 A2``; ``column`` defaults to ``SNPVAR`` when present, else ``weight``). Any other
        mapping is returned as a plain dict of weights.
    unit : dict, optional
        Block with ``chrom``, ``start``, ``stop``; only variants with start <= pos < stop on that
        chromosome are kept.

    Returns
    -------
    dict
        Weight of each variant_id (chrom:pos:ref:alt, no ``chr`` prefix), under both allele orders.

    Raises
    ------
    InputError
        Missing file, weight column or variant columns, malformed variant_id, or negative/non-numeric weights.

    References
    ----------
    Weissbrod et al. (2020) Nat Genet 52:1355 (PolyFun priors).
    """
    if not isinstance(spec, dict) or "path" not in spec:
        return dict(spec)
    path = storage.local_file(spec["path"])
    if not path.exists():
        raise InputError(path, "a prior-weights file (variant_id or CHR/BP/A1/A2, and a weight column)")
    if path.is_dir() or path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, sep=None, engine="python")
    col = spec.get("column") or ("SNPVAR" if "SNPVAR" in df.columns else "weight")
    if col not in df.columns:
        raise InputError(path, f"a weight column '{col}'", column=col)
    if "variant_id" in df.columns:
        parts = df["variant_id"].astype(str).str.split(":", expand=True)
        if parts.shape[1] != 4:
            raise InputError(path, "variant_id as chrom:pos:ref:alt", column="variant_id",
                             value=df["variant_id"].iloc[0])
        chrom, pos, ref, alt = parts[0], parts[1], parts[2], parts[3]
    elif {"CHR", "BP", "A1", "A2"} <= set(df.columns):
        chrom, pos, ref, alt = df["CHR"].astype(str), df["BP"].astype(str), df["A2"], df["A1"]
    else:
        raise InputError(path, "a variant_id column, or CHR, BP, A1, A2 columns")
    chrom = chrom.str.replace("^chr", "", regex=True)
    w = pd.to_numeric(df[col], errors="coerce")
    bad = np.flatnonzero(~(w >= 0).to_numpy())
    if bad.size:
        raise InputError(path, "non-negative numeric weights", row=int(bad[0]) + 1, column=col,
                         value=df[col].iloc[bad[0]])
    if unit is not None:
        p = pos.astype(np.int64)
        sel = ((chrom == str(unit["chrom"])) & (p >= int(unit["start"])) & (p < int(unit["stop"]))).to_numpy()
        chrom, pos, ref, alt, w = chrom[sel], pos[sel], ref[sel], alt[sel], w[sel]
    fwd = chrom + ":" + pos + ":" + ref + ":" + alt
    rev = chrom + ":" + pos + ":" + alt + ":" + ref
    out = dict(zip(rev, w))
    out.update(zip(fwd, w))
    return out
