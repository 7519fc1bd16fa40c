"""The same kernel gives identical output on local, dask and spark (DESIGN rule 2); LPT task packing."""
from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import EXAMPLES

from locusflow.engine.runner import pack_tasks, run_worklist
from locusflow.io.plink import BedReader
from locusflow.popgen.frequency import frequency_kernel


def test_pack_tasks_lpt():
    t = pack_tasks([10, 1, 1, 1, 7, 3], 2)
    loads = np.bincount(t, weights=[10, 1, 1, 1, 7, 3])
    assert sorted(loads) == [11.0, 12.0]


def test_same_output_on_all_engines(example_store, spark):
    m = len(example_store.variants)
    units = [{"unit_id": f"b{i}", "start": s, "stop": min(m, s + 700), "cost": 700.0}
             for i, s in enumerate(range(0, m, 700))]
    units[3]["cost"] = 1e9  # packing must not change the order of the output
    samples = list(example_store.samples[::2])
    outs = {e: run_worklist(units, frequency_kernel, "allele_freq", engine=e,
                            kwargs={"store": str(example_store.path), "samples": samples},
                            spark=spark if e == "spark" else None, progress=False)
            for e in ("local", "dask", "spark")}
    pd.testing.assert_frame_equal(outs["local"], outs["dask"])
    pd.testing.assert_frame_equal(outs["local"], outs["spark"])
    # known truth: A1 counts decoded straight from the .bed for the same samples
    g = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read()[:, ::2].astype(float)
    assert list(outs["local"]["variant_id"]) == list(example_store.variants["variant_id"])
    np.testing.assert_allclose(outs["local"]["alt_freq"], g.mean(1) / 2, rtol=0, atol=1e-12)


def test_tasks_write_their_own_fragments(example_store, spark, tmp_path):
    """Executors write (issue 19): with write_to, each task writes its unit's rows and the driver gets only
    the fragment index (files, row counts, the writer's pid); the dataset equals the in-memory result."""
    import os

    from locusflow.io.dataset import finish_fragments, read_dataset, read_manifest
    m = len(example_store.variants)
    units = [{"unit_id": f"b{i}", "chrom": "20", "start": s, "stop": min(m, s + 700), "cost": 700.0}
             for i, s in enumerate(range(0, m, 700))]
    kw = {"store": str(example_store.path), "samples": None}
    ref = run_worklist(units, frequency_kernel, "allele_freq", kwargs=kw, progress=False)
    for engine in ("local", "dask", "spark"):
        out = tmp_path / engine
        idx = run_worklist(units, frequency_kernel, "allele_freq", engine=engine, kwargs=kw, write_to=str(out),
                           spark=spark if engine == "spark" else None, progress=False,
                           stats=lambda f: {"n": len(f[""])})
        assert list(idx.columns[:6]) == ["dataset", "unit_id", "key", "rows", "files", "pid"]
        assert list(idx["unit_id"]) == [u["unit_id"] for u in units] and idx["stat_n"].sum() == m == idx["rows"].sum()
        if engine == "spark":        # Python workers, not the driver, wrote every file
            assert os.getpid() not in set(idx["pid"])
        finish_fragments(out, "allele_freq", idx)
        assert read_manifest(out)["rows"] == m and len(read_manifest(out)["fragments"]) == len(units)
        got = read_dataset(out, "allele_freq")
        pd.testing.assert_frame_equal(got, read_dataset_sorted(ref))


def read_dataset_sorted(df):
    from locusflow.schema import load
    sch = load("allele_freq")
    keys = [c for c in (*sch.partition_by, *sch.sort_by) if c in df.columns]
    return sch.conform(df).sort_values(keys, kind="stable").reset_index(drop=True) if keys else sch.conform(df)


def test_no_stage_collects_its_outputs_to_the_driver():
    """No stage module and no engine module calls toPandas; only the runner collects (the fragment index)
    or returns rows (index-sized outputs); the stages of the example pipeline pass write_to to every work
    list. (Readers of a Spark DataFrame given by the user, io/glow.py, may collect its variant keys.)"""
    import re
    from pathlib import Path
    lib = Path(__file__).resolve().parents[2] / "lib" / "locusflow"
    stages = [f for f in lib.rglob("*.py") if f.name == "stage.py" or f.name.endswith("_stage.py")]
    for f in [*stages, *(lib / "engine").glob("*.py"), lib / "pipeline.py", lib / "focus" / "run.py",
              lib / "ld" / "matrix.py"]:
        text = f.read_text()
        assert ".toPandas(" not in text, f
        if f.name != "runner.py":
            assert not re.search(r"\.collect\(\)|\.toArrow\(\)", text), f
    runner = (lib / "engine" / "runner.py").read_text()
    assert runner.count(".collect()") == 1 and "one short row per unit" in runner
    for mod in ("finemap/stage.py", "twas/stage.py", "focus/run.py", "ld/matrix.py"):
        calls = re.findall(r"run_worklist\((.*?)\)\n", (lib / mod).read_text(), flags=re.S)
        assert calls and all("write_to=" in c for c in calls), mod


