"""Score-based functional priors (finemap.priors): the link and its estimate on simulated truth, the stage's
prior weights against the formula on the bundled example, a rerun when the scores change, and SuSiE's
power at the causal SNPs on real LD when causal SNPs are drawn with probability rising with the score."""
import numpy as np
import pandas as pd
import pytest

from finemap_helpers import N_EXAMPLE, example_out, example_paths  # noqa: F401
from locusflow.finemap.functional import estimate_beta, estimate_link, functional_priors, single_causal_pip


def simulate(beta_true, n_blocks=400, m=50, ncp=4.0, seed=0):
    rng = np.random.default_rng(seed)
    blocks, causal = [], []
    for _ in range(n_blocks):
        s = rng.normal(size=m)
        c = rng.choice(m, p=functional_priors(s, beta_true))
        z = rng.normal(size=m)
        z[c] += ncp
        blocks.append((z, s))
        causal.append(c)
    return blocks, np.array(causal)


def test_priors_mean_uniform_beta_recovered_and_power_rises():
    s = np.random.default_rng(2).normal(size=30)
    p = functional_priors(s, 1.3)
    assert np.isclose(p.mean(), 1 / 30) and np.all(np.diff(p[np.argsort(s)]) > 0)
    lin = functional_priors(np.abs(s), 2.0, "linear")
    np.testing.assert_allclose(lin, (1 + 2 * np.abs(s)) / (1 + 2 * np.abs(s)).sum())
    blocks, causal = simulate(1.5)
    beta = estimate_beta(blocks, w=16.0)
    assert abs(beta - 1.5) < 0.4, beta
    est = estimate_link(blocks)                                      # w estimated too: ncp 4 -> w near 16
    assert abs(est["beta"] - 1.5) < 0.4 and 4 <= est["w"] <= 64 and est["loglik"] > est["loglik_uniform"]
    assert abs(estimate_beta(simulate(0.0, seed=3)[0], w=16.0)) < 0.4
    pip_u = np.array([single_causal_pip(z, s, 0.0, w=16.0) for z, s in blocks])
    pip_f = np.array([single_causal_pip(z, s, beta, w=16.0) for z, s in blocks])
    idx = np.arange(len(causal))
    assert pip_f[idx, causal].mean() > pip_u[idx, causal].mean() + 0.05   # power at the causal SNP rises
    for pip in (pip_u, pip_f):                                       # calibration kept: expected = observed
        top = pip > 0.5
        assert abs(top[idx, causal].sum() / top.sum() - pip[top].mean()) < 0.1
    assert (pip_f > 0.5)[idx, causal].sum() > (pip_u > 0.5)[idx, causal].sum()


def _scores(path, seed=0):
    """A score table over the example's chr20 variants, half of them keyed in the other allele order."""
    from conftest import EXAMPLES
    b = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t")
    b = b[b["CHR"] == 20].reset_index(drop=True)
    flip = np.arange(len(b)) % 2 == 1
    ref, alt = np.where(flip, b["ALLELE1"], b["ALLELE0"]), np.where(flip, b["ALLELE0"], b["ALLELE1"])
    llr = np.random.default_rng(seed).normal(size=len(b))
    llr[::50] = np.nan                                               # unscored (e.g. rejected by the scorer)
    vid = "20:" + b["BP"].astype(str) + ":" + ref + ":" + alt
    pd.DataFrame({"variant_id": vid, "llr": llr}).to_parquet(path)
    return pd.Series(llr, index=b["BP"].to_numpy())


