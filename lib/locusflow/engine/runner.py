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

Stage outputs are written by the tasks, not the driver (``write_to``): each unit's rows go from the
worker that computed them straight into the stage's staging directory (local or an object store) as
their own fragment files (:func:`locusflow.io.dataset.write_fragment`), and the runner returns only the
fragment index, one small row per unit (files, rows, the writer's pid and optional per-unit ``stats``).
The driver then commits (:func:`locusflow.io.dataset.finish_fragments`). Without ``write_to`` the runner
returns the rows themselves: for bounded outputs only (one row per LD block, gene or p-value bucket) and
for the in-memory API functions whose caller asked for a frame (``lf.run_fst``, ``lf.run_gwas``...); the
allow-list of tests/engine/test_executors_write.py names each such work list and why.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from concurrent.futures import Future

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from ..checksum import learn, take_written
from ..logs import get_logger
from ..schema import Schema, load
from .reuse import current as current_reuse

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


def unit_key(unit: dict) -> str:
    """A unit's fragment name: a short hash of its ``unit_id`` (file-name safe on every store).

    Parameters
    ----------
    unit : dict
        A work unit.

    Returns
    -------
    str
        16 hex digits.
    """
    return hashlib.blake2b(str(unit["unit_id"]).encode(), digest_size=8).hexdigest()


class Sink:
    """Where a task writes its unit's output: one dataset, or several (``split`` maps the kernel's frame
    to ``{name: frame}``); ``stats(frames) -> {name: number}`` is summed by the caller."""

    def __init__(self, write_to, schema: Schema, split=None, stats=None):
        from ..schema import load as load_schema
        if isinstance(write_to, dict):
            self.targets = {k: (str(d), load_schema(sc) if isinstance(sc, str) else sc)
                            for k, (d, sc) in write_to.items()}
        else:
            self.targets = {"": (str(write_to), schema)}
        self.split, self.stats, self.schema = split, stats, schema

    def write(self, frame: pd.DataFrame, unit: dict) -> dict:
        """Write a unit's frame (conformed to the work list's schema by the runner) as its fragment(s)."""
        from ..io.dataset import write_fragment
        frames = self.split(frame) if self.split else {"": frame}
        key = unit_key(unit)
        files = {k: write_fragment(frames[k], d, sch, key, source=f"unit {unit['unit_id']}",
                                   conformed=self.split is None and sch is self.schema) if k in frames else []
                 for k, (d, sch) in self.targets.items()}       # a dataset the unit has no rows for: no file
        rows = {k: int(len(frames[k])) if k in frames else 0 for k in self.targets}
        return {"unit_id": str(unit["unit_id"]), "key": key, "input": unit.get("_input"), "_order": unit["_order"],
                "files": files, "rows": rows, "pid": os.getpid(), "stats": self.stats(frames) if self.stats else {},
                "written": take_written()}       # hashes of the files the kernel wrote (LD matrices), for the driver


def _unit(kernel, unit: dict, schema: Schema, kwargs: dict, sink: Sink | None):
    t0 = time.perf_counter()
    out = _call(kernel, unit, schema, kwargs)
    if sink is None:
        return out
    rec = sink.write(out, unit)
    rec["seconds"] = time.perf_counter() - t0       # the unit's kernel + write, for the work log
    return rec


def _log_work(kernel, engine: str, records: list, wall: float, tasks: int) -> None:
    """One line per work list: units, tasks, the units' summed and largest time (kernel + write) and the
    wall time of the whole map (scheduling, serialisation and waiting included): bench/scale.py reads it."""
    sec = [float(r.get("seconds") or 0.0) for r in records]
    log.info("work %s on %s: %d units in %d tasks, unit time %.3f s (largest %.3f s), wall %.3f s",
             getattr(kernel, "__name__", kernel), engine, len(sec), tasks, sum(sec), max(sec, default=0.0), wall)


def _fragment_index(records: list, sink: Sink) -> pd.DataFrame:
    """The runner's answer with ``write_to``: one row per unit and target dataset."""
    recs = sorted(records, key=lambda r: r["_order"])
    first = next(iter(sink.targets))        # a unit's stats once, on its first dataset's row
    rows = [{"dataset": k, "unit_id": r["unit_id"], "key": r["key"], "rows": r["rows"][k], "files": r["files"][k],
             "pid": r["pid"], "input": r.get("input"), **({f"stat_{s}": v for s, v in r["stats"].items()} if k == first else {})}
            for r in recs for k in sink.targets]
    cols = ["dataset", "unit_id", "key", "rows", "files", "pid", "input"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=cols)


def run_worklist(units, kernel, schema, *, engine: str = "local", kwargs: dict | None = None,
                 spark=None, n_tasks: int | None = None, dask_workers: int | None = None,
                 progress: bool = True, write_to=None, split=None, stats=None) -> pd.DataFrame:
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
    spark : pyspark.sql.SparkSession or concurrent.futures.Future, optional
        A future (a session starting in the background, :func:`locusflow.engine.spark.start_soon`) is
        waited for when the Spark map starts.
    n_tasks : int, optional
        Spark tasks (default twice the default parallelism).
    dask_workers : int, optional
    progress : bool
        A progress bar for the local loop.
    write_to : str, path or dict, optional
        Dataset directory (local or a URI) the tasks write their units' rows into as fragments; or
        ``{name: (directory, schema)}`` with ``split``.
    split : callable, optional
        ``split(frame) -> {name: frame}``: one kernel output into several datasets (in the task).
    stats : callable, optional
        ``stats({name: frame}) -> {stat: number}``, computed in the task (the driver sums the columns
        ``stat_<name>`` of the index, instead of reading rows back).

    Returns
    -------
    pandas.DataFrame
        The kernel's rows; with ``write_to``, the fragment index instead: one row per unit (and
        dataset): ``dataset``, ``unit_id``, ``key``, ``rows``, ``files``, ``pid`` (the writing process)
        and ``stat_*`` columns, in work-list order.
    """
    sch = load(schema) if isinstance(schema, str) else schema
    kwargs = kwargs or {}
    units = units.to_dict("records") if isinstance(units, pd.DataFrame) else list(units)
    for i, u in enumerate(units):
        u.setdefault("unit_id", str(i))
        u.setdefault("cost", 1.0)
        u["_order"] = i
    sink = None if write_to is None else Sink(write_to, sch, split, stats)
    reused: list = []
    reuse = current_reuse() if sink is not None else None
    if reuse is not None:           # an incremental rerun: units with unchanged inputs are copied, not run
        for u in units:
            u["_input"] = reuse.key(kernel, u, kwargs)
        reused = [r for r in (reuse.take(u, sink.targets) for u in units) if r is not None]
        reuse.count(units, reused)
        done = {r["unit_id"] for r in reused}
        units = [u for u in units if str(u["unit_id"]) not in done]
    if not units:
        return sch.empty() if sink is None else _fragment_index(reused, sink)
    t0 = time.perf_counter()
    if engine == "local":
        from tqdm.auto import tqdm
        outs = [_unit(kernel, u, sch, kwargs, sink) for u in tqdm(units, disable=not progress, desc="work units")]
    elif engine == "dask":
        import dask
        tasks = [dask.delayed(_unit)(kernel, u, sch, kwargs, sink) for u in units]
        outs = list(dask.compute(*tasks, scheduler="threads", num_workers=dask_workers))
    elif engine == "spark":
        return _run_spark(units, kernel, sch, kwargs, spark, n_tasks, sink, reused)
    else:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if sink is not None:
        for r in outs:
            r.pop("written", None)          # this process: already in its cache
        _log_work(kernel, engine, outs, time.perf_counter() - t0, len(units))
        return _fragment_index(outs + reused, sink)
    outs = [o for o in outs if len(o)]
    if not outs:
        return sch.empty()
    return pd.concat(outs, ignore_index=True)


def _run_spark(units, kernel, sch: Schema, kwargs, spark, n_tasks, sink: Sink | None = None,
               reused=()) -> pd.DataFrame:
    if isinstance(spark, Future):      # still starting in the background: wait for it now
        spark = spark.result()
    if spark is None:
        from .spark import get_spark
        spark = get_spark()
    from .spark import task_frame
    if n_tasks is None:
        n_tasks = max(1, spark.sparkContext.defaultParallelism * 2)
    task = pack_tasks([u["cost"] for u in units], n_tasks)
    n = int(task.max()) + 1
    payloads = [json.dumps([u for u, tu in zip(units, task) if tu == t], default=_json_default) for t in range(n)]
    # one row (a task number) per partition, made in the JVM: each task reads its units from the function's
    # closure. A DataFrame built from a Python RDD (parallelize) instead needs a second set of Python workers
    # to turn its rows into Spark's, started with the first map (~1.6 s on 2 cores, measured).
    df = task_frame(spark, n)
    if sink is not None:        # each task writes its units' fragments; only their index comes back
        def write_task(batches):
            for batch in batches:
                for t in batch["task"]:
                    recs = [_unit(kernel, u, sch, kwargs, sink) for u in json.loads(payloads[int(t)])]
                    yield pd.DataFrame({"record": [json.dumps(r, default=_json_default) for r in recs]})

        t0 = time.perf_counter()
        index = df.mapInPandas(write_task, "record string").collect()     # one short row per unit
        recs = [json.loads(r["record"]) for r in index]
        for r in recs:
            learn(r.pop("written", None))
        _log_work(kernel, "spark", recs, time.perf_counter() - t0, n)
        return _fragment_index(recs + list(reused), sink)
    out_ddl = sch.spark_ddl() + ", `_order` bigint"

    def run_task(batches):
        for batch in batches:
            for t in batch["task"]:
                for u in json.loads(payloads[int(t)]):
                    out = _call(kernel, u, sch, kwargs)
                    if len(out):
                        out["_order"] = u["_order"]
                        yield out

    # index-sized outputs only (see the module docstring): stage outputs go through write_to
    res = df.mapInPandas(run_task, out_ddl).toArrow().to_pandas()
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
