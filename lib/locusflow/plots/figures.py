"""All figures of a run: GWAS and TWAS Manhattan and QQ plots, a locus plot per top locus (with DNA-LM tracks
when the run has scores), the DNA-LM embedding projection when present, FOCUS figures.

:func:`top_loci` picks loci by greedy positional clumping of GWAS p-values (smallest p first, +-``flank``
bp around each lead, p < ``p_threshold``); :func:`plot_run` draws everything into ``<out>/plots`` and
returns the plot_index rows (schema ``plot_index``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..schema import load
from .common import genomic_control, save_figure
from .diagnostics import ld_diagnostic
from .embedding import embedding_figure, embedding_points
from .regions import region_figure
from .focus import focus_figures
from .locus import locus_data, locus_figure
from .manhattan import lead_points, manhattan, qq


def top_loci(gwas: pd.DataFrame, *, p_threshold: float = 5e-8, flank: int = 500_000, max_loci: int = 20) -> pd.DataFrame:
    """Lead SNPs of the top loci: chrom, start, stop (lead +- flank), lead_variant, lead_label, lead_p.

    Parameters
    ----------
    gwas : DataFrame
        chrom, pos, p, variant_id, label.
    p_threshold : float
        A lead has p below this.
    flank : int
        Leads are more than ``flank`` bp apart; the locus is lead +- flank.
    max_loci : int
        Most loci returned.

    Returns
    -------
    DataFrame
        One row per locus, smallest p first.
    """
    leads = lead_points(gwas, p_threshold, window=flank + 1, max_labels=max_loci)
    return pd.DataFrame({"chrom": leads["chrom"].astype(str).to_numpy(),
                         "start": (leads["pos"] - flank).clip(lower=1).to_numpy(),
                         "stop": (leads["pos"] + flank).to_numpy(),
                         "lead_variant": leads["variant_id"].to_numpy(), "lead_label": leads["label"].to_numpy(),
                         "lead_p": leads["p"].to_numpy(float)})


def _rows(paths, root, **meta) -> list[dict]:
    return [dict(meta, format=Path(p).suffix[1:], path=str(Path(p).relative_to(root))) for p in paths]


def write_index(index: pd.DataFrame, out_dir) -> Path:
    """Write the plot_index dataset to ``<out_dir>/index`` (paths in it are relative to ``out_dir``).

    Parameters
    ----------
    index : DataFrame
        plot_index rows, as :func:`plot_run` returns them.
    out_dir : str or Path
        The figures' directory; an existing ``index`` dataset there is overwritten.

    Returns
    -------
    Path
        ``<out_dir>/index``.
    """
    from ..io.dataset import write_dataset
    return write_dataset(index, Path(out_dir) / "index", "plot_index", mode="overwrite")


def plot_run(run, out_dir=None, *, formats=("png", "svg"), p_threshold: float = 5e-8, flank: int = 500_000,
             max_loci: int = 20) -> pd.DataFrame:
    """Draw every figure of ``run`` into ``out_dir`` (default ``<run>/plots``).

    Parameters
    ----------
    run : locusflow.plots.data.RunResults
        The run whose datasets are drawn (figures whose datasets it lacks are skipped).
    out_dir : str or Path, optional
        Directory of the figures; the index's paths are relative to it.
    formats : sequence of str
        png, svg, pdf.
    p_threshold, flank, max_loci
        As :func:`top_loci`.

    Returns
    -------
    DataFrame
        plot_index rows.
    """
    out = Path(out_dir) if out_dir is not None else run.root / "plots"
    root = out
    rows: list[dict] = []
    g = run.gwas()
    if g is not None:
        rows += _rows(save_figure(manhattan(g, label="label", threshold=p_threshold, title="GWAS"),
                                  out / "manhattan_gwas", formats), root, kind="manhattan_gwas",
                      name="manhattan_gwas", title=f"GWAS Manhattan plot ({len(g):,} variants)")
        rows += _rows(save_figure(qq(g["p"], title="GWAS"), out / "qq_gwas", formats), root, kind="qq_gwas",
                      name="qq_gwas", title="GWAS QQ plot", lambda_gc=genomic_control(g["p"]))
        for loc in top_loci(g, p_threshold=p_threshold, flank=flank, max_loci=max_loci).itertuples(index=False):
            name = f"locus_{loc.chrom}_{loc.start}-{loc.stop}"
            data = locus_data(run, loc.chrom, loc.start, loc.stop, lead=loc.lead_variant, build=run.build)
            rows += _rows(save_figure(locus_figure(data), out / "loci" / name, formats), root, kind="locus",
                          name=name, title=f"locus {loc.chrom}:{loc.start:,}-{loc.stop:,}, lead {loc.lead_label}",
                          **loc._asdict())
    t = run.twas_genes()
    if t is not None and len(t):
        thr = 0.05 / max(int(t["p"].notna().sum()), 1)
        rows += _rows(save_figure(manhattan(t, label="label", threshold=thr, what="genes", title="TWAS"),
                                  out / "manhattan_twas", formats), root, kind="manhattan_twas",
                      name="manhattan_twas", title=f"TWAS Manhattan plot ({int(t['p'].notna().sum()):,} gene models with a p-value; line: Bonferroni 0.05)")
        rows += _rows(save_figure(qq(t["p"], what="genes", title="TWAS"), out / "qq_twas", formats), root,
                      kind="qq_twas", name="qq_twas", title="TWAS QQ plot", lambda_gc=genomic_control(t["p"]))
    fm = run.table("finemap_snp")
    if fm is not None and fm["ld_z_std_diff"].notna().any():
        rows += _rows(save_figure(ld_diagnostic(fm), out / "ld_diagnostic", formats), root, kind="ld_diagnostic",
                      name="ld_diagnostic", title="z vs LD consistency of fine-mapped SNPs (red: flagged)")
    emb = embedding_points(run)
    if emb is not None:
        rows += _rows(save_figure(embedding_figure(emb), out / "embedding", formats), root, kind="embedding",
                      name="embedding", title=f"DNA-LM variant embeddings, PCA ({len(emb['points']):,} of {emb['n']:,} variants)")
    reg = run.table("dnalm_regions")
    if reg is not None and (reg["status"] == "ok").any():
        rows += _rows(save_figure(region_figure(reg), out / "dnalm_regions", formats), root, kind="dnalm_regions",
                      name="dnalm_regions", title="DNA-LM accuracy and perplexity by region type")
    for p in focus_figures(run, out / "focus", formats):
        rows += _rows([p], root, kind="focus", name=Path(p).stem, title=f"FOCUS {Path(p).stem}",
                      chrom=Path(p).stem.split("_")[0])
    return pd.DataFrame(rows) if rows else load("plot_index").empty()
