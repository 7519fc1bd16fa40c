"""A labelled task from data at hand: splice sites vs decoy dinucleotides of the same genes (a labels BED).

Positives (``site="donor"``): one window of ``window`` bp per distinct annotated splice donor of a chromosome
(every intron of every transcript of a GTF: consecutive exons, :func:`locusflow.dnalm.regions.splice_sites`;
a donor shared by transcripts counts once), in the transcript's orientation (BED strand), placed so that the
exon-intron boundary is the window's centre: oriented bases ``0 .. window//2 - 1`` are the exon's end,
``window//2`` and ``window//2 + 1`` the intron's first two bases. Only canonical donors (GT there in the
FASTA) are kept, so every positive has GT at the centre; a positive window overlapping the previous one
kept (alternative donors a few bp apart) is dropped, at most ``max_n`` N bases. ``site="acceptor"`` is the
same for acceptors: the intron's last two bases (AG) at ``window//2 - 2, window//2 - 1``, the next exon
from ``window//2`` on.

Decoys (label 0): windows centred the same way on the same dinucleotide (GT, or AG) in the same genes:
positions covered by a transcript (exon or intron) of the chromosome, the dinucleotide read on that
transcript's strand, at least ``min_distance`` bp [``window // 2``: no annotated site inside the window]
from every annotated site of the same kind on either strand, matched to the positives' GC content
(``ratio`` per positive from the same 2% GC bin or the nearest ones,
:func:`locusflow.dnalm.promoters.match_gc`); decoy windows never overlap one another. A bag of k-mers
sees the same dinucleotide at the centre of both classes: it has to tell a real site from a decoy by the
sequence around it, which a model that reads positions (the splice consensus spans both sides of the
boundary, MAG|GTRAGT for donors, a polypyrimidine tract then YAG|G for acceptors) can use and a k-mer
count cannot place.

The result is written as a BED (label in column 4) for ``dnalm finetune`` (``bed=``, or
:func:`locusflow.dnalm.promoters.write_bed`); fine-tune with ``pooling: centre`` so that the head reads the
boundary's hidden state (docs/benchmarks.md, "Fine-tuning the shipped DNA LM: splice donors").

References
----------
Mount SM (1982) A catalogue of splice junction sequences. Nucleic Acids Res 10:459 (the MAG|GTRAGT and
YAG|G consensus).
Burset M, Seledtsov IA, Solovyev VV (2000) Analysis of canonical and non-canonical splice sites in mammalian
genomes. Nucleic Acids Res 28:4364 (GT-AG: ~99% of donors/acceptors).
Dalla-Torre H et al. (2024) The Nucleotide Transformer. Nat Methods (splice-site benchmark); Zhou Z et al.
(2024) DNABERT-2. ICLR (GUE splice-site task: donor / acceptor / decoy windows).
O'Leary NA et al. (2016) Reference sequence (RefSeq) database at NCBI. NAR 44:D733 (the bundled refGene GTF).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .annotate import read_gtf
from .promoters import gc_fraction, match_gc, write_bed
from .regions import BUNDLED_GTF, splice_sites
from .windows import LUT, N_TOKEN

# site -> (splice_sites key, (oriented offset of the dinucleotide from the boundary base, its tokens: GT, AG))
SITES = {"donor": ("splice_donor", (0, (2, 3))), "acceptor": ("splice_acceptor", (-2, (0, 2)))}
COMP = np.array([3, 2, 1, 0, 4], np.uint8)


def _chrom_records(ann: pd.DataFrame, gtf, chrom: str, genome, fasta) -> pd.DataFrame:
    """The GTF records of ``chrom``, with the contig checked against the FASTA (errors name the GTF row)."""
    chrom = str(chrom).removeprefix("chr")
    rows = np.flatnonzero(ann["chrom"].to_numpy() == chrom)
    if not len(rows):
        have = ", ".join(pd.unique(ann["chrom"])[:8])
        raise InputError(gtf, f"records of chromosome {chrom} (the GTF has {have})", column="seqname")
    if genome.sequence(chrom) is None:
        raise InputError(gtf, f"a contig of the FASTA {Path(fasta).name} (has "
                              f"{', '.join(list(genome.contigs)[:8])})", row=int(rows[0]) + 1, column="seqname",
                         value=chrom)
    return ann.iloc[rows]


def _dinucleotide_at(tok: np.ndarray, offset: int, dinuc, minus: bool) -> np.ndarray:
    """0-based boundary positions ``b`` where the oriented bases at ``b + offset``, ``b + offset + 1`` are ``dinuc``.

    Oriented offsets run 5' to 3' on the transcript's strand: on the minus strand oriented offset ``o`` is
    genome position ``b - o``, its base complemented.
    """
    if minus:
        o, v = (-offset, -offset - 1), (COMP[dinuc[0]], COMP[dinuc[1]])
    else:
        o, v = (offset, offset + 1), tuple(dinuc)
    lo, hi = max(0, -min(o)), len(tok) - max(0, max(o))
    hit = (tok[lo + o[0]:hi + o[0]] == v[0]) & (tok[lo + o[1]:hi + o[1]] == v[1])
    return np.flatnonzero(hit) + lo


def _reads(tok: np.ndarray, b: np.ndarray, offset: int, dinuc, minus: np.ndarray) -> np.ndarray:
    """Whether the oriented bases at ``b + offset``, ``b + offset + 1`` are ``dinuc`` (as :func:`_dinucleotide_at`)."""
    p1 = np.where(minus, b - offset, b + offset)
    p2 = np.where(minus, p1 - 1, p1 + 1)
    ok = (np.minimum(p1, p2) >= 0) & (np.maximum(p1, p2) < len(tok))
    v1, v2 = tok[np.clip(p1, 0, len(tok) - 1)], tok[np.clip(p2, 0, len(tok) - 1)]
    return ok & (np.where(minus, COMP[v1], v1) == dinuc[0]) & (np.where(minus, COMP[v2], v2) == dinuc[1])


def _covered(b: np.ndarray, start0: np.ndarray, end0: np.ndarray) -> np.ndarray:
    """Whether each position lies in any of the half-open spans."""
    if not len(start0):
        return np.zeros(len(b), bool)
    order = np.argsort(start0, kind="stable")
    s, e = start0[order], np.maximum.accumulate(end0[order])
    i = np.searchsorted(s, b, side="right") - 1
    return (i >= 0) & (e[np.maximum(i, 0)] > b)


def _window_counts(tok: np.ndarray, start: np.ndarray, window: int, chunk: int = 100_000):
    """N count and GC fraction (of the non-N bases) of each window."""
    n_in, gc = np.empty(len(start), np.int64), np.empty(len(start))
    for c in range(0, len(start), chunk):
        w = tok[start[c:c + chunk, None] + np.arange(window)]
        n_in[c:c + chunk], gc[c:c + chunk] = (w == N_TOKEN).sum(1), gc_fraction(w)
    return n_in, gc


def splice_task(fasta, gtf=None, chrom: str = "20", *, site: str = "donor", window: int = 128, ratio: int = 2,
                min_distance: int | None = None, max_n: int = 0, gc_bin: float = 0.02,
                n_candidates: int = 1_000_000, seed: int = 0, bed=None) -> pd.DataFrame:
    """Splice-site (1) and GC-matched decoy (0) windows of one chromosome (module docstring).

    Parameters
    ----------
    fasta : str or Path
        Indexed FASTA.
    gtf : str or Path, optional
        GTF with exon records grouped by ``transcript_id`` [the bundled UCSC refGene hg19 chr20].
    chrom : str
        The chromosome (``chr`` optional).
    site : {"donor", "acceptor"}
        Which splice site is the positive class.
    window : int
        Window length (bp), even; the exon-intron boundary is its centre.
    ratio : int
        Decoys per positive.
    min_distance : int, optional
        Smallest distance (bp) from a decoy's boundary to any annotated site of the same kind [``window // 2``].
    max_n : int
        Most N bases in a window (either class).
    gc_bin : float
        Width of the GC-content bins matched.
    n_candidates : int
        Candidate decoys drawn (without replacement) before matching.
    seed : int
    bed : str or Path, optional
        Also write the labels BED here (chrom, start, end, label, name, strand) for ``dnalm finetune``.

    Returns
    -------
    DataFrame
        BED columns ``chrom``, ``start`` (0-based), ``end``, ``label``, ``name`` (``transcript_id`` of a site,
        or ``decoy``), ``strand``, plus ``gc`` and ``boundary0`` (0-based genome position of the oriented
        base at ``window // 2``); sorted by position.

    Raises
    ------
    InputError
        A missing or malformed GTF, a chromosome the GTF lacks, a GTF contig the FASTA lacks (naming the GTF
        row), fewer than half the annotated sites canonical in the FASTA (another assembly?), an odd window or
        an unknown site.

    References
    ----------
    Mount SM (1982) Nucleic Acids Res 10:459. Burset M et al. (2000) Nucleic Acids Res 28:4364.
    Dalla-Torre H et al. (2024) Nat Methods (Nucleotide Transformer splice-site task).
    """
    from .task import cached_genome
    if site not in SITES:
        raise InputError("splice_task.site", f"one of {', '.join(SITES)}", value=site)
    if window < 8 or window % 2:
        raise InputError("splice_task.window", "an even window of at least 8 bp", value=window)
    gtf = Path(gtf) if gtf is not None else BUNDLED_GTF
    genome = cached_genome(fasta)
    ann = _chrom_records(read_gtf(gtf), gtf, chrom, genome, fasta)
    chrom = str(chrom).removeprefix("chr")
    tok = LUT.astype(np.uint8)[genome.sequence(chrom)]                 # one byte per base (a chromosome is large)
    kind, (offset, dinuc) = SITES[site]
    half = window // 2
    # annotated sites: the oriented boundary base (first intron base of a donor, first exon base after an acceptor)
    sp = splice_sites(ann)
    s1, minus, tx = sp[kind][0], sp["strand"] == "-", sp["transcript_id"]   # s1: the dinucleotide's 1-based start
    if site == "donor":
        b0 = np.where(minus, s1, s1 - 1)                               # the G of GT, in transcript orientation
    else:
        b0 = np.where(minus, s1 - 2, s1 + 1)                           # the exon base after AG
    canonical = _reads(tok, b0, offset, dinuc, minus)
    if len(b0) and canonical.mean() < 0.5:
        raise InputError(gtf, f"{site} sites that read {'GT' if site == 'donor' else 'AG'} in the FASTA "
                              f"{Path(fasta).name} (only {canonical.mean():.0%} do: another assembly?)")
    every_site = np.unique(b0)                                         # for the decoys' distances (both strands)
    sites = pd.DataFrame({"b0": b0[canonical], "minus": minus[canonical], "name": tx[canonical]})
    sites = sites.sort_values(["b0", "minus", "name"]).drop_duplicates(["b0", "minus"], ignore_index=True)
    start = sites["b0"].to_numpy() - np.where(sites["minus"], half - 1, half)
    keep = (start >= 0) & (start + window <= len(tok)) & np.r_[True, np.diff(start) >= window]
    sites, start = sites[keep], start[keep]
    n_in, gc = _window_counts(tok, start, window)
    ok = n_in <= max_n
    pos = pd.DataFrame({"start": start[ok], "label": 1, "name": sites["name"].to_numpy()[ok],
                        "strand": np.where(sites["minus"].to_numpy()[ok], "-", "+"), "gc": gc[ok],
                        "boundary0": sites["b0"].to_numpy()[ok]})
    # decoys: the same dinucleotide within the same genes (a transcript of that strand covers it)
    tr = ann[ann["feature"] == "transcript"]
    if tr.empty:
        tr = ann[ann["feature"] == "exon"].groupby("transcript_id", as_index=False).agg(
            start=("start", "min"), end=("end", "max"), strand=("strand", "first"))
    rng = np.random.default_rng(seed)
    min_distance = half if min_distance is None else int(min_distance)
    cb, cm = [], []
    for m in (False, True):
        t = tr[(tr["strand"] == "-") == m]
        hits = _dinucleotide_at(tok, offset, dinuc, m)
        hits = hits[_covered(hits, t["start"].to_numpy(np.int64) - 1, t["end"].to_numpy(np.int64))]
        cb.append(hits)
        cm.append(np.full(len(hits), m))
    cb, cm = np.concatenate(cb), np.concatenate(cm)
    if len(every_site):
        j = np.searchsorted(every_site, cb)
        near = np.minimum(np.abs(cb - every_site[np.maximum(j - 1, 0)]),
                          np.abs(cb - every_site[np.minimum(j, len(every_site) - 1)]))
        cb, cm = cb[near >= min_distance], cm[near >= min_distance]
    cs = cb - np.where(cm, half - 1, half)
    inb = (cs >= 0) & (cs + window <= len(tok))
    cb, cm, cs = cb[inb], cm[inb], cs[inb]
    pick = np.sort(rng.choice(len(cs), min(n_candidates, len(cs)), replace=False))
    cb, cm, cs = cb[pick], cm[pick], cs[pick]
    n_in, cgc = _window_counts(tok, cs, window)
    fine = n_in <= max_n
    cb, cm, cs, cgc = cb[fine], cm[fine], cs[fine], cgc[fine]
    chosen = np.sort(match_gc(pos["gc"].to_numpy(), cs, cgc, ratio=ratio, gc_bin=gc_bin, window=window,
                              length=len(tok), rng=rng))
    neg = pd.DataFrame({"start": cs[chosen], "label": 0, "name": "decoy",
                        "strand": np.where(cm[chosen], "-", "+"), "gc": cgc[chosen], "boundary0": cb[chosen]})
    out = pd.concat([pos, neg], ignore_index=True).sort_values(["start", "label"], ignore_index=True)
    out.insert(0, "chrom", chrom)
    out.insert(2, "end", out["start"] + window)
    out = out[["chrom", "start", "end", "label", "name", "strand", "gc", "boundary0"]]
    if bed is not None:
        write_bed(out, bed)
    return out
