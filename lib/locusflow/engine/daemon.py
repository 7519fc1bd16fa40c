"""The Python worker daemon of an embedded Spark session: PySpark's own daemon, after importing the
stages' modules once.

PySpark starts one daemon process per executor, which forks a Python worker for each task slot; each
worker then imports what its tasks need (pandas, pyarrow, the kernels' modules: ~1 CPU-s per worker
here). Started as ``spark.python.daemon.module`` (:func:`locusflow.engine.spark.get_spark` sets it for
``local[...]`` masters), this module imports ``$LOCUSFLOW_WORKER_IMPORTS`` (comma-separated module names)
first, so every forked worker starts with them loaded: the imports are paid once per machine, not once per
slot, while the session starts.

Forking is safe only while the daemon has one thread: PySpark imports pandas and pyarrow after the fork
because they may start threads when imported (BLAS thread pools, jemalloc's background purger). The
session's worker environment keeps them single-threaded (one BLAS thread, ``JE_ARROW_MALLOC_CONF``
without a background thread). Should an import fail, or leave a second thread behind, the daemon starts
itself again without importing anything, and is then exactly PySpark's.
"""
from __future__ import annotations

import importlib
import os
import sys

IMPORTS_ENV = "LOCUSFLOW_WORKER_IMPORTS"


def threads() -> int:
    """Threads of this process (the kernel's count where there is ``/proc``, else Python's)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading
        return threading.active_count()


def preimport(modules) -> bool:
    """Import ``modules``; True when each imported and this process still has one thread."""
    try:
        for m in modules:
            importlib.import_module(m)
    except Exception:  # noqa: BLE001 - the worker imports them itself, and reports what fails there
        return False
    return threads() == 1


def main() -> None:
    modules = [m for m in os.environ.get(IMPORTS_ENV, "").split(",") if m.strip()]
    if modules and not preimport([m.strip() for m in modules]):
        # a thread (or a half-imported module) must not be forked into the workers: start afresh, plain
        os.environ[IMPORTS_ENV] = ""
        os.execv(sys.executable, [sys.executable, "-m", "locusflow.engine.daemon", *sys.argv[1:]])
    from pyspark.daemon import manager
    manager()


if __name__ == "__main__":
    main()
