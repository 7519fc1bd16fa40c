"""One fine-mapping region for FINEMAP: validated z and R, the prior, and vectorised configuration scores.

The score of a configuration C is its unnormalised log posterior ``log BF(C) + sum_{i in C} log odds_i``
(``bayes`` module, which states both Bayes factors: FINEMAP 1.1's and 1.4's). Scoring a whole
neighbourhood ``{B + j : j = 1..m}`` of a base configuration B costs O(G |B| m) flops for all m
candidates at once (G prior SDs), never m factorisations: with ``A_B = Q diag(lambda) Q'``, ``P = Q' R_B.``
and ``q = Q' r_B``, for each candidate j (its own residual variance sigma_j^2 and t_j = n s^2 / sigma_j^2)

    R^2(B + j) = R^2(B) + (r_j - a_j)^2 / (R_jj - sum_i P_ij^2 / lambda_i),   a_j = sum_i P_ij q_i / lambda_i
    D_ij = lambda_i + 1/t_j,   s_j = R_jj + 1/t_j - sum_i P_ij^2 / D_ij,   h_j = sum_i P_ij q_i / D_ij,
    log|M_{B+j}| = sum_i log D_ij + log s_j,   r'M^-1 r = sum_i q_i^2 / D_ij + (r_j - h_j)^2 / s_j.

FINEMAP's ``--corr-config`` rule (default 0.95) gives prior zero to configurations holding two SNPs with
|r| above the threshold.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from ...errors import InputError
from . import bayes

PSD_TOL = 1e-4   # eigenvalues / Schur complements of R_CC above -PSD_TOL are rounding (float32 LD of
                 # near-collinear SNPs reaches -1e-6), treated as 0; below it R is not a correlation matrix


def check_inputs(z, r, n, prior_weights=None, variant_id=None, source: str = "finemap input"):
    """Validated float64 z, R (dtype kept, float32 allowed), n, weights and variant ids; InputError otherwise.

    Parameters
    ----------
    z : array_like, shape (m,)
        z-scores; non-empty and finite.
    r : array_like, shape (m, m)
        LD matrix; square, finite, symmetric (checked on its first 200 rows to 1e-4); non-float is cast
        to float64.
    n : float
        GWAS sample size; a positive scalar.
    prior_weights : array_like, shape (m,), optional
        Finite non-negative weights, not all zero.
    variant_id : array_like, shape (m,), optional
        SNP names (default "0".."m-1").
    source : str
        Name of the input in error messages.

    Returns
    -------
    tuple
        ``(z, r, float(n), prior_weights, variant_id)``, validated.

    Raises
    ------
    InputError
        On the first check that fails.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or len(z) == 0:
        raise InputError(source, "z must be a non-empty 1-D vector of z-scores", column="z", value=z.shape)
    r = np.asarray(r)
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise InputError(source, "R (LD matrix) must be square", column="R", value=r.shape)
    if r.shape[0] != len(z):
        raise InputError(source, f"R must be {len(z)} x {len(z)} to match z", column="R", value=r.shape)
    if not np.issubdtype(r.dtype, np.floating):
        r = r.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(z))
    if len(bad):
        raise InputError(source, "z-scores must be finite", row=int(bad[0]) + 1, column="z", value=z[bad[0]])
    bad_r = ~np.isfinite(r)
    if bad_r.any():
        i, j = np.argwhere(bad_r)[0]
        raise InputError(source, f"R must be finite (entry {i + 1},{j + 1})", row=int(i) + 1, column="R",
                         value=float(r[i, j]))
    if not np.allclose(r[:200, :200], r[:200, :200].T, atol=1e-4):
        raise InputError(source, "R must be symmetric", column="R")
    if not (np.isscalar(n) or np.ndim(n) == 0) or not np.isfinite(n) or n <= 0:
        raise InputError(source, "n (GWAS sample size) must be a positive number", column="n", value=n)
    if prior_weights is not None:
        prior_weights = np.asarray(prior_weights, dtype=np.float64)
        if prior_weights.shape != z.shape:
            raise InputError(source, f"prior_weights must have {len(z)} entries like z",
                             column="prior_weights", value=prior_weights.shape)
        bad = np.flatnonzero(~np.isfinite(prior_weights) | (prior_weights < 0))
        if len(bad):
            raise InputError(source, "prior weights must be finite and >= 0", row=int(bad[0]) + 1,
                             column="prior_weights", value=prior_weights[bad[0]])
        if prior_weights.sum() <= 0:
            raise InputError(source, "at least one prior weight must be > 0", column="prior_weights")
    if variant_id is None:
        variant_id = np.arange(len(z)).astype(str)
    variant_id = np.asarray(variant_id).astype(str)
    if variant_id.shape != z.shape:
        raise InputError(source, f"variant_id must have {len(z)} entries like z", column="variant_id",
                         value=variant_id.shape)
    return z, r, float(n), prior_weights, variant_id


