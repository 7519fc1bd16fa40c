"""FINEMAP's shotgun stochastic search (Benner et al. 2016, section 2.4; Hans, Dobra & West 2007), as the
FINEMAP v1.4.2 binary runs it.

Starting from the empty configuration, each iteration scores the neighbourhood of the current
configuration C (|C| = k):

* deletion: C - {c_i}, for each of the k SNPs;
* change:   C - {c_i} + {j}, for every SNP j not in C, but only for the bases C - {c_i} that score above the
  empty configuration (log BF + log prior odds > 0);
* addition: C + {j}, for every j not in C, when k < max_causal.

The next configuration is drawn as Hans et al. propose: one candidate from each move type in proportion to
its posterior within the type, then one of the (up to three) candidates in proportion to their posteriors.
The search stops after ``n_conv`` consecutive iterations that each added less than a fraction ``prob_tol``
of the posterior mass kept (FINEMAP ``--n-conv-sss`` 100 in 1.4.2, 1000 in 1.1; ``--prob-conv-sss-tol``
0.001), or after ``n_iter`` iterations (``--n-iter``, 100,000). Only the ``n_configs_top`` (50,000) most
probable configurations are kept (``store``); PIPs and the other outputs are sums over them (``results``),
i.e. the posterior restricted to the explored space, as in FINEMAP.

Each rule was measured on the binary (docs/benchmarks.md): the change rule by the configurations its
.config lists (20 SNPs, identity LD, K = 2: a second SNP at z = 3.1 adds no change row, at z = 3.2 one;
the threshold follows log BF = log(m - 1) for m = 20-1,000); the proposal by the number of configurations
it scores (N3finemapping response 2: 26-30 k, where sampling the whole neighbourhood in proportion to the
posterior scores 37-41 k, and the binary never moves to a 3-SNP configuration); the stopping rule by runs
that stop at exactly ``n_conv + 2`` iterations while every iteration still adds < 0.1% of the mass; the cap
by ``--n-configs-top``, with which the logged count becomes the cap plus the evicted configurations.
With the same rules our search scores the same configurations, in distribution, as the binary.

After the stopping rule (our addition, ``close_min_post``, off by default; FINEMAP's search is what runs
without it): every kept configuration with posterior >= close_min_post that never was the current one is
expanded too, repeatedly, because in diffuse loci a proposal proportional to the posterior rarely visits
them while their neighbourhoods hold mass (docs/benchmarks.md gives the measured effect).

The proposal does not enter the estimates (they are sums of scores, not visit counts), so
``temperature`` T may flatten it (sampling ∝ p^(1/T); T = 1 is FINEMAP's).

Speed: a row ``{B + j : j}`` of a base B is scored for all m SNPs at once in the eigenbasis of R_BB
(``Region.add_scores``, O(G |B| m) for G prior SDs) and computed once (``Region.row`` keeps recent rows);
rows are kept as blocks and every configuration is counted once by ownership rules, without a hash of
all of them (``store``). A configuration revisited as the current one reuses its cached proposal (per move
type, the part within ``sample_window`` nats of its best, at most ``sample_cap``). Configurations whose
posterior is below ``exp(-log_prune)`` times the best one (default 20 nats, 2e-9) are scored and counted
but not kept.
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
                prior_std=None, version="1.4", prior_prob=None, corr_config=0.95, include_null=False,
                n_iter=DEFAULTS["n_iter"], n_conv=None, prob_tol=DEFAULTS["prob_tol"],
                log_prune=20.0, sample_window=15.0, sample_cap=500, temperature=1.0, close_min_post=None,
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
    prior_std : float or sequence of float, optional
        Prior SD(s) of the standardised effects (FINEMAP ``--prior-std``); with several, the Bayes factor is
        their average (FINEMAP 1.4). Default: FINEMAP 1.4's update from the data
        (:func:`.bayes.finemap_prior_std`, the list its log reports as "Updated prior SD of effect sizes";
        0.05 for version 1.1).
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
        Stopping rule (module docstring): at most ``n_iter`` iterations; stop after ``n_conv`` consecutive
        iterations that each added less than a fraction ``prob_tol`` of the kept posterior mass (default
        ``n_conv``: 100 for version 1.4, FINEMAP 1.4.2's; 1000 for 1.1).
    log_prune, sample_window, sample_cap, temperature : float, float, int, float
        Search internals (module docstring): configurations below ``exp(-log_prune)`` times the best
        are not kept; the proposal holds, per move type, neighbours within ``sample_window`` nats of the
        type's best (at most ``sample_cap``), sampled proportionally to ``p^(1/temperature)``.
    close_min_post, close_max : float or None, int or None
        Closure after the stopping rule (module docstring; e.g. ``close_min_post=1e-5``); None (or 0), the
        default, gives FINEMAP's search.
    n_configs_top : int or None
        Configurations kept, the most probable (``--n-configs-top``, 50000; None: no cap); also the rows
        of the config table.
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
        ``prior_k``, ``log10bf_region`` (its .log_sss), ``n_configs`` (kept), ``n_evaluated``
        (configurations scored, each once), ``n_stored`` (those that entered the store: FINEMAP's
        "configurations evaluated"), ``n_iterations``, ``converged``, ``extra["prior_std"]``; iterating
        over it yields the three tables with these values in their ``attrs``.

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
                                                   sample_cap, seed, temperature, close_min_post, close_max,
                                                   cap=n_configs_top)
    individual, blocks = store.arrays()
    return summarise(region, *individual, blocks=blocks, method=method, n_configs_top=n_configs_top,
                     coverage=coverage, n_iterations=n_done, converged=converged, n_evaluated=n_evaluated,
                     n_stored=store.n_stored, extra={"prior_std": region.model.grid.tolist()})


def _neighbourhood(region: Region, c: np.ndarray):
    """Scores of c's deletion, change and addition neighbours, flattened as [k deletions, k x m changes,
    m additions], the change bases, the rows scored (bases with their changes, then c's additions, as
    (base, row index) pairs), and a builder of padded configurations for flat indices.

    As FINEMAP 1.4.2 (module docstring), the change moves C - c_i + j are scored only when the base C - c_i
    scores above the empty configuration (log BF + log prior odds > 0).
    """
    m, k, kmax = region.m, len(c), region.max_causal
    bases = np.array([np.delete(c, i) for i in range(k)], dtype=np.int64).reshape(k, max(k - 1, 0))
    lp_del = np.empty(k)
    lp_chg = np.full((k, m), -np.inf)
    rows = []
    for i in range(k):
        b = region.base(bases[i])
        lp_del[i] = b.log_post if (k > 1 or region.include_null) else -np.inf
        if k == 1 or b.log_post > 0.0:
            lp_chg[i] = region.row(bases[i])
            lp_chg[i, c] = -np.inf
            rows.append((bases[i], i))
    if k < kmax:
        lp_add = region.row(c)
        rows.append((c, k))
    else:
        lp_add = np.full(m, -np.inf)
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

    return cand, bases, rows, build


class _Search:
    """State of one search: the store, the expanded centres' proposals and the best score seen."""

    def __init__(self, region, log_prune, sample_window, sample_cap, temperature, cap=None):
        self.region, self.store, self.cache, self.best = region, ConfigStore(region, cap), {}, -np.inf
        self.log_prune, self.window, self.cap, self.temperature = log_prune, sample_window, sample_cap, temperature

    def expand(self, center: np.ndarray, propose: bool = True):
        """Score and store the neighbourhood of a new centre; cache and return its proposal (with
        ``propose``; the closure step only scores)."""
        region, store, m, k = self.region, self.store, self.region.m, len(center)
        cand, bases, rows, build = _neighbourhood(region, center)
        top = cand.max()
        self.best = max(self.best, top)
        thr = self.best - self.log_prune
        sel = np.flatnonzero(np.isfinite(cand[:k]))
        if len(sel):
            store.add_deletions(*build(sel), cand[sel], thr)
        for base, i in rows:     # additions of c and change moves C - c_i + j (additions of the base C - c_i)
            store.add_row(base, cand[k + i * m: k + (i + 1) * m], thr)
        store.flush()
        if not propose:
            self.cache[center.tobytes()] = None
            return None
        entry = []     # FINEMAP's proposal (Hans et al. 2007): one candidate per move type, then one of them
        for lo, hi in ((0, k), (k, k + k * m), (k + k * m, len(cand))):
            seg = cand[lo:hi]
            if not len(seg) or not np.isfinite(seg.max()):
                continue
            peak = seg.max()
            near = lo + np.flatnonzero(seg >= peak - self.window * self.temperature)
            if len(near) > self.cap:
                near = near[np.argpartition(-cand[near], self.cap)[:self.cap]]
            nconf, nsize = build(near)
            entry.append((nconf, nsize, np.cumsum(np.exp((cand[near] - peak) / self.temperature)), cand[near]))
        self.cache[center.tobytes()] = entry
        return entry

    def close(self, min_post: float, max_expansions: int) -> int:
        """Expand kept configurations with p(C | z) >= min_post that never were a centre, most probable
        first, until none is left or ``max_expansions`` were made."""
        done = 0
        while done < max_expansions:
            configs, sizes, lp = self.store.above(self.store.log_mass + np.log(min_post))
            todo = [configs[i, :sizes[i]].astype(np.int64) for i in np.argsort(-lp, kind="stable")]
            todo = [c for c in todo if c.tobytes() not in self.cache and self._unscored(c)]
            if not todo:
                break
            for c in todo[:max_expansions - done]:
                if c.tobytes() not in self.cache and self._unscored(c):
                    self.expand(c, propose=False)
                    done += 1
        return done

    def _unscored(self, c: np.ndarray) -> bool:
        """Whether expanding c would score a row not scored yet (its additions or a change base's)."""
        rows = self.store.rows_done
        if len(c) < self.region.max_causal and c.tobytes() not in rows:
            return True
        return any(np.delete(c, i).tobytes() not in rows for i in range(len(c)))


