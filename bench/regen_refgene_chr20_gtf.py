"""Regenerate lib/locusflow/data/annotation/refgene_hg19_chr20.gtf.gz: UCSC refGene (hg19) chr20 as a GTF.

Source: the UCSC Genome Browser ``refGene`` table for hg19 (RefSeq transcripts aligned to GRCh37 by UCSC),
as committed in GitHub vladsavelyev/bed_annotation, ``bed_annotation/refseq/hg19/refGene.txt.gz``
(commit 8970e9c0713db315822da9823f76cedab1f72cff, 2018-08-22). Fetch that one file, then::

    python bench/regen_refgene_chr20_gtf.py refGene.txt.gz lib/locusflow/data/annotation/refgene_hg19_chr20.gtf.gz

Conversion (the conventions of UCSC ``genePredToGtf`` and of GENCODE/Ensembl GTFs): refGene's 0-based
half-open ``txStart``/``exonStarts`` become 1-based inclusive; per transcript one ``transcript`` record, one
``exon`` per exon, ``CDS`` on the coding part of each exon **without the stop codon** (as GENCODE), with the
GTF frame (bases to skip at the feature's 5' end to reach a codon start) = (3 - refGene ``exonFrames``) mod 3
(as ``genePredToGtf``; it equals the frame from the coding length upstream in transcript order on 99.3% of
coding exons of chr20, the rest being transcripts whose alignment to hg19 has gaps); ``start_codon`` / ``stop_codon`` (split when they span an intron) when refGene's
``cdsStartStat``/``cdsEndStat`` (strand-aware) is ``cmpl``; ``five_prime_utr`` / ``three_prime_utr`` on the
exonic bases outside the CDS. Attributes: gene_id and gene_name = refGene ``name2``, transcript_id = ``name``
(suffixed ``_dupN`` for the N-th extra alignment of the same accession), gene_type = protein_coding (NM_) or
ncRNA (NR_). The script prints how many coding exons' ``exonFrames`` equal the frame from the upstream
coding length.
"""
from __future__ import annotations

import gzip
import sys

import numpy as np
import pandas as pd

COLS = ["bin", "name", "chrom", "strand", "txStart", "txEnd", "cdsStart", "cdsEnd", "exonCount", "exonStarts",
        "exonEnds", "score", "name2", "cdsStartStat", "cdsEndStat", "exonFrames"]


def _runs(pos: list[int]) -> list[tuple[int, int]]:
    """Sorted 1-based positions -> contiguous (start, end) runs."""
    out = []
    for p in sorted(pos):
        if out and p == out[-1][1] + 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


def transcript_records(t) -> tuple[list, int, int]:
    """GTF rows (chrom, feature, start, end, strand, frame) of one refGene row; frame checks (agree, total)."""
    s = [int(x) + 1 for x in t.exonStarts.rstrip(",").split(",")]
    e = [int(x) for x in t.exonEnds.rstrip(",").split(",")]
    fr = [int(x) for x in t.exonFrames.rstrip(",").split(",")]
    plus = t.strand == "+"
    rows = [("transcript", t.txStart + 1, t.txEnd, ".")] + [("exon", a, b, ".") for a, b in zip(s, e)]
    agree = total = 0
    if t.cdsStart >= t.cdsEnd:
        return rows, agree, total
    c0, c1 = t.cdsStart + 1, t.cdsEnd                     # CDS incl. the stop codon, 1-based inclusive
    order = range(len(s)) if plus else range(len(s) - 1, -1, -1)
    coding = [(i, max(s[i], c0), min(e[i], c1)) for i in order if max(s[i], c0) <= min(e[i], c1)]
    tx_coding = [p for _, a, b in coding for p in (range(a, b + 1) if plus else range(b, a - 1, -1))]
    start_ok = (t.cdsStartStat if plus else t.cdsEndStat) == "cmpl"
    stop_ok = (t.cdsEndStat if plus else t.cdsStartStat) == "cmpl"
    stop = set(tx_coding[-3:]) if stop_ok and len(tx_coding) >= 6 else set()
    done = fr[coding[0][0]] if fr[coding[0][0]] >= 0 else 0   # phase of the first coding base (0 when complete)
    for i, a, b in coding:
        total += 1
        agree += int(fr[i] == done % 3)
        keep = [p for p in range(a, b + 1) if p not in stop]
        frame = (3 - (fr[i] if fr[i] >= 0 else done) % 3) % 3    # refGene's frame (alignment gaps included)
        rows += [("CDS", x, y, str(frame)) for x, y in _runs(keep)]
        done += b - a + 1
    if start_ok:
        rows += [("start_codon", x, y, ".") for x, y in _runs(tx_coding[:3])]
    rows += [("stop_codon", x, y, ".") for x, y in _runs(sorted(stop))]
    for a, b in zip(s, e):
        left = [p for p in range(a, min(b, c0 - 1) + 1)]
        right = [p for p in range(max(a, c1 + 1), b + 1)]
        for side, ps in (("left", left), ("right", right)):
            five = (side == "left") == plus
            rows += [("five_prime_utr" if five else "three_prime_utr", x, y, ".") for x, y in _runs(ps)]
    return rows, agree, total


def convert(src: str, dest: str, chrom: str = "chr20") -> dict:
    """Write the GTF of ``chrom``'s refGene transcripts; returns counts."""
    df = pd.read_csv(src, sep="\t", header=None, names=COLS, dtype={"chrom": str})
    df = df[df["chrom"] == chrom].sort_values(["txStart", "name"]).reset_index(drop=True)
    dup = df.groupby("name").cumcount().to_numpy()
    lines, agree, total = [], 0, 0
    for k, t in enumerate(df.itertuples()):
        tid = t.name + (f"_dup{dup[k]}" if dup[k] else "")
        kind = "protein_coding" if t.name.startswith("NM_") else "ncRNA"
        attr = f'gene_id "{t.name2}"; transcript_id "{tid}"; gene_name "{t.name2}"; gene_type "{kind}";'
        rows, a, n = transcript_records(t)
        agree, total = agree + a, total + n
        lines += [f"{chrom}\trefGene\t{f}\t{x}\t{y}\t.\t{t.strand}\t{fr}\t{attr}" for f, x, y, fr in rows]
    header = ["##description: UCSC refGene (hg19) chr20 as GTF; made by bench/regen_refgene_chr20_gtf.py",
              "##source: github.com/vladsavelyev/bed_annotation bed_annotation/refseq/hg19/refGene.txt.gz"]
    with gzip.open(dest, "wt", compresslevel=9) as fh:
        fh.write("\n".join(header + lines) + "\n")
    feats = pd.Series([ln.split("\t")[2] for ln in lines]).value_counts().to_dict()
    return {"transcripts": len(df), "records": len(lines), "frames_agree": f"{agree}/{total}", **feats}


if __name__ == "__main__":
    print(convert(*sys.argv[1:3]))
