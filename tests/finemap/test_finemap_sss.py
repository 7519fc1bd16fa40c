"""FINEMAP (Benner et al. 2016): Bayes factor, prior, shotgun stochastic search against exhaustive enumeration,
the reference FINEMAP run shipped with susieR (N3finemapping) and known simulated truth."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, multivariate_normal

from finemap_helpers import univariate_z

from locusflow import schema
from locusflow.errors import InputError
from locusflow.finemap.sss import bayes
from locusflow.finemap.sss import finemap_exhaustive
from locusflow.finemap.sss import finemap_sss


@pytest.fixture(scope="module")
def n3(realdata):
    d = np.load(realdata / "susier_data" / "N3finemapping.npz")
    return {k: d[k] for k in d.files}


def simulated_locus(x, n_causal, rng, effect=(0.25, 0.5)):
    """z, R and causal SNPs of a simulated trait on real genotypes x [n, m]."""
    b = np.zeros(x.shape[1])
    causal = rng.choice(x.shape[1], n_causal, replace=False)
    b[causal] = rng.choice([-1, 1], n_causal) * rng.uniform(*effect, n_causal)
    y = x @ b + rng.standard_normal(len(x))
    return univariate_z(x, y), np.corrcoef(x.T), np.sort(causal)


def test_bayes_factor_is_finemap_gaussian_ratio(n3):
    """log BF = log N(z_C; 0, R_CC + R_CC S R_CC) - log N(z_C; 0, R_CC), FINEMAP's documented formula."""
    x = n3["X"][:, 100:140]
    r = np.corrcoef(x.T)
    rng = np.random.default_rng(0)
    z = rng.standard_normal(40) * 3
    tau = bayes.prior_variance(574, 0.05)
    for c in ([3], [3, 17], [0, 9, 25], [1, 5, 20, 33]):
        a = r[np.ix_(c, c)]
        want = (multivariate_normal.logpdf(z[c], np.zeros(len(c)), a + tau * a @ a)
                - multivariate_normal.logpdf(z[c], np.zeros(len(c)), a))
        got = bayes.log_bf_configs(z, r, np.array([c]), tau)[0]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_prior_on_k_is_truncated_binomial():
    m, kmax = 500, 5
    lo = bayes.log_prior_odds(bayes.snp_prior(m))
    e = np.exp(bayes.log_esp(lo, kmax))
    pk = binom.pmf(np.arange(kmax + 1), m, 1 / m)
    np.testing.assert_allclose(e[1:] / e[1:].sum(), pk[1:] / pk[1:].sum(), rtol=1e-10)
    # marginal prior inclusion = E[k] / m under the truncated prior, k >= 1 (FINEMAP)
    ek = (np.arange(1, kmax + 1) * pk[1:]).sum() / pk[1:].sum()
    np.testing.assert_allclose(bayes.marginal_prior_inclusion(lo, kmax), ek / m, rtol=1e-10)


@pytest.mark.parametrize("seed,size,kmax,n_causal,weighted", [
    (1, 50, 3, 2, False), (2, 60, 3, 3, False), (3, 40, 3, 3, False), (4, 100, 2, 2, False),
    (5, 50, 3, 2, False), (6, 60, 3, 1, False), (7, 45, 3, 3, True)])
def test_sss_matches_exhaustive_enumeration(n3, seed, size, kmax, n_causal, weighted):
    """Loci of 40-100 real N3finemapping genotypes, 1-3 simulated causal SNPs (max |z| from 4.3 to 9.5),
    FINEMAP's search plus our closure step (``close_min_post=1e-5``: FINEMAP's search as published stops
    with up to 0.03 of PIP unexplored on these loci); one with functional prior weights and the null
    configuration allowed."""
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, n3["X"].shape[1] - size))
    z, r, _ = simulated_locus(n3["X"][:, start:start + size], n_causal, rng)
    kw = {"prior_weights": rng.uniform(0.2, 5, size), "include_null": True} if weighted else {}
    exact = finemap_exhaustive(z, r, 574, max_causal=kmax, **kw)
    sss = finemap_sss(z, r, 574, max_causal=kmax, close_min_post=1e-5, **kw)
    assert sss.converged
    assert np.abs(sss.snp.pip - exact.snp.pip).max() < 1e-3
    np.testing.assert_allclose(sss.post_k, exact.post_k, atol=1e-3)
    assert sss.log10bf_region == pytest.approx(exact.log10bf_region, abs=1e-3)
    top = exact.config[exact.config.prob > 1e-3].merge(sss.config, on="config", how="left")
    np.testing.assert_allclose(top.log10bf_y, top.log10bf_x, rtol=1e-9)  # every such config was found
    np.testing.assert_allclose(top.prob_y, top.prob_x, atol=1e-3)
    pd.testing.assert_frame_equal(sss.cred.drop(columns=["method", "post_k"]),
                                  exact.cred.drop(columns=["method", "post_k"]), atol=1e-9)


