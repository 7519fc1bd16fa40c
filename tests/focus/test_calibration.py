"""Semi-synthetic calibration of FOCUS credible gene sets (bench/focus_data.py): real 1000G EUR genotypes
(polypred windows), real FOCUS block boundaries and GENCODE v18 gene positions, simulated eQTL weights and
one causal gene per block with GWAS z ~ N(lam V w_c / |w_c|_V, V). Over the blocks that pass p < 5e-8, the
causal gene must be in the 90% credible set at least 90% of the time (known truth: the simulated gene)."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))


def test_causal_gene_in_90pct_credible_set(realdata, tmp_path):
    from focus_data import build
    from locusflow.focus.stage import run_focus
    from locusflow.io.dataset import read_dataset
    work = tmp_path / "genome"
    info = build(work, n_blocks=160, thin=8, strength=9.0, seed=11)
    cfg = {"out": str(tmp_path), "focus": {"blocks": str(work / "blocks.bed"),
           "populations": [{"store": str(work / "panel.vcz"), "sumstats": str(work / "sumstats"),
                            "weights": str(work / "weights.db")}]}}
    run_focus(cfg, {"engine": "local", "progress": False})
    res = read_dataset(tmp_path / "focus" / "results", "focus_results")
    truth = pd.read_csv(work / "truth.tsv", sep="\t")
    truth = truth[truth["block_id"].isin(set(res["block_id"]))]
    hit = truth.merge(res, left_on=["block_id", "gene"], right_on=["block_id", "ens_gene_id"], how="left")
    assert info["n_causal"] >= 150 and len(truth) >= 50  # replicates
    coverage = (hit["in_cred_set"] == 1).mean()
    print(f"FOCUS calibration: {len(truth)} replicates, coverage {coverage:.3f} (nominal 0.9)")
    assert coverage >= 0.9
    # not trivially covered: credible sets are much smaller than the blocks' gene counts
    genes = res[res.model_id != "NULL.MODEL"].groupby("block_id").size()
    assert res.groupby("block_id")["in_cred_set"].sum().mean() < 0.5 * genes.mean()
