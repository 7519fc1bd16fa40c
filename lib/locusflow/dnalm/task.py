"""Score one batch of variants (a work unit) with a masked LM: the kernel every engine runs.

A unit is one chromosome's run of variants sorted by position (``chrom``, lists ``pos``, ``ref``,
``alt``); its windows are read from the FASTA, REF checked (:func:`~locusflow.dnalm.windows.variant_status`),
and the ``ok`` rows scored (:mod:`locusflow.dnalm.llr`). The model and the genome are loaded once per
Python process (a Spark Python worker, a Dask worker process, the local loop) and kept in a cache keyed
by path, device and dtype. With a GPU, the model runs on CUDA in bfloat16; otherwise on CPU in float32.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.fasta import Genome
from .windows import LUT, variant_status, windows

_MODELS: dict = {}
_GENOMES: dict = {}
COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "status", "llr", "llr_fwd", "llr_rev", "model"]


def cached_model(path, device: str = "auto", dtype: str = "auto"):
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

    Returns
    -------
    torch.nn.Module
        The loaded masked LM, cached by (path, device, dtype).
    """
    key = (str(path), device, dtype)
    if key not in _MODELS:
        import torch
        from .model import load_model
        torch.set_num_threads(1)
        _MODELS[key] = load_model(path, device=None if device == "auto" else device, dtype=dtype)
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
                         batch_size: int = 256, device: str = "auto", dtype: str = "auto") -> pd.DataFrame:
    """LLR of every variant of ``df`` (chrom, pos, ref, alt); rows not ``ok`` keep null scores.

    Parameters
    ----------
    df : DataFrame
        Variants: chrom, pos (1-based), ref, alt (any order; scored sorted by window).
    fasta : str or Path
        Indexed FASTA of the variants' genome.
    model : str or Path, optional
        Local model directory [the shipped GRCh37 chr20 model].
    model_name : str
        Recorded in the ``model`` column [the directory's name].
    window, batch_size, device, dtype
        Window length (bp; site at window // 2), windows per forward pass, "auto" | "cuda" | "cpu", "auto" | "float32" |
        "bfloat16".

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS` (schema variant_scores), in the input's row order.

    References
    ----------
    Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120.
    """
    from pathlib import Path
    from .llr import llr_from_logprobs, site_logprobs
    genome = cached_genome(fasta)
    out = pd.DataFrame({"chrom": df["chrom"].astype(str).str.removeprefix("chr").to_numpy(),
                        "pos": np.asarray(df["pos"], dtype=np.int64),
                        "ref": df["ref"].astype(str).str.upper().to_numpy(),
                        "alt": df["alt"].astype(str).str.upper().to_numpy()})
    out["variant_id"] = out["chrom"] + ":" + out["pos"].astype(str) + ":" + out["ref"] + ":" + out["alt"]
    out["status"] = variant_status(out["chrom"], out["pos"], out["ref"], out["alt"], genome)
    for c in ("llr", "llr_fwd", "llr_rev"):
        out[c] = np.nan
    ok = np.flatnonzero(out["status"].to_numpy() == "ok")
    if len(ok):
        net = cached_model(model, device, dtype)
        sub = out.iloc[ok]
        order = np.lexsort((sub["pos"].to_numpy(), sub["chrom"].to_numpy()))     # batches sorted by window
        rows = ok[order]
        for chrom in pd.unique(out["chrom"].to_numpy()[rows]):
            r = rows[out["chrom"].to_numpy()[rows] == chrom]
            w = windows(genome, chrom, out["pos"].to_numpy()[r], window)
            lp = site_logprobs(net, w, batch_size=batch_size)
            ref_t = LUT[out["ref"].str.encode("ascii").str[0].to_numpy()[r].astype(np.uint8)]
            alt_t = LUT[out["alt"].str.encode("ascii").str[0].to_numpy()[r].astype(np.uint8)]
            sc = llr_from_logprobs(lp, ref_t, alt_t)
            for c, v in sc.items():
                out.loc[out.index[r], c] = v
    out["model"] = model_name or (Path(model).name if model else "locusflow_chr20_conv")
    return out[COLUMNS]


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