def propose(entry, rng, temperature: float = 1.0) -> np.ndarray:
    """The next configuration: one candidate drawn from each move type (deletion, change, addition) in
    proportion to its posterior within the type, then one of the candidates in proportion to their
    posteriors (``^(1/temperature)``); the empty configuration when the neighbourhood is empty.

    Parameters
    ----------
    entry : list of tuple
        Per move type ``(configs [N, K] padded, sizes [N], cumulative weights [N], log posteriors [N])``.
    rng : numpy.random.Generator
        Random numbers (one draw per type and one for the choice).
    temperature : float
        Flattening of the choice between the types (1: FINEMAP's).

    Returns
    -------
    numpy.ndarray
        Sorted SNP indices of the next configuration.

    References
    ----------
    Hans C, Dobra A, West M (2007). Shotgun stochastic search for "large p" regression. JASA 102:507;
    Benner et al. (2016) Bioinformatics 32:1493, section 2.4.
    """
    if not entry:
        return np.zeros(0, dtype=np.int64)
    picks = [min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(cum) - 1)
             for _, _, cum, _ in entry]
    lp = np.array([e[3][i] for e, i in zip(entry, picks)])
    w = np.cumsum(np.exp((lp - lp.max()) / temperature))
    t = min(int(np.searchsorted(w, rng.random() * w[-1], side="right")), len(w) - 1)
    nconf, nsize = entry[t][0], entry[t][1]
    return nconf[picks[t], :nsize[picks[t]]].astype(np.int64)


