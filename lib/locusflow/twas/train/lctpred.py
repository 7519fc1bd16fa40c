"""l-ctPred: ctPred linearised into SNP weights, usable by S-PrediXcan and FOCUS.

scPrediXcan's step 2 (Zhou et al. 2025). For each gene and each reference individual i:

1. the features of i's own sequence at the TSS: the reference window with i's alleles substituted, one
   feature vector per haplotype (a callable supplies them: the DNA-LM featuriser of
   :mod:`locusflow.dnalm.features`, or any other sequence model);
2. i's predicted expression E_i: ctPred applied to the mean of the two haplotypes' features
   (``how='mean_features'``; ``'mean_predictions'`` averages the haplotypes' predictions instead);
3. PredictDB's elastic net (alpha 0.5, lambda by 10-fold CV) of E (centred, scaled) on the dosages of
   the gene's cis SNPs (TSS +/- ``cis_window``; biallelic SNVs, not strand-ambiguous, MAF >= ``min_maf``),
   its coefficients put back on E's scale: E_i ~ a + sum_l w_l d_il.

The weights w (per copy of the alt allele) form a ``weights`` dataset (method ``lctpred``) that
S-PrediXcan, FOCUS and PredictDB export read as any other model. ``r2_linear`` (in-sample R^2 of the
linear predictor for E) is the linearisation's own measure of what it loses; PredictDB's nested-CV
statistics (``rho_avg``, ``zscore_pval``) measure it out of sample.

References
----------
Zhou Y et al. (2025) scPrediXcan integrates deep learning methods and single-cell data into a
cell-type-specific transcriptome-wide association study framework. Cell Genomics 5:100875
(l-ctPred: PredictDB elastic net on the Geuvadis individuals' ctPred-predicted expression).
Gamazon ER et al. (2015) Nat Genet 47:1091 (PredictDB elastic net).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import InputError
from ...io.weights import model_id
from ...logs import get_logger
from ...schema import load
from .elastic_net import cv_elastic_net
from .predictdb import train_gene
from .eqtl import impute_mean
from .train_config import HOW

log = get_logger("train")
AMBIGUOUS = {("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")}


def personal_expression(model, features: np.ndarray, index: np.ndarray, how: str = "mean_features") -> np.ndarray:
    """Each individual's predicted expression from its two haplotypes' features (module docstring, step 2).

    Parameters
    ----------
    model : locusflow.twas.train.ctpred.CtPred
        A fitted ctPred (anything with ``predict(features) -> [rows]``).
    features : numpy.ndarray
        [distinct haplotypes, d] features.
    index : numpy.ndarray of int
        [individuals, 2] row of ``features`` of each haplotype.
    how : {'mean_features', 'mean_predictions'}
        Average the features, or the predictions, of the two haplotypes.

    Returns
    -------
    numpy.ndarray
        [individuals] predicted expression.
    """
    index = np.asarray(index)
    if how == "mean_features":
        return model.predict((features[index[:, 0]] + features[index[:, 1]]) / 2)
    if how == "mean_predictions":
        p = model.predict(features)
        return (p[index[:, 0]] + p[index[:, 1]]) / 2
    raise InputError("lctpred", f"how one of {HOW}", column="how", value=how)


def expression_from_haplotypes(personal: pd.DataFrame, model, n_individuals: int, how: str = "mean_features",
                               genes_per_chunk: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    """Every individual's predicted expression of every gene of a ``personal_features`` table (step 2).

    Parameters
    ----------
    personal : pandas.DataFrame
        Rows of schema personal_features (gene, chrom, tss, haplotype, features, carriers).
    model : locusflow.twas.train.ctpred.CtPred
        The cell type's ctPred.
    n_individuals : int
        Individuals of the store the features were made from (slots 0 .. 2n - 1).
    how : {'mean_features', 'mean_predictions'}
        As :func:`personal_expression`.
    genes_per_chunk : int
        Genes whose individuals go through one forward pass.

    Returns
    -------
    genes : pandas.DataFrame
        gene, chrom, tss.
    expression : numpy.ndarray
        [genes, individuals].

    Raises
    ------
    InputError
        A gene whose carriers do not cover every haplotype slot exactly once.
    """
    per = personal.sort_values(["gene", "haplotype"], kind="stable").reset_index(drop=True)
    code, names = pd.factorize(per["gene"])
    feats = np.stack(per["features"].to_numpy()).astype(float)
    lens = per["carriers"].map(len).to_numpy()
    flat = np.concatenate(per["carriers"].to_numpy()).astype(np.int64) if len(per) else np.zeros(0, np.int64)
    row = np.repeat(np.arange(len(per)), lens)
    slots = np.full((len(names), 2 * n_individuals), -1, dtype=np.int64)
    if len(flat) and (flat.max() >= 2 * n_individuals or flat.min() < 0):
        raise InputError("personal_features", f"carriers among the 2 x {n_individuals} haplotype slots of the store",
                         column="carriers", value=int(flat.max()))
    slots[code[row], flat] = row
    bad = (slots < 0).any(axis=1) | (np.bincount(code[row], minlength=len(names)) != 2 * n_individuals)
    if bad.any():
        raise InputError("personal_features", "each haplotype slot of the store's individuals once per gene",
                         column="carriers", value=str(names[np.flatnonzero(bad)[0]]))
    h1, h2 = slots[:, 0::2], slots[:, 1::2]
    if how == "mean_predictions":
        p = model.predict(feats)
        expr = (p[h1] + p[h2]) / 2
    elif how == "mean_features":
        expr = np.empty(h1.shape)
        for s in range(0, len(names), genes_per_chunk):     # chunks of genes: one forward pass each
            a, b = h1[s:s + genes_per_chunk], h2[s:s + genes_per_chunk]
            x = (feats[a.ravel()] + feats[b.ravel()]) / 2
            expr[s:s + genes_per_chunk] = model.predict(x).reshape(a.shape)
    else:
        raise InputError("lctpred", f"how one of {HOW}", column="how", value=how)
    first = per.groupby(code).head(1)
    return first[["gene", "chrom", "tss"]].reset_index(drop=True), expr


def cis_snps(variants: pd.DataFrame, dosage: np.ndarray, *, min_maf: float = 0.01) -> np.ndarray:
    """The SNPs the elastic net may use: biallelic SNVs, not A/T or C/G, MAF >= ``min_maf`` (PredictDB).

    Parameters
    ----------
    variants : pandas.DataFrame
        ref, alt of each column of ``dosage``.
    dosage : numpy.ndarray
        [n, p] alt dosages (NaN missing).
    min_maf : float
        Smallest minor-allele frequency.

    Returns
    -------
    numpy.ndarray of bool
        [p] usable.
    """
    ref = variants["ref"].astype(str).str.upper().to_numpy()
    alt = variants["alt"].astype(str).str.upper().to_numpy()
    snv = np.isin(ref, list("ACGT")) & np.isin(alt, list("ACGT"))
    amb = np.array([(r, a) in AMBIGUOUS for r, a in zip(ref, alt)], dtype=bool)
    af = np.nanmean(dosage, axis=0) / 2 if dosage.size else np.zeros(dosage.shape[1])
    return snv & ~amb & (np.minimum(af, 1 - af) >= min_maf)


def lctpred_gene(expression: np.ndarray, dosage: np.ndarray, variants: pd.DataFrame, *, gene: str, cell_type: str,
                 gene_name: str | None = None, panel: str = "locusflow", alpha: float = 0.5, n_folds: int = 10,
                 seed: int = 0, nested: bool = True) -> tuple[pd.DataFrame, dict]:
    """One gene's l-ctPred weights: the elastic net of the personal predictions on the cis dosages.

    Parameters
    ----------
    expression : numpy.ndarray
        [n] personal predicted expression (:func:`personal_expression`).
    dosage : numpy.ndarray
        [n, p] alt dosages of the gene's usable cis SNPs (:func:`cis_snps`; NaN mean-imputed).
    variants : pandas.DataFrame
        chrom, pos, ref, alt, rsid[, variant_id] of each column.
    gene, cell_type, gene_name, panel : str
        Model identity (``model_id`` = gene@cell_type@lctpred@panel).
    alpha, n_folds, seed
        Elastic-net mixing, CV folds, fold seed.
    nested : bool
        Also PredictDB's nested-CV performance (5 x 10 folds).

    Returns
    -------
    weights : pandas.DataFrame
        Schema weights: one row per SNP with a non-zero weight (effect allele = alt, per allele copy).
    summary : dict
        gene, n_snps_in_window, n_snps_in_model, expression_sd, r2_linear (in-sample R^2 for E),
        rho_avg, zscore_pval, R2_avg (NaN unless ``nested``), keep (PredictDB's rule when ``nested``,
        else r2_linear > 0.01).
    """
    y = np.asarray(expression, float)
    x = impute_mean(dosage)
    summary = {"gene": gene, "n_snps_in_window": x.shape[1], "n_snps_in_model": 0, "expression_sd": float(y.std()),
               "r2_linear": np.nan, "rho_avg": np.nan, "zscore_pval": np.nan, "R2_avg": np.nan, "keep": False}
    empty = load("weights").empty()
    if x.shape[1] == 0 or not y.std() > 1e-12 * max(1.0, abs(y.mean())):
        return empty, summary                    # no cis SNP, or no personal variation to linearise
    ys = (y - y.mean()) / y.std()
    if nested:                                    # PredictDB: nested-CV performance, then the model
        fit = train_gene(x, ys, alpha=alpha, n_folds=n_folds, seed=seed)
        coef, b0 = fit["coef"] * y.std(), fit["intercept"]
        summary.update(rho_avg=fit["rho_avg"], zscore_pval=fit["zscore_pval"], R2_avg=fit["test_R2_avg"])
    else:
        fit = cv_elastic_net(x, ys, alpha=alpha, n_folds=n_folds, seed=seed)
        coef, b0 = fit.coef * y.std(), fit.intercept
    lin = x @ coef + b0 * y.std() + y.mean()
    summary["r2_linear"] = float(1 - ((y - lin) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    nz = np.flatnonzero(coef != 0)
    summary["n_snps_in_model"] = len(nz)
    summary["keep"] = bool(fit["keep"]) if nested else bool(summary["r2_linear"] > 0.01 and len(nz) > 0)
    if not len(nz):
        return empty, summary
    v = variants.iloc[nz]
    w = pd.DataFrame({
        "model_id": model_id([gene] * len(nz), cell_type, "lctpred", panel).to_numpy(), "gene": gene,
        "gene_name": gene_name or gene, "tissue": cell_type, "method": "lctpred", "source": "locusflow",
        "panel": panel, "chrom": v["chrom"].astype(str).to_numpy(), "pos": v["pos"].to_numpy(np.int64),
        "variant_id": (v["chrom"].astype(str) + ":" + v["pos"].astype(str) + ":" + v["ref"] + ":" + v["alt"]).to_numpy(),
        "rsid": v["rsid"].to_numpy(), "effect_allele": v["alt"].to_numpy(), "other_allele": v["ref"].to_numpy(),
        "weight": coef[nz], "weight_scale": "allele", "cv_r2": summary["R2_avg"], "cv_pval": summary["zscore_pval"],
        "n_snps_in_model": len(nz)})
    for c in load("weights").names:
        if c not in w:
            w[c] = None
    return load("weights").conform(w), summary


def lctpred(genes: pd.DataFrame, store, model, personal_features, *, cell_type: str, sequence_window: int,
            cis_window: int = 1_000_000, samples=None, how: str = "mean_features", min_maf: float = 0.01,
            panel: str = "locusflow", nested: bool = True, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """l-ctPred weights of every gene (module docstring), genes one by one over the store's individuals.

    Parameters
    ----------
    genes : pandas.DataFrame
        gene, chrom, tss[, gene_name].
    store : locusflow.io.genotypes.GenotypeStore
        The reference individuals' genotypes.
    model : locusflow.twas.train.ctpred.CtPred
        The cell type's fitted ctPred.
    personal_features : callable
        ``personal_features(chrom, tss, variants, haplotypes) -> (features [u, d], index [n, 2])`` for the
        store variants within ``sequence_window / 2`` of the TSS and their haplotypes [variants, 2n]
        (e.g. :func:`locusflow.dnalm.features.personal_windows` then
        :func:`~locusflow.dnalm.features.window_embeddings`).
    cell_type : str
        The model's tissue name.
    sequence_window : int
        Length of the sequence the featuriser reads (bp), centred on the TSS.
    cis_window : int
        SNPs within this distance of the TSS enter the elastic net.
    samples : array-like of int, optional
        Store positions of the reference individuals [all].
    how, min_maf, panel, nested, seed
        As :func:`personal_expression`, :func:`cis_snps`, :func:`lctpred_gene`.

    Returns
    -------
    weights : pandas.DataFrame
        Schema weights of every gene with a non-zero weight.
    summary : pandas.DataFrame
        One row per gene (:func:`lctpred_gene`'s summary).

    References
    ----------
    Zhou Y et al. (2025) Cell Genomics 5:100875 (l-ctPred); Gamazon ER et al. (2015) Nat Genet 47:1091.
    """
    var = store.variants
    samples = np.arange(store.n_samples) if samples is None else np.asarray(samples)
    hap_cols = np.stack([2 * samples, 2 * samples + 1], axis=1).ravel()
    out, rows = [], []
    for g in genes.itertuples(index=False):                  # loop over genes (the work unit)
        chrom, tss = str(g.chrom), int(g.tss)
        on = (var["chrom"].astype(str).to_numpy() == chrom)
        dist = np.abs(var["pos"].to_numpy() - tss)
        seq = np.flatnonzero(on & (dist <= sequence_window // 2))
        if len(seq):
            lo, hi = int(seq.min()), int(seq.max()) + 1
            hap = store.haplotypes(lo, hi)[seq - lo][:, hap_cols]
        else:
            hap = np.zeros((0, 2 * len(samples)), np.int8)
        feats, index = personal_features(chrom, tss, var.iloc[seq], hap)
        e = personal_expression(model, feats, index, how)
        cis = np.flatnonzero(on & (dist <= cis_window))
        d = store.dosages(index=cis, samples=samples).T if len(cis) else np.zeros((len(samples), 0))
        ok = cis_snps(var.iloc[cis], d, min_maf=min_maf)
        w, s = lctpred_gene(e, d[:, ok], var.iloc[cis[ok]], gene=g.gene, cell_type=cell_type,
                            gene_name=getattr(g, "gene_name", None), panel=panel, nested=nested, seed=seed)
        rows.append({**s, "n_sequence_variants": len(seq), "n_haplotypes": len(feats)})
        out.append(w)
    weights = pd.concat(out, ignore_index=True) if out else load("weights").empty()
    summary = pd.DataFrame(rows)
    log.info("l-ctPred %s: %d genes, %d with weights", cell_type, len(summary),
             int((summary["n_snps_in_model"] > 0).sum()) if len(summary) else 0)
    return weights, summary
