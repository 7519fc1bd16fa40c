"""glmnet's covariance-update coordinate descent, compiled, over cross-products shared by every fit of a gene.

The solver is glmnet's ``type.gaussian = "covariance"`` coordinate descent (Friedman, Hastie & Tibshirani
2010, section 2.2; glmnet 4.1 ``elnet_point/gaussian_cov.hpp``): the same coordinate update
``b_k <- S(g_k + b_k, lambda alpha) / (1 + lambda (1 - alpha))`` on the standardised problem, the same
convergence rule (sweeps over the active set until no coefficient moves by more than ``sqrt(thresh)``:
glmnet's ``max_k x_k'x_k (delta b_k)^2 < thr``, the null deviance of the standardised response being 1) and
the same active-set bookkeeping (gradients of the active predictors kept exact by
``g -= C[:, k] delta b_k`` over the active block of the standardised Gram matrix C). Where glmnet's full
sweep re-checks every inactive predictor, here the sequential strong rule (Tibshirani et al. 2012) first
admits ``|g_j| > alpha (2 lambda - lambda_prev)``, and after convergence the KKT condition
``|g_j| <= lambda alpha`` of the inactive predictors is checked (a violator enters and the sweeps resume):
a predictor is ruled out by the bound ``|g_j| + ||delta b_A||_1`` (|C_jl| <= 1) or by its exact gradient
``x~_j'r / n`` from the residual r, one pass over the dosages stored in their most compact exact type
(int8 for hard calls). Both stop within ``thresh`` of the same optimum; run to convergence they agree with
R glmnet to 2e-8 (tests/twas/test_elastic_net.py).

The Gram entries come from :class:`GramCache`: the raw cross-products ``x_j'x_k`` of the gene's (centred)
dosages over all samples, held once per gene (the whole matrix by one BLAS ``X'X`` when it is small
enough, else column by column as predictors enter), and shared by every fit of the gene: a fit on all
samples but a row set R (a cross-validation fold, an outer test fold) takes ``x_j'x_k - x_Rj'x_Rk`` for the
pairs of its active set and standardises them with its own means and population SDs. Every fold of ``cv.glmnet``, every outer fold of
PredictDB's nested CV and the whole lambda path read the same cross-products.

glmnet's path rules are reproduced: with no user lambda, the path starts at lambda_max
(``max_j |g_j| / max(alpha, 1e-3)``) and multiplies by ``alf = max(1e-6, lambda_min_ratio)^(1/(L-1))``,
stopping after at least 5 lambdas once the deviance ratio exceeds 0.999 or grows by less than a fraction
1e-5 (``glmnet.control``: devmax, fdev, mnlam); with user lambdas every lambda is fitted.
"""
from __future__ import annotations

import numpy as np
from numba import njit

BIG = 9.9e35          # glmnet.control()$big: the first lambda of a computed path, where every b is 0
EPS = 1e-6            # glmnet.control()$eps: smallest lambda_min_ratio
FDEV = 1e-5           # glmnet.control()$fdev: stop when the deviance ratio grows by less than this fraction
DEVMAX = 0.999        # glmnet.control()$devmax: stop when the deviance ratio exceeds this
MNLAM = 5             # glmnet.control()$mnlam: never stop before this many lambdas
FULL_GRAM_BYTES = 256 << 20      # the whole X'X up front (one BLAS call) when it takes at most this


@njit(cache=True, nogil=True)
def _gram_column(k, gcols, slot, nslots, xt):
    """Slot of raw column k in the gene cache, computing x'x_k when absent; -1 when the cache is full."""
    s = slot[k]
    if s >= 0:
        return s
    if nslots[0] >= gcols.shape[0]:
        return -1
    s = nslots[0]
    gcols[s] = np.dot(xt, xt[k])
    slot[k] = s
    nslots[0] = s + 1
    return s


