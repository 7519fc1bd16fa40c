"""The parts of the report's DNA language model section that come from their own datasets: accuracy and
perplexity by region type (``dnalm_regions``, with its point plot), the motifs the model learned
(``motifs`` with a ``logo`` image per motif, and their database matches ``motif_matches``), and the GWAS
signal in bins of DNA-LM score, GPNxLD and baselines (``signal_enrichment``, ``signal_regression``). Each
part appears only when its dataset was published in the run.
"""
from __future__ import annotations

import pandas as pd

from ..storage import as_path
from .html import data_uri, figure, table

REGIONS_EXPLAIN = ("Masked-base prediction by region type (dnalm_regions stage): each base is masked at the "
                   "centre of a window and the model asked for it. Accuracy = how often the most probable base "
                   "is the reference (0.25 = a uniform guess); perplexity = exp(mean -ln P(reference)), 4 = no "
                   "better than uniform; composition entropy = the cross-entropy of a predictor that knows only "
                   "the region's base composition. Intervals are 95% (Wilson for accuracy).")
MOTIFS_EXPLAIN = ("Motifs the model learned (motifs stage): seqlets of high importance clustered into motifs, "
                  "each with its logo (the PWM, next to its best database match) and its matches in the motif database given.")
SIGNAL_EXPLAIN = ("GWAS signal by score bin (signal_enrichment stage): mean chi^2, fraction genome-wide "
                  "significant and fine-mapped PIP per equal-count bin of each score, as a ratio to all "
                  "variants (enrichment), with block-jackknife 95% intervals; top - bottom is the difference "
                  "of the highest and lowest bins.")


def _region_part(run, figdir, idx: pd.DataFrame) -> str:
    t = run.table("dnalm_regions")
    if t is None:
        return ""
    show = t.sort_values(["segment", "rank"])[["segment", "region", "n_total", "n", "accuracy", "accuracy_lo",
                                               "accuracy_hi", "perplexity", "perplexity_lo", "perplexity_hi",
                                               "composition_entropy", "status"]]
    rows = idx[(idx["kind"] == "dnalm_regions") & (idx["format"] == "png")] if len(idx) else idx
    if len(rows):
        img = figure(data_uri(figdir / rows["path"].iloc[0]), rows["title"].iloc[0], anchor="dnalm-regions-plot")
    elif (t["status"] == "ok").any():
        from ..plots.common import save_figure
        from ..plots.regions import region_figure
        png = save_figure(region_figure(t), figdir / "dnalm_regions", ("png",))[0]
        img = figure(data_uri(png), "DNA-LM accuracy and perplexity by region type", anchor="dnalm-regions-plot")
    else:
        img = ""
    return (f"<h3>Accuracy by region type</h3><p class='explain'>{REGIONS_EXPLAIN}</p>"
            + table(show, "dnalm-regions") + img)


def _motif_part(run) -> str:
    if not run.has("motifs"):
        return ""
    from ..dnalm.motif_run import motif_report        # the motifs stage's own view: rank order, logo files
    m = motif_report(run.path("motifs").parent)
    out = f"<h3>Motifs</h3><p class='explain'>{MOTIFS_EXPLAIN}</p>" + table(m.drop(columns="logo_path"),
                                                                             "dnalm-motifs")
    out += "<div class='grid'>" + "".join(
        figure(data_uri(r.logo_path), f"{r.motif_id}: {r.consensus}"
               + (f" (best match {r.best_match_name}, q = {r.best_q:.2g})" if isinstance(r.best_match_name, str) else ""),
               anchor=f"motif-{r.motif_id}") for r in m.itertuples() if r.logo_path) + "</div>"
    mm = run.table("motif_matches")
    if mm is not None:
        out += "<h3>Motif database matches</h3>" + table(mm, "dnalm-motif-matches", max_rows=500)
    return out


def _signal_part(run) -> str:
    e = run.table("signal_enrichment")
    if e is None:
        return ""
    out = f"<h3>GWAS signal by DNA-LM score</h3><p class='explain'>{SIGNAL_EXPLAIN}</p>" + table(
        e[["score", "stat", "bin", "n", "score_lo", "score_hi", "mean", "enrichment", "ci_lo", "ci_hi", "z"]],
        "signal-enrichment")
    r = run.table("signal_regression")
    if r is not None:
        out += "<h3>Does the score add to LD alone?</h3>" + table(r, "signal-regression")
    return out


def dnalm_parts(run, figdir, idx: pd.DataFrame) -> str:
    """HTML of the region-type table and plot, the motif logos and the GWAS-signal enrichment, when present.

    Parameters
    ----------
    run : locusflow.plots.data.RunResults
        The run.
    figdir : str, Path or upath.UPath
        Directory the plot index's paths are relative to, local or a URI (a region plot is drawn there when
        not indexed).
    idx : DataFrame
        The run's plot_index rows.

    Returns
    -------
    str
        HTML ('' when the run has none of these datasets).
    """
    return _region_part(run, as_path(figdir), idx) + _motif_part(run) + _signal_part(run)
