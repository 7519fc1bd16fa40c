"""A labelled task from data at hand: promoter vs non-promoter windows of a chromosome (a labels BED).

Positives: one window of ``window`` bp centred on each protein-coding gene's transcription start site
(the gene's ``start`` on the plus strand, its ``stop`` on the minus strand; GENCODE gene coordinates), in the
gene's orientation (BED strand), at most ``max_n`` N bases. Negatives: windows drawn uniformly from the
chromosome at least ``min_distance`` bp from every TSS (both strands' TSSs), with the same N limit (so the
N content of both classes is the same: none, by default), matched to the positives' GC content: for every
positive, ``ratio`` negatives from the same GC bin (bins of ``gc_bin`` fraction; a bin with too few
candidates takes the nearest bins'), on a random strand. Windows of the same class never overlap. The
result is written as a BED (label in column 4) for ``dnalm finetune``.

References
----------
Frankish A et al. (2019) GENCODE reference annotation for the human and mouse genomes. NAR 47:D766.
Zhou Z et al. (2024) DNABERT-2. ICLR (GUE promoter detection: TSS-centred windows vs non-promoter ones).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .windows import LUT, N_TOKEN


def tss_table(genes_tsv, chrom: str) -> pd.DataFrame:
    """TSS of each gene of ``chrom`` in a GENCODE gene table (chrom, start, stop, strand, gene_id, gene_name).

    Parameters
    ----------
    genes_tsv : str or Path
        Tab-separated gene coordinates (1-based inclusive), e.g. the bundled GENCODE v18 protein-coding table.
    chrom : str
        Chromosome (``chr`` optional).

    Returns
    -------
    DataFrame
        ``gene_id``, ``gene_name``, ``strand``, ``tss0`` (0-based), sorted by position.
    """
    g = pd.read_csv(genes_tsv, sep="\t", dtype={"chrom": str})
    miss = [c for c in ("chrom", "start", "stop", "strand", "gene_id") if c not in g.columns]
    if miss:
        raise InputError(genes_tsv, "a gene table with chrom, start, stop, strand, gene_id", column=miss[0])
    g = g[g["chrom"].str.removeprefix("chr") == str(chrom).removeprefix("chr")]
    tss0 = np.where(g["strand"] == "-", g["stop"], g["start"]).astype(np.int64) - 1
    return pd.DataFrame({"gene_id": g["gene_id"].to_numpy(), "gene_name": g.get("gene_name", g["gene_id"]).to_numpy(),
                         "strand": g["strand"].to_numpy(), "tss0": tss0}).sort_values("tss0", ignore_index=True)


def gc_fraction(tok: np.ndarray) -> np.ndarray:
    """GC fraction of the non-N bases of each token window.

    Parameters
    ----------
    tok : ndarray of int, (n, L)
        Token windows (A C G T N = 0..4).

    Returns
    -------
    ndarray of float, (n,)
    """
    acgt = (tok < N_TOKEN).sum(1)
    return ((tok == 1) | (tok == 2)).sum(1) / np.maximum(acgt, 1)


def match_gc(target_gc, cand_start, cand_gc, *, ratio: int, gc_bin: float, window: int, length: int,
             rng) -> np.ndarray:
    """GC-matched, non-overlapping background windows: ``ratio`` candidates per target from its GC bin.

    For each target in turn, candidates are taken (in a random order) from the target's bin of width
    ``gc_bin``, then from the nearest bins (up to 5 bins away) while it has fewer than ``ratio``; a candidate
    whose window overlaps one already taken is skipped.

    Parameters
    ----------
    target_gc : ndarray of float
        GC fraction of each target (positive) window.
    cand_start : ndarray of int
        0-based start of each candidate window.
    cand_gc : ndarray of float
        GC fraction of each candidate window.
    ratio : int
        Candidates per target.
    gc_bin : float
        Bin width.
    window : int
        Window length (bp).
    length : int
        Length of the chromosome (bp).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int
        Indices into the candidate arrays, in the order taken.
    """
    bins = np.floor(np.asarray(cand_gc) / gc_bin).astype(int)
    order = rng.permutation(len(cand_start))
    queue = {b: list(order[bins[order] == b]) for b in np.unique(bins)}   # each GC bin's candidates, shuffled
    taken = np.zeros(length + 2 * window, bool)                          # starts of the windows taken so far
    chosen = []
    for b in np.floor(np.asarray(target_gc) / gc_bin).astype(int):
        n_take = 0
        for off in (0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5):       # the target's bin first, then the nearest ones
            q = queue.get(b + off, [])
            while q and n_take < ratio:
                i = q.pop()
                st = cand_start[i]
                if not taken[max(0, st - window + 1):st + window].any():     # windows never overlap
                    taken[st] = True
                    chosen.append(i)
                    n_take += 1
            if n_take >= ratio:
                break
    return np.asarray(chosen, dtype=np.int64)


def promoter_task(fasta, genes_tsv, chrom: str = "20", *, window: int = 256, ratio: int = 4,
                  min_distance: int = 5000, max_n: int = 0, gc_bin: float = 0.02, n_candidates: int = 1_000_000,
                  seed: int = 0) -> pd.DataFrame:
    """Promoter (1) and GC-matched non-promoter (0) windows of one chromosome (module docstring).

    Parameters
    ----------
    fasta : str or Path
        Indexed FASTA.
    genes_tsv : str or Path
        Gene coordinates (:func:`tss_table`).
    chrom : str
        The chromosome.
    window : int
        Window length (bp).
    ratio : int
        Negatives per positive.
    min_distance : int
        Smallest distance (bp) from a negative window's centre to any TSS.
    max_n : int
        Most N bases in a window (either class).
    gc_bin : float
        Width of the GC-content bins matched.
    n_candidates : int
        Candidate negative windows drawn (without replacement, starts on a grid of gcd(window, 16) bp)
        before matching.
    seed : int

    Returns
    -------
    DataFrame
        BED columns ``chrom``, ``start`` (0-based), ``end``, ``label``, ``name`` (gene id or ``neg``), ``strand``,
        plus ``gc``; sorted by position.
    """
    from .task import cached_genome
    genome = cached_genome(fasta)
    seq = genome.sequence(chrom)
    if seq is None:
        raise InputError(fasta, f"chromosome {chrom} in the FASTA index")
    tok = LUT.astype(np.uint8)[seq]                                   # one byte per base (a chromosome is large)
    tss = tss_table(genes_tsv, chrom)
    tss = tss.drop_duplicates("tss0")
    t = tss["tss0"].to_numpy()                                        # every TSS (sorted), for the distances
    s0 = tss["tss0"].to_numpy() - window // 2
    keep = (s0 >= 0) & (s0 + window <= len(tok)) & np.r_[True, np.diff(s0) >= window]   # no overlapping positives
    tss, s0 = tss[keep], s0[keep]
    pw = tok[s0[:, None] + np.arange(window)]
    ok = (pw == N_TOKEN).sum(1) <= max_n
    pos = pd.DataFrame({"start": s0[ok], "label": 1, "name": tss["gene_id"].to_numpy()[ok],
                        "strand": tss["strand"].to_numpy()[ok], "gc": gc_fraction(pw[ok])})
    rng = np.random.default_rng(seed)
    step = math.gcd(window, 16)                                       # candidates on a grid: block sums, no copies
    nb = len(tok) // step
    blocks = tok[:nb * step].reshape(nb, step)
    n_cum = np.r_[0, np.cumsum((blocks == N_TOKEN).sum(1, dtype=np.int32), dtype=np.int64)]
    gc_cum = np.r_[0, np.cumsum(((blocks == 1) | (blocks == 2)).sum(1, dtype=np.int32), dtype=np.int64)]
    per = window // step
    grid = rng.choice(nb - per, min(n_candidates, nb - per), replace=False)
    cs = np.sort(grid) * step
    j = np.clip(np.searchsorted(t, cs + window // 2), 1, max(len(t) - 1, 1))
    dist = (np.minimum(np.abs(cs + window // 2 - t[j - 1]), np.abs(cs + window // 2 - t[j])) if len(t) > 1
            else np.full(len(cs), np.inf))
    b0 = cs // step
    n_in = n_cum[b0 + per] - n_cum[b0]
    cand = (dist >= min_distance) & (n_in <= max_n)
    cs, b0 = cs[cand], b0[cand]
    cgc = (gc_cum[b0 + per] - gc_cum[b0]) / np.maximum(window - n_in[cand], 1)
    chosen = match_gc(pos["gc"].to_numpy(), cs, cgc, ratio=ratio, gc_bin=gc_bin, window=window,
                      length=len(tok), rng=rng)
    starts = np.sort(cs[chosen])
    neg = pd.DataFrame({"start": starts, "label": 0, "name": "neg",
                        "strand": np.where(rng.random(len(starts)) < 0.5, "+", "-"),
                        "gc": gc_fraction(tok[starts[:, None] + np.arange(window)])})
    out = pd.concat([pos, neg], ignore_index=True).sort_values("start", ignore_index=True)
    out.insert(0, "chrom", str(chrom).removeprefix("chr"))
    out.insert(2, "end", out["start"] + window)
    return out[["chrom", "start", "end", "label", "name", "strand", "gc"]]


def write_bed(df: pd.DataFrame, path) -> Path:
    """A labels frame as a BED (chrom, start, end, label, name, strand; no header).

    Parameters
    ----------
    df : DataFrame
        From :func:`promoter_task`.
    path : str or Path

    Returns
    -------
    Path
    """
    path = Path(path)
    df[["chrom", "start", "end", "label", "name", "strand"]].to_csv(path, sep="\t", header=False, index=False)
    return path
