"""FOCUS math on a many-gene block of the real 1000G EUR panel (examples/ chr22 window): batched enumeration
equals one-batch enumeration, the shotgun stochastic search recovers the exhaustive PIPs, the credible
set and error paths. The exhaustive enumeration is the known truth here (pyfocus agreement of the same
enumeration: test_peer.py)."""
from __future__ import annotations

import logging
from itertools import combinations

import numpy as np
import pytest

from conftest import EXAMPLES
from locusflow.focus import bayes, model, search


@pytest.fixture(scope="module")
def block():
    from locusflow.io.plink import BedReader
    import pandas as pd
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    bim = pd.read_csv(f"{prefix}.bim", sep=r"\s+", header=None)
    idx = np.flatnonzero(bim[0].astype(str) == "22")[:1500]
    g = BedReader(prefix).read_index(idx).astype(float)
    g = g[g.std(1) > 0]
    rng = np.random.default_rng(3)
    m, p = 40, len(g)
    W = np.zeros((p, m))
    for j in range(m):  # loop over genes: a cis window of 150 SNPs, 8 eQTLs
        lo = rng.integers(0, p - 150)
        W[lo + rng.choice(150, 8, replace=False), j] = rng.normal(size=8)
    from locusflow.focus.align import panel_ld
    V = panel_ld(g, 0.1)
    causal = W[:, 7] / np.sqrt(W[:, 7] @ V @ W[:, 7])
    z = 6.0 * V @ causal + np.linalg.cholesky(V) @ rng.normal(size=p)
    tz = model.twas_z(W, z, V)
    wcor, _ = model.expression_correlation(W, V)
    return tz, wcor, model.prior_chisq(tz, wcor)


def test_log_bf_is_the_finemap_svd_form(block):
    tz, wcor, s2 = block
    sets = np.array(list(combinations(range(12), 3)), dtype=np.int32)
    ours = bayes.log_bf_sets(sets, tz, wcor, s2)
    c = s2 / 3
    for s, o in zip(sets[::37], ours[::37]):  # a sample of sets: pyfocus bayes_factor's SVD formula
        u, e, _ = np.linalg.svd(wcor[np.ix_(s, s)])
        ref = -0.5 * np.sum(np.log1p(c * e)) + 0.5 * np.sum(c / (1 + c * e) * (tz[s] @ u) ** 2)
        assert abs(o - ref) < 1e-10


def test_generic_and_closed_form_cholesky_agree(block):
    tz, wcor, s2 = block
    for k in (1, 2, 3):  # closed form (k <= 3) against the generic unrolled Cholesky, and k = 4 vs SVD
        sets = np.array(list(combinations(range(9), k)), dtype=np.int32)
        fast = bayes.log_bf_sets(sets, tz, wcor, s2)
        c = s2 / k
        A = wcor[sets[:, :, None], sets[:, None, :]] * c + np.eye(k)
        sign, logdet = np.linalg.slogdet(A)
        y = np.sqrt(c) * tz[sets]
        ref = -0.5 * logdet + 0.5 * np.einsum("bk,bk->b", y, np.linalg.solve(A, y[..., None])[..., 0])
        np.testing.assert_allclose(fast, ref, atol=1e-10)
    sets = np.array(list(combinations(range(9), 4)), dtype=np.int32)
    got = bayes.log_bf_sets(sets, tz, wcor, s2)
    c = s2 / 4
    for s, o in zip(sets, got):
        u, e, _ = np.linalg.svd(wcor[np.ix_(s, s)])
        assert abs(o - (-0.5 * np.sum(np.log1p(c * e)) + 0.5 * np.sum(c / (1 + c * e) * (tz[s] @ u) ** 2))) < 1e-10


def test_batches_equal_one_batch(block):
    tz, wcor, s2 = block
    one = search.fine_map_genes([tz], [wcor], [s2], 0.02, 3, batch=1 << 22)
    many = search.fine_map_genes([tz], [wcor], [s2], 0.02, 3, batch=997)
    assert one[2] == many[2] == "exhaustive"
    np.testing.assert_allclose(many[0][0], one[0][0], atol=1e-12)
    assert abs(many[1][0] - one[1][0]) < 1e-12
    assert np.argmax(one[0][0]) == 7  # the simulated causal gene leads


def test_iter_sets_covers_every_set_once():
    got = np.concatenate(list(search.iter_sets(11, 3, batch=17)))
    want = np.array(list(combinations(range(11), 3)))
    assert len(got) == len(want)
    assert {tuple(sorted(r)) for r in got.tolist()} == {tuple(r) for r in want.tolist()}


def test_stochastic_search_recovers_exhaustive(block):
    tz, wcor, s2 = block
    ex = search.fine_map_genes([tz], [wcor], [s2], 0.02, 3)
    rec = []
    h = logging.Handler()
    h.emit = rec.append
    search.log.addHandler(h)
    try:
        ss = search.fine_map_genes([tz, tz], [wcor, wcor], [s2, s2], 0.02, 3, search="sss", sss_iter=300)
    finally:
        search.log.removeHandler(h)
    assert ss[2] == "sss" and any("stochastic search" in r.getMessage() for r in rec)
    np.testing.assert_allclose(ss[0][0], ex[0][0], atol=2e-3)
    assert abs(ss[1][0] - ex[1][0]) < 2e-3


def test_credible_set_counts_the_null_row():
    pips = np.array([0.05, 0.5, 0.3, 0.15])  # last = null
    assert model.credible_set(pips, 0.9).tolist() == [0, 1, 1, 1]
    assert model.credible_set(pips, 0.5).tolist() == [0, 1, 0, 0]


def test_multi_ancestry_prior_once(block):
    """Joint PIPs with identical populations equal single-population PIPs with the BF squared."""
    tz, wcor, s2 = block
    tz2 = tz[:10]
    w2 = wcor[:10, :10]
    res = search.fine_map_genes([tz2, tz2], [w2, w2], [s2, s2], 0.05, 2)
    m = 10
    logp = []
    sets = [()] + [s for k in (1, 2) for s in combinations(range(m), k)]
    for s in sets:
        k = len(s)
        bf = 0 if not k else 2 * bayes.log_bf_sets(np.array([s], dtype=np.int32), tz2, w2, s2)[0]
        logp.append(bf + k * np.log(0.05) + (m - k) * np.log(0.95))
    logp = np.array(logp) - np.logaddexp.reduce(logp)
    pip = np.array([np.exp(logp)[[i for i, s in enumerate(sets) if g in s]].sum() for g in range(m)])
    np.testing.assert_allclose(res[0][2], pip, atol=1e-12)
    assert abs(res[1][2] - np.exp(logp[0])) < 1e-12


def test_cost_model_picks_the_cheaper_search(block):
    """Enumeration unless the estimated search time is lower: 700 genes x 3 (57 M sets, ~7 s) enumerate,
    200 genes x 5 (2.6 G sets) search; on one block the choice flips with the search's iteration count."""
    ex, ss, n = search.search_costs(700, 3)
    assert n == 57_167_250 and ex < ss
    ex, ss, _ = search.search_costs(200, 5)
    assert ss < ex
    tz, wcor, s2 = block
    few = search.fine_map_genes([tz], [wcor], [s2], 0.02, 4, "auto", sss_iter=10)
    many = search.fine_map_genes([tz], [wcor], [s2], 0.02, 4, "auto", sss_iter=20000)
    assert few[2] == "sss" and many[2] == "exhaustive"
    assert np.argmax(many[0][0]) == 7
