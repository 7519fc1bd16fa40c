"""Genome-wide Manhattan and QQ plots for GWAS variants or TWAS genes.

A Manhattan plot draws -log10 p against the cumulative genomic position, chromosomes side by side in
alternating colours, a dashed line at the significance threshold and the lead point of each significant
locus named. A QQ plot draws observed against expected -log10 p under the null (uniform p) with a 95%
pointwise band (order statistics are Beta(i, n - i + 1)) and the genomic-control lambda.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .common import CHROM_COLOURS, chrom_key, genomic_control, neglog10, pyplot


def genome_axis(chrom, pos, gap: float = 0.02):
    """Cumulative x position of each (chrom, pos) and the chromosome tick centres.

    Parameters
    ----------
    chrom, pos : array-like
        Chromosome names and 1-based positions.
    gap : float
        Space between chromosomes as a fraction of the plotted genome length.

    Returns
    -------
    x : ndarray
        Plot coordinate of every point.
    ticks : list of (float, str)
        Centre and name of each chromosome, in genome order.
    """
    chrom = pd.Series(np.asarray(chrom, dtype=str))
    pos = np.asarray(pos, dtype=float)
    names = sorted(chrom.unique(), key=chrom_key)
    span = {c: (pos[chrom.to_numpy() == c].min(), pos[chrom.to_numpy() == c].max()) for c in names}
    total = sum(hi - lo + 1 for lo, hi in span.values())
    offset, x0, ticks = {}, 0.0, []
    for c in names:
        lo, hi = span[c]
        offset[c] = x0 - lo
        ticks.append((x0 + (hi - lo) / 2, c))
        x0 += hi - lo + 1 + gap * total
    return pos + chrom.map(offset).to_numpy(float), ticks


def lead_points(df: pd.DataFrame, threshold: float, window: int = 500_000, max_labels: int = 20) -> pd.DataFrame:
    """Rows that lead a locus: p below ``threshold`` and the smallest p within +-``window`` bp on their chromosome.

    Greedy clumping by position (as LocusZoom / FUMA lead-SNP selection without LD): take the smallest p,
    drop everything within the window, repeat. At most ``max_labels`` rows, smallest p first.

    Parameters
    ----------
    df : DataFrame
        One row per variant or gene, with ``chrom``, ``pos`` and ``p``.
    threshold : float
        Only rows with p strictly below it can lead.
    window : int, optional
        bp: a row closer than this to an already chosen lead on its chromosome is skipped.
    max_labels : int, optional
        Most leads returned.

    Returns
    -------
    DataFrame
        The lead rows of ``df`` (its index and columns kept), smallest p first.

    References
    ----------
    Watanabe K, Taskesen E, van Bochoven A, Posthuma D (2017) Functional mapping and annotation of genetic
    associations with FUMA. Nat Commun 8:1826 (lead SNPs and loci; here by distance only, without LD).
    """
    hits = df[df["p"] < threshold].sort_values("p")
    leads = []
    taken: dict = {}
    for row in hits.itertuples():
        near = taken.setdefault(row.chrom, [])
        if any(abs(row.pos - q) < window for q in near):
            continue
        near.append(row.pos)
        leads.append(row.Index)
        if len(leads) >= max_labels:
            break
    return df.loc[leads]


def manhattan(df: pd.DataFrame, *, label: str | None = None, threshold: float = 5e-8, title: str = "",
              what: str = "variants", window: int | None = None, ax=None):
    """Manhattan plot of ``df`` (columns ``chrom``, ``pos``, ``p`` and optionally ``label``).

    Parameters
    ----------
    df : DataFrame
        One row per variant or gene; rows with a non-finite p are left out.
    label : str, optional
        Column naming each point (rsid, variant_id or gene symbol); lead points of significant loci are annotated.
    threshold : float
        Significance line and lead-point threshold (5e-8 for GWAS, 0.05 / genes for TWAS).
    title : str
        Axes title.
    what : str
        "variants" or "genes", used in the legend text.
    window : int, optional
        Lead points are at least this many bp apart (default 500 kb for variants, 0 for genes: every
        significant gene is named).
    ax : matplotlib Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = pyplot()
    window = (0 if what == "genes" else 500_000) if window is None else window
    d = df[np.isfinite(df["p"].to_numpy(float))].reset_index(drop=True)
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 4.2))
    fig = ax.figure
    if not len(d):
        ax.text(0.5, 0.5, f"no {what} with a p-value", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("chromosome")
        ax.set_ylabel(r"$-\log_{10}(p)$")
        return fig
    x, ticks = genome_axis(d["chrom"], d["pos"])
    y = neglog10(d["p"])
    order = {c: i for i, (_, c) in enumerate(ticks)}
    colour = np.array(CHROM_COLOURS)[d["chrom"].astype(str).map(order).to_numpy() % 2]
    ax.scatter(x, y, c=colour, s=14 if what == "genes" else 6, linewidths=0, rasterized=len(d) > 20000,
               label=f"{len(d):,} {what}")
    ax.axhline(-np.log10(threshold), color="#c0392b", ls="--", lw=0.9, label=f"p = {threshold:.2g}")
    if label is not None and label in d:
        leads = lead_points(d.assign(plot_x=x, plot_y=y), threshold, window)
        near = 0.04 * (np.ptp(x) or 1.0)
        prev, level = -np.inf, 0
        for row in leads.sort_values("plot_x").itertuples():      # neighbours' names on alternate heights
            level = level + 1 if row.plot_x - prev < near else 0
            prev = row.plot_x
            ax.annotate(str(getattr(row, label)), (row.plot_x, row.plot_y), textcoords="offset points",
                        xytext=(0, 5 + 10 * (level % 3)), ha="center", va="bottom", fontsize=8)
        ax.scatter(leads["plot_x"], leads["plot_y"], s=40, facecolor="none", edgecolor="black", lw=0.8)
    ax.set_xticks([t for t, _ in ticks], [c for _, c in ticks], fontsize=8)
    ax.set_xlim(x.min() - 0.01 * np.ptp(x) - 1, x.max() + 0.01 * np.ptp(x) + 1)
    ax.set_ylim(0, max(y.max(), -np.log10(threshold)) * 1.15 + 0.5)   # headroom for the labels
    ax.set_xlabel("chromosome")
    ax.set_ylabel(r"$-\log_{10}(p)$")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, loc="left")
    fig.tight_layout()
    return fig


