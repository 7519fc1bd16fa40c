"""Fine-tuning a pretrained DNA language model on labelled regions (classification or regression).

The base is our single-nucleotide masked LM (a directory of :class:`~locusflow.dnalm.model.
LocusConvForMaskedLM`, the shipped one by default) or any local transformers encoder with a tokenizer
(``AutoModelForSequenceClassification``; a masked-LM checkpoint gets a new head). Three ways to train:

- ``head``: the backbone frozen, only the new head trained (for our model the pooled backbone features of
  every window are computed once, so epochs cost nothing);
- ``lora``: low-rank adapters (Hu et al. 2022, the ``peft`` package) on the backbone's linear layers
  (ours: each block's feed-forward layer; BERT-like: query and value) plus the new head; the backbone's own
  weights never change; the adapters are merged into the weights when the model is saved;
- ``full``: every weight.

Training: AdamW on the mean loss (binary: logistic on the logit; multiclass: cross-entropy; regression:
squared error on the standardised label), each window reverse complemented with probability 1/2;
predictions average the outputs on both strands. After each epoch the validation loss (the
chromosome-segment validation split of :func:`locusflow.dnalm.labels.split`) decides early stopping
(``patience`` epochs without improvement); the best epoch's weights and batch-norm statistics are kept. The held-out segment is
used only for the final metrics, with the k-mer logistic-regression baseline
(:class:`~locusflow.dnalm.kmer_lr.KmerLogistic`) fitted on the same split for comparison.

The output directory (written whole or not at all) is loadable by ``score_variants.model``: config.json,
model.safetensors [tokenizer], ``finetune.json`` (task, classes, window, label scaling, options) and
``metrics.json`` (held-out AUROC/AUPRC/accuracy or R^2, validation curve, baseline, CPU seconds).

References
----------
Hu EJ et al. (2022) LoRA: Low-rank adaptation of large language models. ICLR.
Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120.
Zhou Z et al. (2024) DNABERT-2. ICLR (fine-tuning DNA LMs; reverse-complement averaging).
Prechelt L (1998) Early stopping - but when? In Neural Networks: Tricks of the Trade, LNCS 1524:55.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..logs import get_logger
from .labels import label_windows, read_labels, split
from .seqmetrics import classification_metrics, r_squared
from .windows import reverse_complement

log = get_logger("dnalm")
MODES = ("head", "lora", "full")
POOLINGS = ("meanmax", "centre")
LORA_TARGETS = {"locusflow_conv": ["ff"], "bert": ["query", "value"]}


def load_base(base, num_labels: int, pooling: str = "meanmax"):
    """A pretrained model from a local directory with a new sequence head of ``num_labels`` outputs.

    Parameters
    ----------
    base : str or Path or None
        Our masked-LM directory [the shipped one], or a transformers model directory with a tokenizer.
    num_labels : int
        Outputs of the head.
    pooling : {"meanmax", "centre"}
        Our backbone: what the head reads (:mod:`locusflow.dnalm.classifier`); a tokenised model: "meanmax"
        (its own pooling).

    Returns
    -------
    model : transformers.PreTrainedModel
        In train mode, on CPU, float32.
    tokenizer : transformers tokenizer or None
    new : list of str
        Names of the parameters the base did not have (the new head).

    Raises
    ------
    InputError
        When the directory lacks config.json or does not load as a sequence model.
    """
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging
    from . import classifier  # noqa: F401  (registers our sequence head with the Auto class)
    from .model import SHIPPED
    from .tokenized import is_tokenized
    path = Path(base) if base else SHIPPED
    if not (path / "config.json").is_file():
        raise InputError(path, "a local model directory with config.json and weights (models never load from a hub)")
    tok = None
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()                 # "newly initialised weights": expected, reported in `new`
    try:
        if is_tokenized(path):
            from transformers import AutoTokenizer
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            if tok.pad_token is None:
                raise InputError(path, "a tokenizer with a padding token")
            if pooling != "meanmax":
                raise InputError("finetune.pooling", "meanmax for a tokenised model (it pools by its own rule)",
                                 value=pooling)
        extra = {} if tok is not None else {"pooling": pooling}
        model, info = AutoModelForSequenceClassification.from_pretrained(
            str(path), num_labels=num_labels, local_files_only=True, output_loading_info=True, **extra)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise InputError(path, f"a model directory that transformers loads as a sequence model ({exc})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    return model.float().train(), tok, list(info["missing_keys"])


def _prepare(model, mode: str, new: list, lora_r: int, lora_alpha: float, targets):
    """Freeze / wrap the model for ``mode``; returns the model to train."""
    if mode == "full":
        return model
    heads = sorted({k.rsplit(".", 1)[0] for k in new})
    if mode == "head":
        for n, p in model.named_parameters():
            p.requires_grad = n in new
        return model
    from peft import LoraConfig, get_peft_model
    targets = targets or LORA_TARGETS.get(model.config.model_type)
    if not targets:
        raise InputError("finetune.lora_targets", f"module names for LoRA in a {model.config.model_type} model")
    cfg = LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0, target_modules=list(targets),
                     modules_to_save=heads)
    return get_peft_model(model, cfg)


def _check_classes(path, regions, where, task):
    y = regions["label"].to_numpy()
    k = 2 if task == "binary" else int(y.max()) + 1
    for name, sel in (("file", np.ones(len(y), bool)), ("training rows", where == "train"),
                      ("held-out rows", where == "test")):
        have = set(y[sel].astype(int))
        missing = [c for c in range(k) if c not in have]
        if missing:
            raise InputError(path, f"examples of every class 0..{k - 1} among the {name}",
                             column="label", value=f"class {missing[0]} has none")
    return k


def _loss_fn(task):
    import torch
    if task == "binary":
        return lambda z, y: torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], y.float())
    if task == "multiclass":
        return lambda z, y: torch.nn.functional.cross_entropy(z, y.long())
    return lambda z, y: torch.nn.functional.mse_loss(z[:, 0], y.float())


def _head_features(model, w, batch_size):
    """Pooled backbone features of both strands (frozen LocusConv backbone): (n, 2, 2 * hidden)."""
    import torch
    out = []
    with torch.inference_mode():
        for s in range(0, len(w), batch_size):
            b = w[s:s + batch_size]
            out.append(torch.stack([model.pooled(torch.from_numpy(np.ascontiguousarray(x)))
                                    for x in (b, reverse_complement(b))], 1))
    return torch.cat(out)


def _train(model, tok, mode, x, y, xv, yv, task, *, epochs, patience, batch_size, lr, weight_decay, rng, shift=0):
    """The training loop (module docstring); returns (model with the best epoch's weights, history).

    ``x`` holds windows ``2 * shift`` bases longer than the model's: each batch row is cropped at a random
    offset (training-time jitter of the region's centre by up to ``shift`` bp); ``xv`` is centred."""
    import torch
    from .classifier import forward_logits
    loss_fn = _loss_fn(task)
    cached = mode == "head" and tok is None and hasattr(model, "pooled")
    if cached:                                       # frozen backbone: features once, then only the head runs
        feats, feats_v = _head_features(model, x, 512), _head_features(model, xv, 512)
        fwd = lambda idx, flip: model.classifier(feats[idx, flip.astype(int)])      # noqa: E731
        fwd_v = lambda: (model.classifier(feats_v[:, 0]) + model.classifier(feats_v[:, 1])) / 2   # noqa: E731
    else:
        length = x.shape[1] - 2 * shift

        def fwd(idx, flip):
            if shift:
                off = rng.integers(0, 2 * shift + 1, len(idx))
                w = x[idx[:, None], off[:, None] + np.arange(length)[None, :]]
            else:
                w = x[idx].copy()
            w[flip] = reverse_complement(w[flip])
            return forward_logits(model, tok, w)

        def fwd_v():
            return torch.cat([(forward_logits(model, tok, xv[s:s + 256]) +
                               forward_logits(model, tok, reverse_complement(xv[s:s + 256]))) / 2
                              for s in range(0, len(xv), 256)])
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    yt, yvt = torch.from_numpy(np.asarray(y)), torch.from_numpy(np.asarray(yv))
    best, best_state, bad, hist = np.inf, None, 0, []
    for epoch in range(epochs):
        model.train()
        perm = rng.permutation(len(x))
        tot = 0.0
        for s in range(0, len(perm), batch_size):
            idx = perm[s:s + batch_size]
            if len(idx) < 2:                                 # batch normalisation needs two windows
                continue
            loss = loss_fn(fwd(idx, rng.random(len(idx)) < 0.5), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
        model.eval()
        with torch.no_grad():
            vl = float(loss_fn(fwd_v(), yvt))
        hist.append({"epoch": epoch + 1, "train_loss": tot / len(x), "valid_loss": vl})
        log.info("finetune epoch %d: train loss %.4f, validation loss %.4f", epoch + 1, tot / len(x), vl)
        if vl < best - 1e-4:
            best, bad = vl, 0
            best_state = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
            best_state.update({n: b.detach().clone() for n, b in model.named_buffers()})    # batch-norm statistics
        else:
            bad += 1
            if bad >= patience:
                break
    with torch.no_grad():
        named = dict(model.named_parameters()) | dict(model.named_buffers())
        for n, v in (best_state or {}).items():
            named[n].copy_(v)
    return model, hist


def _publish(tmp: Path, out: Path):
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


def finetune(labels, fasta, out, *, base=None, task: str = "binary", mode: str = "lora", held_out,
             window: int = 256, epochs: int = 20, patience: int = 3, batch_size: int = 64, lr: float | None = None,
             weight_decay: float = 0.01, lora_r: int = 8, lora_alpha: float = 16.0, lora_targets=None,
             valid_fraction: float = 0.15, seed: int = 0, baseline: bool = True, score_class: int | None = None,
             shift: int = 0, pooling: str = "meanmax", threads: int = 1) -> dict:
    """Fine-tune a pretrained DNA LM on labelled regions and save it for ``score_variants`` (module docstring).

    Parameters
    ----------
    labels : str or Path
        BED or TSV of labelled regions (:func:`locusflow.dnalm.labels.read_labels`).
    fasta : str or Path
        Indexed FASTA of the regions' genome.
    out : str or Path
        Output model directory (replaced whole on success; nothing written on failure).
    base : str or Path, optional
        Pretrained model directory [the shipped GRCh37 chr20 model].
    task : {"binary", "multiclass", "regression"}
    mode : {"head", "lora", "full"}
        What is trained (module docstring).
    held_out : str or list of str
        Test regions (``chrom:start-end``) or chromosomes; never used for training or early stopping.
    window : int
        Bases per example, centred on each region.
    epochs, patience : int
        Most epochs; epochs without a better validation loss before stopping.
    batch_size : int
        Windows per optimiser step.
    lr : float, optional
        AdamW learning rate [head: 3e-3, lora: 2e-3, full: 5e-4].
    weight_decay : float
        AdamW weight decay.
    lora_r, lora_alpha, lora_targets
        LoRA rank, scaling numerator and target module names [by model type].
    valid_fraction : float
        Share of training rows (whole 1-Mb bins) used for early stopping.
    seed : int
        Seeds torch, the split and the batches.
    baseline : bool
        Also fit the k-mer logistic regression on the same split (``metrics.json`` ``kmer_lr``).
    score_class : int, optional
        Multiclass: the class whose log-odds variant effects compare [the last].
    shift : int
        Training-time jitter (bp): each training window is taken up to ``shift`` bp off its region's centre, a
        new offset every epoch (``head`` mode with our backbone computes features once: no jitter there).
    pooling : {"meanmax", "centre"}
        What the head of our backbone reads: mean and max of the hidden states over the window, or those and
        the centre's hidden state (for regions centred on a site: splice sites, TF sites).
    threads : int
        torch CPU threads.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``: ``test`` (held-out), ``valid``, ``kmer_lr``, ``history``, counts,
        ``cpu_seconds``.

    Raises
    ------
    InputError
        Bad labels (:func:`~locusflow.dnalm.labels.read_labels`), a class without examples in the training
        or held-out set, a base directory that does not load, an unknown task or mode.

    References
    ----------
    Hu EJ et al. (2022) LoRA. ICLR. Benegas G et al. (2023) PNAS 120:e2311219120.
    """
    import torch
    from .task import cached_genome
    if mode not in MODES:
        raise InputError("finetune.mode", f"one of {', '.join(MODES)}", value=mode)
    if pooling not in POOLINGS:
        raise InputError("finetune.pooling", f"one of {', '.join(POOLINGS)}", value=pooling)
    t_cpu, t0 = time.process_time(), time.time()
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    genome = cached_genome(fasta)
    regions = read_labels(labels, genome, task)
    where = split(regions, held_out, window, valid_fraction=valid_fraction, seed=seed)
    if not (where == "valid").any():
        raise InputError(labels, "training regions outside the held-out set to validate on", column="chrom")
    y_all = regions["label"].to_numpy()
    meta = {"task": task, "window": window, "mode": mode, "base": str(base) if base else "shipped chr20_conv",
            "held_out": held_out, "seed": seed, "label_mean": 0.0, "label_sd": 1.0, "pooling": pooling}
    if task == "regression":
        tr = where == "train"
        meta.update(label_mean=float(y_all[tr].mean()), label_sd=float(y_all[tr].std() or 1.0))
        n_out = 1
    else:
        k = _check_classes(labels, regions, where, task)
        n_out = 1 if task == "binary" else k
        meta["classes"] = list(range(k))
        meta["score_class"] = int(k - 1 if score_class is None else score_class)
    y_fit = (y_all - meta["label_mean"]) / meta["label_sd"]
    w_all = label_windows(genome, regions, window)
    sets = {s: np.flatnonzero(where == s) for s in ("train", "valid", "test")}
    model, tok, new = load_base(base, n_out, pooling)
    meta["tokenized"] = tok is not None
    model = _prepare(model, mode, new, lora_r, lora_alpha, lora_targets)
    n_train = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
    lr = lr or {"head": 3e-3, "lora": 2e-3, "full": 5e-4}[mode]
    meta.update(lr=lr, epochs=epochs, patience=patience, batch_size=batch_size, weight_decay=weight_decay,
                **({"lora_r": lora_r, "lora_alpha": lora_alpha} if mode == "lora" else {}))
    tr, va = sets["train"], sets["valid"]
    cached = mode == "head" and tok is None
    shift = 0 if cached else int(shift)
    x_tr = label_windows(genome, regions.iloc[tr], window + 2 * shift) if shift else w_all[tr]
    meta["shift"] = shift
    model, hist = _train(model, tok, mode, x_tr, y_fit[tr], w_all[va], y_fit[va], task, epochs=epochs, shift=shift,
                         patience=patience, batch_size=batch_size, lr=lr, weight_decay=weight_decay, rng=rng)
    if mode == "lora":
        model = model.merge_and_unload()
    model.eval()
    metrics = {"task": task, "mode": mode, "n": {s: int(len(i)) for s, i in sets.items()},
               "n_buffer_dropped": int((where == "buffer").sum()), "trainable_parameters": n_train,
               "parameters": int(sum(p.numel() for p in model.parameters())), "history": hist,
               "best_epoch": int(np.argmin([h["valid_loss"] for h in hist]) + 1)}
    metrics.update(evaluate_split(model, tok, meta, w_all, y_all, sets))
    if baseline:
        metrics["kmer_lr"] = kmer_baseline(task, w_all, y_all, sets)
    metrics["cpu_seconds"] = round(time.process_time() - t_cpu, 1)
    metrics["wall_seconds"] = round(time.time() - t0, 1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp)
        if tok is not None:
            tok.save_pretrained(tmp)
        (tmp / "finetune.json").write_text(json.dumps(meta, indent=1, default=str))
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1))
        _publish(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("finetune: held-out %s", metrics["test"])
    return metrics


def evaluate_split(model, tok, meta, w_all, y_all, sets) -> dict:
    """Validation and held-out metrics of a sequence model (strand-averaged outputs).

    Parameters
    ----------
    model, tok
        The model (eval mode) and its tokenizer (None: single-nucleotide).
    meta : dict
        ``finetune.json`` contents (task, label scaling).
    w_all : ndarray of int, (n, L)
        Windows of every region.
    y_all : ndarray
        Labels.
    sets : dict of str to ndarray of int
        Row indices of ``valid`` and ``test``.

    Returns
    -------
    dict
        ``valid`` and ``test``: :func:`~locusflow.dnalm.seqmetrics.classification_metrics`, or ``r2`` and
        ``pearson_r`` for regression.
    """
    from .classifier import predict_windows
    res = {}
    for s in ("valid", "test"):
        i = sets[s]
        res[s] = _task_metrics(meta["task"], y_all[i], predict_windows(model, tok, w_all[i], meta))
    return res


def _task_metrics(task, y, out):
    if task == "regression":
        return {"n": int(len(y)), "r2": r_squared(y, out[:, 0]), "pearson_r": float(np.corrcoef(y, out[:, 0])[0, 1])}
    return classification_metrics(y, out)


def kmer_baseline(task, w_all, y_all, sets, ks=(4, 5, 6)) -> dict:
    """Held-out metrics of the k-mer logistic regression on the same split.

    Parameters
    ----------
    task : str
    w_all : ndarray of int, (n, L)
    y_all : ndarray
    sets : dict of str to ndarray of int
        Row indices of ``train``, ``valid``, ``test``.
    ks : tuple of int
        k-mer lengths.

    Returns
    -------
    dict
        ``test`` metrics as in :func:`evaluate_split`, the chosen ``lambda`` and ``ks``; ``scores``: the
        held-out outputs (for paired comparisons).

    References
    ----------
    Ghandi M et al. (2014) PLoS Comput Biol 10:e1003711.
    """
    from .kmer_lr import KmerLogistic
    tr, va, te = sets["train"], sets["valid"], sets["test"]
    km = KmerLogistic(task, ks).fit(w_all[tr], y_all[tr], w_all[va], y_all[va])
    out = km.predict(w_all[te])
    return {"ks": list(ks), "lambda": km.lam_, "test": _task_metrics(task, y_all[te], out),
            "scores": out[:, 0].tolist() if out.shape[1] == 1 else None}