def search(region: Region, n_iter: int, n_conv: int, prob_tol: float, log_prune: float = 20.0,
           sample_window: float = 15.0, sample_cap: int = 500, seed: int = 0, temperature: float = 1.0,
           close_min_post: float | None = None, close_max: int | None = None, cap: int | None = None):
    """Run the SSS; return the ConfigStore of kept configurations, iterations done, converged and the
    number of configurations scored (each once).

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
    cap : int, optional
        Configurations kept (``n_configs_top`` of :func:`finemap_sss`).

    Returns
    -------
    store : ConfigStore
        The kept configurations and the counts ``n_evaluated``, ``n_stored``.
    n_iterations : int
        Iterations done.
    converged : bool
        Whether the stopping rule was met before ``n_iter``.
    n_evaluated : int
        Configurations scored, each once.

    References
    ----------
    Benner et al. (2016) Bioinformatics 32:1493, section 2.4; Hans, Dobra & West (2007) JASA 102:507.
    """
    rng = np.random.default_rng(seed)
    state = _Search(region, log_prune, sample_window, sample_cap, temperature, cap=cap)
    store, cache = state.store, state.cache
    tol = np.log1p(prob_tol)
    center = np.zeros(0, dtype=np.int64)
    converged, it, calm, last = False, -1, 0, -np.inf
    for it in range(n_iter):
        entry = cache.get(center.tobytes())
        if entry is None:
            entry = state.expand(center)
        center = propose(entry, rng, state.temperature)
        # FINEMAP 1.4.2: stop after n_conv consecutive iterations that each added less than a fraction
        # prob_tol of the posterior mass kept (measured on the binary: module docstring)
        calm = calm + 1 if store.log_mass - last < tol else 0
        last = store.log_mass
        if calm >= n_conv:
            converged = True
            break
    if close_min_post:
        state.close(close_min_post, max(200, 2_000_000 // region.m) if close_max is None else close_max)
    return store, it + 1, converged, store.n_evaluated