def test_work_line_says_where_the_time_went(example_store, tmp_path, caplog):
    """One log line per work list (bench/scale.py reads it to split a map's wall into its units' own time
    and the engine's part): units and tasks as run, the units' summed and largest time (kernel + write),
    the map's wall; in the in-process loop the units' time is part of the wall."""
    import re
    m = len(example_store.variants)
    units = [{"unit_id": f"b{i}", "start": s, "stop": min(m, s + 700), "cost": 700.0}
             for i, s in enumerate(range(0, m, 700))]
    with caplog.at_level("INFO", logger="locusflow"):
        run_worklist(units, frequency_kernel, "allele_freq", kwargs={"store": str(example_store.path), "samples": None},
                     write_to=str(tmp_path / "freq"), progress=False)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("work ")]
    assert len(lines) == 1
    mt = re.fullmatch(r"work frequency_kernel on local: (\d+) units in (\d+) tasks, unit time ([0-9.]+) s "
                      r"\(largest ([0-9.]+) s\), wall ([0-9.]+) s", lines[0])
    assert mt and int(mt[1]) == int(mt[2]) == len(units)
    assert 0 < float(mt[4]) <= float(mt[3]) <= float(mt[5]) + 1e-3


def test_no_background_start_when_a_session_is_active(spark):
    """start_soon leaves an active session (Databricks, the tests' one) to get_spark, which returns it."""
    from locusflow.engine.spark import get_spark, start_soon
    assert start_soon() is None and get_spark() is spark


def test_task_frame_one_row_per_partition_made_in_the_jvm(spark):
    """A work list's Spark map runs over engine.spark.task_frame: n rows, row t alone in partition t (so
    task t runs the units packed into t), built by the JVM: no Python RDD in its plan (a frame made with
    createDataFrame(parallelize(...)) shows 'Scan ExistingRDD' and starts a second pool of Python workers)."""
    from pyspark.sql import functions as F

    from locusflow.engine.spark import task_frame
    df = task_frame(spark, 7)
    got = df.select("task", F.spark_partition_id().alias("part")).collect()
    assert sorted((r["task"], r["part"]) for r in got) == [(t, t) for t in range(7)]
    assert df.rdd.getNumPartitions() == 7
    plan = df._jdf.queryExecution().executedPlan().toString()
    assert "ExistingRDD" not in plan and "Range" in plan, plan
    old = spark.createDataFrame(spark.sparkContext.parallelize([(0,)], 1), "task int")
    assert "ExistingRDD" in old._jdf.queryExecution().executedPlan().toString()


def test_python_workers_keep_freed_memory(spark):
    """spark.worker_memory_reuse (default true): the Python workers run with engine.spark.WORKER_MEMORY_ENV,
    read from a running worker's own environment."""
    import os

    import pandas as pd

    from locusflow.engine.spark import WORKER_MEMORY_ENV, task_frame
    keys = sorted(WORKER_MEMORY_ENV)

    def env(batches):
        for _ in batches:
            yield pd.DataFrame({k: [os.environ.get(k, "")] for k in keys})

    rows = task_frame(spark, 2).mapInPandas(env, ", ".join(f"{k} string" for k in keys)).collect()
    assert [r.asDict() for r in rows] == [WORKER_MEMORY_ENV] * 2


