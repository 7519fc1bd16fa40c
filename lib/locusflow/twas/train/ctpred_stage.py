"""Stage `weights_ctpred` (``locusflow weights ctpred``): one ctPred per cell type (scPrediXcan step 1).

Config section ``weights_ctpred`` (defaults in brackets)::

    weights_ctpred:
      features: null        # tss_features dataset or an Enformer-style table [this run's dnalm features]
      h5ad: cells.h5ad      # single-cell counts (AnnData); or
      expression: null      #   a bulk genes x individuals table (cell type = `name`)
      individual: donor_id  # h5ad obs columns
      cell_type: cell_type
      cell_types: null      # [every cell type with a kept pseudobulk]
      layer: null           # counts layer [X]
      agg: sum              # pseudobulk: sum | mean of the cells' values
      normalise: cpm        # cpm | log1p_cpm | none
      min_cells: 10
      missing_genes: zero   # feature genes absent from the expression data: zero (scPrediXcan) | drop
      train_chroms / valid_chroms / test_chroms   # [scPrediXcan's split]
      n_layers: 4, hidden: 64, dropout: 0.05, lr: 9.0e-5, weight_decay: 5.0e-4, batch_size: 1000,
      max_epochs: 100, patience: null, seed: 1024

Targets: per cell type, the percentile rank of each gene's mean expression over individuals
(:func:`locusflow.twas.train.expression.ctpred_targets`). Writes ``<out>/weights_ctpred/models/<dir>/``
(ctpred.json, model.pt; ``models/index.json`` maps cell types to directories), ``metrics`` (schema
ctpred_metrics) and ``predictions`` (schema ctpred_predictions).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ...config_schema import Key
from ...errors import InputError
from ...io.dataset import write_dataset
from ...layout import dataset_path
from ...logs import get_logger
from ...pipeline import Context, Stage, register
from .ctpred import DEFAULTS, TEST_CHROMS, TRAIN_CHROMS, VALID_CHROMS

log = get_logger("weights")
CONFIG = {
    "features": Key("path", None, "tss_features dataset or a genes x features table (gene, chrom/chromo, numeric "
                    "columns) [this run's dnalm features]"),
    "h5ad": Key("file", None, "single-cell AnnData (.h5ad): counts, obs with individual and cell type"),
    "expression": Key("file", None, "or a bulk genes x individuals expression table (one cell type: name)"),
    "name": Key("str", "bulk", "cell type / tissue name of a bulk expression table"),
    "individual": Key("str", "individual", "h5ad obs column of each cell's individual"),
    "cell_type": Key("str", "cell_type", "h5ad obs column of each cell's type"),
    "cell_types": Key("list", None, "cell types to model [all with a kept pseudobulk]", item=Key("str")),
    "layer": Key("str", None, "h5ad layer of counts ('raw': adata.raw) [X]"),
    "agg": Key("str", "sum", "pseudobulk: sum or mean of the cells' values", choices=("sum", "mean")),
    "normalise": Key("str", "cpm", "pseudobulk normalisation", choices=("cpm", "log1p_cpm", "none")),
    "min_cells": Key("int", 10, "cells an (individual, cell type) needs to be kept", min=1),
    "missing_genes": Key("str", "zero", "feature genes absent from the expression: target 0 (scPrediXcan) or drop",
                         choices=("zero", "drop")),
    "train_chroms": Key("list", list(TRAIN_CHROMS), "training chromosomes", item=Key("str")),
    "valid_chroms": Key("list", list(VALID_CHROMS), "validation chromosomes (early stopping)", item=Key("str")),
    "test_chroms": Key("list", list(TEST_CHROMS), "test chromosomes (reported)", item=Key("str")),
    "n_layers": Key("int", DEFAULTS["n_layers"], "hidden layers", min=1),
    "hidden": Key("int", DEFAULTS["hidden"], "hidden width", min=1),
    "dropout": Key("float", DEFAULTS["dropout"], "dropout rate", min=0, max=0.99),
    "lr": Key("float", DEFAULTS["lr"], "Adam learning rate", gt=0),
    "weight_decay": Key("float", DEFAULTS["weight_decay"], "Adam weight decay (L2)", min=0),
    "batch_size": Key("int", DEFAULTS["batch_size"], "genes per minibatch", min=1),
    "max_epochs": Key("int", DEFAULTS["max_epochs"], "epochs", min=1),
    "patience": Key("int", None, "stop after this many epochs without a better validation loss [run all]", min=1),
    "seed": Key("int", DEFAULTS["seed"], "torch seed", min=0),
}


def _targets(sec: dict) -> dict:
    """Cell type -> genes x individuals expression."""
    from .expression import pseudobulk, read_expression_table, read_h5ad
    if bool(sec.get("h5ad")) == bool(sec.get("expression")):
        raise InputError("config", "exactly one of weights_ctpred.h5ad and weights_ctpred.expression",
                         column="weights_ctpred.h5ad")
    if sec.get("expression"):
        return {str(sec["name"]): read_expression_table(sec["expression"])[0]}
    pb = pseudobulk(read_h5ad(sec["h5ad"]), individual=sec["individual"], cell_type=sec["cell_type"],
                    layer=sec.get("layer"), agg=sec["agg"], min_cells=int(sec["min_cells"]),
                    normalise=sec["normalise"], source=sec["h5ad"])
    pb.pop("_cells")
    want = sec.get("cell_types") or list(pb)
    missing = [c for c in want if c not in pb]
    if missing:
        raise InputError(sec["h5ad"], f"cell types with a kept pseudobulk ({sorted(pb)})", column=sec["cell_type"],
                         value=missing)
    return {c: pb[c] for c in want}


def _dirname(cell_type: str, used: set) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", cell_type).strip("_") or "cell_type"
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def _run(ctx: Context) -> dict:
    from .ctpred import CtPred, chromosome_split
    from .expression import percentile_rank
    from .sequence_features import match_expression, read_sequence_features
    sec = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("weights_ctpred").items()
                                                        if v is not None}
    fpath = Path(sec.get("features") or dataset_path(ctx.cfg, "tss_features"))
    genes, x = read_sequence_features(fpath)
    split = chromosome_split(genes["chrom"], sec["train_chroms"], sec["valid_chroms"], sec["test_chroms"])
    models = ctx.path("ctpred_models")
    models.mkdir(parents=True, exist_ok=True)
    hyper = {k: sec[k] for k in DEFAULTS}
    metrics, preds, index, used = [], [], {}, {"models", "weights", "index.json"}
    for ct, expr in _targets(sec).items():             # loop over cell types (tens)
        rows = match_expression(genes, expr.index)
        measured = rows >= 0
        keep = measured if sec["missing_genes"] == "drop" else np.ones(len(rows), bool)
        mean = np.where(measured, expr.mean(axis=1).to_numpy()[np.maximum(rows, 0)], 0.0)[keep]
        y = percentile_rank(mean)
        m = CtPred(**hyper).fit(x[keep], y, split[keep])
        d = _dirname(ct, used)
        m.save(models / d)
        index[ct] = d
        metrics.append({"cell_type": ct, "n_individuals": expr.shape[1], "n_genes": int(keep.sum()),
                        "best_epoch": m.best_epoch_, "epochs_run": len(m.history_["valid_loss"]), "model_dir": d,
                        **{k: m.metrics_.get(k, np.nan) for k in
                           ("n_train", "n_valid", "n_test", "r_train", "r_valid", "r_test", "mse_train",
                            "mse_valid", "mse_test")}})
        g = genes[keep]
        preds.append(pd.DataFrame({"cell_type": ct, "gene": g["gene"].to_numpy(), "gene_name": g["gene_name"].to_numpy(),
                                   "chrom": g["chrom"].to_numpy(), "split": split[keep], "measured": measured[keep],
                                   "target": y, "predicted": m.predict(x[keep])}))
        log.info("ctPred %s: %d genes, r test %.3f, valid %.3f (epoch %d)", ct, int(keep.sum()),
                 m.metrics_.get("r_test", np.nan), m.metrics_.get("r_valid", np.nan), m.best_epoch_)
    (models / "index.json").write_text(json.dumps(index, indent=1))
    met = pd.DataFrame(metrics)
    man = {"features": str(fpath)}
    write_dataset(met, ctx.path("ctpred_metrics"), "ctpred_metrics", mode="overwrite", manifest=man)
    write_dataset(pd.concat(preds, ignore_index=True), ctx.path("ctpred_predictions"), "ctpred_predictions",
                  mode="overwrite", manifest=man)
    return {"cell_types": len(met), "genes": int(len(genes)),
            "r_test": {r.cell_type: round(float(r.r_test), 4) for r in met.itertuples()}}


def _inputs(cfg) -> list:
    sec = cfg.get("weights_ctpred") or {}
    return [] if sec.get("features") else [dataset_path(cfg, "tss_features")]


register(Stage("weights_ctpred", _run, inputs=_inputs, config=CONFIG))
