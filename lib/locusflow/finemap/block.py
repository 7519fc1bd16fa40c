"""The per-block fine-mapping kernel: sumstats slice + reference LD -> SNP PIPs, credible sets, block report.

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

import math
import time
import warnings

import numpy as np
import pandas as pd

from ..errors import LocusflowError
from ..io.dataset import read_dataset
from ..schema import Column, Schema, load
from .susie import SusieError, susie_rss

TABLES = {"snp": "finemap_snp", "cs": "finemap_cs", "block": "finemap_block"}


def tables() -> dict:
    """Record kind -> schema; FINEMAP's configurations when the installation has `finemap_config`."""
    from ..schema import available
    return {**TABLES, **({"config": config_schema()} if "finemap_config" in available() else {})}


def config_schema() -> Schema:
    """`finemap_config` (one region) with run_id, block_id and chrom added, partitioned like the rest."""
    base = load("finemap_config")
    keys = [Column("run_id", "string", False, description="name of the fine-mapping run"),
            Column("block_id", "string", False, description="LD block, chrom:start-stop"),
            Column("chrom", "string", False, description="chromosome without 'chr'")]
    cols = tuple(keys) + tuple(c for c in base.columns if c.name not in {k.name for k in keys})
    return Schema(base.name, base.description, cols, partition_by=("run_id", "chrom"),
                  sort_by=("block_id",) + tuple(base.sort_by))


def block_output_schema() -> Schema:
    """All columns of the three tables, nullable, plus ``record`` (snp | cs | block)."""
    cols = {"record": Column("record", "string", nullable=False)}
    for sch in tables().values():
        for c in (load(sch) if isinstance(sch, str) else sch).columns:
            if c.name in cols and cols[c.name].type != c.type:
                raise LocusflowError(f"schemas: column {c.name} has two types ({cols[c.name].type}, {c.type})")
            cols.setdefault(c.name, Column(c.name, c.type, nullable=True, description=c.description))
    return Schema("finemap_block_output", "per-block fine-mapping output (transport)", tuple(cols.values()))


