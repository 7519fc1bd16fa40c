"""`locusflow enrich-signal` on simulated runs: causal SNPs drawn more often at high DNA-LM scores give an
enrichment of chi^2 in the top score bin whose jackknife interval excludes 1 (and a positive top - bottom
difference); with causal SNPs drawn independently of the score the intervals cover 1 (and 0), and over many
null replicates the 95% intervals cover 1 at about their nominal rate."""
import numpy as np
import pandas as pd
import pytest

from locusflow.cli import main
from locusflow.enrich.signal import signal_frame, signal_tables
from locusflow.io.dataset import read_dataset, write_dataset
from locusflow.schema import load


def _simulate(beta: float, seed: int, m: int = 4000, n_causal: int = 200):
    """Scores s ~ N(0, 1); causal SNPs drawn with P ~ exp(beta s); z = b + N(0, 1), |b| ~ U(3, 6)."""
    rng = np.random.default_rng(seed)
    s = rng.normal(size=m)
    p = np.exp(beta * s)
    causal = rng.choice(m, n_causal, replace=False, p=p / p.sum())
    z = rng.normal(size=m)
    z[causal] += rng.choice([-1, 1], n_causal) * rng.uniform(3, 6, n_causal)
    pos = np.arange(m, dtype=np.int64) * 250 + 1
    ids = [f"1:{q}:A:G" for q in pos]
    from scipy.stats import norm
    ss = pd.DataFrame({"variant_id": ids, "chrom": "1", "pos": pos, "ref": "A", "alt": "G", "z": z,
                       "p": 2 * norm.sf(np.abs(z)), "genome_build": "GRCh37"})
    sc = pd.DataFrame({"variant_id": [f"1:{q}:G:A" for q in pos[::2]] + ids[1::2], "chrom": "1",
                       "pos": np.r_[pos[::2], pos[1::2]], "ref": "A", "alt": "G", "status": "ok",
                       "llr": np.r_[-s[::2], -s[1::2]], "model": "sim"})    # half stored in the swapped order
    sc = sc.reindex(columns=load("variant_scores").names).astype({"emb_delta": object})     # other columns null
    return ss.reindex(columns=load("sumstats").names), sc


def _run(tmp_path, beta, seed):
    ss, sc = _simulate(beta, seed)
    write_dataset(ss, tmp_path / "in" / "sumstats", "sumstats", mode="overwrite")
    write_dataset(sc, tmp_path / "in" / "scores", "variant_scores", mode="overwrite")
    out = tmp_path / "run"
    assert main(["enrich-signal", "--out", str(out), "--engine", "local", "--sumstats", str(tmp_path / "in" / "sumstats"),
                 "--scores", str(tmp_path / "in" / "scores"), "--n-blocks", "25"]) == 0
    t = read_dataset(out / "signal_enrichment" / "enrichment", "signal_enrichment")
    t = t[(t["score"] == "dnalm_-llr") & (t["stat"] == "chi2")].set_index("bin")
    return t, read_dataset(out / "signal_enrichment" / "regression", "signal_regression")


def test_enrichment_recovered_with_the_right_sign(tmp_path):
    t, reg = _run(tmp_path, 1.0, seed=11)
    assert t.loc["5", "ci_lo"] > 1 and t.loc["1", "ci_hi"] < 1
    assert t.loc["top_minus_bottom", "ci_lo"] > 0
    assert t.loc[[str(k) for k in range(1, 6)], "n"].sum() == 4000
    assert reg.empty                                   # no LD: no regression on LD score


def test_null_intervals_cover_one(tmp_path):
    t, _ = _run(tmp_path, 0.0, seed=12)
    assert t.loc["5", "ci_lo"] < 1 < t.loc["5", "ci_hi"]
    assert t.loc["top_minus_bottom", "ci_lo"] < 0 < t.loc["top_minus_bottom", "ci_hi"]


def test_null_coverage_over_replicates():
    cover = []
    for seed in range(40):
        ss, sc = _simulate(0.0, 100 + seed)
        enr, _ = signal_tables(signal_frame(ss, scores=sc), n_blocks=25)
        top = enr[(enr["score"] == "dnalm_-llr") & (enr["stat"] == "chi2") & (enr["bin"] == "5")].iloc[0]
        cover.append(top["ci_lo"] < 1 < top["ci_hi"])
    assert 0.85 <= np.mean(cover) <= 1.0, np.mean(cover)


def test_swapped_ids_are_matched():
    ss, sc = _simulate(0.0, 1, m=10, n_causal=2)
    f = signal_frame(ss, scores=sc)
    assert np.isfinite(f["llr"]).all()
    assert f["llr"].to_numpy() == pytest.approx(sc.set_index("pos").loc[ss["pos"], "llr"].to_numpy())


def test_gpnxld_of_blocks_without_a_score_is_missing():
    ss, _ = _simulate(0.0, 2, m=4, n_causal=1)
    g = pd.DataFrame({"variant_id": ss["variant_id"], "block_id": ["b1", "b1", "b2", "b2"],
                      "scored": [True, False, False, False], "gpnxld": [0.5, 0.2, 0.0, 0.0]})
    f = signal_frame(ss, gpnxld=g)
    assert f["gpnxld"].tolist()[:2] == [0.5, 0.2] and f["gpnxld"].isna().tolist()[2:] == [True, True]
