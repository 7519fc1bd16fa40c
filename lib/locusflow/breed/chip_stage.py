"""Stage `chip`: a SNP chip of a given size from the run's genotype panel, carrying forced variants.

Config section ``chip``::

    chip:
      size: 50000
      forced: finemap          # finemap (variants of this run's credible sets) | a file of variant_ids | none
      lines: lines.tsv         # optional: sample id, line/breed (MAF must hold in every line)
      r2: 0.8                  # tagging threshold
      min_maf: 0.05
      min_spacing: 0           # bp between chip SNPs of a block
      blocks: ld               # ld (this run's LD blocks) | a number of variants per window

Writes ``<out>/chip/manifest.csv`` (Name, Chr, MapInfo, SNP, Source: vendor-style) and
``<out>/chip/quality`` (dataset chip_quality: coverage and imputation r^2 of the design and of the
uniform design of the same size). CLI: ``locusflow chip --size N --out ROOT``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config_schema import Key
from ..errors import InputError
from ..layout import dataset_path
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("chip")
CONFIG = {
    "size": Key("int", None, "number of SNPs on the chip (forced variants included)", min=1, required=True),
    "forced": Key("str", "none", "variants that must be on the chip: finemap (this run's credible-set "
                  "variants), a file of variant_ids (one per line), or none"),
    "lines": Key("file", None, "sample id and line/breed per sample (MAF must hold in every line)"),
    "r2": Key("float", 0.8, "tagging threshold r^2", gt=0, max=1),
    "min_maf": Key("float", 0.05, "candidate SNPs need this minor allele frequency", min=0, max=0.5),
    "min_spacing": Key("float", 0.0, "minimum bp between chip SNPs of a block", min=0),
    "blocks": Key(("str", "int"), "ld", "ld (this run's LD blocks) or a number of variants per window"),
    "store": Key("path", None, "genotype store [this run's genotypes]"),
    "seed": Key("int", 0, "seed of the imputation hold-out"),
}


def _forced(spec, cfg, variants) -> np.ndarray:
    if spec in (None, "none"):
        return np.array([], dtype=np.int64)
    if spec == "finemap":
        from ..io.dataset import read_dataset
        snp = read_dataset(dataset_path(cfg, "finemap_snp"), "finemap_snp", columns=["variant_id", "cs"])
        ids = snp.loc[snp["cs"].notna(), "variant_id"].unique()
    else:
        path = Path(spec)
        if not path.exists():
            raise InputError(path, "file of variant ids (one per line) not found")
        ids = pd.read_csv(path, header=None, dtype=str)[0].str.strip().to_numpy()
        missing = ~pd.Index(ids).isin(variants["variant_id"])
        if missing.any():
            raise InputError(path, "variant ids of the genotype panel (chrom:pos:ref:alt)",
                             row=int(np.argmax(missing)) + 1, value=ids[missing][0])
    return np.flatnonzero(variants["variant_id"].isin(ids).to_numpy())


def _blocks(spec, cfg, variants) -> np.ndarray:
    if str(spec) == "ld":
        from ..io.dataset import read_dataset
        from ..ld.blocks import locate_blocks
        b = read_dataset(dataset_path(cfg, "ld_blocks"), "ld_blocks", columns=["block_id", "chrom", "start", "stop"])
        got = locate_blocks(variants["chrom"].astype(str).to_numpy(), variants["pos"].to_numpy(), b)
        return pd.factorize(pd.Series(got).fillna("none"))[0]
    w = int(spec)
    chrom = pd.factorize(variants["chrom"].astype(str))[0]
    return chrom * (len(variants) + 1) + np.arange(len(variants)) // w


def run_chip(store_path, sec: dict, cfg: dict, out_manifest, out_quality) -> dict:
    """Design the chip, score it against the uniform design, write the manifest and the quality table.

    Parameters
    ----------
    store_path : str or pathlib.Path
    sec : dict
        The ``chip`` config section.
    cfg : dict
        The whole configuration (this run's LD blocks and fine-mapping).
    out_manifest, out_quality : pathlib.Path

    Returns
    -------
    dict
        Summary: size, forced, coverage and imputation r^2 of both designs.
    """
    from ..io.dataset import write_dataset
    from ..io.genotypes import GenotypeStore
    from .chip import chip_manifest, chip_quality, design_chip, uniform_design

    st = GenotypeStore(store_path)
    var = st.variants.sort_values("store_index").reset_index(drop=True)
    d = st.dosages(0, len(var)).astype(np.float64).T
    d = np.where(np.isnan(d), np.nanmean(d, axis=0), d)
    lines = None
    if sec.get("lines"):
        t = pd.read_csv(sec["lines"], sep=None, engine="python", dtype=str, header=None)
        lines = pd.Series(t[1].to_numpy(), index=t[0].to_numpy()).reindex(np.asarray(st.samples, str)).fillna("?")
    forced = _forced(sec.get("forced", "none"), cfg, var)
    blocks = _blocks(sec.get("blocks", "ld"), cfg, var)
    size = int(sec["size"])
    chip = design_chip(d, blocks, size, forced=forced, lines=None if lines is None else lines.to_numpy(),
                       r2=float(sec.get("r2", 0.8)), min_maf=float(sec.get("min_maf", 0.05)),
                       min_spacing=float(sec.get("min_spacing", 0.0)), pos=var["pos"].to_numpy())
    uni = uniform_design(d, len(chip), min_maf=float(sec.get("min_maf", 0.05)))
    seed = int(sec.get("seed", 0))
    q = pd.DataFrame([{"design": "designed", **chip_quality(d, blocks, chip, seed=seed)},
                      {"design": "uniform", **chip_quality(d, blocks, uni, seed=seed)}])
    q["n_forced"] = [int(forced.size), 0]
    out_manifest = Path(out_manifest)
    out_manifest.parent.mkdir(parents=True, exist_ok=True)
    chip_manifest(var, chip, forced).to_csv(out_manifest, index=False)
    write_dataset(q, out_quality, "chip_quality", mode="overwrite", manifest={"store": str(store_path)})
    ours, base = q.iloc[0], q.iloc[1]
    return {"size": int(len(chip)), "forced": int(forced.size), "coverage": round(float(ours["coverage"]), 4),
            "uniform_coverage": round(float(base["coverage"]), 4),
            "imputation_r2": round(float(ours["imputation_r2"]), 4),
            "uniform_imputation_r2": round(float(base["imputation_r2"]), 4)}


def _store(cfg):
    return Path((cfg.get("chip") or {}).get("store") or dataset_path(cfg, "genotypes"))


def _run(ctx: Context) -> dict:
    return run_chip(_store(ctx.cfg), ctx.section("chip"), ctx.cfg, ctx.path("chip_manifest"),
                    ctx.path("chip_quality"))


def _inputs(cfg):
    sec = cfg.get("chip") or {}
    ins = [_store(cfg)]
    if str(sec.get("blocks", "ld")) == "ld":
        ins.append(dataset_path(cfg, "ld_blocks"))
    if sec.get("forced") == "finemap":
        ins.append(dataset_path(cfg, "finemap_snp"))
    return ins


register(Stage("chip", _run, inputs=_inputs, config=CONFIG))