def split_output(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The stacked kernel output -> {"snp": frame, "cs": frame, "block": frame}, each conformed."""
    return {k: (load(v) if isinstance(v, str) else v).conform(df[df["record"] == k].reset_index(drop=True),
                                                                source="finemap kernel")
            for k, v in tables().items()}


def read_block_inputs(unit: dict, store: str, sumstats: str):
    """Sumstats rows and reference variants of the block, matched; returns (matched frame, counts)."""
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
                  ld_dir: str | None = None) -> pd.DataFrame:
    """Kernel: fine-map one LD block.

    ``ld_dir``: the LD stage's output (``<out>/ld``); R is then read from the block's stored matrix
    (``unit['block_id']`` must be one of its blocks) instead of being computed from the store, and
    variants absent from that matrix (MAF filter) are dropped as ``n_not_in_ld``.

    ``prior_weights``: functional priors, {variant_id: weight} or {path: FILE, column: NAME}
    (:mod:`.priors`); ``options``: keyword arguments of :func:`.susie.susie_rss` or ``finemap_sss``;
    ``diagnostics``: {check, remove_flagged, loglr_threshold, z_threshold, z_std_diff_threshold}.
    """
    from ..io.genotypes import GenotypeStore
    from ..ld.matrix import ld_matrix
    t0 = time.time()
    options, diagnostics = dict(options or {}), dict(diagnostics or {})
    m, counts = read_block_inputs(unit, store, sumstats)
    counts["n_no_prior_weight"] = 0
    counts["n_not_in_ld"] = 0
    ld_block = None
    if ld_dir is not None:
        from ..ld.matrix import read_block_ld
        ld_var, ld_r = read_block_ld(ld_dir, unit["block_id"])
        sel = pd.Index(ld_var["variant_id"]).get_indexer(m["variant_id"])
        counts["n_not_in_ld"] = int((sel < 0).sum())
        m = m.assign(ld_index=sel)[sel >= 0].reset_index(drop=True)
        ld_block = ld_r
    if prior_weights is not None:
        from .priors import read_prior_weights
        w = m["variant_id"].map(read_prior_weights(prior_weights, unit))
        keep = w.notna().to_numpy() & (w.fillna(0).to_numpy() >= 0)
        counts["n_no_prior_weight"] = int((~keep).sum())
        m = m[keep].assign(weight=w[keep].astype(float)).reset_index(drop=True)
    if n is None and m["n"].notna().any():
        n = float(m["n"].median())
    block = {"record": "block", "run_id": run_id, "method": method, "block_id": unit["block_id"],
             "chrom": str(unit["chrom"]), "start": int(unit["start"]), "stop": int(unit["stop"]),
             "min_p": unit.get("min_p"), "n_gwas": n, "n_flagged": 0, "n_removed": 0, "n_cs": 0,
             "ld_s": None, "converged": None, "niter": None, "elbo": None, **counts}
    snp = pd.DataFrame({"record": "snp", "run_id": run_id, "method": method, "block_id": unit["block_id"],
                        "chrom": m["chrom"], "pos": m["pos"], "variant_id": m["variant_id"],
                        "rsid": m["rsid"], "ref": m["ref"], "alt": m["alt"], "z": m["z_ref"], "n": n,
                        "removed": False, "prior_weight": 0.0})
    if len(m) < 1:
        return _finish(snp, None, block, "no variant left to fine-map", t0)
    sidx = None
    if samples is not None:
        sidx = GenotypeStore(store).sample_index(samples)
    if ld_block is not None:
        ix = m["ld_index"].to_numpy()
        R = ld_block[np.ix_(ix, ix)].astype(np.float64)
        del ld_block
    else:
        R = ld_matrix(GenotypeStore(store).dosages(index=m["store_index"].to_numpy(), samples=sidx))
        R = R.astype(np.float64)
    z = m["z_ref"].to_numpy(dtype=np.float64)
    keep = np.ones(len(m), bool)
    if diagnostics.get("check", False) and len(m) > 1:
        from .diagnostics import ld_mismatch
        k = ld_mismatch(z, R, n, loglr_threshold=diagnostics.get("loglr_threshold", 2.0),
                        z_threshold=diagnostics.get("z_threshold", 2.0),
                        z_std_diff_threshold=diagnostics.get("z_std_diff_threshold"))
        snp["ld_z_std_diff"], snp["ld_loglr"] = k["z_std_diff"].to_numpy(), k["logLR"].to_numpy()
        snp["ld_flagged"] = k["flagged"].to_numpy()
        block["ld_s"], block["n_flagged"] = k.attrs["s"], int(k["flagged"].sum())
        if diagnostics.get("remove_flagged", False):
            keep = ~k["flagged"].to_numpy()
            snp["removed"] = ~keep
            block["n_removed"] = int((~keep).sum())
    idx = np.flatnonzero(keep)
    pw = m["weight"].to_numpy()[idx] if prior_weights is not None else np.full(idx.size, 1.0 / idx.size)
    if pw.sum() <= 0:
        return _finish(snp, None, block, "all prior weights are zero", t0)
    snp.loc[idx, "prior_weight"] = pw / pw.sum()
    zk, Rk = (z, R) if idx.size == len(z) else (z[idx], R[np.ix_(idx, idx)])
    del R
    w = pw if prior_weights is not None else None
    if method not in ("susie", "finemap"):
        raise LocusflowError(f"finemap.method must be susie or finemap, not {method!r}")
    try:
        if method == "susie":
            cs, config = _susie(zk, Rk, n, w, options, snp, idx, block), None
        else:
            cs, config = _finemap(zk, Rk, n, w, options, snp, idx, block)
    except (SusieError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return _finish(snp, None, block, f"failed: {exc}", t0)
    return _finish(snp, cs, block, "ok", t0, config)


def _finish(snp, cs, block, status, t0, config=None):
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


def _susie(z, R, n, pw, options, snp, idx, block) -> pd.DataFrame:
    opts = {k: v for k, v in options.items() if k != "prior_tol"}
    prior_tol = options.get("prior_tol", 1e-9)
    fit = susie_rss(z, R, n, prior_weights=pw, prior_tol=prior_tol, **opts)
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
    rows, best = [], np.full(p, -1.0)
    bid = block["block_id"]
    cs_col = np.full(p, None, dtype=object)
    for rank, (members, l, cov, pur) in enumerate(zip(fit.sets.cs, fit.sets.cs_index, fit.sets.coverage,
                                                       fit.sets.purity), start=1):
        members = members[members < p]
        a = alpha[l, members]
        name = f"{bid}:L{l + 1}"
        better = a > best[members]
        cs_col[members[better]] = name
        best[members[better]] = a[better]
        vids = snp["variant_id"].to_numpy()[idx[members]]
        lead = int(np.argmax(a))
        rows.append({"record": "cs", "run_id": block["run_id"], "method": "susie", "block_id": bid,
                     "chrom": block["chrom"], "cs": name, "rank": rank, "effect": l + 1, "k": None,
                     "coverage": cov, "requested_coverage": fit.sets.requested_coverage,
                     "min_abs_corr": pur[0], "mean_abs_corr": pur[1], "median_abs_corr": pur[2],
                     "n_variants": len(members), "variants": list(vids), "probs": [float(x) for x in a],
                     "lead_variant": vids[lead], "lead_pos": int(snp["pos"].to_numpy()[idx[members[lead]]]),
                     "log10bf": fit.lbf[l] / math.log(10), "prior_variance": fit.V[l]})
    snp.loc[idx, "cs"] = cs_col
    return pd.DataFrame(rows)


def _finemap(z, R, n, pw, options, snp, idx, block) -> pd.DataFrame:
    """FINEMAP-SSS through ``locusflow.finemap.sss.finemap_sss`` (built separately)."""
    try:
        from .sss import finemap_sss
    except ImportError as exc:
        raise LocusflowError("finemap.method 'finemap' needs locusflow.finemap.sss.finemap_sss, which this "
                             f"installation does not have ({exc})") from None
    from .finemap_adapter import adapt_finemap
    if n is None:
        raise LocusflowError("finemap_sss needs the GWAS sample size: set finemap.n or an n column")
    try:    # variant ids name the configurations when finemap_sss accepts them
        out = finemap_sss(z, R, n, prior_weights=pw, variant_id=snp["variant_id"].to_numpy()[idx], **options)
    except TypeError:
        out = finemap_sss(z, R, n, prior_weights=pw, **options)
    snp_df, config_df, cred_df = out
    block["coverage"] = options.get("coverage", 0.95)
    cs = adapt_finemap(snp_df, config_df, cred_df, snp, idx, block, R=R)
    return cs, config_df
