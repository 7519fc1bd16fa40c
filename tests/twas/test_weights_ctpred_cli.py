"""`locusflow dnalm features --personal` -> `weights ctpred` -> `weights lctpred` -> `twas --genotypes`, end to end
on the real GRCh37 chr20 and the bundled 1000G EUR store.

The bundled FASTA is chr20 only, so the ctPred step reads the chr20 genes' DNA-LM features as a table
whose chromosome labels are spread over 1-22 (the split needs training, validation and test
chromosomes) with a synthetic expression table; l-ctPred then reads the real personal features of the
window's loci. Checked: each stage's outputs against the kernels called directly, the l-ctPred weights
predict (PrediXcan on the store) the ctPred personal expression they were fitted to, and bad inputs exit 2.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import REALDATA

pytest.importorskip("torch")
pytest.importorskip("transformers")

from locusflow.cli import main  # noqa: E402
from locusflow.io.dataset import read_dataset  # noqa: E402
from locusflow.io.gene_map import gene_map  # noqa: E402
from locusflow.twas.train.ctpred import CtPred  # noqa: E402
from locusflow.twas.train.expression import read_expression_table  # noqa: E402
from locusflow.twas.train.lctpred import expression_from_haplotypes  # noqa: E402

FASTA = REALDATA / "reference_genome" / "GRCh37_chr20.fa.gz"
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")
LOCI = [20_348_765, 20_002_505, 20_101_156, 20_201_578, 20_306_235, 20_674_854]   # INSM1's TSS + SNP-dense spots


@pytest.fixture(scope="module")
def run(example_store, tmp_path_factory):
    d = tmp_path_factory.mktemp("ctpred_cli")
    out = d / "out"
    g = gene_map("GRCh37")
    g = g[g["chrom"] == "20"].iloc[::4].head(120)
    genes = pd.concat([pd.DataFrame({"gene": g["gene_id"], "chrom": "20", "start": g["start"], "stop": g["stop"],
                                     "strand": g["strand"]}),
                       pd.DataFrame({"gene": [f"locus{k}" for k in range(len(LOCI))], "chrom": "20", "start": LOCI,
                                     "stop": LOCI, "strand": "+"})], ignore_index=True)
    genes.to_csv(d / "genes.tsv", sep="\t", index=False)
    assert main(["dnalm", "features", "--fasta", str(FASTA), "--genes", str(d / "genes.tsv"), "--length", "257",
                 "--personal", "--store", str(example_store.path), "--out", str(out)]) == 0
    tss = read_dataset(out / "dnalm_features" / "tss", "tss_features")
    x = np.stack(tss["features"].to_numpy())
    table = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    table.insert(0, "chromo", [f"chr{1 + i % 22}" for i in range(len(tss))])      # labels spread over 1-22
    table.insert(0, "gene_name", tss["gene"].to_numpy())
    table.to_csv(d / "features.csv", index=False)
    rng = np.random.default_rng(3)
    z = (x - x.mean(0)) / x.std(0) @ rng.normal(size=x.shape[1]) / 8
    expr = pd.DataFrame(np.exp(z[:, None] + rng.normal(0, 0.3, (len(z), 40))), index=tss["gene"].to_numpy(),
                        columns=[f"D{i}" for i in range(40)]).rename_axis("gene_id")
    expr.iloc[:-10].to_csv(d / "expr.tsv", sep="\t")                  # 10 feature genes unmeasured: target 0
    assert main(["weights", "ctpred", "--features", str(d / "features.csv"), "--expression", str(d / "expr.tsv"),
                 "--name", "Blood cells", "--lr", "0.003", "--batch-size", "32", "--max-epochs", "40",
                 "--patience", "8", "--out", str(out)]) == 0
    assert main(["weights", "lctpred", "--window", "50000", "--n-folds", "5", "--n-outer", "3",
                 "--out", str(out)]) == 0
    return d, out, x


def test_ctpred_stage(run):
    d, out, x = run
    met = read_dataset(out / "weights_ctpred" / "metrics", "ctpred_metrics")
    pred = read_dataset(out / "weights_ctpred" / "predictions", "ctpred_predictions")
    index = json.loads((out / "weights_ctpred" / "models" / "index.json").read_text())
    assert list(met["cell_type"]) == ["Blood cells"] and index == {"Blood cells": "Blood_cells"}
    assert met["n_genes"].iloc[0] == len(x) and (~pred["measured"]).sum() == 10
    assert (pred.loc[~pred["measured"], "target"] == pred["target"].min()).all()      # ties at 0 expression
    m = CtPred.load(out / "weights_ctpred" / "models" / "Blood_cells")
    order = pd.read_csv(d / "features.csv")["gene_name"]
    np.testing.assert_allclose(pred.set_index("gene").loc[order, "predicted"], m.predict(x), atol=1e-6)
    assert met["r_test"].iloc[0] > 0.3, met.T


def test_lctpred_stage_and_predixcan(run, example_store, capsys):
    d, out, _ = run
    models = read_dataset(out / "weights_lctpred" / "models", "weights_models")
    w = read_dataset(out / "weights_lctpred" / "weights", "weights")
    assert (w["method"] == "lctpred").all() and w["model_id"].str.contains("@lctpred@").all()
    assert set(models.loc[models["keep"], "gene"]) == set(w["gene"]) and models["keep"].sum() >= 4
    # the predicted expression l-ctPred was fitted to, against the kernel called directly
    per = read_dataset(out / "dnalm_features" / "personal", "personal_features")
    m = CtPred.load(out / "weights_ctpred" / "models" / "Blood_cells")
    genes, e = expression_from_haplotypes(per, m, example_store.n_samples)
    table, _ = read_expression_table(out / "weights_lctpred" / "Blood_cells" / "expression.parquet")
    np.testing.assert_allclose(table.loc[genes["gene"]].to_numpy(), e, rtol=1e-12)
    assert (out / "weights_lctpred" / "Blood_cells" / "predictdb.db").exists()
    # PrediXcan with the l-ctPred weights reproduces the nonlinear personal predictions
    ids = example_store.samples
    pd.DataFrame({"IID": ids, "y": np.random.default_rng(1).normal(size=len(ids))}).to_csv(
        d / "pheno.txt", sep="\t", index=False)
    assert main(["twas", "--genotypes", str(example_store.path), "--phenotype", str(d / "pheno.txt"),
                 "--weights", str(out / "weights_lctpred" / "weights"), "--out", str(d / "px")]) == 0
    px = read_dataset(d / "px" / "twas" / "predicted_expression", "predicted_expression")
    wide = px.pivot(index="sample_id", columns="model_id", values="predicted").loc[ids]
    for mid in wide.columns:
        gene = mid.split("@")[0]
        r = np.corrcoef(wide[mid], table.loc[gene, ids])[0, 1]
        rho = models.set_index("gene").loc[gene, "in_sample_R2"]
        assert r ** 2 > 0.8 and r ** 2 >= rho - 1e-6, (gene, r, rho)
    # bad input: a cell type without a model
    assert main(["weights", "lctpred", "--cell-types", "Neurons", "--out", str(out), "--force"]) == 2
    assert "Neurons" in capsys.readouterr().err
