"""Stage `dnalm_motifs` (``locusflow dnalm motifs``): motifs a DNA language model learned in a set of regions
(promoters around gene TSSs, or a BED), matched to a motif database, with logos.

Config section ``dnalm_motifs`` (defaults in brackets)::

    dnalm_motifs:
      fasta: GRCh37_chr20.fa.gz  # indexed reference FASTA (required)
      model: null                # DNA LM directory [the shipped GRCh37 chr20 model]
      regions: null              # BED of regions (chrom, start, end, name), or:
      tss: null                  # window length (bp) centred on each gene's TSS (promoters)
      genes: null                # gene table for tss [bundled GENCODE map of genome_build]
      chroms: null               # chromosomes kept [all]
      max_regions: null          # first N regions only
      motif_db: null             # MEME or JASPAR file [bundled JASPAR CORE vertebrates subset]
      importance: ic             # ic (predicted distribution) | ism (in-silico mutagenesis)
      window: 128                # model window (bp)
      batch_size: 256
      regions_per_unit: 50       # regions per work unit
      seqlet_window: 15          # core window of the importance sums; seqlets are +-flank wider
      flank: 5
      fdr: 0.05                  # seqlet threshold vs a within-region permutation null
      max_seqlets: 1000
      max_shift: 5
      min_similarity: 0.5        # clustering cut (Pearson of contribution matrices)
      min_seqlets: 10            # smallest cluster reported
      min_overlap: 5             # Tomtom-style comparison
      logo_formats: [png, svg]
      seed: 0

Work units (chunks of ``regions_per_unit`` regions, on the configured engine, the model loaded once per
process) write ``<out>/dnalm_motifs/importance`` (schema motif_importance: the per-position importance);
the driver reads it back and writes ``<out>/dnalm_motifs/motifs`` (schema motifs), ``matches`` (motif_matches), ``seqlets`` (seqlets)
``sites`` (motif_sites: the model's importance at each database motif's PWM sites) and
``logos/<motif_id>.png|svg``. See :mod:`locusflow.dnalm.motif_run`.
CLI: ``locusflow dnalm motifs --fasta F --tss 201 --motif-db jaspar.meme --out ROOT``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config_schema import Key
from ..errors import InputError
from ..engine.runner import run_worklist
from ..io.dataset import finish_fragments, read_dataset, write_dataset
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("dnalm")
CONFIG = {
    "fasta": Key("file", None, "indexed reference FASTA (bgzip or plain, with .fai)", required=True),
    "model": Key("path", None, "DNA LM directory (config.json + weights) [the shipped GRCh37 chr20 model]"),
    "regions": Key("file", None, "BED of regions (chrom, 0-based start, end, name); or give tss"),
    "tss": Key("int", None, "promoters: window length (bp) centred on each gene's TSS (instead of regions)", min=31),
    "genes": Key("file", None, "gene table for tss (gene/gene_id, chrom, tss or start/stop/strand) [bundled "
                 "GENCODE map of genome_build]"),
    "chroms": Key("list", None, "chromosomes kept [all of the FASTA]", item=Key("str")),
    "max_regions": Key("int", None, "use only the first N regions (sorted by position)", min=1),
    "motif_db": Key("file", None, "motif database, MEME or JASPAR format [bundled JASPAR CORE vertebrates subset]"),
    "importance": Key("str", "ic", "importance track", choices=("ic", "ism")),
    "window": Key("int", 128, "model window (bp)", min=3),
    "fdr": Key("float", 0.05, "seqlet threshold: estimated FDR vs a within-region permutation null", gt=0, max=1),
    "batch_size": Key("int", 256, "windows per forward pass", min=1),
    "regions_per_unit": Key("int", 50, "regions per work unit (importance)", min=1),
    "seqlet_window": Key("int", 15, "core window (bp) of the importance sums", min=3),
    "flank": Key("int", 5, "seqlet flank (bp) on each side of the core", min=0),
    "max_seqlets": Key("int", 1000, "keep the highest-scoring seqlets", min=2),
    "max_shift": Key("int", 5, "largest shift when comparing seqlets", min=0),
    "min_similarity": Key("float", 0.5, "clustering cut: Pearson correlation of contribution matrices",
                          min=-1, max=1),
    "min_seqlets": Key("int", 10, "smallest seqlet cluster reported as a motif", min=2),
    "min_overlap": Key("int", 5, "fewest aligned columns in the database comparison", min=1),
    "logo_formats": Key("list", ["png", "svg"], "logo file formats", item=Key("str", choices=("png", "svg", "pdf"))),
    "seed": Key("int", 0, "random seed (permutation null)"),
}


def _regions(sec: dict, build: str, fasta) -> pd.DataFrame:
    from .annotate import fasta_lengths, read_bed
    if (sec.get("regions") is None) == (sec.get("tss") is None):
        raise InputError("dnalm_motifs", "exactly one of regions (a BED) and tss (a window length)",
                         value={"regions": sec.get("regions"), "tss": sec.get("tss")})
    lengths = fasta_lengths(fasta)
    if sec.get("regions"):
        regions = read_bed(sec["regions"], fasta=fasta)
    else:
        from ..io.gene_map import gene_map
        from .features import gene_tss
        from .motif_run import tss_regions
        source = sec.get("genes") or f"GENCODE map {build}"
        table = (pd.read_csv(source, sep=None, engine="python", dtype={"chrom": str}) if sec.get("genes")
                 else gene_map(build).rename(columns={"gene_id": "gene"}))
        genes = gene_tss(table, source=source)
        regions = tss_regions(genes[genes["chrom"].isin(list(lengths))], int(sec["tss"]), contigs=lengths)
    if sec.get("chroms"):
        regions = regions[regions["chrom"].isin({str(c).removeprefix("chr") for c in sec["chroms"]})]
    if sec.get("max_regions"):
        regions = regions.head(int(sec["max_regions"]))
    if not len(regions):
        raise InputError(sec.get("regions") or "gene map", "regions on chromosomes of the FASTA",
                         value=sorted(lengths)[:5])
    return regions.reset_index(drop=True)


def _run(ctx: Context) -> dict:
    from .motif_run import motifs_from_importance
    from .motifs_task import importance_arrays, importance_unit, region_units
    given = ctx.section("dnalm_motifs")
    sec = {k: key.default if given.get(k) is None else given[k] for k, key in CONFIG.items()}
    regions = _regions(sec, ctx.cfg.get("genome_build", "GRCh37"), sec["fasta"])
    man = {"options": {k: str(v) for k, v in sec.items()}, "regions": len(regions)}
    # the tasks write the per-position importance (executors write); motif discovery is global: the
    # driver reads the committed dataset back
    where = str(ctx.path("motif_importance"))
    kw = {"fasta": str(sec["fasta"]), "model": str(sec["model"]) if sec.get("model") else None,
          "window": int(sec["window"]), "batch_size": int(sec["batch_size"])}
    index = run_worklist(region_units(regions, int(sec["regions_per_unit"])), importance_unit, "motif_importance",
                         **ctx.runner_kwargs(), kwargs=kw, write_to=where)
    finish_fragments(where, "motif_importance", index, manifest=man)
    imp = importance_arrays(read_dataset(where, "motif_importance"))
    res = motifs_from_importance(imp, regions, motif_db=sec.get("motif_db"), importance=sec["importance"],
                                 seqlet_window=int(sec["seqlet_window"]), flank=int(sec["flank"]),
                                 fdr=float(sec["fdr"]), max_seqlets=int(sec["max_seqlets"]),
                                 max_shift=int(sec["max_shift"]), min_similarity=float(sec["min_similarity"]),
                                 min_seqlets=int(sec["min_seqlets"]), min_overlap=int(sec["min_overlap"]),
                                 logo_dir=Path(str(ctx.path("motif_logos"))),
                                 logo_formats=tuple(sec["logo_formats"]), seed=int(sec["seed"]))
    for name in ("motifs", "motif_matches", "seqlets", "motif_sites"):
        write_dataset(res[name], ctx.path(name), name, mode="overwrite", manifest=man)
    mt = res["motifs"]
    sig = mt[mt["best_q"].fillna(1) < 0.05]
    summary = {"regions": len(regions), "positions": int(len(res["importance"]["pos"])),
               "seqlets": len(res["seqlets"]), "motifs": len(mt),
               "matched_q05": ", ".join(f"{a}={b}" for a, b in zip(sig["motif_id"], sig["best_match_name"])),
               "site_importance_q05": ", ".join(res["motif_sites"].query("q_value < 0.05 and difference > 0")
                                               ["target_name"])}
    log.info("dnalm motifs: %s", summary)
    return summary


register(Stage("dnalm_motifs", _run, config=CONFIG))
