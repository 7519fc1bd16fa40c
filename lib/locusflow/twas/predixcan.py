"""PrediXcan on individual-level genotypes: predicted expression per individual, and its association with a trait.

Prediction (Gamazon et al. 2015; hakyimlab PrediXcan ``--predict``): for model g with weights w_l on the
dosages d_il of its effect alleles,

    T_ig = sum_l w_l d_il                      (weight_scale 'allele', PredictDB)
    T_ig = sum_l w_l (d_il - mean_l) / sd_l    (weight_scale 'sd', FUSION: R's scale(), SD with n - 1)

Each weight is matched to the store's variants by :func:`locusflow.io.matching.match_variants` (chrom:pos
or rsid, alleles swapped or strand-flipped); where the effect allele is the store's ref the dosage is
2 - alt dosage. Missing calls take the SNP's mean dosage. All models of a call are one sparse product
(weights [SNPs, models]) with the dosages of the SNPs they use, read in runs of store rows.

Association (PrediXcan ``--assoc``, linear): y = a + b T_g + C c + e by OLS for every model at once
(Frisch-Waugh-Lovell on residuals of T_g and y after the covariates and an intercept): with r the
correlation of the residuals and d = n - 2 - k,

    t = r sqrt(d / (1 - r^2)),  beta = r sd(R_y) / sd(R_T),  se = beta / t,  p = 2 T_d(-|t|)

and ``zscore`` = sign(t) Phi^{-1}(1 - p/2), the normal deviate with the same p (what S-PrediXcan's z
estimates; t for large n).

References
----------
Gamazon ER et al. (2015) A gene-based association method for mapping traits using reference transcriptome
data. Nat Genet 47:1091 (PrediXcan).
Barbeira AN et al. (2018) Nat Commun 9:1825 (S-PrediXcan estimates PrediXcan's z from summary statistics).
Gusev A et al. (2016) Nat Genet 48:245 (FUSION weights on standardised genotypes).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from ..io.matching import match_variants
from .train.eqtl import residualise, residualiser

RUN_GAP = 20_000        # store rows between two used SNPs beyond which a new read starts


def predict_expression(weights: pd.DataFrame, store, *, samples=None, strand_flip: bool = True,
                       ambiguous: str = "keep") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predicted expression of every model in ``weights`` for the store's individuals.

    Parameters
    ----------
    weights : pandas.DataFrame
        Weight rows (schema weights): model_id, gene, tissue, chrom, pos, rsid, effect_allele,
        other_allele, weight[, weight_scale].
    store : locusflow.io.genotypes.GenotypeStore
        Genotypes of the individuals.
    samples : array-like of int, optional
        Store positions of the individuals [all].
    strand_flip, ambiguous
        As :func:`locusflow.io.matching.match_variants`.

    Returns
    -------
    predicted : pandas.DataFrame
        [individuals, models] (index the sample ids, columns the model_ids in order of appearance).
    report : pandas.DataFrame
        Per model: model_id, gene, gene_name, tissue, n_snps_in_model, n_snps_used, and
        n_dropped_not_in_genotypes / n_dropped_allele_mismatch (the reasons a weight was not used).
    """
    w = weights.reset_index(drop=True)
    mcode, models = pd.factorize(w["model_id"])
    idx, sign, how = match_variants(w, store.variants, strand_flip=strand_flip, ambiguous=ambiguous)
    used = sign != 0
    samples = np.arange(store.n_samples) if samples is None else np.asarray(samples)
    scale = w["weight_scale"].fillna("allele").to_numpy() if "weight_scale" in w else np.full(len(w), "allele")
    pred = np.zeros((len(models), len(samples)))
    for sd_scale in (False, True):              # PredictDB-style weights, then FUSION's
        part = used & ((scale == "sd") == sd_scale)
        if part.any():
            pred += _predict(store, samples, idx[part], w["weight"].to_numpy(float)[part], sign[part], mcode[part],
                             len(models), sd_scale)
    ids = np.asarray(store.samples)[samples]
    predicted = pd.DataFrame(pred.T, index=pd.Index(ids, name="sample_id"), columns=list(models))
    first = pd.Series(np.arange(len(w))).groupby(mcode).first().to_numpy()
    n_models = len(models)
    report = pd.DataFrame({
        "model_id": list(models), "gene": w["gene"].to_numpy()[first],
        "gene_name": (w["gene_name"] if "gene_name" in w else w["gene"]).to_numpy()[first],
        "tissue": w["tissue"].to_numpy()[first],
        "n_snps_in_model": np.bincount(mcode, minlength=n_models),
        "n_snps_used": np.bincount(mcode, used, minlength=n_models).astype(np.int64),
        "n_dropped_not_in_genotypes": np.bincount(mcode, how < 0, minlength=n_models).astype(np.int64),
        "n_dropped_allele_mismatch": np.bincount(mcode, (how >= 0) & ~used, minlength=n_models).astype(np.int64)})
    return predicted, report


