"""``<out>/report.html``: one self-contained page per run (figures inline as data URIs, inline CSS/JS).

Sections: run and configuration, counts and drops per stage, genome-wide figures, top loci (each with its
locus plot), TWAS genes, FOCUS genes, credible sets, DNA language model (scores of the credible-set SNPs, the
embedding projection; when the run has scores), GO enrichment, z-vs-LD diagnostics, timings. Each
table says what it holds where the user reads it.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..version import __version__
from ..io.dataset import read_dataset
from ..plots.data import RunResults
from ..layout import STAGES
from ..plots.figures import plot_run, write_index
from .dnalm_section import dnalm_parts
from .html import data_uri, esc, figure, page, table
from .text import EXPLAIN

def stage_states(root: Path) -> dict:
    """Stage name -> its published manifest (``<out>/<stage>/_stage.json``: summary, seconds, config, inputs,
    published_at), in pipeline order.

    Parameters
    ----------
    root : Path
        Results root; each stage's manifest is looked for at ``root/<stage>/_stage.json``.

    Returns
    -------
    dict
        Stage name -> the manifest parsed from JSON, in :data:`locusflow.layout.STAGES` order. Stages with no
        manifest, or one that cannot be read or parsed, are left out (no error).
    """
    out = {}
    for name in [s.name for s in STAGES]:
        f = root / name / "_stage.json"
        if f.exists():
            try:
                out[name] = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
    return out


def plot_index(run: RunResults, draw_dir=None) -> tuple[pd.DataFrame, Path]:
    """The run's plot_index and the directory its paths are relative to: the plots stage's, else figures
    drawn now into ``draw_dir`` (default ``<run>/plots``).

    Parameters
    ----------
    run : RunResults
        The run whose figures are indexed.
    draw_dir : str or Path, optional
        Where to draw PNG figures (with :func:`locusflow.plots.figures.plot_run`) and write their index when
        the plots stage has not published ``plot_index``; default ``<run>/plots``. Unused otherwise.

    Returns
    -------
    index : DataFrame
        The plot_index dataset (one row per figure file: name, kind, format, path, title, ...).
    base : Path
        The directory the index's ``path`` column is relative to: the parent of the plots stage's
        ``plot_index`` dataset, else ``draw_dir``.
    """
    p = run.path("plot_index")
    if (p / "_SUCCESS").exists():
        return read_dataset(p, "plot_index"), p.parent
    out = Path(draw_dir) if draw_dir is not None else run.root / "plots"
    write_index(plot_run(run, out, formats=("png",)), out)
    return read_dataset(out / "index", "plot_index"), out


def _figs(root, idx, kind, anchor=True) -> str:
    rows = idx[(idx["kind"] == kind) & (idx["format"] == "png")]
    cap = {r.name: r.title + (f" (lambda_GC = {r.lambda_gc:.3f})" if pd.notna(r.lambda_gc) else "") for r in rows.itertuples()}
    return "".join(figure(data_uri(root / r.path), cap[r.name], anchor=r.name if anchor else "")
                   for r in rows.itertuples())


def _stage_table(states: dict) -> pd.DataFrame:
    """One row per stage: what it produced and what it dropped, by reason (paths left out)."""
    rows = []
    for name, s in states.items():
        summ = s.get("summary") if isinstance(s.get("summary"), dict) else {"status": s.get("summary")}
        kept, dropped = [], []
        for k, v in summ.items():
            if k == "seconds" or isinstance(v, str) and "/" in v:
                continue
            if isinstance(v, dict):
                (dropped if "drop" in k else kept).extend(f"{kk}: {vv}" for kk, vv in v.items())
            elif str(k).startswith(("dropped", "not_in", "n_dropped", "rejected")) or k in ("monomorphic", "removed",
                                                                                            "flagged"):
                dropped.append(f"{k}: {v}")
            else:
                kept.append(f"{k}: {v}")
        rows.append({"stage": name, "counts": "; ".join(kept), "dropped or flagged (reason: count)": "; ".join(dropped)})
    return pd.DataFrame(rows, columns=["stage", "counts", "dropped or flagged (reason: count)"])


def _loci(run, idx) -> pd.DataFrame:
    loci = idx[(idx["kind"] == "locus") & (idx["format"] == "png")]
    cs, foc = run.table("finemap_cs"), run.table("focus")
    rows = []
    for r in loci.itertuples():
        inside = cs[(cs["chrom"] == r.chrom) & cs["lead_pos"].between(r.start, r.stop)] if cs is not None else []
        genes = []
        if foc is not None:
            tg = run.twas_genes()
            pos = tg.drop_duplicates("model_id").set_index("model_id")["pos"] if tg is not None else pd.Series(dtype=float)
            f = foc[(foc["chrom"] == r.chrom) & (foc["in_cred_set"] == 1) & (foc["model_id"] != "NULL.MODEL")]
            f = f[f["model_id"].map(pos).between(r.start, r.stop)]
            genes = [f"{g} ({p:.2f})" for g, p in zip(f["mol_name"], f["pip"])]
        rows.append({"lead SNP": r.lead_label, "lead variant": r.lead_variant, "GWAS p": r.lead_p,
                     "region": f"{r.chrom}:{int(r.start)}-{int(r.stop)}", "credible sets": len(inside),
                     "FOCUS credible genes (PIP)": "; ".join(genes), "plot": r.name})
    return pd.DataFrame(rows)


def _dnalm_table(run) -> str | None:
    """Scored variants by status, and the credible-set SNPs with their LLR, its percentile and GPNxLD."""
    dl = run.dnalm()
    if dl is None:
        return None
    parts = []
    if run.has("variant_scores"):
        st = run.table("variant_scores")["status"].value_counts().rename_axis("status").reset_index(name="variants")
        parts.append("<h3>Variants scored</h3>" + table(st, "dnalm-status"))
    fm = run.table("finemap_snp")
    if fm is not None:
        c = fm[fm["cs"].notna()][["cs", "rsid", "variant_id", "pip", "z"]].join(dl, on="variant_id")
        if "llr" in dl:
            ok = np.sort(dl["llr"].dropna().to_numpy())
            c["LLR percentile"] = np.searchsorted(ok, c["llr"].to_numpy(float), side="right") / max(len(ok), 1) * 100
            c.loc[c["llr"].isna(), "LLR percentile"] = np.nan
        parts.append("<h3>Credible-set SNPs</h3>" + table(c.sort_values(["cs", "pip"], ascending=[True, False]),
                                                          "dnalm-cs-snps"))
    return "".join(parts)


def build_report(root, cfg: dict | None = None, *, out=None, enrichment=None, plots_dir=None) -> Path:
    """Write the run's self-contained HTML report.

    Parameters
    ----------
    root : str or Path
        Run directory.
    cfg : dict, optional
        The configuration the run used (shown as YAML); default: the stage manifests' sections.
    out : str or Path, optional
        Output file (default ``<root>/report.html``).
    enrichment : DataFrame, optional
        go_enrichment rows (default: the enrich stage's dataset when present).
    plots_dir : str or Path, optional
        Where to draw figures when the plots stage has not run (default ``<root>/plots``).

    Returns
    -------
    Path
        The report written (atomically: a temporary file renamed).
    """
    run = RunResults(root, paths=(cfg or {}).get("paths"))
    root = run.root
    out = Path(out) if out is not None else root / "report.html"
    idx, figdir = plot_index(run, plots_dir)
    states = stage_states(root)
    sec = []
    nav = []

    def add(anchor, title, body):
        nav.append((title, f"#{anchor}"))
        sec.append(f"<section id='{anchor}'><h2>{esc(title)}</h2>{body}</section>")

    if not cfg:                                            # the sections each published stage ran with
        cfg = {"genome_build": next((s.get("genome_build") for s in states.values()), None),
               **{k: s.get("config") for k, s in states.items()}}
    conf = yaml.safe_dump({k: v for k, v in cfg.items() if not str(k).startswith("_")}, sort_keys=False, default_flow_style=None)
    inputs = [{"stage": k, "input": i, "content id": h} for k, s in states.items() for i, h in (s.get("inputs") or {}).items()]
    add("run", "Run", f"<p class='explain'>{EXPLAIN['run']}</p><p>Results directory <code>{esc(str(root))}</code>, "
        f"genome build {esc(run.build)}, locusflow {esc(__version__)}.</p>"
        + table(pd.DataFrame(inputs, columns=["stage", "input", "content id"]), "inputs")
        + f"<details><summary>configuration</summary><pre>{esc(conf)}</pre></details>")
    if states:
        add("counts", "Counts and drops per stage", f"<p class='explain'>{EXPLAIN['counts']}</p>"
            + table(_stage_table(states), "stage-counts"))
    qqs = _figs(figdir, idx, "qq_gwas") + _figs(figdir, idx, "qq_twas")
    figs = _figs(figdir, idx, "manhattan_gwas") + _figs(figdir, idx, "manhattan_twas") + (f"<div class='grid'>{qqs}</div>" if qqs else "")
    if figs:
        add("genome", "Genome-wide", f"<p class='explain'>{EXPLAIN['genome']}</p>{figs}")
    loci = _loci(run, idx)
    if len(loci):
        add("loci", "Top loci", f"<p class='explain'>{EXPLAIN['loci']}</p>"
            + table(loci, "top-loci", links={"plot": lambda r: f"#{r['plot']}"}) + _figs(figdir, idx, "locus"))
    tg = run.twas_genes()
    if tg is not None and len(tg):
        t = tg.sort_values("p")[["gene_name", "gene", "tissue", "chrom", "zscore", "p", "n_snps_used",
                                 "n_snps_in_model", "pred_perf_r2", "twas_method"]]
        t = t.rename(columns={"p": "pvalue"})
        add("twas", "TWAS genes", f"<p class='explain'>{EXPLAIN['twas']}</p>" + table(t, "twas-genes", max_rows=500))
    foc = run.table("focus")
    if foc is not None and len(foc):
        f = foc[foc["model_id"] != "NULL.MODEL"].copy()
        if tg is not None:
            f["twas stage z"] = f["model_id"].map(tg.drop_duplicates("model_id").set_index("model_id")["zscore"])
        f = f.sort_values("pip", ascending=False)[["mol_name", "block_id", "population", "pip", "in_cred_set",
                                                   "twas_z"] + (["twas stage z"] if "twas stage z" in f else [])]
        f = f.rename(columns={"twas_z": "FOCUS z (ridge-adjusted)"})
        add("focus", "FOCUS genes", f"<p class='explain'>{EXPLAIN['focus']}</p>" + table(f, "focus-genes", max_rows=500)
            + _figs(figdir, idx, "focus"))
    cs = run.table("finemap_cs")
    if cs is not None:
        c = cs[["cs", "method", "chrom", "lead_variant", "lead_pos", "n_variants", "coverage", "min_abs_corr",
                "log10bf", "variants"]]
        add("cs", "Credible sets", f"<p class='explain'>{EXPLAIN['cs']}</p>" + table(c, "credible-sets"))
    dnalm, extra = _dnalm_table(run), dnalm_parts(run, figdir, idx)
    if dnalm is not None or extra:
        add("dnalm", "DNA language model", (f"<p class='explain'>{EXPLAIN['dnalm']}</p>" + dnalm if dnalm else "")
            + _figs(figdir, idx, "embedding") + extra)
    enr = enrichment
    if enr is None and (run.path("go_enrichment") / "_SUCCESS").exists():
        enr = read_dataset(run.path("go_enrichment"), "go_enrichment")
    if enr is not None:
        e = enr.sort_values(["study", "p"]).groupby("study").head(30)
        add("enrich", "GO enrichment", f"<p class='explain'>{EXPLAIN['enrich']}</p>"
            + table(e[["study", "go_id", "ontology", "term", "study_count", "study_n", "pop_count", "pop_n",
                       "fold_enrichment", "p", "q_bh", "study_genes"]], "go-enrichment"))
    fb = run.table("finemap_blocks")
    fm = run.table("finemap_snp")
    if fb is not None:
        flagged = fm[fm["ld_flagged"].fillna(False)][["variant_id", "rsid", "block_id", "z", "ld_z_std_diff",
                                                      "ld_loglr", "removed"]] if fm is not None else pd.DataFrame()
        add("diagnostics", "Diagnostics: z vs LD", f"<p class='explain'>{EXPLAIN['diagnostics']}</p>"
            + table(fb[["block_id", "status", "n_fitted", "n_flagged", "n_removed", "ld_s", "converged", "n_cs"]],
                    "finemap-blocks") + "<h3>Flagged SNPs</h3>" + table(flagged, "flagged-snps")
            + _figs(figdir, idx, "ld_diagnostic"))
    if states:
        tm = pd.DataFrame([{"stage": k, "seconds": v.get("seconds"), "published": str(v.get("published_at", ""))}
                           for k, v in states.items()])
        add("timings", "Timings", f"<p class='explain'>{EXPLAIN['timings']}</p>" + table(tm, "timings"))
    doc = page("locusflow report", f"{root} · {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", nav, "".join(sec))
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(out)
    return out