@njit(cache=True, nogil=True)
def _residual(st, yt, mask, xq, xmr, xs):
    """Standardised residual of the training rows, ``y~ - X~_A a_A`` (0 on rows left out)."""
    mm, ia, ca, ga, aa, cnt = st
    r = yt.copy()
    n_all = r.shape[0]
    for l in range(cnt[0]):
        if aa[l] == 0.0:
            continue
        j = ia[l]
        w = aa[l] / xs[j]
        row = xq[j]
        c = xmr[j]
        for i in range(n_all):
            r[i] -= w * (row[i] - c)
    for i in range(n_all):
        r[i] *= mask[i]
    return r


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dot(a, b):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _gradient(j, r, rsum, xq, xmr, xs, n):
    """Exact ``x~_j' r / n`` of predictor j from the residual (its dosages in their compact type)."""
    row = xq[j]
    acc = 0.0
    for i in range(r.shape[0]):
        acc += row[i] * r[i]
    return (acc - xmr[j] * rsum) / (n * xs[j])


@njit(cache=True, nogil=True)
def _admit(tlam, st, g, da, ju, gcols, slot, nslots, xt, xr, xm, xs, n, yt, mask, xq, xmr):
    """Enter every inactive predictor whose gradient exceeds ``tlam`` in absolute value.

    ``g`` holds inactive gradients as of their last update; the exact one is ``g_j - C[j, A] da``. As
    ``|C_jl| <= 1``, ``|g_j| + ||da||_1 <= tlam`` rules j out without computing it; the others get
    ``x~_j' r / n`` from the residual r (dosages read in their compact type: one pass over the genotypes
    when many need it, which then brings every gradient up to date). Returns the number entered, or -1
    when the gene cache is full.
    """
    mm, ia, ca, ga, aa, cnt = st
    nin = cnt[0]
    p = g.shape[0]
    l1 = 0.0
    for l in range(nin):
        l1 += abs(da[l])
    l1 *= 1.0 + 1e-9
    n_cand = 0
    for k in range(p):
        if ju[k] and mm[k] < 0 and abs(g[k]) + l1 > tlam:
            n_cand += 1
    if n_cand == 0:
        return 0
    r = _residual(st, yt, mask, xq, xmr, xs) if l1 > 0.0 else yt
    rsum = r.sum()
    if l1 > 0.0 and n_cand * 8 > p:          # every gradient brought up to date
        for j in range(p):
            if ju[j] and mm[j] < 0:
                g[j] = _gradient(j, r, rsum, xq, xmr, xs, n)
        da[:nin] = 0.0
        l1 = 0.0
    nin0 = nin
    for k in range(p):
        if not ju[k] or mm[k] >= 0 or abs(g[k]) + l1 <= tlam:
            continue
        gk = g[k] if l1 == 0.0 else _gradient(k, r, rsum, xq, xmr, xs, n)
        if abs(gk) <= tlam:
            continue
        sk = _gram_column(k, gcols, slot, nslots, xt)
        if sk < 0:
            return -1
        col = gcols[sk]
        for l in range(nin):                 # the active block: C[k, A] of the training rows
            j = ia[l]
            gr = col[j]
            if xr.shape[1] > 0:
                gr -= _dot(xr[k], xr[j])
            ca[nin, l] = (gr / n - xm[j] * xm[k]) / (xs[j] * xs[k])
            ca[l, nin] = ca[nin, l]
        ca[nin, nin] = 1.0
        mm[k] = nin
        ia[nin] = k
        ga[nin] = gk
        aa[nin] = 0.0
        da[nin] = 0.0
        nin += 1
        cnt[0] = nin
    return nin - nin0


