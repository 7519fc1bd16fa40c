"""Stage `weights_lctpred` (``locusflow weights lctpred``): ctPred linearised into SNP weights (scPrediXcan step 2).

Config section ``weights_lctpred`` (defaults in brackets)::

    weights_lctpred:
      models: null          # ctPred models directory [this run's weights_ctpred models]
      personal: null        # personal_features dataset [this run's dnalm features --personal]
      store: null           # the reference individuals' genotype store [the one the features were made from]
      cell_types: null      # [every model]
      how: mean_features    # ctPred on the mean of the two haplotypes' features | mean of their predictions
      window: 1000000       # and every other key of weights_train (QC, alpha, folds, seed, fusion ...)

Per cell type: each individual's expression of each gene is predicted by the cell type's ctPred from the
features of their own sequence at the TSS (:func:`locusflow.twas.train.lctpred.expression_from_haplotypes`),
written as a BED-like table (``<cell_type>/expression.parquet``: the ctPred-predicted expression
scPrediXcan hands to PredictDB), and trained by the weights_train pipeline
(:func:`locusflow.twas.train.run.train_weights`: SNP QC, PredictDB's elastic net and nested CV, keep
rule, PredictDB database and covariance file in ``<cell_type>/``). ``models`` (schema weights_models)
and ``weights`` (schema weights) gather every cell type, with method ``lctpred`` in the model ids.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ...config_schema import Key
from ...errors import InputError
from ...io.dataset import read_dataset, read_manifest, write_dataset
from ...layout import dataset_path
from ...logs import get_logger
from ...pipeline import Context, Stage, register
from .train_config import CONFIG as TRAIN_CONFIG, HOW

log = get_logger("weights")
OWN = ("expression", "genes", "gene_types", "covariates", "factors", "tissue")      # set here, per cell type
CONFIG = {
    "models": Key("path", None, "ctPred models directory (index.json) [this run's weights_ctpred models]"),
    "personal": Key("path", None, "personal_features dataset [this run's dnalm features --personal]"),
    "cell_types": Key("list", None, "cell types [every model]", item=Key("str")),
    "how": Key("str", "mean_features", "ctPred on the haplotypes' mean features, or the mean of its predictions",
               choices=HOW),
} | {k: v for k, v in TRAIN_CONFIG.items() if k not in OWN}


def _paths(cfg) -> dict:
    sec = cfg.get("weights_lctpred") or {}
    return {"models": Path(sec.get("models") or dataset_path(cfg, "ctpred_models")),
            "personal": Path(sec.get("personal") or dataset_path(cfg, "personal_features"))}


def _run(ctx: Context) -> dict:
    from ...io.genotypes import GenotypeStore
    from .ctpred import CtPred
    from .lctpred import expression_from_haplotypes
    from .run import train_weights
    sec = {k: v for k, v in ctx.section("weights_lctpred").items() if v is not None}
    p = _paths(ctx.cfg)
    index_file = p["models"] / "index.json"
    if not index_file.exists():
        raise InputError(p["models"], "a ctPred models directory with index.json (locusflow weights ctpred)")
    index = json.loads(index_file.read_text())
    want = sec.get("cell_types") or list(index)
    missing = [c for c in want if c not in index]
    if missing:
        raise InputError(index_file, f"ctPred models of the cell types ({sorted(index)})", value=missing)
    man = read_manifest(p["personal"]) or {}
    store = GenotypeStore(sec.get("store") or man.get("store") or dataset_path(ctx.cfg, "genotypes"))
    if man.get("samples") and list(map(str, store.samples)) != list(man["samples"]):
        raise InputError(store.path, f"the samples (in order) the personal features of {p['personal']} were made from")
    personal = read_dataset(p["personal"], "personal_features")
    out = ctx.stage_dir("weights_lctpred")
    train_opts = {k: v for k, v in sec.items() if k in TRAIN_CONFIG}
    models, weights, summary = [], [], {}
    for ct in want:                                       # loop over cell types (tens)
        model = CtPred.load(p["models"] / index[ct])
        genes, expr = expression_from_haplotypes(personal, model, store.n_samples, sec.get("how", "mean_features"))
        table = pd.DataFrame({"#chr": genes["chrom"].to_numpy(), "start": genes["tss"].to_numpy() - 1,
                              "end": genes["tss"].to_numpy(), "gene_id": genes["gene"].to_numpy()})
        table = pd.concat([table, pd.DataFrame(expr, columns=[str(s) for s in store.samples])], axis=1)
        d = out / index[ct]
        d.mkdir(parents=True, exist_ok=True)
        table.to_parquet(d / "expression.parquet", index=False)
        summary[ct] = train_weights(d, **train_opts, expression=str(d / "expression.parquet"), store=str(store.path),
                                    tissue=ct, **ctx.runner_kwargs(), progress=False)
        models.append(read_dataset(d / "models", "weights_models"))
        weights.append(read_dataset(d / "weights", "weights"))
    models = pd.concat(models, ignore_index=True)
    weights = pd.concat(weights, ignore_index=True)
    models["model_id"] = models["model_id"].str.replace("@enet@", "@lctpred@", regex=False)
    weights["model_id"] = weights["model_id"].str.replace("@enet@", "@lctpred@", regex=False)
    weights["method"] = "lctpred"
    weights["weight_row"] = np.arange(len(weights))
    write_dataset(models, ctx.path("lctpred_models"), "weights_models", mode="overwrite")
    write_dataset(weights, ctx.path("lctpred_weights"), "weights", mode="overwrite",
                  manifest={"models": str(p["models"]), "personal": str(p["personal"])})
    log.info("l-ctPred: %d cell types, %d models kept", len(want), int(models["keep"].sum()))
    return {"cell_types": len(want), "genes": int(models["gene"].nunique()), "kept": int(models["keep"].sum()),
            "per_cell_type": {ct: {k: s[k] for k in ("genes", "trained", "kept")} for ct, s in summary.items()}}


def _inputs(cfg) -> list:
    p = _paths(cfg)
    return [p["models"] / "index.json", p["personal"]]


register(Stage("weights_lctpred", _run, inputs=_inputs, config=CONFIG))
