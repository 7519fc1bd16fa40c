"""The per-block fine-mapping task: loads one LD block (sumstats slice + LD) and calls a kernel.

For one LD block (chrom, [start, stop)) :func:`finemap_block` reads the block's rows of the munged sumstats
(schema `sumstats`) and of the genotype store's variants, matches them on ``chrom:pos:ref:alt`` (or the
swapped alleles, negating z), drops variants absent from or monomorphic in the reference, computes
R = :func:`locusflow.ld.matrix.ld_matrix` of the matched dosages, optionally runs the LD-mismatch
diagnostic (:mod:`.diagnostics`, removing flagged variants on request) and fine-maps with SuSiE-RSS
(:func:`.susie.susie_rss`) or FINEMAP's shotgun stochastic search (``locusflow.finemap.sss.finemap_sss``).
It returns the three tables (schemas `finemap_snp`, `finemap_cs`, `finemap_block`) stacked in one frame
with a ``record`` column, the transport format of :data:`BLOCK_OUTPUT` through the work-list runner.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..errors import InputError, LocusflowError
from ..io.dataset import read_dataset
from .susie import SusieError, susie_rss
from .inf_tables import finemap_inf_tables
from .tables import finish, sss_tables, susie_inf_tables, susie_tables

METHODS = ("susie", "finemap", "susie_inf", "finemap_inf")

def read_block_inputs(unit: dict, store: str, sumstats: str):
    """Sumstats rows and reference variants of the block, matched; returns (matched frame, counts).

    Matching is on ``chrom:pos:ref:alt``, or on the swapped alleles with z negated; variants monomorphic in
    the reference are dropped.

    Parameters
    ----------
    unit : dict
        The block: ``chrom``, ``start``, ``stop`` (positions in [start, stop)).
    store : str
        Genotype store directory (its ``variants.parquet``).
    sumstats : str
        Munged sumstats dataset.

    Returns
    -------
    matched : pandas.DataFrame
        The matched variants in store order, with ``z_ref`` (z on the reference's alleles), n and p.
    counts : dict
        n_sumstats, n_not_in_reference, n_allele_swapped, n_monomorphic.
    """
    chrom, start, stop = str(unit["chrom"]), int(unit["start"]), int(unit["stop"])
    flt = [("chrom", "==", chrom), ("pos", ">=", start), ("pos", "<", stop)]
    ss = read_dataset(sumstats, "sumstats", filters=flt)
    ref = read_dataset(f"{store}/variants.parquet", "variants", filters=flt)
    ss = ss[np.isfinite(ss["z"].to_numpy())].drop_duplicates("variant_id")
    ref = ref.drop_duplicates("variant_id")
    swapped_id = ss["chrom"] + ":" + ss["pos"].astype(str) + ":" + ss["alt"] + ":" + ss["ref"]
    direct = ss["variant_id"].isin(ref["variant_id"])
    swap = ~direct & swapped_id.isin(ref["variant_id"])
    ss = ss.assign(ref_id=np.where(direct, ss["variant_id"], swapped_id),
                   z_ref=np.where(swap, -ss["z"], ss["z"]))[direct | swap]
    m = ss[["ref_id", "z_ref", "n", "p"]].merge(ref, left_on="ref_id", right_on="variant_id")
    m = m.sort_values("store_index").reset_index(drop=True)
    mono = ~((m["af"] > 0) & (m["af"] < 1)).to_numpy()
    counts = {"n_sumstats": int(len(direct)), "n_not_in_reference": int(len(direct) - direct.sum() - swap.sum()),
              "n_allele_swapped": int(swap.sum()), "n_monomorphic": int(mono.sum())}
    return m[~mono].reset_index(drop=True), counts


def finemap_block(unit: dict, *, store: str, sumstats: str, method: str = "susie", run_id: str = "susie",
                  n: float | None = None, samples=None, options: dict | None = None,
                  diagnostics: dict | None = None, prior_weights: dict | None = None,
                  ld_dir: str | None = None, priors: dict | None = None, impute: dict | None = None,
                  ld_panels: list | None = None) -> pd.DataFrame:
    """Kernel: fine-map one LD block.

    ``ld_dir``: the LD stage's output (``<out>/ld``); R is then read from the block's stored matrix
    (``unit['block_id']`` must be one of its blocks) instead of being computed from the store, and
    variants absent from that matrix (MAF filter) are dropped as ``n_not_in_ld``.

    ``prior_weights``: functional priors, {variant_id: weight} or {path: FILE, column: NAME}
    (:mod:`.priors`); ``priors``: priors from a score table through a link (:mod:`.functional`, the
    spec of :func:`.functional.prepare_priors`; unscored variants keep the neutral weight); ``options``: keyword arguments of :func:`.susie.susie_rss` or ``finemap_sss``;
    ``diagnostics``: {check, remove_flagged, loglr_threshold, z_threshold, z_std_diff_threshold}.
    ``impute``: {min_r2, ridge}: reference variants missing from the sumstats get ImpG z before fine-mapping
    (:mod:`.block_ld`); ``ld_panels``: [{store, samples, n}]: R is the n-weighted average of the panels' LD.

    Parameters
    ----------
    unit : dict
        The block: block_id, chrom, start, stop (and min_p).
    store, sumstats
        As :func:`read_block_inputs`.
    method : {"susie", "finemap", "susie_inf", "finemap_inf"}
        The kernel.
    run_id : str
        Name of the run in the tables.
    n : float, optional
        GWAS sample size (default the median of the sumstats' n).
    samples : sequence of str, optional
        Reference-panel samples R is computed from (all by default).
    options : dict, optional
        Kernel keyword arguments.
    diagnostics : dict, optional
        LD-mismatch check settings (:func:`.diagnostics.ld_mismatch`).
    prior_weights : dict, optional
        Functional priors; variants without a weight are dropped.
    ld_dir : str, optional
        LD stage output to read R from.
    priors : dict, optional
        Score-based priors (:func:`.functional.block_prior_weights`); not with ``prior_weights``.
    impute : dict, optional
        ImpG imputation of untyped reference variants (:func:`.block_ld.impute_block`).
    ld_panels : list of dict, optional
        Mixed-ancestry LD panels (:func:`.block_ld.panel_ld`); not with ``ld_dir``.

    Returns
    -------
    pandas.DataFrame
        The block's snp, cs, block (and config) rows stacked (:func:`.tables.finish`); a block with no
        variant or prior weight left, or whose fit fails, gets a status saying why instead of failing the run.

    References
    ----------
    Zou et al. (2022) PLoS Genet 18:e1010299 (SuSiE-RSS, kriging_rss); Benner et al. (2016)
    Bioinformatics 32:1493 (FINEMAP); Weissbrod et al. (2020) (PolyFun priors).
    """
    from ..io.genotypes import GenotypeStore
    from ..ld.matrix import ld_matrix
    t0 = time.time()
    options, diagnostics = dict(options or {}), dict(diagnostics or {})
    m, counts = read_block_inputs(unit, store, sumstats)
    counts.update(n_no_prior_weight=0, n_not_in_ld=0, n_imputed=0, n_low_imputation_r2=0, n_not_in_panels=0)
    ld_block = ld_var = None
    if ld_dir is not None:
        from ..ld.matrix import read_block_ld
        ld_var, ld_r = read_block_ld(ld_dir, unit["block_id"])
        sel = pd.Index(ld_var["variant_id"]).get_indexer(m["variant_id"])
        counts["n_not_in_ld"] = int((sel < 0).sum())
        m = m.assign(ld_index=sel)[sel >= 0].reset_index(drop=True)
        ld_block = ld_r
    if impute is not None:
        from .block_ld import untyped_variants
        m = pd.concat([m, untyped_variants(unit, store, m, ld_var)], ignore_index=True)
        m = m.sort_values("pos", kind="stable").reset_index(drop=True)
    if prior_weights is not None:
        from .priors import read_prior_weights
        w = m["variant_id"].map(read_prior_weights(prior_weights, unit))
        keep = w.notna().to_numpy() & (w.fillna(0).to_numpy() >= 0)
        counts["n_no_prior_weight"] = int((~keep).sum())
        m = m[keep].assign(weight=w[keep].astype(float)).reset_index(drop=True)
    elif priors is not None:
        from .functional import block_prior_weights
        m = m.assign(weight=block_prior_weights(m["variant_id"].to_numpy(), priors, unit)[0])
    weighted = "weight" in m.columns
    if n is None and m["n"].notna().any():
        n = float(m["n"].median())
    block = {"record": "block", "run_id": run_id, "method": method, "block_id": unit["block_id"],
             "chrom": str(unit["chrom"]), "start": int(unit["start"]), "stop": int(unit["stop"]),
             "min_p": unit.get("min_p"), "n_gwas": n, "n_flagged": 0, "n_removed": 0, "n_cs": 0,
             "ld_s": None, "ld_mismatch": None, "seed_max_dpip": None, "converged": None, "niter": None, "elbo": None, **counts}
    if len(m) < 1:
        return finish(_snp_rows(m, block, n), None, block, "no variant left to fine-map", t0)
    if ld_panels:
        from .block_ld import panel_ld
        keep, R = panel_ld(m, store, ld_panels)
        block["n_not_in_panels"] = int((~keep).sum())
        m = m[keep].reset_index(drop=True)
    elif ld_block is not None:
        ix = m["ld_index"].to_numpy()
        R = ld_block[np.ix_(ix, ix)].astype(np.float64)
        del ld_block
    else:
        from ..ld.stage import read_samples
        gs = GenotypeStore(store)
        sidx = None if samples is None else gs.sample_index(read_samples(samples, gs))
        R = ld_matrix(gs.dosages(index=m["store_index"].to_numpy(), samples=sidx)).astype(np.float64)
    if impute is not None:
        from .block_ld import impute_block
        m, R, found = impute_block(m, R, impute)
        block.update(found)
    snp = _snp_rows(m, block, n)
    if len(m) < 1:
        return finish(snp, None, block, "no variant left to fine-map", t0)
    z = m["z_ref"].to_numpy(dtype=np.float64)
    keep = np.ones(len(m), bool)
    if diagnostics.get("check", True) and len(m) > 1:
        from .diagnostics import ld_mismatch
        k = ld_mismatch(z, R, n, loglr_threshold=diagnostics.get("loglr_threshold", 2.0),
                        z_threshold=diagnostics.get("z_threshold", 2.0),
                        z_std_diff_threshold=diagnostics.get("z_std_diff_threshold"))
        snp["ld_z_std_diff"], snp["ld_loglr"] = k["z_std_diff"].to_numpy(), k["logLR"].to_numpy()
        snp["ld_flagged"] = k["flagged"].to_numpy()
        block["ld_s"], block["n_flagged"] = k.attrs["s"], int(k["flagged"].sum())
        s_max = diagnostics.get("s_threshold")
        block["ld_mismatch"] = bool(block["n_flagged"] > 0 or (s_max is not None and k.attrs["s"] > float(s_max)))
        if diagnostics.get("remove_flagged", False):
            keep = ~k["flagged"].to_numpy()
            snp["removed"] = ~keep
            block["n_removed"] = int((~keep).sum())
    idx = np.flatnonzero(keep)
    pw = m["weight"].to_numpy()[idx] if weighted else np.full(idx.size, 1.0 / idx.size)
    if pw.sum() <= 0:
        return finish(snp, None, block, "all prior weights are zero", t0)
    snp.loc[idx, "prior_weight"] = pw / pw.sum()
    zk, Rk = (z, R) if idx.size == len(z) else (z[idx], R[np.ix_(idx, idx)])
    del R
    w = pw if weighted else None
    if method not in METHODS:
        raise LocusflowError(f"finemap.method must be one of {METHODS}, not {method!r}")
    try:
        cs, config = fit_block(method, zk, Rk, n, w, options, snp, idx, block)
    except (SusieError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return finish(snp, None, block, f"failed: {exc}", t0)
    return finish(snp, cs, block, "ok", t0, config)


def _snp_rows(m: pd.DataFrame, block: dict, n) -> pd.DataFrame:
    """The block's snp rows (schema finemap_snp) before fitting; imputed variants flagged with their r^2."""
    imputed = m["imputation_r2"].notna() if "imputation_r2" in m else pd.Series(False, index=m.index)
    return pd.DataFrame({"record": "snp", "run_id": block["run_id"], "method": block["method"],
                         "block_id": block["block_id"], "chrom": m["chrom"], "pos": m["pos"],
                         "variant_id": m["variant_id"], "rsid": m["rsid"], "ref": m["ref"], "alt": m["alt"],
                         "z": m["z_ref"], "n": n, "removed": False, "prior_weight": 0.0, "imputed": imputed,
                         "imputation_r2": m["imputation_r2"] if "imputation_r2" in m else np.nan})


def kernel_options(kernel, options: dict, section: str) -> dict:
    """``options`` checked against the kernel's keyword parameters: an unknown key is a config error.

    Parameters
    ----------
    kernel : callable
        The kernel function; its keyword-only parameters are the allowed keys.
    options : dict
        Options from the config.
    section : str
        Config section, named in the error.

    Returns
    -------
    dict
        A copy of ``options``.

    Raises
    ------
    InputError
        For the first unknown key.
    """
    import inspect
    known = {p.name for p in inspect.signature(kernel).parameters.values() if p.kind == p.KEYWORD_ONLY}
    bad = sorted(set(options) - known)
    if bad:
        raise InputError("config", f"options of {kernel.__name__}: {sorted(known)}", column=f"finemap.{section}",
                         value=bad[0])
    return dict(options)


def fit_block(method: str, z, R, n, weights, options: dict, snp, idx, block):
    """Run the kernel of ``method`` on one block's z and R; fill ``snp``/``block``; (cs rows, config).

    For FINEMAP, ``options`` may also hold ``n_seeds`` and ``seed_tol``: the search is repeated from
    further seeds and the block counts as converged only when no PIP moves by more than ``seed_tol``.

    Parameters
    ----------
    method : {"susie", "finemap", "susie_inf", "finemap_inf"}
        The kernel.
    z : numpy.ndarray, shape (p,)
        z-scores of the SNPs kept.
    R : numpy.ndarray, shape (p, p)
        Their LD.
    n : float or None
        GWAS sample size (required by finemap and susie_inf).
    weights : numpy.ndarray, optional
        Prior weights of the SNPs.
    options : dict
        Kernel keyword arguments (:func:`kernel_options`).
    snp, idx, block
        As :func:`.tables.susie_tables`.

    Returns
    -------
    cs : pandas.DataFrame
        Credible-set rows.
    config : pandas.DataFrame or None
        FINEMAP's (or FINEMAP-inf's) configurations (None for the SuSiE methods).

    Raises
    ------
    LocusflowError
        When finemap, susie_inf or finemap_inf gets no sample size.
    """
    if method == "susie":
        opts = kernel_options(susie_rss, options, method)
        fit = susie_rss(z, R, n, **{"prior_weights": weights, **opts})
        return susie_tables(fit, z, snp, idx, block, opts.get("prior_tol", 1e-9)), None
    if n is None:
        raise LocusflowError(f"{method} needs the GWAS sample size: set finemap.n or an n column")
    if method == "susie_inf":
        from .susie_inf import susie_inf
        opts = kernel_options(susie_inf, options, method)
        fit = susie_inf(z, R, n, **{"prior_weights": weights, **opts})
        return susie_inf_tables(fit, R, snp, idx, block, opts.get("coverage", 0.95)), None
    if method == "finemap_inf":
        from .finemap_inf import finemap_inf
        opts = kernel_options(finemap_inf, options, method)
        fit = finemap_inf(z, R, n, **{"prior_weights": weights, **opts})
        return finemap_inf_tables(fit, R, snp, idx, block, opts.get("coverage", 0.95))
    from .sss import finemap_sss
    if n is None:
        raise LocusflowError("finemap_sss needs the GWAS sample size: set finemap.n or an n column")
    opts = dict(options)
    n_seeds, seed_tol = int(opts.pop("n_seeds", 1)), float(opts.pop("seed_tol", 0.01))
    opts = kernel_options(finemap_sss, opts, method)
    vid = snp["variant_id"].to_numpy()[idx]
    snp_df, config_df, cred_df = finemap_sss(z, R, n, prior_weights=weights, variant_id=vid, **opts)
    block["coverage"] = opts.get("coverage", 0.95)
    cs = sss_tables(snp_df, config_df, cred_df, snp, idx, block, R=R)
    if n_seeds > 1:     # FINEMAP's advice: run the search from several seeds and compare them
        seed0 = int(opts.pop("seed", 0))
        pips = [finemap_sss(z, R, n, prior_weights=weights, seed=seed0 + i, **opts).snp["pip"].to_numpy()
                for i in range(1, n_seeds)]
        block["seed_max_dpip"] = float(max(np.abs(p - snp_df["pip"].to_numpy()).max() for p in pips))
        block["converged"] = bool(block["converged"]) and block["seed_max_dpip"] <= seed_tol
    return cs, config_df
