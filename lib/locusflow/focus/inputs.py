"""FOCUS inputs read by path for one work unit: the GENCODE prior, the genotype store's panel, munged
sumstats, and weights (a ``weights`` dataset or a FOCUS SQLite database via
:func:`locusflow.io.focus_db.read_focus_db`). Per-chromosome tables are cached per process, so the
blocks of one chromosome share one read.

Blocks are ``ld_blocks`` intervals, 1-based half-open ``[start, stop)`` (:mod:`locusflow.ld.blocks`).
pyfocus reads the same BED numbers as inclusive 1-based ``[s, e]`` (its GWAS, panel and GENCODE subsets
use ``s <= pos <= e``), so a SNP at a block's BED start ``s`` is in its block for pyfocus (and, being
the previous block's BED stop, in that one too) but only in the previous block here. The block
``[start, stop)`` equals pyfocus's ``[start, stop - 1]``: :func:`pyfocus_block_name` names it as pyfocus
would, and the peer comparisons hand pyfocus those equivalent blocks.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..logs import get_logger
from ..errors import InputError
from ..io.harmonise import STR

log = get_logger("focus")
GENCODE = {"gencode37": "gencode_map_v37.tsv.gz", "gencode38": "gencode_map_v38.tsv.gz"}


def pyfocus_block_name(chrom, start, stop):
    """pyfocus's name of the block ``[start, stop)``: ``chrom:start-chrom:(stop - 1)`` (display only).

    Parameters
    ----------
    chrom, start, stop : scalar or array-like
        Block(s) in ``ld_blocks`` coordinates.

    Returns
    -------
    str or numpy.ndarray of object
    """
    if np.ndim(start) == 0:
        return f"{chrom}:{int(start)}-{chrom}:{int(stop) - 1}"
    c = pd.Series(np.asarray(chrom, dtype=object)).astype(str)
    s = pd.Series(np.asarray(start, dtype=np.int64)).astype(str)
    e = pd.Series(np.asarray(stop, dtype=np.int64) - 1).astype(str)
    return (c + ":" + s + "-" + c + ":" + e).to_numpy(dtype=object)


@functools.lru_cache(maxsize=8)
def gencode_map(name: str = "gencode38") -> pd.DataFrame:
    """GENCODE gene map for the FOCUS prior.

    Parameters
    ----------
    name : str
        ``gencode37``, ``gencode38`` (bundled, as pyfocus ships them) or a TSV path with chrom, start,
        stop, gene_name.

    Returns
    -------
    pandas.DataFrame
        chrom (no "chr"), start, stop, gene_name, ...
    """
    src = resources.files("locusflow.data").joinpath("gencode", GENCODE[name]) if name in GENCODE else storage.local_file(name)
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
    """Prior probability that a gene of the block ``[start, stop)`` is causal.

    Parameters
    ----------
    chrom : str
        Chromosome of the block, as the GENCODE map names it (no ``chr`` prefix).
    start, stop : int
        The block, 1-based half-open.
    prior : str or float
        A probability in (0, 1), or a GENCODE map (:func:`gencode_map`): then 1 / the number of distinct
        gene names overlapping the block, overlap = min(g_stop, stop - 1) - max(g_start, start) > 0
        (pyfocus ``GencodeBlocks.subset_by_pos`` on the equivalent block ``[start, stop - 1]``).

    Returns
    -------
    float
        1e-3 when no gene overlaps (pyfocus aborts its run there), 1/2 when one does (pyfocus's p = 1
        makes its PIPs NaN).

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675; pyfocus 0.802 ``--prior-prob``.
    """
    try:
        p = float(prior)
    except (TypeError, ValueError):
        p = None
    if p is not None:
        if not 0 < p < 1:
            raise InputError("config", "focus.prior: a probability in (0, 1) or a GENCODE map", value=prior)
        return p
    g_start, g_stop, g_name = _gencode_chrom(str(prior), str(chrom))
    hit = (np.minimum(g_stop, stop - 1) - np.maximum(g_start, start)) > 0
    n = len(np.unique(g_name[hit]))
    if n == 0:
        log.warning("block %s:%d-%d: no GENCODE gene overlaps it; prior 1e-3", chrom, start, stop)
        return 1e-3
    if n == 1:  # p = 1 gives every set but the full one prior 0 (pyfocus: 0 * log 0 = NaN PIPs)
        log.warning("block %s:%d-%d: one GENCODE gene overlaps it; prior 1/2 instead of 1", chrom, start, stop)
        return 0.5
    return 1.0 / n


@functools.lru_cache(maxsize=8)
def chrom_panel(path, chrom):
    """One chromosome's panel variants, read once per process (its partition of the store's variants
    table only: a unit is one chromosome, so the work lists' processes together read the table once,
    however many of them there are).

    Parameters
    ----------
    path : str
        Genotype store.
    chrom : str
        Chromosome (no ``chr`` prefix).

    Returns
    -------
    pandas.DataFrame or None
        chrom, pos, ref, alt, variant_id (Arrow strings, allele matching's dtype), store_index; sorted by
        pos. None when the store has no variant on ``chrom``.
    """
    from ..io.dataset import read_dataset
    v = read_dataset(storage.as_path(path) / "variants.parquet", "variants", filters=[("chrom", "==", chrom)],
                     columns=["chrom", "pos", "ref", "alt", "variant_id", "store_index"])
    if not len(v):
        return None
    v = v.astype({c: STR for c in ("chrom", "ref", "alt", "variant_id")})
    return v.sort_values("pos", kind="stable").reset_index(drop=True)


@functools.lru_cache(maxsize=16)
def _focus_db(path):
    from ..io.focus_db import read_focus_db, read_focus_models
    return read_focus_db(path), read_focus_models(path)


def models_from_weights(w: pd.DataFrame, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model of a ``weights`` frame.

    Parameters
    ----------
    w : pandas.DataFrame
        ``weights`` rows.
    extra : pandas.DataFrame, optional
        :func:`locusflow.io.focus_db.read_focus_models` rows (ref_name, gene_type, ens_tx_id); without
        it the panel (ref_name) is the 4th ``@`` field of ``model_id``.

    Returns
    -------
    pandas.DataFrame
        model_id, gene, gene_name, tissue, method, tx_start, tx_stop, cv_r2, cv_pval, ref_name,
        gene_type, ens_tx_id.
    """
    cols = ["model_id", "gene", "gene_name", "tissue", "method", "tx_start", "tx_stop", "cv_r2", "cv_pval"]
    md = w[cols].drop_duplicates("model_id").reset_index(drop=True)
    if extra is not None:
        return md.merge(extra[["model_id", "ref_name", "gene_type", "ens_tx_id"]], on="model_id", how="left")
    md["ref_name"] = md["model_id"].str.split("@").str[3].str.split("#").str[0]
    md["gene_type"] = None
    md["ens_tx_id"] = None
    return md


@functools.lru_cache(maxsize=8)
def chrom_weights(path, chrom):
    """One chromosome's weights and gene models, read once per process.

    Parameters
    ----------
    path : str
        ``weights`` dataset or FOCUS SQLite database.
    chrom : str
        Chromosome whose rows are read (no ``chr`` prefix).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Weights (model_id, pos, effect_allele, other_allele, weight, model_code = row of the model table),
        sorted by pos; the model table (:func:`models_from_weights`).
    """
    path = str(path)
    if path.endswith((".db", ".sqlite")):
        w, extra = _focus_db(path)
        w = w[w["chrom"] == chrom]
    else:
        from ..io.dataset import read_dataset
        w, extra = read_dataset(path, "weights", filters=[("chrom", "==", chrom)]), None
    md = models_from_weights(w, extra)
    w = w[["model_id", "pos", "effect_allele", "other_allele", "weight"]].sort_values("pos", kind="stable")
    w = w.astype({"effect_allele": STR, "other_allele": STR}).reset_index(drop=True)
    w["model_code"] = pd.Index(md["model_id"]).get_indexer(w["model_id"])
    return w, md


@functools.lru_cache(maxsize=8)
def chrom_sumstats(path, chrom):
    """One chromosome's sumstats, read once per process.

    Parameters
    ----------
    path : str
        ``sumstats`` dataset.
    chrom : str
        Chromosome whose rows are read (no ``chr`` prefix).

    Returns
    -------
    pandas.DataFrame
        chrom, pos, ref, alt (Arrow strings), z; sorted by pos.
    """
    from ..io.dataset import read_dataset
    ss = read_dataset(path, "sumstats", filters=[("chrom", "==", chrom)], columns=["chrom", "pos", "ref", "alt", "z"])
    ss = ss.astype({c: STR for c in ("chrom", "ref", "alt")})
    return ss.sort_values("pos", kind="stable").reset_index(drop=True)


def span(df: pd.DataFrame, start, stop) -> pd.DataFrame:
    """Rows of a pos-sorted frame inside a block or span.

    Parameters
    ----------
    df : pandas.DataFrame
        Sorted by ``pos``.
    start, stop : int
        1-based half-open interval.

    Returns
    -------
    pandas.DataFrame
        The rows with start <= pos < stop.
    """
    pos = df["pos"].to_numpy()
    return df.iloc[np.searchsorted(pos, start, "left"):np.searchsorted(pos, stop, "left")]


def load_population(pop: dict, chrom: str, start, stop) -> dict:
    """One population's inputs for the span ``[start, stop)`` of ``chrom``, read by path.

    Parameters
    ----------
    pop : dict
        store (genotype store path), sumstats (dataset path), weights (dataset or FOCUS .db path),
        optional samples (panel sample ids) and name.
    chrom : str
        Chromosome of the span (no ``chr`` prefix).
    start, stop : int
        1-based half-open span.

    Returns
    -------
    dict
        gwas, panel, weights, models frames, ``geno(store_index)`` dosage reader, name: the arguments of
        :class:`locusflow.focus.align.PopulationSpan`.
    """
    from ..ld.matrix import open_store
    st = open_store(str(pop["store"]))
    gw = span(chrom_sumstats(str(pop["sumstats"]), chrom), start, stop)
    w, md = chrom_weights(str(pop["weights"]), chrom)
    samples = pop.get("samples")
    sidx = st.sample_index(samples) if samples is not None else None
    panel = chrom_panel(str(pop["store"]), chrom)
    panel = span(panel, start, stop) if panel is not None else pd.DataFrame(columns=["chrom", "pos", "ref", "alt",
                                                                                       "store_index"])
    return {"gwas": gw, "panel": panel, "weights": w, "models": md,
            "geno": lambda idx: st.dosages(index=idx, samples=sidx), "name": pop.get("name") or "pop1"}
