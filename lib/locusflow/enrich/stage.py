"""The ``enrich`` stage: GO over-representation of the run's gene sets (FOCUS credible-set genes, TWAS
Bonferroni hits against the genes TWAS tested; genes near the top GPNxLD variants against the genes near any
variant with a GPNxLD score, when the gpnxld stage ran); writes the go_enrichment dataset.

Config section ``enrich``::

    enrich:
      go: ../shared/realdata/go_annotation   # directory of go_terms / go_edges / human_gene2go / entrez2ensembl
      test: hypergeometric                   # or fisher_two_sided (goatools' default test)
      relationships: [isa]                   # DAG edges annotations propagate along (add "part of")
      evidence_exclude: []                   # e.g. [IEA, ND]
      orthologs: null                        # TSV gene -> human_symbol for other species
      gpnxld_top: 100                        # genes near the 100 variants with the largest GPNxLD ...
      gpnxld_window: 50000                   # ... within 50 kb of the gene body
"""
from __future__ import annotations

from ..config_schema import Key
from ..pipeline import Context, Stage, register

CONFIG = {
    "go": Key("path", None, "GO annotation directory (go_terms.tsv.gz, go_edges.tsv.gz, human_gene2go.tsv.gz, "
              "human_entrez2ensembl.tsv.gz)", required=True),
    "test": Key("str", "hypergeometric", "one-sided hypergeometric, or goatools' two-sided Fisher",
                choices=("hypergeometric", "fisher_two_sided")),
    "relationships": Key("list", ["isa"], "DAG edge types annotations are propagated along",
                         item=Key("str", choices=("isa", "part of", "regulates", "positively regulates",
                                                  "negatively regulates"))),
    "evidence_exclude": Key("list", [], "GO evidence codes to ignore (e.g. IEA)", item=Key("str")),
    "orthologs": Key("path", None, "TSV with columns gene, human_symbol for non-human genes"),
    "min_pop_count": Key("int", 1, "test terms with at least this many background genes", min=1),
    "gpnxld_top": Key("int", 100, "study gpnxld_top: genes near this many variants with the largest GPNxLD", min=1),
    "gpnxld_window": Key("int", 50_000, "bp between a variant and a gene body for the gene to be near", min=0),
}
GPNXLD = "gpnxld_scores"     # the gpnxld stage's dataset (read when that stage exists and has run)


def _gpnxld_path(cfg):
    from ..layout import DATASETS, dataset_path
    return dataset_path(cfg, GPNXLD) if GPNXLD in DATASETS else None


def _inputs(cfg) -> list:
    from ..layout import dataset_path
    return [p for p in (dataset_path(cfg, "twas_results"), dataset_path(cfg, "focus_results"), _gpnxld_path(cfg))
            if p is not None and p.exists()]


def _run(ctx: Context) -> dict:
    from ..io.dataset import write_dataset
    from .go import load_go
    from .studies import enrich_run
    sec = {k: v.default for k, v in CONFIG.items()} | ctx.section("enrich")
    go = load_go(sec["go"])
    res = enrich_run(ctx.path("twas_results"), ctx.path("focus_results"), go, test=sec["test"],
                     orthologs=sec.get("orthologs"), relationships=tuple(sec["relationships"]),
                     evidence_exclude=tuple(sec["evidence_exclude"]), min_pop_count=int(sec["min_pop_count"]),
                     gpnxld_path=_gpnxld_path(ctx.cfg), build=ctx.cfg.get("genome_build") or "GRCh37",
                     gpnxld_top=int(sec["gpnxld_top"]), gpnxld_window=int(sec["gpnxld_window"]))
    write_dataset(res, ctx.path("go_enrichment"), "go_enrichment", mode="overwrite")
    per = {s: {"genes": int(g["study_n"].iloc[0]), "terms_tested": len(g), "q_below_0.05": int((g["q_bh"] < 0.05).sum())}
           for s, g in res.groupby("study")} if len(res) else {}
    per = {s: dict(v, background_genes=int(res.loc[res["study"] == s, "pop_n"].iloc[0])) for s, v in per.items()}
    return {"background_genes": int(res["pop_n"].iloc[0]) if len(res) else 0, "studies": per}


register(Stage("enrich", _run, inputs=_inputs, config=CONFIG))
