"""The Databricks source notebooks run as plain Python with an active Spark session in the namespace (as
on Databricks): the per-stage notebooks in order build the example's results on the spark engine, then the
end-to-end notebook finds every stage unchanged (the same fingerprints as a pipeline run)."""
from __future__ import annotations

import os
import runpy

import pytest
from pipeline_helpers import ROOT, make_inputs

NOTEBOOKS = ROOT / "notebooks"
ORDER = ["01_ingest_munge.py", "02_ld.py", "03_twas.py", "04_finemap.py", "05_focus.py"]


@pytest.fixture
def nb_env(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCUSFLOW_CONFIG", str(make_inputs(tmp_path / "in")))
    monkeypatch.setenv("LOCUSFLOW_OUT", str(tmp_path / "out"))
    monkeypatch.chdir(ROOT)
    return tmp_path


def test_notebooks_are_databricks_sources():
    for f in ORDER + ["locusflow_pipeline.py"]:
        text = (NOTEBOOKS / f).read_text()
        assert text.startswith("# Databricks notebook source\n"), f
        assert text.count("# COMMAND ----------") >= 2, f
        compile(text, f, "exec")


def test_stage_notebooks_then_pipeline_notebook(nb_env, spark):
    ns = {}
    for f in ORDER:
        ns[f] = runpy.run_path(str(NOTEBOOKS / f), init_globals={"spark": spark}, run_name="__main__")
        assert ns[f]["cfg"]["engine"] == "spark"            # the notebook took the active session's engine
    top = ns["01_ingest_munge.py"]["top"]
    assert len(top) == 10 and top["p"].is_monotonic_increasing and top["p"].iloc[0] < 5e-8
    assert ns["02_ld.py"]["R"].shape[0] == ns["02_ld.py"]["largest"]["n_variants"].iloc[0] or \
        ns["02_ld.py"]["R"].shape[0] <= ns["02_ld.py"]["largest"]["n_variants"].iloc[0]   # MAF filter may drop some
    twas = ns["03_twas.py"]["top"]
    assert twas["zscore"].abs().is_monotonic_decreasing and twas["zscore"].abs().iloc[0] > 5
    fm = ns["04_finemap.py"]
    assert fm["top"]["pip"].iloc[0] > 0.5 and len(fm["cs"]) > 0
    focus = ns["05_focus.py"]["top"]
    assert focus["pip"].iloc[0] > 0.5
    # the end-to-end notebook: every computing stage already done with these inputs, config and code
    e2e = runpy.run_path(str(NOTEBOOKS / "locusflow_pipeline.py"), init_globals={"spark": spark},
                         run_name="__main__")
    assert {s: e2e["summaries"][s] for s in ("ingest", "munge", "ld", "twas", "finemap", "focus")} == \
        dict.fromkeys(("ingest", "munge", "ld", "twas", "finemap", "focus"), "skipped")
