"""Stage `dnalm_finetune`: fine-tune a pretrained DNA language model on labelled regions (BED or TSV).

Config section ``dnalm_finetune`` (defaults in brackets)::

    dnalm_finetune:
      labels: regions.bed        # BED (chrom start end label [name strand]) or TSV (chrom start end label [strand])
      fasta: genome.fa.gz        # indexed FASTA of the regions
      base: null                 # pretrained model directory [the shipped GRCh37 chr20 model]; one with a
                                 # tokenizer is any local transformers encoder (BERT-like)
      task: binary               # binary | multiclass | regression
      mode: lora                 # head (frozen backbone) | lora (peft adapters + head) | full
      held_out: "20:50000001-52000000"   # test regions or chromosomes (a list allowed); metrics only
      window: 256                # bp per example, centred on each region (minus strand: reverse complement)
      epochs: 20                 # most epochs (early stopping on the validation loss)
      patience: 3                # epochs without a better validation loss before stopping
      batch_size: 64
      lr: null                   # AdamW learning rate [head 3e-3, lora 2e-3, full 5e-4]
      weight_decay: 0.01
      lora_r: 8                  # LoRA rank
      lora_alpha: 16             # LoRA scale numerator (scale = alpha / r)
      lora_targets: null         # module names for LoRA [ours: ff; BERT: query, value]
      valid_fraction: 0.15       # training rows (whole 1-Mb bins) kept for early stopping
      baseline: true             # also the k-mer (4-6) logistic regression on the same split
      score_class: null          # multiclass: the class whose log-odds variant effects compare [the last]
      shift: 0                   # training-time jitter (bp) of each window around its region's centre (lora, full)
      pooling: meanmax           # what the head reads: meanmax (mean, max over the window) | centre (+ the centre's state)
      seed: 0

Writes ``<out>/dnalm_finetune/model``: config.json, model.safetensors, finetune.json, metrics.json (held-out
AUROC/AUPRC or R^2 and the baseline's), loadable by ``score_variants.model`` (column ``ft_delta``).
See :mod:`locusflow.dnalm.finetune`. CLI: ``locusflow dnalm finetune --labels L --fasta F --held-out R --out
ROOT`` (alias ``dnalm_finetune``).
"""
from __future__ import annotations

from ..config_schema import Key
from ..errors import InputError
from ..pipeline import Context, Stage, register

CONFIG = {
    "labels": Key("file", None, "BED (chrom start end label [name strand]) or TSV (chrom start end label [strand]) "
                  "of labelled regions"),
    "fasta": Key("file", None, "indexed FASTA (bgzip + .fai/.gzi or plain + .fai) of the regions"),
    "base": Key("path", None, "pretrained model directory [the shipped GRCh37 chr20 model]; with a tokenizer: a "
                "local transformers encoder"),
    "task": Key("str", "binary", "label type", choices=("binary", "multiclass", "regression")),
    "mode": Key("str", "lora", "what is trained: head (frozen backbone), lora (adapters + head), full",
                choices=("head", "lora", "full")),
    "held_out": Key(("str", "list"), None, "test regions chrom:start-end or chromosomes (never trained on)",
                    item=Key("str")),
    "window": Key("int", 256, "bp per example, centred on each region", min=16),
    "epochs": Key("int", 20, "most epochs", min=1),
    "patience": Key("int", 3, "epochs without a better validation loss before stopping", min=1),
    "batch_size": Key("int", 64, "windows per optimiser step", min=1),
    "lr": Key("float", None, "AdamW learning rate [head 3e-3, lora 2e-3, full 5e-4]", gt=0),
    "weight_decay": Key("float", 0.01, "AdamW weight decay", min=0),
    "lora_r": Key("int", 8, "LoRA rank", min=1),
    "lora_alpha": Key("float", 16.0, "LoRA scale numerator (scale = alpha / r)", gt=0),
    "lora_targets": Key("list", None, "module names for LoRA [ours: ff; BERT: query, value]", item=Key("str")),
    "valid_fraction": Key("float", 0.15, "training rows (whole 1-Mb bins) kept for early stopping", gt=0, max=0.9),
    "baseline": Key("bool", True, "also fit the k-mer (4-6) logistic regression on the same split"),
    "score_class": Key("int", None, "multiclass: the class whose log-odds variant effects compare [the last]", min=0),
    "shift": Key("int", 0, "training-time jitter (bp) of each window around its region's centre (lora, full)", min=0),
    "pooling": Key("str", "meanmax", "what the head of our backbone reads: mean and max of the hidden states over "
                   "the window (meanmax), or also the centre's (centre: regions centred on a site)",
                   choices=("meanmax", "centre")),
    "seed": Key("int", 0, "random seed"),
}


def _run(ctx: Context) -> dict:
    from .finetune import finetune
    o = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("dnalm_finetune").items()
                                                    if v is not None}
    for k, what in (("labels", "a labels BED or TSV"), ("fasta", "the regions' FASTA"),
                    ("held_out", "held-out regions chrom:start-end or chromosomes")):
        if o[k] is None:
            raise InputError(f"dnalm_finetune.{k}", f"a value ({what})")
    m = finetune(o["labels"], o["fasta"], ctx.path("dnalm_finetuned"), base=o["base"], task=o["task"], mode=o["mode"],
                 held_out=o["held_out"], window=o["window"], epochs=o["epochs"], patience=o["patience"],
                 batch_size=o["batch_size"], lr=o["lr"], weight_decay=o["weight_decay"], lora_r=o["lora_r"],
                 lora_alpha=o["lora_alpha"], lora_targets=o["lora_targets"], valid_fraction=o["valid_fraction"],
                 seed=o["seed"], baseline=o["baseline"], score_class=o["score_class"], shift=o["shift"],
                 pooling=o["pooling"])
    out = {"n_train": m["n"]["train"], "n_valid": m["n"]["valid"], "n_test": m["n"]["test"],
           "best_epoch": m["best_epoch"], "cpu_seconds": m["cpu_seconds"]}
    for name, res in (("test", m["test"]), ("kmer_lr", (m.get("kmer_lr") or {}).get("test", {}))):
        for k in ("auroc", "auprc", "r2"):
            if k in res:
                out[f"{name}_{k}"] = res[k]
    return out


register(Stage("dnalm_finetune", _run, config=CONFIG))
