"""Point plot of a DNA language model's masked-base accuracy and perplexity by region type (dataset
``dnalm_regions``), for the plots stage and the report's DNA language model section."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import pyplot

LABELS = {"start_codon": "start codon", "stop_codon": "stop codon", "cds_pos1": "CDS codon pos 1",
          "cds_pos2": "CDS codon pos 2", "cds_pos3": "CDS codon pos 3", "cds_multi_frame": "CDS, frames differ",
          "utr5": "5' UTR", "utr3": "3' UTR", "ncrna_exon": "other exon", "splice_donor": "splice donor (GT)",
          "splice_acceptor": "splice acceptor (AG)", "promoter": "promoter", "intron": "intron",
          "intergenic": "intergenic", "repeat": "repeat", "non_repeat": "non-repeat", "all": "all"}


def region_figure(table: pd.DataFrame, *, title: str = "DNA-LM masked-base prediction by region type"):
    """Accuracy and perplexity with 95% intervals per region type, one colour per segment.

    Parameters
    ----------
    table : DataFrame
        Rows of the ``dnalm_regions`` dataset (region types with status ``ok`` are drawn).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: accuracy (dashed line: 0.25, a uniform guess) and perplexity (crosses: the perplexity of
        the region's own base composition, exp(composition_entropy)); the rows are the region types.
    """
    plt = pyplot()
    t = table[table["status"] == "ok"].sort_values("rank")
    regions = list(dict.fromkeys(t["region"]))
    y = {r: i for i, r in enumerate(regions)}
    segs = list(dict.fromkeys(t["segment"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.38 * len(regions) + 1.8), sharey=True)
    for k, (seg, g) in enumerate(t.groupby("segment", sort=False)):
        dy = (k - (len(segs) - 1) / 2) * 0.25
        yy = g["region"].map(y).to_numpy() + dy
        for ax, col in zip(axes, ("accuracy", "perplexity")):
            v = g[col].to_numpy(float)
            err = np.vstack([v - g[f"{col}_lo"].to_numpy(float), g[f"{col}_hi"].to_numpy(float) - v])
            ax.errorbar(v, yy, xerr=err, fmt="o", ms=4, capsize=2, color=f"C{k}",
                        label=f"{seg} ({g.loc[g['region'] == 'all', 'n'].sum():,} positions)")
        axes[1].scatter(np.exp(g["composition_entropy"].to_numpy(float)), yy, marker="x", s=18, color=f"C{k}",
                        alpha=0.6, label="base composition only" if k == 0 else None)
    axes[0].axvline(0.25, ls="--", color="grey", lw=0.8)
    axes[1].axvline(4.0, ls="--", color="grey", lw=0.8)
    axes[0].set_yticks(range(len(regions)), [LABELS.get(r, r) for r in regions])
    axes[0].invert_yaxis()
    axes[0].set_xlabel("accuracy (most probable base = reference), 95% CI")
    axes[1].set_xlabel("perplexity exp(cross-entropy), 95% CI")
    h, lab = axes[1].get_legend_handles_labels()
    fig.legend(h, lab, fontsize=8, loc="lower center", ncol=len(lab), frameon=False)
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", lw=0.3)
    fig.suptitle(f"{title} ({t['model'].iloc[0] if len(t) else ''})")
    fig.tight_layout(rect=(0, 0.045, 1, 1))
    return fig
