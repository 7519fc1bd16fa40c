"""Running the pipeline as a scheduled job: the stage graph, a Databricks Jobs definition, cron and systemd.

A nightly job runs the configured stages in dependency order; every stage skips itself when its inputs,
configuration and code are unchanged (fingerprints, :mod:`locusflow.pipeline`), so a night with no new
input costs minutes. Two shapes are generated from one configuration:

- Databricks Jobs (API 2.1): one task per stage (``jobs/run_stage.py``), ``depends_on`` from the stage
  graph, one job cluster with the settings of ``conf/databricks.yaml``, a Quartz schedule.
- A plain cluster: a crontab line, or a systemd service + timer, calling ``spark-submit
  jobs/run_pipeline.py`` with the same configuration files.

The stage graph comes from the stages themselves: stage ``B`` depends on stage ``A`` when one of ``B``'s
inputs (its ``Stage.inputs(cfg)``) lies in ``A``'s results directory ``<out>/A/``, or when ``B`` reads one
of ``A``'s datasets when present (``Stage.reads``: plots, report).
"""
from __future__ import annotations

import time
from pathlib import Path

from .layout import DATASETS, stage_dir
from .logs import get_logger
from .pipeline import REGISTRY, load_stages, resolve_config

log = get_logger(__name__)

DEFAULT_CRON = "0 0 2 * * ?"            # Quartz: 02:00 every day
SPARK_VERSION = "15.4.x-scala2.12"      # a Databricks LTS runtime with Spark 3.5 (pyspark from the runtime)


def stage_graph(cfg: dict) -> dict[str, list[str]]:
    """Upstream stages of every selected stage.

    Parameters
    ----------
    cfg : dict
        A pipeline configuration (:func:`locusflow.config.load_config`); validated here.

    Returns
    -------
    dict
        Stage name -> sorted list of the selected stages it reads from, in pipeline order of the keys.

    Raises
    ------
    ConfigError
        When the configuration is invalid.
    """
    cfg = resolve_config(cfg, check_files=False)
    load_stages()
    names = sorted(cfg["stages"], key=lambda s: REGISTRY[s].order)
    dirs = {s: Path(stage_dir(cfg, s)).absolute() for s in names}
    graph = {}
    for s in names:
        ups = set()
        for p in REGISTRY[s].inputs(cfg) or []:
            p = Path(p).absolute()
            ups |= {u for u, d in dirs.items() if u != s and (p == d or d in p.parents)}
        ups |= {DATASETS[d][0] for d in REGISTRY[s].reads if DATASETS[d][0] in dirs and DATASETS[d][0] != s}
        graph[s] = sorted(ups, key=lambda u: REGISTRY[u].order)
    return graph


def databricks_job(cfg: dict, configs: list[str], *, name: str = "locusflow-nightly", cron: str = DEFAULT_CRON,
                   timezone: str = "UTC", node_type: str = "i3.xlarge", workers: int = 2,
                   spark_version: str = SPARK_VERSION, package: str = "locusflow",
                   git_url: str | None = None, git_branch: str = "main") -> dict:
    """A Databricks Jobs API 2.1 definition: one task per stage, dependencies from :func:`stage_graph`.

    Parameters
    ----------
    cfg : dict
        The merged configuration of ``configs`` (gives the stages and their graph).
    configs : list of str
        Configuration files as the job passes them to ``jobs/run_stage.py`` (paths in the job's source:
        repository-relative with ``git_url``, else workspace or ``dbfs:/`` paths).
    name, cron, timezone : str
        Job name; Quartz cron expression and its time zone for the nightly schedule.
    node_type, workers, spark_version : str, int, str
        The job cluster.
    package : str
        The pip requirement installed on the cluster (a wheel path or ``locusflow==X``).
    git_url, git_branch : str, optional
        Run the entry points from this repository (``git_source``); without it, from the workspace.

    Returns
    -------
    dict
        The job definition (``json.dumps`` it for ``databricks jobs create --json``).
    """
    graph = stage_graph(cfg)
    spark_conf = {
        "spark.task.cpus": "1",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
        "spark.executorEnv.OMP_NUM_THREADS": "1",
        "spark.executorEnv.OPENBLAS_NUM_THREADS": "1",
        "spark.executorEnv.MKL_NUM_THREADS": "1",
    }
    tasks = []
    for stage, ups in graph.items():
        t = {"task_key": stage,
             "depends_on": [{"task_key": u} for u in ups],
             "job_cluster_key": "locusflow",
             "spark_python_task": {"python_file": "jobs/run_stage.py",
                                   "parameters": list(configs) + ["--stage", stage, "--wait-lock", "3600"]},
             "libraries": [{"pypi": {"package": package}}],
             "max_retries": 1, "min_retry_interval_millis": 60000, "timeout_seconds": 6 * 3600}
        if git_url:
            t["spark_python_task"]["source"] = "GIT"
        tasks.append(t)
    job = {"name": name, "max_concurrent_runs": 1,
           "schedule": {"quartz_cron_expression": cron, "timezone_id": timezone, "pause_status": "UNPAUSED"},
           "job_clusters": [{"job_cluster_key": "locusflow",
                             "new_cluster": {"spark_version": spark_version, "node_type_id": node_type,
                                             "num_workers": workers, "spark_conf": spark_conf,
                                             "spark_env_vars": {"OMP_NUM_THREADS": "1"}}}],
           "tasks": tasks}
    if git_url:
        job["git_source"] = {"git_url": git_url, "git_provider": "gitHub", "git_branch": git_branch}
    return job