def qq(p, *, title: str = "", what: str = "variants", ax=None):
    """QQ plot of two-sided p-values with a 95% null band and lambda_GC in the legend.

    Parameters
    ----------
    p : array-like
        p-values; non-finite ones are left out.
    title : str
        Axes title.
    what : str
        "variants" or "genes" (legend text).
    ax : matplotlib Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of ``ax``.

    References
    ----------
    Devlin B, Roeder K (1999) Genomic control for association studies. Biometrics 55:997-1004
    (lambda_GC, :func:`locusflow.plots.common.genomic_control`).
    """
    plt = pyplot()
    p = np.asarray(p, dtype=float)
    p = np.sort(p[np.isfinite(p) & (p > 0) & (p <= 1)])
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 4.8))
    fig = ax.figure
    n = len(p)
    ax.set_xlabel(r"expected $-\log_{10}(p)$")
    ax.set_ylabel(r"observed $-\log_{10}(p)$")
    if not n:
        ax.text(0.5, 0.5, f"no {what} with a p-value", ha="center", va="center", transform=ax.transAxes)
        return fig
    i = np.arange(1, n + 1)
    expected = -np.log10(i / (n + 1))
    lo, hi = stats.beta.ppf(0.975, i, n - i + 1), stats.beta.ppf(0.025, i, n - i + 1)
    ax.fill_between(expected, -np.log10(lo), -np.log10(hi), color="#dddddd", label="95% null band")
    lam = genomic_control(p)
    ax.scatter(expected, neglog10(p), s=8, color="#1f4e79", linewidths=0,
               label=f"{n:,} {what}, $\\lambda_{{GC}}$ = {lam:.3f}")
    top = max(expected.max(), neglog10(p).max())
    ax.plot([0, expected.max()], [0, expected.max()], color="#c0392b", lw=0.9)
    ax.set_xlim(0, expected.max() * 1.05)
    ax.set_ylim(0, top * 1.08)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
