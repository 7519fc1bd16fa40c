"""FINEMAP output tables (.snp, .config, .cred equivalents) from a set of scored configurations.

Given configurations C with unnormalised log posteriors ``log BF(C) + sum_{i in C} log odds_i`` (every
configuration found by the search, or all of them for the exhaustive oracle):

* ``p(C | z) = exp(lp_C) / sum_C' exp(lp_C')`` over the configurations kept;
* SNP PIP ``= sum_{C containing i} p(C | z)`` (FINEMAP .snp ``prob``);
* SNP ``log10bf = log10[(PIP/(1-PIP)) / (pi~/(1-pi~))]`` with pi~ the SNP's marginal prior inclusion
  probability under the truncated prior (FINEMAP .snp ``log10bf``);
* SNP ``mean``, ``sd``: posterior mean and sd of the scaled effect ``sqrt(n) beta / sigma`` averaged over
  configurations (zero where the SNP is not causal), from ``lambda_C | C ~ N(M^-1 z_C, M^-1)``;
* ``p(k | z) = sum_{|C| = k} p(C | z)`` and the prior ``p(k) ∝ e_k(odds)``;
* regional ``log10 BF`` of at least one causal SNP against none:
  ``log10 sum_{C != {}} p(C | C != {}) BF(C)`` (FINEMAP .log);
* credible sets per k (FINEMAP .cred<k>): for the top configuration C* with k SNPs and each of its
  signals l, the conditional probability that SNP j carries signal l given the other k-1 SNPs of C*,
  ``p(C* - c_l + j | z) / sum_j' p(C* - c_l + j' | z)``; the set is the smallest prefix of SNPs in
  decreasing probability whose sum reaches ``coverage`` (default 0.95).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import bayes
from ..credible import descending
from .bayes import logsumexp
from .region import Region

LN10 = np.log(10.0)
TIE_LOG = 1e-10   # log posteriors this close are ties (ordered by their SNPs)


@dataclass
class FinemapResult:
    """One region's FINEMAP-SSS output: ``snp`` (.snp: PIP, log10 BF per SNP), ``config`` (.config: the
    top configurations with probabilities), ``cred`` (.cred: credible sets per k) and ``post_k`` (posterior
    on the number of causal SNPs); unpacks as ``snp, config, cred = result``."""

    snp: pd.DataFrame
    config: pd.DataFrame
    cred: pd.DataFrame
    post_k: np.ndarray            # p(k | z), k = 0..K
    prior_k: np.ndarray           # p(k), k = 0..K
    log10bf_region: float
    n_configs: int
    n_iterations: int = 0
    converged: bool = True
    n_evaluated: int = 0          # configurations whose Bayes factor the search computed, each once
    n_stored: int = 0             # configurations that entered the store (FINEMAP's "configurations evaluated")
    extra: dict = field(default_factory=dict)

    def tables(self):
        for df in (self.snp, self.config, self.cred):
            df.attrs.update(post_k=self.post_k.tolist(), prior_k=self.prior_k.tolist(),
                            log10bf_region=self.log10bf_region, n_configs=self.n_configs,
                            n_iterations=self.n_iterations, converged=self.converged,
                            n_evaluated=self.n_evaluated, n_stored=self.n_stored)
        return self.snp, self.config, self.cred

    def __iter__(self):
        """``snp, config, cred = result``: the three tables, with the region's figures in their attrs."""
        return iter(self.tables())

    def __getitem__(self, i):
        return self.tables()[i]


