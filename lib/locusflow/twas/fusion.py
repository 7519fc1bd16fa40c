"""FUSION TWAS z-scores with LD from a reference panel (Gusev et al. 2016, Nat Genet 48:245).

Reference implementation: gusevlab/fusion_twas ``FUSION.assoc_test.R``. For model weights w (on
standardised genotypes, oriented to the panel's alt allele), GWAS z (oriented likewise) and the panel
correlation R over the model's SNPs found in the panel:

    z_twas = w'z / sqrt(w'Rw)                     (var_g column holds w'Rw)

Missing GWAS z are imputed from LD when ``impute`` (FUSION's default): with o = observed, m = missing,
A = R_mo (R_oo + ridge I)^-1, ridge = 0.1: z_m = A z_o / sqrt(r2pred), r2pred = diag(A R_oo A').
A model is skipped (zscore NA) when no z is observed, when more than ``max_impute`` (0.5) of its SNPs
are missing, or when the mean r2pred over its non-zero-weight SNPs (observed SNPs count 1) is below
``min_r2pred`` (0.7). Best model per gene, tissue and panel (``best_model=True``): FUSION's rule, the
smallest cross-validation p-value (``best_by='pval'``; ``'rsq'`` = the older FUSION rule, largest CV
R^2 with ``top1`` passed over); a ``top1`` model keeps only its largest weight.

Harmonisation: like FUSION's ``allele.qc`` it drops strand-ambiguous SNPs (``ambiguous='drop'``,
the default here), negates swaps and complements strand flips. It differs in one way: FUSION keeps a
SNP whose alleles do not match at all (no flip, no drop); here it is dropped (``allele_mismatch``).
See :func:`locusflow.io.harmonise.allele_sign`. Identity (tested): with w_l = w^PrediXcan_l * sigma_l and the same
panel, this z equals the S-PrediXcan z of :mod:`locusflow.twas.spredixcan`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.harmonise import AMBIGUOUS
from ..io.matching import match_variants
from ..schema import load
from .panel import PanelLD
from .results import assemble, model_codes
from .variance import expression_variance


def panel_z(panel: PanelLD, gwas: pd.DataFrame, *, strand_flip=True, ambiguous="drop") -> np.ndarray:
    """GWAS z per panel variant, oriented to the panel's alt allele.

    Parameters
    ----------
    panel : PanelLD
        The reference panel's variants.
    gwas : pandas.DataFrame
        rsid and/or chrom, pos; ref, alt, z.
    strand_flip, ambiguous
        As :func:`locusflow.io.harmonise.allele_sign` (FUSION ``allele.qc``: flips, ambiguous dropped).

    Returns
    -------
    numpy.ndarray of float
        z per panel variant (NaN where absent or unusable).
    """
    v = panel.variants.rename(columns={"alt": "effect_allele", "ref": "other_allele"})
    if "chrom" not in v:
        v = v.assign(chrom="NA", pos=pd.NA)
    idx, sign, _ = match_variants(v, gwas, strand_flip=strand_flip, ambiguous=ambiguous)
    z = np.full(len(v), np.nan)
    ok = sign != 0
    z[ok] = gwas["z"].to_numpy(float)[idx[ok]] * sign[ok]
    return z


def best_models(w: pd.DataFrame, best_by: str = "pval") -> pd.DataFrame:
    """Rows of the best model of each gene x tissue x panel.

    Parameters
    ----------
    w : pandas.DataFrame
        Weight rows (model_id, gene, tissue, panel, method, cv_r2, cv_pval).
    best_by : {'pval', 'rsq'}
        ``pval`` (FUSION.assoc_test.R since 2024): the smallest cross-validation p-value. ``rsq`` (the
        earlier FUSION rule): the largest CV R^2, the runner-up when that is ``top1``.

    Returns
    -------
    pandas.DataFrame
        The rows of the chosen models.
    """
    m = w.groupby("model_id", sort=False)[["gene", "tissue", "panel", "method", "cv_r2", "cv_pval"]].first()
    keys = ["gene", "tissue", "panel"]
    if best_by == "pval":
        chosen = m.sort_values("cv_pval", kind="stable").groupby(keys, dropna=False).head(1).index
    elif best_by == "rsq":
        best_all = m.sort_values("cv_r2", ascending=False, kind="stable").groupby(keys, dropna=False).head(1)
        best_non = m[m["method"] != "top1"].sort_values("cv_r2", ascending=False, kind="stable") \
            .groupby(keys, dropna=False).head(1)
        pick = best_all.reset_index().merge(best_non.reset_index(), on=keys, how="left", suffixes=("", "_non"))
        chosen = np.where((pick["method"] == "top1") & pick["model_id_non"].notna(), pick["model_id_non"],
                          pick["model_id"])
    else:
        raise ValueError("best_by must be 'pval' or 'rsq'")
    return w[w["model_id"].isin(set(chosen))]


def top1_single(w: pd.DataFrame, wt: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``top1`` models keep only the panel SNP with the largest weight^2 (FUSION clears the others).

    Parameters
    ----------
    w : pandas.DataFrame
        Weight rows (model_id, method).
    wt : numpy.ndarray of float
        Weight per row.
    present : numpy.ndarray of bool
        Rows whose SNP is in the panel.

    Returns
    -------
    numpy.ndarray of float
        ``wt`` with the other weights of ``top1`` models set to 0.
    """
    t = (w["method"] == "top1").to_numpy() & present
    if not t.any():
        return wt
    rows = np.flatnonzero(t)
    top = pd.Series(wt[rows] ** 2, index=rows).groupby(w["model_id"].to_numpy()[rows]).idxmax().to_numpy()
    out = wt.copy()
    out[(w["method"] == "top1").to_numpy() & ~np.isin(np.arange(len(wt)), top)] = 0.0
    return out


