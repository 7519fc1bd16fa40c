"""FOCUS on one LD block: align GWAS z and gene-model weights to the reference panel, compute TWAS z,
fine-map genes (math in :mod:`locusflow.finemap.focus_model`), return ``focus_results`` rows.

Alignment follows pyfocus 0.802 ``fine_map``/``align_data`` (``focus finemap``):

- block membership is inclusive at both ends (start <= pos <= stop), as pyfocus subsets GWAS and panel;
- panel SNPs must be unambiguous ACGT SNPs, first of duplicated positions kept;
- GWAS z join the panel by chrom:pos with alleles equal, swapped, strand-flipped or both (pyfocus
  ``MATCH_ALLELES``); z is flipped to the panel's alt allele. pyfocus joins GWAS, panel and weights by
  rsid; we join by position and alleles (DESIGN: variant_id is the key, rsid an attribute), so inputs
  whose rsids disagree at the same position (unharmonised sumstats) give different SNP sets;
- a gene model takes part when one of its weight SNPs is a GWAS SNP of the block (pyfocus queries the
  database by the block's GWAS SNPs); its weights join the aligned SNPs the same way and are flipped to
  alt; models with no aligned SNP or only (near-)zero weights are dropped;
- V = corr(G_ref) + ridge * I over the SNPs with a weight in any model (missing calls mean-imputed);
  weight SNPs monomorphic in the panel are dropped (pyfocus gets NaN in V and loses the block);
- genes sorted by tx_start (ties: by model id); the null row is ``NULL.MODEL``.

Multi-ancestry (``len(pops) > 1``): each population is aligned on its own; gene models are matched across
populations by ``match_on`` (gene, tissue, method, panel by default), never by database order or model
number; PIPs per population and jointly (``population = "me"``). Differences from pyfocus, on purpose:
pyfocus matches genes by its integer model id and then pairs the populations' rows by their position after
separate tx_start sorts (wrong genes paired when the orders differ); it merges duplicated models of the
same gene/tissue/method/panel into one; its ``--intercept`` path raises NameError; a block with no GENCODE
gene aborts its whole run (we use prior 1e-3, the value its message announces); a block with one GENCODE
gene gets p = 1 and NaN PIPs (we use 1/2); a weight SNP monomorphic in the panel makes its V NaN.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .. import get_logger
from .focus_model import (credible_set, expression_correlation, fine_map_genes, intercept_residual,
                          prior_chisq, twas_z)

log = get_logger("focus")
MATCH_ON = ("gene", "tissue", "method", "ref_name")


def _code(a) -> np.ndarray:
    """int8 allele codes A=0 C=1 G=2 T=3 (complement = 3 - code), -1 for anything else (datasets hold
    upper-case alleles: sumstats schema, FOCUS reader)."""
    return pd.Categorical(np.asarray(a, dtype=object), categories=list("ACGT")).codes


def _valid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unambiguous ACGT SNP: both known, different, not complementary (pyfocus VALID_SNPS)."""
    return (a >= 0) & (b >= 0) & (a != b) & (a != 3 - b)


def _valid_snp(a, b) -> np.ndarray:
    return _valid(_code(a), _code(b))


def allele_sign(a_eff, a_oth, ref_alt, ref_ref) -> np.ndarray:
    """+1 when (a_eff, a_oth) is (alt, ref) up to strand, -1 when swapped, 0 when not matching or ambiguous
    (pyfocus MATCH_ALLELES / FLIP_ALLELES)."""
    e, o, alt, ref = _code(a_eff), _code(a_oth), _code(ref_alt), _code(ref_ref)
    valid = _valid(e, o) & _valid(alt, ref)
    same = ((e == alt) & (o == ref)) | ((3 - e == alt) & (3 - o == ref))
    swap = ((e == ref) & (o == alt)) | ((3 - e == ref) & (3 - o == alt))
    return np.where(valid & same, 1, np.where(valid & swap, -1, 0))


def _lookup(sorted_keys: np.ndarray, query: np.ndarray):
    """Positions of ``query`` in ``sorted_keys`` and whether each was found."""
    idx = np.searchsorted(sorted_keys, query)
    idx = np.minimum(idx, max(len(sorted_keys) - 1, 0))
    found = (sorted_keys[idx] == query) if len(sorted_keys) else np.zeros(len(query), bool)
    return idx, found


def block_panel(variants: pd.DataFrame, chrom: str, start: float, stop: float) -> pd.DataFrame:
    v = variants[(variants["chrom"] == str(chrom)) & (variants["pos"] >= start) & (variants["pos"] <= stop)]
    v = v[_valid_snp(v["alt"], v["ref"])]
    return v.drop_duplicates("pos").reset_index(drop=True)


