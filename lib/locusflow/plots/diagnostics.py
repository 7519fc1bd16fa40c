"""z-vs-LD diagnostic figure: each fine-mapped SNP's GWAS z against its standardised difference from the z
expected from its neighbours through the LD (susieR ``kriging_rss``, finemap_snp ``ld_z_std_diff``); SNPs
the finemap stage flagged (possible allele flips or LD mismatch) in red."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import pyplot


def ld_diagnostic(fm: pd.DataFrame, title: str = ""):
    """Scatter of z against ``ld_z_std_diff`` (finemap_snp rows), flagged SNPs red and named.

    Parameters
    ----------
    fm : DataFrame
        finemap_snp rows (z, ld_z_std_diff, ld_flagged, rsid, variant_id).
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    d = fm[np.isfinite(fm["ld_z_std_diff"].to_numpy(float))]
    flag = d["ld_flagged"].fillna(False).to_numpy(bool)
    ax.scatter(d["z"][~flag], d["ld_z_std_diff"][~flag], s=8, color="#1f4e79", linewidths=0,
               label=f"{int((~flag).sum()):,} SNPs")
    ax.scatter(d["z"][flag], d["ld_z_std_diff"][flag], s=30, color="#c0392b", edgecolor="black", lw=0.5,
               label=f"{int(flag.sum()):,} flagged")
    for row in d[flag].head(15).itertuples():
        ax.annotate(str(row.rsid or row.variant_id), (row.z, row.ld_z_std_diff), textcoords="offset points",
                    xytext=(4, 3), fontsize=7)
    ax.axhline(0, color="#888888", lw=0.6)
    ax.set_xlabel("GWAS z")
    ax.set_ylabel("(z - E[z | other SNPs, LD]) / sd")
    ax.legend(loc="best", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title or "z vs LD consistency (kriging_rss)", loc="left")
    fig.tight_layout()
    return fig
