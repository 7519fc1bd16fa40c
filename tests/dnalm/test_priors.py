"""GPNxLD and functional priors on simulated truth: causal SNPs drawn with probability rising with the score."""
import numpy as np

from locusflow.dnalm.priors import estimate_beta, functional_priors, gpnxld, single_causal_pip


def test_gpnxld_is_r2_weighted_sum_and_identity_without_ld():
    rng = np.random.default_rng(1)
    a = rng.exponential(size=5)
    assert np.allclose(gpnxld(np.eye(5), a), a)
    r = np.corrcoef(rng.normal(size=(5, 50)))
    want = [sum(r[j, k] ** 2 * a[k] for k in range(5)) for j in range(5)]
    assert np.allclose(gpnxld(r, a), want)


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
    blocks, causal = simulate(1.5)
    beta = estimate_beta(blocks, w=16.0)
    assert abs(beta - 1.5) < 0.4, beta
    assert abs(estimate_beta(simulate(0.0, seed=3)[0], w=16.0)) < 0.4
    pip_u = np.array([single_causal_pip(z, s, 0.0, w=16.0) for z, s in blocks])
    pip_f = np.array([single_causal_pip(z, s, beta, w=16.0) for z, s in blocks])
    idx = np.arange(len(causal))
    hit_u, hit_f = pip_u[idx, causal], pip_f[idx, causal]
    assert hit_f.mean() > hit_u.mean() + 0.05                       # power at the causal SNP rises
    for pip in (pip_u, pip_f):                                       # calibration kept: expected = observed
        top = pip > 0.5
        frac_true = (top[idx, causal]).sum() / top.sum()
        assert abs(frac_true - pip[top].mean()) < 0.1
    assert (pip_f > 0.5)[idx, causal].sum() > (pip_u > 0.5)[idx, causal].sum()
