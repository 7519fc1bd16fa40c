"""Linear regression GWAS: many variants and many traits per BLAS call (plink2 --glm, linear).

For trait t with samples S_t (phenotype observed; every covariate observed) and covariates C (an
intercept column first), the model is y = g*beta + C*gamma + e. With M_t = I - Q_t Q_t' the projection
off the covariates (Q_t an orthonormal basis of C restricted to S_t), the Frisch-Waugh-Lovell theorem
gives

    beta = g' y*_t / (g' M_t g),  rss = y*_t' y*_t - beta^2 g' M_t g,
    se = sqrt(rss / (n_t - k - 1) / g' M_t g),  t = beta / se,  p = 2 * T_{n_t-k-1}.sf(|t|)

where y*_t = M_t y_t (zero outside S_t) and k = columns of C. Covariates are projected out once
(`prepare_linear`); a chunk of variants then costs three GEMMs for every trait together: G Y*,
G^2 Mask and G C_p (g' M_t g = sum g^2 - (C_p'g)' (C_p'C_p)^-1 C_p'g). Traits sharing one missingness
pattern share one C_p. Samples with a missing call of a
variant are left out of that variant's regression, as plink2 does; those variants are solved from
batched normal equations restricted to the observed samples (`_normal_equations`).

References
----------
Frisch & Waugh (1933) Econometrica 1:387; Lovell (1963) JASA 58:993.
Peer: plink2 ``--glm`` (Chang et al. 2015, GigaScience 4:7); Glow ``linear_regression_gwas``;
regenie step 2 (Mbatchou et al. 2021, Nat Genet 53:1097).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass
class LinearModel:
    """Phenotypes with the covariates projected out, shared by every variant chunk.

    Attributes
    ----------
    y_star : (n, t) residual phenotypes, zero where the trait is missing
    y_masked : (n, t) phenotypes, zero where missing
    yy : (t,) residual sums of squares of the null model
    mask : (n, p) float, 1 where a sample is used by a missingness pattern
    pattern : (t,) pattern of each trait
    cm : (n, p * k) covariates masked to each pattern's samples, one (n, k) block per pattern
    ycm : (n, t + p * k) y_star and cm side by side (C order), the one matrix a chunk multiplies
    yt, maskt : ycm and mask transposed (C order): (c, n) @ (n, v) is BLAS's fast layout for few columns
    cinv : (p, k, k) inverses of C_p' C_p
    covar : (n, k) covariates with the intercept first
    n_obs : (t,) samples used per trait
    """

    y_star: np.ndarray
    y_masked: np.ndarray
    yy: np.ndarray
    mask: np.ndarray
    pattern: np.ndarray
    cm: np.ndarray
    cinv: np.ndarray
    covar: np.ndarray
    n_obs: np.ndarray
    ycm: np.ndarray | None = None
    yt: np.ndarray | None = None
    maskt: np.ndarray | None = None

    def __post_init__(self):
        if self.ycm is None:  # [Y* | C_p...] side by side, C-contiguous: one GEMM per chunk for all of it
            self.ycm = np.ascontiguousarray(np.hstack([self.y_star, self.cm]))
        self.yt, self.maskt = np.ascontiguousarray(self.ycm.T), np.ascontiguousarray(self.mask.T)

    @property
    def k(self) -> int:
        return self.covar.shape[1]


def design(covar: np.ndarray | None, n: int) -> np.ndarray:
    """Covariate matrix with an intercept column first, float64.

    Parameters
    ----------
    covar : (n, c) covariates or None
    n : number of samples

    Returns
    -------
    (n, c + 1) float64
    """
    one = np.ones((n, 1))
    if covar is None or np.asarray(covar).size == 0:
        return one
    return np.hstack([one, np.asarray(covar, dtype=np.float64).reshape(n, -1)])


def prepare_linear(y: np.ndarray, covar: np.ndarray | None = None) -> LinearModel:
    """Project the covariates out of every trait once.

    Parameters
    ----------
    y : (n, t) float phenotypes, NaN where missing (per trait; other traits keep the sample)
    covar : (n, c) float covariates without intercept, no NaN (drop such samples before), or None

    Returns
    -------
    LinearModel

    References
    ----------
    Frisch & Waugh (1933); plink2 ``--glm`` (covariates projected per sample set).
    """
    y = np.asarray(y, dtype=np.float64)
    y = y.reshape(len(y), -1)
    n, t = y.shape
    c = design(covar, n)
    obs = ~np.isnan(y)
    patterns, pattern = np.unique(obs.T, axis=0, return_inverse=True)
    k = c.shape[1]
    q = np.zeros((n, len(patterns) * k))
    cinv = np.empty((len(patterns), k, k))
    for i, m in enumerate(patterns):  # one QR per missingness pattern, not per variant
        qi, r = np.linalg.qr(c[m])
        q[m, i * k:(i + 1) * k] = qi
        ri = np.linalg.inv(r)
        cinv[i] = ri @ ri.T                                       # (C_p' C_p)^-1 = R^-1 R^-T
    ym = np.where(obs, y, 0.0)
    qb = q.reshape(n, len(patterns), k)[:, pattern, :]          # (n, t, k)
    coef = np.einsum("ntk,nt->tk", qb, ym)
    y_star = ym - np.einsum("ntk,tk->nt", qb, coef)
    y_star[~obs] = 0.0
    cm = (patterns.T[:, :, None] * c[:, None, :]).reshape(n, -1)
    return LinearModel(y_star=y_star, y_masked=ym, yy=(y_star ** 2).sum(0), mask=patterns.T.astype(np.float64),
                       pattern=pattern.ravel(), cm=cm, cinv=cinv, covar=c, n_obs=obs.sum(0))


def linear_assoc(dosage: np.ndarray, model: LinearModel, *, g0: np.ndarray | None = None,
                 miss: np.ndarray | None = None) -> dict:
    """Association of every variant of a chunk with every trait.

    Parameters
    ----------
    dosage : (v, n) alt-allele dosages, NaN for missing calls
    model : LinearModel from `prepare_linear`
    g0, miss : optional float64 dosages with 0 for missing calls, and the missing-call mask (when the
        caller has them already)

    Returns
    -------
    dict of (v, t) arrays: beta, se, t, p, n (samples used), sum_g (sum of dosages over them)

    References
    ----------
    Frisch & Waugh (1933). Peer: plink2 ``--glm`` linear (equal to its 6 printed digits).
    """
    if g0 is None:
        g = np.asarray(dosage, dtype=np.float64)
        miss = np.isnan(g)
        g0 = np.where(miss, 0.0, g)
    has_miss = miss.any(1)
    gyc, sq = _moments(g0, model)
    exact = _normal_equations(g0[has_miss], ~miss[has_miss], model) if has_miss.any() else None
    return _statistics(gyc, sq, model, has_miss, exact)


def linear_assoc_calls(calls, samples, model: LinearModel, *, block_bytes: int = 1 << 22) -> dict:
    """`linear_assoc` from int8 calls, decoded straight into float64 blocks that stay in cache.

    The calls are taken in blocks of variants whose float64 dosages fill ``block_bytes``: each block is
    decoded (one table look-up per call pair) into one reused buffer and multiplied there (two GEMMs for
    every trait), so no chunk-sized float64 matrix is ever written (fresh memory is slow to fault in, and
    the block is still in cache for its second product).

    Parameters
    ----------
    calls : (v, N, 2) int8 allele indices of every store sample, < 0 = missing (other ploidies: decoded
        by `locusflow.io.genotypes.decode_dosages`), or an iterable of (first row, such an array) blocks
        in order (`locusflow.io.genotypes.GenotypeStore.iter_calls`)
    samples : (n,) store columns of the model's samples, in the model's order (None: all, in order)
    model : LinearModel from `prepare_linear`
    block_bytes : size of the float64 block buffer

    Returns
    -------
    dict as `linear_assoc`

    References
    ----------
    Frisch & Waugh (1933). Peer: plink2 ``--glm`` linear.
    """
    from ..io.genotypes import decode_dosages, pair_tables

    blocks = [(0, calls)] if isinstance(calls, np.ndarray) else calls
    cols = None if samples is None else np.asarray(samples)
    n, table = model.yt.shape[1], pair_tables()[0]
    gyc, sq, has_miss, exact = [], [], [], []
    for _, c in blocks:  # loop over blocks of the store (Zarr chunks), then over cache-sized pieces
        if c.ndim != 3 or c.shape[2] != 2 or c.dtype != np.int8:   # not diploid int8: the general decoder
            g = decode_dosages(c, np.float64, samples=cols)
            miss = np.isnan(g)
            g[miss] = 0.0
            gyc_b, sq_b = _moments(g, model)
            gyc.append(gyc_b)
            sq.append(sq_b)
            has_miss.append(miss.any(1))
            if has_miss[-1].any():
                exact.append(_normal_equations(g[has_miss[-1]], ~miss[has_miss[-1]], model))
            continue
        pairs = np.ascontiguousarray(c).view("<u2")[..., 0]
        step = int(np.clip(block_bytes // (8 * max(n, 1)), 16, max(len(pairs), 16)))
        buf = _block_buffer(min(step, len(pairs)) * n).reshape(-1, n)
        for lo in range(0, len(pairs), step):  # loop over cache-sized pieces of variants, not variants
            pb = pairs[lo:lo + step] if cols is None else pairs[lo:lo + step][:, cols]
            g = np.take(table, pb, out=buf[:len(pb)], mode="clip")    # missing calls decode to 0
            gyc_b, sq_b = _moments(g, model)
            gyc.append(gyc_b)
            sq.append(sq_b)
            hm = (np.bitwise_or.reduce(pb, axis=1) & 0x8080) != 0     # a byte < 0: an allele missing
            has_miss.append(hm)
            if hm.any():
                exact.append(_normal_equations(g[hm], (pb[hm] & 0x8080) == 0, model))
    cat = (lambda x: x[0] if len(x) == 1 else np.concatenate(x))  # noqa: E731
    exact = tuple(np.concatenate(x) for x in zip(*exact)) if exact else None
    return _statistics(cat(gyc), cat(sq), model, cat(has_miss), exact)


_BUFFERS = threading.local()


def _block_buffer(size: int) -> np.ndarray:
    """A float64 buffer of ``size`` kept per thread: reused by every block (fresh memory is slow to fault in)."""
    buf = getattr(_BUFFERS, "buf", None)
    if buf is None or buf.size < size:
        buf = _BUFFERS.buf = np.empty(size)
    return buf[:size]


def _moments(g0, model: LinearModel):
    """g'y*_t and C_p'g (one GEMM for every trait and pattern) and sum g^2 per pattern, of a block."""
    gyc = (model.yt @ g0.T).T                 # (c, n) @ (n, v): BLAS's fast layout for few columns
    if model.maskt.shape[0] == 1 and model.mask.all():
        return gyc, np.einsum("vn,vn->v", g0, g0)[:, None]
    return gyc, (model.maskt @ np.square(g0).T).T


def _statistics(gyc, sq, model: LinearModel, has_miss, exact) -> dict:
    """beta, se, t, p from the chunk's moments (and the exact fits of its variants with missing calls)."""
    v, t = gyc.shape[0], model.y_star.shape[1]
    k, p_ct = model.k, model.mask.shape[1]
    gy, gc = gyc[:, :t], gyc[:, t:].reshape(v, p_ct, k)
    ggp = sq - np.einsum("vpk,pkl,vpl->vp", gc, model.cinv, gc)
    gg = ggp[:, model.pattern]
    sum_g = gc[:, model.pattern, 0]                               # intercept column: sum of g over S_t
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = gy / gg
        rss = model.yy[None, :] - beta * gy
    n_used = np.broadcast_to(model.n_obs[None, :].astype(np.float64), (v, t)).copy()
    if exact is not None:
        beta[has_miss], rss[has_miss], gg[has_miss], n_used[has_miss] = exact
    dof = n_used - k - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(rss / dof / gg)
        tstat = beta / se
    bad = ~(gg > 1e-8 * np.maximum(n_used, 1)) | (dof <= 0)
    for a in (beta, se, tstat):
        a[bad] = np.nan
    p = 2 * special.stdtr(np.maximum(dof, 1), -np.abs(tstat))    # = stats.t.sf, without its checks
    return {"beta": beta, "se": se, "t": tstat, "p": p, "n": n_used, "sum_g": sum_g}


