"""PrediXcan on individual-level genotypes (twas.predixcan): the bundled PredictDB weights (24 genes) on the
bundled 1000G EUR store (489 samples). Predictions against a by-hand join of weights and PLINK dosages
(rsid, alleles, 2 - d for the other allele), FUSION's standardised scale against R's scale(), and the
association against one numpy OLS per model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES
from scipy import stats

from locusflow.io.plink import BedReader, read_bim, read_fam
from locusflow.io.weights import read_predictdb
from locusflow.twas.predixcan import association, predict_expression


@pytest.fixture(scope="module")
def dosages():
    """PLINK A1 counts [samples, snps] and the .bim, read directly (not through the store)."""
    bim = read_bim(EXAMPLES / "1000G_EUR_chr20_22")
    return BedReader(EXAMPLES / "1000G_EUR_chr20_22").read(0, len(bim)).astype(float).T, bim


def _by_hand(w, x, bim, standardise=False):
    """Prediction by an explicit join: effect allele = A1 (dosage d) or A2 (2 - d)."""
    j = pd.Index(bim["rsid"]).get_indexer(w["rsid"])
    a1, a2 = bim["a1"].to_numpy()[j], bim["a2"].to_numpy()[j]
    same = (w["effect_allele"].to_numpy() == a1) & (w["other_allele"].to_numpy() == a2)
    swap = (w["effect_allele"].to_numpy() == a2) & (w["other_allele"].to_numpy() == a1)
    assert (same | swap).all()
    d = np.where(swap, 2 - x[:, j], x[:, j])
    if standardise:
        d = (d - d.mean(0)) / d.std(0, ddof=1)
    out = {}
    for m, rows in w.groupby("model_id", sort=False).indices.items():
        out[m] = d[:, rows] @ w["weight"].to_numpy()[rows]
    return pd.DataFrame(out)


def test_prediction_equals_explicit_join(example_store, dosages):
    x, bim = dosages
    w = read_predictdb(EXAMPLES / "twas_sim_chr20_22.db")
    flip = w.index % 3 == 0                       # a third of the weights stated for the other allele
    w.loc[flip, "weight"] *= -1
    w.loc[flip, ["effect_allele", "other_allele"]] = w.loc[flip, ["other_allele", "effect_allele"]].to_numpy()
    pred, rep = predict_expression(w, example_store)
    assert list(pred.index) == list(read_fam(EXAMPLES / "1000G_EUR_chr20_22")["iid"])
    ref = _by_hand(w, x, bim)
    np.testing.assert_allclose(pred[ref.columns].to_numpy(), ref.to_numpy(), rtol=1e-10, atol=1e-10)
    assert (rep["n_snps_used"] == rep["n_snps_in_model"]).all() and rep["n_snps_in_model"].sum() == len(w)
    # FUSION weights act on standardised genotypes: the allele swap only flips the sign
    fus = w.assign(weight_scale="sd")
    pred_sd, _ = predict_expression(fus, example_store)
    np.testing.assert_allclose(pred_sd[ref.columns].to_numpy(), _by_hand(fus, x, bim, True).to_numpy(), atol=1e-9)
    # a weight on a SNP the store lacks, and one with alleles the store does not have, are counted
    al = bim.set_index("rsid").loc[w["rsid"], ["a1", "a2"]]
    k = int(np.flatnonzero([{a, b} not in ({"A", "T"}, {"C", "G"}) for a, b in al.to_numpy()])[0])
    extra = w.iloc[[0, k]].copy()
    a1, a2 = al.iloc[k]
    extra["rsid"] = ["rs_absent", w["rsid"].iloc[k]]
    extra["effect_allele"], extra["other_allele"] = ["A", a1], ["G", {"A": "T", "C": "G", "G": "C", "T": "A"}[a2]]
    _, rep2 = predict_expression(pd.concat([w, extra], ignore_index=True), example_store)
    r = rep2.set_index("model_id").loc[extra["model_id"]]
    assert r["n_dropped_not_in_genotypes"].iloc[0] >= 1 and r["n_dropped_allele_mismatch"].iloc[1] >= 1
    assert (rep2["n_snps_in_model"] - rep2["n_snps_used"]).sum() == 2


def test_association_equals_ols_per_model(example_store, dosages):
    w = read_predictdb(EXAMPLES / "twas_sim_chr20_22.db")
    pred, _ = predict_expression(w, example_store)
    rng = np.random.default_rng(5)
    n = len(pred)
    cov = np.c_[rng.normal(size=(n, 2)), rng.random(n) < 0.3]
    y = 0.3 * pred.iloc[:, 0].to_numpy() / pred.iloc[:, 0].std() + cov @ [0.2, -0.1, 0.5] + rng.normal(size=n)
    y[:7] = np.nan                                   # missing trait values are left out
    res = association(pred, y, cov)
    ok = np.isfinite(y)
    for k, m in enumerate(pred.columns):
        xm = np.c_[np.ones(ok.sum()), pred[m].to_numpy()[ok], cov[ok]]
        b, rss, *_ = np.linalg.lstsq(xm, y[ok], rcond=None)
        dof = ok.sum() - xm.shape[1]
        se = np.sqrt(rss[0] / dof * np.linalg.inv(xm.T @ xm)[1, 1])
        p = 2 * stats.t.sf(abs(b[1] / se), dof)
        row = res.iloc[k]
        assert row["model_id"] == m and row["n"] == ok.sum()
        np.testing.assert_allclose([row["beta"], row["se"], row["t"], row["pvalue"]], [b[1], se, b[1] / se, p],
                                   rtol=1e-9)
        assert row["zscore"] == pytest.approx(np.sign(b[1]) * stats.norm.isf(p / 2), rel=1e-9)
    assert res["pvalue"].iloc[0] < 1e-6


def test_cli_predixcan(example_store, tmp_path, capsys):
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    w = read_predictdb(EXAMPLES / "twas_sim_chr20_22.db")
    pred, _ = predict_expression(w, example_store)
    rng = np.random.default_rng(8)
    ids = pred.index.to_numpy()
    y = 0.4 * pred.iloc[:, 3].to_numpy() / pred.iloc[:, 3].std() + rng.normal(size=len(ids))
    y[::10] = -9                                         # plink's missing code
    pd.DataFrame({"FID": ids, "IID": ids, "height": y, "bmi": rng.normal(size=len(ids))}).to_csv(
        tmp_path / "pheno.txt", sep="\t", index=False)
    pd.DataFrame({"IID": ids, "pc1": rng.normal(size=len(ids))}).to_csv(tmp_path / "cov.txt", sep="\t", index=False)
    argv = ["twas", "--genotypes", str(example_store.path), "--phenotype", str(tmp_path / "pheno.txt"),
            "--covariates", str(tmp_path / "cov.txt"), "--predictdb", str(EXAMPLES / "twas_sim_chr20_22.db"),
            "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    res = read_dataset(tmp_path / "out" / "twas" / "predixcan", "predixcan_results")
    assert set(res["trait"]) == {"height", "bmi"} and len(res) == 2 * w["model_id"].nunique()
    h = res[res["trait"] == "height"].set_index("model_id")
    cov = pd.read_csv(tmp_path / "cov.txt", sep="\t")["pc1"].to_numpy()
    ok = y != -9
    want = association(pred[ok], y[ok], cov[ok, None]).set_index("model_id")
    np.testing.assert_allclose(h.loc[want.index, "zscore"], want["zscore"], rtol=1e-9)
    assert (h["n"] == ok.sum()).all() and h.loc[pred.columns[3], "pvalue"] < 1e-6
    long = read_dataset(tmp_path / "out" / "twas" / "predicted_expression", "predicted_expression")
    assert len(long) == len(ids) * pred.shape[1]
    # bad input: a phenotype row for a sample the store does not have
    pd.DataFrame({"IID": ["nobody"], "height": [1.0]}).to_csv(tmp_path / "bad.txt", sep="\t", index=False)
    argv[argv.index("--phenotype") + 1] = str(tmp_path / "bad.txt")
    assert main(argv) == 2
    assert "bad.txt" in capsys.readouterr().err
