"""FINEMAP's Bayes factor of a causal configuration and its configuration prior.

Model (Benner et al. 2016, "FINEMAP: efficient variable selection using summary data from genome-wide
association studies", Bioinformatics 32:1493, section 2.2). With standardised genotypes and trait,
the z-scores of the region satisfy ``z | lambda ~ N(R lambda, R)`` where ``lambda = sqrt(n) beta / sigma``
is the vector of scaled causal effects; effects outside the causal configuration C are zero and the causal
ones have the prior ``lambda_C ~ N(0, S)``, ``S = diag(s_i^2 n)`` with ``s_i`` FINEMAP's ``--prior-std``
(default 0.05). Integrating lambda out, the Bayes factor of C against the null (FINEMAP's documented
formula) is::

    BF(C) = N(z_C; 0, R_CC + R_CC S R_CC) / N(z_C; 0, R_CC).

With ``A = R_CC`` and Woodbury, ``(A + A S A)^-1 = A^-1 - (S^-1 + A)^-1`` and
``|A + A S A| = |A| |S| |S^-1 + A|``, hence, with ``M = R_CC + S^-1``::

    log BF(C) = -1/2 [ sum_i log tau_i + log |M| ] + 1/2 z_C' M^-1 z_C,     tau_i = n s_i^2.

M is positive definite even when R_CC is singular (SNPs in perfect LD), so one Cholesky factor
``M = L L'`` gives both terms: ``log|M| = 2 sum log diag L`` and ``z' M^-1 z = |L^-1 z|^2``.
For one SNP this is Wakefield's approximate Bayes factor ``-1/2 log(1 + tau) + z^2 tau / (2 (1 + tau))``.
The posterior of lambda_C given C is ``N(M^-1 z_C, M^-1)`` (used for posterior effect means).

FINEMAP 1.4 (``version="1.4"``, the default) differs in two ways, both measured against the v1.4.2 binary
(``--config``: log10 BF to 1e-4 on configurations of 2-3 SNPs):

* the residual variance of the configuration's least-squares fit enters: with marginal correlations
  ``r = z / sqrt(n + z^2)``, ``R^2(C) = r_C' R_CC^-1 r_C`` and ``sigma^2 = 1 - R^2(C)``, the Bayes factor is
  the marginal likelihood of standardised y under ``beta_C ~ N(0, s^2 I)`` with that sigma^2, against the
  null with variance 1::

      log BF(C; s) = log BF_1.1(z~, t) - n/2 (log sigma^2 + 1/sigma^2 - 1),
      z~ = r_C sqrt(n / sigma^2),   t = n s^2 / sigma^2

  (BF_1.1 the formula above; sigma^2 = 1 and r = z / sqrt(n) give FINEMAP 1.1 back);
* with several prior SDs s_1..s_G (``--prior-std`` as a list; FINEMAP 1.4 updates them from the data),
  ``BF(C) = 1/G sum_g BF(C; s_g)``.

Prior (FINEMAP section 2.3 and its ``--prior-snps`` option): SNP i is causal with probability pi_i,
independently, and configurations larger than ``max_causal`` (and, by FINEMAP's default, the empty one)
get prior zero, so ``p(C) ∝ prod_{i in C} pi_i / (1 - pi_i)``. With pi_i = 1/m this is FINEMAP's
truncated binomial prior on the number of causal SNPs, ``p(k) ∝ Binom(k; m, 1/m)``; per-SNP weights
(PolyFun-style functional priors) set ``pi_i = m p w_i / sum(w)``. The prior on k is
``p(k) ∝ e_k(odds)``, the elementary symmetric polynomial of the prior odds.
"""
from __future__ import annotations

import numpy as np

DEFAULT_PRIOR_STD = 0.05
AUTO_MIN_ABS_R = 0.1         # SNPs that enter FINEMAP 1.4's prior-SD update: |r| >= 0.1 (r^2 >= 1%)
AUTO_PRUNE_R = 0.95          # ... skipping those with |r| > 0.95 to one already taken (fixed, not --corr-config)
AUTO_N_SD = 4                # the updated list: 4 SDs spaced geometrically from the default to the largest


VERSIONS = ("1.4", "1.1")


