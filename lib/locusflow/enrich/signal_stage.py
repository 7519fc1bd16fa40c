"""Stage `signal_enrichment`: does GWAS signal concentrate in high DNA-LM scores? Binned enrichment of chi^2,
genome-wide significance and fine-mapped PIPs in bins of -llr, GPNxLD and the LD-score / GC / CpG baselines,
with block-jackknife intervals, and the joint regressions chi2 ~ LD score (+ GPNxLD (+ -llr)).

Config section ``signal_enrichment`` (defaults in brackets)::

    signal_enrichment:
      sumstats: null     # sumstats dataset [this run's]
      scores: null       # variant_scores dataset [this run's, when score_variants ran]
      gpnxld: null       # gpnxld dataset [this run's, when gpnxld ran]
      finemap: null      # finemap_snp dataset (PIPs) [this run's, when finemap ran]
      ld: null           # LD matrices directory for LD scores [this run's, when ld ran]
      fasta: null        # FASTA for GC / CpG baselines [score_variants.fasta]
      n_bins: 5
      n_blocks: 20       # contiguous jackknife blocks
      gw_p: 5.0e-8

Writes ``<out>/signal_enrichment/enrichment`` (dataset signal_enrichment) and ``.../regression``
(signal_regression). See :mod:`locusflow.enrich.signal`. CLI: ``locusflow enrich-signal --out ROOT``.
"""
from __future__ import annotations

from pathlib import Path

from ..config_schema import Key
from ..errors import InputError
from ..io.dataset import read_dataset, write_dataset
from ..layout import dataset_path
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("enrich")
CONFIG = {
    "sumstats": Key("path", None, "sumstats dataset [this run's munge/gwas output]"),
    "scores": Key("path", None, "variant_scores dataset [this run's, when present]"),
    "gpnxld": Key("path", None, "gpnxld dataset [this run's, when present]"),
    "finemap": Key("path", None, "finemap_snp dataset with PIPs [this run's, when present]"),
    "ld": Key("path", None, "LD matrices directory, for LD scores [this run's, when present]"),
    "fasta": Key("file", None, "indexed FASTA for the GC / CpG baselines [score_variants.fasta]"),
    "n_bins": Key("int", 5, "equal-count score bins", min=2),
    "n_blocks": Key("int", 20, "contiguous block-jackknife blocks", min=2),
    "gw_p": Key("float", 5e-8, "genome-wide significance threshold", gt=0, max=1),
}
DEFAULTS = {"sumstats": "sumstats", "scores": "variant_scores", "gpnxld": "gpnxld_scores", "finemap": "finemap_snp",
            "ld": "ld_matrices"}


def _paths(cfg) -> dict:
    sec = cfg.get("signal_enrichment") or {}
    out = {k: Path(sec[k]) if sec.get(k) else dataset_path(cfg, ds) for k, ds in DEFAULTS.items()}
    return {k: p for k, p in out.items() if (sec.get(k) or (p / "_SUCCESS").exists() or k == "sumstats"
                                             or (k == "ld" and (p / "index").exists()))}


def _run(ctx: Context) -> dict:
    from .signal import ld_score_table, signal_frame, signal_tables
    o = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("signal_enrichment").items()
                                                    if v is not None}
    p = _paths(ctx.cfg)
    if not (p["sumstats"] / "_SUCCESS").exists():
        raise InputError(p["sumstats"], "a published sumstats dataset (run munge or gwas first, or set "
                         "signal_enrichment.sumstats)")
    ss = read_dataset(p["sumstats"], "sumstats")
    tabs = {k: read_dataset(p[k], schema) for k, schema in (("scores", "variant_scores"), ("gpnxld", "gpnxld"),
                                                             ("finemap", "finemap_snp")) if k in p}
    fasta = o["fasta"] or (ctx.cfg.get("score_variants") or {}).get("fasta")
    frame = signal_frame(ss, scores=tabs.get("scores"), gpnxld=tabs.get("gpnxld"), finemap=tabs.get("finemap"),
                         ld=ld_score_table(p["ld"]) if "ld" in p else None, fasta=fasta, gw_p=o["gw_p"])
    enr, reg = signal_tables(frame, n_bins=o["n_bins"], n_blocks=o["n_blocks"])
    manifest = {"options": {k: str(x) for k, x in o.items()}, "inputs": {k: str(v) for k, v in p.items()}}
    write_dataset(enr, ctx.path("signal_enrichment"), "signal_enrichment", mode="overwrite", manifest=manifest)
    write_dataset(reg, ctx.path("signal_regression"), "signal_regression", mode="overwrite", manifest=manifest)
    summary = {"variants": len(frame), "scores": sorted(enr["score"].unique().tolist()) if len(enr) else [],
               "stats": sorted(enr["stat"].unique().tolist()) if len(enr) else []}
    for r in enr[(enr["bin"] == "top_minus_bottom") & (enr["stat"] == "chi2")].itertuples():
        summary[f"chi2 top-bottom {r.score}"] = f"{r.enrichment:+.3f} [{r.ci_lo:+.3f}, {r.ci_hi:+.3f}]"
    log.info("signal_enrichment: %s", summary)
    return summary


def _inputs(cfg) -> list:
    p = _paths(cfg)
    return [v / "index" if k == "ld" else v for k, v in p.items()]


register(Stage("signal_enrichment", _run, inputs=_inputs, config=CONFIG))