@pytest.mark.parametrize("response", [1, 2])
def test_n3finemapping_matches_reference_finemap_and_truth(n3, realdata, response):
    """susieR's reference FINEMAP v1.1 run: z from univariate OLS, R = cor(X), n = 574, --n-causal-max 3.

    The .snp log10bf of the reference implies a marginal prior inclusion E[k]/m with E[k] = 1.49985,
    the binomial(1001, 1/1001) prior truncated to 1 <= k <= 3, so we run max_causal=3. Reference PIPs are
    rounded to 1e-4 and come from FINEMAP's own stochastic search (prob_tol 1e-3): we allow 0.01.
    """
    x, y = n3["X"], n3["Y"][:, response - 1]
    z, r = univariate_z(x, y), np.corrcoef(x.T)
    ref = pd.read_csv(realdata / "susier_data" / f"N3finemapping.FINEMAP.response{response}.snp.tsv.gz",
                      sep="\t")
    ref_pip = np.zeros(len(z))
    ref_pip[ref.snp.to_numpy() - 1] = ref.snp_prob.to_numpy()
    ref_lbf = np.zeros(len(z))
    ref_lbf[ref.snp.to_numpy() - 1] = ref.snp_log10bf.to_numpy()
    published = finemap_sss(z, r, len(y), max_causal=3, version="1.1", close_min_post=None).snp.pip.to_numpy()
    assert np.abs(published - ref_pip).max() < 0.01   # measured 0.0027 / 0.0053
    fit = finemap_sss(z, r, len(y), max_causal=3, version="1.1")
    pip = fit.snp.pip.to_numpy()
    assert np.abs(pip - ref_pip).max() < 0.01         # measured 0.0049 / 0.0068
    assert np.corrcoef(pip, ref_pip)[0, 1] > 0.9999
    sig = ref_pip > 0.01
    np.testing.assert_allclose(fit.snp.log10bf.to_numpy()[sig], ref_lbf[sig], atol=0.2)
    # known truth: the top-PIP SNP is causal; every causal SNP with |effect| > 0.5 is in a credible set of
    # the most probable number of causal SNPs
    coef = n3["true_coef"][:, response - 1]
    assert coef[np.argmax(pip)] != 0
    kmap = int(np.argmax(fit.post_k))
    members = set(fit.cred[fit.cred.k == kmap]["index"])
    assert {int(i) for i in np.flatnonzero(np.abs(coef) > 0.5)} <= members


def test_functional_prior_raises_pip_of_causal_snp(n3):
    """Known truth: a causal SNP in strong LD with a proxy; upweighting the causal SNP raises its PIP."""
    x = n3["X"][:, 300:360]
    r = np.corrcoef(x.T)
    np.fill_diagonal(r, 0)
    i, j = np.unravel_index(np.argmax(np.abs(np.where(np.abs(r) < 0.95, r, 0))), r.shape)
    rng = np.random.default_rng(5)
    b = np.zeros(60)
    b[i] = 0.35
    z = univariate_z(x, x @ b + rng.standard_normal(len(x)))
    r = np.corrcoef(x.T)
    flat = finemap_sss(z, r, 574, max_causal=2).snp.pip.to_numpy()
    w = np.ones(60)
    w[i] = 10.0
    up = finemap_sss(z, r, 574, prior_weights=w, max_causal=2).snp.pip.to_numpy()
    assert up[i] > flat[i] + 0.05
    assert up[j] < flat[j]
    # uniform weights are FINEMAP's default prior
    same = finemap_sss(z, r, 574, prior_weights=np.full(60, 3.0), max_causal=2).snp.pip.to_numpy()
    np.testing.assert_allclose(same, flat, atol=1e-12)
    w0 = np.ones(60)
    w0[i] = 0.0
    assert finemap_exhaustive(z, r, 574, prior_weights=w0, max_causal=2).snp.pip[i] == 0.0