class BayesFactor:
    """FINEMAP's Bayes factor of a configuration, for one region (n) and a grid of prior SDs.

    ``version`` "1.4": residual variance of the configuration's fit and BF averaged over the SDs;
    "1.1": unit residual variance (``sigma^2 = 1``), as FINEMAP 1.0/1.1 (module docstring).
    """

    def __init__(self, n: float, prior_std=DEFAULT_PRIOR_STD, version: str = "1.4"):
        if version not in VERSIONS:
            from ...errors import InputError
            raise InputError("finemap input", f"version one of {VERSIONS}", column="version", value=version)
        self.n, self.version = float(n), version
        self.grid = np.atleast_1d(np.asarray(prior_std, dtype=np.float64))
        if self.grid.ndim != 1 or not len(self.grid) or not (self.grid > 0).all():
            from ...errors import InputError
            raise InputError("finemap input", "prior_std: positive prior SD(s)", column="prior_std",
                             value=prior_std)

    def correlations(self, z: np.ndarray) -> np.ndarray:
        """Marginal correlations r of the z-scores (1.4: z / sqrt(n + z^2); 1.1: z / sqrt(n))."""
        z = np.asarray(z, dtype=np.float64)
        return z / np.sqrt(self.n + z * z) if self.version == "1.4" else z / np.sqrt(self.n)

    def sigma2(self, rsq) -> np.ndarray:
        """Residual variance 1 - R^2 (floored at 1e-6), or 1 for version 1.1."""
        rsq = np.asarray(rsq, dtype=np.float64)
        return np.maximum(1.0 - rsq, 1e-6) if self.version == "1.4" else np.ones_like(rsq)

    def penalty(self, sig2: np.ndarray) -> np.ndarray:
        return -0.5 * self.n * (np.log(sig2) + 1.0 / sig2 - 1.0)

    def _combine(self, per_grid: list) -> np.ndarray:
        stacked = np.stack(per_grid)
        return logsumexp(stacked, axis=0) - np.log(len(per_grid)) if len(per_grid) > 1 else stacked[0]

    def from_eigen(self, lam, q, rsq) -> np.ndarray:
        """log BF of N configurations from eigenvalues ``lam`` [b, N] of R_CC and ``q = Q' r_C`` [b, N]."""
        sig2 = self.sigma2(rsq)
        out = []
        for s in self.grid:
            t = self.n * s * s / sig2
            d = lam + 1.0 / t
            quad = (self.n / sig2) * (q * q / d).sum(0)
            out.append(-0.5 * (lam.shape[0] * np.log(t) + np.log(d).sum(0)) + 0.5 * quad + self.penalty(sig2))
        return self._combine(out)

    def add_one(self, lam, p, q, r_diag, rz, rsq) -> np.ndarray:
        """log BF of B + j for every SNP j: ``lam`` [b], ``p = Q' R_B.`` [b, m], ``q = Q' r_B`` [b],
        ``rsq`` [m] the R^2 of each B + j (region module docstring)."""
        sig2 = self.sigma2(rsq)
        lam = np.asarray(lam)[:, None]
        out = []
        for s in self.grid:
            t = self.n * s * s / sig2
            d = lam + 1.0 / t
            schur = np.maximum(r_diag + 1.0 / t - (p * p / d).sum(0), 1e-12 / t)
            h = (p * (q[:, None] / d)).sum(0)
            quad = (q[:, None] ** 2 / d).sum(0) + (rz - h) ** 2 / schur
            logdet = np.log(d).sum(0) + np.log(schur)
            out.append(-0.5 * ((lam.shape[0] + 1) * np.log(t) + logdet) + 0.5 * (self.n / sig2) * quad
                       + self.penalty(sig2))
        return self._combine(out)

    def configs(self, z: np.ndarray, r: np.ndarray, configs: np.ndarray):
        """Per-grid (log BF, z~, t) of each row of ``configs`` ([N, k] SNP indices, all of one size k),
        each from its own Cholesky factor (the oracle; independent of the neighbourhood updates)."""
        configs = np.asarray(configs, dtype=np.int64)
        rz = self.correlations(np.asarray(z)[configs])
        r_cc = np.asarray(r[configs[:, :, None], configs[:, None, :]], dtype=np.float64)
        lam, qmat = np.linalg.eigh(r_cc)
        qz = np.einsum("nij,ni->nj", qmat, rz)
        rsq = (qz * qz * pinv_eigenvalues(lam)).sum(-1)
        sig2 = self.sigma2(rsq)
        zt = rz * np.sqrt(self.n / sig2)[:, None]
        out = []
        for s in self.grid:
            t = self.n * s * s / sig2
            out.append((log_bf(zt, r_cc, np.broadcast_to(t[:, None], zt.shape)) + self.penalty(sig2), zt, t))
        return out, r_cc

    def log_bf_configs(self, z: np.ndarray, r: np.ndarray, configs: np.ndarray) -> np.ndarray:
        """log BF of each row of ``configs`` (see :meth:`configs`)."""
        if np.shape(configs)[1] == 0:
            return np.zeros(len(configs))
        per, _ = self.configs(z, r, configs)
        return self._combine([p[0] for p in per])

    def posterior_effects(self, z, r, configs) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd of the scaled effects of each configuration's SNPs: the mixture over the
        prior SDs (weights BF_g) of ``N(M^-1 z~, M^-1)``, M = R_CC + I/t."""
        per, r_cc = self.configs(z, r, configs)
        lbf = np.stack([p[0] for p in per])
        w = np.exp(lbf - lbf.max(0))
        w /= w.sum(0)
        e1 = e2 = 0.0
        for wg, (_, zt, t) in zip(w, per):
            mu, sd = posterior_effects(zt, r_cc, np.broadcast_to(t[:, None], zt.shape))
            e1 = e1 + wg[:, None] * mu
            e2 = e2 + wg[:, None] * (mu * mu + sd * sd)
        return e1, np.sqrt(np.maximum(e2 - e1 * e1, 0.0))


def finemap_prior_std(z, R, n, base: float = DEFAULT_PRIOR_STD) -> list[float]:
    """FINEMAP 1.4's automatic prior SDs of the effect sizes (its log: "Updated prior SD of effect sizes").

    Derived from the v1.4.2 binary on controlled inputs (identity LD with 1-20 associated SNPs, pairs of SNPs
    at correlations 0-0.97, n from 574 to 100,000; N3finemapping at n = 574, where the rule gives the
    binary's 0.05 0.0906 0.164 0.297 and 0.05 0.0903 0.163 0.295 for its two responses):

    1. marginal correlations ``r = z / sqrt(n + z^2)`` (the 1.4 Bayes factor's);
    2. the SNPs with ``|r| >= 0.1`` (explaining at least 1% of the trait alone), in decreasing ``|r|``, each
       taken unless its LD with one already taken exceeds 0.95 in absolute value;
    3. their joint R^2 ``h2 = r_S' R_SS^-1 r_S`` and ``s_max = sqrt(h2) / 1.96`` (the SD whose 95% prior
       interval holds the joint effect);
    4. if ``s_max > base``: ``G = 4`` SDs ``base (s_max / base)^(g / 3)``, g = 0..3; else ``[base]``.

    FINEMAP applies it only when ``--prior-std`` is not given (a given list is used as is); the Bayes
    factor is then the average over the list (:class:`BayesFactor`).

    Parameters
    ----------
    z : array_like, shape (m,)
        z-scores of the region.
    R : array_like, shape (m, m)
        Their LD.
    n : float
        GWAS sample size.
    base : float
        FINEMAP's default prior SD (0.05).

    Returns
    -------
    list of float
        The prior SDs (one, or four from ``base`` to ``s_max``).

    References
    ----------
    FINEMAP v1.4 (Benner C, Pirinen M; www.finemap.me), measured from its binary; Benner et al. (2016)
    Bioinformatics 32:1493 (``s = 0.05``: a causal SNP explains < 1% of the trait with 95% probability).
    """
    z = np.asarray(z, dtype=np.float64)
    r = z / np.sqrt(float(n) + z * z)
    cand = np.flatnonzero(np.abs(r) >= AUTO_MIN_ABS_R)
    if not len(cand):
        return [float(base)]
    cand = cand[np.argsort(-np.abs(r[cand]), kind="stable")]
    rows = np.abs(np.asarray(R[cand][:, cand], dtype=np.float64))
    taken = np.zeros(len(cand), dtype=bool)
    blocked = np.zeros(len(cand), dtype=bool)
    for i in range(len(cand)):          # greedy over the few strong SNPs (|r| >= 0.1), not over the region
        if not blocked[i]:
            taken[i] = True
            blocked |= rows[i] > AUTO_PRUNE_R
    sel = cand[taken]
    a = np.asarray(R[np.ix_(sel, sel)], dtype=np.float64)
    h2 = float(r[sel] @ np.linalg.lstsq(a, r[sel], rcond=1e-10)[0])
    s_max = np.sqrt(max(h2, 0.0)) / 1.96
    if not s_max > base:
        return [float(base)]
    return (base * (s_max / base) ** (np.arange(AUTO_N_SD) / (AUTO_N_SD - 1))).tolist()


def pinv_eigenvalues(lam: np.ndarray, rtol: float = 1e-8) -> np.ndarray:
    """1/lambda for eigenvalues above ``rtol`` x the largest, 0 otherwise (the pseudo-inverse of R_CC, so
    R^2 = r' R_CC^+ r stays finite for collinear SNPs: a direction R does not span carries no signal).

    Parameters
    ----------
    lam : numpy.ndarray, shape (..., k)
        Eigenvalues of R_CC (batched along leading axes).
    rtol : float
        Relative cut-off against the largest eigenvalue of each batch row.

    Returns
    -------
    numpy.ndarray, shape (..., k)
        The pseudo-inverse eigenvalues.

    References
    ----------
    FINEMAP 1.4 residual variance R^2(C) (Benner et al. 2016 Bioinformatics 32:1493; module docstring).
    """
    lam = np.asarray(lam, dtype=np.float64)
    keep = lam > rtol * np.max(lam, axis=-1, keepdims=True)
    return np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)


def logsumexp(x, axis=None):
    """log sum exp(x) (a lean float64 version; scipy's carries array-API overhead in hot loops).

    Parameters
    ----------
    x : array_like
        Values, in log space.
    axis : int, optional
        Axis to reduce; None reduces all.

    Returns
    -------
    float or numpy.ndarray
        A float when ``axis`` is None, else the array with ``axis`` removed; -inf for an empty input.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return -np.inf if axis is None else np.full(np.delete(x.shape, axis), -np.inf)
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out.item() if axis is None else np.squeeze(out, axis=axis)


def prior_variance(n: float, prior_std: float | np.ndarray = DEFAULT_PRIOR_STD) -> float | np.ndarray:
    """tau = n s^2: prior variance of the scaled effect ``sqrt(n) beta / sigma`` (FINEMAP's S = diag(s^2 n)).

    Parameters
    ----------
    n : float
        GWAS sample size.
    prior_std : float or numpy.ndarray
        Prior SD(s) s of the standardised effects (FINEMAP ``--prior-std``, 0.05).

    Returns
    -------
    numpy.ndarray
        tau, shaped like ``prior_std``.

    References
    ----------
    Benner et al. (2016) Bioinformatics 32:1493, section 2.2.
    """
    return np.asarray(prior_std, dtype=np.float64) ** 2 * float(n)


def log_bf(z_c: np.ndarray, r_cc: np.ndarray, tau) -> np.ndarray:
    """Natural-log Bayes factors of configurations against the null, batched.

    ``z_c``: [..., k] z-scores of the causal SNPs; ``r_cc``: [..., k, k] their LD; ``tau``: scalar or
    [..., k] prior variances of the scaled effects (``prior_variance``). Returns [...]; k = 0 gives 0.
    All arithmetic in float64.

    Computes ``log BF(C) = -1/2 [ sum_i log tau_i + log |M| ] + 1/2 z_C' M^-1 z_C`` with
    ``M = R_CC + S^-1`` from one Cholesky factor.

    Parameters
    ----------
    z_c : numpy.ndarray, shape (..., k)
        z-scores of the causal SNPs.
    r_cc : numpy.ndarray, shape (..., k, k)
        Their LD.
    tau : float or numpy.ndarray, shape (..., k)
        Prior variances of the scaled effects (:func:`prior_variance`).

    Returns
    -------
    numpy.ndarray, shape (...)
        log BF(C) (FINEMAP 1.1's formula).

    Raises
    ------
    InputError
        When R_CC + S^-1 is not positive definite (R is not a correlation matrix).

    References
    ----------
    Benner et al. (2016) Bioinformatics 32:1493, section 2.2.
    """
    z_c = np.asarray(z_c, dtype=np.float64)
    r_cc = np.asarray(r_cc, dtype=np.float64)
    k = z_c.shape[-1]
    if k == 0:
        return np.zeros(z_c.shape[:-1])
    tau = np.broadcast_to(np.asarray(tau, dtype=np.float64), z_c.shape)
    m = r_cc + np.einsum("...i,ij->...ij", 1.0 / tau, np.eye(k))
    try:
        chol = np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        from ...errors import InputError
        raise InputError("finemap input", "R_CC + S^-1 must be positive definite: R is not a correlation "
                         "matrix (LD from another panel? regularise it)", column="R") from None
    v = lower_solve(chol, z_c)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
    return -0.5 * (np.log(tau).sum(-1) + logdet) + 0.5 * (v * v).sum(-1)


def lower_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched forward substitution ``L^-1 b`` for small k (a loop over k, vectorised over the batch).

    Parameters
    ----------
    chol : numpy.ndarray, shape (..., k, k)
        Lower-triangular Cholesky factors L.
    b : numpy.ndarray, shape (..., k)
        Right-hand sides.

    Returns
    -------
    numpy.ndarray, shape (..., k)
        L^-1 b.
    """
    k = b.shape[-1]
    out = np.empty(np.broadcast_shapes(chol.shape[:-1], b.shape))
    for i in range(k):
        acc = b[..., i] - (chol[..., i, :i] * out[..., :i]).sum(-1)
        out[..., i] = acc / chol[..., i, i]
    return out


def log_bf_configs(z: np.ndarray, r: np.ndarray, configs: np.ndarray, tau) -> np.ndarray:
    """log BF of each row of ``configs`` ([N, k] SNP indices, all of one size k) in the region (z, R).

    Parameters
    ----------
    z : numpy.ndarray, shape (m,)
        z-scores of the region.
    r : numpy.ndarray, shape (m, m)
        LD of the region.
    configs : numpy.ndarray, shape (N, k)
        SNP indices of each configuration.
    tau : float or numpy.ndarray, shape (m,)
        Prior variance(s) of the scaled effects; a per-SNP vector is indexed by ``configs``.

    Returns
    -------
    numpy.ndarray, shape (N,)
        :func:`log_bf` of each configuration (zeros when k = 0).

    References
    ----------
    Benner et al. (2016) Bioinformatics 32:1493, section 2.2.
    """
    configs = np.asarray(configs, dtype=np.int64)
    z = np.asarray(z, dtype=np.float64)
    if configs.shape[1] == 0:
        return np.zeros(len(configs))
    r_cc = np.asarray(r[configs[:, :, None], configs[:, None, :]], dtype=np.float64)
    tau_c = np.asarray(tau, dtype=np.float64)
    tau_c = tau_c[configs] if tau_c.ndim else tau_c
    return log_bf(z[configs], r_cc, tau_c)


def posterior_effects(z_c: np.ndarray, r_cc: np.ndarray, tau) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and sd of the scaled effects lambda_C given C: ``N(M^-1 z_C, M^-1)``, batched.

    Parameters
    ----------
    z_c, r_cc, tau
        As :func:`log_bf`.

    Returns
    -------
    mean : numpy.ndarray, shape (..., k)
        M^-1 z_C.
    sd : numpy.ndarray, shape (..., k)
        Square roots of the diagonal of M^-1.

    References
    ----------
    Benner et al. (2016) Bioinformatics 32:1493, section 2.2.
    """
    z_c = np.asarray(z_c, dtype=np.float64)
    k = z_c.shape[-1]
    tau = np.broadcast_to(np.asarray(tau, dtype=np.float64), z_c.shape)
    m = np.asarray(r_cc, dtype=np.float64) + np.einsum("...i,ij->...ij", 1.0 / tau, np.eye(k))
    inv = np.linalg.inv(m)
    mean = np.einsum("...ij,...j->...i", inv, z_c)
    return mean, np.sqrt(np.diagonal(inv, axis1=-2, axis2=-1))


def snp_prior(m: int, prior_weights=None, prior_prob: float | None = None) -> np.ndarray:
    """Per-SNP prior causal probabilities pi_i.

    Without weights: pi_i = p, FINEMAP's default p = 1/m. With non-negative weights w (PolyFun-style
    functional priors): pi_i = m p w_i / sum(w), so uniform weights give the default prior; a zero weight
    excludes the SNP. Probabilities are capped below 1.

    Parameters
    ----------
    m : int
        Number of SNPs in the region.
    prior_weights : array_like, shape (m,), optional
        Non-negative functional-prior weights w.
    prior_prob : float, optional
        Per-SNP prior probability p (default 1/m).

    Returns
    -------
    numpy.ndarray, shape (m,)
        pi_i, capped at 1 - 1e-12.

    References
    ----------
    Benner et al. (2016) section 2.3 (``--prior-snps``); Weissbrod et al. (2020) Nat Genet 52:1355 (PolyFun).
    """
    p = 1.0 / m if prior_prob is None else float(prior_prob)
    if prior_weights is None:
        return np.full(m, min(p, 1.0 - 1e-12))
    w = np.asarray(prior_weights, dtype=np.float64)
    return np.minimum(m * p * w / w.sum(), 1.0 - 1e-12)


def log_prior_odds(pi: np.ndarray) -> np.ndarray:
    """log(pi / (1 - pi)); -inf for pi = 0 (the SNP can never be causal).

    Parameters
    ----------
    pi : numpy.ndarray
        Per-SNP prior causal probabilities.

    Returns
    -------
    numpy.ndarray
        The log prior odds, shaped like ``pi``.
    """
    with np.errstate(divide="ignore"):
        return np.log(pi) - np.log1p(-pi)


def log_esp(log_odds: np.ndarray, max_causal: int) -> np.ndarray:
    """log e_k(odds) for k = 0..max_causal: elementary symmetric polynomials of the prior odds.

    ``p(k) ∝ e_k``, the prior mass of all configurations with k causal SNPs. Computed as the coefficients
    of ``prod_i (1 + odds_i x)`` truncated at degree K, multiplying pairs of polynomials in log2(m) rounds.

    Parameters
    ----------
    log_odds : numpy.ndarray, shape (m,)
        Log prior odds of each SNP (:func:`log_prior_odds`).
    max_causal : int
        Largest configuration size K.

    Returns
    -------
    numpy.ndarray, shape (K + 1,)
        log e_0 .. log e_K (log e_0 = 0).

    References
    ----------
    Benner et al. (2016) Bioinformatics 32:1493, section 2.3 (prior on the number of causal SNPs).
    """
    odds = np.exp(np.asarray(log_odds, dtype=np.float64))
    kk = max_causal + 1
    poly = np.zeros((max(len(odds), 1), kk))
    poly[:, 0] = 1.0
    if kk > 1 and len(odds):
        poly[:, 1] = odds
    while len(poly) > 1:
        if len(poly) % 2:
            poly = np.vstack([poly, np.eye(1, kk)])
        a, b = poly[0::2], poly[1::2]
        prod = np.zeros_like(a)
        for i in range(kk):
            prod[:, i:] += a[:, i:i + 1] * b[:, :kk - i]
        poly = prod
    with np.errstate(divide="ignore"):
        return np.log(poly[0])


def log_esp_without(log_odds: np.ndarray, log_e: np.ndarray) -> np.ndarray:
    """[m, K+1] log e_k of the odds with SNP i left out, from ``e_k = e_k^(-i) + odds_i e_{k-1}^(-i)``.

    Computed in linear space relative to e_k (stable for the small prior odds of fine-mapping).

    Parameters
    ----------
    log_odds : numpy.ndarray, shape (m,)
        As :func:`log_esp`.
    log_e : numpy.ndarray, shape (K + 1,)
        :func:`log_esp` of the same odds.

    Returns
    -------
    numpy.ndarray, shape (m, K + 1)
        Row i: log e_k with SNP i excluded (-inf where cancellation leaves nothing).
    """
    m, kk = len(log_odds), len(log_e)
    out = np.full((m, kk), -np.inf)
    out[:, 0] = 0.0
    odds = np.exp(log_odds)
    for k in range(1, kk):
        # e_k^(-i) = e_k - odds_i e_{k-1}^(-i), guarded against cancellation below 0
        val = np.exp(log_e[k]) - odds * np.exp(out[:, k - 1])
        with np.errstate(divide="ignore"):
            out[:, k] = np.log(np.maximum(val, 0.0))
    return out


def marginal_prior_inclusion(log_odds: np.ndarray, max_causal: int, include_null: bool = False) -> np.ndarray:
    """Prior probability that SNP i is causal under the truncated prior: ``P(i in C), 1(0) <= |C| <= K``.

    Parameters
    ----------
    log_odds, max_causal
        As :func:`log_esp`.
    include_null : bool
        Whether the empty configuration has prior mass (FINEMAP: no).

    Returns
    -------
    numpy.ndarray, shape (m,)
        P(i in C) under ``p(C) ∝ prod_{i in C} odds_i`` over the allowed sizes.

    References
    ----------
    FINEMAP .snp ``log10bf`` prior term (Benner et al. 2016 Bioinformatics 32:1493).
    """
    log_e = log_esp(log_odds, max_causal)
    ks = np.arange(0 if include_null else 1, max_causal + 1)
    norm = logsumexp(log_e[ks])
    without = log_esp_without(log_odds, log_e)
    with np.errstate(invalid="ignore"):
        num = logsumexp(log_odds[:, None] + without[:, ks - 1][:, ks >= 1], axis=1)
    return np.exp(num - norm)
