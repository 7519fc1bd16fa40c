"""Exhaustive FINEMAP: every causal configuration with 1 (0) <= k <= max_causal, the oracle for the SSS.

Each configuration's log BF is computed from its own Cholesky factor (``bayes.log_bf_configs``, batched
over configurations of one size), independently of the rank-one updates the search uses, with the same
prior and ``--corr-config`` rule; the tables come from the same ``results.summarise``. Feasible while
``sum_k C(m, k)`` is small (``max_configs``, default 3 million).
"""
from __future__ import annotations

import itertools
from math import comb

import numpy as np

from ...errors import InputError
from . import bayes
from .region import Region
from .results import FinemapResult, summarise


def finemap_exhaustive(z, R, n, *, prior_weights=None, max_causal=3, variant_id=None,
                       prior_std=None, version="1.4", prior_prob=None, corr_config=0.95,
                       include_null=False, max_configs=3_000_000, n_configs_top=50_000, coverage=0.95,
                       method="finemap_exhaustive", batch=200_000) -> FinemapResult:
    """Exact FINEMAP posterior by enumerating every configuration with 1 (0) <= k <= ``max_causal``.

    Parameters
    ----------
    z, R, n, prior_weights, max_causal, variant_id, prior_std, version, prior_prob, corr_config, include_null
        As :func:`locusflow.finemap.sss.finemap_sss`.
    max_configs : int
        Refuse (InputError) when ``sum_k C(m, k)`` exceeds it.
    n_configs_top, coverage, method
        As :func:`locusflow.finemap.sss.finemap_sss`.
    batch : int
        Configurations scored per batched Cholesky.

    Returns
    -------
    FinemapResult
        The same tables as the search, over every configuration.

    References
    ----------
    Benner C et al. (2016). FINEMAP. Bioinformatics 32:1493 (the model); the oracle the search is
    tested against.
    """
    region = Region(z, R, n, prior_weights, max_causal, prior_std, prior_prob, corr_config, include_null,
                    variant_id, version)
    m, kmax = region.m, region.max_causal
    total = sum(comb(m, k) for k in range(1, kmax + 1))
    if total > max_configs:
        raise InputError("finemap input", f"exhaustive search over {total} configurations exceeds "
                         f"max_configs={max_configs}; use finemap_sss", column="max_causal", value=max_causal)
    chunks_c, chunks_s, chunks_lp = [], [], []
    for k in range(0 if include_null else 1, kmax + 1):
        combos = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(m), k)),
                             dtype=np.int64, count=comb(m, k) * k).reshape(comb(m, k), k)
        for start in range(0, len(combos), batch):
            c = combos[start:start + batch]
            lp = np.full(len(c), -np.inf)
            ok = np.ones(len(c), bool)
            if k > 1:       # --corr-config: prior 0, not scored (R_CC may be singular)
                rcc = np.abs(np.asarray(region.r[c[:, :, None], c[:, None, :]], dtype=np.float64))
                iu = np.triu_indices(k, 1)
                ok = ~(rcc[:, iu[0], iu[1]] > corr_config).any(axis=1)
            if ok.any():
                lp[ok] = region.model.log_bf_configs(region.z, region.r, c[ok]) + region.log_odds[c[ok]].sum(axis=1)
            padded = np.full((len(c), kmax), m, dtype=np.int64)
            padded[:, :k] = c
            chunks_c.append(padded)
            chunks_s.append(np.full(len(c), k, dtype=np.int64))
            chunks_lp.append(lp)
    return summarise(region, np.concatenate(chunks_c), np.concatenate(chunks_s), np.concatenate(chunks_lp),
                     method=method, n_configs_top=n_configs_top, coverage=coverage)
