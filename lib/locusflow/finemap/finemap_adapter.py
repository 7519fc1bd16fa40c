"""Map the tables of ``locusflow.finemap.sss.finemap_sss`` onto the `finemap_snp` / `finemap_cs` schemas.

``finemap_sss(z, R, n, prior_weights, ...)`` returns (snp, config, cred) frames equivalent to FINEMAP's
.snp, .config and .cred files. Read here: snp ``pip`` (or ``prob``), ``log10bf``, ``mean``, ``sd``, with
``index`` (0-based position in z) when present, else rows in the order of z; cred in long form, one row per
(k, cs, variant) with ``k``, ``cs``, ``index`` and ``prob``; ``attrs`` ``post_k``, ``converged`` and
``n_iterations``. A credible set's purity is computed here from R (min / mean / median |r| over pairs).
The config table is passed through (schema `finemap_config` when the installation defines it).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .credible import purity


def _col(df, *names):
    for n in names:
        if n in df.columns:
            return df[n].to_numpy()
    return None


def adapt_finemap(snp_df, config_df, cred_df, snp, idx, block, R=None) -> pd.DataFrame:
    """Fill ``snp`` (rows ``idx``) and ``block`` in place; return the credible-set rows."""
    p = idx.size
    order = _col(snp_df, "index")
    order = np.arange(p) if order is None else np.asarray(order, dtype=np.int64)
    for src, dst in ((("pip", "prob"), "pip"), (("log10bf",), "log10bf"), (("mean",), "post_mean"),
                     (("sd",), "post_sd")):
        v = _col(snp_df, *src)
        if v is not None:
            col = np.full(p, np.nan)
            col[order] = np.asarray(v, dtype=np.float64)
            snp.loc[idx, dst] = col
    attrs = getattr(snp_df, "attrs", {}) or {}
    block.update(converged=attrs.get("converged"), niter=attrs.get("n_iterations"))
    rows = []
    bid = block["block_id"]
    if cred_df is not None and len(cred_df):
        post_k = attrs.get("post_k")
        kmap = int(np.argmax(post_k)) if post_k is not None else None
        vids = snp["variant_id"].to_numpy()[idx]
        pos = snp["pos"].to_numpy()[idx]
        cs_col, best = np.full(p, None, dtype=object), np.full(p, -1.0)
        for rank, ((k, c), g) in enumerate(cred_df.groupby(["k", "cs"], sort=True), start=1):
            members = np.asarray(g["index"], dtype=np.int64)
            probs = np.asarray(g["prob"], dtype=np.float64)
            name = f"{bid}:k{int(k)}.{int(c)}"
            pur = purity(R[np.ix_(members, members)]) if R is not None else (np.nan,) * 3
            lead = int(np.argmax(probs))
            rows.append({"record": "cs", "run_id": block["run_id"], "method": "finemap", "block_id": bid,
                         "chrom": block["chrom"], "cs": name, "rank": rank, "effect": None, "k": int(k),
                         "coverage": float(probs.sum()), "requested_coverage": block.get("coverage", 0.95),
                         "min_abs_corr": pur[0], "mean_abs_corr": pur[1], "median_abs_corr": pur[2],
                         "n_variants": len(members), "variants": list(vids[members]),
                         "probs": [float(x) for x in probs], "lead_variant": vids[members[lead]],
                         "lead_pos": int(pos[members[lead]]), "log10bf": None, "prior_variance": None})
            if kmap is not None and int(k) == kmap:
                better = probs > best[members]
                cs_col[members[better]] = name
                best[members[better]] = probs[better]
        snp.loc[idx, "cs"] = cs_col
    block["n_cs"] = len(rows)
    return pd.DataFrame(rows)
