"""In-silico mutagenesis (ISM) of a region with a single-nucleotide masked LM: every position, every alt.

At each position p of the region the site is masked and the model's distribution read out on both
strands (:func:`locusflow.dnalm.llr.site_logprobs`): one forward pass per strand and window gives all
three alternative bases, ``llr(p, b) = log P(b) - log P(ref)`` averaged over the strands, exactly the
GPN LLR of the SNV ``p:ref:b`` (so ISM at a variant equals its score). The matrix ``llr[p, b]`` is an
attribution map of the locus: strongly negative entries mark positions where the model expects the
reference base (constrained sites). Positions whose reference base is not A, C, G or T are skipped.

References
----------
Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
effects. PNAS 120:e2311219120 (GPN: genome-wide LLR of every possible SNV).
Alipanahi B et al. (2015) Predicting the sequence specificities of DNA- and RNA-binding proteins by deep
learning (DeepBind). Nat Biotechnol 33:831 (in-silico mutagenesis maps).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .pretrain import parse_region
from .windows import N_TOKEN, windows

BASES = np.array(list("ACGT"))


def ism_logprobs(model, genome, chrom: str, positions, *, window: int = 128, batch_size: int = 256):
    """Reference tokens and per-strand log P(A, C, G, T) at each masked position.

    Parameters
    ----------
    model : transformers model
        Single-nucleotide masked LM (``logits[..., :4]`` = A, C, G, T).
    genome : locusflow.io.fasta.Genome
    chrom : str
    positions : array-like of int
        1-based positions.
    window, batch_size : int
        Window length (site at ``window // 2``) and windows per forward pass.

    Returns
    -------
    ref : ndarray of int, (n,)
        Reference tokens (4 = N).
    logp : ndarray, (2, n, 4)
        As :func:`locusflow.dnalm.llr.site_logprobs`.
    """
    from .llr import site_logprobs
    w = windows(genome, chrom, np.asarray(positions, dtype=np.int64), window)
    return w[:, window // 2].copy(), site_logprobs(model, w, batch_size=batch_size)


def ism(model, genome, region: str, *, window: int = 128, batch_size: int = 256, model_name: str = "") -> pd.DataFrame:
    """LLR of every possible SNV of a region: 3 rows per position whose reference base is A, C, G or T.

    Parameters
    ----------
    model : transformers model
        Single-nucleotide masked LM.
    genome : locusflow.io.fasta.Genome
    region : str
        ``chrom:start-end`` (1-based, inclusive).
    window, batch_size : int
        As :func:`ism_logprobs`.
    model_name : str
        Written to the ``model`` column.

    Returns
    -------
    DataFrame
        Columns of the variant_scores schema that an LLR fills (variant_id, chrom, pos, ref, alt, status
        ``ok``, llr, llr_fwd, llr_rev, model), by position then alt (A, C, G, T order).

    Raises
    ------
    InputError
        A malformed region, or one beyond the chromosome's end or on a contig the FASTA lacks.

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120.
    """
    chrom, start0, end = parse_region(region, "region")
    start = start0 + 1
    seq = genome.sequence(chrom)
    if seq is None or end > len(seq):
        raise InputError(region, f"a region inside a contig of the FASTA ({chrom}: "
                         f"{'absent' if seq is None else f'{len(seq)} bp'})", value=region)
    pos = np.arange(start, end + 1, dtype=np.int64)
    ref, lp = ism_logprobs(model, genome, chrom, pos, window=window, batch_size=batch_size)
    keep = ref < N_TOKEN
    pos, ref, lp = pos[keep], ref[keep], lp[:, keep]
    n = len(pos)
    alt = np.stack([np.setdiff1d(np.arange(4), [r]) for r in range(4)])[ref]       # (n, 3): the other bases
    i = np.repeat(np.arange(n), 3)
    a = alt.reshape(-1)
    fwd = lp[0, i, a] - lp[0, i, ref[i]]
    rev = lp[1, i, a] - lp[1, i, ref[i]]
    out = pd.DataFrame({"chrom": chrom, "pos": pos[i], "ref": BASES[ref[i]], "alt": BASES[a]})
    out["variant_id"] = out["chrom"] + ":" + out["pos"].astype(str) + ":" + out["ref"] + ":" + out["alt"]
    out["status"] = "ok"
    out["llr"], out["llr_fwd"], out["llr_rev"] = (fwd + rev) / 2, fwd, rev
    out["model"] = model_name
    return out


def ism_matrix(scores: pd.DataFrame) -> pd.DataFrame:
    """ISM rows as a position x base matrix of LLRs (0 at the reference base).

    Parameters
    ----------
    scores : DataFrame
        pos, ref, alt, llr (output of :func:`ism`).

    Returns
    -------
    DataFrame
        Index pos; columns A, C, G, T.
    """
    m = scores.pivot_table(index="pos", columns="alt", values="llr", aggfunc="first").reindex(columns=list("ACGT"))
    return m.fillna(0.0)