def align_population(gwas: pd.DataFrame, panel: pd.DataFrame, weights: pd.DataFrame, models: pd.DataFrame,
                     geno, ridge: float = 0.1):
    """Aligned data of one population in one block, or None (reason logged).

    ``gwas``: sumstats rows of the block (pos, ref, alt, z); ``panel``: :func:`block_panel` rows with
    ``store_index``; ``weights``: weights-schema rows on the block's chromosome; ``models``: one row per
    model_id with tx_start, tx_stop, gene, gene_name, tissue, method, ref_name, gene_type, cv_r2, cv_pval;
    ``geno(index) -> [variants, samples]`` alt dosages. Returns dict(z, W, V, models).
    """
    ppos = panel["pos"].to_numpy()
    order = np.argsort(ppos, kind="stable")
    gi, found = _lookup(ppos[order], gwas["pos"].to_numpy())
    gi = order[gi[found]]
    p_alt, p_ref = panel["alt"].to_numpy(object)[gi], panel["ref"].to_numpy(object)[gi]
    sign = allele_sign(gwas["alt"].to_numpy(object)[found], gwas["ref"].to_numpy(object)[found], p_alt, p_ref)
    ok = sign != 0
    g_pos = gwas["pos"].to_numpy()[found][ok]
    g_pos, first = np.unique(g_pos, return_index=True)  # sorted, first of duplicated positions
    g_z = (gwas["z"].to_numpy(float)[found] * sign)[ok][first]
    g_sidx = panel["store_index"].to_numpy()[gi][ok][first]
    g_alt, g_ref = p_alt[ok][first], p_ref[ok][first]
    w = weights[np.isin(weights["pos"].to_numpy(), gwas["pos"].to_numpy())]
    if not len(w):
        log.warning("no weight SNP among the block's GWAS SNPs")
        return None
    wi, wf = _lookup(g_pos, w["pos"].to_numpy())
    wi = wi[wf]
    w = w[wf]
    s = allele_sign(w["effect_allele"].to_numpy(object), w["other_allele"].to_numpy(object), g_alt[wi], g_ref[wi])
    keep = s != 0
    wval = (w["weight"].to_numpy(float) * s)[keep]
    wi, mid = wi[keep], w["model_id"].to_numpy(object)[keep]
    codes, uniq = pd.factorize(mid)
    any_nz = np.bincount(codes, weights=~np.isclose(wval, 0), minlength=len(uniq)) > 0
    keep = any_nz[codes]
    wval, wi, mid = wval[keep], wi[keep], mid[keep]
    if not len(wval):
        log.warning("no weights overlapped the GWAS data")
        return None
    md = models[models["model_id"].isin(set(mid))]
    md = md.sort_values(["tx_start", "model_id"], kind="stable").reset_index(drop=True)
    used = np.unique(wi)
    snps = pd.DataFrame({"pos": g_pos[used], "z": g_z[used], "store_index": g_sidx[used]})
    w = pd.DataFrame({"store_index": g_sidx[wi], "model_id": mid, "weight": wval})
    dosage = np.asarray(geno(snps["store_index"].to_numpy()), dtype=np.float64)
    poly = np.nanvar(dosage, axis=1) > 0
    if not poly.all():  # pyfocus would put NaN into V and lose the block; we drop them
        log.info("dropped %d weight SNPs monomorphic in the panel", int((~poly).sum()))
        snps, dosage = snps[poly].reset_index(drop=True), dosage[poly]
        w = w[w["store_index"].isin(set(snps["store_index"]))]
        md = md[md["model_id"].isin(set(w["model_id"]))].reset_index(drop=True)
        if not len(md):
            return None
    row = pd.Index(snps["store_index"]).get_indexer(w["store_index"])
    col = pd.Index(md["model_id"]).get_indexer(w["model_id"])
    W = np.zeros((len(snps), len(md)))
    np.add.at(W, (row, col), w["weight"].to_numpy(float))
    V = panel_ld(dosage, ridge)
    return {"z": snps["z"].to_numpy(float), "W": W, "V": V, "models": md}


def panel_ld(dosage: np.ndarray, ridge: float) -> np.ndarray:
    """corr of the variants (rows) with missing calls mean-imputed, float64, plus ridge * I."""
    x = np.asarray(dosage, dtype=np.float64)
    mean = np.nanmean(x, axis=1, keepdims=True)
    x = np.where(np.isnan(x), mean, x) - mean
    c = x @ x.T
    d = 1.0 / np.sqrt(np.diag(c))
    return c * d[:, None] * d[None, :] + ridge * np.eye(len(c))


def block_p_min(gwas: pd.DataFrame) -> float:
    """Smallest GWAS p of the block, from z (chi2_1 tail), as pyfocus computes it for munged sumstats."""
    return float(stats.chi2.sf(np.max(gwas["z"].to_numpy(float) ** 2), 1)) if len(gwas) else 1.0


