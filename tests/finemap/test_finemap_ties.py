"""Duplicate SNPs (r = 1, equal z) keep one order in credible sets: ties in weight (to 1e-12) are ordered
by index in SuSiE's and FINEMAP-SSS's sets, as susieR (bit-identical alphas, R's stable ``order``) does.

The locus: 80 real N3finemapping genotypes, one simulated causal SNP copied 30 times to scattered
positions (R and z indexed, so copies are exact duplicates); 30 equal weights put the 95% boundary
inside the copies (28/30 < 0.95 < 29/30), the case where rounding noise swapped SNPs in and out.
"""
from __future__ import annotations

import numpy as np
import pytest

from peers.susier_peer import run_susier

from locusflow.finemap.credible import descending
from locusflow.finemap.sss import finemap_sss
from locusflow.finemap.susie import susie_rss

N_COPIES = 30


@pytest.fixture(scope="module")
def duplicated_locus(realdata):
    d = np.load(realdata / "susier_data" / "N3finemapping.npz")
    x = d["X"][:, 200:280]
    rng = np.random.default_rng(11)
    y = 0.4 * x[:, 40] / x[:, 40].std() + rng.standard_normal(len(x))
    xc, yc = x - x.mean(0), y - y.mean()
    ss = (xc * xc).sum(0)
    b = xc.T @ yc / ss
    z = b / np.sqrt(((yc[:, None] - xc * b) ** 2).sum(0) / (len(y) - 2) / ss)
    r = np.corrcoef(x.T)
    idx = np.insert(np.arange(80), rng.choice(81, N_COPIES - 1), 40)   # 30 copies of SNP 40, scattered
    copies = np.flatnonzero(idx == 40)
    return z[idx], r[np.ix_(idx, idx)], len(y), copies


def jitter(z, copies, seed):
    """Rounding noise (1e-15) on the copies' z: what BLAS summation order leaves on duplicates' weights."""
    z = z.copy()
    z[copies] += np.random.default_rng(seed).uniform(-1e-15, 1e-15, len(copies))
    return z


def prefix_by_index(members, copies):
    """The copies in a set are the lowest-index ones."""
    inside = np.isin(copies, members)
    return inside.sum() > 0 and not (inside[1:] & ~inside[:-1]).any()


def test_descending_orders_ties_by_index():
    w = np.array([0.1, 0.3, 0.3 + 1e-16, 0.2, 0.3 - 1e-16, 0.3 - 1e-3])
    assert list(descending(w)) == [1, 2, 4, 5, 3, 0]
    assert list(descending(w, tol=0.0)) == [2, 1, 4, 5, 3, 0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_susie_duplicates_in_index_order(duplicated_locus, seed):
    z, r, n, copies = duplicated_locus
    fit = susie_rss(jitter(z, copies, seed), r, n)
    assert np.ptp(fit.alpha[0, copies]) > 0                # the noise reaches the weights
    cs = [c for c in fit.sets.cs if np.isin(copies, c).any()]
    assert len(cs) == 1 and np.isin(copies, cs[0]).sum() == N_COPIES - 1 and prefix_by_index(cs[0], copies)


def test_susie_duplicates_match_susier(duplicated_locus):
    from conftest import apt_tool
    from peers.susier_peer import susier_available
    z, r, n, copies = duplicated_locus
    fit = susie_rss(z, r, n)
    rscript = apt_tool("Rscript", "r-cran-susier")
    if not susier_available(rscript):
        pytest.skip("susieR not available")
    peer = run_susier(rscript, z, r, n)
    assert [list(s) for s in fit.sets.cs] == [c["variables"] for c in peer["cs"]]
    assert np.max(np.abs(fit.pip - peer["pip"])) < 1e-4


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sss_duplicates_in_index_order(duplicated_locus, seed):
    z, r, n, copies = duplicated_locus
    fit = finemap_sss(jitter(z, copies, seed), r, n, max_causal=2)
    pip = fit.snp.pip.to_numpy()
    assert 0 < np.ptp(pip[copies]) < 1e-12                 # duplicates share their PIP, up to the noise
    cred = fit.cred[fit.cred.k == 1]
    members = cred["index"].to_numpy()
    assert np.isin(copies, members).sum() == N_COPIES - 1 and prefix_by_index(members, copies)
    top = fit.config.iloc[0]["index"]                      # the top configuration holds the first copy
    assert copies[0] in top and not set(copies[1:]) & set(top)