def _predict(store, samples, rows_all, weight, sign, mcode, n_models, standardise) -> np.ndarray:
    """[models, individuals] predictions from matched weights: one sparse product per run of store rows."""
    rows, inv = np.unique(rows_all, return_inverse=True)
    wmat = sp.csr_matrix((weight * sign, (inv, mcode)), shape=(len(rows), n_models))
    pred = np.zeros((n_models, len(samples)))
    if not standardise:          # effect allele = ref: w (2 - d) = 2 w - w d
        pred += np.bincount(mcode, np.where(sign < 0, 2 * weight, 0.0), minlength=n_models)[:, None]
    for run in np.split(np.arange(len(rows)), np.flatnonzero(np.diff(rows) > RUN_GAP) + 1):
        d = store.dosages(index=rows[run], samples=samples).astype(np.float64)     # [snps, individuals]
        miss = np.isnan(d)
        mean = np.where(miss, 0.0, d).sum(axis=1, keepdims=True) / np.maximum((~miss).sum(axis=1, keepdims=True), 1)
        d = np.where(miss, mean, d)
        if standardise:          # FUSION: R's scale() (SD with n - 1); the allele swap is the sign alone
            sd = d.std(axis=1, ddof=1, keepdims=True)
            d = (d - mean) / np.where(sd > 0, sd, np.inf)
        pred += wmat[run].T @ d
    return pred


def association(predicted, y: np.ndarray, covariates: np.ndarray | None = None) -> pd.DataFrame:
    """Linear association of each column of ``predicted`` with the trait (module docstring).

    Parameters
    ----------
    predicted : pandas.DataFrame or numpy.ndarray
        [n, models] predicted expression.
    y : numpy.ndarray
        [n] trait; rows where it is NaN are left out.
    covariates : numpy.ndarray, optional
        [n, k] covariates (complete).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model_id`` (the column name), ``n``, ``beta``, ``se``, ``t``, ``zscore``,
        ``pvalue``, ``pred_var`` (variance of the prediction; beta NaN when 0).

    References
    ----------
    Gamazon ER et al. (2015) Nat Genet 47:1091 (PrediXcan association, linear).
    """
    names = list(predicted.columns) if isinstance(predicted, pd.DataFrame) else list(range(np.shape(predicted)[1]))
    x = np.asarray(predicted, float)
    y = np.asarray(y, float)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    c = None if covariates is None else np.asarray(covariates, float)[ok]
    n = len(y)
    q = residualiser(c, n)
    dof = n - 2 - q.shape[1]
    rx, ry = residualise(x, q), residualise(y[:, None], q)[:, 0]
    nx, ny = np.linalg.norm(rx, axis=0), np.linalg.norm(ry)
    var0 = nx <= 1e-12 * np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(var0, np.nan, (rx.T @ ry) / (nx * ny))
        t = r * np.sqrt(dof / (1 - r * r))
        beta = r * ny / nx
        se = np.abs(beta / t)
    p = 2 * stats.t.sf(np.abs(t), dof)
    z = np.sign(t) * stats.norm.isf(p / 2)
    return pd.DataFrame({"model_id": names, "n": n, "beta": beta, "se": se, "t": t, "zscore": z, "pvalue": p,
                         "pred_var": x.var(axis=0)})


def predixcan(weights: pd.DataFrame, store, pheno: pd.DataFrame, covar: pd.DataFrame | None = None, *,
              pheno_path="phenotypes", covar_path="covariates", strand_flip: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PrediXcan end to end: align the tables with the store's samples, predict, test every trait.

    Parameters
    ----------
    weights : pandas.DataFrame
        Weight rows (schema weights).
    store : locusflow.io.genotypes.GenotypeStore
        Genotypes of the individuals.
    pheno, covar : pandas.DataFrame
        Tables of :func:`locusflow.io.phenotypes.read_table` (index sample id); samples missing a
        covariate are left out, a sample id the store lacks is an error.
    pheno_path, covar_path : str or Path
        Named in error messages.
    strand_flip : bool
        As :func:`predict_expression`.

    Returns
    -------
    results : pandas.DataFrame
        Schema predixcan_results (linear association; binary traits are tested as 0/1 by OLS).
    predicted : pandas.DataFrame
        Schema predicted_expression (long form) over the analysed individuals.

    References
    ----------
    Gamazon ER et al. (2015) Nat Genet 47:1091.
    """
    from ..io.phenotypes import align_samples
    s = align_samples(store.samples, pheno, covar, pheno_path=pheno_path, covar_path=covar_path, binary=False)
    pred, rep = predict_expression(weights, store, samples=s.store_index, strand_flip=strand_flip)
    res = [association(pred, s.pheno[:, j], s.covar).drop(columns="model_id").assign(trait=t)
           .join(rep) for j, t in enumerate(s.traits)]       # loop over traits (few)
    long = pred.rename_axis(columns="model_id").stack().rename("predicted").reset_index()
    return pd.concat(res, ignore_index=True), long
