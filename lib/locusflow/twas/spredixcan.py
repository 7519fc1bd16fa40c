"""S-PrediXcan: gene-level association from GWAS z-scores and expression weights.

Barbeira et al. 2018 (Nat Commun 9:1825), reference implementation hakyimlab/MetaXcan
``SPrediXcan.py`` (``metax/metaxcan/AssociationCalculation.association``). For model g with weights
w_l (per copy of the model's effect allele) over the SNPs l used:

    sigma_l^2 = Gamma_ll,   sigma_g^2 = w' Gamma w                    (var_g)
    z_g = sum_l w_l sigma_l z_l / sigma_g                              (zscore)
    effect_size = sum_l w_l beta_l sigma_l^2 / sigma_g^2
    pvalue = 2 Phi(-|z_g|)

Gamma is the SNP covariance of the model's reference (the PredictDB covariance file, ``covariance=``)
or of the reference panel's dosages (``panel=``, a :class:`PanelLD`). SNPs used = model SNPs found
in the GWAS with matching alleles and a finite z, and present in Gamma; every other SNP is reported
with its reason (``not_in_gwas``, ``allele_mismatch``, ``ambiguous``, ``nonfinite_z``,
``not_in_ld``). Harmonisation: :mod:`locusflow.twas.harmonise` (MetaXcan never complements alleles;
``strand_flip=False`` reproduces it). MetaXcan aligns the GWAS once per rsid against all models of a
database, so a SNP whose effect allele differs between two models of one database gets one sign for
both; here each model's SNP is aligned on its own. All genes of a call are computed together with grouped sums
(covariance file) or one sparse-dense product (panel): no loop over genes or SNPs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import norm

from ..schema import load
from .harmonise import REASONS, SWAP, FLIP, FLIP_SWAP, match, match_gwas

MODEL_COLS = ["model_id", "gene", "gene_name", "tissue", "method", "panel"]


@dataclass
class PanelLD:
    """LD of a reference panel over ``variants`` (chrom, pos, rsid, ref, alt; effect = alt).

    ``cov``: covariance of alt dosages (S-PrediXcan's Gamma); ``corr``: correlation (FUSION's R).
    """
    variants: pd.DataFrame
    cov: np.ndarray | None = None
    corr: np.ndarray | None = None

    @classmethod
    def from_dosages(cls, variants: pd.DataFrame, dosage: np.ndarray) -> "PanelLD":
        """float64 covariance (divisor n-1, as numpy.cov / MetaXcan's covariance builder) and correlation
        of a [m, n] alt-dosage matrix; missing calls mean-imputed."""
        x = np.array(dosage, dtype=np.float64)
        mu = np.nanmean(x, axis=1, keepdims=True)
        x = np.where(np.isnan(x), mu, x) - mu
        cov = x @ x.T / max(x.shape[1] - 1, 1)
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(sd, sd)
        corr[~np.isfinite(corr)] = 0.0
        return cls(variants.reset_index(drop=True), cov, corr)


def _codes(keys: pd.Series):
    codes, uniq = pd.factorize(keys, sort=False)
    return codes, uniq


def _reasons(w: pd.DataFrame, used: np.ndarray, reason=None) -> pd.DataFrame:
    """Per model: ';'-joined SNPs used and 'rsid:reason' of the others, and per-reason counts."""
    if reason is None:
        reason = pd.Series(w["how"].map(REASONS).fillna(""), index=w.index)
        reason[(w["how"] > 0) & ~np.isfinite(w["z"])] = "nonfinite_z"
        reason[(reason == "") & ~used] = "not_in_ld"
    snp = w["rsid"].fillna(w["chrom"].astype(str) + ":" + w["pos"].astype(str))
    d = pd.DataFrame({"model_id": w["model_id"].to_numpy(), "snp": snp.to_numpy(), "reason": reason.to_numpy(),
                      "used": used})
    ids = d["model_id"].drop_duplicates()
    out = pd.DataFrame(index=pd.Index(ids, name="model_id"))
    out["snps_used"] = d[used].groupby("model_id", sort=False)["snp"].agg(";".join)
    dr = d[~used]
    out["snps_dropped"] = (dr["snp"] + ":" + dr["reason"]).groupby(dr["model_id"], sort=False).agg(";".join)
    out[["snps_used", "snps_dropped"]] = out[["snps_used", "snps_dropped"]].fillna("")
    for r in ("not_in_gwas", "allele_mismatch", "ambiguous", "nonfinite_z", "not_in_ld", "zero_weight"):
        out[f"n_dropped_{r}"] = (d["reason"] == r).groupby(d["model_id"], sort=False).sum()
    how = w["how"].to_numpy() if "how" in w else np.zeros(len(w), np.int8)
    out["n_swapped"] = pd.Series(used & ((how == SWAP) | (how == FLIP_SWAP))).groupby(d["model_id"].to_numpy()).sum()
    out["n_strand_flipped"] = pd.Series(used & ((how == FLIP) | (how == FLIP_SWAP))).groupby(d["model_id"].to_numpy()).sum()
    return out


def _models(w: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in MODEL_COLS + ["chrom", "cv_r2", "cv_pval", "cv_qval", "n_snps_in_model"] if c in w]
    m = w.groupby("model_id", sort=False)[cols[1:]].first()
    if "chrom" in m:   # chrom of the model: its first placed SNP
        placed = w[w["chrom"].astype(str) != "NA"].groupby("model_id", sort=False)["chrom"].first()
        m["chrom"] = placed.reindex(m.index).fillna("NA")
    return m.rename(columns={"cv_r2": "pred_perf_r2", "cv_pval": "pred_perf_pval", "cv_qval": "pred_perf_qval"})


def _assemble(w, used, num, var_g, eff, n_in_cov, n_used, method, ld_reference, reason=None):
    res = _models(w)
    res["zscore"] = num / np.sqrt(np.where(var_g > 0, var_g, np.nan))
    res["effect_size"] = eff
    res["var_g"] = var_g
    res["pvalue"] = 2 * norm.sf(np.abs(res["zscore"].to_numpy()))
    res["n_snps_used"] = n_used
    res["n_snps_in_cov"] = n_in_cov
    res["twas_method"], res["ld_reference"] = method, ld_reference
    res = res.join(_reasons(w, used, reason)).reset_index()
    res["block_id"], res["n_imputed"] = None, 0
    if "n_snps_in_model" not in res or res["n_snps_in_model"].isna().any():
        nz = (w["weight"] != 0).groupby(w["model_id"], sort=False).sum()
        res["n_snps_in_model"] = nz.reindex(res["model_id"]).to_numpy()
    sch = load("twas_results")
    for c in sch.names:
        if c not in res:
            res[c] = None
    return sch.conform(res[list(sch.names)], source=f"{method} kernel")


def spredixcan(weights: pd.DataFrame, gwas: pd.DataFrame, *, covariance: pd.DataFrame | None = None,
               panel: PanelLD | None = None, strand_flip: bool = True, ambiguous: str = "keep") -> pd.DataFrame:
    """S-PrediXcan for every model in ``weights`` (schema weights rows).

    ``gwas``: rsid and/or chrom/pos, ref, alt (effect), z[, beta] (schema sumstats columns).
    ``covariance``: (tissue, gene, rsid1, rsid2, value) rows from :func:`locusflow.io.weights.read_covariance`
    with the model's tissue added; or ``panel``. Returns one row per model (schema twas_results, less
    block_id).
    """
    if (covariance is None) == (panel is None):
        raise ValueError("give exactly one of covariance= or panel=")
    if not len(weights):
        return load("twas_results").empty()
    w = match_gwas(weights.reset_index(drop=True), gwas, strand_flip=strand_flip, ambiguous=ambiguous)
    cand = (w["how"].to_numpy() > 0) & np.isfinite(w["z"].to_numpy())
    mcode, models = _codes(w["model_id"])
    nm = len(models)
    if covariance is not None:
        return _with_covariance(w, cand, mcode, models, covariance)
    return _with_panel(w, cand, mcode, nm, panel)


def _with_covariance(w, cand, mcode, models, cov):
    nm = len(models)
    key = w["model_id"].to_numpy()
    c = w.loc[cand, ["model_id", "tissue", "gene", "rsid", "weight"]]
    cv = cov.merge(c.rename(columns={"rsid": "rsid1", "weight": "w1"}), on=["tissue", "gene", "rsid1"])
    cv = cv.merge(c[["model_id", "rsid", "weight"]].rename(columns={"rsid": "rsid2", "weight": "w2"}),
                  on=["model_id", "rsid2"])
    # SNPs in Gamma = those seen as RSID1 with a candidate partner (MetaXcan's MatrixManager._get)
    ids = cv[["model_id", "rsid1"]].drop_duplicates()
    cv = cv.merge(ids.rename(columns={"rsid1": "rsid2"}), on=["model_id", "rsid2"])
    lo = np.where(cv["rsid1"] < cv["rsid2"], cv["rsid1"], cv["rsid2"])
    hi = np.where(cv["rsid1"] < cv["rsid2"], cv["rsid2"], cv["rsid1"])
    cv = cv.assign(lo=lo, hi=hi).drop_duplicates(["model_id", "lo", "hi"], keep="last")
    diag = (cv["lo"] == cv["hi"]).to_numpy()
    mc = pd.Index(models).get_indexer(cv["model_id"])
    contrib = cv["value"].to_numpy() * cv["w1"].to_numpy() * cv["w2"].to_numpy() * np.where(diag, 1.0, 2.0)
    var_g = np.bincount(mc, contrib, minlength=nm)
    used_set = ids.assign(u=True).rename(columns={"rsid1": "rsid"})
    used = w[["model_id", "rsid"]].merge(used_set, on=["model_id", "rsid"], how="left")["u"].notna()
    used = used.to_numpy(bool) & cand
    var_l = pd.Series(cv.loc[diag, "value"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [cv.loc[diag, "model_id"], cv.loc[diag, "lo"]]))
    sig2 = var_l.reindex(pd.MultiIndex.from_arrays([key, w["rsid"].to_numpy()])).fillna(0.0).to_numpy()
    sig2 = np.where(used, sig2, 0.0)
    wt, z, b = w["weight"].to_numpy(), np.nan_to_num(w["z"].to_numpy()), w["beta"].to_numpy()
    num = np.bincount(mcode, np.where(used, wt * z * np.sqrt(sig2), 0.0), minlength=nm)
    eff = np.bincount(mcode, np.where(used, wt * b * sig2, 0.0), minlength=nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(var_g > 0, eff / var_g, np.nan)
    n_used = np.bincount(mcode, used, minlength=nm).astype(int)
    allc = cov.drop_duplicates(["tissue", "gene", "rsid1"]).groupby(["tissue", "gene"]).size()
    tg = w.groupby("model_id", sort=False)[["tissue", "gene"]].first().reindex(models)
    n_in_cov = allc.reindex(pd.MultiIndex.from_frame(tg)).to_numpy(float)
    var_g = np.where(n_used > 0, var_g, np.nan)
    return _assemble(w, used, num, var_g, eff, n_in_cov, n_used, "spredixcan", "covariance")


def _panel_matrix(w, cand, mcode, nm, panel, weights):
    """Sparse [models, panel variants] matrix of weights oriented to the panel's alt allele."""
    idx, sign, _ = match(w, panel.variants, strand_flip=True, ambiguous="keep")
    used = cand & (sign != 0)
    W = sp.csr_matrix((weights[used] * sign[used], (mcode[used], idx[used])), shape=(nm, len(panel.variants)))
    return W, used, idx, sign


def _with_panel(w, cand, mcode, nm, panel):
    wt = w["weight"].to_numpy(float)
    W, used, idx, sign = _panel_matrix(w, cand, mcode, nm, panel, wt)
    G = panel.cov
    var_g = np.asarray(W.multiply(W @ G).sum(axis=1)).ravel()      # rowwise w' Gamma w
    sig = np.sqrt(np.diag(G))[np.where(used, idx, 0)]
    z, b = np.nan_to_num(w["z"].to_numpy()), w["beta"].to_numpy()
    num = np.bincount(mcode, np.where(used, wt * z * sig, 0.0), minlength=nm)
    eff = np.bincount(mcode, np.where(used, wt * b * sig ** 2, 0.0), minlength=nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(var_g > 0, eff / var_g, np.nan)
    n_used = np.bincount(mcode, used, minlength=nm).astype(int)
    var_g = np.where(n_used > 0, var_g, np.nan)
    n_in_ld = np.bincount(mcode, sign != 0, minlength=nm).astype(float)
    return _assemble(w, used, num, var_g, eff, n_in_ld, n_used, "spredixcan", "panel")
