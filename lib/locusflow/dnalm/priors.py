"""GPNxLD: LD-aware DNA-LM scores from the ld stage's stored matrices.

Per variant j of an LD block: ``gpnxld_j = sum_k r_jk^2 a_k`` over the block's variants k, with ``a`` a
calibrated functional score (by default ``a = max(0, -llr)``: how much less likely the alt is than the
ref; unscored variants count as 0). It spreads a variant's functional signal to the variants that tag
it, the quantity a GWAS hit inherits from the functional variants in LD with it.

The functional priors of fine-mapping (a monotone link of the score, mean prior = uniform, the link's
slope estimated across blocks) are in :mod:`locusflow.finemap.functional`.

References
----------
Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
effects. PNAS 120:e2311219120 (GPN; LLR scores).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.scores import read_scores, transform_scores


def functional_score(llr) -> np.ndarray:
    """Calibrated functional score ``a = max(0, -llr)`` (null scores count as 0).

    Parameters
    ----------
    llr : array-like
        Log-likelihood ratios log P(alt) - log P(ref); NaN for unscored variants.

    Returns
    -------
    ndarray of float
        Non-negative scores, 0 where ``llr`` is NaN or positive.

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120 (GPN).
    """
    return np.nan_to_num(transform_scores(llr, "deleterious"), nan=0.0)


def gpnxld(r: np.ndarray, a) -> np.ndarray:
    """``sum_k r_jk^2 a_k`` for each variant j of one block.

    Parameters
    ----------
    r : ndarray, (m, m)
        LD (correlation) matrix of the block.
    a : array-like, (m,)
        Functional score per variant.

    Returns
    -------
    ndarray, (m,)
    """
    r = np.asarray(r, dtype=np.float64)
    return (r * r) @ np.asarray(a, dtype=np.float64)


def gpnxld_unit(unit: dict, *, ld_dir, scores, column: str = "llr", transform: str = "deleterious") -> pd.DataFrame:
    """Work-unit kernel: GPNxLD of one LD block from its stored matrix and its slice of a score table.

    Parameters
    ----------
    unit : dict
        One block: ``block_id``, ``chrom``, ``start``, ``stop`` (a row of the ld index).
    ld_dir : str or Path
        The ld stage's ``matrices`` directory.
    scores : str or Path
        Score table (:func:`locusflow.io.scores.read_scores`: a variant_scores dataset, ...).
    column, transform : str
        Score column and its transform into ``a`` (default ``max(0, -llr)``).

    Returns
    -------
    DataFrame
        Schema gpnxld: block_id, variant_id, chrom, pos, scored, a, gpnxld (the matrix's variant order).

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120.
    """
    from ..ld.matrix import read_block_ld
    var, r = read_block_ld(ld_dir, unit["block_id"])
    sc = read_scores(scores, column, transform, chrom=unit["chrom"], start=unit["start"], stop=unit["stop"])
    a = sc.reindex(var["variant_id"].to_numpy())
    scored = a.notna().to_numpy()
    a = a.fillna(0.0).to_numpy()
    return pd.DataFrame({"block_id": unit["block_id"], "variant_id": var["variant_id"].to_numpy(),
                         "chrom": var["chrom"].astype(str).to_numpy(), "pos": var["pos"].to_numpy(np.int64),
                         "scored": scored, "a": a, "gpnxld": gpnxld(r, a)})


def gpnxld_blocks(ld_dir, scores, block_ids=None, *, column: str = "llr", transform: str = "deleterious",
                  engine: str = "local", spark=None, progress: bool = False, write_to=None) -> pd.DataFrame:
    """GPNxLD over blocks of an LD directory (all of them by default), with the engine's runner.

    Parameters
    ----------
    ld_dir : str or Path
        The ld stage's ``matrices`` directory.
    scores : str or Path
        Score table (variant_scores dataset, Parquet or text with variant_id and ``column``).
    block_ids : list of str, optional
        Blocks [every block of the LD index].
    column, transform : str
        As :func:`gpnxld_unit`.
    engine, spark, progress
        As :func:`locusflow.engine.runner.run_worklist`.
    write_to : str or Path, optional
        Dataset directory each task writes its block's rows into (the caller commits it); the fragment
        index (with ``stat_scored``: scored variants per block) is returned instead of the rows.

    Returns
    -------
    DataFrame
        Schema gpnxld, blocks in LD-index order; or the fragment index with ``write_to``.
    """
    from ..engine.runner import run_worklist
    from ..ld.matrix import read_ld_index
    idx = read_ld_index(ld_dir)
    if block_ids is not None:
        idx = idx.set_index("block_id").loc[list(block_ids)].reset_index()
    units = [{"unit_id": r.block_id, "block_id": r.block_id, "chrom": str(r.chrom), "start": int(r.start),
              "stop": int(r.stop), "cost": float(r.n_variants) ** 2} for r in idx.itertuples()]
    kw = {"ld_dir": str(ld_dir), "scores": str(scores), "column": column, "transform": transform}
    if write_to is None:        # the in-memory API: the caller asked for the rows
        return run_worklist(units, gpnxld_unit, "gpnxld", engine=engine, spark=spark, kwargs=kw, progress=progress)
    return run_worklist(units, gpnxld_unit, "gpnxld", engine=engine, spark=spark, kwargs=kw, progress=progress,
                        write_to=str(write_to), stats=_scored)


def _scored(frames: dict) -> dict:
    return {"scored": int(frames[""]["scored"].sum())}
