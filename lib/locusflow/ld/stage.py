"""Stage `ld`: LD blocks of the run's genotype store and one LD matrix per block.

Config section ``ld`` (all optional; defaults in brackets)::

    ld:
      blocks: EUR          # [EUR] AFR | ASN | focus_eur | focus_eur_afr | focus_eur_eas |
                           # focus_eur_eas_afr | <BED file> | ldsplit | fixed
      window: 1000         # fixed: variants per window
      min_size: 200        # ldsplit: block size limits (variants with MAF >= split_maf)
      max_size: 2000
      band: null           # ldsplit: r2 band in variants [max_size]
      thr_r2: null         # ldsplit: squared correlations below are ignored [the r2 one null pair per
                           # boundary passes: chi2_1 quantile 1/band^2 over n, at least 0.01]
      max_r2: 0.3          # ldsplit: no pair above may straddle a boundary
      split_maf: 0.05      # ldsplit: split on variants with MAF >= it; rarer ones join by position
      max_span: null       # ldsplit: maximum bp span of a block
      max_cost: null       # ldsplit: largest cost reported above the cheapest split [variants / 200]
      n_blocks: null       # ldsplit: blocks per chromosome [min cost2*sqrt(5+cost-min cost), bigsnpr's
                           # choice with the cost the size limits force taken off]
                           # (when no split keeps r2 > max_r2 inside blocks, max_r2 is lifted, with a warning)
      maf: 0.0             # drop variants with MAF below it from the matrices
      samples: null        # sample ids (a list, or a file: one id per line, or FID IID)
      store: null          # genotype store [this run's genotypes, <out>/ingest/genotypes.vcz]

Writes ``<out>/ld/blocks`` (dataset ld_blocks, schema ld_blocks) and ``<out>/ld/matrices`` (dataset
ld_matrices, see locusflow.ld.matrix). Published block sets use the config's ``genome_build``.
CLI: ``locusflow ld --store STORE --out ROOT --blocks EUR``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import storage
from ..logs import get_logger
from ..config_schema import Key
from ..errors import InputError
from ..io.dataset import write_dataset
from ..layout import dataset_path
from ..pipeline import Context, Stage, register
from .blocks import assign_blocks, fixed_windows, published_blocks, read_block_bed

if TYPE_CHECKING:
    from ..io.genotypes import GenotypeStore

log = get_logger("ld")
CONFIG = {
    "blocks": Key("str", "EUR", "EUR | AFR | ASN | focus_eur | focus_eur_afr | focus_eur_eas | focus_eur_eas_afr "
                  "| a BED file | ldsplit | fixed"),
    "window": Key("int", 1000, "fixed: variants per window", min=1),
    "min_size": Key("int", 200, "ldsplit: smallest block (variants)", min=1),
    "max_size": Key("int", 2000, "ldsplit: largest block (variants)", min=1),
    "band": Key("int", None, "ldsplit: r2 band in variants [max_size]", min=1),
    "thr_r2": Key("float", None, "ldsplit: squared correlations below are ignored [noise level for n and band]",
                  min=0, max=1),
    "max_r2": Key("float", 0.3, "ldsplit: no pair above may straddle a boundary", min=0, max=1),
    "split_maf": Key("float", 0.05, "ldsplit: split on variants with MAF >= it", min=0, max=0.5),
    "max_span": Key("float", None, "ldsplit: maximum bp span of a block", gt=0),
    "max_cost": Key("float", None, "ldsplit: largest cost reported above the cheapest split [variants / 200]", gt=0),
    "n_blocks": Key("int", None, "ldsplit: blocks per chromosome [bigsnpr's choice]", min=1),
    "max_K": Key("int", 500, "ldsplit: most blocks considered per chromosome", min=1),
    "maf": Key("float", 0.0, "drop variants with MAF below it from the matrices", min=0, max=0.5),
    "samples": Key(("list", "file"), None, "sample ids: a list, or a file (one id per line, or FID IID) [all]",
                   item=Key(("str", "int"))),
    "store": Key("path", None, "genotype store [this run's genotypes]"),
}
DEFAULTS = {k: v.default for k, v in CONFIG.items() if k != "store"}


def read_samples(spec, store: GenotypeStore):
    """Sample ids from a list or a file (one id per line, or PLINK keep format FID IID); None = all.

    In a file, lines starting with ``#`` are skipped and the second column (IID) is taken when there
    are two or more. Every id is checked against the store.

    Parameters
    ----------
    spec : list or tuple or str or pathlib.Path or None
        The ``ld.samples`` config value: ids, or a file of ids.
    store : GenotypeStore
        The genotype store the ids must belong to.

    Returns
    -------
    list of str or None
        The ids in the given order, or None (all samples) when ``spec`` is None.

    Raises
    ------
    InputError
        When the file does not exist or an id is not a sample of ``store``.
    """
    if spec is None:
        return None
    if isinstance(spec, (list, tuple)):
        ids = [str(s) for s in spec]
    else:
        path = storage.local_file(spec) if storage.is_remote(spec) else Path(spec)
        if not path.exists():
            raise InputError(path, "sample file (one id per line, or FID IID)")
        tab = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, comment="#")
        ids = tab.iloc[:, 1 if tab.shape[1] > 1 else 0].tolist()
    store.sample_index(ids)  # unknown ids: InputError naming them
    return ids


def make_blocks(store: GenotypeStore, opts: dict, *, genome_build: str = "GRCh37", samples=None,
                engine: str = "local", spark=None) -> pd.DataFrame:
    """Blocks (schema ld_blocks) covering every variant of ``store`` as ``opts['blocks']`` says.

    ``ldsplit`` computes data-driven blocks per chromosome (through the engine's work list);
    ``fixed`` makes windows of ``window`` variants; a path is read as a BED file of blocks; any other
    name is a published set (LDetect ``EUR``/``AFR``/``ASN``, the FOCUS ``focus_*`` sets) for
    ``genome_build``. Every variant is then assigned to exactly one block
    (:func:`locusflow.ld.blocks.assign_blocks`).

    Parameters
    ----------
    store : GenotypeStore
        The genotype store.
    opts : dict
        The ``ld`` config section; keys absent or None take :data:`DEFAULTS`.
    genome_build : str
        Build of the store's positions (chooses the published set's coordinates).
    samples : list of str, optional
        Sample ids used (their number enters each block's cost; ldsplit correlations use them only).
    engine : str
        ``local``, ``dask`` or ``spark`` (ldsplit only).
    spark : pyspark.sql.SparkSession, optional
        Session for ``engine='spark'``.

    Returns
    -------
    pandas.DataFrame
        Rows of schema ``ld_blocks``, one per block holding at least one variant.

    Raises
    ------
    InputError
        When a BED file of blocks is missing or malformed, a published set is unknown for ``genome_build``,
    or a sample id is unknown.

    References
    ----------
    Berisa T. & Pickrell J.K. (2016) Bioinformatics 32:283-285 (LDetect); Mancuso N. et al. (2019)
    Nat Genet 51:675 (FOCUS block sets, pyfocus 0.802); Privé F. (2022) Bioinformatics 38:255-256
    (ldsplit, bigsnpr ``snp_ldsplit``).
    """
    o = {**DEFAULTS, **{k: v for k, v in opts.items() if v is not None}}
    spec = str(o["blocks"])
    var = store.positions
    n = store.n_samples if samples is None else len(samples)
    if spec == "ldsplit":
        return _ldsplit_blocks(store, o, genome_build, samples, engine, spark)
    if spec == "fixed":
        iv, src = fixed_windows(var, int(o["window"])), f"fixed_{int(o['window'])}"
    elif storage.exists(spec) or "/" in spec or Path(spec).suffix in (".bed", ".gz", ".txt", ".tsv"):
        iv, src = read_block_bed(spec), storage.as_path(spec).name  # a missing file is an InputError naming it
    else:
        iv = published_blocks(spec, build=genome_build)
        src = iv["source"].iloc[0]
    blocks, _ = assign_blocks(var, iv.drop(columns="source", errors="ignore"), n_samples=n, source=src,
                              genome_build=genome_build)
    return blocks


def _ldsplit_blocks(store, o, build, samples, engine, spark) -> pd.DataFrame:
    from ..engine.runner import run_worklist

    var = store.positions
    sidx = None if samples is None else [int(i) for i in store.sample_index(samples)]
    units = []
    for chrom, g in var.groupby(var["chrom"].astype(str), sort=True):
        rows = g.sort_values(["pos", "store_index"], kind="stable")["store_index"].to_numpy()
        units.append({"unit_id": chrom, "chrom": chrom, "index": [int(r) for r in rows],
                      "cost": float(len(rows)) * min(len(rows), int(o["max_size"])) * store.n_samples})
    kw = {k: o[k] for k in ("min_size", "max_size", "band", "max_K", "thr_r2", "max_r2", "split_maf", "max_span",
                            "max_cost", "n_blocks")}
    from .ldsplit import ldsplit_kernel
    # rows come back: one per LD block (~1,700 for a human genome), bounded by the blocks, not the variants
    return run_worklist(units, ldsplit_kernel, "ld_blocks", engine=engine, spark=spark,
                        kwargs={"store": str(store.path), "samples": sidx, "genome_build": build, **kw})


def run_ld(store_path, out, opts: dict, *, genome_build: str = "GRCh37", engine: str = "local",
           spark=None, progress: bool = True) -> dict:
    """Blocks then LD matrices of a genotype store.

    Parameters
    ----------
    store_path : str or Path
        Genotype store (.vcz).
    out : str or Path
        Directory that gets ``blocks`` (dataset ld_blocks) and ``matrices`` (dataset ld_matrices).
    opts : dict
        The ``ld`` config section (keys of :data:`CONFIG`).
    genome_build, engine, spark, progress
        As in the pipeline config: genome_build (str) of the store's positions; engine (str:
        ``local``, ``dask`` or ``spark``) that runs the work units; spark (SparkSession, optional) for
        ``engine='spark'``; progress (bool) shows a progress bar while the matrices are built.

    Returns
    -------
    dict
        Summary: blocks, source, variants, ld_variants, dropped_maf_or_monomorphic, largest_block.

    Raises
    ------
    InputError
        When the store is not a genotype store, a sample id is unknown (:func:`read_samples`), or the
        blocks cannot be made (:func:`make_blocks`).
    """
    from .matrix import build_ld, open_store     # zarr: imported when the stage runs, not at CLI start
    store = open_store(store_path)              # the one cached per process: build_ld reads its variants again
    out = storage.as_path(out)
    samples = read_samples(opts.get("samples"), store)
    blocks = make_blocks(store, opts, genome_build=genome_build, samples=samples, engine=engine, spark=spark)
    man = {"store": str(store.path), "options": {k: opts.get(k) for k in DEFAULTS}, "genome_build": genome_build}
    write_dataset(blocks, out / "blocks", "ld_blocks", mode="overwrite", manifest=man)
    index = build_ld(store.path, blocks, out / "matrices", samples=samples, maf=float(opts.get("maf") or 0.0),
                     engine=engine, spark=spark, progress=progress, manifest=man,
                     columns=["block_id", "n_variants", "n_dropped", "path"])
    summary = {"blocks": len(blocks), "source": str(blocks["source"].iloc[0]) if len(blocks) else "",
               "variants": int(blocks["n_variants"].sum()), "ld_variants": int(index["n_variants"].sum()),
               "dropped_maf_or_monomorphic": int(index["n_dropped"].sum()),
               "largest_block": int(blocks["n_variants"].max()) if len(blocks) else 0}
    log.info("ld: %s", summary)
    return summary


def _store(cfg):
    return storage.as_path((cfg.get("ld") or {}).get("store") or dataset_path(cfg, "genotypes"))


def _run(ctx: Context) -> dict:
    return run_ld(_store(ctx.cfg), ctx.stage_dir("ld"), ctx.section("ld"),
                  genome_build=ctx.cfg.get("genome_build", "GRCh37"), **ctx.runner_kwargs())


register(Stage("ld", _run, kernels=("locusflow.ld.matrix",), inputs=lambda cfg: [_store(cfg)], config=CONFIG))
