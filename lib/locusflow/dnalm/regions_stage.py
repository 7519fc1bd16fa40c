"""Stage `dnalm_regions`: masked-base accuracy and perplexity of a DNA language model by region type.

Config section ``dnalm_regions`` (defaults in brackets)::

    dnalm_regions:
      fasta: genome.fa.gz        # indexed FASTA (soft-masked repeats in lower case, when it has them)
      model: null                # masked-LM directory [the shipped GRCh37 chr20 model]
      annotation: null           # GTF with exon/CDS(frame)/start_codon/stop_codon/UTR [bundled refGene hg19 chr20]
      repeats: null              # repeats BED, used when the FASTA has no soft-masked bases
      segments: null             # ["20:50000001-52000000", "20"] [the model's held-out segment]
      max_per_region: 2000       # positions drawn per region type and segment
      strands: 1                 # 2: average both strands
      seed: 0

Writes ``<out>/dnalm_regions/regions`` (dataset dnalm_regions); the report's DNA language model section
shows it with a point plot. See :mod:`locusflow.dnalm.regions`. CLI: ``locusflow dnalm regions --fasta F
[--model DIR] [--annotation GTF] [--segments 20:50000001-52000000] --out ROOT``.
"""
from __future__ import annotations

from ..config_schema import Key
from ..errors import InputError
from ..io.dataset import write_dataset
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("dnalm")
CONFIG = {
    "fasta": Key("file", None, "indexed FASTA of the model's genome"),
    "model": Key("path", None, "masked-LM directory [the shipped GRCh37 chr20 model]"),
    "annotation": Key("file", None, "GTF with exon, CDS (frame), start/stop codon and UTR records "
                      "[bundled UCSC refGene hg19 chr20]"),
    "repeats": Key("file", None, "BED of repeats (used when the FASTA has no soft-masked bases)"),
    "segments": Key("list", None, "segments chrom:start-end or chrom [the model's held-out segment]", item=Key("str")),
    "max_per_region": Key("int", 2000, "positions drawn per region type and segment", min=1),
    "max_candidates": Key("int", 5_000_000, "longer segments are thinned to this many positions first", min=1),
    "window": Key("int", None, "window length (bp) [the model's training window]", min=8),
    "strands": Key("int", 1, "1: forward strand; 2: mean probability of both strands", choices=(1, 2)),
    "promoter_up": Key("int", 1000, "promoter: bp upstream of a transcript's TSS", min=0),
    "promoter_down": Key("int", 100, "promoter: bp downstream of the TSS", min=0),
    "batch_size": Key("int", 512, "windows per forward pass", min=1),
    "device": Key("str", None, "cpu or cuda [cuda when available]"),
    "seed": Key("int", 0, "random draws"),
}


def _run(ctx: Context) -> dict:
    from .regions import region_metrics
    o = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("dnalm_regions").items()
                                                    if v is not None}
    if o["fasta"] is None:
        raise InputError("dnalm_regions.fasta", "an indexed FASTA of the model's genome")
    t = region_metrics(o["fasta"], o["annotation"], model=o["model"], segments=o["segments"], repeats=o["repeats"],
                       window=o["window"], max_per_region=o["max_per_region"], max_candidates=o["max_candidates"],
                       strands=o["strands"], seed=o["seed"], promoter_up=o["promoter_up"],
                       promoter_down=o["promoter_down"], batch_size=o["batch_size"], device=o["device"])
    write_dataset(t, ctx.path("dnalm_regions"), "dnalm_regions", mode="overwrite",
                  manifest={"options": {k: str(x) for k, x in o.items()}})
    summary = {"segments": int(t["segment"].nunique()), "positions_evaluated": int(t.loc[t["region"] == "all", "n"].sum())}
    for r in t[(t["region"] == "all")].itertuples():
        summary[f"accuracy {r.segment}"] = round(float(r.accuracy), 4)
    summary["empty_region_types"] = int((t["status"] == "empty").sum())
    log.info("dnalm_regions: %s", summary)
    return summary


register(Stage("dnalm_regions", _run, config=CONFIG))
