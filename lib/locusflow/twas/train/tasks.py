"""Work units of the weights_train stage: runs of neighbouring genes whose cis windows are read once.

A unit is a list of genes of one chromosome (by start) and the genotype-store row range covering all
their windows (gene body +/- ``window``); :func:`train_unit` reads those dosages once, runs SNP QC
(:mod:`~locusflow.twas.train.snp_qc`) over the training samples, and trains each gene
(:func:`~locusflow.twas.train.predictdb.train_gene`) on its QC'd cis SNPs (missing calls at the SNP
mean) and its residualised expression, returning one row per gene (schema ``weights_models``).
Each gene's folds come from the run seed and the gene id, so that any sharding gives the same models.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from ...io.genotypes import GenotypeStore
from .eqtl import impute_mean
from .predictdb import train_gene
from .snp_qc import QC_REASONS, qc_counts, snp_qc

SUMMARY_KEYS = ("alpha", "lambda_min_mse", "test_R2_avg", "test_R2_sd", "cv_R2_avg", "cv_R2_sd", "in_sample_R2",
                "nested_cv_fisher_pval", "rho_avg", "rho_se", "rho_zscore", "rho_avg_squared", "zscore_pval",
                "cv_rho_avg", "cv_rho_se", "cv_rho_avg_squared", "cv_zscore_est", "cv_zscore_pval", "cv_pval_est")


def gene_seed(seed: int, gene: str) -> int:
    """The seed of one gene's folds: the run seed and a CRC-32 of the gene id.

    Parameters
    ----------
    seed : int
        Run seed.
    gene : str
        Gene id.

    Returns
    -------
    int
    """
    return int(seed) * 4294967296 + zlib.crc32(str(gene).encode())


def training_units(genes: pd.DataFrame, variants: pd.DataFrame, *, window: int = 1_000_000,
                   genes_per_unit: int = 20) -> list[dict]:
    """Units of up to ``genes_per_unit`` neighbouring genes, each with the store rows of their windows.

    Parameters
    ----------
    genes : pandas.DataFrame
        ``gene``, ``gene_name``, ``gene_type``, ``chrom``, ``start``, ``end``, ``row`` (the gene's row in
        the residualised expression).
    variants : pandas.DataFrame
        The store's variants (``chrom``, ``pos``, ``store_index``).
    window : int
        cis window in bp on each side of the gene body.
    genes_per_unit : int
        Genes per unit.

    Returns
    -------
    list of dict
        ``unit_id``, ``chrom``, ``lo``/``hi`` (store rows), ``cost`` (sum over genes of the SNPs in the
        window, squared: the nested CV's cross-products) and the genes' fields as lists.
    """
    units = []
    v = variants[["chrom", "pos", "store_index"]]
    for chrom, g in genes.groupby("chrom", sort=False):        # loop over chromosomes
        vc = v[v["chrom"] == chrom].sort_values("pos")
        pos, idx = vc["pos"].to_numpy(), vc["store_index"].to_numpy()
        g = g.sort_values(["start", "gene"])
        lo_i = np.searchsorted(pos, g["start"].to_numpy() - window, side="left")
        hi_i = np.searchsorted(pos, g["end"].to_numpy() + window, side="right")
        n_snps = hi_i - lo_i
        for s in range(0, len(g), genes_per_unit):            # loop over units
            sl = slice(s, s + genes_per_unit)
            a, b = int(lo_i[sl].min()), int(hi_i[sl].max())
            rows = idx[a:b]
            part = g.iloc[sl]
            units.append({"unit_id": f"{chrom}:{part['gene'].iloc[0]}", "chrom": str(chrom),
                          "lo": int(rows.min()) if len(rows) else 0, "hi": int(rows.max()) + 1 if len(rows) else 0,
                          "cost": float((n_snps[sl].astype(float) ** 2).sum() + 1.0),
                          **{k: part[k].tolist() for k in ("gene", "gene_name", "gene_type", "start", "end", "row")}})
    return units


def _empty_model(status: str) -> dict:
    return {"status": status, "keep": False, "n_snps_in_model": 0, "variant_id": [], "rsid": [], "pos": [],
            "ref": [], "alt": [], "weight": [], "covariance": [], **{k: np.nan for k in SUMMARY_KEYS}}


def train_unit(unit: dict, *, store: str, residuals: str, samples: list, window: int, qc: dict, enet: dict,
               tissue: str, panel: str, seed: int, min_rho: float = 0.1, max_zscore_pval: float = 0.05) -> pd.DataFrame:
    """Train every gene of a unit (kernel of the weights_train stage).

    Parameters
    ----------
    unit : dict
        :func:`training_units` unit.
    store : str
        Genotype store.
    residuals : str
        ``.npy`` [genes, samples] residualised, scaled expression (rows: the genes' ``row``).
    samples : list of int
        Store sample indices of the training samples, in the residuals' column order.
    window : int
        cis window (bp each side of the gene body).
    qc : dict
        Options of :func:`~locusflow.twas.train.snp_qc.snp_qc`.
    enet : dict
        Options of :func:`~locusflow.twas.train.predictdb.train_gene` (alpha, n_outer, n_folds, thresh,
        max_iter).
    tissue, panel : str
        Names recorded on the models.
    seed : int
        Run seed (:func:`gene_seed`).
    min_rho, max_zscore_pval : float
        PredictDB's keep rule.

    Returns
    -------
    pandas.DataFrame
        One row per gene (schema ``weights_models``).
    """
    st = GenotypeStore(store)
    lo, hi = int(unit["lo"]), int(unit["hi"])
    var = st.variant_rows(lo, hi)
    dos = st.dosages(lo, hi, samples=np.asarray(samples), dtype=np.float64)
    reason = snp_qc(dos, var, **qc)
    expr = np.load(residuals, mmap_mode="r")
    chrom_ok = (var["chrom"] == str(unit["chrom"])).to_numpy()
    pos = var["pos"].to_numpy()
    rows = []
    for i, gene in enumerate(unit["gene"]):                   # loop over the unit's genes (~20)
        start, end = int(unit["start"][i]), int(unit["end"][i])
        in_win = chrom_ok & (pos >= start - window) & (pos <= end + window)
        sel = np.flatnonzero(in_win & (reason < 0))
        y = np.asarray(expr[int(unit["row"][i])], dtype=float)
        s = gene_seed(seed, gene)
        base = {"model_id": f"{gene}@{tissue}@enet@{panel}", "gene": gene, "gene_name": unit["gene_name"][i],
                "gene_type": unit["gene_type"][i], "tissue": tissue, "panel": panel, "chrom": str(unit["chrom"]),
                "start": start, "end": end, "n_samples": len(y), "n_snps_in_window": len(sel), "seed": s,
                **{f"n_dropped_{k}": v for k, v in qc_counts(reason[in_win]).items()}}
        if len(sel) < 2:
            rows.append({**base, **_empty_model("no_snps" if len(sel) == 0 else "one_snp")})
            continue
        if not np.ptp(y) > 0:
            rows.append({**base, **_empty_model("constant_expression")})
            continue
        x = impute_mean(dos[sel].T)
        r = train_gene(x, y, seed=s, **enet)
        nz = np.flatnonzero(r["coef"] != 0)
        cov = np.cov(x[:, nz], rowvar=False, ddof=1).reshape(len(nz), len(nz))
        v = var.iloc[sel[nz]]
        keep = bool(len(nz) > 0 and r["rho_avg"] > min_rho and r["zscore_pval"] < max_zscore_pval)
        rows.append({**base, **{k: r[k] for k in SUMMARY_KEYS}, "status": "trained", "keep": keep,
                     "n_snps_in_model": len(nz), "variant_id": v["variant_id"].tolist(), "rsid": v["rsid"].tolist(),
                     "pos": v["pos"].astype(np.int64).tolist(), "ref": v["ref"].tolist(), "alt": v["alt"].tolist(),
                     "weight": r["coef"][nz].tolist(), "covariance": cov[np.triu_indices(len(nz))].tolist()})
    out = pd.DataFrame(rows)
    out["zscore_qval"] = np.nan
    return out


QC_COLUMNS = tuple(f"n_dropped_{r}" for r in QC_REASONS)
