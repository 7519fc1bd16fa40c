"""SuSiE-RSS: the sum of single effects model fitted to z-scores and an LD matrix.

Reproduces susieR 0.12.35 ``susie_rss`` (Zou, Carbonetto, Wang & Stephens 2022, PLoS Genet 18:e1010299;
Wang et al. 2020, JRSS-B 82:1273), which calls ``susie_suff_stat`` with

* ``n`` given:   XtX = (n-1) R, Xty = sqrt(n-1) z~, yty = n-1, with the PVE-adjusted z
  z~ = z sqrt(adj), adj = (n-1)/(z^2+n-2); with bhat, shat and var_y: XtX = D R D,
  D = sqrt(var_y adj)/shat, Xty = z~ sqrt(adj) var_y/shat, yty = (n-1) var_y. XtX is then
  standardised (``standardize = TRUE``).
* ``n`` absent:  XtX = R, Xty = z, n = 2, yty = 1, scaled prior variance 50, no standardisation
  (the residual variance is then 1: the "z-only" form).

Iterative Bayesian stepwise selection (IBSS), for each effect l = 1..L in turn:
  r_l = Xty - XtX (b - b_l),  b_l = alpha_l * mu_l
  single-effect regression on bhat_j = r_lj / d_j, shat2_j = sigma2 / d_j (d = diag XtX):
  lbf_j = log N(bhat_j; 0, V + shat2_j) - log N(bhat_j; 0, shat2_j),
  alpha_l = softmax(lbf + log pi), mu_lj = (1/sigma2) (1/V + d_j/sigma2)^-1 r_lj,
  mu2_lj = (1/V + d_j/sigma2)^-1 + mu_lj^2, lbf_l = log sum_j pi_j exp(lbf_j),
  with V re-estimated first (``optim``: R's Brent on log V in [-30, 15], kept only if it beats the
  previous V; ``EM``: V = sum_j alpha_lj mu2_lj; ``simple``: unchanged) and set to 0 when
  loglik(0) >= loglik(V).
ELBO = -n/2 log(2 pi sigma2) - E||y - Xb||^2 / (2 sigma2) - sum_l KL_l; IBSS stops when the ELBO
gains less than ``tol``. PIP_j = 1 - prod_{l: V_l > prior_tol} (1 - alpha_lj). Credible sets: see
:mod:`locusflow.finemap.credible`. susieR's refinement (``refine = TRUE``) is not its default and is
not implemented; neither are ``s_init``, ``maf`` filtering or the deprecated ``z_ld_weight``.

Implementation: XtX is held as diag(g) R diag(g) (R float64, never copied at (n-1) scale) and
XtX b_l is kept per effect, so one R-vector product per *non-zero* effect and iteration replaces
susieR's three (remove, add back, and the ELBO's B XtX); effects with V = 0 cost no product at all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from ..errors import LocusflowError
from .brent import brent_fmin
from .credible import CredibleSets, credible_sets, pip_from_alpha
from .gram import Gram, as_ld

PRIOR_METHODS = ("optim", "EM", "simple")


class SusieError(LocusflowError):
    """The fit cannot proceed (susieR stops with the same condition)."""


@dataclass
class SusieFit:
    """A fitted model; arrays over effects (L) x variables (p, plus the null column if any)."""
    alpha: np.ndarray
    mu: np.ndarray
    mu2: np.ndarray
    V: np.ndarray
    lbf: np.ndarray
    lbf_variable: np.ndarray
    KL: np.ndarray
    sigma2: float
    pi: np.ndarray
    null_index: int            # 0-based index of the null column, -1 when there is none
    elbo: np.ndarray
    niter: int
    converged: bool
    pip: np.ndarray = field(default=None)
    sets: CredibleSets = field(default=None)
    csd: np.ndarray = field(default=None)

    def posterior_mean(self) -> np.ndarray:
        """susie_get_posterior_mean: sum_l alpha_l mu_l / csd (variables only)."""
        m = (self.alpha * self.mu).sum(0) / self.csd
        return m[: len(self.pip)]

    def posterior_sd(self) -> np.ndarray:
        """susie_get_posterior_sd: sqrt(sum_l alpha_l mu2_l - (alpha_l mu_l)^2) / csd."""
        v = (self.alpha * self.mu2 - (self.alpha * self.mu) ** 2).sum(0)
        return (np.sqrt(np.maximum(v, 0)) / self.csd)[: len(self.pip)]


def susie_rss(z=None, R=None, n=None, *, bhat=None, shat=None, var_y=None, L: int = 10,
              prior_weights=None, null_weight: float = 0.0, prior_variance: float = 50.0,
              scaled_prior_variance: float = 0.2, residual_variance=None,
              estimate_residual_variance: bool = False, estimate_prior_variance: bool = True,
              estimate_prior_method: str = "optim", check_null_threshold: float = 0.0,
              prior_tol: float = 1e-9, max_iter: int = 100, tol: float = 1e-3, coverage: float = 0.95,
              min_abs_corr: float = 0.5, n_purity: int | None = None, check_prior: bool = True) -> SusieFit:
    """SuSiE fitted to z-scores and an LD matrix (susieR ``susie_rss``), defaults as susieR 0.12.35.

    Parameters
    ----------
    z : array-like, shape (p,), optional
        z-scores (or give ``bhat`` and ``shat``).
    R : array-like, shape (p, p)
        LD (correlation) matrix, same allele coding as z.
    n : float, optional
        GWAS sample size; None fits the z-only form (prior variance ``prior_variance``).
    bhat, shat, var_y : array-like, array-like, float, optional
        Effect estimates, their standard errors and the phenotype variance (the bhat/shat form).
    L : int
        Number of single effects (10).
    prior_weights : array-like, shape (p,), optional
        Prior probability of each variable being an effect's causal one (normalised; uniform).
    null_weight : float
        Prior weight of a null column (0: none).
    prior_variance : float
        Prior variance of the z-only form (50).
    scaled_prior_variance : float
        Initial prior variance over var(y) when n is given (0.2).
    residual_variance : float, optional
        Initial residual variance (default var(y)).
    estimate_residual_variance, estimate_prior_variance : bool
        Re-estimate sigma^2 (False, susie_rss's default) and each V_l (True).
    estimate_prior_method : {"optim", "EM", "simple"}
        How V_l is re-estimated.
    check_null_threshold, prior_tol : float
        V_l is set to 0 when loglik(0) + threshold >= loglik(V_l); effects with V_l <= prior_tol do
        not count in PIPs.
    max_iter, tol : int, float
        IBSS stops when the ELBO gains less than ``tol`` or after ``max_iter`` iterations.
    coverage, min_abs_corr, n_purity : float, float, int or None
        Credible sets: coverage, purity threshold, and the number of variables purity is sampled from
        (None: all pairs).
    check_prior : bool
        Stop when an estimated V_l exceeds 100 max(z)^2 (z and R mismatch).

    Returns
    -------
    SusieFit
        alpha, mu, mu2, V, lbf, ELBO, ``pip`` and credible ``sets``.

    References
    ----------
    Wang G, Sarkar A, Carbonetto P, Stephens M (2020). A simple new approach to variable selection in
    regression, with application to genetic fine mapping. JRSS-B 82:1273.
    Zou Y, Carbonetto P, Wang G, Stephens M (2022). Fine-mapping from summary data with the "Sum of
    Single Effects" model. PLoS Genet 18:e1010299. Peer: susieR 0.12.35 ``susie_rss``.
    """
    kwargs = dict(L=L, prior_weights=prior_weights, null_weight=null_weight, residual_variance=residual_variance,
                  estimate_residual_variance=estimate_residual_variance,
                  estimate_prior_variance=estimate_prior_variance, estimate_prior_method=estimate_prior_method,
                  check_null_threshold=check_null_threshold, prior_tol=prior_tol, max_iter=max_iter, tol=tol,
                  coverage=coverage, min_abs_corr=min_abs_corr, n_purity=n_purity, check_prior=check_prior)
    if z is None:
        if bhat is None or shat is None:
            raise SusieError("provide either z or (bhat, shat)")
        bhat = np.asarray(bhat, dtype=np.float64)
        shat = np.broadcast_to(np.asarray(shat, dtype=np.float64), bhat.shape)
        if np.isnan(bhat).any() or np.isnan(shat).any():
            raise SusieError("bhat, shat cannot have missing values")
        if np.any(shat <= 0):
            raise SusieError("shat cannot have zero or negative elements")
        z = bhat / shat
    elif bhat is not None or shat is not None:
        raise SusieError("provide either z or (bhat, shat), but not both")
    z = np.array(z, dtype=np.float64)
    R = as_ld(R, SusieError)
    if R.shape[0] != z.size:
        raise SusieError(f"the dimension of R ({R.shape[0]} x {R.shape[1]}) does not agree with "
                         f"expected ({z.size} x {z.size})")
    z[np.isnan(z)] = 0.0
    if n is None:
        return susie_suff_stat(Gram(R, 1.0), z, yty=1.0, n=2.0, scaled_prior_variance=prior_variance,
                               standardize=False, **kwargs)
    if n <= 1:
        raise SusieError("n must be greater than 1")
    adj = (n - 1) / (z * z + n - 2)
    z = np.sqrt(adj) * z
    if shat is not None and var_y is not None:
        g = np.sqrt(var_y * adj / shat ** 2)
        xty = z * np.sqrt(adj) * var_y / shat
    else:
        g, xty, var_y = math.sqrt(n - 1), math.sqrt(n - 1) * z, 1.0
    return susie_suff_stat(Gram(R, g), xty, yty=(n - 1) * var_y, n=n, scaled_prior_variance=scaled_prior_variance,
                           **kwargs)


def susie_suff_stat(gram: Gram, Xty, *, yty: float, n: float, L: int = 10,
                    scaled_prior_variance: float = 0.2, residual_variance=None,
                    estimate_residual_variance: bool = True, estimate_prior_variance: bool = True,
                    estimate_prior_method: str = "optim", check_null_threshold: float = 0.0,
                    prior_tol: float = 1e-9, prior_weights=None, null_weight: float = 0.0,
                    standardize: bool = True, max_iter: int = 100, coverage: float = 0.95,
                    min_abs_corr: float = 0.5, tol: float = 1e-3, n_purity: int | None = None,
                    check_prior: bool = False) -> SusieFit:
    """susieR::susie_suff_stat on XtX = ``gram``, Xty, yty, n (refine = FALSE, no s_init).

    Parameters
    ----------
    gram : Gram
        XtX held as diag(g) R diag(g).
    Xty : array_like, shape (p,)
        X'y; NaN is treated as 0, infinite values raise.
    yty : float
        y'y.
    n : float
        Sample size.
    L, prior_weights, null_weight, residual_variance
        As :func:`susie_rss`.
    scaled_prior_variance : float
        Initial prior variance over var(y) = yty / (n-1) (0.2); at most 1 when ``standardize``.
    estimate_residual_variance : bool
        Re-estimate sigma^2 (True, susie_suff_stat's default).
    estimate_prior_variance, estimate_prior_method, check_null_threshold, prior_tol
        As :func:`susie_rss`.
    standardize : bool
        Scale the columns of X to unit variance (susieR ``standardize = TRUE``).
    max_iter, tol, coverage, min_abs_corr, n_purity, check_prior
        As :func:`susie_rss` (here ``check_prior`` defaults to False).

    Returns
    -------
    SusieFit
        The IBSS fit with its PIPs and credible sets.

    Raises
    ------
    SusieError
        Where susieR stops: bad ``estimate_prior_method``, null weight, prior variance or prior weights,
        infinite Xty, non-positive residual variance.

    References
    ----------
    Wang et al. (2020) JRSS-B 82:1273; susieR 0.12.35 ``susie_suff_stat``.
    """
    if estimate_prior_method not in PRIOR_METHODS:
        raise SusieError(f"estimate_prior_method must be one of {PRIOR_METHODS}")
    Xty = np.asarray(Xty, dtype=np.float64)
    if np.isinf(Xty).any():
        raise SusieError("input Xty contains infinite values")
    Xty = np.where(np.isnan(Xty), 0.0, Xty)
    p = gram.p
    if null_weight:
        if not 0 <= null_weight < 1:
            raise SusieError("null weight must be between 0 and 1")
        pw = np.full(p, 1.0 / p) if prior_weights is None else np.asarray(prior_weights, float)
        prior_weights = np.append(pw * (1 - null_weight), null_weight)
        gram = Gram(gram.R, gram.g, null=True)
        Xty = np.append(Xty, 0.0)
    P = p + (1 if gram.null else 0)
    csd = np.ones(P)
    if standardize:
        csd = np.sqrt(gram.d / (n - 1))
        csd[csd == 0] = 1.0
        gram = Gram(gram.R, gram.g / csd[:p], null=gram.null)
        Xty = Xty / csd
    varY = yty / (n - 1)
    if scaled_prior_variance < 0:
        raise SusieError("scaled prior variance should be a positive number")
    if scaled_prior_variance > 1 and standardize:
        raise SusieError("scaled prior variance should be no greater than 1 when standardize = TRUE")
    sigma2 = float(varY if residual_variance is None else residual_variance)
    if prior_weights is None:
        pi = np.full(P, 1.0 / P)
    else:
        pi = np.asarray(prior_weights, dtype=np.float64)
        if np.all(pi == 0):
            raise SusieError("prior weight should be greater than 0 for at least one variable")
        pi = pi / pi.sum()
    if pi.size != P:
        raise SusieError(f"prior weights must have length p ({P}), got {pi.size}")
    if sigma2 <= 0:
        raise SusieError("residual variance sigma2 must be positive (is var(Y) zero?)")
    L = min(L, P)
    fit = SusieFit(alpha=np.full((L, P), 1.0 / P), mu=np.zeros((L, P)), mu2=np.zeros((L, P)),
                   V=np.full(L, scaled_prior_variance * varY), lbf=np.full(L, np.nan),
                   lbf_variable=np.full((L, P), np.nan), KL=np.full(L, np.nan), sigma2=sigma2, pi=pi,
                   null_index=p if gram.null else -1, elbo=np.empty(0), niter=0, converged=False, csd=csd)
    d = gram.d
    with np.errstate(divide="ignore", invalid="ignore"):
        zz = (Xty / d) / np.sqrt(sigma2 / d)
    zm = np.max(np.abs(zz[~np.isnan(zz)]))
    XtXb = np.zeros((L, P))              # XtX b_l for each effect
    XtXr = np.zeros(P)
    elbo = [-np.inf]
    method = estimate_prior_method if estimate_prior_variance else "none"
    for it in range(max_iter):
        for l in range(L):
            XtXr -= XtXb[l]
            XtR = Xty - XtXr
            _single_effect(fit, l, XtR, d, method, check_null_threshold)
            b = fit.alpha[l] * fit.mu[l]
            XtXb[l] = gram.matvec(b) if np.any(b) else 0.0
            XtXr += XtXb[l]
        if check_prior and np.any(fit.V > 100 * zm ** 2):
            raise SusieError("the estimated prior variance is unreasonably large; this is usually caused "
                             "by mismatch between the summary statistics and the LD matrix")
        er2 = _er2(fit, XtXb, Xty, d, yty)
        elbo.append(-n / 2 * math.log(2 * math.pi * fit.sigma2) - er2 / (2 * fit.sigma2)
                    - float(np.sum(fit.KL)))
        if np.isinf(elbo[-1]):
            raise SusieError("the objective became infinite; please check the input")
        fit.niter = it + 1
        if elbo[-1] - elbo[-2] < tol:
            fit.converged = True
            break
        if estimate_residual_variance:
            s2 = er2 / n
            if s2 < 0:
                raise SusieError("estimating residual variance failed: the estimated value is negative")
            fit.sigma2 = s2
    fit.elbo = np.array(elbo[1:])
    fit.sets = credible_sets(fit.alpha, fit.V, gram.corr, coverage=coverage, min_abs_corr=min_abs_corr,
                             null_index=fit.null_index, n_purity=n_purity)
    fit.pip = pip_from_alpha(fit.alpha, fit.V, fit.null_index, prior_tol)
    return fit


def _er2(fit: SusieFit, XtXb, Xty, d, yty) -> float:
    """get_ER2_ss: E||y - Xb||^2 = yty - 2 b'Xty + b'XtX b - sum_l b_l'XtX b_l + sum_lj d_j alpha mu2."""
    B = fit.alpha * fit.mu
    betabar = B.sum(0)
    return float(yty - 2 * betabar @ Xty + betabar @ XtXb.sum(0) - np.sum(B * XtXb)
                 + np.sum(d * (fit.alpha * fit.mu2)))


class _SER:
    """log-likelihood of V for one single-effect regression (susieR ``loglik``).

    lbf_j(V) = log N(bhat_j; 0, V + s2_j) - log N(bhat_j; 0, s2_j)
             = 1/2 log(s2_j / (V + s2_j)) + 1/2 T2_j V / (V + s2_j),  T2_j = bhat_j^2 / s2_j;
    variables with infinite s2 (d_j = 0: the null column, monomorphic variants) have lbf 0.
    """

    def __init__(self, betahat, shat2, pi):
        self.fin = np.isfinite(shat2)
        self.all = bool(self.fin.all())
        self.s2 = shat2[self.fin]
        self.t2 = betahat[self.fin] ** 2 / self.s2
        self.pi = pi
        self.s2c = float(self.s2[0]) if self.s2.size and np.all(self.s2 == self.s2[0]) else None
        if self.s2c is not None:    # constant s2 (susie_rss): lbf = a + c T2, one pass over p
            self.logpi = np.log(pi[self.fin]) if self.all else None

    def lbf(self, V: float) -> np.ndarray:
        if self.s2c is not None:
            r = V + self.s2c
            val = 0.5 * math.log(self.s2c / r) + (0.5 * V / r) * self.t2
        else:
            r = V + self.s2
            val = 0.5 * np.log(self.s2 / r) + 0.5 * self.t2 * (V / r)
        if self.all:
            return val
        out = np.zeros(self.fin.size)
        out[self.fin] = val
        return out

    def loglik(self, V: float) -> float:
        if self.s2c is not None and self.all:
            r = V + self.s2c
            c = 0.5 * V / r
            x = c * self.t2 + self.logpi
            m = x.max()
            return 0.5 * math.log(self.s2c / r) + m + math.log(np.exp(x - m).sum())
        lbf = self.lbf(V)
        m = lbf.max()
        return math.log(np.sum(np.exp(lbf - m) * self.pi)) + m


def _single_effect(fit: SusieFit, l: int, XtR, d, method: str, threshold: float) -> None:
    """single_effect_regression_ss for effect ``l``; updates fit in place (and its KL)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        betahat = XtR / d
        shat2 = fit.sigma2 / d
    ser = _SER(betahat, shat2, fit.pi)
    V = fit.V[l]
    if method == "optim":
        neg = lambda lv: -ser.loglik(math.exp(lv))  # noqa: E731
        lV = brent_fmin(neg, -30.0, 15.0)
        lV0 = math.log(V) if V > 0 else -math.inf
        if neg(lV) > neg(lV0):
            lV = lV0
        V = math.exp(lV)
    if method in ("optim", "simple"):
        V = _null_check(ser, V, threshold)
    lbf = ser.lbf(V)
    maxlbf = lbf.max()
    w = np.exp(lbf - maxlbf) * fit.pi
    sw = w.sum()
    alpha = w / sw
    with np.errstate(divide="ignore"):
        post_var = 1.0 / (np.float64(1.0) / np.float64(V) + d / fit.sigma2)
    mu = (1.0 / fit.sigma2) * post_var * XtR
    mu2 = post_var + mu * mu
    if method == "EM":
        V = _null_check(ser, float(np.sum(alpha * mu2)), threshold)
    lbf_model = maxlbf + math.log(sw)
    fit.alpha[l], fit.mu[l], fit.mu2[l], fit.V[l] = alpha, mu, mu2, V
    fit.lbf[l], fit.lbf_variable[l] = lbf_model, lbf
    eb, eb2 = alpha * mu, alpha * mu2
    fit.KL[l] = -lbf_model - 0.5 / fit.sigma2 * (-2 * np.sum(eb * XtR) + np.sum(d * eb2))


def _null_check(ser: _SER, V: float, threshold: float) -> float:
    return 0.0 if ser.loglik(0.0) + threshold >= ser.loglik(V) else V