def summarise(region: Region, configs: np.ndarray, sizes: np.ndarray, log_post: np.ndarray, *,
              blocks=None, method: str = "finemap", n_configs_top: int = 50_000, coverage: float = 0.95,
              **info) -> FinemapResult:
    """Tables from padded configurations ([N, K] sorted SNP indices, padding = m), sizes and scores,
    plus optional addition blocks (centres [B, K], entry block, entry SNP j, entry score) of ``store``.

    Parameters
    ----------
    region : Region
        The region the configurations were scored in.
    configs : numpy.ndarray, shape (N, K)
        Sorted SNP indices of each configuration, padded with m.
    sizes : numpy.ndarray, shape (N,)
        Number of SNPs in each configuration.
    log_post : numpy.ndarray, shape (N,)
        Unnormalised log posteriors; non-finite ones are dropped.
    blocks : tuple of numpy.ndarray, optional
        ``(centres, entry block, entry SNP, entry score)`` of configurations kept as blocks by ``store``.
    method : str
        Value of the tables' ``method`` column.
    n_configs_top : int
        Rows of the config table.
    coverage : float
        Credible-set coverage.
    **info
        Further :class:`FinemapResult` fields (``n_iterations``, ``converged``, ``n_evaluated``).

    Returns
    -------
    FinemapResult
        FINEMAP's .snp, .config and .cred tables, p(k | z), p(k) and the regional log10 BF.

    References
    ----------
    Benner et al. (2016) Bioinformatics 32:1493; FINEMAP 1.4 output files (.snp, .config, .cred, .log).
    """
    m, kmax = region.m, region.max_causal
    keep = np.isfinite(log_post)
    configs, sizes, log_post = configs[keep], sizes[keep].astype(np.int64), log_post[keep]
    if blocks is None:
        blocks = (np.zeros((0, kmax), np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    bc, be, bj, blp = blocks
    bsize = (bc < m).sum(axis=1).astype(np.int64)
    all_lp = np.concatenate([log_post, blp])
    all_size = np.concatenate([sizes, bsize[be] + 1])
    lse = logsumexp(all_lp)
    p_all = np.exp(all_lp - lse)
    post, bpost = p_all[:len(log_post)], p_all[len(log_post):]
    real = configs < m
    rows = np.broadcast_to(np.arange(len(configs))[:, None], configs.shape)[real]
    pip = np.zeros(m)
    pip += np.bincount(configs[real], weights=post[rows], minlength=m + 1)[:m]
    pip += np.bincount(bj, weights=bpost, minlength=m + 1)[:m]
    block_mass = np.bincount(be, weights=bpost, minlength=len(bc))
    breal = bc < m
    pip += np.bincount(bc[breal], weights=np.broadcast_to(block_mass[:, None], bc.shape)[breal],
                       minlength=m + 1)[:m]
    notpip = 1.0 - pip
    post_k = np.bincount(all_size, weights=p_all, minlength=kmax + 1).astype(np.float64)
    log_e = bayes.log_esp(region.log_odds, kmax)
    ks = np.arange(0 if region.include_null else 1, kmax + 1)
    prior_k = np.zeros(kmax + 1)
    prior_k[ks] = np.exp(log_e[ks] - logsumexp(log_e[ks]))
    log10bf_region = float((lse + np.log(post_k[1:].sum()) - logsumexp(log_e[1:])) / LN10) \
        if post_k[1:].sum() > 0 else 0.0
    prior_incl = bayes.marginal_prior_inclusion(region.log_odds, kmax, region.include_null)
    with np.errstate(divide="ignore", invalid="ignore"):
        log10bf = (np.log(np.clip(pip, 1e-300, None)) - np.log(np.clip(notpip, 1e-300, None))
                   - bayes.log_prior_odds(prior_incl)) / LN10

    def materialise(idx):
        out = np.full((len(idx), kmax), m, dtype=np.int64)
        ind = idx < len(log_post)
        out[ind] = configs[idx[ind]]
        e = idx[~ind] - len(log_post)
        blk = bc[be[e]].astype(np.int64)
        blk[np.arange(len(e)), bsize[be[e]]] = bj[e]
        out[~ind] = blk
        out.sort(axis=1)
        return out, all_size[idx]

    n_top = len(all_lp) if n_configs_top is None else min(n_configs_top, len(all_lp))
    top = np.argpartition(-all_lp, n_top - 1)[:n_top] if n_top < len(all_lp) else np.arange(len(all_lp))
    top_c, top_s = materialise(top)
    rank = _tie_rank(all_lp[top], top_c)
    order, top_c, top_s = top[rank], top_c[rank], top_s[rank]
    top_post = p_all[order]
    mean, sd = _effects(region, top_c, top_s, top_post)
    config_df = _config_table(region, top_c, top_s, top_post, all_lp[order], method)
    best_k = [np.flatnonzero(all_size == k) for k in range(kmax + 1)]
    best_k = [b[all_lp[b] >= all_lp[b].max() - TIE_LOG] for b in best_k if len(b)]
    best_k = np.array([b[_tie_rank(all_lp[b], materialise(b)[0])[0]] for b in best_k], dtype=np.int64)
    cred = _cred_table(region, *materialise(best_k), post_k, coverage, method)
    cs = pd.array([pd.NA] * m, dtype="Int64")
    if len(cred):
        kmap = int(np.argmax(post_k))
        top_cs = cred[cred.k == kmap].sort_values("prob", ascending=True)  # highest prob written last
        cs[top_cs["index"].to_numpy()] = top_cs["cs"].to_numpy()
    snp = pd.DataFrame({"variant_id": region.variant_id, "index": np.arange(m), "z": region.z,
                        "pip": pip, "log10bf": np.where(np.isfinite(log10bf), log10bf, np.nan),
                        "mean": mean, "sd": sd, "cs": cs, "method": method})
    return FinemapResult(snp, config_df, cred, post_k, prior_k, log10bf_region, int(len(all_lp)), **info)


def _tie_rank(log_post: np.ndarray, configs: np.ndarray) -> np.ndarray:
    """Order of configurations by decreasing posterior; ties (within ``TIE_LOG``) by their sorted SNP
    indices, lexicographically, so configurations of duplicate SNPs keep one order in every run."""
    order = np.argsort(-log_post, kind="stable")
    ls = log_post[order]
    group = np.concatenate([[0], np.cumsum(ls[:-1] - ls[1:] > TIE_LOG)]) if len(ls) else np.zeros(0, np.int64)
    keys = [configs[order, t] for t in range(configs.shape[1] - 1, -1, -1)] + [group]
    return order[np.lexsort(keys)]


def _effects(region: Region, configs, sizes, post, min_post: float = 1e-8):
    """Posterior mean and sd of lambda per SNP, from the top configurations with p(C | z) >= min_post."""
    m = region.m
    e1, e2 = np.zeros(m + 1), np.zeros(m + 1)
    for k in range(1, region.max_causal + 1):
        sel = (sizes == k) & (post >= min_post)
        if not sel.any():
            continue
        c = configs[sel, :k]
        mu, sdv = region.model.posterior_effects(region.z, region.r, c)
        w = post[sel][:, None]
        np.add.at(e1, c, w * mu)
        np.add.at(e2, c, w * (mu * mu + sdv * sdv))
    mean = e1[:m]
    return mean, np.sqrt(np.maximum(e2[:m] - mean * mean, 0.0))


def _config_table(region, configs, sizes, post, log_post, method) -> pd.DataFrame:
    vid = np.append(region.variant_id, "").astype(object)
    names = vid[configs[:, 0]]
    for t in range(1, configs.shape[1]):
        more = sizes > t
        names[more] = names[more] + "," + vid[configs[more, t]]
    index = pd.Series(list(configs), dtype=object).map(list)
    index = [row[:k] for row, k in zip(index, sizes.tolist())]
    log10bf = (log_post - region.log_prior(configs)) / LN10
    return pd.DataFrame({"rank": np.arange(1, len(configs) + 1), "config": names, "index": index,
                         "k": sizes.astype(np.int64), "prob": post, "log10bf": log10bf,
                         "odds": np.divide(post[0], post, out=np.full(len(post), np.inf), where=post > 0) if len(post) else post, "method": method})


def _cred_table(region, best_configs, best_sizes, post_k, coverage, method) -> pd.DataFrame:
    parts = []
    for top_c, k in zip(best_configs, best_sizes):
        if k == 0:
            continue
        top = top_c[:k]
        full = region.base(top).log_bf
        drop = np.array([full - region.base(np.delete(top, i)).log_bf for i in range(k)])
        for signal, i in enumerate(np.argsort(-drop, kind="stable")):   # FINEMAP: by the signal's log BF
            base = region.base(np.delete(top, i))
            lp = region.add_scores(base)
            if not np.isfinite(lp).any():
                continue
            prob = np.exp(lp - logsumexp(lp))
            order = descending(prob)
            cum = np.cumsum(prob[order])
            size = int(np.searchsorted(cum, coverage - 1e-12) + 1)
            idx = order[:size]
            parts.append(pd.DataFrame({
                "k": int(k), "cs": signal + 1, "rank": np.arange(1, size + 1), "index": idx,
                "variant_id": region.variant_id[idx], "prob": prob[idx], "cum_prob": cum[:size],
                "post_k": post_k[k], "method": method}))
    if not parts:
        return pd.DataFrame(columns=["k", "cs", "rank", "index", "variant_id", "prob", "cum_prob",
                                     "post_k", "method"])
    return pd.concat(parts, ignore_index=True)