def focus_block(block: dict, pops: list[dict], *, prior_prob: float, ridge: float = 0.1, max_genes: int = 3,
                credible_level: float = 0.9, intercept: bool = False, p_threshold: float = 5e-8,
                max_sets: float = 1e8, match_on=MATCH_ON, trait: str = "trait", return_data: bool = False):
    """FOCUS results of one block (``focus_results`` rows), empty when the block is skipped.

    ``block``: chrom, start, stop. ``pops``: per population dict(gwas, panel, weights, models, geno, name).
    """
    chrom, start, stop = str(block["chrom"]), block["start"], block["stop"]
    label = f"{chrom}:{int(start)}-{chrom}:{int(stop)}"
    empty = (pd.DataFrame(), None) if return_data else pd.DataFrame()
    local = []
    for p in pops:
        gw = p["gwas"]
        gw = gw[(gw["chrom"] == chrom) & (gw["pos"] >= start) & (gw["pos"] <= stop)]
        if not len(gw):
            log.info("block %s: no GWAS data in %s, skipped", label, p.get("name"))
            return empty
        local.append(gw)
    if all(block_p_min(gw) >= p_threshold for gw in local):
        log.info("block %s: no GWAS p < %g, skipped", label, p_threshold)
        return empty
    data = []
    for p, gw in zip(pops, local):
        panel = block_panel(p["panel"], chrom, start, stop)
        if not len(panel):
            log.info("block %s: no panel SNPs, skipped", label)
            return empty
        d = align_population(gw, panel, p["weights"], p["models"], p["geno"], ridge)
        if d is None:
            log.info("block %s: %s has no usable gene model, skipped", label, p.get("name"))
            return empty
        d["ldregion"] = f"{chrom}:{int(panel['pos'].iloc[0])}-{chrom}:{int(panel['pos'].iloc[-1])}"
        data.append(d)
    keys = []
    for d in data:  # identity of a model; duplicates of one identity are told apart by their rank
        k = d["models"][list(match_on)].astype(str).agg("\x1f".join, axis=1)
        keys.append(k + "\x1f" + k.groupby(k).cumcount().astype(str))
    common = pd.Index(keys[0])
    for k in keys[1:]:
        common = common[common.isin(set(k))]
    if not len(common):
        log.info("block %s: no gene model common to all populations, skipped", label)
        return empty
    for d, k in zip(data, keys):  # same genes, same order (population 1's tx_start order) everywhere
        idx = pd.Index(k).get_indexer(common)
        d["W"], d["models"] = d["W"][:, idx], d["models"].iloc[idx].reset_index(drop=True)
        keep = np.any(d["W"] != 0, axis=1)
        d["W"], d["z"], d["V"] = d["W"][keep], d["z"][keep], d["V"][np.ix_(keep, keep)]
    zs, wcors, chisqs, inter = [], [], [], []
    for d in data:
        d["twas_z"] = twas_z(d["W"], d["z"], d["V"])
        wcor, swld = expression_correlation(d["W"], d["V"], intercept)
        chisqs.append(prior_chisq(d["twas_z"], wcor))
        if intercept:
            d["twas_z"], iz = intercept_residual(d["twas_z"], swld, wcor)
            inter.append(iz)
        else:
            inter.append(np.nan)
        d["wcor"] = wcor
        zs.append(d["twas_z"])
        wcors.append(wcor)
    pips, nulls, method = fine_map_genes(zs, wcors, chisqs, prior_prob, max_genes, max_sets)
    names = [p.get("name") or f"pop{i + 1}" for i, p in enumerate(pops)]
    out = []
    for j, pip in enumerate(pips):
        i = min(j, len(data) - 1)
        is_me = len(pips) > 1 and j == len(pips) - 1
        md = data[i]["models"]
        n = len(md)
        pop_name = "me" if is_me else names[j]
        ldr = None if is_me else data[j]["ldregion"]
        tz = np.full(n, np.nan) if is_me else data[j]["twas_z"]

        def col(values, null):  # the gene rows, then the NULL.MODEL row
            return list(values) + [null]
        rows = pd.DataFrame({
            "block": label, "population": pop_name, "model_id": col(md["model_id"], "NULL.MODEL"),
            "ens_gene_id": col(md["gene"], "NULL.MODEL"), "ens_tx_id": col(md.get("ens_tx_id", [None] * n), None),
            "mol_name": col(md["gene_name"], "NULL"), "tissue": col(md["tissue"], None),
            "ref_name": col(md["ref_name"], None), "type": col(md["gene_type"], "NULL"), "chrom": chrom,
            "tx_start": col(md["tx_start"], None), "tx_stop": col(md["tx_stop"], None),
            "block_genes": 1.0 / prior_prob, "trait": trait, "inference": col(md["method"], None),
            "inter_z": np.nan if is_me else inter[j], "cv_r2": col(md["cv_r2"], np.nan),
            "cv_r2_pval": col(md["cv_pval"], np.nan), "ldregion": ldr,
            "twas_z": col(tz, np.nan if is_me else 0.0), "pip": col(pip, nulls[j]), "search": method})
        rows.loc[n, "inter_z"] = np.nan
        rows["in_cred_set"] = credible_set(rows["pip"].to_numpy(float), credible_level)
        out.append(rows.sort_values("pip", ascending=False, kind="stable"))
    res = pd.concat(out, ignore_index=True)
    return (res, data) if return_data else res
