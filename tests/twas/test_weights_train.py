"""Stage weights_train (``locusflow weights train``) on the bundled 1000G EUR panel with expression simulated
at real GENCODE v18 genes (tests/twas/weights_inputs.py): heritable genes are kept and predict their true
genetic value, null genes are dropped, every output agrees with the kernel run on the same SNPs and
residualised expression, the engines agree, the SNP QC's Hardy-Weinberg p equals plink2's, and bad input
fails with exit 2 before anything is written."""
from __future__ import annotations

import sqlite3
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES, apt_tool

from locusflow.cli import main
from locusflow.io.dataset import read_dataset
from locusflow.io.plink import BedReader, read_bim
from locusflow.io.weights import read_covariance, read_predictdb
from locusflow.twas.train.covariates import read_covariates, residualise_expression
from locusflow.twas.train.predictdb import train_gene
from locusflow.twas.train.run import train_weights
from locusflow.twas.train.snp_qc import hwe_exact, snp_qc
from locusflow.twas.train.tasks import gene_seed

from weights_inputs import write_inputs

WINDOW = 20_000


@pytest.fixture(scope="module")
def trained(example_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("wtrain")
    inp = write_inputs(EXAMPLES / "1000G_EUR_chr20_22", root / "in", window=WINDOW)
    opts = {"store": str(example_store.path), "expression": str(inp["expression"]), "genes": str(inp["genes"]),
            "covariates": str(inp["covariates"]), "window": WINDOW, "tissue": "Sim", "genes_per_unit": 2}
    summary = train_weights(root / "out", progress=False, **opts)
    return {"root": root, "inp": inp, "opts": opts, "summary": summary, "out": root / "out",
            "models": read_dataset(root / "out" / "models", "weights_models").set_index("gene")}


def test_heritable_genes_kept_and_predictive(trained):
    m, inp = trained["models"], trained["inp"]
    x = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read().astype(float).T
    vid = read_bim(EXAMPLES / "1000G_EUR_chr20_22")
    vid = (vid["chrom"] + ":" + vid["pos"].astype(str) + ":" + vid["a2"] + ":" + vid["a1"]).tolist()
    col = {v: i for i, v in enumerate(vid)}
    for gene, h2 in inp["h2"].items():
        r = m.loc[gene]
        assert r["status"] == "trained" and r["keep"] == (h2 > 0), (gene, h2, r["rho_avg"], r["zscore_pval"])
        if h2 > 0:
            pred = x[:, [col[v] for v in r["variant_id"]]] @ np.asarray(r["weight"])
            assert np.corrcoef(pred, inp["truth"][gene])[0, 1] > 0.8
            assert r["rho_avg"] > 0.4 and r["zscore_qval"] < 1e-10
    s = trained["summary"]
    assert s["kept"] == 4 and s["trained"] == 6 and s["samples"]["trained_on"] == 489
    assert sum(s["snps_dropped"].values()) == m[[c for c in m.columns if c.startswith("n_dropped_")]].to_numpy().sum()


def test_outputs_equal_the_kernel_on_the_same_inputs(trained, example_store):
    """The stage's model for a gene = train_gene on the QC'd cis dosages and PredictDB-residualised expression,
    and the PredictDB database / covariance file / weights dataset all hold that model."""
    m, inp, out = trained["models"], trained["inp"], trained["out"]
    gene = "ENSG00000128191.9"          # DGCR8 (h2 0.6)
    e = pd.read_csv(inp["expression"], sep="\t", index_col=0)
    samples = list(e.columns)
    cov = read_covariates(inp["covariates"], samples)
    assert list(cov.columns) == ["PC1", "batch=b2", "batch=b3"]          # the factor as treatment contrasts
    y = residualise_expression(e.loc[[gene]].to_numpy().T, cov.to_numpy())[:, 0]
    v = example_store.variants
    r = m.loc[gene]
    win = v[(v["chrom"] == r["chrom"]) & (v["pos"] >= r["start"] - WINDOW) & (v["pos"] <= r["end"] + WINDOW)]
    d = example_store.dosages(index=win["store_index"].to_numpy(), dtype=np.float64)
    keep = snp_qc(d, win) < 0
    assert keep.sum() == r["n_snps_in_window"] and (~keep).sum() == sum(r[f"n_dropped_{k}"] for k in
                                                                        ("multiallelic", "ambiguous", "missing", "maf", "hwe"))
    ref = train_gene(d[keep].T, y, seed=gene_seed(0, gene))
    nz = np.flatnonzero(ref["coef"])
    assert list(win["variant_id"].to_numpy()[keep][nz]) == list(r["variant_id"])
    # equal up to rounding: the stage residualises all genes in one product
    np.testing.assert_allclose(r["weight"], ref["coef"][nz], rtol=1e-9)
    assert r["rho_avg"] == pytest.approx(ref["rho_avg"], rel=1e-9)
    assert r["zscore_pval"] == pytest.approx(ref["zscore_pval"], rel=1e-7)
    c = np.cov(d[keep][nz], ddof=1)
    np.testing.assert_allclose(r["covariance"], c[np.triu_indices(len(nz))], rtol=1e-12)
    db = read_predictdb(out / "predictdb.db")
    w = db[db["gene"] == gene].set_index("rsid")
    rs = win["rsid"].to_numpy()[keep][nz]
    np.testing.assert_array_equal(w.loc[rs, "weight"], r["weight"])
    assert (w.loc[rs, "effect_allele"].to_numpy() == win["alt"].to_numpy()[keep][nz]).all()
    assert set(db["gene"]) == set(m.index[m["keep"]])
    extra = pd.read_sql("select * from extra", sqlite3.connect(out / "predictdb.db")).set_index("gene")
    assert extra.loc[gene, "pred.perf.R2"] == pytest.approx(r["rho_avg"] ** 2, rel=1e-12)
    assert extra.loc[gene, "pred.perf.pval"] == r["zscore_pval"] and extra.loc[gene, "n.snps.in.model"] == len(nz)
    cf = read_covariance(out / "covariance.txt.gz", tissue="Sim")
    cg = cf[cf["gene"] == gene].set_index(["rsid1", "rsid2"])["value"]
    i, j = np.triu_indices(len(nz))
    np.testing.assert_allclose(cg.loc[list(zip(rs[i], rs[j]))].to_numpy(), c[i, j], rtol=1e-15)
    wd = read_dataset(out / "weights", "weights")
    assert len(wd) == len(db) and wd["source"].eq("locusflow").all() and wd["weight_scale"].eq("allele").all()


def test_engines_agree(trained, tmp_path, spark):
    """local, dask and spark train the same models (2 genes, small folds: the engines, not the fits, are tested)."""
    genes = ["ENSG00000196622.6", "ENSG00000173404.3"]          # RIMBP3 (kept), INSM1 (dropped)
    e = pd.read_csv(trained["inp"]["expression"], sep="\t", index_col=0).loc[genes]
    e.to_csv(tmp_path / "e.tsv", sep="\t")
    opts = {**trained["opts"], "expression": str(tmp_path / "e.tsv"), "genes_per_unit": 1, "window": 5000,
            "n_outer": 2, "n_folds": 3}
    got = {}
    for engine in ("local", "dask", "spark"):
        train_weights(tmp_path / engine, engine=engine, spark=spark, progress=False, **opts)
        got[engine] = read_dataset(tmp_path / engine / "models", "weights_models").sort_values("gene", ignore_index=True)
    assert got["local"]["keep"].tolist() == [False, True]
    pd.testing.assert_frame_equal(got["local"], got["dask"])
    pd.testing.assert_frame_equal(got["local"], got["spark"])


def test_cli_and_bad_inputs(trained, tmp_path, capsys):
    o = trained["opts"]
    base = ["weights", "train", "--out", str(tmp_path / "o"), "--store", o["store"], "--genes", o["genes"]]
    bad_cov = tmp_path / "cov.txt"
    bad_cov.write_text("IID PC1\nHG00096 0.1\n")
    assert main(base + ["--expression", o["expression"], "--covariates", str(bad_cov)]) == 2
    assert "cov.txt" in capsys.readouterr().err and not (tmp_path / "o" / "weights_train").exists()
    genes = tmp_path / "genes.txt"
    genes.write_text("chr\tgene_id\tstart\tend\n20\tENSG1\t100\tx\n")
    assert main(base[:-1] + [str(genes), "--expression", o["expression"]]) == 2
    assert "row 1" in capsys.readouterr().err
    assert main(["weights", "train", "--out", str(tmp_path / "o"), "--store", o["store"], "--expression",
                 str(tmp_path / "missing.tsv")]) == 2
    # success through the pipeline (staging, publish); small folds: the plumbing is tested, not the fits
    assert main(base + ["--expression", o["expression"], "--covariates", o["covariates"], "--factors", "batch",
                        "--window", "5000", "--n-outer", "2", "--n-folds", "3", "--gene-types", "protein_coding",
                        "--tissue", "Sim", "--fusion"]) == 0
    d = tmp_path / "o" / "weights_train"
    assert {"models", "weights", "covariance", "predictdb.db", "covariance.txt.gz", "fusion", "_stage.json"} <= \
        {f.name for f in d.iterdir()} and not (d / "_work").exists()
    m = read_dataset(d / "models", "weights_models")
    assert len(m) == 6 and set(read_predictdb(d / "predictdb.db")["gene"]) == set(m.loc[m["keep"], "gene"])
    assert len(pd.read_csv(d / "fusion" / "Sim.pos", sep="\t")) == m["keep"].sum()


def test_hwe_equals_plink2(tmp_path):
    """Wigginton's exact test = plink2 --hardy (6 significant digits) on the bundled panel and on a fileset
    with SNPs far from equilibrium (p down to 1e-60)."""
    plink2 = apt_tool("plink2", "plink2")
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    subprocess.run([plink2, "--bfile", str(prefix), "--hardy", "--out", str(tmp_path / "h")], check=True,
                   capture_output=True)
    h = pd.read_csv(tmp_path / "h.hardy", sep="\t")
    p = hwe_exact(h["HET_A1_CT"].to_numpy(np.int64), h["HOM_A1_CT"].to_numpy(np.int64),
                  h["TWO_AX_CT"].to_numpy(np.int64))
    np.testing.assert_allclose(p, h["P"], rtol=1e-5)     # plink2 prints 6 digits
    counts = np.array([[0, 200, 0], [100, 0, 100], [50, 20, 130], [1, 10, 189], [180, 20, 0], [60, 80, 60]])
    write_bed(tmp_path / "x", counts)
    subprocess.run([plink2, "--bfile", str(tmp_path / "x"), "--hardy", "--out", str(tmp_path / "x")], check=True,
                   capture_output=True)
    h = pd.read_csv(tmp_path / "x.hardy", sep="\t")
    p = hwe_exact(h["HET_A1_CT"].to_numpy(np.int64), h["HOM_A1_CT"].to_numpy(np.int64),
                  h["TWO_AX_CT"].to_numpy(np.int64))
    np.testing.assert_allclose(p, h["P"], rtol=1e-5)     # plink2 prints 6 digits
    assert h["P"].min() < 1e-50


def write_bed(prefix, counts):
    """A PLINK fileset with one SNP per row of ``counts`` (hom A1, het, hom A2 sample counts)."""
    n = int(counts[0].sum())
    codes = {0: 0b00, 1: 0b10, 2: 0b11}            # hom A1, het, hom A2
    rows = []
    for c in counts:                               # loop over a few SNPs
        g = np.repeat([0, 1, 2], c)
        b = np.zeros(-(-n // 4) * 4, np.uint8)
        b[:n] = [codes[v] for v in g]
        rows.append((b.reshape(-1, 4) << np.array([0, 2, 4, 6], np.uint8)).sum(axis=1).astype(np.uint8))
    with open(f"{prefix}.bed", "wb") as f:
        f.write(bytes([0x6C, 0x1B, 0x01]) + np.concatenate(rows).tobytes())
    with open(f"{prefix}.bim", "w") as f:
        f.writelines(f"1\ts{i}\t0\t{100 + i}\tA\tG\n" for i in range(len(counts)))
    with open(f"{prefix}.fam", "w") as f:
        f.writelines(f"f{i} i{i} 0 0 1 -9\n" for i in range(n))
