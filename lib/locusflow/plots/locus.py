"""Locus plots: association, LD, fine-mapping and genes of one region on a shared x axis (LocusZoom-like).

Panels, top to bottom (each only when its data exist): GWAS -log10 p coloured by r^2 with the lead SNP
(LD stage's stored block matrix); SNP PIPs coloured by credible set (finemap stage); DNA-LM LLRs
(score_variants stage) and GPNxLD (gpnxld stage), credible-set SNPs in their set's colour; FOCUS gene PIPs
(focus stage); genes (bundled GENCODE map of the run's genome build).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .common import LD_BINS, LD_COLOURS, neglog10, pyplot
from .genes import genes_in_region, stack_rows

CS_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#999999")


def locus_data(run, chrom, start: int, stop: int, *, lead: str | None = None, build: str = "GRCh37") -> dict:
    """Everything a locus plot of ``chrom:start-stop`` draws, read from a run's datasets.

    Parameters
    ----------
    run : locusflow.plots.data.RunResults
        The run whose GWAS, LD, fine-mapping and FOCUS datasets are read.
    chrom : str
        Chromosome of the region (no ``chr`` prefix).
    start, stop : int
        The region, 1-based, inclusive.
    lead : str, optional
        variant_id of the lead SNP; default the smallest GWAS p in the region.
    build : str
        Genome build for the genes track.

    Returns
    -------
    dict
        ``snps`` (variant_id, pos, p, label, r2, pip, cs; llr and gpnxld when the run has DNA-LM scores), ``lead`` (variant_id or None), ``genes``
        (chrom, start, stop, gene_name, strand), ``focus`` (gene_name, start, stop, pip, in_cred_set, twas_z, model_id) and
        the region.
    """
    chrom = str(chrom)
    g = run.gwas()
    snps = pd.DataFrame(columns=["variant_id", "pos", "p", "z", "label"])
    if g is not None:
        snps = g[(g["chrom"] == chrom) & (g["pos"] >= start) & (g["pos"] <= stop)]
        snps = snps[["variant_id", "pos", "p", "z", "label"]].reset_index(drop=True)
    fm = run.table("finemap_snp")
    if fm is not None:
        fm = fm[(fm["chrom"] == chrom) & (fm["pos"] >= start) & (fm["pos"] <= stop)]
        fm = fm.drop_duplicates("variant_id")[["variant_id", "pip", "cs"]]
        snps = snps.merge(fm, on="variant_id", how="left")
    dl = run.dnalm()
    if dl is not None:
        snps = snps.join(dl, on="variant_id")
    if lead is None and len(snps):
        lead = str(snps.loc[snps["p"].idxmin(), "variant_id"])
    snps["r2"] = run.ld_r2_to(lead, snps["variant_id"]).to_numpy() if lead else np.nan
    foc = run.table("focus")
    focus = None
    if foc is not None:
        tg = run.twas_genes()
        foc = foc[(foc["chrom"] == chrom) & (foc["model_id"] != "NULL.MODEL") & (foc["population"] != "me")]
        if tg is not None and len(foc):
            span = tg.drop_duplicates("model_id").set_index("model_id")[["tx_start", "tx_stop"]]
            foc = foc.drop(columns=["tx_start", "tx_stop"]).join(span, on="model_id")
            focus = foc[(foc["tx_stop"] >= start) & (foc["tx_start"] <= stop)]
            focus = focus.rename(columns={"mol_name": "gene_name", "tx_start": "start", "tx_stop": "stop"})[
                ["gene_name", "start", "stop", "pip", "in_cred_set", "twas_z", "model_id"]].astype(
                {"start": "Int64", "stop": "Int64"})
            focus = focus.reset_index(drop=True)
    return {"chrom": chrom, "start": int(start), "stop": int(stop), "snps": snps, "lead": lead,
            "genes": genes_in_region(chrom, start, stop, build), "focus": focus}


def _assoc(ax, snps, lead, scale="logp"):
    y = neglog10(snps["p"]) if scale == "logp" else snps["z"].to_numpy(float)
    r2 = snps["r2"].to_numpy(float)
    grey = ~np.isfinite(r2)
    ax.scatter(snps["pos"][grey] / 1e6, y[grey], s=10, color="#bbbbbb", linewidths=0, label="no LD")
    for lo, hi, col in zip(LD_BINS[:-1], LD_BINS[1:], LD_COLOURS):
        m = ~grey & (r2 >= lo) & (r2 < hi)
        ax.scatter(snps["pos"][m] / 1e6, y[m], s=12, color=col, linewidths=0,
                   label=f"{lo:.1f} \u2264 r\u00b2 < {min(hi, 1):.1f}" if hi < 1 else f"r\u00b2 \u2265 {lo:.1f}")
    if lead is not None and (snps["variant_id"] == lead).any():
        row = snps[snps["variant_id"] == lead].iloc[0]
        ly = neglog10([row["p"]])[0] if scale == "logp" else float(row["z"])
        ax.scatter([row["pos"] / 1e6], [ly], marker="D", s=60, color="#7b2d8e", edgecolor="black", zorder=5,
                   label="lead SNP")
        ax.annotate(str(row["label"]), (row["pos"] / 1e6, ly), textcoords="offset points", xytext=(6, 4),
                    fontsize=9, fontweight="bold", zorder=6,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    if scale == "logp":
        ax.axhline(-np.log10(5e-8), color="#c0392b", ls="--", lw=0.8)
        ax.set_ylim(0, max(float(np.nanmax(y)) if len(y) else 1, 8) * 1.18)
        ax.set_ylabel(r"GWAS $-\log_{10}(p)$")
    else:
        zmax = max(float(np.nanmax(np.abs(y))) if len(y) else 1, 5.45) * 1.18
        for t in (-5.45, 5.45):                                  # |z| of p = 5e-8
            ax.axhline(t, color="#c0392b", ls="--", lw=0.8)
        ax.axhline(0, color="#888888", lw=0.6)
        ax.set_ylim(-zmax, zmax)
        ax.set_ylabel("GWAS z (effect allele = alt)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, title="LD with lead",
              title_fontsize=7)


def _pips(ax, snps):
    cs = snps["cs"].fillna("")
    ax.scatter(snps["pos"][cs == ""] / 1e6, snps["pip"][cs == ""], s=10, color="#999999", linewidths=0,
               label="not in a set")
    for i, name in enumerate(sorted(c for c in cs.unique() if c)):
        m = cs == name
        ax.scatter(snps["pos"][m] / 1e6, snps["pip"][m], s=24, color=CS_COLOURS[i % len(CS_COLOURS)],
                   edgecolor="black", lw=0.4, label=f"CS {name.rsplit(':', 1)[-1]} ({int(m.sum())})")
    ax.set_ylim(-0.03, 1.08)
    ax.set_ylabel("SNP PIP")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, title="credible set",
              title_fontsize=7)


def _score(ax, snps, col, lead, ylabel, note):
    """A DNA-LM track: one point per scored SNP, credible-set SNPs in their set's colour, the lead as a diamond."""
    y = snps[col].to_numpy(float)
    ok = np.isfinite(y)
    cs = snps["cs"].fillna("") if "cs" in snps else pd.Series("", index=snps.index)
    ax.scatter(snps["pos"][ok & (cs == "")] / 1e6, y[ok & (cs == "")], s=9, color="#8c8c8c", linewidths=0,
               label="SNP")
    for i, name in enumerate(sorted(c for c in cs.unique() if c)):
        m = ok & (cs == name).to_numpy()
        ax.scatter(snps["pos"][m] / 1e6, y[m], s=24, color=CS_COLOURS[i % len(CS_COLOURS)], edgecolor="black",
                   lw=0.4, label=f"CS {name.rsplit(':', 1)[-1]}")
    if lead is not None and ok[(snps["variant_id"] == lead).to_numpy()].any():
        r = snps[snps["variant_id"] == lead].iloc[0]
        ax.scatter([r["pos"] / 1e6], [r[col]], marker="D", s=50, color="#7b2d8e", edgecolor="black", zorder=5,
                   label="lead SNP")
    if col == "llr":
        ax.axhline(0, color="#888888", lw=0.6)
        lim = max(float(np.nanmax(np.abs(y[ok]))) if ok.any() else 1.0, 1.0) * 1.1
        ax.set_ylim(-lim, lim)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, title_fontsize=7,
              title=f"{int(ok.sum()):,} of {len(snps):,} SNPs\n{note}", alignment="left")