def test_embedded_jvm_compiles_with_c1_only(spark):
    """An embedded (local[...]) session's JVM runs with -XX:TieredStopAtLevel=1 (spark.quick_jit, default
    true): read from the running JVM's own arguments, not from the configuration."""
    from locusflow.engine.spark import QUICK_JIT
    args = list(spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert QUICK_JIT in args, args


def test_class_archive_written_once_then_used(tmp_path):
    """engine.spark.class_archive_options: a JVM with no archive writes one at exit under a temporary name
    (its process id); once that writer is gone the next start adopts it and maps it; a writer still alive
    is left alone (no second writer); LOCUSFLOW_JVM_CACHE=off turns it off."""
    import os
    import subprocess
    import sys

    from locusflow.engine.spark import class_archive_options
    first = class_archive_options(tmp_path)
    assert first.startswith("-XX:ArchiveClassesAtExit=") and first.split()[0].endswith(f".{os.getpid()}.tmp")
    target = first.split()[0].split("=", 1)[1]
    final = target.rsplit(".", 2)[0]
    assert final.endswith(".jsa") and not os.path.exists(final)
    # a writer that is still running (this process): nobody else writes, nobody adopts
    open(target, "wb").write(b"x" * 10)
    assert class_archive_options(tmp_path) == ""
    # its writer gone (a finished process's id) and the file settled: adopted and used
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    dead = target.replace(f".{os.getpid()}.tmp", f".{gone}.tmp")
    os.replace(target, dead)
    os.utime(dead, (0, 0))
    used = class_archive_options(tmp_path)
    assert used.split()[0] == f"-XX:SharedArchiveFile={final}" and open(final, "rb").read() == b"x" * 10
    assert not os.path.exists(dead)
    os.environ["LOCUSFLOW_JVM_CACHE"], before = "off", os.environ.get("LOCUSFLOW_JVM_CACHE")
    try:
        assert class_archive_options() == ""
    finally:
        if before is None:
            del os.environ["LOCUSFLOW_JVM_CACHE"]
        else:
            os.environ["LOCUSFLOW_JVM_CACHE"] = before


def test_workers_forked_by_a_daemon_that_imported_their_modules(spark):
    """spark.worker_preimport (default true for local masters): each Python worker is forked by
    locusflow.engine.daemon, which imported numpy, pandas and pyarrow (and the stages' kernel modules) before
    forking, and was still single-threaded: read from the running worker's parent process."""
    import os

    import pandas as pd

    from locusflow.engine.spark import task_frame

    def parent(batches):
        for _ in batches:
            pp = os.getppid()
            cmd = open(f"/proc/{pp}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            maps = open(f"/proc/{pp}/maps").read()
            yield pd.DataFrame({"cmd": [cmd], "threads": [len(os.listdir(f"/proc/{pp}/task"))],
                                "arrow": ["libarrow.so" in maps],
                                "imports": [os.environ.get("LOCUSFLOW_WORKER_IMPORTS", "")]})

    rows = task_frame(spark, 2).mapInPandas(parent, "cmd string, threads int, arrow boolean, imports string").collect()
    assert len(rows) == 2
    for r in rows:
        assert "-m locusflow.engine.daemon" in r["cmd"], r["cmd"]
        assert r["threads"] == 1 and r["arrow"]           # pyarrow's library mapped in the daemon: imported there
        assert r["imports"].split(",")[:3] == ["numpy", "pandas", "pyarrow"]


def test_worker_daemon_starts_plain_when_an_import_leaves_a_thread(tmp_path):
    """engine.daemon: a module that starts a thread when imported (or fails to import) is not forked into
    the workers: the daemon starts itself again without importing anything, then serves as PySpark's does
    (it writes its port, and ends when its stdin closes)."""
    import os
    import subprocess
    import sys

    from locusflow.engine.spark import BLAS_ENV, DAEMON_ENV
    (tmp_path / "lf_thread_at_import.py").write_text(
        "import sys, threading, time\nprint('imported', file=sys.stderr)\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n")
    lib = os.path.join(os.path.dirname(__file__), "..", "..", "lib")
    env = {**os.environ, **BLAS_ENV, **DAEMON_ENV,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), lib, os.environ.get("PYTHONPATH", "")])}
    check = "import sys; from locusflow.engine.daemon import preimport; print(preimport(sys.argv[1:]))"

    def preimport(*mods):
        return subprocess.run([sys.executable, "-c", check, *mods], env=env, capture_output=True,
                              text=True, check=True).stdout.strip()

    assert preimport("numpy", "pandas", "pyarrow", "locusflow.ld.matrix") == "True"
    assert preimport("lf_thread_at_import") == "False"
    assert preimport("no_such_module_for_locusflow") == "False"
    run = subprocess.run([sys.executable, "-m", "locusflow.engine.daemon", "pyspark.worker"], stdin=subprocess.DEVNULL,
                         env={**env, "LOCUSFLOW_WORKER_IMPORTS": "numpy,lf_thread_at_import"}, capture_output=True,
                         timeout=60)
    plain = subprocess.run([sys.executable, "-m", "pyspark.daemon", "pyspark.worker"], stdin=subprocess.DEVNULL,
                           env=env, capture_output=True, timeout=60)
    assert run.returncode == plain.returncode, run.stderr.decode()     # PySpark's daemon exits 1 on stdin EOF
    assert run.stderr.decode().count("imported") == 1      # the second start imported nothing
    assert len(run.stdout) == 4 and int.from_bytes(run.stdout, "big") > 0        # the port it listened on