def test_tables_conform_to_schemas(n3):
    rng = np.random.default_rng(9)
    z, r, _ = simulated_locus(n3["X"][:, 500:540], 2, rng)
    ids = [f"19:{p}:A:G" for p in range(40)]
    for tables in (finemap_sss(z, r, 574, max_causal=3, variant_id=ids),
                   finemap_exhaustive(z, r, 574, max_causal=3, variant_id=ids)):
        snp, config, cred = tables
        schema.load("finemap_sss_snp").conform(snp)
        schema.load("finemap_config").conform(config)
        schema.load("finemap_cred").conform(cred)
        assert config.config.iloc[0].split(",")[0] in ids
        assert len(snp.attrs["post_k"]) == 4 and snp.attrs["post_k"][0] == 0.0
        assert sum(snp.attrs["post_k"]) == pytest.approx(1.0)
    first = finemap_sss(z, r, 574, max_causal=3, variant_id=ids, seed=3)[0]
    pd.testing.assert_frame_equal(finemap_sss(z, r, 574, max_causal=3, variant_id=ids, seed=3)[0], first)


def test_bad_input_is_a_clear_error():
    z = np.array([1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="square"):
        finemap_sss(z, np.eye(3)[:2], 100)
    with pytest.raises(InputError, match="match z"):
        finemap_sss(z, np.eye(4), 100)
    with pytest.raises(InputError, match="finite"):
        finemap_sss(np.array([1.0, np.nan, 3.0]), np.eye(3), 100)
    bad_r = np.eye(3)
    bad_r[0, 1] = bad_r[1, 0] = np.nan
    with pytest.raises(InputError, match="finite"):
        finemap_sss(z, bad_r, 100)
    with pytest.raises(InputError, match="sample size"):
        finemap_sss(z, np.eye(3), -5)
    with pytest.raises(InputError, match="prior weights"):
        finemap_sss(z, np.eye(3), 100, prior_weights=[1, -1, 1])
    not_psd = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])  # eigenvalue -0.8
    with pytest.raises(InputError, match="positive definite"):
        finemap_exhaustive(np.array([5.0, 5.0, 5.0]), not_psd, 10_000, max_causal=3, corr_config=1.0)
    with pytest.raises(InputError, match="positive definite"):
        finemap_sss(np.array([5.0, 5.0, 5.0]), not_psd, 10_000, max_causal=3, corr_config=1.0)
    with pytest.raises(InputError, match="max_configs"):
        finemap_exhaustive(np.zeros(300), np.eye(300), 100, max_causal=4)


def test_enumeration_oracle_counts_every_configuration():
    """The oracle enumerates sum_k C(m, k) configurations; SSS keeps a subset."""
    rng = np.random.default_rng(3)
    r = np.eye(12)
    z = rng.standard_normal(12)
    fit = finemap_exhaustive(z, r, 1000, max_causal=3)
    assert fit.n_configs == sum(len(list(itertools.combinations(range(12), k))) for k in (1, 2, 3))


def test_store_admission_is_one_at_a_time():
    """``store.admitted`` (a neighbourhood entering a store of the cap best, vectorised) equals inserting the
    candidates one by one into a min-heap of capacity cap (enter while there is room, then only strictly
    above the smallest, evicting it), ties included."""
    import heapq
    from locusflow.finemap.sss.store import admitted
    rng = np.random.default_rng(4)
    for cap, n_store, n_new in ((50, 0, 30), (50, 40, 30), (50, 50, 200), (20, 20, 2000), (100, 100, 700)):
        store = np.sort(rng.integers(0, 40, n_store).astype(float))
        new = rng.integers(0, 60, n_new).astype(float)
        heap, want = list(store), []
        heapq.heapify(heap)
        for x in new:
            if len(heap) < cap:
                heapq.heappush(heap, x)
                want.append(True)
            elif x > heap[0]:
                heapq.heapreplace(heap, x)
                want.append(True)
            else:
                want.append(False)
        np.testing.assert_array_equal(admitted(store, new, cap, chunk=64), want)