def fusion(weights: pd.DataFrame, gwas: pd.DataFrame, panel: PanelLD, *, impute: bool = True,
           max_impute: float = 0.5, min_r2pred: float = 0.7, ridge: float = 0.1, best_model: bool = True,
           best_by: str = "pval", strand_flip: bool = True, ambiguous: str = "drop") -> pd.DataFrame:
    """FUSION z-scores of every (best) model in ``weights`` against a reference panel's LD.

    ``z = w'z_gwas / sqrt(w'Rw)``, missing GWAS z imputed from LD (module docstring).

    Parameters
    ----------
    weights : pandas.DataFrame
        Weight rows (schema weights) on the standardised-genotype scale.
    gwas : pandas.DataFrame
        rsid and/or chrom, pos; ref, alt (effect), z.
    panel : PanelLD
        Reference-panel LD with ``corr`` (R) over the models' SNPs.
    impute : bool
        Impute missing GWAS z from LD (FUSION's default).
    max_impute : float
        Largest fraction of a model's SNPs that may be imputed (FUSION ``--max_impute``).
    min_r2pred : float
        Smallest mean imputation r2 over the model's weighted SNPs (FUSION ``--min_r2pred``).
    ridge : float
        Ridge added to R_oo for the imputation (FUSION's ``lambda = 0.1``).
    best_model : bool
        Keep the best model per gene, tissue and panel (:func:`best_models`).
    best_by : {'pval', 'rsq'}
        Rule of :func:`best_models`.
    strand_flip : bool
        Match strand-flipped alleles (FUSION does).
    ambiguous : {'drop', 'keep'}
        Strand-ambiguous SNPs dropped (FUSION) or matched as written.

    Returns
    -------
    pandas.DataFrame
        One row per model (schema twas_results; block_id null; n_imputed set).

    References
    ----------
    Gusev et al. 2016, Nat Genet 48:245; gusevlab/fusion_twas ``FUSION.assoc_test.R``.
    """
    w = weights.reset_index(drop=True)
    if not len(w):
        return load("twas_results").empty()
    if best_model:
        w = best_models(w, best_by).reset_index(drop=True)
    R = panel.corr
    zp = panel_z(panel, gwas, strand_flip=strand_flip, ambiguous=ambiguous)
    idx, sign, how = match_variants(w, panel.variants, strand_flip=strand_flip, ambiguous=ambiguous)
    mcode, models = model_codes(w["model_id"])
    nm = len(models)
    inld = sign != 0
    wt = top1_single(w, w["weight"].to_numpy(float) * sign, inld)   # oriented to panel alt
    zrow = np.where(inld, zp[np.where(inld, idx, 0)], np.nan)
    miss = inld & np.isnan(zrow)
    n_in = np.bincount(mcode, inld, minlength=nm)
    n_miss = np.bincount(mcode, miss, minlength=nm)
    nz = inld & (wt != 0)
    var_g = expression_variance(np.where(nz, wt, 0.0), mcode, nm, ld=R, column=np.where(nz, idx, -1))
    num = np.bincount(mcode, np.where(nz & ~miss, wt * np.nan_to_num(zrow), 0.0), minlength=nm)
    ok = (n_in > 0) & (n_miss == 0)
    n_imputed = np.zeros(nm, int)
    if impute:
        for k in np.flatnonzero((n_miss > 0) & (n_in > n_miss)):   # loop over genes needing imputation
            rows = np.flatnonzero((mcode == k) & inld)
            if n_miss[k] / n_in[k] > max_impute:
                continue
            i, mm = idx[rows], miss[rows]
            Roo = R[np.ix_(i[~mm], i[~mm])]
            A = np.linalg.solve(Roo + ridge * np.eye(len(Roo)), R[np.ix_(i[~mm], i[mm])]).T
            r2 = np.einsum("ij,jk,ik->i", A, Roo, A)
            zi = A @ zrow[rows][~mm] / np.sqrt(r2)
            allr2 = np.ones(len(rows))
            allr2[mm] = r2
            if np.any(~np.isfinite(allr2)) or np.mean(allr2[wt[rows] != 0]) < min_r2pred:
                continue
            z_full = zrow[rows].copy()
            z_full[mm] = zi
            num[k] = wt[rows] @ z_full
            ok[k], n_imputed[k] = True, int(mm.sum())
    var_g = np.where(ok & (var_g > 0), var_g, np.nan)
    num = np.where(ok, num, np.nan)
    used = nz & ok[mcode]
    n_used = np.bincount(mcode, used, minlength=nm).astype(int)
    reason = np.full(len(w), "", dtype=object)    # see results.REASON_NAMES
    reason[~inld] = np.where(how[~inld] == -1, "not_in_ld", "allele_mismatch")
    reason[~inld & (how == AMBIGUOUS)] = "ambiguous"
    reason[inld & (wt == 0)] = "zero_weight"
    reason[nz & ~ok[mcode]] = np.where(miss[nz & ~ok[mcode]], "not_in_gwas", "model_failed")
    res = assemble(w.assign(how=np.where(inld, how, 0), z=zrow), used, num, var_g, np.full(nm, np.nan),
                    n_in.astype(float), n_used, "fusion", "panel", reason=reason)
    res["n_imputed"] = pd.Series(n_imputed, index=models).reindex(res["model_id"]).to_numpy()
    return res
