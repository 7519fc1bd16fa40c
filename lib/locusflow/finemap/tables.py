"""The finemap stage's tables: schemas `finemap_snp`, `finemap_cs`, `finemap_block` (and `finemap_config`),
their stacked transport form through the work-list runner, and the mapping of each kernel's fit onto them.

:func:`susie_tables` reads a :class:`~locusflow.finemap.susie.SusieFit` (PIPs, posterior means and sds,
log10 BF of the effect holding each SNP's largest alpha, credible sets named ``<block_id>:L<l>``);
:func:`sss_tables` reads a FINEMAP result's snp table (``pip``, ``log10bf``, ``mean``, ``sd`` with
``index``) and its credible sets in long form (one row per (k, cs, variant)); a set is named
``<block_id>:k<k>.<cs>`` and its purity (min / mean / median |r| over pairs) is computed from R. SNPs get
the ``cs`` of the most probable number of causal SNPs. The config table is passed through.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd

from ..errors import LocusflowError
from ..schema import Column, Schema, load
from .credible import purity

TABLES = {"snp": "finemap_snp", "cs": "finemap_cs", "block": "finemap_block"}


def tables() -> dict:
    """Record kind -> schema; FINEMAP's configurations when the installation has `finemap_config`.

    Returns
    -------
    dict
        ``{"snp": "finemap_snp", "cs": "finemap_cs", "block": "finemap_block"}``, plus ``"config"`` ->
        :func:`config_schema` when that schema is available.
    """
    from ..schema import available
    return {**TABLES, **({"config": config_schema()} if "finemap_config" in available() else {})}


def config_schema() -> Schema:
    """`finemap_config` (one region) with run_id, block_id and chrom added, partitioned like the rest.

    Returns
    -------
    Schema
        The key columns first, then finemap_config's; partitioned by run_id and chrom, sorted by block_id.
    """
    base = load("finemap_config")
    keys = [Column("run_id", "string", False, description="name of the fine-mapping run"),
            Column("block_id", "string", False, description="LD block, chrom:start-stop"),
            Column("chrom", "string", False, description="chromosome without 'chr'")]
    cols = tuple(keys) + tuple(c for c in base.columns if c.name not in {k.name for k in keys})
    return Schema(base.name, base.description, cols, partition_by=("run_id", "chrom"),
                  sort_by=("block_id",) + tuple(base.sort_by))


def block_output_schema() -> Schema:
    """All columns of the three tables, nullable, plus ``record`` (snp | cs | block).

    Returns
    -------
    Schema
        ``finemap_block_output``, the transport schema of the work-list runner.

    Raises
    ------
    LocusflowError
        When two tables give one column different types.
    """
    cols = {"record": Column("record", "string", nullable=False)}
    for sch in tables().values():
        for c in (load(sch) if isinstance(sch, str) else sch).columns:
            if c.name in cols and cols[c.name].type != c.type:
                raise LocusflowError(f"schemas: column {c.name} has two types ({cols[c.name].type}, {c.type})")
            cols.setdefault(c.name, Column(c.name, c.type, nullable=True, description=c.description))
    return Schema("finemap_block_output", "per-block fine-mapping output (transport)", tuple(cols.values()))


def split_output(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The stacked kernel output -> {"snp": frame, "cs": frame, "block": frame}, each conformed.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of :func:`block_output_schema` from every block.

    Returns
    -------
    dict of str to pandas.DataFrame
        One frame per kind of :func:`tables`, its rows selected by ``record`` and conformed to its schema.
    """
    return {k: (load(v) if isinstance(v, str) else v).conform(df[df["record"] == k].reset_index(drop=True),
                                                                source="finemap kernel")
            for k, v in tables().items()}


def finish(snp, cs, block, status, t0, config=None):
    """Stack one block's tables into the transport frame, with the block's status and timing.

    Parameters
    ----------
    snp : pandas.DataFrame
        The block's snp rows.
    cs : pandas.DataFrame or None
        Credible-set rows (None or empty: none).
    block : dict
        The block row; ``status``, ``n_fitted`` (SNPs with a PIP) and ``seconds`` are set here.
    status : str
        "ok" or why the block was not fine-mapped.
    t0 : float
        Start time (``time.time()``).
    config : pandas.DataFrame, optional
        FINEMAP's configurations, kept when the config table exists.

    Returns
    -------
    pandas.DataFrame
        All rows, with every column of :func:`block_output_schema` (list columns' NaN as None).
    """
    block["status"] = status
    block["n_fitted"] = int(snp["pip"].notna().sum()) if "pip" in snp else 0
    block["seconds"] = time.time() - t0
    parts = [snp, pd.DataFrame([block])] + ([cs] if cs is not None and len(cs) else [])
    if config is not None and len(config) and "config" in tables():
        parts.append(config.assign(record="config", run_id=block["run_id"], method=block["method"],
                                   block_id=block["block_id"], chrom=block["chrom"]))
    with warnings.catch_warnings():     # all-NA columns of some tables: the behaviour we rely on
        warnings.simplefilter("ignore", FutureWarning)
        out = pd.concat(parts, ignore_index=True)
    for c in block_output_schema().columns:
        if c.name not in out:
            out[c.name] = None
        elif c.type.startswith("list"):   # NaN from concat -> None (Arrow / Spark want null arrays)
            out[c.name] = [v if isinstance(v, list) else None for v in out[c.name]]
    return out


