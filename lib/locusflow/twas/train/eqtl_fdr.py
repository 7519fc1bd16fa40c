"""Benjamini-Hochberg q-values over every SNP-gene pair of a run without holding the pairs on the driver.

The q-value of a p-value x among the m finite p-values of the run is
``q(x) = min(1, min over y >= x of m y / R(y))`` with R(y) the number of p-values <= y: exactly what
:func:`locusflow.twas.train.eqtl.bh_qvalues` computes over the sorted vector (tied p-values share it).
Split [0, 1] into fixed p-value buckets (:data:`EDGES`): for x in bucket b,
``q(x) = min(1, S_b(x), T_b)`` where S_b needs only bucket b's p-values and the count C_b of p-values in
the buckets below it, and T_b is one number: the smallest ``m y / R(y)`` over the buckets above.
So the mapping runs as three distributed passes (:func:`run_pairs_with_qvalues`):

1. one task per gene unit computes its pairs and writes them into a work dataset partitioned by bucket;
   its stats are the pair counts per bucket (the driver gets C_b and m from them);
2. one task per bucket reads the bucket's p-values and returns the bucket's smallest ``m y / R(y)``
   (one row per bucket; the driver takes the suffix minima T_b);
3. one task per bucket reads the bucket's pairs, sets their q-values and writes them into the
   eqtl_pairs dataset (its stats: pairs with q < 0.05).

The driver holds counts per bucket, never a pair; a task of passes 2 and 3 holds one bucket's pairs (at
most ~2% of a null run's pairs: the buckets above p = 0.01 are 0.02 wide). The values are those of
:func:`~locusflow.twas.train.eqtl.bh_qvalues` to the last bit (the same products and quotients, and
minima are exact). Rows come back in the kernel's order within a bucket (a sequence column of the work
dataset), so after :func:`locusflow.io.dataset.read_dataset` the rows are in today's order except for
two pairs of one gene at one position (multi-allelic) whose p-values fall into different buckets.

References
----------
Benjamini Y, Hochberg Y (1995) Controlling the false discovery rate. J R Stat Soc B 57:289-300.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ...engine.runner import run_worklist
from ...io.dataset import read_fragments
from ...schema import Column, Schema, load

# bucket edges: wide in the tail (few pairs), 0.02 wide above 0.01 (a null run's bulk)
EDGES = np.r_[0.0, 1e-300, 1e-200, 1e-100, 1e-50, 1e-30, 1e-20, 1e-15, 1e-12, 1e-10, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
              1e-3, 0.005, np.round(np.arange(0.01, 0.995, 0.02), 2), 1.0]


def bucket_of(p) -> np.ndarray:
    """p-value bucket of each value (index into :data:`EDGES`; -1 for NaN).

    Parameters
    ----------
    p : array-like of float
        p-values (NaN and inf: no bucket).

    Returns
    -------
    numpy.ndarray of int64
        b with EDGES[b] <= p < EDGES[b + 1] (p = 1 in the last bucket).
    """
    p = np.asarray(p, dtype=np.float64)
    b = np.clip(np.searchsorted(EDGES, p, side="right") - 1, 0, len(EDGES) - 2).astype(np.int64)
    b[~np.isfinite(p)] = -1
    return b


def work_schema() -> Schema:
    """The contract of pass 1's work dataset.

    Returns
    -------
    locusflow.schema.Schema
        eqtl_pairs plus ``pbin`` (p-value bucket: the partition) and ``seq`` (kernel order: the sort key).
    """
    base = load("eqtl_pairs")
    return dataclasses.replace(base, name="eqtl_pairs_by_pvalue", partition_by=("pbin",), sort_by=("seq",),
                               columns=base.columns + (Column("pbin", "int64", False), Column("seq", "int64", False)))


def _bucket_schema() -> Schema:
    return Schema("eqtl_bucket_min", "smallest m p / R(p) of one p-value bucket",
                  (Column("pbin", "int64", False), Column("min_ratio", "float64")))


def bucketed_pairs(unit: dict, kernel=None, **kwargs) -> pd.DataFrame:
    """Pass 1: a unit's pairs (``kernel``, default :func:`~locusflow.twas.train.eqtl_task.pairs_unit`) with
    their bucket and sequence number (the unit's place in the work list, then the row).

    Parameters
    ----------
    unit : dict
        A work unit of the pairs kernel (with the runner's ``_order``).
    kernel : callable, optional
    **kwargs
        The kernel's arguments.

    Returns
    -------
    pandas.DataFrame
        Schema :func:`work_schema`.
    """
    if kernel is None:
        from .eqtl_task import pairs_unit as kernel
    out = kernel(unit, **kwargs)
    out["pbin"] = bucket_of(out["pval"])
    out["seq"] = (np.int64(unit.get("_order", 0)) << 32) + np.arange(len(out), dtype=np.int64)
    return out


def _counts(frames: dict) -> dict:
    b = frames[""]["pbin"].to_numpy()
    vals, n = np.unique(b, return_counts=True)
    return {f"n.{v}": int(c) for v, c in zip(vals, n)}


def _ratios(p: np.ndarray, below: int, m: int):
    """Distinct sorted p-values of a bucket and their m y / R(y) (R counted from ``below``)."""
    y, n = np.unique(p, return_counts=True)
    r = below + np.cumsum(n)
    return y, y * m / r


def bucket_min(unit: dict, work: str, m: int) -> pd.DataFrame:
    """Pass 2: the smallest m y / R(y) over one bucket's p-values.

    Parameters
    ----------
    unit : dict
        ``pbin``, ``below`` (finite p-values in the buckets below) and ``files`` (the bucket's files).
    work : str
        The work dataset of pass 1.
    m : int
        Finite p-values of the run.

    Returns
    -------
    pandas.DataFrame
        One row: pbin, min_ratio.

    References
    ----------
    Benjamini & Hochberg (1995).
    """
    p = read_fragments(work, work_schema(), unit["files"], columns=["pval"])["pval"].to_numpy(np.float64)
    _, ratio = _ratios(p, int(unit["below"]), m)
    return pd.DataFrame({"pbin": [int(unit["pbin"])], "min_ratio": [float(ratio.min()) if len(ratio) else np.inf]})


def bucket_qvalues(unit: dict, work: str, m: int) -> pd.DataFrame:
    """Pass 3: one bucket's pairs with their Benjamini-Hochberg q-values.

    Parameters
    ----------
    unit, work, m
        As :func:`bucket_min`; the unit also has ``above``: the smallest m y / R(y) of the buckets above
        (inf for the last; pbin -1 holds the pairs without a finite p-value: q NaN).

    Returns
    -------
    pandas.DataFrame
        Schema eqtl_pairs rows, in the kernel's order.

    References
    ----------
    Benjamini & Hochberg (1995).
    """
    d = read_fragments(work, work_schema(), unit["files"])
    d = d.iloc[np.argsort(d["seq"].to_numpy(), kind="stable")].reset_index(drop=True)
    if int(unit["pbin"]) >= 0:
        p = d["pval"].to_numpy(np.float64)
        y, ratio = _ratios(p, int(unit["below"]), m)
        suffix = np.minimum.accumulate(ratio[::-1])[::-1]
        d["qval"] = np.minimum(1.0, np.minimum(suffix[np.searchsorted(y, p)], float(unit["above"])))
    else:
        d["qval"] = np.nan
    return d


def _fdr05(frames: dict) -> dict:
    return {"fdr05": int((frames[""]["qval"] < 0.05).sum())}


def run_pairs_with_qvalues(units, kwargs: dict, work, write_to, *, runner: dict | None = None) -> dict:
    """The eqtl stage's pairs: computed, q-valued and written by the tasks in three passes (module docstring).

    Parameters
    ----------
    units : list of dict
        Gene units (:func:`~locusflow.twas.train.eqtl_task.eqtl_units`).
    kwargs : dict
        Arguments of :func:`~locusflow.twas.train.eqtl_task.pairs_unit`.
    work : str or Path
        A scratch dataset directory every task can reach (removed by the caller).
    write_to : str or Path
        The eqtl_pairs dataset directory (the caller commits it with the returned index).
    runner : dict, optional
        engine, spark (:func:`locusflow.engine.runner.run_worklist`).

    Returns
    -------
    dict
        ``index`` (fragment index of the written pairs, one row per bucket), ``pairs`` (rows) and
        ``fdr05`` (pairs with q < 0.05).

    References
    ----------
    Benjamini & Hochberg (1995).
    """
    rk = dict(runner or {})
    first = run_worklist(units, bucketed_pairs, work_schema(), kwargs=kwargs, write_to=str(work), stats=_counts,
                         **rk, progress=len(units) > 1)
    counts, files = {}, {}
    for fs in first["files"]:
        for f in fs:
            b = int(f.split("/", 1)[0].split("=", 1)[1])
            files.setdefault(b, []).append(f)
    for c in first.columns:
        if c.startswith("stat_n."):
            counts[int(c[len("stat_n."):])] = int(first[c].fillna(0).sum())
    finite = sorted(b for b in files if b >= 0)
    m = int(sum(counts.get(b, 0) for b in finite))
    below = dict(zip(finite, np.cumsum([0] + [counts[b] for b in finite])[:-1].tolist()))
    units2 = [{"unit_id": f"p{b}", "pbin": b, "below": int(below[b]), "files": files[b], "cost": float(counts[b])}
              for b in finite]
    mins = run_worklist(units2, bucket_min, _bucket_schema(), kwargs={"work": str(work), "m": m}, **rk,
                        progress=False)          # one row per p-value bucket (~70)
    ratio = dict(zip(mins["pbin"].astype(int), mins["min_ratio"].astype(float)))
    above, best = {}, np.inf
    for b in reversed(finite):
        above[b] = best
        best = min(best, ratio[b])
    units3 = [dict(u, above=float(above[u["pbin"]])) for u in units2]
    if -1 in files:
        units3.append({"unit_id": "pnan", "pbin": -1, "below": 0, "above": np.inf, "files": files[-1],
                       "cost": float(counts.get(-1, 0))})
    index = run_worklist(units3, bucket_qvalues, "eqtl_pairs", kwargs={"work": str(work), "m": m}, **rk,
                         write_to=str(write_to), stats=_fdr05, progress=False)
    fdr = int(index["stat_fdr05"].fillna(0).sum()) if "stat_fdr05" in index.columns else 0
    return {"index": index, "pairs": int(index["rows"].sum()) if len(index) else 0, "fdr05": fdr}
