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
from .daemon import IMPORTS_ENV

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


# Python workers keep the memory they free for their next work units instead of handing it back to the OS
# and faulting it in again (each LD block's arrays were fresh pages, zeroed by the kernel: with two workers
# that kernel time grew, and the LD map's units took ~5% longer than with one). glibc serves allocations up
# to 32 MB from its heap and keeps up to 2 GB of it free; Arrow allocates through glibc (its jemalloc pool
# purges pages by madvise). At most one unit's peak is kept per worker: the bound stays the unit's.
WORKER_MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(2 << 30),
                     "ARROW_DEFAULT_MEMORY_POOL": "system"}


# An embedded session's JVM only schedules tasks and relays their small answers (the Python workers do the
# work): its optimising compiler (C2) cost more CPU than it saved. With C1 only, the JVM's CPU per genome-wide
# run went from 10.3-13.1 to 5.2-5.9 s (bench/scale.py, 2 cores), CPU the driver and the workers get instead.
QUICK_JIT = "-XX:TieredStopAtLevel=1"

# An embedded session's Python workers are forked by a daemon that has imported these (and the stages'
# kernel modules, :func:`start_soon`) first: locusflow.engine.daemon. The environment keeps the daemon
# single-threaded through those imports (pyarrow's bundled jemalloc otherwise starts a purging thread).
WORKER_IMPORTS = ("numpy", "pandas", "pyarrow", "pyspark.worker", "pyspark.sql.pandas.serializers")
DAEMON_ENV = {"JE_ARROW_MALLOC_CONF": "background_thread:false"}


