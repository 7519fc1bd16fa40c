"""FINEMAP's shotgun stochastic search (Benner et al. 2016, section 2.4; Hans, Dobra & West 2007).

Starting from the empty configuration, each iteration scores the whole neighbourhood of the current
configuration C (|C| = k):

* deletion: C - {c_i}, for each of the k SNPs;
* change:   C - {c_i} + {j}, for each c_i and every SNP j not in C (k m configurations);
* addition: C + {j}, for every j not in C, when k < max_causal;

every configuration evaluated is kept once (keyed by its combinadic rank), and the next configuration is
sampled from the neighbourhood with probability proportional to its posterior. The search stops when the
posterior mass of the kept configurations grew by less than a fraction ``prob_tol`` over the last
``n_conv`` iterations (FINEMAP ``--prob-conv-sss-tol`` 0.001, ``--n-conv-sss`` 100 in 1.4.2, 1000 in 1.1) or after ``n_iter``
iterations (``--n-iterations`` 100000). PIPs and the other outputs are sums over the kept configurations
(``results``), i.e. the posterior restricted to the explored space, as in FINEMAP.

After the stopping rule (our addition, ``close_min_post``, default 1e-5; ``None`` gives the search as
published): every kept configuration with posterior >= close_min_post that never was the current one is
expanded too, repeatedly, because in diffuse loci a proposal proportional to the posterior rarely visits
them while their neighbourhoods hold mass (docs/benchmarks.md gives the measured effect).

The proposal does not enter the estimates (they are sums of scores, not visit counts), so
``temperature`` T may flatten it (sampling ∝ p^(1/T); T = 1 is FINEMAP's).

Speed: a neighbourhood is scored with k + 1 block extensions of the Cholesky factor of a base
configuration (``Region.add_scores``), O(k^2 m) flops; additions and change moves are kept as blocks
(``store``). A configuration revisited as the current one reuses its cached proposal (the part within
``sample_window`` nats of its best neighbour, at most ``sample_cap`` of them). Configurations whose
posterior is below ``exp(-log_prune)`` times the best one found (default 20 nats, 2e-9) are not kept;
their total mass is bounded by (configurations evaluated) x exp(-log_prune) relative to the best one.
"""
from __future__ import annotations

import numpy as np

from . import bayes
from .region import Region
from .results import FinemapResult, summarise
from .store import ConfigStore

DEFAULTS = dict(n_iter=100_000, prob_tol=0.001)
N_CONV = {"1.4": 100, "1.1": 1000}   # FINEMAP 1.4.2's --n-conv-sss (its log), FINEMAP 1.1's --n-convergence