def _focus(ax, focus, start, stop):
    width = np.maximum((focus["stop"] - focus["start"]).to_numpy(float), (stop - start) * 0.004) / 1e6
    cs = focus["in_cred_set"].to_numpy() == 1
    ax.bar(focus["start"] / 1e6, focus["pip"], width=width, align="edge", color=np.where(cs, "#08519c", "#9ecae1"),
           edgecolor="#08306b", lw=0.4)
    prev_x, prev_y = -np.inf, -np.inf
    named = [(x + w / 2, p, n) for x, w, p, n, c in zip(focus["start"] / 1e6, width, focus["pip"], focus["gene_name"], cs)
             if p >= 0.1 or c]
    for mid, p, name in sorted(named):                 # a neighbour's name goes above the previous one
        y = p + 0.04 if mid - prev_x > 0.08 * (stop - start) / 1e6 else max(p + 0.04, prev_y + 0.2)
        prev_x, prev_y = mid, y
        ax.text(mid, y, str(name), ha="center", va="bottom", fontsize=7,
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
    ax.set_ylim(0, max(1.2, prev_y + 0.3) if named else 1.2)
    ax.set_ylabel("FOCUS\ngene PIP")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color="#08519c", label="in credible gene set"), Patch(color="#9ecae1", label="not in set")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)


