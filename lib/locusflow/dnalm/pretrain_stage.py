"""Stage `dnalm_pretrain`: masked-LM pretraining of a small DNA language model from any FASTA.

Config section ``dnalm_pretrain`` (defaults in brackets)::

    dnalm_pretrain:
      fasta: genome.fa.gz       # indexed FASTA; soft-masked (lower-case) repeats are down-weighted
      held_out: "20:50000001-52000000"   # segment never trained on; held-out metrics measured there
      chroms: null              # chromosomes to train on [all in the index]
      steps: 600                # optimiser steps
      batch_size: 64            # windows per step
      window: 128               # bp
      lr: 0.002                 # peak AdamW learning rate (one-cycle schedule)
      repeat_weight: 0.1        # loss weight of soft-masked positions (GPN)
      n_eval: 20000             # held-out positions evaluated
      seed: 0

Writes ``<out>/dnalm_pretrain/model`` (a transformers directory: config.json, model.safetensors,
training.json, metrics.json), loadable by ``score_variants.model``. See :mod:`locusflow.dnalm.pretrain`.
CLI: ``locusflow dnalm pretrain --fasta F --held-out 20:50000001-52000000 --out ROOT`` (alias
``dnalm_pretrain``).
"""
from __future__ import annotations

from ..config_schema import Key
from ..errors import InputError
from ..pipeline import Context, Stage, register

CONFIG = {
    "fasta": Key("file", None, "indexed FASTA (soft-masked repeats in lower case are down-weighted)"),
    "held_out": Key("str", None, "chrom:start-end never trained on; metrics measured there"),
    "chroms": Key("list", None, "chromosomes to train on [all]", item=Key("str")),
    "steps": Key("int", 600, "optimiser steps", min=1),
    "batch_size": Key("int", 64, "windows per step", min=1),
    "window": Key("int", 128, "training window (bp)", min=16),
    "lr": Key("float", 0.002, "peak AdamW learning rate", gt=0),
    "repeat_weight": Key("float", 0.1, "loss weight of soft-masked (repeat) positions", min=0, max=1),
    "n_eval": Key("int", 20000, "held-out positions evaluated", min=1),
    "seed": Key("int", 0, "random seed"),
}


def _run(ctx: Context) -> dict:
    from .pretrain import pretrain
    o = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("dnalm_pretrain").items()
                                                    if v is not None}
    for k in ("fasta", "held_out"):
        if o[k] is None:
            raise InputError(f"dnalm_pretrain.{k}", "a value (FASTA path; held-out region chrom:start-end)")
    m = pretrain(o["fasta"], ctx.path("dnalm_model"), chroms=o["chroms"], held_out=o["held_out"], window=o["window"],
                 steps=o["steps"], batch_size=o["batch_size"], lr=o["lr"], repeat_weight=o["repeat_weight"],
                 n_eval=o["n_eval"], seed=o["seed"])
    return {"model_accuracy": m["model"]["accuracy"], "markov5_accuracy": m["markov5"]["accuracy"],
            "model_loss": m["model"]["loss"], "markov5_loss": m["markov5"]["loss"]}


register(Stage("dnalm_pretrain", _run, config=CONFIG))
