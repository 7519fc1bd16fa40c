"""GWAS-signal enrichment in score bins: jackknife against closed forms, and simulations where causal SNPs
are drawn more (or less) often at high scores."""
import numpy as np
import pytest

from locusflow.enrich.gwas_signal import binned_enrichment, cpg, enrichment_table, gc_content, jackknife_blocks


def test_bin_means_and_delete_one_jackknife_equal_closed_forms():
    rng = np.random.default_rng(0)
    v, s = rng.normal(size=400) ** 2, rng.normal(size=400)
    t = binned_enrichment({"chi2": v}, s, np.arange(400), n_bins=4)
    order = np.argsort(s, kind="stable")
    for k in range(4):
        x = v[order[k * 100:(k + 1) * 100]]
        row = t.iloc[k]
        assert row["n"] == 100 and row["mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert row["enrichment"] == pytest.approx(x.mean() / v.mean(), rel=1e-12)
        # delete-one jackknife with one variant per block: SE^2 = (B-1)/B * sum over the bin's members of
        # ((x_i - xbar) / (n_k - 1))^2 (other blocks leave the bin mean unchanged)
        assert row["mean_se"] == pytest.approx(np.sqrt(399 / 400 * ((x - x.mean()) ** 2).sum() / 99 ** 2), rel=1e-9)


def test_jackknife_blocks_contiguous_equal_count():
    b = jackknife_blocks(np.array([50, 10, 40, 20, 30, 60]), 3)
    assert b.tolist() == [2, 0, 1, 0, 1, 2]


def _simulate(beta, seed, m=3000, n_causal=150, block=50, rho=0.8):
    """Block-AR(1) LD, causal SNPs drawn with P ~ exp(beta s), z = R b + N(0, R)."""
    rng = np.random.default_rng(seed)
    s = rng.normal(size=m)
    p = np.exp(beta * s)
    causal = rng.choice(m, n_causal, replace=False, p=p / p.sum())
    b = np.zeros(m)
    b[causal] = rng.choice([-1, 1], n_causal) * rng.uniform(3, 6, n_causal)
    idx = np.arange(block)
    R = rho ** np.abs(idx[:, None] - idx[None, :])
    L = np.linalg.cholesky(R)
    z = np.concatenate([R @ b[i:i + block] + L @ rng.normal(size=block) for i in range(0, m, block)])
    return s, z


@pytest.mark.parametrize("beta,sign", [(1.0, 1), (-1.0, -1)])
def test_simulated_enrichment_has_the_right_sign(beta, sign):
    s, z = _simulate(beta, seed=3)
    t = enrichment_table({"chi2": z ** 2, "gw": (z ** 2 > 29.72).astype(float)}, {"dnalm": s},
                         np.arange(len(s)), n_bins=5, n_blocks=30)
    d = t[(t["stat"] == "chi2") & (t["bin"] == "top_minus_bottom")].iloc[0]
    assert np.sign(d["enrichment"]) == sign and abs(d["z"]) > 3, d.to_dict()
    top = t[(t["stat"] == "chi2") & (t["bin"] == ("5" if sign > 0 else "1"))].iloc[0]
    assert top["ci_lo"] > 1, top.to_dict()


def test_null_scores_give_no_significant_enrichment():
    s, z = _simulate(0.0, seed=4)
    t = enrichment_table({"chi2": z ** 2}, {"null": s}, np.arange(len(s)), n_bins=5, n_blocks=30)
    d = t[t["bin"] == "top_minus_bottom"].iloc[0]
    assert abs(d["z"]) < 2.5, d.to_dict()


def test_base_composition_baselines_by_hand():
    seq = np.frombuffer(b"ACGTNCGGCA", np.uint8)
    assert cpg(seq, [2, 3, 6, 7, 8]).tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert gc_content(seq, [1, 5], flank=1).tolist() == [0.5, 0.5]   # (A,C); (T,N,C): N left out


def test_joint_regression_equals_lstsq_and_separates_ld_from_score():
    from locusflow.enrich.gwas_signal import joint_regression
    rng = np.random.default_rng(5)
    ld, sc = rng.gamma(2, 20, 2000), rng.normal(size=2000)
    y = 1 + 0.02 * ld + 0.0 * sc + rng.chisquare(1, 2000)
    t = joint_regression(y, {"ld": ld, "score": sc}, jackknife_blocks(np.arange(2000), 25))
    X = np.column_stack([np.ones(2000), (ld - ld.mean()) / ld.std(), (sc - sc.mean()) / sc.std()])
    assert np.allclose(t["coef"], np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert t.loc[1, "z"] > 5 and abs(t.loc[2, "z"]) < 3