@dataclass
class Base:
    """Cached quantities of a base configuration for scoring its additions."""
    c: np.ndarray          # sorted SNP indices
    log_post: float        # unnormalised log posterior of the base itself
    log_bf: float
    lam: np.ndarray        # eigenvalues of R_BB  [b]
    p: np.ndarray          # Q' R_B.  [b, m]
    q: np.ndarray          # Q' r_B   [b]
    explained: np.ndarray  # R_jB R_BB^-1 R_Bj  [m]
    rsq: float             # R^2 of the base's least-squares fit, r_B' R_BB^-1 r_B
    a: np.ndarray          # R_jB R_BB^-1 r_B  [m]
    max_abs_r: np.ndarray  # max_{i in B} |r_ij|  [m]


class Region:
    """z, R and prior of one region; scores configurations (see module docstring)."""

    def __init__(self, z, r, n, prior_weights=None, max_causal=5, prior_std=None,
                 prior_prob=None, corr_config=0.95, include_null=False, variant_id=None, version="1.4",
                 row_cache_bytes=256e6):
        self.z, self.r, self.n, weights, self.variant_id = check_inputs(z, r, n, prior_weights, variant_id)
        self.m = len(self.z)
        if int(max_causal) < 1:
            raise InputError("finemap input", "max_causal must be >= 1", column="max_causal", value=max_causal)
        self.max_causal = min(int(max_causal), self.m)
        if prior_std is None:       # FINEMAP 1.4 updates its prior SDs from the data; 1.1 keeps 0.05
            prior_std = bayes.finemap_prior_std(self.z, self.r, self.n) if version == "1.4" \
                else bayes.DEFAULT_PRIOR_STD
        self.model = bayes.BayesFactor(self.n, prior_std, version)
        self.tau = float(bayes.prior_variance(self.n, self.model.grid[0]))
        self.rz = self.model.correlations(self.z)
        self.pi = bayes.snp_prior(self.m, weights, prior_prob)
        self.log_odds = bayes.log_prior_odds(self.pi)
        self.corr_config = float(corr_config)
        self.include_null = bool(include_null)
        self.r_diag = np.diagonal(self.r).astype(np.float64)
        self._bases: dict[bytes, Base] = {}         # factors of recent bases (LRU)
        self.base_cache = max(64, int(row_cache_bytes // (8 * self.m * (self.max_causal + 4))))
        self._rows: dict[bytes, np.ndarray] = {}    # add_scores of recent bases (LRU), never recomputed
        self.row_cache = max(64, int(row_cache_bytes // (8 * self.m)))
        kk = self.max_causal
        total = sum(comb(self.m, k) for k in range(kk + 1))
        dtype = np.int64 if total < 2 ** 62 else object
        # combinadic rank table: key(C) = offset[|C|] + sum_t comb(c_t, t + 1), c sorted; row m = padding
        self._binom = np.array([[comb(c, t) if c < self.m else 0 for t in range(1, kk + 1)]
                                for c in range(self.m + 1)], dtype=dtype)
        self._offset = np.array([sum(comb(self.m, j) for j in range(k)) for k in range(kk + 1)], dtype=dtype)

    # ---- configurations -------------------------------------------------------------------------
    def keys(self, configs: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Unique integer key of each padded configuration row ([N, K], sorted, padding = m)."""
        cols = np.arange(configs.shape[1])
        return self._offset[sizes] + self._binom[configs, cols].sum(axis=1, dtype=self._binom.dtype)

    def extension_keys(self, c: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Keys of ``sorted(c + {j})`` for an array of SNPs j not in c (c sorted), without building them."""
        k, b = len(c), self._binom
        p = np.searchsorted(c, j)
        rank = np.arange(k)
        pre = np.concatenate([[0], np.cumsum(b[c, rank])]).astype(b.dtype)            # ranks kept
        suf = np.concatenate([np.cumsum(b[c, rank + 1][::-1])[::-1], [0]]).astype(b.dtype)  # shifted
        return self._offset[k + 1] + pre[p] + b[j, p] + suf[p]

    def subset_keys(self, configs: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """[N, K] keys of each configuration minus its t-th SNP (entries t >= size are meaningless)."""
        b = np.concatenate([np.zeros((self.m + 1, 1), dtype=self._binom.dtype), self._binom], axis=1)
        cols = np.arange(configs.shape[1])
        same = b[configs, cols + 1]          # SNPs before the removed one keep their rank
        down = b[configs, cols]              # SNPs after it move down one rank
        pre = np.cumsum(same, axis=1) - same
        suf = np.cumsum(down[:, ::-1], axis=1)[:, ::-1] - down
        return self._offset[np.maximum(sizes - 1, 0)][:, None] + pre + suf

    def log_prior(self, configs: np.ndarray) -> np.ndarray:
        """Unnormalised log prior ``sum log odds`` of padded configurations (padding = m)."""
        lo = np.append(self.log_odds, 0.0)
        return lo[configs].sum(axis=1)

    # ---- scoring --------------------------------------------------------------------------------
    def base(self, c: np.ndarray) -> Base:
        """Cholesky quantities of configuration c (sorted int array, possibly empty); recent ones cached."""
        c = np.asarray(c, dtype=np.int64)
        key = c.tobytes()
        hit = self._bases.pop(key, None)
        if hit is None:
            hit = self._base(c)
            if len(self._bases) >= self.base_cache:
                self._bases.pop(next(iter(self._bases)))
        self._bases[key] = hit
        return hit

    def _fail(self, c):
        raise InputError("finemap input", "R_CC must be positive definite for SNPs "
                         f"{self.variant_id[np.asarray(c)].tolist()}: R is not a correlation matrix (LD from another "
                         "panel? regularise it)", column="R") from None

    def _base(self, c: np.ndarray) -> Base:
        m = self.m
        if len(c) == 0:
            return Base(c, 0.0, 0.0, np.zeros(0), np.zeros((0, m)), np.zeros(0), np.zeros(m), 0.0, np.zeros(m),
                        np.zeros(m))
        rows = np.asarray(self.r[c], dtype=np.float64)
        a_bb = rows[:, c]
        corr = np.abs(rows)
        corr[:, c] = 0.0
        off = np.abs(a_bb - np.diag(np.diagonal(a_bb)))
        if off.max(initial=0.0) > self.corr_config:   # prior 0
            nil = np.zeros(m)
            return Base(c, -np.inf, -np.inf, np.ones(len(c)), np.zeros((len(c), m)), np.zeros(len(c)), nil, 0.0,
                        nil, corr.max(axis=0))
        lam, qmat = np.linalg.eigh(a_bb)
        if lam[0] < -PSD_TOL:
            self._fail(c)
        p, q = qmat.T @ rows, qmat.T @ self.rz[c]
        inv = bayes.pinv_eigenvalues(lam)
        pl = p * inv[:, None]
        rsq = float(q @ (q * inv))
        lbf = float(self.model.from_eigen(lam[:, None], q[:, None], np.array([rsq]))[0])
        lp = lbf + self.log_odds[c].sum()
        return Base(c, lp, lbf, lam, p, q, np.einsum("ij,ij->j", pl, p), rsq, q @ pl, corr.max(axis=0))

    def row(self, c: np.ndarray) -> np.ndarray:
        """:meth:`add_scores` of base c (sorted), read-only, from an LRU cache of ``row_cache`` rows: a row
        shared by several centres of the search (their common base) is computed once."""
        key = np.asarray(c, dtype=np.int64).tobytes()
        hit = self._rows.pop(key, None)
        if hit is None:
            hit = self.add_scores(self.base(c))
            hit.flags.writeable = False
            if len(self._rows) >= self.row_cache:
                self._rows.pop(next(iter(self._rows)))
        self._rows[key] = hit
        return hit

    def add_scores(self, b: Base) -> np.ndarray:
        """Unnormalised log posterior of ``b.c + {j}`` for every SNP j ([m]); -inf where not allowed."""
        if not np.isfinite(b.log_post) and len(b.c):
            return np.full(self.m, -np.inf)
        schur = self.r_diag - b.explained
        bad = np.flatnonzero(schur < -PSD_TOL)   # R_{B+j} has a negative eigenvalue: R is not PSD
        bad = bad[~np.isin(bad, b.c) & (b.max_abs_r[bad] <= self.corr_config)]
        if len(bad):
            self._fail(np.append(b.c, bad[0]))
        spanned = schur < 1e-8 * self.r_diag     # j collinear with B: adds nothing to R^2 (pseudo-inverse)
        schur[spanned] = 1.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            rsq = b.rsq + np.where(spanned, 0.0, (self.rz - b.a) ** 2 / schur)
            lbf = self.model.add_one(b.lam, b.p, b.q, self.r_diag, self.rz, rsq)
        out = lbf + self.log_odds + self.log_odds[b.c].sum()
        if not np.isfinite(b.log_post) and len(b.c):
            return np.full(self.m, -np.inf)
        out[b.max_abs_r > self.corr_config] = -np.inf
        out[b.c] = -np.inf
        return out

    def log_bf_of(self, c: np.ndarray) -> float:
        """log BF of one configuration (small Cholesky), for checks and the null-excluded edge cases."""
        return float(self.base(np.sort(np.asarray(c, dtype=np.int64))).log_bf)

    def allowed(self, c: np.ndarray) -> bool:
        """Whether the prior of c is > 0 (size, weights and the --corr-config rule)."""
        k = len(c)
        if k > self.max_causal or (k == 0 and not self.include_null):
            return False
        if not np.isfinite(self.log_odds[c]).all():
            return False
        rcc = np.abs(np.asarray(self.r[np.ix_(c, c)], dtype=np.float64))
        return not (rcc[np.triu_indices(k, 1)] > self.corr_config).any()