def finemap_sss(z, R, n, *, prior_weights=None, max_causal=5, variant_id=None,
                prior_std=bayes.DEFAULT_PRIOR_STD, version="1.4", prior_prob=None, corr_config=0.95, include_null=False,
                n_iter=DEFAULTS["n_iter"], n_conv=None, prob_tol=DEFAULTS["prob_tol"],
                log_prune=20.0, sample_window=15.0, sample_cap=500, temperature=1.0, close_min_post=1e-5,
                close_max=None, n_configs_top=50_000, coverage=0.95, seed=0,
                method="finemap") -> FinemapResult:
    """FINEMAP's shotgun stochastic search over the causal configurations of one region.

    The posterior of a configuration C is ``BF(C) p(C)`` with FINEMAP's Bayes factor and truncated
    binomial prior (:mod:`.bayes`), normalised over the configurations the search kept.

    Parameters
    ----------
    z : array-like, shape (m,)
        z-scores of the region's SNPs.
    R : array-like, shape (m, m)
        LD (correlation) matrix of the same SNPs, same allele coding (float32 is fine).
    n : float
        GWAS sample size.
    prior_weights : array-like, shape (m,), optional
        Non-negative per-SNP weights (functional priors): ``pi_i = m p w_i / sum(w)``.
    max_causal : int
        Largest number of causal SNPs (FINEMAP ``--n-causal-snps``, 5).
    variant_id : array-like of str, optional
        Names of the SNPs in the config and cred tables (default: "0".."m-1").
    prior_std : float or sequence of float
        Prior SD(s) of the standardised effects (FINEMAP ``--prior-std``, 0.05); with several, the Bayes
        factor is their average (FINEMAP 1.4). FINEMAP 1.4 widens the list from the data (its log's
        "Updated prior SD of effect sizes"); pass that list to reproduce a run of it.
    version : {"1.4", "1.1"}
        Bayes factor of FINEMAP 1.4 (residual variance of the configuration's fit, :mod:`.bayes`) or
        of FINEMAP 1.0/1.1 (unit residual variance).
    prior_prob : float, optional
        Per-SNP prior causal probability p (default 1/m).
    corr_config : float
        Configurations holding two SNPs with |r| above it get prior 0 (``--corr-config``, 0.95).
    include_null : bool
        Whether the empty configuration is part of the model (FINEMAP: no).
    n_iter, n_conv, prob_tol : int, int, float
        Stopping rule: at most ``n_iter`` iterations; stop when the kept posterior mass grew by less
        than a fraction ``prob_tol`` over the last ``n_conv`` iterations (default: 100 for version 1.4,
        FINEMAP 1.4.2's; 1000 for 1.1).
    log_prune, sample_window, sample_cap, temperature : float, float, int, float
        Search internals (module docstring): configurations below ``exp(-log_prune)`` times the best
        are not kept; the proposal holds neighbours within ``sample_window`` nats of the best (at most
        ``sample_cap``), sampled proportionally to ``p^(1/temperature)``.
    close_min_post, close_max : float or None, int or None
        Closure after the stopping rule (module docstring); ``close_min_post=None`` (or 0) gives
        FINEMAP's search as published.
    n_configs_top : int
        Rows of the config table (``--n-configs-top``, 50000).
    coverage : float
        Credible-set coverage (``--prob-cred-set``, 0.95).
    seed : int
        Seed of the proposal's random numbers (a run is reproducible).
    method : str
        Value of the tables' ``method`` column.

    Returns
    -------
    FinemapResult
        ``snp``, ``config`` and ``cred`` tables (FINEMAP's .snp, .config, .cred), ``post_k``,
        ``prior_k``, ``log10bf_region``, ``n_configs``, ``n_iterations``, ``converged``; iterating over
        it yields the three tables with these values in their ``attrs``.

    References
    ----------
    Benner C, Spencer CCA, Havulinna AS, Salomaa V, Ripatti S, Pirinen M (2016). FINEMAP: efficient
    variable selection using summary data from genome-wide association studies. Bioinformatics 32:1493.
    Hans C, Dobra A, West M (2007). Shotgun stochastic search for "large p" regression. JASA 102:507.
    Peer: the FINEMAP binary (v1.4.2, ``--sss``) and :func:`finemap_exhaustive` (exact enumeration).
    """
    region = Region(z, R, n, prior_weights, max_causal, prior_std, prior_prob, corr_config, include_null,
                    variant_id, version)
    n_conv = N_CONV[version] if n_conv is None else int(n_conv)
    store, n_done, converged, n_evaluated = search(region, n_iter, n_conv, prob_tol, log_prune, sample_window,
                                                   sample_cap,
                                      seed, temperature, close_min_post, close_max)
    individual, blocks = store.arrays()
    return summarise(region, *individual, blocks=blocks, method=method, n_configs_top=n_configs_top,
                     coverage=coverage, n_iterations=n_done, converged=converged, n_evaluated=n_evaluated)


def _neighbourhood(region: Region, c: np.ndarray):
    """Scores of c's deletion, change and addition neighbours, flattened as [k deletions, k x m changes,
    m additions], the change bases, and a builder of padded configurations for flat indices."""
    m, k, kmax = region.m, len(c), region.max_causal
    bases = np.array([np.delete(c, i) for i in range(k)], dtype=np.int64).reshape(k, max(k - 1, 0))
    lp_del = np.empty(k)
    lp_chg = np.empty((k, m))
    for i in range(k):
        b = region.base(bases[i])
        lp_del[i] = b.log_post if (k > 1 or region.include_null) else -np.inf
        lp_chg[i] = region.add_scores(b)
        lp_chg[i, c] = -np.inf
    lp_add = region.add_scores(region.base(c)) if k < kmax else np.full(m, -np.inf)
    cand = np.concatenate([lp_del, lp_chg.ravel(), lp_add])

    def build(sel: np.ndarray):
        out = np.full((len(sel), kmax), m, dtype=np.int32)
        sizes = np.empty(len(sel), dtype=np.int8)
        is_del, is_add = sel < k, sel >= k + k * m
        is_chg = ~(is_del | is_add)
        if is_del.any():
            out[is_del, :k - 1] = bases[sel[is_del]]
            sizes[is_del] = k - 1
        if is_chg.any():
            i, j = np.divmod(sel[is_chg] - k, m)
            out[is_chg, :k - 1] = bases[i]
            out[is_chg, k - 1] = j
            sizes[is_chg] = k
        if is_add.any():
            out[is_add, :k] = c
            out[is_add, k] = sel[is_add] - k - k * m
            sizes[is_add] = k + 1
        out.sort(axis=1)
        return out, sizes

    return cand, bases, build