def gene_rows(genes: pd.DataFrame, start: int, stop: int) -> np.ndarray:
    """Track row of each gene so that neither bars nor their labels (about 0.9% of the region per character
    at 7 pt on a 9-inch figure) overlap.

    Parameters
    ----------
    genes : DataFrame
        Genes of the region, with ``start``, ``stop`` and ``gene_name`` (as :func:`genes_in_region` gives).
    start, stop : int
        The plotted region in bp; gene bars are clipped to it.

    Returns
    -------
    ndarray of int
        Row of each gene (0 is the top track), from :func:`stack_rows` over each clipped bar widened to its
        centred label (name length + 2 characters, 0.45% of the region each), with a gap of 0.5% of the
        region; empty when there are no genes.
    """
    if not len(genes):
        return np.zeros(0, dtype=int)
    lo = np.maximum(genes["start"].to_numpy(float), start)
    hi = np.minimum(genes["stop"].to_numpy(float), stop)
    half = (genes["gene_name"].astype(str).str.len().to_numpy() + 2) * 0.0045 * (stop - start)
    mid = (lo + hi) / 2
    return stack_rows(np.minimum(lo, mid - half), np.maximum(hi, mid + half), 0.005 * (stop - start))


def _genes(ax, genes, start, stop):
    if not len(genes):
        ax.text(0.5, 0.5, "no genes in the bundled map", ha="center", va="center", transform=ax.transAxes,
                fontsize=8)
    rows = gene_rows(genes, start, stop)
    for (g, r) in zip(genes.itertuples(), rows):
        ax.plot([max(g.start, start) / 1e6, min(g.stop, stop) / 1e6], [-r, -r], color="#2c3e50", lw=3,
                solid_capstyle="butt")
        arrow = {"+": " \u2192", "-": "\u2190 "}.get(g.strand, "")
        text = f"{arrow.strip()}{g.gene_name}" if g.strand == "-" else f"{g.gene_name}{arrow.strip()}"
        ax.text((max(g.start, start) + min(g.stop, stop)) / 2e6, -r - 0.35, text, ha="center", va="top",
                fontsize=7, style="italic")
    ax.set_ylim(-(rows.max() if len(rows) else 0) - 1.2, 0.6)
    ax.set_yticks([])
    ax.set_ylabel("genes")


def locus_figure(data: dict, *, title: str = "", y: str = "logp"):
    """Draw the locus plot of :func:`locus_data`'s output.

    Parameters
    ----------
    data : dict
        As returned by :func:`locus_data`.
    title : str
        Figure title; default ``chrom:start-stop (lead)``.
    y : {"logp", "z"}
        Association panel: -log10 p, or the signed z-score.

    Returns
    -------
    matplotlib.figure.Figure
        Axes share x (position in Mb); the first is the association panel.
    """
    plt = pyplot()
    snps, focus, genes = data["snps"], data["focus"], data["genes"]
    panels = ["assoc"]
    if "pip" in snps and snps["pip"].notna().any():
        panels.append("pip")
    for col in ("llr", "gpnxld"):
        if col in snps and snps[col].notna().any():
            panels.append(col)
    if focus is not None and len(focus):
        panels.append("focus")
    panels.append("genes")
    n_gene_rows = gene_rows(genes, data["start"], data["stop"]).max() + 1 if len(genes) else 1
    heights = {"assoc": 3.0, "pip": 1.4, "llr": 1.4, "gpnxld": 1.2, "focus": 1.2, "genes": 0.35 + 0.38 * n_gene_rows}
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(9, sum(heights[p] for p in panels) + 0.8),
                             gridspec_kw={"height_ratios": [heights[p] for p in panels]})
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, panels):
        if name == "assoc":
            _assoc(ax, snps, data["lead"], y)
        elif name == "pip":
            _pips(ax, snps)
        elif name == "llr":
            _score(ax, snps, "llr", data["lead"], "DNA-LM LLR\n(nats)", "scored; LLR < 0:\nalt less likely than ref")
        elif name == "gpnxld":
            _score(ax, snps, "gpnxld", data["lead"], "GPNxLD\n" + r"($\sum_k r^2_{jk} a_k$)",
                   "with GPNxLD (LD-weighted\nsum of the block's scores)")
        elif name == "focus":
            _focus(ax, focus, data["start"], data["stop"])
        else:
            _genes(ax, genes, data["start"], data["stop"])
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xlim(data["start"] / 1e6, data["stop"] / 1e6)
    axes[-1].set_xlabel(f"chromosome {data['chrom']} position (Mb)")
    lead = snps.loc[snps["variant_id"] == data["lead"], "label"]
    axes[0].set_title(title or f"{data['chrom']}:{data['start']:,}-{data['stop']:,}"
                      + (f"  lead {lead.iloc[0]}" if len(lead) else ""))
    fig.align_ylabels(axes)
    fig.tight_layout()
    return fig