def get_spark(conf: dict | None = None, worker_imports=()):
    """A SparkSession configured from the ``spark`` section of a locusflow config.

    Parameters
    ----------
    conf : dict, optional
        ``master`` (default ``local[*]``; ``null`` leaves it to spark-submit), ``app_name``,
        ``use_active_session`` (Databricks: default True), ``conf`` (extra Spark properties),
        ``log_level``, ``class_archive`` (default True: an embedded ``local[...]`` session's JVM loads
        its classes from an archive, :func:`class_archive_options`), ``quick_jit`` (default True: an
        embedded session's JVM compiles with C1 only, :data:`QUICK_JIT`), ``worker_memory_reuse``
        (default True: Python workers get :data:`WORKER_MEMORY_ENV`, where ``conf`` does not set them),
        ``worker_preimport`` (default True on Linux: an embedded session's Python workers are forked by
        :mod:`locusflow.engine.daemon` with :data:`WORKER_IMPORTS` and ``worker_imports`` imported).
    worker_imports : sequence of str
        More modules the worker daemon imports before it forks (the stages' kernel modules).

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
    if conf.get("worker_memory_reuse", True):
        props.update({f"spark.executorEnv.{k}": v for k, v in WORKER_MEMORY_ENV.items()})
    props["spark.driver.memory"] = "4g"
    props.update({k: str(v) for k, v in (conf.get("conf") or {}).items()})
    local = bool(master) and str(master).startswith("local")
    if local and conf.get("class_archive", True):
        jvm = class_archive_options()        # the embedded JVM starts from this Spark's class archive
        if jvm:
            props["spark.driver.extraJavaOptions"] = " ".join(
                x for x in (jvm, props.get("spark.driver.extraJavaOptions", "")) if x)
    # Linux only by default: there the daemon can count its threads (/proc) before it forks; macOS libraries
    # (Accelerate, the Objective-C runtime) are not fork-safe once loaded
    preimport = conf.get("worker_preimport")
    preimport = sys.platform.startswith("linux") if preimport is None else preimport
    if local and preimport and "spark.python.daemon.module" not in props:
        props["spark.python.daemon.module"] = "locusflow.engine.daemon"
        mods = list(dict.fromkeys([*WORKER_IMPORTS, *worker_imports]))
        props.setdefault(f"spark.executorEnv.{IMPORTS_ENV}", ",".join(mods))
        for k, v in DAEMON_ENV.items():
            props.setdefault(f"spark.executorEnv.{k}", v)
    if local and conf.get("quick_jit", True) and "TieredStopAtLevel" not in props.get("spark.driver.extraJavaOptions", ""):
        props["spark.driver.extraJavaOptions"] = " ".join(
            x for x in (props.get("spark.driver.extraJavaOptions", ""), QUICK_JIT) if x)
    for k, v in props.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(conf.get("log_level", "WARN"))
    log.info("spark session %s (master %s) started in %.2f s", spark.version, spark.sparkContext.master,
             time.perf_counter() - t0)
    return spark


def class_archive_options(cache_dir=None) -> str:
    """JVM options that start the embedded Spark JVM from an archive of its classes (JDK AppCDS).

    A Spark driver loads ~15,000 classes at start; a dynamic class-data-sharing archive (JEP 350, JDK
    13+) maps them ready-made instead: the session and its first job start seconds sooner (measured on
    the 2-core box: session 5.5-6.7 s vs 8.3-9.1 s, first job 6.1-6.6 s vs 8.0-8.7 s, at load ~5). The
    first session of a Spark/JDK pair writes the archive when its JVM exits (``-XX:ArchiveClassesAtExit``,
    ~160 MB, to a temporary name); a later start adopts it (renamed once its writer is gone) and uses it.
    The JVM checks an archive against its classpath and build and runs without it when they differ.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Where archives live; default ``$LOCUSFLOW_JVM_CACHE`` or ``~/.cache/locusflow/jvm``
        (``LOCUSFLOW_JVM_CACHE=off``: no archive, e.g. on machines that never start a second session).

    Returns
    -------
    str
        ``-XX:SharedArchiveFile=...`` or ``-XX:ArchiveClassesAtExit=...`` (with CDS logging off), or ""
        when pyspark or java cannot be found or the cache directory cannot be written.
    """
    import glob
    import hashlib
    import shutil
    from pathlib import Path
    if cache_dir is None and os.environ.get("LOCUSFLOW_JVM_CACHE") == "off":
        return ""
    try:
        import pyspark
        java = shutil.which("java", path=os.path.join(os.environ["JAVA_HOME"], "bin")) \
            if os.environ.get("JAVA_HOME") else shutil.which("java")
        if not java:
            return ""
        java = os.path.realpath(java)
        jars = os.path.join(os.path.dirname(pyspark.__file__), "jars")
        ident = f"{pyspark.__version__}|{jars}|{java}|{os.stat(java).st_mtime_ns}|{sorted(os.listdir(jars))}"
        key = hashlib.blake2b(ident.encode(), digest_size=8).hexdigest()
        root = Path(cache_dir or os.environ.get("LOCUSFLOW_JVM_CACHE") or Path.home() / ".cache" / "locusflow" / "jvm")
        root.mkdir(parents=True, exist_ok=True)
    except (ImportError, OSError):
        return ""
    final = root / f"spark-{pyspark.__version__}-{key}.jsa"
    quiet = "-Xlog:cds=off -Xlog:cds+dynamic=off"
    for tmp in glob.glob(f"{final}.*.tmp"):     # an archive a finished run wrote: adopt it (or drop a spare)
        try:
            pid = int(tmp.rsplit(".", 2)[-2])
            if _alive(pid) or time.time() - os.stat(tmp).st_mtime < 30:
                continue
            if final.exists() or os.stat(tmp).st_size == 0:
                os.remove(tmp)
            else:
                os.replace(tmp, final)
        except (ValueError, OSError):
            continue
    if final.exists():
        return f"-XX:SharedArchiveFile={final} {quiet}"
    if glob.glob(f"{final}.*.tmp"):             # another run is writing it now
        return ""
    return f"-XX:ArchiveClassesAtExit={final}.{os.getpid()}.tmp {quiet}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_soon(conf: dict | None = None, warm=()):
    """Start the session of :func:`get_spark` in a background thread, so that its start (10-45 s) overlaps
    driver-only work (the pipeline's fingerprints, ``munge``, the first stage's planning); the caller takes
    it with ``.result()``, which raises what the start raised.

    Once the session is up, the same thread starts one Python worker per slot (:func:`warm_workers`,
    importing ``warm``), so the first work list does not wait for them; a failure there is only logged.

    Parameters
    ----------
    conf : dict, optional
        As for :func:`get_spark`.
    warm : sequence of str
        Modules each Python worker imports ahead of the first work list (the stages' modules).

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
    modules = list(warm)

    def start():
        try:
            spark = get_spark(conf, worker_imports=modules)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's .result()
            fut.set_exception(e)
            return
        fut.set_result(spark)
        try:
            warm_workers(spark, modules)
        except Exception as e:  # noqa: BLE001 - an optimisation only: the work lists start their own workers
            log.info("spark: Python workers not warmed ahead (%s)", e)

    threading.Thread(target=start, name="locusflow-spark-start", daemon=True).start()
    return fut


def task_frame(spark, n: int):
    """A DataFrame of ``n`` rows, column ``task`` = 0..n-1, one row per partition: a map over it runs
    exactly ``n`` tasks, task ``t`` seeing the one row ``t``.

    The rows are made in the JVM (``spark.range``). A frame built from a Python RDD
    (``createDataFrame(sparkContext.parallelize(...))``) would need a second pool of Python workers
    only to turn its rows into Spark's (a daemon and one worker per slot, started with the first map).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    n : int
        Number of rows, partitions and tasks (at least 1).

    Returns
    -------
    pyspark.sql.DataFrame
        One int column ``task``.
    """
    n = max(1, int(n))
    return spark.range(0, n, 1, n).selectExpr("cast(id as int) as task")


def _import_all(modules):
    import importlib
    for m in modules:
        importlib.import_module(m)


def warm_workers(spark, modules=()) -> float:
    """Start one Python worker per slot and import ``modules`` in each (a one-row-per-task ``mapInPandas``
    job, the work lists' own path): with ``spark.python.worker.reuse`` (set by :func:`get_spark`) the
    first work list finds them started and its modules loaded, instead of paying that on its first tasks.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    modules : sequence of str
        Module names each worker imports (e.g. ``locusflow.ld.stage``).

    Returns
    -------
    float
        Seconds the job took.
    """
    import pandas as pd
    t0 = time.perf_counter()
    n = max(1, spark.sparkContext.defaultParallelism)
    mods = list(modules)

    def task(batches):
        _import_all(["pandas", "pyarrow", "numpy", *mods])
        for b in batches:
            yield pd.DataFrame({"pid": [os.getpid()] * len(b)})

    # the noop sink runs the one stage and keeps nothing (a count would add a shuffle stage)
    task_frame(spark, n).mapInPandas(task, "pid long").write.format("noop").mode("overwrite").save()
    took = time.perf_counter() - t0
    log.info("spark: %d Python worker(s) started ahead in %.2f s", n, took)
    return took
