"""Map a pure kernel over a work list with Spark, Dask or an in-process loop.

A kernel is a module-level function ``kernel(unit: dict, **kwargs) -> pandas.DataFrame`` whose output
conforms to one schema. A work unit is a dict with at least ``unit_id`` and ``cost`` plus whatever
the kernel needs to find its inputs (paths and index ranges, never the data itself).

- ``local``: a loop in this process with a progress bar.
- ``dask``: one ``dask.delayed`` call per unit on the threaded scheduler.
- ``spark``: units are packed into tasks by predicted cost (largest first onto the least-loaded
  task, the LPT rule), one task per partition, and run with ``mapInPandas``.
Each kernel call runs with one BLAS thread. Outputs are concatenated in work-list order, so the three
engines return identical frames.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from ..logs import get_logger
from ..schema import Schema, load

log = get_logger("runner")
ENGINES = ("local", "dask", "spark")


def pack_tasks(costs, n_tasks: int) -> np.ndarray:
    """Task index per work unit: largest cost first onto the least-loaded task (the LPT rule).

    Parameters
    ----------
    costs : array-like of float
        Predicted cost per unit.
    n_tasks : int
        Number of tasks (capped at the number of units).

    Returns
    -------
    numpy.ndarray
        int32 task index per unit.

    References
    ----------
    Graham R.L. (1969) Bounds on multiprocessing timing anomalies. SIAM J Appl Math 17:416-429.
    """
    costs = np.asarray(costs, dtype=float)
    n_tasks = max(1, min(int(n_tasks), len(costs)))
    load_ = np.zeros(n_tasks)
    task = np.empty(len(costs), dtype=np.int32)
    for i in np.argsort(-costs, kind="stable"):  # loop over work units (blocks), not SNPs
        t = int(np.argmin(load_))
        task[i] = t
        load_[t] += costs[i]
    return task


_POOLS = {}


def _one_thread():
    """threadpool_limits(1) through a cached controller: finding the BLAS/OpenMP libraries (a scan of the
    loaded libraries, ~5 ms) happens again only after new modules were imported (a kernel importing torch)."""
    key = len(sys.modules)
    if key not in _POOLS:
        _POOLS.clear()
        _POOLS[key] = ThreadpoolController()
    return _POOLS[key].limit(limits=1)


def _call(kernel, unit: dict, schema: Schema, kwargs: dict) -> pd.DataFrame:
    with _one_thread():
        out = kernel(unit, **kwargs)
    return schema.conform(out, source=f"kernel {getattr(kernel, '__name__', kernel)} on {unit.get('unit_id')}")


def run_worklist(units, kernel, schema, *, engine: str = "local", kwargs: dict | None = None,
                 spark=None, n_tasks: int | None = None, dask_workers: int | None = None,
                 progress: bool = True) -> pd.DataFrame:
    """Run a kernel over every work unit with Spark, Dask or an in-process loop.

    Each call runs with one BLAS thread; outputs are conformed to ``schema`` and concatenated in
    work-list order, so the three engines return identical frames.

    Parameters
    ----------
    units : list of dict or pandas.DataFrame
        Work units (``unit_id``, ``cost`` and whatever the kernel needs to find its inputs).
    kernel : callable
        Module-level ``kernel(unit, **kwargs) -> pandas.DataFrame``.
    schema : str or locusflow.schema.Schema
        The output dataset's contract.
    engine : {"local", "dask", "spark"}
    kwargs : dict, optional
        Keyword arguments of every kernel call (paths and options, never data).
    spark : pyspark.sql.SparkSession, optional
    n_tasks : int, optional
        Spark tasks (default twice the default parallelism).
    dask_workers : int, optional
    progress : bool
        A progress bar for the local loop.

    Returns
    -------
    pandas.DataFrame
    """
    sch = load(schema) if isinstance(schema, str) else schema
    kwargs = kwargs or {}
    units = units.to_dict("records") if isinstance(units, pd.DataFrame) else list(units)
    for i, u in enumerate(units):
        u.setdefault("unit_id", str(i))
        u.setdefault("cost", 1.0)
        u["_order"] = i
    if not units:
        return sch.empty()
    if engine == "local":
        from tqdm.auto import tqdm
        outs = [_call(kernel, u, sch, kwargs) for u in tqdm(units, disable=not progress, desc="work units")]
    elif engine == "dask":
        import dask
        tasks = [dask.delayed(_call)(kernel, u, sch, kwargs) for u in units]
        outs = list(dask.compute(*tasks, scheduler="threads", num_workers=dask_workers))
    elif engine == "spark":
        return _run_spark(units, kernel, sch, kwargs, spark, n_tasks)
    else:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    outs = [o for o in outs if len(o)]
    if not outs:
        return sch.empty()
    return pd.concat(outs, ignore_index=True)


def _run_spark(units, kernel, sch: Schema, kwargs, spark, n_tasks) -> pd.DataFrame:
    if spark is None:
        from .spark import get_spark
        spark = get_spark()
    if n_tasks is None:
        n_tasks = max(1, spark.sparkContext.defaultParallelism * 2)
    task = pack_tasks([u["cost"] for u in units], n_tasks)
    n = int(task.max()) + 1
    rows = [(t, json.dumps([u for u, tu in zip(units, task) if tu == t], default=_json_default))
            for t in range(n)]
    # parallelize slices a list of n rows into n partitions of exactly one row: one task per partition
    rdd = spark.sparkContext.parallelize(rows, numSlices=n)
    df = spark.createDataFrame(rdd, "task int, units string")
    out_ddl = sch.spark_ddl() + ", `_order` bigint"

    def run_task(batches):
        for batch in batches:
            for payload in batch["units"]:
                for u in json.loads(payload):
                    out = _call(kernel, u, sch, kwargs)
                    if len(out):
                        out["_order"] = u["_order"]
                        yield out

    res = df.mapInPandas(run_task, out_ddl).toPandas()
    if not len(res):
        return sch.empty()
    res = res.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    return sch.conform(res)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
