"""The plots, enrich and report stages through the pipeline (locusflow run) on the example run, and the
serve subcommand's refusal of a missing results directory."""
from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from locusflow.config import load_config
from locusflow.io.dataset import read_dataset
from locusflow.pipeline import run_pipeline
from locusflow.plots.data import RunResults
from viz_run import ROOT, example_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return example_run(tmp_path_factory.mktemp("viz"), private=True)   # its plots stage must not change the shared run


def test_plots_enrich_report_stages(run_dir, realdata):
    go = realdata / "go_annotation"
    if not go.exists():
        pytest.skip("realdata go_annotation not present")
    cfg = load_config(ROOT / "conf" / "example.yaml", {"out": str(run_dir)})
    cfg["stages"] = ["enrich", "plots", "report"]
    cfg["enrich"] = {"go": str(go)}
    cfg["plots"] = {"formats": ["png", "pdf"], "max_loci": 1}
    summ = run_pipeline(cfg)
    run = RunResults(run_dir)
    dnalm = run.has("gpnxld")              # the example run scored chr20 with the shipped DNA LM (tests/viz_run.py)
    assert summ["plots"]["by_kind"] == {"manhattan_gwas": 1, "qq_gwas": 1, "locus": 1, "manhattan_twas": 1,
                                        "qq_twas": 1, "ld_diagnostic": 1, "focus": 2} | ({"embedding": 1} if dnalm else {}) | (
                                        {"dnalm_regions": 1} if run.has("dnalm_regions") else {})
    idx = read_dataset(run_dir / "plots" / "index", "plot_index")
    assert set(idx["format"]) == {"png", "pdf"}
    assert all((run_dir / "plots" / p).exists() for p in idx["path"])
    assert (run_dir / "plots" / idx["path"][idx["format"] == "pdf"].iloc[0]).read_bytes()[:5] == b"%PDF-"
    enr = read_dataset(run_dir / "enrich" / "go", "go_enrichment")
    assert set(enr["study"]) == {"twas_bonferroni", "focus_credible_set"} | ({"gpnxld_top"} if dnalm else set())
    assert (enr.loc[enr["study"] != "gpnxld_top", "pop_n"] == 23).all()     # background: the 23 genes TWAS tested
    if dnalm:                              # genes near the top GPNxLD variants, against genes near any of them
        assert summ["enrich"]["studies"]["gpnxld_top"]["background_genes"] == enr.loc[
            enr["study"] == "gpnxld_top", "pop_n"].iloc[0] > 23
    assert summ["enrich"]["studies"]["focus_credible_set"]["genes"] == 4
    link = run_dir / "report.html"
    assert link.is_symlink() and link.resolve() == (run_dir / "report" / "report.html").resolve()
    text = link.read_text()
    assert "GO enrichment" in text and "focus_credible_set" in text and "rs12628193" in text
    assert summ["report"]["report"] == str(link)
    again = run_pipeline(cfg)                              # nothing changed: all three skipped
    assert again == {"enrich": "skipped", "plots": "skipped", "report": "skipped"}


def test_serve_missing_results_dir_is_a_clear_error(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    r = subprocess.run([sys.executable, "-m", "locusflow.cli", "serve", str(tmp_path / "nope")], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "results directory" in r.stderr and "Traceback" not in r.stderr