@njit(cache=True, nogil=True)
def cov_path(g0, xm, xs, ju, n, gcols, slot, nslots, xt, xr, yt, mask, xq, xmr, ulam, flmin, nlam, alpha, thr,
             maxit):
    """glmnet's covariance-mode elastic-net path on one training set (standardised scale).

    Parameters
    ----------
    g0 : numpy.ndarray
        [p] ``x~_j'y~ / n`` of the training set (x~, y~ standardised by mean and population SD).
    xm, xs : numpy.ndarray
        [p] training means and population SDs of the (centred) predictors in ``xt``.
    ju : numpy.ndarray
        [p] bool: predictor usable (not constant in the training set).
    n : float
        Training rows.
    gcols, slot, nslots, xt
        The gene cache (:class:`GramCache`): raw cross-product columns, slot per predictor (-1 absent),
        slots used ([1]), and the [p, n_all] centred predictors to compute a missing column from.
    xr : numpy.ndarray
        [p, r] the rows left out of this training set (centred like ``xt``).
    yt, mask : numpy.ndarray
        [n_all] standardised response on the training rows (0 elsewhere) and the training-row indicator.
    xq, xmr : numpy.ndarray
        [p, n_all] the raw predictors in their most compact exact type (:class:`GramCache`) and their
        training means.
    ulam : numpy.ndarray
        User lambdas on the standardised scale (lambda / s_y), used when ``flmin >= 1``.
    flmin : float
        glmnet's ``flmin``: >= 1 for user lambdas, else lambda_min_ratio of a computed path.
    nlam : int
        Path length.
    alpha : float
        Elastic-net mixing.
    thr : float
        Convergence threshold (glmnet ``thresh``).
    maxit : int
        Most passes, all lambdas together (glmnet ``maxit``).

    Returns
    -------
    tuple
        ``(a [nlam, p] standardised coefficients, alm [nlam] lambdas (standardised), rsq [nlam] deviance
        ratios, lmu lambdas fitted, nlp passes, status)``; status 0 done, 1 maxit reached at lambda lmu,
        2 the gene cache is full (the caller grows it and calls again).
    """
    p = g0.shape[0]
    g = g0.copy()                       # inactive gradients as of their last update
    mm = -np.ones(p, np.int64)          # active index of each predictor, -1 never active
    ia = np.zeros(p, np.int64)          # predictor of each active index
    ca = np.empty((p, p))               # the active block of the Gram matrix (nin x nin used)
    ga = np.zeros(p)                    # gradients of the active predictors (kept exact)
    aa = np.zeros(p)                    # their coefficients
    da = np.zeros(p)                    # their change since the inactive gradients were last updated
    cnt = np.zeros(1, np.int64)         # nin
    st = (mm, ia, ca, ga, aa, cnt)
    aout = np.zeros((nlam, p))
    alm_out = np.zeros(nlam)
    rsq_out = np.zeros(nlam)
    rsq = 0.0
    nlp = 0
    omb = 1.0 - alpha
    alf = 1.0
    if flmin < 1.0:
        alf = max(EPS, flmin) ** (1.0 / (nlam - 1.0))
    mnl = min(MNLAM, nlam)
    alm = 0.0
    for m in range(nlam):
        alm0 = alm
        if flmin >= 1.0:
            alm = ulam[m]
        elif m > 1:
            alm = alm * alf
        elif m == 0:
            alm = BIG
        else:
            alm0 = 0.0
            for j in range(p):
                if ju[j] and abs(g[j]) > alm0:
                    alm0 = abs(g[j])
            alm0 = alm0 / max(alpha, 1e-3)
            alm = alm0 * alf
        dem = alm * omb
        ab = alm * alpha
        rsq0 = rsq
        # sequential strong rule (Tibshirani et al. 2012): enter |g_j| > alpha (2 lambda - lambda_prev)
        if _admit(alpha * (2.0 * alm - alm0), st, g, da, ju, gcols, slot, nslots, xt, xr, xm, xs, n, yt, mask, xq, xmr) < 0:
            return aout, alm_out, rsq_out, m, nlp, 2
        while True:
            nin = cnt[0]
            while nin > 0:               # sweeps over the active set until no change exceeds thr
                nlp += 1
                dlx = 0.0
                for l in range(nin):
                    ak = aa[l]
                    u = ga[l] + ak
                    v = abs(u) - ab
                    ak_new = 0.0
                    if v > 0.0:
                        ak_new = (v if u > 0 else -v) / (1.0 + dem)
                    if ak_new == ak:
                        continue
                    aa[l] = ak_new
                    d = ak_new - ak
                    rsq += d * (2.0 * ga[l] - d)
                    dlx = max(dlx, d * d)
                    da[l] += d
                    row = ca[l]
                    for jj in range(nin):
                        ga[jj] -= row[jj] * d
                if dlx < thr:
                    break
                if nlp > maxit:
                    return aout, alm_out, rsq_out, m, nlp, 1
            nlp += 1                     # glmnet's full sweep: the KKT condition of every inactive predictor
            entered = _admit(ab, st, g, da, ju, gcols, slot, nslots, xt, xr, xm, xs, n, yt, mask, xq, xmr)
            if entered < 0:
                return aout, alm_out, rsq_out, m, nlp, 2
            if entered == 0:
                break
            if nlp > maxit:
                return aout, alm_out, rsq_out, m, nlp, 1
        for l in range(cnt[0]):
            aout[m, ia[l]] = aa[l]
        alm_out[m] = alm
        rsq_out[m] = rsq
        if flmin >= 1.0 or m + 1 < mnl:
            continue
        dev_change = np.inf if rsq == 0.0 else (rsq - rsq0) / rsq     # (glmnet's dfmax rule: never, p + 1)
        if dev_change < FDEV or rsq > DEVMAX:
            return aout, alm_out, rsq_out, m + 1, nlp, 0
    return aout, alm_out, rsq_out, nlam, nlp, 0


