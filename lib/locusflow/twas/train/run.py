"""Training expression weights for every gene of an expression table (the weights_train stage's work).

:func:`train_weights` reads the inputs, aligns samples, residualises expression, cuts the genes into
work units (:mod:`~locusflow.twas.train.tasks`), trains them on any engine and writes the outputs
(schema weights_models, weights, snp_covariance; PredictDB database and covariance file). The stage
(:mod:`~locusflow.twas.train.weights_stage`) calls it with the pipeline's staging paths.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ...engine.runner import run_worklist
from ...errors import InputError
from ...io.dataset import write_dataset
from ...io.genotypes import GenotypeStore
from ...io.weights_export import covariance_rows, export_covariance, export_predictdb, weights_table
from ...logs import get_logger
from .covariates import read_covariates, residualise_expression
from .eqtl import bh_qvalues
from .expression import read_expression_table
from .genes import match_genes, read_gene_annotation
from .tasks import QC_COLUMNS, train_unit, training_units
from .train_config import CONFIG, OUTPUTS  # noqa: F401  (the stage's keys and outputs, re-exported)

log = get_logger("weights")
QC_KEYS = ("min_maf", "min_hwe_p", "max_missing", "drop_ambiguous", "drop_multiallelic")
ENET_KEYS = ("alpha", "n_outer", "n_folds", "thresh", "max_iter")
# snp_covariance columns the twas stage codes at import (weights -> rows): not known here
UNCODED = ("weight_row1", "weight_row2", "model_row", "first_rsid1", "repeat_pair", "term")


def _genes(sec, expr: pd.DataFrame, positions) -> pd.DataFrame:
    if sec.get("genes"):
        ann = read_gene_annotation(sec["genes"])
    elif positions is not None:
        ann = pd.DataFrame({"gene": positions.index.astype(str), "gene_name": "", "gene_type": "",
                            "chrom": positions["chrom"].astype(str).to_numpy(),
                            "start": positions["tss"].to_numpy(np.int64), "end": positions["tss"].to_numpy(np.int64)})
    else:
        raise InputError(sec["expression"], "gene positions: weights_train.genes (a gene table or GTF), or a "
                         "BED-like expression table (#chr start end gene_id ...)", column="weights_train.genes")
    genes = match_genes(expr.index, ann, sec.get("gene_types"))
    if not len(genes):
        raise InputError(sec.get("genes") or sec["expression"], "expression genes with an annotation (ids match "
                         "with or without version)", value=list(expr.index[:3]))
    return genes


def _samples(sec, expr: pd.DataFrame, store: GenotypeStore) -> tuple[list, dict]:
    in_store = set(store.samples)
    samples = [s for s in expr.columns if s in in_store]
    report = {"expression": int(expr.shape[1]), "not_in_store": int(expr.shape[1] - len(samples))}
    if len(samples) < 3 * max(int(sec.get("n_folds", 10)), int(sec.get("n_outer", 5))):
        raise InputError(sec["expression"], f"expression samples that are in the genotype store {store.path} "
                         f"(found {len(samples)})", value=list(expr.columns[:5]))
    return samples, report


def train_weights(out, *, paths: dict | None = None, engine: str = "local", spark=None, progress: bool = True,
                  **options) -> dict:
    """Train PredictDB elastic-net models for every annotated gene of an expression table.

    Parameters
    ----------
    out : str or pathlib.Path
        Output directory (``models``, ``weights``, ``covariance``, ``predictdb.db``, ``covariance.txt.gz``,
        ``fusion/``).
    paths : dict, optional
        Dataset name -> path, overriding the layout under ``out`` (the pipeline's staging paths).
    engine : {"local", "dask", "spark"}
        Engine of the work units; ``spark`` the session for ``spark``.
    progress : bool
        A progress bar for the local engine.
    **options
        The keys of the stage's config section (:data:`CONFIG`): ``expression`` and ``store`` are required.

    Returns
    -------
    dict
        Summary: samples, genes tried, trained and kept, SNPs dropped by QC reason.

    References
    ----------
    Gamazon et al. 2015, Nat Genet 47:1091; hakyimlab PredictDb-nextflow (``gtex_v7_nested_cv_elnet.R``).
    """
    sec = {k: v for k, v in options.items() if v is not None}
    unknown = set(sec) - set(CONFIG)
    if unknown:
        raise InputError("train_weights", f"options among {sorted(CONFIG)}", value=sorted(unknown))
    if not sec.get("store") or not sec.get("expression"):
        raise InputError("train_weights", "a genotype store (store) and an expression table (expression)",
                         value=sorted(sec))
    out = Path(out)
    paths = {name: out / rel for name, rel in OUTPUTS.items()} | (paths or {})
    store = GenotypeStore(sec["store"])
    expr, positions = read_expression_table(sec["expression"])
    genes = _genes(sec, expr, positions)
    samples, report = _samples(sec, expr, store)
    cov = read_covariates(sec["covariates"], samples, sec.get("factors") or ()) if sec.get("covariates") else None
    resid = residualise_expression(expr.loc[genes["gene"], samples].to_numpy().T,
                                   None if cov is None else cov.to_numpy())
    work = out / "_work"
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "residuals.npy", np.ascontiguousarray(resid.T))
    genes = genes.assign(row=np.arange(len(genes)))
    opt = {k: sec.get(k, key.default) for k, key in CONFIG.items()}
    units = training_units(genes, store.variants, window=int(opt["window"]), genes_per_unit=int(opt["genes_per_unit"]))
    kwargs = {"store": str(store.path), "residuals": str(work / "residuals.npy"),
              "samples": [int(i) for i in store.sample_index(samples)], "window": int(opt["window"]),
              "qc": {k: opt[k] for k in QC_KEYS}, "enet": {k: opt[k] for k in ENET_KEYS},
              "tissue": str(opt["tissue"]), "panel": str(opt["panel"]), "seed": int(opt["seed"]),
              "min_rho": float(opt["min_rho"]), "max_zscore_pval": float(opt["max_zscore_pval"])}
    # rows come back: one per gene (its model's summary and few weights), bounded by the genes, not the SNPs
    models = run_worklist(units, train_unit, "weights_models", kwargs=kwargs, engine=engine, spark=spark,
                          progress=progress and len(units) > 1)
    shutil.rmtree(work)
    trained = (models["status"] == "trained").to_numpy()
    models.loc[trained, "zscore_qval"] = bh_qvalues(models.loc[trained, "zscore_pval"].to_numpy(float))
    build = str(store.meta.get("genome_build", "GRCh37"))
    tissue = kwargs["tissue"]
    kept = models[models["keep"]]
    write_dataset(models, paths["weights_models"], "weights_models", mode="overwrite")
    write_dataset(weights_table(kept, build), paths["trained_weights"], "weights", mode="overwrite")
    c = covariance_rows(kept, build)
    write_dataset(pd.DataFrame({"tissue": tissue, "gene": c["GENE"], "rsid1": c["RSID1"], "rsid2": c["RSID2"],
                                "value": c["VALUE"].astype(float), **{k: None for k in UNCODED}}),
                  paths["trained_covariance"], "snp_covariance", mode="overwrite")
    export_predictdb(kept, paths["predictdb_db"], population=tissue, n_samples=len(samples), seed=kwargs["seed"],
                    build=build)
    export_covariance(kept, paths["predictdb_covariance"], build)
    if opt["fusion"]:
        from ...io.fusion_export import write_fusion
        write_fusion(kept, out / "fusion", tissue=tissue, n_samples=len(samples))
    return {"samples": {**report, "trained_on": len(samples)}, "genes": int(len(models)),
            "trained": int(trained.sum()), "kept": int(len(kept)),
            "snps_per_kept_model": float(kept["n_snps_in_model"].median()) if len(kept) else 0.0,
            "status": {str(k): int(v) for k, v in models["status"].value_counts().items()},
            "snps_dropped": {k.removeprefix("n_dropped_"): int(models[k].sum()) for k in QC_COLUMNS}}