def cron_line(configs: list[str], *, repo: str, minute: int = 0, hour: int = 2,
              spark_submit: str = "spark-submit", log: str = "/var/log/locusflow-nightly.log") -> str:
    """A crontab line running the whole pipeline nightly with ``spark-submit jobs/run_pipeline.py``.

    Parameters
    ----------
    configs : list of str
        Configuration files (absolute, or relative to ``repo``).
    repo : str
        The checkout holding ``jobs/`` (the job ``cd``s there).
    minute, hour : int
        When it runs each day.
    spark_submit : str
        The spark-submit to call (a cluster's, or the venv's ``.venv/bin/spark-submit``).
    log : str
        File its output is appended to.

    Returns
    -------
    str
        One crontab line.
    """
    return (f"{minute} {hour} * * * cd {repo} && {spark_submit} jobs/run_pipeline.py {' '.join(configs)} "
            f">> {log} 2>&1")


def systemd_units(configs: list[str], *, repo: str, user: str = "locusflow", on_calendar: str = "*-*-* 02:00:00",
                  spark_submit: str = "spark-submit") -> dict[str, str]:
    """A systemd service and timer running the pipeline nightly.

    Parameters
    ----------
    configs : list of str
        Configuration files.
    repo : str
        The checkout holding ``jobs/``.
    user : str
        The account it runs as.
    on_calendar : str
        The timer's ``OnCalendar=``.
    spark_submit : str
        The spark-submit to call.

    Returns
    -------
    dict
        ``{"locusflow-nightly.service": text, "locusflow-nightly.timer": text}``.
    """
    service = "\n".join([
        "[Unit]", "Description=locusflow nightly pipeline", "After=network-online.target", "",
        "[Service]", "Type=oneshot", f"User={user}", f"WorkingDirectory={repo}",
        "Environment=OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1",
        f"ExecStart={spark_submit} jobs/run_pipeline.py {' '.join(configs)}", ""])
    timer = "\n".join([
        "[Unit]", "Description=run locusflow-nightly.service every night", "",
        "[Timer]", f"OnCalendar={on_calendar}", "Persistent=true", "Unit=locusflow-nightly.service", "",
        "[Install]", "WantedBy=timers.target", ""])
    return {"locusflow-nightly.service": service, "locusflow-nightly.timer": timer}


def run_stage_job(cfg: dict, stage: str, *, wait_lock: float = 0.0, poll: float = 10.0) -> dict:
    """Run one stage of ``cfg`` (a task of the Databricks job), waiting for the results root's lock.

    Tasks of independent stages may start together; the results root admits one run at a time, so a task
    that finds it locked waits (up to ``wait_lock`` seconds) instead of failing.

    Parameters
    ----------
    cfg : dict
        The pipeline configuration.
    stage : str
        The stage to run (need not be in ``cfg['stages']``).
    wait_lock : float
        Seconds to wait for another run's lock before giving up.
    poll : float
        Seconds between tries.

    Returns
    -------
    dict
        ``run_pipeline``'s result for that stage.

    Raises
    ------
    LockError
        When the lock is still held after ``wait_lock`` seconds.
    """
    from .errors import LockError
    from .pipeline import run_pipeline
    cfg = dict(cfg, stages=[stage])
    deadline = time.monotonic() + wait_lock
    while True:
        try:
            return run_pipeline(cfg)
        except LockError as exc:
            if time.monotonic() >= deadline:
                raise
            log.info("stage %s: %s; trying again in %.0f s", stage, exc, poll)
            time.sleep(poll)


def notebook_session(namespace: dict, default_config: str = "conf/example.yaml",
                     default_out: str = "out/notebook"):
    """A notebook's configuration and table display, the same on Databricks and in plain Python.

    Parameters
    ----------
    namespace : dict
        The notebook's ``globals()``: a ``spark`` session there (Databricks) selects the spark engine on that
        session (as ``conf/databricks.yaml``); ``display`` (Databricks) renders tables.
    default_config, default_out : str
        Used when ``$LOCUSFLOW_CONFIG`` / ``$LOCUSFLOW_OUT`` are not set.

    Returns
    -------
    cfg : locusflow.config.Config
        The configuration (not yet validated) with ``out`` set.
    show : callable
        ``display`` on Databricks, else ``print``.
    """
    import os

    from .config import load_config
    config = os.environ.get("LOCUSFLOW_CONFIG", default_config)
    out = os.environ.get("LOCUSFLOW_OUT", default_out)
    spark = {"engine": "spark", "spark": {"use_active_session": True, "master": None}} if "spark" in namespace else {}
    return load_config(config, {"out": out, **spark}), namespace.get("display", print)


def job_main(configs: list[str], stage: str | None = None, wait_lock: float = 0.0, *,
             source: str = "jobs/run_pipeline.py") -> int:
    """What the spark-submit entry points do: merge ``configs``, run the pipeline (or one stage), print
    the summary; a user error is one line on stderr and status 2.

    Parameters
    ----------
    configs : list of str
        Configuration files, later ones overriding only the keys they name.
    stage : str, optional
        Run only this stage (:func:`run_stage_job`); default: the configured stages.
    wait_lock : float
        With ``stage``: seconds to wait for a sibling task's lock.
    source : str
        How messages name the entry point's own settings (engine spark, the active session).

    Returns
    -------
    int
        Exit status (0, or 2 for a bad configuration or input).
    """
    import sys

    from .config import load_config
    from .errors import LocusflowError
    from .pipeline import run_pipeline
    from .summary import print_summary
    try:
        cfg = load_config(configs, {"engine": "spark", "spark": {"use_active_session": True}}, source=source)
        if stage is None:
            print_summary(cfg, run_pipeline(cfg))
        else:
            print_summary(dict(cfg, stages=[stage]), run_stage_job(cfg, stage, wait_lock=wait_lock))
    except LocusflowError as exc:
        print(f"locusflow: error: {exc}", file=sys.stderr)
        return 2
    return 0
