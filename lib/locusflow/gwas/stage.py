"""Stage `gwas`: association of every trait of a phenotype table with the run's genotype store.

Config section ``gwas`` (``locusflow config --explain`` prints every key)::

    gwas:
      phenotypes: pheno.tsv     # IID (or sample_id) column + one column per trait; NA / -9 missing
      covariates: covar.tsv     # optional: IID + numeric covariates (a sample missing one is left out)
      traits: [height, bmi]     # default: every column of the phenotype table
      binary: auto              # auto (0/1 or 1/2 traits are case/control) | true | false
      firth_fallback: true      # Firth regression where logistic fails or a case/control cell is empty
      downstream_trait: height  # the trait whose sumstats ld/twas/finemap/focus read [the first]

Writes ``<out>/gwas/assoc`` (dataset gwas_assoc: every trait, long form) and ``<out>/gwas/sumstats``
(dataset gwas_sumstats, schema ``sumstats``: the downstream trait). To run the pipeline from genotypes
instead of munged summary statistics, set ``paths: {sumstats: <out>/gwas/sumstats}`` and leave
``munge`` out of the stages. CLI: ``locusflow gwas --phenotypes FILE --out ROOT``.
"""
from __future__ import annotations

from pathlib import Path

from ..config_schema import Key
from ..layout import dataset_path
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("gwas")
CONFIG = {
    "phenotypes": Key("file", None, "phenotype table: IID (or sample_id) column and one column per trait",
                      required=True),
    "covariates": Key("file", None, "covariate table: IID column and numeric covariates"),
    "traits": Key("list", None, "trait columns [every column of the phenotype table]", item=Key("str")),
    "covariate_columns": Key("list", None, "covariate columns [every column of the covariate table]",
                             item=Key("str")),
    "binary": Key(("str", "bool"), "auto", "auto (0/1 or 1/2 traits are case/control), true or false"),
    "firth_fallback": Key("bool", True, "Firth regression where logistic fails or a case/control cell is empty"),
    "downstream_trait": Key("str", None, "trait written as the sumstats dataset downstream stages read [first]"),
    "chunk": Key("int", None, "variants per work unit [the store's chunk]", min=1),
    "store": Key("path", None, "genotype store [this run's genotypes]"),
}


def _store(cfg) -> Path:
    return Path((cfg.get("gwas") or {}).get("store") or dataset_path(cfg, "genotypes"))


def _run(ctx: Context) -> dict:
    from ..io.dataset import finish_fragments
    from .task import run_gwas

    sec = ctx.section("gwas")
    binary = sec.get("binary", "auto")
    binary = binary if isinstance(binary, bool) or binary == "auto" else str(binary).lower() == "true"
    targets = {"gwas_assoc": (str(ctx.path("gwas_assoc")), "gwas_assoc"),
               "gwas_sumstats": (str(ctx.path("gwas_sumstats")), "sumstats")}
    # each task writes its unit's rows of both datasets; only the fragment index comes back
    frags, report = run_gwas(_store(ctx.cfg), sec["phenotypes"], sec.get("covariates"), traits=sec.get("traits"),
                             covariates=sec.get("covariate_columns"), binary=binary,
                             firth_fallback=bool(sec.get("firth_fallback", True)), chunk=sec.get("chunk"),
                             write_to=targets, downstream=sec.get("downstream_trait"), **ctx.runner_kwargs())
    for name, (where, schema) in targets.items():
        finish_fragments(where, schema, frags[frags["dataset"] == name], manifest={"config": sec})
    traits, down = report.pop("traits"), report.pop("downstream_trait")
    rows = frags.groupby("dataset")["rows"].sum()
    stat = {c[len("stat_"):]: int(frags[c].fillna(0).sum()) for c in frags.columns if c.startswith("stat_")}
    return {"traits": len(traits), "variants": int(rows.get("gwas_assoc", 0) // max(1, len(traits))),
            "downstream_trait": down, "downstream_rows": int(rows.get("gwas_sumstats", 0)),
            "firth": stat.get("firth", 0), "no_result": stat.get("no_result", 0), "samples": report}


register(Stage("gwas", _run, inputs=lambda cfg: [_store(cfg)], config=CONFIG))
