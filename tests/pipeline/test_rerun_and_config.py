"""The pipeline skips unchanged stages; a bad configuration is a clear error (exit 2)."""
from __future__ import annotations

import subprocess
import sys

from conftest import EXAMPLES, ROOT

from locusflow.config import load_config
from locusflow.io.genotypes import GenotypeStore


def test_pipeline_skips_unchanged_stages(tmp_path):
    cfg_path = tmp_path / "p.yaml"
    cfg_path.write_text(f"out: {tmp_path / 'out'}\nstages: [ingest]\ningest:\n  plink: {EXAMPLES / '1000G_EUR_chr20_22'}\n")
    from locusflow.pipeline import run_pipeline
    first = run_pipeline(load_config(cfg_path))
    assert first["ingest"]["variants"] == 5481
    assert run_pipeline(load_config(cfg_path))["ingest"] == "skipped"
    # a configuration change reruns the stage
    again = run_pipeline(load_config(cfg_path, {"genome_build": "GRCh37", "ingest": {"variants_chunk": 500}}))
    assert again["ingest"] != "skipped"
    assert GenotypeStore(tmp_path / "out" / "ingest" / "genotypes.vcz").meta["n_variants"] == 5481


def test_bad_config_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("out: x\nstages: [ingest\n")
    r = subprocess.run([sys.executable, "-m", "locusflow.cli", "run", str(p)], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and "bad.yaml" in r.stderr and "row" in r.stderr
