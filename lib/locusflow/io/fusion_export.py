"""Trained models in FUSION's layout: one ``.wgt.RDat`` per gene and a ``.pos`` list (gusevlab/fusion_twas).

A ``.wgt.RDat`` holds what ``FUSION.compute_weights.R`` saves and ``FUSION.assoc_test.R`` loads:
``wgt.matrix`` (SNPs x models; here one column ``enet``), ``snps`` (the SNPs as .bim columns V1..V6: chrom,
id, cm, pos, A1 = the counted/effect allele, A2), ``cv.performance`` (rows ``rsq`` and ``pval``: PredictDB's
rho_avg^2 and zscore_pval), ``hsq`` (NA NA: not estimated), ``hsq.pv`` (NA) and ``N.tot``. FUSION's weights
act on standardised genotypes (``scale()``: SD with n - 1), so the enet weight per allele is multiplied
by the SNP's dosage SD, taken from the model's covariance diagonal (n - 1 as well).

``<tissue>.pos``: tab separated ``PANEL WGT ID CHR P0 P1``, WGT relative to the directory holding it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .rdata_write import RMatrix, write_rdata
from .weights_export import model_snps


def fusion_weights(model) -> np.ndarray:
    """FUSION-scale weights of one model: beta_allele x SD(dosage).

    Parameters
    ----------
    model : pandas.Series or dict
        A row of schema ``weights_models``.

    Returns
    -------
    numpy.ndarray
        [k] weights per standardised genotype.
    """
    k = len(model["weight"])
    cov = np.zeros((k, k))
    cov[np.triu_indices(k)] = np.asarray(model["covariance"], float)
    return np.asarray(model["weight"], float) * np.sqrt(np.diag(cov))


def write_fusion(models: pd.DataFrame, out, *, tissue: str, n_samples: int, build: str = "GRCh37") -> Path:
    """FUSION ``.wgt.RDat`` files and a ``.pos`` list of trained models.

    Parameters
    ----------
    models : pandas.DataFrame
        Rows of schema ``weights_models`` (those with at least one weight are written).
    out : str or pathlib.Path
        Directory: ``<out>/<tissue>/<gene>.wgt.RDat`` and ``<out>/<tissue>.pos``.
    tissue : str
        PANEL name.
    n_samples : int
        ``N.tot``.
    build : str
        Genome build naming SNPs without rsid.

    Returns
    -------
    pathlib.Path
        The ``.pos`` file.

    References
    ----------
    Gusev et al. 2016, Nat Genet 48:245; gusevlab/fusion_twas ``FUSION.compute_weights.R``,
    ``FUSION.assoc_test.R``.
    """
    out = Path(out)
    (out / tissue).mkdir(parents=True, exist_ok=True)
    snps = model_snps(models, build)
    rows = []
    for _, m in models[models["n_snps_in_model"] > 0].iterrows():      # loop over models
        s = snps[snps["gene"] == m["gene"]]
        bim = pd.DataFrame({"V1": np.full(len(s), int(m["chrom"]) if str(m["chrom"]).isdigit() else 0, np.int32),
                            "V2": s["rsid"].astype(str).to_numpy(), "V3": np.zeros(len(s)),
                            "V4": s["pos"].astype(np.int32).to_numpy(), "V5": s["alt"].astype(str).to_numpy(),
                            "V6": s["ref"].astype(str).to_numpy()})
        rel = f"{tissue}/{m['gene']}.wgt.RDat"
        write_rdata({"wgt.matrix": RMatrix(fusion_weights(m)[:, None], bim["V2"], ["enet"]), "snps": bim,
                     "cv.performance": RMatrix(np.array([[m["rho_avg_squared"]], [m["zscore_pval"]]]),
                                               ["rsq", "pval"], ["enet"]),
                     "hsq": np.array([np.nan, np.nan]), "hsq.pv": np.array([np.nan]),
                     "N.tot": np.array([int(n_samples)], np.int32)}, out / rel)
        rows.append({"PANEL": tissue, "WGT": rel, "ID": m["gene"], "CHR": m["chrom"], "P0": int(m["start"]),
                     "P1": int(m["end"])})
    pos = out / f"{tissue}.pos"
    pd.DataFrame(rows, columns=["PANEL", "WGT", "ID", "CHR", "P0", "P1"]).to_csv(pos, sep="\t", index=False)
    return pos