def _normal_equations(g0: np.ndarray, obs: np.ndarray, model: LinearModel):
    """Exact regression on the samples observed at each variant: batched (k+1)-square solves.

    Every moment is one GEMM over samples: (v, n) @ (n, patterns * k * k) and alike.
    """
    c, ym, mask = model.covar, model.y_masked, model.mask
    n, k = c.shape
    v, p_ct, t = g0.shape[0], mask.shape[1], ym.shape[1]
    o = obs.astype(np.float64)
    cm = mask[:, :, None] * c[:, None, :]                                         # (n, p, k)
    ctc = (o @ (cm[:, :, :, None] * c[:, None, None, :]).reshape(n, -1)).reshape(v, p_ct, k, k)
    ctg = (g0 @ cm.reshape(n, -1)).reshape(v, p_ct, k)
    gg = (g0 * g0) @ mask
    nn = o @ mask
    ctyy = (o @ (c[:, :, None] * ym[:, None, :]).reshape(n, -1)).reshape(v, k, t).transpose(0, 2, 1)
    gy = g0 @ ym
    yy = o @ (ym * ym)
    pat = model.pattern
    ctc, ctg, gg, nn = ctc[:, pat], ctg[:, pat], gg[:, pat], nn[:, pat]
    a = np.empty((v, t, k + 1, k + 1))
    a[..., 0, 0] = gg
    a[..., 0, 1:] = ctg
    a[..., 1:, 0] = ctg
    a[..., 1:, 1:] = ctc
    b = np.concatenate([gy[..., None], ctyy], -1)
    with np.errstate(all="ignore"):
        ok = np.linalg.matrix_rank(a) == k + 1
        a[~ok] = np.eye(k + 1)
        sol = np.linalg.solve(a, b[..., None])[..., 0]
        rss = yy - np.einsum("vti,vti->vt", sol, b)
        # g' M g over the used samples: Schur complement of the covariate block
        cg = np.linalg.solve(ctc, ctg[..., None])[..., 0]
        ggm = gg - np.einsum("vtk,vtk->vt", ctg, cg)
    ggm[~ok] = 0.0
    return sol[..., 0], rss, ggm, nn
