"""Block inputs before fine-mapping (locusflow.finemap.block_ld): ImpG-Summary z imputation and mixed-ancestry
LD, against hand computations and known truth (z simulated from the full LD with SNPs hidden; GWAS of two
simulated populations meta-analysed)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES

from locusflow.finemap.block_ld import impute_z, panel_ld, weighted_ld


@pytest.fixture(scope="module")
def real_r():
    """LD of 150 common SNPs of the bundled 1000G EUR chr20 genotypes (489 samples, in-sample)."""
    from locusflow.io.plink import BedReader
    g = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read(0, 600).astype(np.float64)
    af = g.mean(1) / 2
    g = g[(af > 0.1) & (af < 0.9)][:150]
    x = ((g.T - g.mean(1)) / g.std(1))
    return x.T @ x / len(x)


def test_impute_z_by_hand():
    """Three SNPs, the middle one untyped, lambda = 0.1: w = (R_tt + 0.1 I)^-1 R_tm = (0.68, 0.04) / 0.96."""
    R = np.array([[1.0, 0.8, 0.5], [0.8, 1.0, 0.4], [0.5, 0.4, 1.0]])
    z, r2 = impute_z([3.0, np.nan, 1.0], R, [True, False, True], ridge=0.1)
    assert z[1] == pytest.approx((3 * 0.68 + 0.04) / 0.96, rel=1e-12)          # 2.1666...
    assert r2[1] == pytest.approx((0.8 * 0.68 + 0.4 * 0.04) / 0.96, rel=1e-12)  # 0.58333...
    assert z[[0, 2]].tolist() == [3.0, 1.0] and r2[[0, 2]].tolist() == [1.0, 1.0]


def test_impute_z_known_truth(real_r):
    """z ~ N(mu, R) from the full LD; a third of the SNPs hidden and imputed. Under the null the mean squared
    error of each imputed z equals its expectation 1 - 2 r^2 + w' R_tt w (1 - r^2 when lambda -> 0), and
    a hidden causal SNP's strong signal is recovered."""
    R = real_r
    p = len(R)
    rng = np.random.default_rng(5)
    lam, vec = np.linalg.eigh(R)
    half = vec * np.sqrt(np.maximum(lam, 0))
    typed = np.arange(p) % 3 != 0
    reps = 400
    zs = rng.normal(size=(reps, p)) @ half.T
    err = np.array([impute_z(z, R, typed, ridge=0.1)[0] - z for z in zs])[:, ~typed]
    _, r2 = impute_z(np.zeros(p), R, typed, ridge=0.1)
    w = np.linalg.solve(R[np.ix_(typed, typed)] + 0.1 * np.eye(typed.sum()), R[np.ix_(typed, ~typed)])
    expected = 1 - 2 * r2[~typed] + np.einsum("tm,tu,um->m", w, R[np.ix_(typed, typed)], w)
    assert (err ** 2).mean() == pytest.approx(expected.mean(), rel=0.05)
    assert np.corrcoef((err ** 2).mean(0), expected)[0, 1] > 0.9
    c = int(np.flatnonzero(~typed)[np.argmax(r2[~typed])])          # the best-tagged hidden SNP is causal
    z = rng.normal(size=p) @ half.T + 8.0 * R[:, c]
    zi, r2c = impute_z(z, R, typed)
    assert r2c[c] > 0.9 and abs(zi[c] - z[c]) < 3 * np.sqrt(1 - r2c[c]) + 0.5 and zi[c] > 5


def _population(rng, n, corr):
    """Standardised genotypes [n, p] from a latent Gaussian with correlation ``corr`` (allele freq 0.3)."""
    lat = rng.normal(size=(n, len(corr))) @ np.linalg.cholesky(corr).T
    g = (lat > 0.52).astype(float) + (rng.normal(size=lat.shape) * 0.5 + lat > 0.9)
    return (g - g.mean(0)) / g.std(0)


def test_weighted_ld_known_truth():
    """Two populations with different LD (SNP pairs correlated in A, not in B), GWAS z_k = X_k'y_k / sqrt(n_k)
    meta-analysed as sum_k sqrt(n_k) z_k / sqrt(N): its covariance is X'X / N of the stacked genotypes,
    which is sum n_k R_k / N. Null replicates are likelier under the mixed LD than under either panel's;
    with a causal SNP, SuSiE-RSS on the mixed LD finds it."""
    from scipy.stats import multivariate_normal
    from locusflow.finemap.susie import susie_rss
    rng = np.random.default_rng(2)
    p, causal, n = 30, 7, (3000, 1500)
    a = np.eye(p)
    for i in range(0, p - 1, 2):
        a[i, i + 1] = a[i + 1, i] = 0.9
    b = 0.3 * np.eye(p) + 0.7 * np.exp(-np.abs(np.subtract.outer(np.arange(p), np.arange(p))) / 8.0)
    xs = [_population(rng, n[0], a), _population(rng, n[1], b)]
    rs = [x.T @ x / len(x) for x in xs]
    mixed = weighted_ld(rs, n)
    np.testing.assert_allclose(mixed, (2 * rs[0] + rs[1]) / 3, atol=1e-14)         # by hand
    stacked = np.vstack(xs)
    np.testing.assert_allclose(mixed, stacked.T @ stacked / sum(n), atol=1e-12)     # Cov of the meta z

    def meta_z(effect):
        zs = []
        for x in xs:
            y = effect * x[:, causal] + rng.normal(size=len(x))
            zs.append(x.T @ ((y - y.mean()) / y.std()) / np.sqrt(len(x)))
        return (np.sqrt(n[0]) * zs[0] + np.sqrt(n[1]) * zs[1]) / np.sqrt(sum(n))
    null = np.array([meta_z(0.0) for _ in range(300)])
    ll = [multivariate_normal(np.zeros(p), r, allow_singular=True).logpdf(null).mean() for r in (mixed, *rs)]
    assert ll[0] > max(ll[1:]) + 0.2        # 0.5 and 2.7 nats per replicate here
    fit = susie_rss(meta_z(0.1), mixed, sum(n))
    assert np.argmax(fit.pip) == causal and fit.pip[causal] > 0.9
    with pytest.raises(Exception, match="positive n"):
        weighted_ld(rs, [3000, 0])


def test_panel_ld_equals_weighted_average(tmp_path):
    """panel_ld on two sample halves of a store is the n-weighted average of each half's LD (ld_matrix)."""
    from locusflow.io.genotypes import GenotypeStore, ingest_plink
    from locusflow.io.dataset import read_dataset
    from locusflow.ld.matrix import ld_matrix
    ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path / "g.vcz")
    gs = GenotypeStore(tmp_path / "g.vcz")
    m = read_dataset(tmp_path / "g.vcz" / "variants.parquet", "variants").iloc[:80].reset_index(drop=True)
    halves = [list(gs.samples[:200]), list(gs.samples[200:])]
    keep, R = panel_ld(m, str(tmp_path / "g.vcz"), [{"n": 1000.0, "samples": halves[0]},
                                                     {"n": 3000.0, "samples": halves[1]}])
    idx = m["store_index"].to_numpy()[keep]
    own = [ld_matrix(gs.dosages(index=idx, samples=gs.sample_index(h))).astype(np.float64) for h in halves]
    np.testing.assert_allclose(R, (own[0] + 3 * own[1]) / 4, atol=1e-12)
    mono = [np.diag(ld_matrix(gs.dosages(index=m["store_index"].to_numpy(), samples=gs.sample_index(h)))) < 0.5
            for h in halves]
    assert (~keep).sum() == (mono[0] | mono[1]).sum()