def test_stage_priors_follow_the_link_and_rerun_when_scores_change(example_out, tmp_path):  # noqa: F811
    from locusflow.finemap.stage import run_finemap
    from locusflow.io.dataset import read_dataset
    from locusflow.pipeline import run_pipeline
    path = tmp_path / "scores.parquet"
    llr = _scores(path)
    cfg = {"out": str(example_out), "finemap": {"method": "susie", "blocks": {"window_kb": 250}, "run_id": "dnalm",
                                                "p_threshold": 1e-16, "diagnostics": {"check": False},
                                                "priors": {"scores": str(path), "beta": 0.8}}}
    pipe = {**cfg, "stages": ["finemap"]}
    summary = run_pipeline(pipe)["finemap"]
    assert summary["prior_beta"] == 0.8 and not summary["prior_estimated"] and summary["blocks_ok"] == 2
    snp = read_dataset(example_out / "finemap" / "snp", "finemap_snp", filters=[("run_id", "==", "dnalm")])
    a = np.maximum(0, -llr.dropna())
    s = ((np.maximum(0, -llr) - a.mean()) / a.std(ddof=0)).fillna(0.0)        # unscored: the mean score
    for bid, g in snp[snp["chrom"] == "20"].groupby("block_id"):
        w = np.exp(0.8 * s.loc[g["pos"]].to_numpy())
        np.testing.assert_allclose(g["prior_weight"], w / w.sum(), rtol=1e-6)
    est = run_finemap({**cfg, "finemap": {**cfg["finemap"], "run_id": "lin",
                                          "priors": {"scores": str(path), "link": "linear"}}})
    assert est["prior_estimated"] and est["prior_link"] == "linear" and est["prior_beta"] >= 0
    # fingerprints: unchanged scores -> skipped; changed scores -> finemap reruns
    assert run_pipeline(pipe)["finemap"] == "skipped"
    _scores(path, seed=1)
    assert run_pipeline(pipe)["finemap"] != "skipped"


def test_priors_config_errors(example_out, tmp_path):  # noqa: F811
    from locusflow.errors import InputError
    from locusflow.finemap.stage import run_finemap
    path = tmp_path / "s.parquet"
    _scores(path)
    base = {"method": "susie", "blocks": {"window_kb": 250}, "p_threshold": 1e-16}
    with pytest.raises(InputError, match="not both"):
        run_finemap({"out": str(example_out), "finemap": {**base, "priors": {"scores": str(path)},
                                                          "prior_weights": {"path": str(path)}}})
    with pytest.raises(InputError, match="non-negative"):
        run_finemap({"out": str(example_out), "finemap": {**base, "priors": {"scores": str(path), "link": "linear",
                                                                             "transform": "identity"}}})
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    rc = main(["finemap", "--out", str(example_out), "--window-kb", "250", "--p-threshold", "1e-16", "--run-id", "cli",
               "--priors-scores", str(path), "--priors-beta", "0.5"])
    snp = read_dataset(example_out / "finemap" / "snp", "finemap_snp", filters=[("run_id", "==", "cli")])
    assert rc == 0 and snp.groupby("block_id")["prior_weight"].std().max() > 0        # not the uniform prior


def test_susie_with_score_priors_raises_power_on_real_ld(example_out):  # noqa: F811
    """Seeded simulation on the example's real LD: causal SNPs drawn with probability rising with a score;
    SuSiE with the estimated-link priors puts more PIP on the causal SNPs, and its PIPs stay calibrated."""
    from locusflow.finemap.functional import estimate_link
    from locusflow.finemap.susie import susie_rss
    from locusflow.io.genotypes import GenotypeStore
    from locusflow.ld.matrix import ld_matrix
    store = GenotypeStore(example_paths(example_out)[0])
    v = store.variants
    sel = np.flatnonzero((v["chrom"] == "20").to_numpy() & (v["af"].between(0.05, 0.95)).to_numpy())[:300]
    R = ld_matrix(store.dosages(index=v["store_index"].to_numpy()[sel])).astype(np.float64)
    m = len(sel)
    rng = np.random.default_rng(11)
    L_chol = np.linalg.cholesky(R + 1e-4 * np.eye(m))
    reps = []
    for _ in range(30):
        s = rng.normal(size=m)
        c = rng.choice(m, size=2, replace=False, p=functional_priors(s, 1.5))
        b = np.zeros(m)
        b[c] = rng.choice([-1, 1], 2) * 6.0
        z = R @ b + L_chol @ rng.normal(size=m)
        reps.append((z, s, c))
    est = estimate_link([(z, s) for z, s, _ in reps])
    assert est["beta"] > 0.5                                         # the link is found from the data
    hits, calib = {}, {}
    for name, beta in (("uniform", 0.0), ("priors", est["beta"])):
        pips, truth = [], []
        for z, s, c in reps:
            w = functional_priors(s, beta) if beta else None
            pip = susie_rss(z, R, n=None, L=3, prior_weights=w).pip
            pips.append(pip)
            truth.append(np.isin(np.arange(m), c))
        pips, truth = np.concatenate(pips), np.concatenate(truth)
        hits[name] = pips[truth].mean()
        top = pips > 0.5
        calib[name] = abs(truth[top].mean() - pips[top].mean())
    assert hits["priors"] > hits["uniform"] + 0.05, hits
    assert calib["priors"] < 0.15 and calib["uniform"] < 0.15, calib
