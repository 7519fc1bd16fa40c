"""The Spark session factory.

With no configuration: an embedded ``local[*]`` session. ``conf/cluster.yaml`` leaves the master to
spark-submit; ``conf/databricks.yaml`` (``use_active_session: true``) takes the session that exists.
Every session gets dynamic partition overwrite, Arrow batches capped, and one BLAS thread per Python
worker, and runs workers with the interpreter that runs locusflow.
"""
from __future__ import annotations

import os
import sys
import threading
import time

from ..logs import get_logger

log = get_logger("spark")

BLAS_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "BLIS_NUM_THREADS": "1", "BLOSC_NTHREADS": "1"}

DEFAULT_CONF = {
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "16",
    "spark.python.worker.reuse": "true",
}


def get_spark(conf: dict | None = None):
    """A SparkSession configured from the ``spark`` section of a locusflow config.

    Parameters
    ----------
    conf : dict, optional
        ``master`` (default ``local[*]``; ``null`` leaves it to spark-submit), ``app_name``,
        ``use_active_session`` (Databricks: default True), ``conf`` (extra Spark properties),
        ``log_level``.

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    ConfigError
        When pyspark is not installed (it is the ``spark`` extra).
    """
    conf = dict(conf or {})
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        from ..errors import ConfigError
        raise ConfigError("engine: spark needs pyspark, which is not installed: pip install 'locusflow[spark]' "
                          "(or use engine: local / dask; on Databricks the runtime's pyspark is used)") from None

    active = SparkSession.getActiveSession()
    if active is not None and (conf.get("use_active_session", True)):
        return active
    t0 = time.perf_counter()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    for k, v in BLAS_ENV.items():
        os.environ.setdefault(k, v)
    builder = SparkSession.builder.appName(conf.get("app_name", "locusflow"))
    master = conf.get("master", "local[*]")
    if master:
        builder = builder.master(master)
    props = dict(DEFAULT_CONF)
    props.update({f"spark.executorEnv.{k}": v for k, v in BLAS_ENV.items()})
    props["spark.driver.memory"] = "4g"
    props.update({k: str(v) for k, v in (conf.get("conf") or {}).items()})
    for k, v in props.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(conf.get("log_level", "WARN"))
    log.info("spark session %s (master %s) started in %.2f s", spark.version, spark.sparkContext.master,
             time.perf_counter() - t0)
    return spark


def start_soon(conf: dict | None = None):
    """Start the session of :func:`get_spark` in a background thread, so that its start (15-45 s) overlaps
    driver-only work (the pipeline's ``munge``); the caller takes it with ``.result()``, which raises what
    the start raised.

    Parameters
    ----------
    conf : dict, optional
        As for :func:`get_spark`.

    Returns
    -------
    concurrent.futures.Future or None
        The session to come; None where pyspark is not installed or a session is already active in this
        thread (Databricks, tests: it is used as is, by :func:`get_spark`).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    if SparkSession.getActiveSession() is not None:
        return None
    from concurrent.futures import Future
    fut = Future()

    def start():
        try:
            fut.set_result(get_spark(conf))
        except BaseException as e:  # noqa: BLE001 - handed to the caller's .result()
            fut.set_exception(e)

    threading.Thread(target=start, name="locusflow-spark-start", daemon=True).start()
    return fut
