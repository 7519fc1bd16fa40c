"""Stage `dnalm_features` (``locusflow dnalm features``): DNA-LM features at every gene's TSS, for the
reference genome and, with ``personal: true``, for each individual of a genotype store.

Config section ``dnalm_features`` (defaults in brackets)::

    dnalm_features:
      fasta: GRCh37.fa.gz        # indexed (bgzip + .fai) reference genome (required)
      model: null                # DNA LM directory [the shipped GRCh37 chr20 model]
      genes: null                # gene table: gene/gene_id, chrom, tss or start/stop/strand [bundled GENCODE]
      chroms: null               # chromosomes to do [every one of the FASTA that has genes]
      length: 1025               # window (bp) centred on the TSS
      personal: false            # also every store individual's own haplotypes (for l-ctPred)
      store: null                # genotype store [this run's]
      genes_per_unit: 100
      batch_size: 64

Writes ``<out>/dnalm_features/tss`` (schema tss_features) and, when personal, ``personal`` (schema
personal_features: distinct haplotype windows per gene, embedded once each). Work units are chunks of
genes of one chromosome on the configured engine (the model is loaded once per worker process); each
task writes its unit's rows of both datasets, the driver only commits.
See :mod:`locusflow.dnalm.features`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config_schema import Key
from ..engine.runner import run_worklist
from ..errors import InputError
from ..io.dataset import finish_fragments
from ..layout import dataset_path
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("dnalm")
CONFIG = {
    "fasta": Key("file", None, "indexed reference FASTA (bgzip or plain, with .fai)", required=True),
    "model": Key("path", None, "DNA LM directory (config.json + weights) [the shipped GRCh37 chr20 model]"),
    "genes": Key("file", None, "gene table (gene/gene_id, chrom, tss or start/stop/strand; TSV/CSV) [bundled "
                 "GENCODE map of genome_build]"),
    "chroms": Key("list", None, "chromosomes to featurise [all of the FASTA with genes]", item=Key("str")),
    "length": Key("int", 1025, "window length (bp) centred on the TSS", min=3),
    "personal": Key("bool", False, "also the store individuals' own haplotype windows (l-ctPred input)"),
    "store": Key("path", None, "genotype store for personal features [this run's]"),
    "genes_per_unit": Key("int", 100, "genes per work unit", min=1),
    "batch_size": Key("int", 64, "windows per forward pass", min=1),
}


def _store(cfg) -> Path:
    return Path((cfg.get("dnalm_features") or {}).get("store") or dataset_path(cfg, "genotypes"))


def _genes(sec: dict, build: str) -> pd.DataFrame:
    from ..io.fasta import Genome
    from ..io.gene_map import gene_map
    from .features import gene_tss
    if sec.get("genes"):
        path = Path(sec["genes"])
        table = pd.read_csv(path, sep="," if path.name.removesuffix(".gz").endswith(".csv") else "\t",
                            dtype={"chrom": str})
        genes = gene_tss(table, source=path)
    else:
        genes = gene_tss(gene_map(build).rename(columns={"gene_id": "gene"}), source=f"GENCODE map {build}")
    have = set(Genome(sec["fasta"]).contigs)
    want = {str(c).removeprefix("chr") for c in sec["chroms"]} if sec.get("chroms") else have
    genes = genes[genes["chrom"].isin(want & have)]
    if not len(genes):
        raise InputError(sec.get("genes") or "gene map", "genes on the chromosomes of the FASTA",
                         value=sorted(want)[:10])
    return genes


def _run(ctx: Context) -> dict:
    from .features_task import gene_units, personal_unit, reference_unit
    sec = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("dnalm_features").items()
                                                        if v is not None}
    genes = _genes(sec, ctx.cfg.get("genome_build", "GRCh37"))
    units = gene_units(genes, int(sec["genes_per_unit"]))
    kw = {"fasta": str(sec["fasta"]), "model": str(sec["model"]) if sec.get("model") else None,
          "length": int(sec["length"]), "batch_size": int(sec["batch_size"])}
    man = {"options": {k: str(v) for k, v in sec.items()}}
    # the tasks write both datasets (executors write, issue 19); the driver gets one index row per unit
    where = str(ctx.path("tss_features"))
    ref = run_worklist(units, reference_unit, "tss_features", **ctx.runner_kwargs(), kwargs=kw, write_to=where)
    finish_fragments(where, "tss_features", ref, manifest=man)
    chrom_of = {u["unit_id"]: u["chrom"] for u in units}
    summary = {"genes": int(ref["rows"].sum()),
               "chromosomes": len({chrom_of[u] for u, n in zip(ref["unit_id"], ref["rows"]) if n})}
    if sec["personal"]:
        from ..io.genotypes import GenotypeStore
        store = _store(ctx.cfg)
        st = GenotypeStore(store)
        units = [u for u in units if u["chrom"] in set(st.variants["chrom"].astype(str))]
        where = str(ctx.path("personal_features"))
        per = run_worklist(units, personal_unit, "personal_features", **ctx.runner_kwargs(),
                           kwargs=kw | {"store": str(store)}, write_to=where, stats=_genes_with_rows)
        finish_fragments(where, "personal_features", per,
                         manifest=man | {"store": str(store), "samples": [str(s) for s in st.samples]})
        summary |= {"personal_genes": int(per["stat_genes"].fillna(0).sum()) if "stat_genes" in per.columns else 0,
                    "haplotype_windows": int(per["rows"].sum()), "individuals": int(st.n_samples)}
    log.info("dnalm features: %s", summary)
    return summary


def _genes_with_rows(frames: dict) -> dict:
    """Distinct genes of one unit's rows (units hold disjoint genes: the driver sums them)."""
    return {"genes": int(frames[""]["gene"].nunique())}


def _inputs(cfg) -> list:
    sec = cfg.get("dnalm_features") or {}
    return [_store(cfg)] if sec.get("personal") else []


register(Stage("dnalm_features", _run, inputs=_inputs, config=CONFIG))
