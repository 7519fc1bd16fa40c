"""The finemap stage's tables from a FINEMAP-inf fit (:mod:`.finemap_inf`), in FINEMAP's layout.

snp: ``pip``; ``post_mean`` = posterior mean of the sparse effect (unconditional, ``PIP E[b | causal]``)
plus the infinitesimal effect; ``post_mean_inf`` = the infinitesimal part ``tau^2 X' Omega (y - X E[b])``;
``post_sd`` = posterior sd of the sparse effect (unconditional); ``log10bf`` = log10 of posterior over
prior odds of inclusion (prior pi_j). Credible sets per k (``<block_id>:k<k>.<l>``, SNPs get those of the
most probable k) and the configuration table go through :func:`.tables.sss_tables`'s layout; the
block gets sigma^2 and tau^2.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .tables import sss_tables


def finemap_inf_tables(fit, R, snp, idx, block, coverage: float):
    """Fill ``snp`` (rows ``idx``) and ``block`` from a FINEMAP-inf fit; return (cs rows, config rows).

    Parameters
    ----------
    fit : FinemapInfFit
        The fit (:func:`.finemap_inf.finemap_inf`).
    R : numpy.ndarray
        LD of the fitted SNPs (purity of the sets).
    snp, idx, block
        As :func:`.tables.susie_tables` (``snp['prior_weight']`` holds pi_j).
    coverage : float
        Requested coverage of the sets.

    Returns
    -------
    cs : pandas.DataFrame
        Credible-set rows (schema finemap_cs, method finemap_inf).
    config : pandas.DataFrame
        The top configurations (schema finemap_config).

    References
    ----------
    Cui et al. (2024) Nat Genet 56:162; FINEMAP 1.4 .snp, .config and .cred files.
    """
    p = fit.pip.size
    beta, sd = np.nan_to_num(fit.beta), np.nan_to_num(fit.sd)
    second = fit.pip * (sd * sd + beta * beta)
    prior = np.clip(snp["prior_weight"].to_numpy(dtype=np.float64)[idx], 1e-300, 1 - 1e-16)
    pip = np.clip(fit.pip, 1e-300, 1 - 1e-16)
    log10bf = (np.log(pip) - np.log1p(-pip) - np.log(prior) + np.log1p(-prior)) / np.log(10)
    snp_df = pd.DataFrame({"index": np.arange(p), "pip": fit.pip, "log10bf": log10bf,
                           "mean": fit.mean + fit.infinitesimal,
                           "sd": np.sqrt(np.maximum(second - fit.mean ** 2, 0.0))})
    snp_df.attrs.update(post_k=fit.post_k.tolist(), converged=fit.converged, n_iterations=fit.niter)
    cred = pd.DataFrame([{"k": k, "cs": l, "index": int(i), "prob": float(q)}
                         for k, l, members, probs in fit.sets for i, q in zip(members, probs)],
                        columns=["k", "cs", "index", "prob"])
    block["coverage"] = coverage
    cs = sss_tables(snp_df, None, cred, snp, idx, block, R=R)
    if len(cs):
        cs["method"] = "finemap_inf"
    snp.loc[idx, "post_mean_inf"] = fit.infinitesimal
    block.update(sigmasq=fit.sigmasq, tausq=fit.tausq)
    vids = snp["variant_id"].to_numpy()[idx]
    prob = fit.config_prob
    config = pd.DataFrame({"rank": np.arange(1, len(prob) + 1),
                           "config": [",".join(vids[c]) for c in fit.configs],
                           "index": [c.tolist() for c in fit.configs], "k": [c.size for c in fit.configs],
                           "prob": prob, "log10bf": fit.config_log10bf,
                           "odds": prob[0] / prob if len(prob) else prob, "method": "finemap_inf"})
    return cs, config
