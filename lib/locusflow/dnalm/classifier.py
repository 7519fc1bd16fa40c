"""Sequence classifiers and regressors on a DNA language model: the fine-tuned model's format and forward pass.

A fine-tuned model is a local directory (transformers ``save_pretrained``: config.json +
model.safetensors, a tokenizer for tokenised models) plus ``finetune.json`` (task, classes, window,
label scaling) and ``metrics.json`` (held-out metrics). Our single-nucleotide backbone
(:class:`~locusflow.dnalm.model.LocusConvForMaskedLM`) gets :class:`LocusConvForSequenceClassification`:
the same embedding and dilated-convolution blocks (weights named alike, so ``from_pretrained`` of a
masked-LM directory loads the backbone and initialises the head), the last hidden states pooled by mean
and max over positions (config ``pooling: "centre"`` adds the hidden state of the window's centre, the mean
of the two middle positions for an even length: for tasks about the centred site, e.g. a splice site),
standardised (batch normalisation: training-set statistics at prediction), then a
two-layer head. Tokenised models (any local transformers encoder, e.g.
BERT) use ``AutoModelForSequenceClassification``.

The model's output on a window is the mean of its outputs on the window and on its reverse complement
(:func:`predict_windows`), so predictions and variant effects do not depend on the strand a region is
written on. One output for a binary task (the logit of class 1) and for regression (standardised
value; :func:`predict_windows` undoes the scaling); one logit per class for a multiclass task.

References
----------
Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120 (the GPN convolutional backbone).
Zhou Z et al. (2024) DNABERT-2. ICLR (fine-tuning DNA LMs on sequence classification; reverse-complement
averaging).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification
from transformers.modeling_outputs import SequenceClassifierOutput

from ..errors import InputError
from .model import LocusConvConfig, LocusConvPreTrainedModel
from .windows import VOCAB, reverse_complement

FINETUNE_FILE = "finetune.json"


class LocusConvForSequenceClassification(LocusConvPreTrainedModel):
    """``forward(input_ids) -> SequenceClassifierOutput(logits (batch, num_labels))``; see the module docstring."""

    def __init__(self, config: LocusConvConfig):
        super().__init__(config)
        h = config.hidden_size
        self.build_backbone(config)
        self.centre = getattr(config, "pooling", "meanmax") == "centre"
        f = (3 if self.centre else 2) * h
        self.classifier = nn.Sequential(nn.BatchNorm1d(f), nn.Linear(f, h), nn.GELU(),
                                        nn.Linear(h, config.num_labels))
        self.post_init()

    def pooled(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Mean and max over positions of the last hidden states [and the centre's], (batch, 2 or 3 * hidden)."""
        x = self.hidden_states(input_ids)
        parts = [x.mean(1), x.amax(1)]
        if self.centre:
            n = x.shape[1]
            parts.append(x[:, (n - 1) // 2:n // 2 + 1].mean(1))
        return torch.cat(parts, dim=-1)

    def forward(self, input_ids=None, **kw):
        return SequenceClassifierOutput(logits=self.classifier(self.pooled(input_ids)))


AutoModelForSequenceClassification.register(LocusConvConfig, LocusConvForSequenceClassification, exist_ok=True)


def is_finetuned(path) -> bool:
    """Whether a local model directory holds a fine-tuned sequence model (it has ``finetune.json``).

    Parameters
    ----------
    path : str or Path or None
        Model directory (None: the shipped masked LM).

    Returns
    -------
    bool
    """
    return path is not None and (Path(path) / FINETUNE_FILE).exists()


def load_finetuned(path, *, device: str | None = None, dtype: str = "auto"):
    """A fine-tuned model from a local directory (never a hub), in eval mode.

    Parameters
    ----------
    path : str or Path
        Directory written by :func:`locusflow.dnalm.finetune.finetune`.
    device : str, optional
        "cuda" or "cpu" [cuda when available].
    dtype : {"auto", "float32", "bfloat16"}
        "auto": bfloat16 on CUDA, float32 on CPU.

    Returns
    -------
    model : transformers.PreTrainedModel
        The sequence classifier/regressor.
    tokenizer : transformers tokenizer or None
        For a tokenised model; None for a single-nucleotide one.
    meta : dict
        The contents of ``finetune.json``.

    Raises
    ------
    InputError
        When ``finetune.json``, config.json or the weights are missing or do not load.
    """
    path = Path(path)
    if not is_finetuned(path) or not (path / "config.json").exists():
        raise InputError(path, f"a fine-tuned model directory (config.json, weights and {FINETUNE_FILE})")
    meta = json.loads((path / FINETUNE_FILE).read_text())
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    tok = None
    try:
        if meta.get("tokenized"):
            from transformers import AutoTokenizer
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(str(path), local_files_only=True,
                                                                   dtype=getattr(torch, dtype))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(path, f"a fine-tuned model directory that transformers loads ({exc})") from None
    return model.to(device).eval(), tok, meta


def window_strings(tokens: np.ndarray) -> list[str]:
    """Token windows as DNA strings (A C G T N; a masked position becomes N).

    Parameters
    ----------
    tokens : ndarray of int, (n, L)

    Returns
    -------
    list of str
    """
    letters = np.array(list(VOCAB[:5]) + ["N"])
    return ["".join(r) for r in letters[np.asarray(tokens)]]


def forward_logits(model, tokenizer, tokens: np.ndarray) -> torch.Tensor:
    """Raw model outputs for a batch of token windows (gradients kept; the caller sets the mode).

    Parameters
    ----------
    model : torch.nn.Module
        A sequence classifier (single-nucleotide: ``input_ids`` are tokens; tokenised: strings).
    tokenizer : transformers tokenizer or None
        None for a single-nucleotide model.
    tokens : ndarray of int, (n, L)

    Returns
    -------
    torch.Tensor, (n, num_labels)
    """
    dev = next(model.parameters()).device
    if tokenizer is None:
        return model(input_ids=torch.from_numpy(np.ascontiguousarray(tokens)).to(dev)).logits.float()
    enc = tokenizer(window_strings(tokens), padding=True, return_tensors="pt")
    enc = {k: v.to(dev) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
    return model(**enc).logits.float()


def predict_windows(model, tokenizer, tokens: np.ndarray, meta: dict | None = None, *,
                    batch_size: int = 256) -> np.ndarray:
    """Outputs averaged over both strands, for windows given in their own orientation.

    Parameters
    ----------
    model, tokenizer
        From :func:`load_finetuned` (or a model being trained).
    tokens : ndarray of int, (n, L)
    meta : dict, optional
        ``finetune.json``; for regression its ``label_mean``/``label_sd`` turn the output into label units.
    batch_size : int
        Windows per forward pass.

    Returns
    -------
    ndarray, (n, num_labels)
        Binary: the logit of class 1; multiclass: one logit per class; regression: the predicted value.
    """
    outs = []
    with torch.inference_mode():
        for s in range(0, len(tokens), batch_size):
            w = tokens[s:s + batch_size]
            lg = (forward_logits(model, tokenizer, w) + forward_logits(model, tokenizer, reverse_complement(w))) / 2
            outs.append(lg.cpu().numpy().astype(np.float64))
    out = np.concatenate(outs) if outs else np.zeros((0, model.config.num_labels))
    if meta and meta.get("task") == "regression":
        out = out * meta["label_sd"] + meta["label_mean"]
    return out


def score_output(out: np.ndarray, meta: dict) -> np.ndarray:
    """The one number per window that variant effects compare (see ``finetune.json`` ``score_class``).

    Parameters
    ----------
    out : ndarray, (n, num_labels)
        From :func:`predict_windows`.
    meta : dict
        ``finetune.json``.

    Returns
    -------
    ndarray, (n,)
        Binary: logit of class 1; regression: predicted value; multiclass: the logit of class
        ``score_class`` minus the log-sum-exp of the others' (its log-odds against the rest).
    """
    if out.shape[1] == 1:
        return out[:, 0]
    k = int(meta.get("score_class", out.shape[1] - 1))
    rest = np.delete(out, k, axis=1)
    m = rest.max(1)
    return out[:, k] - (m + np.log(np.exp(rest - m[:, None]).sum(1)))
