"""S-PrediXcan: gene-level association from GWAS z-scores and expression weights.

Barbeira et al. 2018 (Nat Commun 9:1825), reference implementation hakyimlab/MetaXcan
``SPrediXcan.py`` (``metax/metaxcan/AssociationCalculation.association``). For model g with weights
w_l (per copy of the model's effect allele) over the SNPs l used:

    sigma_l^2 = Gamma_ll,   sigma_g^2 = w' Gamma w                    (var_g)
    z_g = sum_l w_l sigma_l z_l / sigma_g                              (zscore)
    effect_size = sum_l w_l beta_l sigma_l^2 / sigma_g^2
    pvalue = 2 Phi(-|z_g|)

Gamma is the SNP covariance of the model's reference (a PredictDB covariance file in any of the forms
of :mod:`locusflow.twas.covariance`) or of the reference panel's dosages (a :class:`PanelLD`);
sigma_g^2 always comes from :func:`locusflow.twas.variance.expression_variance`. SNPs used = model
SNPs found in the GWAS with matching alleles and a finite z, and present in Gamma; every other SNP is
reported with its reason (``not_in_gwas``, ``allele_mismatch``, ``ambiguous``, ``nonfinite_z``,
``not_in_ld``). Alleles: :func:`locusflow.io.matching.match_variants` (MetaXcan never complements
alleles; ``strand_flip=False`` reproduces it). MetaXcan aligns the GWAS once per rsid against all
models of a database, so a SNP whose effect allele differs between two models of one database gets
one sign for both; here each model's SNP is aligned on its own. All genes of a call are computed
together: no loop over genes or SNPs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.matching import match_variants
from ..schema import load
from .covariance import codes_sums, has_codes, has_terms, strings_sums, terms_sums
from .panel import PanelLD
from .results import assemble, model_codes
from .variance import expression_variance


def match_gwas(w: pd.DataFrame, gwas: pd.DataFrame, *, strand_flip: bool = True, ambiguous: str = "keep") -> pd.DataFrame:
    """Weight rows with the GWAS statistics of their SNP, oriented to the weight's effect allele.

    Parameters
    ----------
    w : pandas.DataFrame
        Weight rows (schema weights: chrom, pos, rsid, effect_allele, other_allele, ...).
    gwas : pandas.DataFrame
        rsid and/or chrom, pos; ref, alt (effect), z[, beta].
    strand_flip, ambiguous
        As :func:`locusflow.io.harmonise.allele_sign`.

    Returns
    -------
    pandas.DataFrame
        ``w`` (not copied) with ``z``, ``beta`` (NaN where unusable), ``how`` (the allele match, -1 if
        absent) and ``gwas_row`` (the matched row of ``gwas``, -1 if none).
    """
    idx, sign, how = match_variants(w, gwas, strand_flip=strand_flip, ambiguous=ambiguous)
    out = w.copy(deep=False)
    ok = sign != 0
    z, b = np.full(len(w), np.nan), np.full(len(w), np.nan)
    z[ok] = gwas["z"].to_numpy(float)[idx[ok]] * sign[ok]
    if "beta" in gwas:
        b[ok] = gwas["beta"].to_numpy(float)[idx[ok]] * sign[ok]
    out["z"], out["beta"], out["how"], out["gwas_row"] = z, b, how, idx
    return out


def spredixcan(weights: pd.DataFrame, gwas: pd.DataFrame, *, covariance: pd.DataFrame | None = None,
               panel: PanelLD | None = None, strand_flip: bool = True, ambiguous: str = "keep") -> pd.DataFrame:
    """S-PrediXcan z-scores of every model in ``weights``.

    Parameters
    ----------
    weights : pandas.DataFrame
        Weight rows (schema weights).
    gwas : pandas.DataFrame
        rsid and/or chrom, pos; ref, alt (the effect allele), z[, beta] (schema sumstats columns).
    covariance : pandas.DataFrame, optional
        The models' SNP covariance: (tissue, gene, rsid1, rsid2, value) rows of
        :func:`locusflow.io.weights.read_covariance` with the model's tissue, optionally with the
        import-time codes or terms. Exactly one of ``covariance`` and ``panel``.
    panel : PanelLD, optional
        Reference-panel LD over the models' SNPs.
    strand_flip : bool
        Match strand-flipped alleles (False reproduces MetaXcan).
    ambiguous : {'keep', 'drop'}
        Strand-ambiguous SNPs matched as written (MetaXcan) or dropped.

    Returns
    -------
    pandas.DataFrame
        One row per model (schema twas_results; block_id null).

    References
    ----------
    Barbeira et al. 2018, Nat Commun 9:1825; hakyimlab/MetaXcan ``SPrediXcan.py``
    (``AssociationCalculation.association``).
    """
    if (covariance is None) == (panel is None):
        raise ValueError("give exactly one of covariance= or panel=")
    if not len(weights):
        return load("twas_results").empty()
    ranged = isinstance(weights.index, pd.RangeIndex) and weights.index.start == 0 and weights.index.step == 1
    w = match_gwas(weights if ranged else weights.reset_index(drop=True), gwas, strand_flip=strand_flip, ambiguous=ambiguous)
    return spredixcan_matched(w, covariance=covariance, panel=panel)


def spredixcan_matched(w: pd.DataFrame, *, covariance=None, panel: PanelLD | None = None) -> pd.DataFrame:
    """:func:`spredixcan` on weights already matched to the GWAS (:func:`match_gwas`).

    Parameters
    ----------
    w : pandas.DataFrame
        Matched weight rows (``z``, ``beta``, ``how``), index 0..n-1.
    covariance : pandas.DataFrame or iterable, optional
        Covariance rows (strings, codes or import-time terms), or chunks of the import-time terms
        (``weight_row1``, ``weight_row2``, ``term`` arrays, e.g. Arrow record batches as read).
    panel : PanelLD, optional
        Reference-panel LD.

    Returns
    -------
    pandas.DataFrame
        As :func:`spredixcan`.
    """
    cand = (w["how"].to_numpy() > 0) & np.isfinite(w["z"].to_numpy())
    mcode, models = model_codes(w["model_id"])
    nm = len(models)
    if panel is not None:
        used, sig2, var_g, n_in = _panel_sums(w, cand, mcode, nm, panel)
    else:
        sums = terms_sums(w, cand, mcode, nm, covariance) if has_terms(w, covariance) else None
        if sums is None and not isinstance(covariance, pd.DataFrame):
            raise ValueError("covariance term chunks need the import-time columns and every diagonal entry")
        if sums is None:
            sums = (codes_sums if has_codes(w, covariance) else strings_sums)(w, cand, mcode, nm, covariance)
        used, sig2, var_g, n_in = sums
    wt = w["weight"].to_numpy(float)
    z, beta = np.nan_to_num(w["z"].to_numpy()), w["beta"].to_numpy()
    num = np.bincount(mcode, np.where(used, wt * z * np.sqrt(sig2), 0.0), minlength=nm)
    eff = np.bincount(mcode, np.where(used, wt * beta * sig2, 0.0), minlength=nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(var_g > 0, eff / var_g, np.nan)
    n_used = np.bincount(mcode, used, minlength=nm).astype(int)
    var_g = np.where(n_used > 0, var_g, np.nan)
    return assemble(w, used, num, var_g, eff, n_in, n_used, "spredixcan", "panel" if panel is not None else "covariance",
                    codes=(mcode, models))


def _panel_sums(w, cand, mcode, nm, panel):
    """(used, sig2, var_g, n_in_ld) on a panel: weights oriented to the panel's alt allele."""
    idx, sign, _ = match_variants(w, panel.variants, strand_flip=True, ambiguous="keep")
    used = cand & (sign != 0)
    x = np.where(used, w["weight"].to_numpy(float) * sign, 0.0)
    var_g = expression_variance(x, mcode, nm, ld=panel.cov, column=np.where(used, idx, -1))
    sig2 = np.where(used, np.diag(panel.cov)[np.where(used, idx, 0)], 0.0)
    return used, sig2, var_g, np.bincount(mcode, sign != 0, minlength=nm).astype(float)
