"""cis-eQTL mapping (twas.train.eqtl) against plain OLS per SNP-gene pair (numpy lstsq), on real 1000G EUR
dosages (chr20:20-21 Mb, 489 samples) with simulated genes; the beta approximation against its own
permutations and against the known null law of independent tests (min p ~ Beta(1, m))."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES
from scipy import stats

from locusflow.io.plink import BedReader, read_bim
from locusflow.twas.train.eqtl import bh_qvalues, cis_nominal, cis_permutations, fit_beta, impute_mean


@pytest.fixture(scope="module")
def chrom20():
    """400 real SNPs (a few calls set missing), 12 genes with sparse effects, 3 covariates + a factor."""
    rng = np.random.default_rng(7)
    bim = read_bim(EXAMPLES / "1000G_EUR_chr20_22")
    idx = np.arange(0, 2800, 7)[:400]
    g = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read(0, 2800)[idx].astype(float).T     # [n, m]
    g[rng.random(g.shape) < 0.002] = np.nan
    pos = bim["pos"].to_numpy()[idx]
    n, m = g.shape
    cov = np.c_[rng.normal(size=(n, 3)), (rng.random(n) < 0.4).astype(float)]
    tss = np.sort(rng.integers(pos.min(), pos.max(), 12))
    y = rng.normal(size=(n, 12)) + cov @ rng.normal(0, 0.5, (4, 12))
    gi = impute_mean(g)
    for j in range(0, 12, 2):                     # every other gene has a cis-eQTL
        near = np.flatnonzero((np.abs(pos - tss[j]) < 90_000) & (gi.std(0) > 0.45))
        y[:, j] += 0.6 * gi[:, rng.choice(near)]
    return g, pos, y, tss, cov


def test_nominal_equals_ols_per_pair(chrom20):
    g, pos, y, tss, cov = chrom20
    res = cis_nominal(g, pos, y, tss, window=100_000, covariates=cov)
    assert len(res) > 300 and (np.abs(res["distance"]) <= 100_000).all()
    gi = impute_mean(g)
    n = len(y)
    pick = res.iloc[np.linspace(0, len(res) - 1, 300).astype(int)]
    ref = []
    for s, j in zip(pick["snp"], pick["gene"]):               # the plain reference: one OLS per pair
        x = np.c_[np.ones(n), gi[:, s], cov]
        b, rss, *_ = np.linalg.lstsq(x, y[:, j], rcond=None)
        dof = n - x.shape[1]
        se = np.sqrt(rss[0] / dof * np.linalg.inv(x.T @ x)[1, 1])
        ref.append((b[1], se, 2 * stats.t.sf(abs(b[1] / se), dof)))
    ref = np.array(ref)
    np.testing.assert_allclose(pick["beta"], ref[:, 0], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(pick["se"], ref[:, 1], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(pick["pval"], ref[:, 2], rtol=1e-8, atol=1e-300)
    assert (pick["dof"] == n - 2 - cov.shape[1]).all()
    # BH q-values as R's p.adjust(p, "BH"): q_i = min_{j >= i} m p_(j) / j
    p = res["pval"].to_numpy()
    o = np.argsort(p)
    naive = np.minimum(1, [min(p[o][k:] * len(p) / np.arange(k + 1, len(p) + 1)) for k in range(len(p))])
    np.testing.assert_allclose(res["qval"].to_numpy()[o], naive, rtol=1e-12)
    # the simulated eQTL genes are found, the others not
    best = res.groupby("gene")["pval"].min()
    assert (best.iloc[0::2] < 1e-6).all() and (best.iloc[1::2] > 1e-4).all(), best


def test_beta_approximation_matches_permutations(chrom20):
    g, pos, y, tss, cov = chrom20
    res = cis_permutations(g, pos, y, tss, window=100_000, covariates=cov, n_perm=1000, seed=1)
    nom = cis_nominal(g, pos, y, tss, window=100_000, covariates=cov)
    top = nom.loc[nom.groupby("gene")["pval"].idxmin()]
    np.testing.assert_allclose(res["pval_nominal"].to_numpy(), top["pval"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res["beta"].to_numpy(), top["beta"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res["se"].to_numpy(), top["se"].to_numpy(), rtol=1e-9)
    null = res[res["pval_perm"] > 0.02]                  # genes where the permutations resolve p
    assert len(null) >= 4
    mc = 4 * np.sqrt(null["pval_perm"] * (1 - null["pval_perm"]) / 1000) + 0.01
    assert (np.abs(null["pval_beta"] - null["pval_perm"]) < mc).all(), null[["pval_perm", "pval_beta"]]
    assert (res["pval_beta"].iloc[0::2] < 1e-3).all()
    assert res["true_df"].between(0.5 * (len(y) - 6), 1.5 * (len(y) - 6)).all()
    np.testing.assert_allclose(res["qval"], bh_qvalues(res["pval_beta"].to_numpy()))


def test_fit_beta_recovers_independent_tests_law():
    """m independent predictors: the minimum p-value is Beta(1, m) and the effective dof the nominal one."""
    rng = np.random.default_rng(3)
    n, m, perms = 300, 20, 3000
    x = rng.normal(size=(n, m))
    x = (x - x.mean(0)) / np.linalg.norm(x - x.mean(0), axis=0)
    y = rng.normal(size=(n, perms))
    y = (y - y.mean(0)) / np.linalg.norm(y - y.mean(0), axis=0)
    r2 = ((x.T @ y) ** 2).max(axis=0)
    a, b, d = fit_beta(r2, n - 2)
    assert abs(a - 1) < 0.06 and abs(b - m) / m < 0.12 and abs(d - (n - 2)) / (n - 2) < 0.15, (a, b, d)


def test_cli_eqtl(example_store, tmp_path, capsys):
    """`locusflow eqtl` on a phenotype BED over the bundled store equals the kernels called directly."""
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    rng = np.random.default_rng(4)
    var = example_store.variants
    on20 = np.flatnonzero(var["chrom"].to_numpy() == "20")
    tss = np.sort(rng.integers(var["pos"].to_numpy()[on20].min(), var["pos"].to_numpy()[on20].max(), 8))
    ids = example_store.samples
    g = example_store.dosages(index=on20).T.astype(float)
    y = rng.normal(size=(len(ids), 8))
    y[:, 0] += 0.8 * impute_mean(g)[:, np.argmin(np.abs(var["pos"].to_numpy()[on20] - tss[0]))]
    bed = pd.DataFrame({"#chr": "chr20", "start": tss - 1, "end": tss, "gene_id": [f"G{k}" for k in range(8)]})
    bed = pd.concat([bed, pd.DataFrame(y.T, columns=ids)], axis=1)
    bed.to_csv(tmp_path / "expr.bed", sep="\t", index=False)
    cov = rng.normal(size=(len(ids), 2))
    pd.DataFrame({"IID": ids, "pc1": cov[:, 0], "pc2": cov[:, 1]}).to_csv(tmp_path / "cov.txt", sep="\t", index=False)
    argv = ["eqtl", "--expression", str(tmp_path / "expr.bed"), "--covariates", str(tmp_path / "cov.txt"),
            "--store", str(example_store.path), "--window", "100000", "--n-perm", "200", "--genes-per-unit", "3",
            "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    pairs = read_dataset(tmp_path / "out" / "eqtl" / "pairs", "eqtl_pairs")
    genes = read_dataset(tmp_path / "out" / "eqtl" / "genes", "eqtl_genes")
    ref = cis_nominal(g, var["pos"].to_numpy()[on20], y, tss, window=100_000, covariates=cov)
    ref = ref.assign(gene=[f"G{k}" for k in ref["gene"]], variant_id=var["variant_id"].to_numpy()[on20][ref["snp"]])
    got = pairs.set_index(["gene", "variant_id"]).loc[pd.MultiIndex.from_frame(ref[["gene", "variant_id"]])]
    np.testing.assert_allclose(got["beta"], ref["beta"], rtol=1e-9)
    np.testing.assert_allclose(got["pval"], ref["pval"], rtol=1e-9)
    np.testing.assert_allclose(got["qval"], ref["qval"], rtol=1e-9)          # BH over every pair of the run
    sig = genes.loc[genes["qval"] < 0.05, "gene"].tolist()
    assert len(genes) == 8 and sig == ["G0"], genes[["gene", "pval_beta", "qval"]]
    assert (genes.set_index("gene").loc["G0", "variant_id"] ==
            ref.loc[ref[ref["gene"] == "G0"]["pval"].idxmin(), "variant_id"])
    pytest.importorskip("dask")                 # the same numbers on the dask engine
    assert main(argv[:-1] + [str(tmp_path / "dask"), "--engine", "dask"]) == 0
    pd.testing.assert_frame_equal(read_dataset(tmp_path / "dask" / "eqtl" / "pairs", "eqtl_pairs"), pairs)
    pd.testing.assert_frame_equal(read_dataset(tmp_path / "dask" / "eqtl" / "genes", "eqtl_genes"), genes)
    (tmp_path / "plain.tsv").write_text("gene_id\t" + "\t".join(ids[:20]) + "\nG1\t" + "\t".join(["1"] * 20) + "\n")
    argv[argv.index("--expression") + 1] = str(tmp_path / "plain.tsv")
    assert main(argv + ["--force"]) == 2
    assert "phenotype BED" in capsys.readouterr().err
