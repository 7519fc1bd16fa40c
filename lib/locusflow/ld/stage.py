"""Stage `ld`: LD blocks of the run's genotype store and one LD matrix per block.

Config section ``ld`` (all optional; defaults in brackets)::

    ld:
      blocks: EUR          # [EUR] AFR | ASN | focus_eur | focus_eur_afr | focus_eur_eas |
                           # focus_eur_eas_afr | <BED file> | ldsplit | fixed
      window: 1000         # fixed: variants per window
      min_size: 200        # ldsplit: block size limits (variants)
      max_size: 2000
      band: null           # ldsplit: r2 band in variants [max_size]
      thr_r2: 0.02         # ldsplit: squared correlations below are ignored (bigsnpr example value)
      max_r2: 0.3          # ldsplit: no pair above may straddle a boundary
      max_span: null       # ldsplit: maximum bp span of a block
      max_cost: null       # ldsplit: largest reported cost [variants / 200]
      n_blocks: null       # ldsplit: blocks per chromosome [bigsnpr's choice, min cost2*sqrt(5+cost)]
                           # (when no split is feasible, max_r2 and max_cost are lifted, with a warning)
      maf: 0.0             # drop variants with MAF below it from the matrices
      samples: null        # sample ids (a list, or a file: one id per line, or FID IID)
      store: null          # genotype store [<out>/genotypes.vcz]

Writes ``<out>/ld_blocks`` (schema ld_blocks) and ``<out>/ld`` (see locusflow.ld.matrix). Published
block sets use the config's ``genome_build``. CLI: ``locusflow ld --store STORE --out DIR --blocks EUR``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import get_logger
from ..errors import InputError
from ..io.dataset import write_dataset
from ..pipeline import Context, Stage, register
from .blocks import assign_blocks, fixed_windows, published_blocks, read_block_bed

if TYPE_CHECKING:
    from ..io.genotypes import GenotypeStore

log = get_logger("ld")
DEFAULTS = {"blocks": "EUR", "window": 1000, "min_size": 200, "max_size": 2000, "band": None, "thr_r2": 0.02,
            "max_r2": 0.3, "max_span": None, "max_cost": None, "n_blocks": None, "max_K": 500, "maf": 0.0,
            "samples": None}


def read_samples(spec, store: GenotypeStore):
    """Sample ids from a list or a file (one id per line, or PLINK keep format FID IID); None = all."""
    if spec is None:
        return None
    if isinstance(spec, (list, tuple)):
        ids = [str(s) for s in spec]
    else:
        path = Path(spec)
        if not path.exists():
            raise InputError(path, "sample file (one id per line, or FID IID)")
        tab = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, comment="#")
        ids = tab.iloc[:, 1 if tab.shape[1] > 1 else 0].tolist()
    store.sample_index(ids)  # unknown ids: InputError naming them
    return ids


def make_blocks(store: GenotypeStore, opts: dict, *, genome_build: str = "GRCh37", samples=None,
                engine: str = "local", spark=None) -> pd.DataFrame:
    """Blocks (schema ld_blocks) covering every variant of ``store`` as ``opts['blocks']`` says."""
    o = {**DEFAULTS, **{k: v for k, v in opts.items() if v is not None}}
    spec = str(o["blocks"])
    var = store.variants
    n = store.n_samples if samples is None else len(samples)
    if spec == "ldsplit":
        return _ldsplit_blocks(store, o, genome_build, samples, engine, spark)
    if spec == "fixed":
        iv, src = fixed_windows(var, int(o["window"])), f"fixed_{int(o['window'])}"
    elif Path(spec).exists() or "/" in spec or Path(spec).suffix in (".bed", ".gz", ".txt", ".tsv"):
        iv, src = read_block_bed(spec), Path(spec).name  # a missing file is an InputError naming it
    else:
        iv = published_blocks(spec, build=genome_build)
        src = iv["source"].iloc[0]
    blocks, _ = assign_blocks(var, iv.drop(columns="source", errors="ignore"), n_samples=n, source=src,
                              genome_build=genome_build)
    return blocks


def _ldsplit_blocks(store, o, build, samples, engine, spark) -> pd.DataFrame:
    from ..engine.runner import run_worklist

    var = store.variants
    sidx = None if samples is None else [int(i) for i in store.sample_index(samples)]
    units = []
    for chrom, g in var.groupby(var["chrom"].astype(str), sort=True):
        rows = g.sort_values(["pos", "store_index"], kind="stable")["store_index"].to_numpy()
        units.append({"unit_id": chrom, "chrom": chrom, "index": [int(r) for r in rows],
                      "cost": float(len(rows)) * min(len(rows), int(o["max_size"])) * store.n_samples})
    kw = {k: o[k] for k in ("min_size", "max_size", "band", "max_K", "thr_r2", "max_r2", "max_span", "max_cost",
                            "n_blocks")}
    from .ldsplit import ldsplit_kernel
    return run_worklist(units, ldsplit_kernel, "ld_blocks", engine=engine, spark=spark,
                        kwargs={"store": str(store.path), "samples": sidx, "genome_build": build, **kw})


def run_ld(store_path, out, opts: dict, *, genome_build: str = "GRCh37", engine: str = "local",
           spark=None, progress: bool = True) -> dict:
    """Blocks then LD matrices; writes ``<out>/ld_blocks`` and ``<out>/ld``; returns a summary."""
    from ..io.genotypes import GenotypeStore     # zarr: imported when the stage runs, not at CLI start
    from .matrix import build_ld
    store = GenotypeStore(store_path)
    out = Path(out)
    samples = read_samples(opts.get("samples"), store)
    blocks = make_blocks(store, opts, genome_build=genome_build, samples=samples, engine=engine, spark=spark)
    man = {"store": str(store.path), "options": {k: opts.get(k) for k in DEFAULTS}, "genome_build": genome_build}
    write_dataset(blocks, out / "ld_blocks", "ld_blocks", mode="overwrite", manifest=man)
    index = build_ld(store.path, blocks, out / "ld", samples=samples, maf=float(opts.get("maf") or 0.0),
                     engine=engine, spark=spark, progress=progress, manifest=man)
    summary = {"blocks": len(blocks), "source": str(blocks["source"].iloc[0]) if len(blocks) else "",
               "variants": int(blocks["n_variants"].sum()), "ld_variants": int(index["n_variants"].sum()),
               "dropped_maf_or_monomorphic": int(index["n_dropped"].sum()),
               "largest_block": int(blocks["n_variants"].max()) if len(blocks) else 0}
    log.info("ld: %s", summary)
    return summary


def _store(cfg):
    from ..io.ingest_stage import store_path
    return Path((cfg.get("ld") or {}).get("store") or store_path(cfg))


def _run(ctx: Context) -> dict:
    return run_ld(_store(ctx.cfg), ctx.out, ctx.section("ld"), genome_build=ctx.cfg.get("genome_build", "GRCh37"),
                  **ctx.runner_kwargs())


def _cli(sub):
    p = sub.add_parser("ld", help="LD blocks and per-block LD matrices of a genotype store")
    p.add_argument("--store", required=True, help="genotype store (.vcz) from `locusflow ingest`")
    p.add_argument("--out", required=True, help="output directory (gets ld_blocks/ and ld/)")
    p.add_argument("--blocks", default="EUR", help="EUR|AFR|ASN|focus_eur...|BED file|ldsplit|fixed")
    p.add_argument("--genome-build", default="GRCh37")
    for name, typ in (("window", int), ("min-size", int), ("max-size", int), ("band", int), ("thr-r2", float),
                      ("max-r2", float), ("max-span", float), ("max-cost", float), ("n-blocks", int),
                      ("maf", float)):
        p.add_argument(f"--{name}", type=typ, default=None)
    p.add_argument("--samples", help="file of sample ids (one per line, or FID IID)")
    p.add_argument("--engine", choices=["local", "dask", "spark"], default="local")

    def go(a):
        opts = {k: getattr(a, k) for k in ("blocks", "window", "min_size", "max_size", "band", "thr_r2", "max_r2",
                                           "max_span", "max_cost", "n_blocks", "maf", "samples")}
        spark = None
        if a.engine == "spark":
            from ..engine.spark import get_spark
            spark = get_spark()
        s = run_ld(a.store, a.out, opts, genome_build=a.genome_build, engine=a.engine, spark=spark)
        print(s)
        return 0
    p.set_defaults(func=go)


register(Stage("ld", _run, inputs=lambda cfg: [_store(cfg)],
               outputs=lambda cfg: [Path(cfg["out"]) / "ld_blocks", Path(cfg["out"]) / "ld" / "index"],
               add_cli=_cli))