def susie_tables(fit, z, snp, idx, block, prior_tol: float = 1e-9) -> pd.DataFrame:
    """Fill ``snp`` (rows ``idx``) and ``block`` from a SuSiE fit in place; return the credible-set rows.

    ``log10bf`` of a SNP is that of the effect (V_l > ``prior_tol``) holding its largest alpha.

    Parameters
    ----------
    fit : SusieFit
        The fit (:func:`.susie.susie_rss`).
    z : numpy.ndarray, shape (p,)
        The fitted z-scores (p excludes a null column).
    snp : pandas.DataFrame
        The block's snp rows, updated in place.
    idx : numpy.ndarray
        Rows of ``snp`` that were fitted, in fit order.
    block : dict
        The block row, updated in place (converged, niter, elbo, n_cs).
    prior_tol : float
        Effects with V_l at most this are ignored.

    Returns
    -------
    pandas.DataFrame
        Credible-set rows (:func:`effect_sets`).
    """
    p = z.size
    alpha = fit.alpha[:, :p]
    on = fit.V > prior_tol
    snp.loc[idx, "pip"] = fit.pip
    snp.loc[idx, "post_mean"] = fit.posterior_mean()
    snp.loc[idx, "post_sd"] = fit.posterior_sd()
    if on.any():
        lstar = np.flatnonzero(on)[np.argmax(alpha[on], axis=0)]
        snp.loc[idx, "log10bf"] = fit.lbf_variable[lstar, np.arange(p)] / math.log(10)
    block.update(converged=fit.converged, niter=fit.niter, elbo=float(fit.elbo[-1]), n_cs=len(fit.sets))
    members = [m[m < p] for m in fit.sets.cs]
    return effect_sets(snp, idx, block, "susie", alpha, members, fit.sets.cs_index, fit.sets.coverage,
                       fit.sets.purity, fit.lbf, fit.V, fit.sets.requested_coverage)


def susie_inf_tables(fit, R, snp, idx, block, coverage: float) -> pd.DataFrame:
    """Fill ``snp`` and ``block`` from a SuSiE-inf fit (:mod:`.susie_inf`); return the credible-set rows.
    ``post_mean`` is the sparse effects' posterior mean plus the infinitesimal one (standardised scale),
    ``post_mean_inf`` the infinitesimal one; the block gets sigma^2 and tau^2.

    Parameters
    ----------
    fit : SusieInfFit
        The fit (:func:`.susie_inf.susie_inf`).
    R : numpy.ndarray, shape (p, p)
        LD of the fitted SNPs, for the sets' purity.
    snp, idx, block
        As :func:`susie_tables`.
    coverage : float
        Requested coverage of the sets.

    Returns
    -------
    pandas.DataFrame
        Credible-set rows (:func:`effect_sets`).
    """
    p = fit.pip.size
    snp.loc[idx, "pip"] = fit.pip
    snp.loc[idx, "post_mean"] = (fit.alpha * fit.mu).sum(0) + fit.infinitesimal
    snp.loc[idx, "post_mean_inf"] = fit.infinitesimal
    lstar = np.argmax(fit.alpha, axis=0)
    snp.loc[idx, "log10bf"] = fit.lbf_variable[lstar, np.arange(p)] / math.log(10)
    block.update(converged=fit.converged, niter=fit.niter, n_cs=len(fit.sets), sigmasq=fit.sigmasq, tausq=fit.tausq)
    cov = [float(fit.alpha[l, m].sum()) for m, l in zip(fit.sets, fit.set_effects)]
    pur = [purity(R[np.ix_(m, m)]) for m in fit.sets]
    return effect_sets(snp, idx, block, "susie_inf", fit.alpha, fit.sets, fit.set_effects, cov, pur, fit.lbf,
                       fit.ssq, coverage)


