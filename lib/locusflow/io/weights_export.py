"""Trained expression models written in the formats other tools read: PredictDB SQLite + covariance.

PredictDB database (hakyimlab PredictDb-nextflow ``make_db.R`` / ``filter_db.R``; what MetaXcan's
SPrediXcan.py, PrediXcan and pyfocus ``focus import ... predixcan`` read):

- ``weights``: ``rsid``, ``gene``, ``weight``, ``ref_allele``, ``eff_allele``, ``varID``
  (``chr{chrom}_{pos}_{ref}_{alt}_b{37|38}``); indexes on rsid, gene and (rsid, gene);
- ``extra``: ``gene``, ``genename``, ``gene_type``, ``n.snps.in.model``, ``pred.perf.R2`` (rho_avg^2),
  ``pred.perf.pval`` (zscore_pval), ``pred.perf.qval`` and the rest of PredictDB's model summary
  (``alpha``, ``n_snps_in_window``, ``lambda_min_mse``, ``test_R2_avg`` ... ``cv_pval_est``); index on gene;
- ``sample_info`` (``n_samples``, ``population``) and ``construction`` (``chromosome``, ``cv_seed``).

Covariance file (PredictDB ``do_covariance``; MetaXcan ``--covariance``): gzipped, space separated,
header ``GENE RSID1 RSID2 VALUE``, the upper triangle (diagonal included) of each model's SNP
covariance, rows sorted by gene, RSID1, RSID2 as PredictDB's ``arrange``.

A SNP without an rsid (``.`` or empty) is named by its varID in both files, so they always agree.
"""
from __future__ import annotations

import gzip
import io
import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

EXTRA_RENAME = {"gene_name": "genename", "n_snps_in_model": "n.snps.in.model", "rho_avg_squared": "pred.perf.R2",
                "zscore_pval": "pred.perf.pval", "zscore_qval": "pred.perf.qval"}
EXTRA_COLUMNS = ("gene", "genename", "gene_type", "alpha", "n_snps_in_window", "n.snps.in.model", "lambda_min_mse",
                 "test_R2_avg", "test_R2_sd", "cv_R2_avg", "cv_R2_sd", "in_sample_R2", "nested_cv_fisher_pval",
                 "rho_avg", "rho_se", "rho_zscore", "pred.perf.R2", "pred.perf.pval", "pred.perf.qval",
                 "cv_rho_avg", "cv_rho_se", "cv_rho_avg_squared", "cv_zscore_est", "cv_zscore_pval", "cv_pval_est")


def var_id(chrom, pos, ref, alt, build: str = "GRCh37") -> np.ndarray:
    """PredictDB's variant id ``chr{chrom}_{pos}_{ref}_{alt}_b{37|38}``.

    Parameters
    ----------
    chrom, pos, ref, alt : array-like
        Variant coordinates (alt: the effect allele).
    build : str
        Genome build (GRCh37 / hg19 -> b37, anything else -> b38).

    Returns
    -------
    numpy.ndarray of str
    """
    b = "b37" if str(build).lower() in ("grch37", "hg19", "b37") else "b38"
    s = ("chr" + pd.Series(np.asarray(chrom, dtype=str)) + "_" + pd.Series(np.asarray(pos)).astype(str) + "_"
         + pd.Series(np.asarray(ref, dtype=str)) + "_" + pd.Series(np.asarray(alt, dtype=str)) + "_" + b)
    return s.to_numpy()


def model_snps(models: pd.DataFrame, build: str = "GRCh37") -> pd.DataFrame:
    """One row per model SNP of schema ``weights_models`` rows: gene, rsid (varID when none), varID, ref, alt,
    weight, and the SNP's index within its model (``k``).

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of schema ``weights_models``.
    build : str
        Genome build for varID.

    Returns
    -------
    pandas.DataFrame
    """
    m = models[models["n_snps_in_model"] > 0]
    cols = ["variant_id", "rsid", "pos", "ref", "alt", "weight"]
    if not len(m):
        return pd.DataFrame(columns=["gene", "chrom", "k", "varID"] + cols)
    e = m[["gene", "chrom"] + cols].explode(cols, ignore_index=True)
    e["k"] = e.groupby("gene", sort=False).cumcount()
    e["varID"] = var_id(e["chrom"], e["pos"], e["ref"], e["alt"], build)
    rs = e["rsid"].astype(str)
    e["rsid"] = np.where(rs.isin(["", ".", "nan", "None"]), e["varID"], rs)
    e["weight"] = e["weight"].astype(float)
    return e