class _Search:
    """State of one search: the store, the expanded centres' proposals and the best score seen."""

    def __init__(self, region, log_prune, sample_window, sample_cap, temperature):
        self.region, self.store, self.cache, self.best = region, ConfigStore(region), {}, -np.inf
        self.log_prune, self.window, self.cap, self.temperature = log_prune, sample_window, sample_cap, temperature
        self.n_evaluated = 0

    def expand(self, center: np.ndarray):
        """Score and store the neighbourhood of a new centre; cache its proposal."""
        region, store, m, k = self.region, self.store, self.region.m, len(center)
        cand, bases, build = _neighbourhood(region, center)
        self.n_evaluated += int(np.isfinite(cand).sum())
        top = cand.max()
        self.best = max(self.best, top)
        thr = self.best - self.log_prune
        if k < region.max_causal and center.tobytes() not in store.rows_done:
            store.add_block(center, cand[k + k * m:], thr)
        for i in range(k):  # change moves C - c_i + j are the additions of the base C - c_i
            if bases[i].tobytes() not in store.rows_done:
                store.add_block(bases[i], cand[k + i * m: k + (i + 1) * m], thr)
        sel = np.flatnonzero(cand[:k] >= thr)
        if len(sel):
            store.add_individual(*build(sel), cand[sel])
        near = np.flatnonzero(cand >= top - self.window * self.temperature) if np.isfinite(top) \
            else np.zeros(0, dtype=np.int64)
        if len(near) > self.cap:
            near = near[np.argpartition(-cand[near], self.cap)[:self.cap]]
        nconf, nsize = build(near)
        entry = (nconf, nsize, np.cumsum(np.exp((cand[near] - top) / self.temperature)))
        self.cache[center.tobytes()] = entry
        return entry

    def close(self, min_post: float, max_expansions: int) -> int:
        """Expand kept configurations with p(C | z) >= min_post that never were a centre, most probable
        first, until none is left or ``max_expansions`` were made."""
        done, m = 0, self.region.m
        while done < max_expansions:
            st = self.store
            cut = st.log_mass + np.log(min_post)
            todo, score = [], []
            for ic, isz, ilp in zip(st.ind_c, st.ind_s, st.ind_lp):
                hit = ilp >= cut
                todo += [c[:s].astype(np.int64) for c, s in zip(ic[hit], isz[hit])]
                score += ilp[hit].tolist()
            for c, bj, blp in zip(st.blk_c, st.blk_j, st.blk_lp):
                hit = blp >= cut
                todo += [np.sort(np.append(c[c < m], j)).astype(np.int64) for j in bj[hit]]
                score += blp[hit].tolist()
            order = [i for i in np.argsort(score)[::-1] if todo[i].tobytes() not in self.cache]
            if not order:
                break
            for i in order[:max_expansions - done]:
                if todo[i].tobytes() not in self.cache:
                    self.expand(todo[i])
            done += len(order[:max_expansions - done])
        return done


def search(region: Region, n_iter: int, n_conv: int, prob_tol: float, log_prune: float = 20.0,
           sample_window: float = 15.0, sample_cap: int = 500, seed: int = 0, temperature: float = 1.0,
           close_min_post: float | None = 1e-5, close_max: int | None = None):
    """Run the SSS; return the ConfigStore of kept configurations, iterations done, converged and the
    number of configurations scored (allowed neighbours of every expanded configuration).

    After the stopping rule, every kept configuration with posterior >= ``close_min_post`` that never
    was the current configuration is expanded too (at most ``close_max``), repeatedly: the neighbours of
    such configurations carry posterior mass that a proposal proportional to the posterior rarely reaches
    in diffuse loci (``None`` switches this off and gives FINEMAP's search as published). The default
    ``close_max`` bounds its cost to about 2e6 / m expansions (at least 200).

    Parameters
    ----------
    region : Region
        Validated region with its prior and scores.
    n_iter, n_conv, prob_tol : int, int, float
        As :func:`finemap_sss` (here ``n_conv`` is required).
    log_prune, sample_window, sample_cap, seed, temperature, close_min_post, close_max
        As :func:`finemap_sss`.

    Returns
    -------
    store : ConfigStore
        The kept configurations.
    n_iterations : int
        Iterations done.
    converged : bool
        Whether the stopping rule was met before ``n_iter``.
    n_evaluated : int
        Configurations scored.

    References
    ----------
    Benner et al. (2016) Bioinformatics 32:1493, section 2.4; Hans, Dobra & West (2007) JASA 102:507.
    """
    rng = np.random.default_rng(seed)
    state = _Search(region, log_prune, sample_window, sample_cap, temperature)
    store, cache = state.store, state.cache
    history = np.empty(n_iter)
    tol = np.log1p(prob_tol)
    center = np.zeros(0, dtype=np.int64)
    converged, it = False, -1
    for it in range(n_iter):
        entry = cache.get(center.tobytes())
        if entry is None:
            entry = state.expand(center)
        nconf, nsize, cum = entry
        if len(cum) == 0:
            center = np.zeros(0, dtype=np.int64)
        else:
            pick = min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(cum) - 1)
            center = nconf[pick, :nsize[pick]].astype(np.int64)
        history[it] = store.log_mass
        if it >= n_conv and store.log_mass - history[it - n_conv] < tol:
            converged = True
            break
    if close_min_post:
        state.close(close_min_post, max(200, 2_000_000 // region.m) if close_max is None else close_max)
    return store, it + 1, converged, state.n_evaluated