def compact(x: np.ndarray) -> np.ndarray:
    """``x`` (C-contiguous) in the narrowest type that holds it exactly: int8, float32 or float64.

    Parameters
    ----------
    x : numpy.ndarray
        Predictors (dosages: 0/1/2 hard calls fit int8; the KKT checks read p x n of them per lambda).

    Returns
    -------
    numpy.ndarray
    """
    x = np.asarray(x, dtype=float)
    for t in (np.int8, np.float32):
        if np.isfinite(x).all() and np.abs(x).max(initial=0.0) < 127:
            c = x.astype(t)
            if np.array_equal(c, x):
                return np.ascontiguousarray(c)
    return np.ascontiguousarray(x)


class GramCache:
    """Raw cross-products of one gene's dosages, computed once and shared by every fit of the gene.

    The predictors are centred by their means over all rows (exact algebra, less cancellation); column k
    of ``X'X`` is computed the first time a fit needs it (or all at once, one BLAS call, when the whole
    matrix takes at most ``full_gram_bytes``).

    Parameters
    ----------
    x : numpy.ndarray
        [n, p] predictors (dosages), all rows of the gene.
    full_gram_bytes : int
        Memory up to which the whole ``X'X`` is formed up front.
    capacity : int
        Columns first reserved when they are computed lazily (doubled when full).
    """

    def __init__(self, x: np.ndarray, full_gram_bytes: int = FULL_GRAM_BYTES, capacity: int = 256):
        x = np.asarray(x, dtype=float)
        self.n, self.p = x.shape
        self.center = x.mean(axis=0)
        self.xt = np.ascontiguousarray((x - self.center).T)          # [p, n]
        self.xq = compact(x.T)                                        # [p, n] raw, int8 for hard calls
        self.sumsq = np.einsum("ij,ij->i", self.xt, self.xt)
        self.nslots = np.zeros(1, np.int64)
        if 8 * self.p * self.p <= full_gram_bytes:
            self.gcols = self.xt @ self.xt.T
            self.slot = np.arange(self.p, dtype=np.int64)
            self.nslots[0] = self.p
        else:
            self.gcols = np.empty((max(1, min(self.p, capacity)), self.p))
            self.slot = -np.ones(self.p, np.int64)

    def grow(self) -> None:
        """Double the room for lazily computed columns."""
        g = np.empty((min(self.p, 2 * self.gcols.shape[0]), self.p))
        g[:self.nslots[0]] = self.gcols[:self.nslots[0]]
        self.gcols = g

    def training(self, drop: np.ndarray):
        """Means, population SDs and usable predictors of the training set: all rows but ``drop``.

        Parameters
        ----------
        drop : numpy.ndarray
            Row indices left out.

        Returns
        -------
        tuple
            ``(xr [p, r] left-out centred rows, n_train, mean [p] (centred scale), sd [p], usable [p])``.
        """
        xr = np.ascontiguousarray(self.xt[:, drop])
        nt = self.n - len(drop)
        s1 = -xr.sum(axis=1)                       # the full centred sums are 0
        s2 = self.sumsq - np.einsum("ij,ij->i", xr, xr)
        xm = s1 / nt
        var = s2 / nt - xm * xm
        # constant in the training rows -> excluded, as glmnet's chkvars; dosages give exact 0 here
        ju = var > 1e-12 * np.maximum(self.sumsq / self.n, 1e-300)
        xs = np.sqrt(np.where(ju, var, 1.0))
        return xr, nt, xm, xs, ju
