"""A small single-nucleotide masked language model (GPN-like dilated convolutions), transformers-compatible.

Architecture (GPN's ConvNet, scaled down): one-hot tokens -> linear embedding of width ``hidden_size``;
``n_layers`` residual blocks, each a dilated depth-``hidden_size`` 1-D convolution (kernel
``kernel_size``, dilation cycling ``1, 2, 4, ... dilation_max``, "same" padding) with GELU and
LayerNorm, then a position-wise feed-forward layer with GELU and LayerNorm; a head maps each position
to logits over A, C, G, T. Saved with ``save_pretrained`` (config.json + model.safetensors) and loaded
from a local directory only (:func:`load_model`); ``AutoConfig``/``AutoModelForMaskedLM`` know the type
once this module is imported.

References
----------
Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
effects. PNAS 120:e2311219120. Reference code: PyPI ``gpn`` (``gpn/model.py``: ConvNet, MLMHead).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForMaskedLM, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput

from ..errors import InputError


class LocusConvConfig(PretrainedConfig):
    """Hyper-parameters of :class:`LocusConvForMaskedLM` (defaults: the shipped chr20 model); ``pooling``: what a
    sequence head reads (:mod:`locusflow.dnalm.classifier`)."""

    model_type = "locusflow_conv"

    def __init__(self, vocab_size=6, n_out=4, hidden_size=64, n_layers=6, kernel_size=9, dilation_max=32,
                 dilation_cycle=5, mask_token_id=5, pooling="meanmax", **kw):
        super().__init__(**kw)
        self.vocab_size, self.n_out, self.hidden_size, self.n_layers = vocab_size, n_out, hidden_size, n_layers
        self.kernel_size, self.dilation_max, self.dilation_cycle = kernel_size, dilation_max, dilation_cycle
        self.mask_token_id, self.pooling = mask_token_id, pooling


class ConvBlock(nn.Module):
    """One residual block: dilated convolution + GELU + LayerNorm, then feed-forward + GELU + LayerNorm."""

    def __init__(self, h: int, k: int, d: int):
        super().__init__()
        self.conv = nn.Conv1d(h, h, k, dilation=d, padding="same")
        self.ln1, self.ln2 = nn.LayerNorm(h), nn.LayerNorm(h)
        self.ff = nn.Linear(h, h)

    def forward(self, x):                       # x: (batch, length, hidden)
        x = x + self.ln1(nn.functional.gelu(self.conv(x.transpose(1, 2)).transpose(1, 2)))
        return x + self.ln2(nn.functional.gelu(self.ff(x)))


class LocusConvPreTrainedModel(PreTrainedModel):
    """Shared by the masked LM and the sequence head (:mod:`locusflow.dnalm.classifier`): config, weight
    initialisation, and the backbone (embedding + dilated blocks; weights named ``embed.*``, ``blocks.*``)."""

    config_class = LocusConvConfig
    base_model_prefix = "locusconv"

    def build_backbone(self, config: LocusConvConfig) -> None:
        """Create ``self.embed`` and ``self.blocks`` (dilations ``min(dilation_max, 2 ** (i % dilation_cycle))``)."""
        h = config.hidden_size
        self.embed = nn.Embedding(config.vocab_size, h)
        dil = [min(config.dilation_max, 2 ** (i % config.dilation_cycle)) for i in range(config.n_layers)]
        self.blocks = nn.ModuleList(ConvBlock(h, config.kernel_size, d) for d in dil)

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Conv1d)):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        elif isinstance(module, (nn.LayerNorm, nn.BatchNorm1d)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
            if isinstance(module, nn.BatchNorm1d):
                module.reset_running_stats()

    def hidden_states(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Last hidden layer, (batch, length, hidden_size)."""
        x = self.embed(input_ids)
        for b in self.blocks:
            x = b(x)
        return x


class LocusConvForMaskedLM(LocusConvPreTrainedModel):
    """Masked LM: ``forward(input_ids) -> MaskedLMOutput(logits (batch, length, 4))``."""

    def __init__(self, config: LocusConvConfig):
        super().__init__(config)
        h = config.hidden_size
        self.build_backbone(config)
        self.head = nn.Sequential(nn.Linear(h, h), nn.GELU(), nn.LayerNorm(h), nn.Linear(h, config.n_out))
        self.post_init()

    def forward(self, input_ids=None, labels=None, output_hidden_states=False, **kw):
        hid = self.hidden_states(input_ids)
        logits = self.head(hid)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1),
                                               ignore_index=-100)
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=(hid,) if output_hidden_states else None)


AutoConfig.register(LocusConvConfig.model_type, LocusConvConfig, exist_ok=True)
AutoModelForMaskedLM.register(LocusConvConfig, LocusConvForMaskedLM, exist_ok=True)

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "dnalm" / "chr20_conv"


def load_model(path=None, *, device: str | None = None, dtype: str = "auto", trust_remote_code: bool = False):
    """A masked LM from a local directory (never a hub), in eval mode.

    Parameters
    ----------
    path : str or Path, optional
        Directory with config.json and weights [the shipped GRCh37 chr20 model].
    device : str, optional
        "cuda" or "cpu" [cuda when available].
    dtype : {"auto", "float32", "bfloat16"}
        "auto": bfloat16 on CUDA, float32 on CPU.
    trust_remote_code : bool
        Passed to transformers for models that carry their own code (explicit opt-in only).

    Returns
    -------
    transformers.PreTrainedModel
    """
    path = Path(path) if path else SHIPPED
    if not (path / "config.json").exists():
        raise InputError(path, "a local model directory with config.json and weights (models never load from a hub)")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    model = AutoModelForMaskedLM.from_pretrained(str(path), local_files_only=True, trust_remote_code=trust_remote_code,
                                                 dtype=getattr(torch, dtype))
    return model.to(device).eval()
