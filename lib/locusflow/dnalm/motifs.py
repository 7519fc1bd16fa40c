"""Motifs learned by a DNA language model: per-position importance, seqlets, motifs (TF-MoDISco-style).

Importance (one masked forward pass per position and strand, as in-silico mutagenesis,
:func:`locusflow.dnalm.ism.ism_logprobs`):

- ``ic`` (the model's predicted distribution, GPN): ``P`` the masked-site distribution averaged over the
  two strands, information content ``IC = 2 - H(P)`` bits, letter heights ``P x IC`` (the logo of GPN's
  figures); a position's contribution matrix is its letter heights.
- ``ism`` (in-silico mutagenesis): ``log P(ref) - mean log P(alt)`` averaged over strands (minus the mean
  GPN LLR of the three SNVs of the site: how much the model expects the reference base); the contribution
  matrix is the one-hot reference base times that value.

Seqlets (TF-MoDISco): the importance track is summed over sliding windows of ``window`` bp; the null is
the same sums after permuting the track's positions within each region (``n_null`` permutations), and the
threshold is the lowest sum at which the estimated FDR ``(null fraction >= t) / (real fraction >= t)`` is
at most ``fdr`` (step-up, like Benjamini-Hochberg). Local maxima above it become seqlets of fixed width
``window + 2 flank``, inside their region.

Motifs: seqlets are compared by the Pearson correlation of their flattened contribution matrices at every
shift up to ``max_shift`` and on both strands (the best of these); average-linkage agglomerative
clustering cut at ``1 - min_similarity``; each cluster of at least ``min_seqlets`` is aligned to its
medoid, giving a contribution weight matrix (CWM, the mean contribution) and a position probability
matrix (PWM, the frequencies of the aligned reference bases), trimmed to the columns whose summed |CWM|
is at least ``trim`` of the largest. This is our own implementation (numpy + scipy's hierarchical
clustering), not the ``modisco-lite`` package: it uses no Leiden graph clustering and no per-seqlet
hypothetical contributions.

References
----------
Shrikumar A et al. (2018) Technical note on Transcription Factor Motif Discovery from Importance Scores
(TF-MoDISco) version 0.5.6.5. arXiv:1811.00416.
Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
effects. PNAS 120:e2311219120 (GPN: predicted-distribution logos, information content).
Gupta S et al. (2007) Quantifying similarity between motifs. Genome Biology 8:R24 (Tomtom).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .motif_db import Motif
from .windows import N_TOKEN

IMPORTANCE = ("ic", "ism")


def onehot(tokens) -> np.ndarray:
    """One-hot (..., 4) of base tokens (A C G T = 0..3; N and MASK are all-zero rows).

    Parameters
    ----------
    tokens : array-like of int
        Any shape.

    Returns
    -------
    numpy.ndarray of float64, shape ``tokens.shape + (4,)``
    """
    t = np.asarray(tokens)
    return (t[..., None] == np.arange(4)).astype(float)


def predicted_importance(logp: np.ndarray) -> dict:
    """Information content and letter heights of the model's predicted distributions at masked sites.

    Parameters
    ----------
    logp : numpy.ndarray, (2, n, 4)
        Per-strand log P(A, C, G, T) at each masked site (:func:`locusflow.dnalm.llr.site_logprobs`).

    Returns
    -------
    dict
        ``prob`` (n, 4) the distribution averaged over strands; ``ic`` (n,) ``2 - H`` in bits; ``heights``
        (n, 4) ``prob x ic``.

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120.
    """
    p = np.exp(np.asarray(logp, dtype=float)).mean(0)
    p /= p.sum(1, keepdims=True)
    h = -(p * np.log2(np.clip(p, 1e-300, None))).sum(1)
    ic = 2.0 - h
    return {"prob": p, "ic": ic, "heights": p * ic[:, None]}


def ism_importance(logp: np.ndarray, ref) -> np.ndarray:
    """In-silico-mutagenesis importance of each site: ``log P(ref) - mean log P(alt)`` over both strands.

    Parameters
    ----------
    logp : numpy.ndarray, (2, n, 4)
        As :func:`predicted_importance`.
    ref : array-like of int, (n,)
        Reference tokens; sites that are not A, C, G or T get 0.

    Returns
    -------
    numpy.ndarray, (n,)
        Minus the mean GPN LLR of the site's three SNVs (:func:`locusflow.dnalm.ism.ism`).

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120.
    """
    lp = np.asarray(logp, dtype=float).mean(0)
    ref = np.asarray(ref)
    ok = ref < 4
    r = np.where(ok, ref, 0)
    lref = lp[np.arange(len(r)), r]
    return np.where(ok, lref - (lp.sum(1) - lref) / 3.0, 0.0)


def region_importance(model, genome, regions: pd.DataFrame, *, window: int = 128, batch_size: int = 256) -> dict:
    """Both importances at every position of every region (one masked forward pass per position and strand).

    Parameters
    ----------
    model : transformers model
        Single-nucleotide masked LM (:func:`locusflow.dnalm.model.load_model`).
    genome : locusflow.io.fasta.Genome
    regions : pandas.DataFrame
        ``chrom``, ``start``, ``end`` (1-based inclusive) and ``name``.
    window, batch_size : int
        Model window (site at its centre) and windows per forward pass.

    Returns
    -------
    dict of numpy.ndarray
        Flat over all positions of all regions, in region order: ``region`` (index into ``regions``),
        ``chrom``, ``pos``, ``ref`` (tokens), ``prob``, ``ic``, ``heights`` (:func:`predicted_importance`),
        ``ism`` (:func:`ism_importance`).

    Raises
    ------
    InputError
        A region on a contig the FASTA lacks or beyond its end.

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120.
    """
    from .ism import ism_logprobs
    parts = []
    for k, (chrom, start, end) in enumerate(zip(regions["chrom"].astype(str), regions["start"], regions["end"])):
        seq = genome.sequence(chrom)
        if seq is None or int(end) > len(seq) or int(start) < 1:
            raise InputError(regions.get("name", pd.Series(["region"] * len(regions))).iloc[k],
                             f"a region inside a contig of the FASTA ({chrom}: "
                             f"{'absent' if seq is None else f'{len(seq)} bp'})", value=f"{chrom}:{start}-{end}")
        parts.append((k, chrom, np.arange(int(start), int(end) + 1, dtype=np.int64)))
    out = {"region": [], "chrom": [], "pos": [], "ref": [], "logp": []}
    for chrom in dict.fromkeys(c for _, c, _ in parts):          # one pass per chromosome
        sel = [(k, p) for k, c, p in parts if c == chrom]
        pos = np.concatenate([p for _, p in sel])
        ref, lp = ism_logprobs(model, genome, chrom, pos, window=window, batch_size=batch_size)
        out["region"].append(np.concatenate([np.full(len(p), k) for k, p in sel]))
        out["chrom"].append(np.full(len(pos), chrom, dtype=object))
        out["pos"].append(pos)
        out["ref"].append(ref)
        out["logp"].append(lp)
    res = {k: np.concatenate(v, axis=1 if k == "logp" else 0) for k, v in out.items()}
    order = np.argsort(res["region"], kind="stable")
    res = {k: (v[:, order] if k == "logp" else v[order]) for k, v in res.items()}
    res.update(predicted_importance(res["logp"]))
    res["ism"] = ism_importance(res["logp"], res["ref"])
    return res


def contributions(imp: dict, importance: str = "ic") -> tuple[np.ndarray, np.ndarray]:
    """The scalar track and the (n, 4) contribution matrix of an importance kind.

    Parameters
    ----------
    imp : dict
        Output of :func:`region_importance` (``ref``, ``ic``, ``heights``, ``ism``).
    importance : {"ic", "ism"}
        ``ic``: track IC, contributions the letter heights; ``ism``: track the ISM importance,
        contributions the one-hot reference times it. Both are 0 where the reference is N.

    Returns
    -------
    track : numpy.ndarray, (n,)
    contrib : numpy.ndarray, (n, 4)
    """
    base = np.asarray(imp["ref"]) < 4                     # N positions (gaps) carry no importance
    if importance == "ic":
        return np.where(base, imp["ic"], 0.0), imp["heights"] * base[:, None]
    if importance == "ism":
        return imp["ism"], onehot(imp["ref"]) * imp["ism"][:, None]
    raise ValueError(f"importance must be one of {IMPORTANCE}, got {importance!r}")


def _window_sums(x: np.ndarray, w: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(x)])
    return c[w:] - c[:-w]


def seqlet_threshold(track, region, *, window: int = 15, fdr: float = 0.05, n_null: int = 5, seed: int = 0) -> dict:
    """Window sums of the track and the FDR threshold from a within-region permutation null.

    Parameters
    ----------
    track : numpy.ndarray, (n,)
        Importance, flat over regions (NaN counts as 0).
    region : numpy.ndarray of int, (n,)
        Region of each position (positions of a region contiguous).
    window : int
        Window (bp) of the sums.
    fdr : float
        Target false discovery rate of windows.
    n_null : int
        Permutations of the track within each region.
    seed : int

    Returns
    -------
    dict
        ``sums`` (n - window + 1,; -inf for windows that cross regions), ``threshold`` (inf when no window
        passes), ``null`` (the null sums).

    References
    ----------
    Shrikumar A et al. (2018) arXiv:1811.00416.
    """
    x = np.nan_to_num(np.asarray(track, dtype=float))
    region = np.asarray(region)
    if len(x) < window:
        return {"sums": np.zeros(0), "threshold": np.inf, "null": np.zeros(0)}
    valid = region[: len(x) - window + 1] == region[window - 1:]
    sums = np.where(valid, _window_sums(x, window), -np.inf)
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(n_null):
        perm = np.lexsort((rng.random(len(x)), region))          # a random order within each region
        null.append(_window_sums(x[perm], window)[valid])
    null = np.sort(np.concatenate(null))
    real = np.sort(sums[valid])[::-1]
    n_ge_null = len(null) - np.searchsorted(null, real, side="left")
    est = (n_ge_null / max(len(null), 1)) / (np.arange(1, len(real) + 1) / len(real))
    ok = np.flatnonzero(est <= fdr)
    thr = float(real[ok[-1]]) if len(ok) else np.inf
    return {"sums": sums, "threshold": thr, "null": null}


def call_seqlets(track, region, *, window: int = 15, flank: int = 5, fdr: float = 0.05, n_null: int = 5,
                 max_seqlets: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Seqlets: local maxima of the window sums above the FDR threshold, fixed width, inside their region.

    Parameters
    ----------
    track, region : numpy.ndarray
        As :func:`seqlet_threshold`.
    window, flank : int
        Core window and flank on each side: seqlets are ``window + 2 flank`` bp.
    fdr, n_null, seed :
        As :func:`seqlet_threshold`.
    max_seqlets : int
        Keep the highest-scoring ones.

    Returns
    -------
    pandas.DataFrame
        ``start`` (flat index of the seqlet's first position), ``region``, ``score`` (the window sum),
        ``threshold``; by decreasing score.

    References
    ----------
    Shrikumar A et al. (2018) arXiv:1811.00416.
    """
    from scipy.ndimage import maximum_filter1d
    t = seqlet_threshold(track, region, window=window, fdr=fdr, n_null=n_null, seed=seed)
    s, thr = t["sums"], t["threshold"]
    width = window + 2 * flank
    region = np.asarray(region)
    n = len(region)
    k = np.arange(len(s))
    start = k - flank
    inside = (start >= 0) & (start + width <= n)
    st = np.clip(start, 0, max(n - 1, 0))
    inside &= region[st] == region[np.clip(start + width - 1, 0, max(n - 1, 0))]
    s = np.where(inside & np.isfinite(s), s, -1e300)              # seqlets lie inside their region
    peak = (s >= thr) & (s > -1e300) & (s == maximum_filter1d(s, size=width, mode="constant", cval=-1e300))
    idx = np.flatnonzero(peak)
    if len(idx) > 1:                                              # plateaus: keep the first of close ties
        keep = np.concatenate([[True], (np.diff(idx) > width // 2) | (region[idx[1:]] != region[idx[:-1]])])
        idx = idx[keep]
    out = pd.DataFrame({"start": start[idx], "region": region[idx], "score": s[idx], "threshold": thr})
    return out.sort_values("score", ascending=False, kind="stable").head(max_seqlets).reset_index(drop=True)


def _unit_rows(a: np.ndarray) -> np.ndarray:
    a = a - a.mean(1, keepdims=True)
    nrm = np.linalg.norm(a, axis=1, keepdims=True)
    return np.where(nrm > 1e-12, a / np.where(nrm > 1e-12, nrm, 1.0), 0.0)


def seqlet_similarity(x: np.ndarray, max_shift: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best Pearson correlation of every pair of contribution matrices over shifts and both strands.

    Parameters
    ----------
    x : numpy.ndarray, (n, w, 4)
        Seqlet contribution matrices.
    max_shift : int
        Largest shift (columns) tried.

    Returns
    -------
    sim : numpy.ndarray, (n, n)
        Best correlation of the flattened overlapping columns.
    offset : numpy.ndarray of int, (n, n)
        Shift ``o`` of the best: column ``c`` of ``x[i]`` faces column ``c + o`` of ``x[j]`` (oriented).
    strand : numpy.ndarray of int, (n, n)
        1 when ``x[j]`` is reverse-complemented in the best alignment.

    References
    ----------
    Shrikumar A et al. (2018) arXiv:1811.00416 (seqlet similarity over alignments and strands).
    """
    n, w, _ = x.shape
    best = np.full((n, n), -np.inf)
    off = np.zeros((n, n), dtype=np.int64)
    strand = np.zeros((n, n), dtype=np.int64)
    for s, y in ((0, x), (1, x[:, ::-1, ::-1])):
        for o in range(-max_shift, max_shift + 1):
            a, b = max(0, -o), min(w, w - o)
            if b - a < max(2, w // 2):
                continue
            sim = _unit_rows(x[:, a:b].reshape(n, -1)) @ _unit_rows(y[:, a + o:b + o].reshape(n, -1)).T
            better = sim > best
            best[better], off[better], strand[better] = sim[better], o, s
    return best, off, strand


def cluster_seqlets(x: np.ndarray, *, max_shift: int = 5, min_similarity: float = 0.5) -> tuple:
    """Average-linkage clusters of seqlets by :func:`seqlet_similarity`.

    Parameters
    ----------
    x : numpy.ndarray, (n, w, 4)
    max_shift : int
    min_similarity : float
        The tree is cut at distance ``1 - min_similarity``.

    Returns
    -------
    labels : numpy.ndarray of int, (n,)
        Cluster of each seqlet (1, 2, ...).
    sim, offset, strand : numpy.ndarray
        As :func:`seqlet_similarity`.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    sim, off, strand = seqlet_similarity(x, max_shift)
    if len(x) < 2:
        return np.ones(len(x), dtype=np.int64), sim, off, strand
    d = 1.0 - (sim + sim.T) / 2
    np.fill_diagonal(d, 0.0)
    z = linkage(squareform(np.clip(d, 0, None), checks=False), method="average")
    return fcluster(z, t=1.0 - min_similarity, criterion="distance").astype(np.int64), sim, off, strand


def build_motif(x, seq, members, medoid, offset, strand, *, max_shift: int, trim: float = 0.3,
                pseudocount: float = 0.1) -> dict:
    """Align a cluster's seqlets to its medoid and average them into a CWM and a PWM (module docstring).

    Parameters
    ----------
    x, seq : numpy.ndarray, (n, w, 4)
        Contribution matrices and one-hot reference sequences of all seqlets.
    members : numpy.ndarray of int
        The cluster's seqlets.
    medoid : int
        Index (into ``x``) of the cluster's medoid.
    offset, strand : numpy.ndarray, (n, n)
        From :func:`seqlet_similarity`.
    max_shift : int
    trim : float
        Keep the span of columns whose summed |CWM| is at least ``trim`` x the largest (and covered by at
        least half the seqlets).
    pseudocount : float
        Added to each base count of the PWM.

    Returns
    -------
    dict
        ``cwm`` and ``pwm`` (width, 4), ``member_strand`` and ``member_offset`` (each member's orientation
        and the motif column its first oriented column faces; may be negative), ``n_seqlets``.
    """
    n, w, _ = x.shape
    frame = w + 2 * max_shift
    csum, ssum, cov = np.zeros((frame, 4)), np.zeros((frame, 4)), np.zeros(frame)
    st = strand[medoid, members]
    of = offset[medoid, members]
    for j, s, o in zip(members, st, of):                          # members of one cluster (tens to hundreds)
        xj, sj = (x[j][::-1, ::-1], seq[j][::-1, ::-1]) if s else (x[j], seq[j])
        lo = max_shift - o
        csum[lo:lo + w] += xj
        ssum[lo:lo + w] += sj
        cov[lo:lo + w] += 1
    cwm = csum / np.maximum(cov, 1)[:, None]
    col = np.abs(cwm).sum(1) * (cov >= len(members) / 2)
    keep = np.flatnonzero(col >= trim * col.max()) if col.max() > 0 else np.arange(frame)
    a, b = int(keep.min()), int(keep.max()) + 1
    counts = ssum[a:b] + pseudocount
    return {"cwm": cwm[a:b], "pwm": counts / counts.sum(1, keepdims=True), "n_seqlets": int(len(members)),
            "member_strand": st.astype(np.int64), "member_offset": (max_shift - of - a).astype(np.int64)}


def discover_motifs(track, contrib, ref, region, *, window: int = 15, flank: int = 5, fdr: float = 0.05,
                    n_null: int = 5, max_seqlets: int = 1000, max_shift: int = 5, min_similarity: float = 0.5,
                    min_seqlets: int = 10, trim: float = 0.3, seed: int = 0) -> tuple[pd.DataFrame, list]:
    """Seqlets and motifs from an importance track (pure numpy; module docstring).

    Parameters
    ----------
    track : numpy.ndarray, (n,)
        Scalar importance, flat over regions.
    contrib : numpy.ndarray, (n, 4)
        Contribution matrix of each position.
    ref : numpy.ndarray of int, (n,)
        Reference tokens.
    region : numpy.ndarray of int, (n,)
        Region of each position (contiguous).
    window, flank, fdr, n_null, max_seqlets, seed :
        As :func:`call_seqlets`.
    max_shift, min_similarity :
        As :func:`cluster_seqlets`.
    min_seqlets : int
        Smallest cluster reported as a motif.
    trim : float
        As :func:`build_motif`.

    Returns
    -------
    seqlets : pandas.DataFrame
        :func:`call_seqlets` rows plus ``motif`` (index into ``motifs``, -1 when in no motif),
        ``motif_strand`` ("+"/"-"/"") and ``motif_offset`` (motif column of the seqlet's first oriented
        column).
    motifs : list of dict
        :func:`build_motif` output plus ``motif_id`` (``motif_1``, ... by decreasing seqlet count) and the
        members' seqlet indices; only clusters of at least ``min_seqlets``.

    References
    ----------
    Shrikumar A et al. (2018) arXiv:1811.00416.
    """
    seqlets = call_seqlets(track, region, window=window, flank=flank, fdr=fdr, n_null=n_null,
                           max_seqlets=max_seqlets, seed=seed)
    seqlets["motif"], seqlets["motif_strand"], seqlets["motif_offset"] = -1, "", 0
    if len(seqlets) < max(min_seqlets, 2):
        return seqlets, []
    w = window + 2 * flank
    idx = seqlets["start"].to_numpy()[:, None] + np.arange(w)[None, :]
    x = np.asarray(contrib, dtype=float)[idx]
    seq = onehot(np.asarray(ref)[idx])
    labels, sim, off, strand = cluster_seqlets(x, max_shift=max_shift, min_similarity=min_similarity)
    sizes = pd.Series(labels).value_counts()
    motifs = []
    for lab in sizes.index[sizes.to_numpy() >= min_seqlets]:     # clusters, largest first
        members = np.flatnonzero(labels == lab)
        medoid = int(members[np.argmax(sim[np.ix_(members, members)].sum(1))])
        m = build_motif(x, seq, members, medoid, off, strand, max_shift=max_shift, trim=trim)
        m["members"] = members
        m["motif_id"] = f"motif_{len(motifs) + 1}"
        seqlets.loc[members, "motif"] = len(motifs)
        seqlets.loc[members, "motif_strand"] = np.where(m["member_strand"] == 1, "-", "+")
        seqlets.loc[members, "motif_offset"] = m["member_offset"]
        motifs.append(m)
    return seqlets, motifs


def as_motifs(motifs: list) -> list[Motif]:
    """Discovered motifs as :class:`~locusflow.dnalm.motif_db.Motif` (their PWMs) for comparison.

    Parameters
    ----------
    motifs : list of dict
        From :func:`discover_motifs` (``motif_id``, ``pwm``, ``n_seqlets``).

    Returns
    -------
    list of Motif
        ``nsites`` = the seqlet count.
    """
    return [Motif(m["motif_id"], m["motif_id"], m["pwm"], float(m["n_seqlets"])) for m in motifs]


def plant(rng, n: int, length: int, pwm: np.ndarray, *, rc_fraction: float = 0.5) -> dict:
    """Random sequences (uniform bases) with one site sampled from ``pwm`` planted in each (known truth).

    Parameters
    ----------
    rng : numpy.random.Generator
    n, length : int
        Sequences and their length.
    pwm : numpy.ndarray, (w, 4)
        Probabilities of the planted site.
    rc_fraction : float
        Fraction of sites planted as the reverse complement.

    Returns
    -------
    dict
        ``tokens`` (n, length), ``site_start`` (n,), ``site_strand`` (n,: 0 forward, 1 reverse), ``mask``
        (n, length) True on planted positions.
    """
    w = len(pwm)
    tok = rng.integers(0, 4, size=(n, length))
    cum = np.cumsum(pwm, 1)
    site = (rng.random((n, w, 1)) > cum[None]).sum(2).clip(0, 3)
    rc = rng.random(n) < rc_fraction
    site[rc] = 3 - site[rc][:, ::-1]
    start = rng.integers(0, length - w + 1, size=n)
    rows = np.repeat(np.arange(n), w)
    cols = (start[:, None] + np.arange(w)[None, :]).ravel()
    tok[rows, cols] = site.ravel()
    mask = np.zeros((n, length), bool)
    mask[rows, cols] = True
    return {"tokens": tok, "site_start": start, "site_strand": rc.astype(np.int64), "mask": mask}


def token_importance(model, tokens: np.ndarray, *, window: int = 128, batch_size: int = 256) -> dict:
    """:func:`region_importance` for token sequences held in memory (e.g. planted sequences).

    Parameters
    ----------
    model : transformers model
    tokens : numpy.ndarray of int, (n, L)
        Sequences; positions beyond their ends are N in the model's windows.
    window, batch_size : int

    Returns
    -------
    dict of numpy.ndarray
        ``region``, ``ref``, ``logp`` (2, n L, 4), ``prob``, ``ic``, ``heights``, ``ism``, flat by sequence.

    References
    ----------
    Benegas G et al. (2023) PNAS 120:e2311219120.
    """
    from .llr import site_logprobs
    tokens = np.asarray(tokens, dtype=np.int64)
    n, length = tokens.shape
    pad = np.full((n, length + window), N_TOKEN, dtype=np.int64)
    pad[:, window // 2: window // 2 + length] = tokens
    idx = np.arange(length)[:, None] + np.arange(window)[None, :]        # window of site j: pad[j : j+window]
    w = pad[:, idx].reshape(n * length, window)
    lp = site_logprobs(model, w, batch_size=batch_size)
    res = {"region": np.repeat(np.arange(n), length), "ref": tokens.ravel(), "logp": lp}
    res.update(predicted_importance(lp))
    res["ism"] = ism_importance(lp, res["ref"])
    return res


def pwm_hits(ref, region, pwm: np.ndarray, *, frac: float = 0.6, pseudocount: float = 0.01) -> np.ndarray:
    """Starts of the sites of a PWM in token sequences (either strand), inside one region each.

    A site is a window whose log-odds score (``log2((p + pseudocount) / (1 + 4 pseudocount) / 0.25)`` summed
    over its columns; N scores 0) is at least ``frac`` of the PWM's best possible score.

    Parameters
    ----------
    ref : numpy.ndarray of int, (n,)
        Tokens, flat over regions.
    region : numpy.ndarray of int, (n,)
        Region of each position.
    pwm : numpy.ndarray, (w, 4)
    frac : float
        Fraction of the best score a site reaches (0.6: 80-90 % of sites sampled from CTCF, NRF1 or SP1
        matrices, under 1 % of uniform random bases).
    pseudocount : float

    Returns
    -------
    numpy.ndarray of bool, (n,)
        True at every base of every site.

    References
    ----------
    Stormo GD (2000) DNA binding sites: representation and discovery. Bioinformatics 16:16.
    """
    from .tomtom import reverse_complement_pwm
    ref, region = np.asarray(ref), np.asarray(region)
    n, w = len(ref), len(pwm)
    hit = np.zeros(n, bool)
    if n < w:
        return hit
    for p in (np.asarray(pwm, float), reverse_complement_pwm(pwm)):
        lo = np.log2((p + pseudocount) / (1 + 4 * pseudocount) / 0.25)
        table = np.concatenate([lo, np.zeros((w, 2))], axis=1)               # N and MASK score 0
        score = np.zeros(n - w + 1)
        for c in range(w):                                                   # the PWM's columns
            score += table[c, ref[c:n - w + 1 + c]]
        ok = (score >= frac * lo.max(1).sum()) & (region[: n - w + 1] == region[w - 1:])
        start = np.zeros(n)
        start[: n - w + 1] = ok
        hit |= np.convolve(start, np.ones(w))[:n] > 0
    return hit


def motif_site_importance(track, ref, region, database, *, frac: float = 0.6) -> pd.DataFrame:
    """The model's importance at the sites of each database motif against all other positions.

    A check of which database motifs a model learned that does not depend on seqlet calling: the sites
    (:func:`pwm_hits`) of a motif the model uses should carry more importance than the rest.

    Parameters
    ----------
    track : numpy.ndarray, (n,)
        Importance, flat over regions.
    ref, region : numpy.ndarray of int, (n,)
        Tokens and region of each position.
    database : list of Motif
    frac : float
        As :func:`pwm_hits`.

    Returns
    -------
    pandas.DataFrame
        ``target_id``, ``target_name``, ``site_bp`` (bases inside sites), ``mean_site``, ``mean_rest``,
        ``difference``, ``p_value`` (one-sided Mann-Whitney, sites greater; NaN under 10 site bases), in
        database order.

    References
    ----------
    Mann HB, Whitney DR (1947) On a test of whether one of two random variables is stochastically larger
    than the other. Ann Math Stat 18:50.
    """
    from scipy.stats import mannwhitneyu
    x = np.nan_to_num(np.asarray(track, dtype=float))
    rows = []
    for m in database:
        hit = pwm_hits(ref, region, m.pwm, frac=frac)
        a, b = x[hit], x[~hit]
        p = float(mannwhitneyu(a, b, alternative="greater").pvalue) if len(a) >= 10 and len(b) else np.nan
        rows.append({"target_id": m.id, "target_name": m.name, "site_bp": int(hit.sum()),
                     "mean_site": float(a.mean()) if len(a) else np.nan, "mean_rest": float(b.mean()),
                     "difference": float(a.mean() - b.mean()) if len(a) else np.nan, "p_value": p})
    return pd.DataFrame(rows)
