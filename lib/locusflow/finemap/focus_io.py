"""FOCUS inputs and outputs: GENCODE prior, FOCUS LD blocks, the per-block kernel for ``run_worklist``,
and pyfocus's wide TSV layout.

A work unit names one block (chrom, start, stop) and, per population, paths: the genotype store
(``store``), the munged sumstats dataset (``sumstats``) and the weights (a ``weights`` Parquet dataset,
or a FOCUS SQLite database). The kernel reads only its block's rows.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .. import get_logger
from ..errors import InputError
from ..schema import load
from .focus import focus_block

log = get_logger("focus")
GENCODE = {"gencode37": "gencode_map_v37.tsv.gz", "gencode38": "gencode_map_v38.tsv.gz"}
BLOCKS = {f"{b}:{pops}": f"focus_{pops.lower().replace('-', '_')}_GRCh{b}.bed" for b in ("37", "38")
          for pops in ("EUR", "EUR-AFR", "EUR-EAS", "EUR-EAS-AFR")}  # pyfocus --locations names


def _data(*parts):
    return resources.files("locusflow.data").joinpath(*parts)


@functools.lru_cache(maxsize=8)
def gencode_map(name: str = "gencode38") -> pd.DataFrame:
    """Bundled map (``gencode37``, ``gencode38``) or a TSV path with chrom, start, stop, gene_name."""
    src = _data("gencode", GENCODE[name]) if name in GENCODE else Path(name)
    try:
        with resources.as_file(src) as p:
            df = pd.read_csv(p, sep="\t", dtype={"chrom": str})
    except FileNotFoundError:
        raise InputError(name, f"a GENCODE map: one of {list(GENCODE)} or a TSV path") from None
    miss = [c for c in ("chrom", "start", "stop", "gene_name") if c not in df]
    if miss:
        raise InputError(name, "a GENCODE map with columns chrom, start, stop, gene_name", column=miss[0])
    df["chrom"] = df["chrom"].str.replace("^chr", "", regex=True)
    return df


@functools.lru_cache(maxsize=64)
def _gencode_chrom(name: str, chrom: str):
    g = gencode_map(name)
    g = g[g["chrom"] == chrom]
    return g["start"].to_numpy(), g["stop"].to_numpy(), g["gene_name"].astype(str).to_numpy()


def block_prior(chrom, start, stop, prior="gencode38") -> float:
    """1 / number of distinct GENCODE gene names overlapping [start, stop] (min(stop) - max(start) > 0,
    pyfocus ``GencodeBlocks.subset_by_pos``), or the numeric ``prior``; 1e-3 when no gene overlaps (pyfocus
    aborts its run there), 1/2 when one does (pyfocus's p = 1 makes its PIPs NaN)."""
    try:
        p = float(prior)
    except (TypeError, ValueError):
        p = None
    if p is not None:
        if not 0 < p < 1:
            raise InputError("config", "focus.prior: a probability in (0, 1) or a GENCODE map", value=prior)
        return p
    g_start, g_stop, g_name = _gencode_chrom(str(prior), str(chrom))
    hit = (np.minimum(g_stop, stop) - np.maximum(g_start, start)) > 0
    n = len(np.unique(g_name[hit]))
    if n == 0:
        log.warning("block %s:%d-%d: no GENCODE gene overlaps it; prior 1e-3", chrom, start, stop)
        return 1e-3
    if n == 1:  # p = 1 gives every set but the full one prior 0 (pyfocus: 0 * log 0 = NaN PIPs)
        log.warning("block %s:%d-%d: one GENCODE gene overlaps it; prior 1/2 instead of 1", chrom, start, stop)
        return 0.5
    return 1.0 / n


def read_blocks(source="37:EUR") -> pd.DataFrame:
    """FOCUS block BED (chrom start stop, with header) bundled (``37:EUR``, ``38:EUR``) or from a path."""
    src = _data("ld_blocks", BLOCKS[source]) if source in BLOCKS else Path(source)
    try:
        with resources.as_file(src) as p:
            df = pd.read_csv(p, sep=r"\s+", dtype={"chrom": str})
    except FileNotFoundError:
        raise InputError(source, f"a block BED: one of {list(BLOCKS)} or a path") from None
    if list(df.columns[:3]) != ["chrom", "start", "stop"]:
        raise InputError(source, "a BED with header 'chrom start stop'", row=0)
    df["chrom"] = df["chrom"].str.replace("^chr", "", regex=True)
    return df[["chrom", "start", "stop"]]


@functools.lru_cache(maxsize=16)
def _store(path):
    from ..io.genotypes import GenotypeStore
    st = GenotypeStore(path)
    v = st.variants[["chrom", "pos", "ref", "alt", "rsid", "store_index"]].copy()
    return st, v


@functools.lru_cache(maxsize=16)
def _focus_db(path):
    from ..io.focus_db import read_focus_db, read_focus_models
    return read_focus_db(path), read_focus_models(path)


def models_from_weights(w: pd.DataFrame, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model of a weights frame; panel (ref_name) is the 4th field of ``model_id``."""
    cols = ["model_id", "gene", "gene_name", "tissue", "method", "tx_start", "tx_stop", "cv_r2", "cv_pval"]
    md = w[cols].drop_duplicates("model_id").reset_index(drop=True)
    if extra is not None:
        return md.merge(extra[["model_id", "ref_name", "gene_type", "ens_tx_id"]], on="model_id", how="left")
    md["ref_name"] = md["model_id"].str.split("@").str[3].str.split("#").str[0]
    md["gene_type"] = None
    md["ens_tx_id"] = None
    return md


@functools.lru_cache(maxsize=8)
def _weights(path, chrom):
    """Weights and model table of one chromosome (cached per process: blocks of a chromosome share it)."""
    path = str(path)
    if path.endswith((".db", ".sqlite")):
        w, md = _focus_db(path)
        w = w[w["chrom"] == chrom]
        return w.sort_values("pos", kind="stable").reset_index(drop=True), models_from_weights(w, md)
    from ..io.dataset import read_dataset
    w = read_dataset(path, "weights", filters=[("chrom", "==", chrom)])
    return w.sort_values("pos", kind="stable").reset_index(drop=True), models_from_weights(w)


@functools.lru_cache(maxsize=8)
def _sumstats(path, chrom):
    from ..io.dataset import read_dataset
    ss = read_dataset(path, "sumstats", filters=[("chrom", "==", chrom)],
                      columns=["chrom", "pos", "ref", "alt", "rsid", "z"])
    return ss.sort_values("pos", kind="stable").reset_index(drop=True)


@functools.lru_cache(maxsize=4)
def _panel_by_chrom(path):
    _, v = _store(path)
    return {c: g.sort_values("pos", kind="stable").reset_index(drop=True) for c, g in v.groupby("chrom")}


def _panel(path, chrom):
    return _panel_by_chrom(path).get(chrom, _store(path)[1].iloc[:0])


def _slice(df, start, stop):
    pos = df["pos"].to_numpy()
    return df.iloc[np.searchsorted(pos, start, "left"):np.searchsorted(pos, stop, "right")]


def load_population(pop: dict, chrom: str, start, stop) -> dict:
    """In-memory inputs of one population for one block, read by path (per-chromosome tables cached)."""
    st, _ = _store(str(pop["store"]))
    gw = _slice(_sumstats(str(pop["sumstats"]), chrom), start, stop)
    w, md = _weights(str(pop["weights"]), chrom)
    w = w[w["pos"].isin(gw["pos"])]
    samples = pop.get("samples")
    sidx = st.sample_index(samples) if samples is not None else None
    return {"gwas": gw, "panel": _slice(_panel(str(pop["store"]), chrom), start, stop), "weights": w,
            "models": md, "geno": lambda idx: st.dosages(index=idx, samples=sidx), "name": pop.get("name")}


def focus_kernel(unit: dict, *, pops: list, params: dict) -> pd.DataFrame:
    """Kernel of stage ``focus``: one block (``chrom``, ``start``, ``stop``) or a batch of blocks of one
    chromosome (``blocks``: list of [chrom, start, stop]) -> ``focus_results`` rows."""
    blocks = unit.get("blocks") or [[unit["chrom"], unit["start"], unit["stop"]]]
    p = dict(params)
    prior_spec = p.pop("prior", "gencode38")
    outs = []
    for chrom, start, stop in blocks:  # loop over the unit's blocks
        chrom = str(chrom)
        prior = block_prior(chrom, start, stop, prior_spec)
        data = [load_population(pp, chrom, start, stop) for pp in pops]
        res = focus_block({"chrom": chrom, "start": start, "stop": stop}, data, prior_prob=prior, **p)
        if len(res):
            outs.append(res)
    return pd.concat(outs, ignore_index=True) if outs else load("focus_results").empty()


def to_pyfocus_wide(res: pd.DataFrame) -> pd.DataFrame:
    """pyfocus's ``*.focus.tsv`` layout: one row per gene model and block, population columns suffixed
    ``_pop1``.. (``pips_me``/``in_cred_set_me`` for the joint result); a single population keeps pyfocus's
    suffix ``_pop1`` too. Column names as pyfocus writes them (``cv.R2``, ``pips``)."""
    if not len(res):
        return pd.DataFrame()
    base = ["block", "ens_gene_id", "ens_tx_id", "mol_name", "tissue", "ref_name", "type", "chrom", "tx_start", "tx_stop",
            "block_genes", "trait"]
    keys = ["block", "model_id"]
    pops = [p for p in dict.fromkeys(res["population"]) if p != "me"]
    out = res[res["population"] == pops[0]][["model_id"] + base].copy()
    for i, p in enumerate(pops, 1):
        r = res[res["population"] == p].rename(columns={
            "inference": f"inference_pop{i}", "cv_r2": f"cv.R2_pop{i}", "cv_r2_pval": f"cv.R2.pval_pop{i}",
            "inter_z": f"inter_z_pop{i}", "ldregion": f"ldregion_pop{i}", "twas_z": f"twas_z_pop{i}",
            "pip": f"pips_pop{i}", "in_cred_set": f"in_cred_set_pop{i}"})
        out = out.merge(r[keys + [c for c in r.columns if c.endswith(f"_pop{i}")]], on=keys, how="left")
    if "me" in set(res["population"]):
        r = res[res["population"] == "me"].rename(columns={"pip": "pips_me", "in_cred_set": "in_cred_set_me"})
        out = out.merge(r[keys + ["pips_me", "in_cred_set_me"]], on=keys, how="left")
    return out.drop(columns=["model_id"])
