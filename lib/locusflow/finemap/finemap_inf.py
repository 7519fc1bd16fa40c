"""FINEMAP-inf: FINEMAP's shotgun stochastic search over causal configurations with an infinitesimal
background (Cui et al., Nat Genet 2024), from z and in-sample LD.

Model: ``y = X_C b_C + X alpha + e``, ``b_C ~ N(0, s^2 I)`` on a configuration C of at most L SNPs (prior
``prod_{j in C} pi_j prod_{j not in C} (1 - pi_j)``, pi_j = 1/p by default), ``alpha ~ N(0, tau^2 I)``,
``e ~ N(0, sigma^2 I)``; configurations are scored by :mod:`.inf_space`.

Search (as the reference, FinucaneLab/fine-mapping-inf ``finemapinf``): from the empty configuration,
each iteration scores every neighbour of the current configuration (each SNP added, swapped for each
member, or removed, in the reference's order), adds the new ones to the explored set and moves to a
neighbour drawn with probability proportional to q, using glibc's ``rand()`` stream after
``srand(seed)`` (:mod:`.glibc_rand`), so that the path is the reference's. Epochs of at most
``schedule[e]`` iterations each stop early once the configurations found in the last ``n_conv``
iterations add less than ``prob_tol`` of the explored mass. Between epochs (sigma^2, tau^2) are
re-estimated by the method of moments over the explored configurations
(``[[n, sum D^2], [sum D^2, sum D^4]] (sigma^2, tau^2)' = (y'y - 2 E[b]'X'y + E[b'X'Xb],
||X'y||^2 - 2 E[b]'X'X X'y + E[b'(X'X)^2 b])``; tau^2 = 0 and sigma^2 = first entry / n when the solution
is negative). Posterior over the explored configurations: ``p(C) = q(C) / sum_C' q(C')``; PIP_j, the
posterior mean and sd of b_j given j causal, the infinitesimal effects' posterior mean
``tau^2 X' Omega (y - X E[b])``, p(k) and FINEMAP-style credible sets per k (for the top configuration
C* of k SNPs and each member c_l, ``p(C* - c_l + j) / sum_j' p(C* - c_l + j')`` over every SNP j, the
smallest set of SNPs reaching ``coverage``).

Where we differ from the reference, on purpose: ``sd`` is the posterior sd given inclusion including
the spread of the configurations' means (the reference's ``se`` averages the within-configuration
variances only, which understates it); configurations are keyed by a 64-bit hash of their SNPs (the
reference compares them exactly: a collision, probability ~N^2 / 2^65 for N explored, would drop one);
the reference takes an integer n.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .credible import descending
from .glibc_rand import GlibcRand
from .inf_space import CHUNK, InfSpace, ld_eigen
from .sss.bayes import logsumexp
from .sss.keyset import KeySet

FULL_P = 2000     # regions up to this many SNPs get all columns of X' Omega X at once
KEEP_LOG = 40.0    # configurations below exp(-40) of the explored mass (4e-18) are left out of the moments


@dataclass
class FinemapInfFit:
    """FINEMAP-inf result: per-SNP arrays are [p]; ``configs`` are the top configurations (0-based SNP
    indices) with ``config_prob`` and ``config_log10bf``; ``post_k`` is p(k), k = 0..L; ``sets`` holds
    (k, signal l (1-based), SNP indices, probabilities) per credible set."""
    pip: np.ndarray
    beta: np.ndarray
    sd: np.ndarray
    mean: np.ndarray
    infinitesimal: np.ndarray
    sigmasq: float
    tausq: float
    configs: list
    config_prob: np.ndarray
    config_log10bf: np.ndarray
    post_k: np.ndarray
    sets: list
    n_explored: int
    niter: int
    converged: bool
    variance_path: list


def finemap_inf(z, R, n, *, L: int = 5, meansq: float = 1.0, prior_weights=None, prior_std=0.05,
                sigmasq: float = 1.0, tausq: float = 0.0, schedule=(100, 100, 10000), n_conv: int = 100,
                prob_tol: float = 1e-3, n_configs: int = 1000, seed: int = 21, coverage: float = 0.95,
                eigen: tuple | None = None) -> FinemapInfFit:
    """FINEMAP-inf of one region (see the module docstring).

    Parameters
    ----------
    z : array-like, shape (p,)
        The region's z-scores, ``X'y / sqrt(n)`` with X standardised.
    R : array-like, shape (p, p)
        Its in-sample LD, ``X'X / n``; unused with ``eigen``.
    n : float
        GWAS sample size.
    L : int
        Largest number of causal SNPs in a configuration (5).
    meansq : float
        ``y'y / n`` (1 for a standardised trait).
    prior_weights : array-like, shape (p,), optional
        Prior weights of the SNPs; pi_j = weight / sum (uniform: 1/p, the reference's default).
    prior_std : float or sequence of float
        Prior sd of sparse effects s (0.05); a list is a grid with a uniform prior over it.
    sigmasq, tausq : float
        Initial sigma^2 (1) and tau^2 (0).
    schedule : sequence of int
        Iterations of each epoch ((100, 100, 10000): two variance updates); one entry keeps
        (sigma^2, tau^2) fixed.
    n_conv, prob_tol : int, float
        An epoch stops when the last ``n_conv`` iterations added less than ``prob_tol`` of the mass.
    n_configs : int
        Top configurations returned.
    seed : int
        ``srand`` seed of the search (21, the reference's).
    coverage : float
        Coverage of the credible sets.
    eigen : tuple, optional
        ``(V, Dsq)``: eigenvectors of X'X and its eigenvalues, precomputed.

    Returns
    -------
    FinemapInfFit
        PIPs, ``beta``/``sd`` (posterior mean and sd of b_j given j causal), ``mean`` (unconditional),
        ``infinitesimal``, sigma^2, tau^2, top configurations, p(k), credible sets, search counts.

    References
    ----------
    Cui R, Elzur RA, Kanai M, et al. (2024). Improving fine-mapping by modeling infinitesimal effects.
    Nat Genet 56:162-169 (reference: FinucaneLab/fine-mapping-inf ``finemapinf.finemap``; fixtures in
    tests/fixtures/finemap, regenerated by bench/regen_finemap_inf_fixtures.py). Benner C et al. (2016)
    Bioinformatics 32:1493 (FINEMAP).
    """
    if L < 1 or not schedule or min(schedule) < 0:
        raise InputError("finemap_inf", "L >= 1 and a schedule of iteration counts >= 0", column="L/schedule",
                         value=(L, schedule))
    z, V, dsq = ld_eigen(z, R, n, eigen, "finemap_inf")
    p = z.size
    pi = np.full(p, 1.0 / p) if prior_weights is None else np.asarray(prior_weights, float) / np.sum(prior_weights)
    with np.errstate(divide="ignore"):
        log_odds = np.log(pi) - np.log1p(-pi)
    ssq = np.atleast_1d(np.asarray(prior_std, dtype=np.float64)) ** 2
    space = InfSpace(V, dsq, np.sqrt(n) * z, log_odds, ssq)
    space.set_variance(sigmasq, tausq)
    store = _Explored(p, int(L))
    rng = GlibcRand(seed)
    g, key = np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.uint64)
    if p <= FULL_P:
        space.ensure(np.arange(p))
    path, niter, converged = [], 0, False
    for e, n_iter in enumerate(schedule):          # loop over epochs
        mass, converged = [], False
        for _ in range(int(n_iter)):                 # loop over search iterations
            niter += 1
            lq, keys, pick = _neighbours(space, g, key, store)
            store.add(lq, keys, pick)
            cum = np.cumsum(np.exp(lq - logsumexp(lq)))
            j = int(np.searchsorted(cum, rng.uniform(), side="right"))
            if j < lq.size:
                g, key = pick(np.array([j]))[0][1][0], keys[j:j + 1].view(np.uint64)
                space.ensure(g)
            mass.append(store.logqsum)
            if len(mass) > n_conv and 1.0 - np.exp(mass[-n_conv - 1] - mass[-1]) < prob_tol:
                converged = True
                break
        if e + 1 < len(schedule):
            sigmasq, tausq = _moments_update(space, store, n, meansq)
            space.set_variance(sigmasq, tausq)
            store.rescore(space)
        path.append((float(sigmasq), float(tausq)))
    return _summarise(space, store, int(L), n_configs, coverage, niter, converged, path)


class _Explored:
    """Explored configurations, by size, with their 64-bit keys (sum of per-SNP random words)."""

    def __init__(self, p: int, L: int):
        self.words = np.random.default_rng(20240117).integers(0, 2 ** 63, p, dtype=np.uint64, endpoint=False)
        self.seen = KeySet(20)
        self.conf = {k: [] for k in range(L + 1)}
        self.lq = {k: [] for k in range(L + 1)}
        self.logqsum = -np.inf
        self.L = L

    def add(self, lq, keys, pick):
        idx = np.flatnonzero(self.seen.add_new(keys))
        if idx.size:
            for size, members, at in pick(idx):
                self.conf[size].append(members)
                self.lq[size].append(lq[at])
            self.logqsum = float(np.logaddexp(self.logqsum, logsumexp(lq[idx])))

    def groups(self):
        """(size, configurations [N, size], log q [N]) of every size explored."""
        for k in range(self.L + 1):                  # loop over configuration sizes
            if self.conf[k]:
                self.conf[k], self.lq[k] = [np.concatenate(self.conf[k])], [np.concatenate(self.lq[k])]
                yield k, self.conf[k][0], self.lq[k][0]

    def rescore(self, space):
        """log q of every explored configuration under the current (sigma^2, tau^2)."""
        tot = []
        for k, c, _ in list(self.groups()):          # loop over configuration sizes
            self.lq[k] = [space.score(c)[0]]
            tot.append(logsumexp(self.lq[k][0]))
        self.logqsum = float(logsumexp(np.array(tot))) if tot else -np.inf


def _neighbours(space, g, key, store):
    """log q of every neighbour of configuration ``g`` in the reference's order (SNP by SNP: add, then swap
    for each member; a member: remove), their keys, and ``pick(idx) -> (sizes, member arrays)`` grouped."""
    p, k, lo = space.p, g.size, space.log_odds
    in_g = np.zeros(p, dtype=bool)
    in_g[g] = True
    cols = k + 1
    q = np.full((p, cols), -np.inf)
    valid = np.zeros((p, cols), dtype=bool)
    keys = np.empty((p, cols), dtype=np.uint64)
    base_lo = lo[g].sum()
    la, lb_h, la_h = space.neighbour_scores(g)
    if k < store.L:
        q[:, 0] = la + base_lo + lo
        valid[:, 0] = ~in_g
    keys[:, 0] = key + store.words
    drop = np.empty(k)
    for l in range(k):                               # loop over the members (k <= L)
        q[:, l + 1] = la_h[l] + base_lo - lo[g[l]] + lo
        drop[l] = lb_h[l] + base_lo - lo[g[l]]
        valid[:, l + 1] = ~in_g
        keys[:, l + 1] = key - store.words[g[l]] + store.words
    q[g, 0], valid[g, 0], keys[g, 0] = drop, True, key - store.words[g]
    flat = np.flatnonzero(valid.ravel())
    row, col = np.divmod(flat, cols)
    keys &= np.uint64(2 ** 63 - 1)                   # keys modulo 2^63: non-negative int64

    def pick(idx):
        """Neighbours ``idx`` as blocks [(size, members [N, size], their entries of idx)]."""
        i, c = row[idx], col[idx]
        rem = in_g[i]
        blocks = []
        if rem.any():
            keep = g[None, :] != i[rem][:, None]
            blocks.append((k - 1, np.broadcast_to(g, keep.shape)[keep].reshape(int(rem.sum()), k - 1), idx[rem]))
        for l in range(-1, k):                       # l = -1: add; otherwise swap member l
            sel = ~rem & (c == l + 1)
            if sel.any():
                base = g if l < 0 else np.delete(g, l)
                blocks.append((base.size + 1, np.sort(np.column_stack([np.tile(base, (sel.sum(), 1)), i[sel]]),
                                                      axis=1), idx[sel]))
        return blocks
    return q.ravel()[flat], keys.ravel()[flat].view(np.int64), pick


def _weighted(space, store):
    """Per size k: (configurations, log q, weights q / sum q) of the explored ones above exp(-KEEP_LOG)."""
    scored = list(store.groups())
    tot = float(logsumexp(np.array([logsumexp(lq) for _, _, lq in scored]))) if scored else 0.0
    out = []
    for k, c, lq in scored:                          # loop over configuration sizes
        keep = lq > tot - KEEP_LOG
        out.append((k, c[keep], lq[keep], np.exp(lq[keep] - tot)))
    return out, tot


def _moments(space, groups):
    """(configurations, weights, E[b_C], E[b_C b_C']) of the non-empty weighted configurations, in batches."""
    for k, c, _, w in groups:                        # loop over configuration sizes
        for lo in range(0, len(c) if k else 0, CHUNK):   # loop over batches (bounded memory)
            _, eb, ebb = space.score(c[lo:lo + CHUNK], moments=True)
            yield c[lo:lo + CHUNK], w[lo:lo + CHUNK], eb, ebb


def _moments_update(space, store, n, meansq):
    """(sigma^2, tau^2) by the method of moments over the explored configurations (module docstring)."""
    b = np.zeros(2)
    for c, w, eb, ebb in _moments(space, _weighted(space, store)[0]):
        b += w @ space.moment_terms(c, eb, ebb)
    d1, d2 = space.dsq.sum(), (space.dsq ** 2).sum()
    b0 = n * meansq + b[0]
    b1 = (space.xty ** 2).sum() + b[1]
    det = n * d2 - d1 * d1
    s, t = (d2 * b0 - d1 * b1) / det, (n * b1 - d1 * b0) / det
    return (s, t) if s >= 0 and t >= 0 else (b0 / n, 0.0)


def _summarise(space, store, L, n_configs, coverage, niter, converged, path) -> FinemapInfFit:
    p = space.p
    groups, tot = _weighted(space, store)
    pip, s1, s2 = np.zeros(p), np.zeros(p), np.zeros(p)
    post_k = np.zeros(L + 1)
    top = []
    for k, c, lq, w in groups:                       # loop over configuration sizes
        post_k[k] = w.sum()
        best = np.argsort(-lq, kind="stable")[:n_configs]
        top += [(float(lq[b]), tuple(int(i) for i in c[b])) for b in best]
    for c, w, eb, ebb in _moments(space, groups):
        flat = c.ravel()
        pip += np.bincount(flat, np.repeat(w, c.shape[1]), minlength=p)
        s1 += np.bincount(flat, (w[:, None] * eb).ravel(), minlength=p)
        s2 += np.bincount(flat, (w[:, None] * np.diagonal(ebb, axis1=1, axis2=2)).ravel(), minlength=p)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = s1 / pip
        sd = np.sqrt(np.maximum(s2 / pip - beta * beta, 0.0))
    inf = space.tausq * (space.V @ (space.w * (space.vtxty - space.dsq * (space.V.T @ s1))))
    top.sort(key=lambda t: (-t[0], t[1]))
    top = top[:n_configs]
    lo = space.log_odds
    configs = [np.array(m, dtype=np.int64) for _, m in top]
    lbf = np.array([x - lo[m].sum() if len(m) else x for (x, _), m in zip(top, configs)])
    sets = _credible_sets(space, groups, coverage)
    return FinemapInfFit(pip, beta, sd, s1, inf, space.sigmasq, space.tausq, configs,
                         np.exp(np.array([x for x, _ in top]) - tot), lbf / np.log(10), post_k, sets,
                         len(store.seen), niter, converged, path)


def _credible_sets(space, groups, coverage):
    """FINEMAP-style sets per k: for the top configuration of k SNPs and each member, the SNPs that may
    replace it, by conditional probability, until ``coverage``."""
    sets = []
    for k, c, lq, _ in groups:                       # loop over configuration sizes
        if k == 0 or not len(c):
            continue
        best = c[int(np.argmax(lq))]
        for l in range(k):                           # loop over the signals of the top configuration
            base = np.delete(best, l)
            la = space.add_one(base)[1] + space.log_odds
            la[base] = -np.inf
            prob = np.exp(la - logsumexp(la))
            order = descending(prob)
            size = int(np.searchsorted(np.cumsum(prob[order]), coverage)) + 1
            members = np.sort(order[:min(size, space.p)])
            sets.append((k, l + 1, members, prob[members]))
    return sets