def weights_table(models: pd.DataFrame, build: str) -> pd.DataFrame:
    """Schema ``weights`` rows of trained models (one per SNP with a weight).

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of schema ``weights_models``.
    build : str
        Genome build (varID naming of SNPs without rsid).

    Returns
    -------
    pandas.DataFrame
        Conforming to schema ``weights``: source ``locusflow``, method ``enet``, ``weight_scale``
        ``allele``, cv_r2 = rho_avg^2, cv_pval = zscore_pval, cv_qval = its BH q-value.
    """
    s = model_snps(models, build)
    m = models.set_index("gene")
    g = s["gene"]
    return pd.DataFrame({
        "model_id": g.map(m["model_id"]), "gene": g, "gene_name": g.map(m["gene_name"]), "tissue": g.map(m["tissue"]),
        "method": "enet", "source": "locusflow", "panel": g.map(m["panel"]), "chrom": s["chrom"].astype(str),
        "pos": s["pos"].astype("int64"), "variant_id": s["variant_id"], "rsid": s["rsid"], "effect_allele": s["alt"],
        "other_allele": s["ref"], "weight": s["weight"].astype(float), "weight_scale": "allele",
        "tx_start": g.map(m["start"]), "tx_stop": g.map(m["end"]), "cv_r2": g.map(m["rho_avg_squared"]),
        "cv_pval": g.map(m["zscore_pval"]), "cv_qval": g.map(m["zscore_qval"]), "h2": np.nan,
        "n_snps_in_model": g.map(m["n_snps_in_model"]), "source_file": None, "weight_row": np.arange(len(s)),
        "cov_var": np.nan, "cov_partner": None, "n_snps_in_cov": None})


def export_predictdb(models: pd.DataFrame, path, *, population: str, n_samples: int, seed: int,
                    build: str = "GRCh37") -> Path:
    """A PredictDB SQLite database of trained models (written to a temporary file, then renamed).

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of schema ``weights_models`` to publish (PredictDB: the kept ones).
    path : str or pathlib.Path
        The ``.db`` file (replaced).
    population : str
        ``sample_info.population`` (the tissue / cell type).
    n_samples : int
        Training samples.
    seed : int
        ``construction.cv_seed``.
    build : str
        Genome build of the varIDs.

    Returns
    -------
    pathlib.Path

    References
    ----------
    hakyimlab PredictDb-nextflow ``make_db.R``, ``filter_db.R``; MetaXcan ``PredictionModel.py``.
    """
    path = Path(path)
    snps = model_snps(models, build)
    w = pd.DataFrame({"rsid": snps["rsid"], "gene": snps["gene"], "weight": snps["weight"],
                      "ref_allele": snps["ref"], "eff_allele": snps["alt"], "varID": snps["varID"]})
    ex = models.rename(columns=EXTRA_RENAME)
    ex = ex[[c for c in EXTRA_COLUMNS if c in ex.columns]].astype({"n.snps.in.model": "int64"})
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        w.to_sql("weights", con, index=False)
        con.execute("CREATE INDEX weights_rsid ON weights (rsid)")
        con.execute("CREATE INDEX weights_gene ON weights (gene)")
        con.execute("CREATE INDEX weights_rsid_gene ON weights (rsid, gene)")
        ex.to_sql("extra", con, index=False)
        con.execute("CREATE INDEX gene_model_summary ON extra (gene)")
        pd.DataFrame({"n_samples": [int(n_samples)], "population": [population]}).to_sql("sample_info", con,
                                                                                          index=False)
        chroms = sorted(models["chrom"].astype(str).unique()) if len(models) else []
        pd.DataFrame({"chromosome": chroms, "cv_seed": [int(seed)] * len(chroms)}).to_sql("construction", con,
                                                                                         index=False)
        con.commit()
    finally:
        con.close()
    os.replace(tmp, path)
    return path


def covariance_rows(models: pd.DataFrame, build: str = "GRCh37") -> pd.DataFrame:
    """PredictDB covariance rows (GENE, RSID1, RSID2, VALUE) of schema ``weights_models`` rows.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of schema ``weights_models``.
    build : str
        Genome build of the varIDs naming SNPs without rsid.

    Returns
    -------
    pandas.DataFrame
        The upper triangle of each model's covariance, sorted by GENE, RSID1, RSID2.
    """
    snps = model_snps(models, build)
    covs = dict(zip(models["gene"], models["covariance"]))
    parts = []
    for gene, s in snps.groupby("gene", sort=False):           # loop over models
        i, j = np.triu_indices(len(s))
        cov = np.asarray(covs[gene], float)
        rs = s["rsid"].to_numpy()
        parts.append(pd.DataFrame({"GENE": gene, "RSID1": rs[i], "RSID2": rs[j], "VALUE": cov}))
    if not parts:
        return pd.DataFrame(columns=["GENE", "RSID1", "RSID2", "VALUE"])
    return pd.concat(parts, ignore_index=True).sort_values(["GENE", "RSID1", "RSID2"], kind="stable",
                                                           ignore_index=True)


def export_covariance(models: pd.DataFrame, path, build: str = "GRCh37") -> Path:
    """PredictDB covariance file (gzipped, space separated) of trained models.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of schema ``weights_models``.
    path : str or pathlib.Path
        ``.txt.gz`` file, replaced (gzip without a timestamp: the same models give the same bytes).
    build : str
        Genome build naming SNPs without rsid (:func:`var_id`).

    Returns
    -------
    pathlib.Path
        ``path``, written.

    References
    ----------
    PredictDB ``do_covariance``; MetaXcan ``--covariance`` files.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    rows = covariance_rows(models, build)
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz, \
            io.TextIOWrapper(gz, encoding="ascii", newline="\n") as f:
        rows.to_csv(f, sep=" ", index=False, float_format="%.17g")
    os.replace(tmp, path)
    return path
