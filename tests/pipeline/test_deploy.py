"""The nightly job: the committed Databricks Jobs definition, crontab line and systemd units are what
`locusflow deploy` writes for the example, their tasks follow the stage graph, and the spark-submit entry
points run stages (jobs/run_stage.py under a real `spark-submit --master local[2]`)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import ENV, ROOT, make_inputs

from locusflow.config import load_config
from locusflow.deploy import cron_line, databricks_job, run_stage_job, stage_graph, systemd_units
from locusflow.errors import LockError
from locusflow.io.dataset import read_dataset
from locusflow.lock import OutputLock

JOBS = ROOT / "jobs"
EXAMPLE = ["conf/example.yaml", "conf/databricks.yaml"]
GIT = "https://github.com/locusflow/locusflow"


def example_cfg():
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return load_config(EXAMPLE)
    finally:
        os.chdir(cwd)


def test_stage_graph_of_the_example():
    g = stage_graph(example_cfg())
    assert list(g) == ["ingest", "munge", "ld", "twas", "finemap", "focus", "plots", "report"]
    assert g["ingest"] == [] and g["ld"] == ["ingest"]
    assert set(g["twas"]) == {"ingest", "munge", "ld"}       # sumstats, store, this run's LD blocks
    assert "twas" in g["focus"] and "finemap" not in g["focus"]
    assert set(g["plots"]) >= {"munge", "twas", "finemap", "focus"}
    assert "plots" in g["report"]
    # an acyclic order: every stage after the ones it reads
    order = list(g)
    assert all(order.index(u) < order.index(s) for s, ups in g.items() for u in ups)


def test_committed_databricks_job_is_the_generated_one():
    committed = json.loads((JOBS / "databricks" / "nightly_example.json").read_text())
    assert committed == json.loads(json.dumps(databricks_job(example_cfg(), EXAMPLE, git_url=GIT)))
    graph = stage_graph(example_cfg())
    tasks = {t["task_key"]: t for t in committed["tasks"]}
    assert set(tasks) == set(graph)
    for stage, t in tasks.items():
        assert sorted(d["task_key"] for d in t["depends_on"]) == sorted(graph[stage])
        task = t["spark_python_task"]
        assert (ROOT / task["python_file"]).exists() and task["source"] == "GIT"
        params = task["parameters"]
        assert params[params.index("--stage") + 1] == stage
        assert all((ROOT / p).exists() for p in params[:params.index("--stage")])
        assert t["job_cluster_key"] in {c["job_cluster_key"] for c in committed["job_clusters"]}
    assert len(committed["schedule"]["quartz_cron_expression"].split()) in (6, 7)
    conf = committed["job_clusters"][0]["new_cluster"]["spark_conf"]
    assert conf["spark.executorEnv.OPENBLAS_NUM_THREADS"] == "1"    # one BLAS thread per task


def test_committed_cron_and_systemd_are_the_generated_ones(tmp_path):
    configs = ["conf/cluster.yaml", "conf/example.yaml"]
    assert (JOBS / "cron" / "locusflow.crontab").read_text().strip() == cron_line(configs, repo="/opt/locusflow")
    line = cron_line(configs, repo="/opt/locusflow").split()
    assert len(line) > 5 and line[:5] == ["0", "2", "*", "*", "*"]
    units = systemd_units(configs, repo="/opt/locusflow")
    for name, text in units.items():
        assert (JOBS / "systemd" / name).read_text() == text
    analyze = shutil.which("systemd-analyze")
    if analyze:          # a real check of the units, with a spark-submit and a checkout that exist here
        spark_submit = Path(sys.executable).parent / "spark-submit"
        for name, text in systemd_units(configs, repo=str(ROOT), spark_submit=str(spark_submit),
                                        user="root").items():
            (tmp_path / name).write_text(text)
        r = subprocess.run([analyze, "verify", str(tmp_path / "locusflow-nightly.service"),
                            str(tmp_path / "locusflow-nightly.timer")], capture_output=True, text=True)
        assert "locusflow-nightly" not in r.stderr, r.stderr


def test_deploy_cli_writes_the_job(tmp_path):
    r = subprocess.run([sys.executable, "-m", "locusflow.cli", "deploy", "databricks", *EXAMPLE, "--git-url", GIT,
                        "--to", str(tmp_path / "job.json")], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "job.json").read_text()) == json.loads(
        (JOBS / "databricks" / "nightly_example.json").read_text())
    r = subprocess.run([sys.executable, "-m", "locusflow.cli", "deploy", "databricks", "conf/nope.yaml"], cwd=ROOT,
                       env=ENV, capture_output=True, text=True)
    assert r.returncode == 2 and "nope.yaml" in r.stderr


def test_run_stage_job_waits_for_the_lock(tmp_path):
    """A task whose sibling holds the results root waits for it, then runs; without waiting it fails."""
    cfg = load_config([make_inputs(tmp_path / "in")], {"out": str(tmp_path / "out")})
    lock = OutputLock(tmp_path / "out").acquire()
    with pytest.raises(LockError):
        run_stage_job(cfg, "ingest", wait_lock=0)
    threading.Timer(1.0, lock.release).start()
    t0 = time.monotonic()
    summary = run_stage_job(cfg, "ingest", wait_lock=60, poll=0.2)
    assert time.monotonic() - t0 >= 0.9
    assert summary["ingest"]["variants"] == len(read_dataset(tmp_path / "out" / "ingest" / "genotypes.vcz" /
                                                             "variants.parquet", "variants"))


def test_spark_submit_run_stage_and_overlay(tmp_path):
    """`spark-submit --master local[2] jobs/run_stage.py CONFIG OVERLAY --stage ingest` runs that stage on
    the session spark-submit made; an overlay naming only `out` keeps the base config's stages."""
    spark_submit = Path(sys.executable).parent / "spark-submit"
    if not spark_submit.exists():
        spark_submit = shutil.which("spark-submit")
    assert spark_submit, "pyspark's spark-submit not found beside the interpreter"
    base = make_inputs(tmp_path / "in")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"out": str(tmp_path / "out")}))
    env = {**ENV, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    r = subprocess.run([str(spark_submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                        str(JOBS / "run_stage.py"), str(base), str(overlay), "--stage", "ingest"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    v = read_dataset(tmp_path / "out" / "ingest" / "genotypes.vcz" / "variants.parquet", "variants")
    assert len(v) == sum(1 for _ in open(tmp_path / "in" / "geno.bim"))
    assert "ingest" in r.stdout                      # the run's summary
    # the overlay kept the base's stages (it names only `out`), and a run selecting no stage is an error
    cfg = load_config([base, overlay])
    assert cfg["stages"] == yaml.safe_load(base.read_text())["stages"]
    sys.path.insert(0, str(JOBS))
    try:
        import run_pipeline
    finally:
        sys.path.remove(str(JOBS))
    empty = tmp_path / "none.yaml"
    empty.write_text(yaml.safe_dump({"stages": []}))
    assert run_pipeline.main([str(base), str(overlay), str(empty)]) == 2
