"""BayesC-pi recovers simulated causal markers (known truth) and beats GBLUP on a sparse architecture."""
import numpy as np
import pytest

from locusflow.breed.bayesc import fit_bayesc
from locusflow.breed.gblup import fit_gblup
from locusflow.breed.relationship import vanraden_grm
from locusflow.errors import InputError


def test_bayesc_finds_the_causal_markers():
    rng = np.random.default_rng(0)
    n, m = 600, 400
    X = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m))
    causal, beta = [10, 200, 350], np.array([1.0, -0.8, 0.6])
    g = X[:, causal] @ beta
    y = g + rng.normal(scale=np.std(g), size=n)                  # h2 = 0.5
    fit = fit_bayesc(y[:500], X[:500], pi=None, n_iter=2000, burn_in=500, seed=1)
    assert (fit.pip_[causal] > 0.95).all()
    assert np.delete(fit.pip_, causal).max() < 0.2
    assert np.abs(fit.effects_[causal] - beta).max() < 0.25
    assert 0.98 < fit.pi_ < 1.0
    acc_bayesc = np.corrcoef(fit.predict(X[500:]), g[500:])[0, 1]
    G = vanraden_grm(X)
    acc_gblup = np.corrcoef(fit_gblup(y[:500], G[:500, :500]).predict(G[500:, :500]), g[500:])[0, 1]
    assert acc_bayesc > acc_gblup + 0.1, (acc_bayesc, acc_gblup)
    # reproducible with a seed
    again = fit_bayesc(y[:500], X[:500], pi=None, n_iter=2000, burn_in=500, seed=1)
    np.testing.assert_array_equal(again.effects_, fit.effects_)


def test_bayesc_bad_input():
    with pytest.raises(InputError, match="burn_in"):
        fit_bayesc(np.ones(4), np.eye(4, dtype=int), n_iter=10, burn_in=10)
