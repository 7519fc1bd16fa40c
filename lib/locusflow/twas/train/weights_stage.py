"""Stage `weights_train` (``locusflow weights train``): PredictDB elastic-net expression weights per gene.

Config section ``weights_train`` (``locusflow config --explain`` prints every key)::

    weights_train:
      expression: expr.tsv.gz     # genes x samples (text or Parquet); a BED-like table gives TSS positions
      genes: gencode.gtf.gz       # gene bodies: table (gene_id chrom start end ...) or GTF
      gene_types: [protein_coding, lincRNA, pseudogene]
      covariates: covariates.txt  # PCs, PEER factors, sex, batch ...: samples x covariates or transposed
      factors: [batch]            # covariates to treat as factors (non-numeric ones always are)
      tissue: Whole_Blood         # names the models (model_id, PredictDB population)
      window: 1000000             # cis SNPs: gene body +/- window
      min_maf: 0.01               # SNP QC over the training samples (snp_qc.py)
      alpha: 0.5                  # glmnet alpha; lambda by n_folds-fold CV, performance by n_outer nested CV
      seed: 0

Samples: those of the expression table that are in the genotype store (``store``, default this run's
``ingest`` output) and, when given, the covariate table. Expression is residualised on the covariates
and scaled (PredictDB ``adjust_for_covariates``); genes are cut into units of neighbouring genes
(:mod:`~locusflow.twas.train.tasks`) and trained on any engine.

Outputs under ``<out>/weights_train/``: ``models`` (schema weights_models: every gene tried, with
PredictDB's summary and the model as lists), ``weights`` (schema weights: the SNPs of the kept models),
``covariance`` (schema snp_covariance), and for other tools ``predictdb.db`` + ``covariance.txt.gz``
(PredictDB layout: MetaXcan, PrediXcan, pyfocus and our own twas stage read them) and, with
``fusion: true``, ``fusion/`` (one .wgt.RDat per kept model and a .pos list, FUSION's layout).
"""
from __future__ import annotations

from pathlib import Path

from ...layout import dataset_path
from ...pipeline import Context, Stage, register
from .train_config import CONFIG, OUTPUTS


def _store(cfg) -> Path:
    return Path((cfg.get("weights_train") or {}).get("store") or dataset_path(cfg, "genotypes"))


def _run(ctx: Context) -> dict:
    sec = dict(ctx.section("weights_train"))
    sec["store"] = str(_store(ctx.cfg))
    paths = {name: ctx.path(name) for name in OUTPUTS}
    from .run import train_weights      # scipy, numba: imported when the stage runs, not when it is declared
    return train_weights(ctx.stage_dir("weights_train"), paths=paths, **ctx.runner_kwargs(), **sec)


register(Stage("weights_train", _run, inputs=lambda cfg: [_store(cfg)], config=CONFIG))
