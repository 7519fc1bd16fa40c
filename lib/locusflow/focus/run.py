"""FOCUS over a genome: the public entry point :func:`focus` and the stage body :func:`run_focus`.

Blocks come from :func:`locusflow.ld.blocks.resolve_blocks` (a shipped set such as ``37:EUR``, a BED
file, an ``ld_blocks`` dataset): every FOCUS dataset names a block by its ``block_id``. Blocks holding a
GWAS p below the threshold in any population (:func:`locusflow.ld.blocks.signal_blocks`, p from z as
pyfocus computes it) are batched, consecutive blocks of one chromosome per work unit, and mapped with
:func:`locusflow.focus.task.focus_unit` by the engine (local, Dask or Spark).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..logs import get_logger
from ..errors import InputError
from .inputs import pyfocus_block_name

log = get_logger("focus")
PARAMS = ("prior", "ridge", "max_genes", "credible_level", "intercept", "p_threshold", "search", "trait",
          "tissue", "strict_tissue")


def focus_blocks(blocks, sumstats_paths, p_threshold: float = 5e-8) -> tuple[pd.DataFrame, int]:
    """Blocks with a GWAS p < ``p_threshold`` in any population, and the number of blocks.

    Parameters
    ----------
    blocks : str, path or pandas.DataFrame
        Anything :func:`locusflow.ld.blocks.resolve_blocks` takes.
    sumstats_paths : list
        Munged ``sumstats`` datasets, one per population.
    p_threshold : float
        A block is kept when some population has a GWAS p strictly below it.

    Returns
    -------
    (pandas.DataFrame, int)
        chrom, start, stop, block_id, n_sumstats (the most SNPs in any population), in genome order.
    """
    from ..io.dataset import read_dataset
    from ..ld.blocks import resolve_blocks, signal_blocks
    iv = resolve_blocks(blocks)
    hits = []
    for path in sumstats_paths:  # loop over populations
        ss = read_dataset(path, "sumstats", columns=["chrom", "pos", "z"])
        hits.append(signal_blocks(ss, iv, p_threshold)[["block_id", "n_sumstats"]])
    n = pd.concat(hits).groupby("block_id")["n_sumstats"].max()
    out = iv[iv["block_id"].isin(n.index)].copy()
    out["n_sumstats"] = out["block_id"].map(n).to_numpy()
    return out.reset_index(drop=True), len(iv)


def work_units(blocks: pd.DataFrame, per_unit: int = 32) -> list[dict]:
    """Work units of consecutive blocks of one chromosome.

    Parameters
    ----------
    blocks : pandas.DataFrame
        :func:`focus_blocks` rows.
    per_unit : int
        Blocks per unit (each unit reads its span once per population).

    Returns
    -------
    list of dict
        unit_id, cost (the unit's GWAS SNP count), blocks ([chrom, start, stop] each).
    """
    units = []
    for chrom, g in blocks.groupby("chrom", sort=False):  # loop over chromosomes, then batches
        for i in range(0, len(g), max(1, per_unit)):
            b = g.iloc[i:i + per_unit]
            units.append(dict(unit_id=f"{chrom}:{int(b['start'].iloc[0])}-{int(b['stop'].iloc[-1])}", chrom=str(chrom),
                              cost=float(b["n_sumstats"].sum()),
                              blocks=[[str(chrom), int(s), int(e)] for s, e in zip(b["start"], b["stop"])]))
    return units


def _as_list(x, n=None):
    out = [x] if isinstance(x, (str, Path)) else list(x)
    if n is not None and len(out) == 1 and n > 1:
        out = out * n
    return out


def focus(sumstats, store, weights, *, blocks="37:EUR", samples=None, names=None, prior="gencode38",
          ridge: float = 0.1, max_genes: int = 3, credible_level: float = 0.9, intercept: bool = False,
          p_threshold: float = 5e-8, search: str = "auto", trait: str = "trait", tissue: str | None = None,
          strict_tissue: bool = False, engine: str = "local", blocks_per_unit: int = 32, spark=None,
          progress: bool = False, write_to=None) -> pd.DataFrame:
    """FOCUS gene fine-mapping of every block with a GWAS signal (single or multi-ancestry).

    Parameters
    ----------
    sumstats : path or list of paths
        Munged ``sumstats`` dataset(s), one per population.
    store : path or list of paths
        Genotype store(s) (LD reference panel), one per population or one shared.
    weights : path or list of paths
        ``weights`` dataset(s) or FOCUS SQLite database(s), one per population or one shared.
    blocks : str, path or pandas.DataFrame
        LD blocks (:func:`locusflow.ld.blocks.resolve_blocks`): ``37:EUR`` (pyfocus's default), a BED...
    samples : list of lists of str, optional
        Per population, the panel samples to use.
    names : list of str, optional
        Population names (default pop1, pop2, ...).
    prior : str or float
        ``gencode38`` (pyfocus's default), ``gencode37``, a GENCODE TSV or a fixed probability.
    ridge : float
        Added to the LD diagonal (pyfocus ``--ridge-term``).
    max_genes : int
        Largest causal gene set.
    credible_level : float
        Credible gene set level.
    intercept : bool
        Adjust TWAS z for mean tagged pleiotropy.
    p_threshold : float
        Blocks need a GWAS p below it.
    search : {'auto', 'exhaustive', 'sss'}
        'auto': enumeration or stochastic search by a cost model.
    trait : str
        Trait label.
    tissue : str, optional
        Tissue-prioritised fine-mapping (pyfocus ``--tissue``).
    strict_tissue : bool
        Exact tissue-name matching.
    engine : {'local', 'dask', 'spark'}
        Where the work units run (:func:`locusflow.engine.runner.run_worklist`); results are identical.
    blocks_per_unit : int
        Blocks per work unit.
    spark : SparkSession, optional
        The session used when ``engine`` is ``'spark'``.
    progress : bool
        A progress bar for the local loop.
    write_to : str or path, optional
        A dataset directory the tasks write their results into (the stage's); the fragment index
        (:func:`locusflow.engine.runner.run_worklist`) is returned instead of the rows.

    Returns
    -------
    pandas.DataFrame
        The ``focus_results`` dataset (schemas/focus_results.yaml), or with ``write_to`` its fragment index.

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675 (FOCUS); Lu Z et al. (2022) AJHG 109:1388 (MA-FOCUS);
    peer: pyfocus 0.802 ``focus finemap``.
    """
    from ..engine.runner import run_worklist
    from .task import focus_unit
    ss = _as_list(sumstats)
    n = len(ss)
    stores, wts = _as_list(store, n), _as_list(weights, n)
    if len(stores) != n or len(wts) != n or (samples is not None and len(samples) != n):
        raise InputError("focus", "sumstats, store, weights (and samples) once per population")
    pops = [{"name": (names[i] if names else f"pop{i + 1}"), "store": str(stores[i]), "sumstats": str(ss[i]),
             "weights": str(wts[i]), **({"samples": list(samples[i])} if samples is not None else {})}
            for i in range(n)]
    todo, n_blocks = focus_blocks(blocks, ss, p_threshold)
    log.info("FOCUS: %d of %d blocks hold a GWAS p < %g", len(todo), n_blocks, p_threshold)
    units = work_units(todo, blocks_per_unit)
    params = dict(prior=prior, ridge=ridge, max_genes=max_genes, credible_level=credible_level,
                  intercept=intercept, p_threshold=p_threshold, search=search, trait=trait, tissue=tissue,
                  strict_tissue=strict_tissue)
    res = run_worklist(units, focus_unit, "focus_results", engine=engine, spark=spark,
                       kwargs=dict(pops=pops, **params), progress=progress, write_to=write_to)
    res.attrs["blocks_total"], res.attrs["blocks_with_signal"] = n_blocks, len(todo)
    return res


def to_pyfocus_wide(res: pd.DataFrame) -> pd.DataFrame:
    """pyfocus's ``*.focus.tsv`` layout of ``focus_results`` rows.

    Parameters
    ----------
    res : pandas.DataFrame
        ``focus_results`` rows.

    Returns
    -------
    pandas.DataFrame
        One row per gene model and block; ``block`` is pyfocus's name of the equivalent block
        (:func:`locusflow.focus.inputs.pyfocus_block_name`, display only) next to ``block_id``; population
        columns suffixed ``_pop1``.. (``pips_me``/``in_cred_set_me`` for the joint result), names as
        pyfocus writes them (``cv.R2``, ``pips``).
    """
    if not len(res):
        return pd.DataFrame()
    base = ["block_id", "ens_gene_id", "ens_tx_id", "mol_name", "tissue", "ref_name", "type", "chrom", "tx_start",
            "tx_stop", "block_genes", "trait"]
    keys = ["block_id", "model_id"]
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
    parts = out["block_id"].str.extract(r"^(.+):(\d+)-(\d+)$")
    out.insert(0, "block", pyfocus_block_name(parts[0].to_numpy(), parts[1].astype(np.int64).to_numpy(),
                                              parts[2].astype(np.int64).to_numpy()))
    return out.drop(columns=["model_id"])
