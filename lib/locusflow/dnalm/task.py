"""Score one batch of variants (a work unit) with a DNA language model: the kernel every engine runs.

A unit is one chromosome's run of variants sorted by position (``chrom``, lists ``pos``, ``ref``,
``alt``), or a region for in-silico mutagenesis (``region``); windows are read from the FASTA, REF
checked (:func:`~locusflow.dnalm.windows.variant_status`) and the scorable rows scored: single-nucleotide
masked LMs give the GPN LLR (:mod:`locusflow.dnalm.llr`; indels are rejected, status ``indel``),
tokenised models (a directory with a tokenizer, :mod:`locusflow.dnalm.tokenized`) embedding distances
and the covering-token pseudo-log-likelihood, indels included; fine-tuned sequence models (a directory
with ``finetune.json``, :mod:`locusflow.dnalm.finetune`) the change of their output from the ref to the
alt window (``ft_delta``; SNVs, both strands averaged). The model and the genome are loaded once
per Python process (a Spark Python worker, a Dask worker process, the local loop) and cached by path,
device and dtype. With a GPU, the model runs on CUDA in bfloat16; otherwise on CPU in float32.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.fasta import Genome
from .windows import LUT, variant_status, windows

_MODELS: dict = {}
_GENOMES: dict = {}
SCORES = ["llr", "llr_fwd", "llr_rev", "emb_cosine", "emb_l2", "pll_ref", "pll_alt", "pll_llr", "ft_ref", "ft_alt",
          "ft_delta"]
COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "status", *SCORES, "emb_delta", "model"]


def cached_model(path, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False):
    """The model at ``path`` (None: the shipped one), loaded once per process.

    The first call also sets torch to one CPU thread per process.

    Parameters
    ----------
    path : str or Path or None
        Local model directory; None loads the shipped GRCh37 chr20 model.
    device : str
        ``"auto"`` (CUDA when torch sees a GPU), ``"cuda"`` or ``"cpu"``.
    dtype : str
        ``"auto"`` (bfloat16 on CUDA, else float32), ``"float32"`` or ``"bfloat16"``.
    trust_remote_code : bool
        Run code shipped in the model directory (explicit opt-in).

    Returns
    -------
    torch.nn.Module or tuple
        The single-nucleotide masked LM, (model, tokenizer) for a tokenised model, or (model, tokenizer or
        None, finetune.json) for a fine-tuned one; cached by (path, device, dtype, trust_remote_code).
    """
    key = (str(path), device, dtype, trust_remote_code)
    if key not in _MODELS:
        import torch
        from .classifier import is_finetuned, load_finetuned
        from .model import load_model
        from .tokenized import is_tokenized, load_tokenized
        torch.set_num_threads(1)
        dev = None if device == "auto" else device
        if is_finetuned(path):
            _MODELS[key] = load_finetuned(path, device=dev, dtype=dtype)
        else:
            _MODELS[key] = (load_tokenized(path, device=dev, dtype=dtype, trust_remote_code=trust_remote_code)
                            if is_tokenized(path) else
                            load_model(path, device=dev, dtype=dtype, trust_remote_code=trust_remote_code))
    return _MODELS[key]


def cached_genome(path) -> Genome:
    """The indexed FASTA at ``path``, opened once per process.

    Parameters
    ----------
    path : str or Path
        Indexed FASTA (bgzip + .fai/.gzi or plain + .fai).

    Returns
    -------
    locusflow.io.fasta.Genome
        Cached by ``str(path)``.
    """
    if str(path) not in _GENOMES:
        _GENOMES[str(path)] = Genome(path)
    return _GENOMES[str(path)]


def score_variants_frame(df: pd.DataFrame, *, fasta, model=None, model_name: str = "", window: int = 128,
                         batch_size: int = 256, device: str = "auto", dtype: str = "auto",
                         swapped: str = "score", embeddings: bool = False, delta: bool = False,
                         trust_remote_code: bool = False) -> pd.DataFrame:
    """Scores of every variant of ``df`` (chrom, pos, ref, alt); rows not scorable keep null scores.

    Parameters
    ----------
    df : DataFrame
        Variants: chrom, pos (1-based), ref, alt (any order; scored sorted by window).
    fasta : str or Path
        Indexed FASTA of the variants' genome.
    model : str or Path, optional
        Local model directory [the shipped GRCh37 chr20 model]; with a tokenizer: a tokenised model; with
        ``finetune.json``: a fine-tuned classifier/regressor (``ft_ref``, ``ft_alt``, ``ft_delta``).
    model_name : str
        Recorded in the ``model`` column [the directory's name].
    window, batch_size, device, dtype
        Window length (bp; site at window // 2), windows per forward pass, "auto" | "cuda" | "cpu", "auto" | "float32" |
        "bfloat16".
    swapped : {"score", "reject"}
        An SNV whose ``alt`` is the genome's base: "score" writes it in the genome's orientation (ref and
        alt exchanged, variant_id with them, status ``swapped``) and scores it; "reject": ``ref_mismatch``.
    embeddings : bool
        Single-nucleotide model: also the embedding distances (two more forward passes per strand).
    delta : bool
        Also the mean delta vector of the embeddings (``emb_delta``).
    trust_remote_code : bool
        Run code shipped in a tokenised model's directory (explicit opt-in).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS` (schema variant_scores), in the input's row order.

    References
    ----------
    Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120.
    """
    from .classifier import is_finetuned
    from .tokenized import is_tokenized
    genome = cached_genome(fasta)
    out = pd.DataFrame({"chrom": df["chrom"].astype(str).str.removeprefix("chr").to_numpy(),
                        "pos": np.asarray(df["pos"], dtype=np.int64),
                        "ref": df["ref"].astype(str).str.upper().to_numpy(),
                        "alt": df["alt"].astype(str).str.upper().to_numpy()})
    out["status"] = variant_status(out["chrom"], out["pos"], out["ref"], out["alt"], genome,
                                   swapped=swapped == "score")
    sw = (out["status"] == "swapped").to_numpy()
    out.loc[sw, ["ref", "alt"]] = out.loc[sw, ["alt", "ref"]].to_numpy()      # the genome's orientation
    out["variant_id"] = out["chrom"] + ":" + out["pos"].astype(str) + ":" + out["ref"] + ":" + out["alt"]
    for c in SCORES:
        out[c] = np.nan
    out["emb_delta"] = None
    finetuned = is_finetuned(model)
    tokenised = is_tokenized(model) and not finetuned
    scorable = ["ok", "swapped", "indel"] if tokenised else ["ok", "swapped"]
    ok = np.flatnonzero(np.isin(out["status"].to_numpy(), scorable))
    if len(ok):
        net = cached_model(model, device, dtype, trust_remote_code)
        sub = out.iloc[ok]
        rows = ok[np.lexsort((sub["pos"].to_numpy(), sub["chrom"].to_numpy()))]     # batches sorted by window
        for chrom in pd.unique(out["chrom"].to_numpy()[rows]):
            r = rows[out["chrom"].to_numpy()[rows] == chrom]
            v = out.iloc[r]
            if finetuned:
                sc = _finetuned(net, genome, chrom, v, batch_size)
            elif tokenised:
                sc = _tokenized(net, genome, chrom, v, window, batch_size, delta)
            else:
                sc = _single_nucleotide(net, genome, chrom, v, window, batch_size, embeddings or delta, delta)
            for c, val in sc.items():
                if c == "emb_delta":
                    out["emb_delta"] = out["emb_delta"].astype(object)
                    for k, vec in zip(r, val):
                        out.at[out.index[k], "emb_delta"] = vec.astype(np.float64).tolist()
                else:
                    out.loc[out.index[r], c] = val
    out["model"] = model_name or (Path(model).name if model else "locusflow_chr20_conv")
    return out[COLUMNS]


def _single_nucleotide(net, genome, chrom, v, window, batch_size, embeddings, delta) -> dict:
    """LLR (and embedding distances) of one chromosome's SNVs with a single-nucleotide masked LM."""
    from .llr import embedding_distance, llr_from_logprobs, site_logprobs
    w = windows(genome, chrom, v["pos"].to_numpy(), window)
    ref_t = LUT[v["ref"].str.encode("ascii").str[0].to_numpy().astype(np.uint8)]
    alt_t = LUT[v["alt"].str.encode("ascii").str[0].to_numpy().astype(np.uint8)]
    sc = llr_from_logprobs(site_logprobs(net, w, batch_size=batch_size), ref_t, alt_t)
    if embeddings:
        w_alt = w.copy()
        w_alt[:, window // 2] = alt_t
        w[:, window // 2] = ref_t
        sc.update(embedding_distance(net, w, w_alt, batch_size=batch_size, delta=delta))
    return sc


def _finetuned(net, genome, chrom, v, batch_size) -> dict:
    """Fine-tuned sequence model: its output on the alt and the ref window (the training window's length)."""
    from .classifier import predict_windows, score_output
    model, tok, meta = net
    length = int(meta["window"])
    w = windows(genome, chrom, v["pos"].to_numpy(), length)
    w_alt = w.copy()
    w_alt[:, length // 2] = LUT[v["alt"].str.encode("ascii").str[0].to_numpy().astype(np.uint8)]
    ref = score_output(predict_windows(model, tok, w, meta, batch_size=batch_size), meta)
    alt = score_output(predict_windows(model, tok, w_alt, meta, batch_size=batch_size), meta)
    return {"ft_ref": ref, "ft_alt": alt, "ft_delta": alt - ref}


def _tokenized(net, genome, chrom, v, window, batch_size, delta) -> dict:
    """Embedding distances and covering-token PLL of one chromosome's variants with a tokenised model."""
    from .tokenized import tokenized_scores, variant_sequences
    model, tok = net
    ref, alt = v["ref"].tolist(), v["alt"].tolist()
    rs, as_ = variant_sequences(genome, chrom, v["pos"].to_numpy(), ref, alt, window)
    return tokenized_scores(model, tok, rs, as_, window // 2, [len(x) for x in ref], [len(x) for x in alt],
                            batch_size=batch_size, delta=delta)


def ism_unit(unit: dict, *, fasta, model=None, model_name: str = "", window: int = 128, batch_size: int = 256,
             device: str = "auto", dtype: str = "auto", **_) -> pd.DataFrame:
    """Work-unit kernel of in-silico mutagenesis: every SNV of ``unit['region']`` (schema variant_scores).

    Parameters
    ----------
    unit : dict
        ``region`` (``chrom:start-end``, 1-based inclusive).
    fasta, model, model_name, window, batch_size, device, dtype
        As :func:`score_variants_frame` (a single-nucleotide model only).
    **_
        Options of the variant path that ISM does not use.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`: 3 rows per position (:func:`locusflow.dnalm.ism.ism`).
    """
    from ..errors import InputError
    from .ism import ism
    from .tokenized import is_tokenized
    if is_tokenized(model):
        raise InputError(model, "a single-nucleotide masked LM for in-silico mutagenesis (this one is tokenised)")
    out = ism(cached_model(model, device, dtype), cached_genome(fasta), unit["region"], window=window,
              batch_size=batch_size, model_name=model_name or (Path(model).name if model else "locusflow_chr20_conv"))
    for c in SCORES[3:]:
        out[c] = np.nan
    out["emb_delta"] = None
    return out[COLUMNS]


def region_units(region: str, per_unit: int = 4096) -> list[dict]:
    """A region cut into work units of ``per_unit`` positions (3 SNVs each).

    Parameters
    ----------
    region : str
        ``chrom:start-end`` (1-based, inclusive).
    per_unit : int
        Positions per unit.

    Returns
    -------
    list of dict
        ``unit_id``, ``region``, ``cost`` (positions), in position order.
    """
    from .pretrain import parse_region
    chrom, s0, end = parse_region(region, "region")
    return [{"unit_id": f"{chrom}:{s + 1}", "region": f"{chrom}:{s + 1}-{min(end, s + per_unit)}",
             "cost": float(min(end, s + per_unit) - s)} for s in range(s0, end, per_unit)]


def score_unit(unit: dict, **kwargs) -> pd.DataFrame:
    """Work-unit kernel for :func:`locusflow.engine.runner.run_worklist` (unit: chrom, pos, ref, alt lists).

    Parameters
    ----------
    unit : dict
        One unit from :func:`work_units`: ``chrom`` and equal-length lists ``pos``, ``ref``, ``alt``.
    **kwargs
        As :func:`score_variants_frame` (``fasta``, ``model``, ``window``, ...).

    Returns
    -------
    DataFrame
        As :func:`score_variants_frame`, one row per variant of the unit.
    """
    df = pd.DataFrame({"chrom": [unit["chrom"]] * len(unit["pos"]), "pos": unit["pos"], "ref": unit["ref"],
                       "alt": unit["alt"]})
    return score_variants_frame(df, **kwargs)


def work_units(df: pd.DataFrame, batch_variants: int = 4096) -> list[dict]:
    """Per-chromosome runs of ``batch_variants`` variants sorted by position (one unit each).

    Parameters
    ----------
    df : DataFrame
        Variants: chrom, pos, ref, alt (``chr`` prefixes dropped).
    batch_variants : int
        Most variants per unit.

    Returns
    -------
    list of dict
        Units in chromosome then position order, each with ``unit_id`` (``"chrom:k"``), ``chrom``,
        ``cost`` (its number of variants) and lists ``pos``, ``ref``, ``alt``.
    """
    d = df.assign(chrom=df["chrom"].astype(str).str.removeprefix("chr")).sort_values(["chrom", "pos"], kind="stable")
    units = []
    for chrom, g in d.groupby("chrom", sort=True):
        for s in range(0, len(g), batch_variants):
            part = g.iloc[s:s + batch_variants]
            units.append({"unit_id": f"{chrom}:{s // batch_variants}", "chrom": chrom, "cost": float(len(part)),
                          "pos": [int(p) for p in part["pos"]], "ref": part["ref"].astype(str).tolist(),
                          "alt": part["alt"].astype(str).tolist()})
    return units
