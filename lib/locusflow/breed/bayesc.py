"""BayesC-pi: Bayesian variable selection for genomic prediction (Habier et al. 2011), by Gibbs sampling.

Model: y = 1 mu + X_c b + e, X_c the centred allele counts, b_j = delta_j beta_j with
delta_j ~ Bernoulli(1 - pi), beta_j ~ N(0, s2_b), e ~ N(0, s2_e I); s2_b and s2_e get scaled inverse
chi^2 priors (nu = 4 degrees of freedom, scales set so that their means give ``h2_prior`` of the
phenotypic variance spread over the expected number of markers in the model, as in BGLR and GenSel);
pi ~ Beta(1, 1) when estimated.

Single-site Gibbs with residual updating (each marker: O(n)); the sweep over markers is inherently
sequential, so it runs compiled (numba). Returned: posterior means of the effects and of mu, each
marker's posterior inclusion probability (fraction of kept samples with delta_j = 1), and the
posterior means of pi, s2_b and s2_e. A fixed ``seed`` makes a run reproducible.

References
----------
Habier D., Fernando R.L., Kizilkaya K., Garrick D.J. (2011) Extension of the Bayesian alphabet for
genomic selection. BMC Bioinformatics 12:186. Pérez P. & de los Campos G. (2014) Genome-wide
regression and prediction with the BGLR statistical package. Genetics 198:483-495 (prior scales).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..errors import InputError
from .relationship import allele_counts, center


@njit(cache=True)
def _sweep(X, xtx, e, b, delta, s2b, s2e, log_odds_prior, u, z):
    """One Gibbs pass over the markers (in place); returns the number included."""
    n, m = X.shape
    k = 0
    for j in range(m):
        xj = X[:, j]
        bj = b[j]
        rhs = 0.0
        for i in range(n):
            rhs += xj[i] * e[i]
        rhs += xtx[j] * bj
        c = xtx[j] + s2e / s2b
        # log posterior odds of delta_j = 1 (beta integrated out)
        lo = 0.5 * (np.log(s2e / s2b) - np.log(c)) + rhs * rhs / (2.0 * s2e * c) + log_odds_prior
        p1 = 1.0 / (1.0 + np.exp(-lo)) if lo > -700.0 else 0.0
        if u[j] < p1:
            new = rhs / c + np.sqrt(s2e / c) * z[j]
            delta[j] = 1
            k += 1
        else:
            new = 0.0
            delta[j] = 0
        if new != bj:
            d = bj - new
            for i in range(n):
                e[i] += xj[i] * d
            b[j] = new
    return k


@dataclass
class BayesCFit:
    """Posterior means: ``effects_`` per centred marker, ``mu_``, ``pip_`` per marker, ``pi_`` (the
    fraction of markers NOT in the model), ``var_b_``, ``var_e_``; ``freq_`` of the training animals."""
    effects_: np.ndarray
    mu_: float
    pip_: np.ndarray
    pi_: float
    var_b_: float
    var_e_: float
    freq_: np.ndarray

    def predict(self, markers) -> np.ndarray:
        """GEBV of animals from their markers: (M - 2p) b.

        Parameters
        ----------
        markers : array-like
            [n, m] genotypes in the training coding.

        Returns
        -------
        numpy.ndarray
        """
        w, _ = center(allele_counts(markers), self.freq_)
        return w @ self.effects_


def fit_bayesc(y, markers, *, pi: float | None = 0.99, h2_prior: float = 0.5, n_iter: int = 3000,
               burn_in: int = 1000, thin: int = 1, seed: int = 0) -> BayesCFit:
    """BayesC (``pi`` fixed) or BayesC-pi (``pi=None``: estimated) by Gibbs sampling.

    Parameters
    ----------
    y : array-like
        [n] phenotypes (finite).
    markers : array-like
        [n, m] genotypes (0/1/2 or 0/1).
    pi : float or None
        Prior probability that a marker has no effect; None estimates it (Beta(1, 1) prior).
    h2_prior : float
        Prior guess of the heritability, used for the prior scales of s2_b and s2_e.
    n_iter, burn_in, thin : int
        Gibbs iterations, discarded first ones, and keep every ``thin``-th.
    seed : int

    Returns
    -------
    BayesCFit

    References
    ----------
    Habier et al. (2011) BMC Bioinformatics 12:186; Pérez & de los Campos (2014) Genetics 198:483.
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    if not np.isfinite(y).all():
        raise InputError("phenotypes", "finite phenotype values (drop missing animals first)")
    if burn_in >= n_iter:
        raise InputError("bayesc", "burn_in < n_iter", value=(burn_in, n_iter))
    w, p = center(allele_counts(markers))
    X = np.ascontiguousarray(w)
    n, m = X.shape
    xtx = np.einsum("ij,ij->j", X, X)
    rng = np.random.default_rng(seed)
    vy = float(np.var(y))
    sum2pq = float(np.sum(2 * p * (1 - p)))
    pi_cur = 0.99 if pi is None else float(pi)
    nu = 4.0
    s_e = vy * (1 - h2_prior) * (nu - 2) / nu
    s_b = vy * h2_prior / (sum2pq * max(1 - pi_cur, 1.0 / m)) * (nu - 2) / nu
    s2e, s2b = s_e * nu / (nu - 2), s_b * nu / (nu - 2)
    mu = float(y.mean())
    b = np.zeros(m)
    delta = np.zeros(m, dtype=np.int64)
    e = y - mu
    keep = 0
    sums = {"b": np.zeros(m), "d": np.zeros(m), "mu": 0.0, "pi": 0.0, "s2b": 0.0, "s2e": 0.0}
    xkeep = xtx > 0
    for it in range(n_iter):          # Gibbs iterations (the marker sweep inside is compiled)
        e += mu
        mu = float(e.mean() + rng.normal() * np.sqrt(s2e / n))
        e -= mu
        lop = np.log(max(1 - pi_cur, 1e-300)) - np.log(max(pi_cur, 1e-300))
        u = rng.uniform(size=m)
        u[~xkeep] = 2.0                                     # monomorphic markers never enter
        k = _sweep(X, xtx, e, b, delta, s2b, s2e, lop, u, rng.normal(size=m))
        ssb = float(b[delta == 1] @ b[delta == 1])
        s2b = (ssb + nu * s_b) / rng.chisquare(k + nu)
        s2e = (float(e @ e) + nu * s_e) / rng.chisquare(n + nu)
        if pi is None:
            pi_cur = float(rng.beta(m - k + 1, k + 1))
        if it >= burn_in and (it - burn_in) % thin == 0:
            keep += 1
            sums["b"] += b
            sums["d"] += delta
            sums["mu"] += mu
            sums["pi"] += pi_cur
            sums["s2b"] += s2b
            sums["s2e"] += s2e
    return BayesCFit(effects_=sums["b"] / keep, mu_=sums["mu"] / keep, pip_=sums["d"] / keep,
                     pi_=sums["pi"] / keep, var_b_=sums["s2b"] / keep, var_e_=sums["s2e"] / keep, freq_=p)