def effect_sets(snp, idx, block, method, alpha, members_list, effects, coverages, purities, lbf, prior_var,
                requested) -> pd.DataFrame:
    """Credible-set rows (schema finemap_cs) of single-effect sets, named ``<block_id>:L<l>``; each SNP's
    ``cs`` is the set where its weight is largest.

    Parameters
    ----------
    snp, idx, block
        As :func:`susie_tables` (``snp``'s ``cs`` column is set in place).
    method : str
        Value of the ``method`` column.
    alpha : numpy.ndarray, shape (L, p)
        Per-effect weights.
    members_list : sequence of array_like
        0-based SNP indices of each set.
    effects : sequence of int
        0-based effect of each set.
    coverages : sequence of float
        Achieved coverage of each set.
    purities : sequence of tuple
        (min, mean, median) |r| of each set.
    lbf : numpy.ndarray, shape (L,)
        Natural-log Bayes factor of each effect.
    prior_var : numpy.ndarray, shape (L,)
        Prior variance of each effect.
    requested : float
        Requested coverage.

    Returns
    -------
    pandas.DataFrame
        One row per set, ranked in the given order.
    """
    p = len(idx)
    rows, best = [], np.full(p, -1.0)
    bid = block["block_id"]
    cs_col = np.full(p, None, dtype=object)
    for rank, (members, l, cov, pur) in enumerate(zip(members_list, effects, coverages, purities), start=1):
        members = np.asarray(members, dtype=np.int64)
        a = alpha[l, members]
        name = f"{bid}:L{l + 1}"
        better = a > best[members]
        cs_col[members[better]] = name
        best[members[better]] = a[better]
        vids = snp["variant_id"].to_numpy()[idx[members]]
        lead = int(np.argmax(a))
        rows.append({"record": "cs", "run_id": block["run_id"], "method": method, "block_id": bid,
                     "chrom": block["chrom"], "cs": name, "rank": rank, "effect": l + 1, "k": None,
                     "coverage": cov, "requested_coverage": requested,
                     "min_abs_corr": pur[0], "mean_abs_corr": pur[1], "median_abs_corr": pur[2],
                     "n_variants": len(members), "variants": list(vids), "probs": [float(x) for x in a],
                     "lead_variant": vids[lead], "lead_pos": int(snp["pos"].to_numpy()[idx[members[lead]]]),
                     "log10bf": lbf[l] / math.log(10), "prior_variance": prior_var[l]})
    snp.loc[idx, "cs"] = cs_col
    return pd.DataFrame(rows)


def _col(df, *names):
    for n in names:
        if n in df.columns:
            return df[n].to_numpy()
    return None


def sss_tables(snp_df, config_df, cred_df, snp, idx, block, R=None) -> pd.DataFrame:
    """Fill ``snp`` (rows ``idx``) and ``block`` in place; return the credible-set rows.

    Sets are named ``<block_id>:k<k>.<cs>``; SNPs get the ``cs`` of the most probable number of causal SNPs.

    Parameters
    ----------
    snp_df, config_df, cred_df : pandas.DataFrame
        FINEMAP's snp, config and cred tables (:func:`locusflow.finemap.sss.finemap_sss`); ``snp_df.attrs``
        holds post_k, converged and n_iterations.
    snp, idx, block
        As :func:`susie_tables`.
    R : numpy.ndarray, optional
        LD of the fitted SNPs, for the sets' purity (NaN without it).

    Returns
    -------
    pandas.DataFrame
        Credible-set rows (schema finemap_cs), one per (k, cs).

    References
    ----------
    FINEMAP 1.4 .snp and .cred<k> files (Benner et al. 2016 Bioinformatics 32:1493).
    """
    p = idx.size
    order = _col(snp_df, "index")
    order = np.arange(p) if order is None else np.asarray(order, dtype=np.int64)
    for src, dst in ((("pip", "prob"), "pip"), (("log10bf",), "log10bf"), (("mean",), "post_mean"),
                     (("sd",), "post_sd")):
        v = _col(snp_df, *src)
        if v is not None:
            col = np.full(p, np.nan)
            col[order] = np.asarray(v, dtype=np.float64)
            snp.loc[idx, dst] = col
    attrs = getattr(snp_df, "attrs", {}) or {}
    block.update(converged=attrs.get("converged"), niter=attrs.get("n_iterations"))
    rows = []
    bid = block["block_id"]
    if cred_df is not None and len(cred_df):
        post_k = attrs.get("post_k")
        kmap = int(np.argmax(post_k)) if post_k is not None else None
        vids = snp["variant_id"].to_numpy()[idx]
        pos = snp["pos"].to_numpy()[idx]
        cs_col, best = np.full(p, None, dtype=object), np.full(p, -1.0)
        for rank, ((k, c), g) in enumerate(cred_df.groupby(["k", "cs"], sort=True), start=1):
            members = np.asarray(g["index"], dtype=np.int64)
            probs = np.asarray(g["prob"], dtype=np.float64)
            name = f"{bid}:k{int(k)}.{int(c)}"
            pur = purity(R[np.ix_(members, members)]) if R is not None else (np.nan,) * 3
            lead = int(np.argmax(probs))
            rows.append({"record": "cs", "run_id": block["run_id"], "method": "finemap", "block_id": bid,
                         "chrom": block["chrom"], "cs": name, "rank": rank, "effect": None, "k": int(k),
                         "coverage": float(probs.sum()), "requested_coverage": block.get("coverage", 0.95),
                         "min_abs_corr": pur[0], "mean_abs_corr": pur[1], "median_abs_corr": pur[2],
                         "n_variants": len(members), "variants": list(vids[members]),
                         "probs": [float(x) for x in probs], "lead_variant": vids[members[lead]],
                         "lead_pos": int(pos[members[lead]]), "log10bf": None, "prior_variance": None})
            if kmap is not None and int(k) == kmap:
                better = probs > best[members]
                cs_col[members[better]] = name
                best[members[better]] = probs[better]
        snp.loc[idx, "cs"] = cs_col
    block["n_cs"] = len(rows)
    return pd.DataFrame(rows)
