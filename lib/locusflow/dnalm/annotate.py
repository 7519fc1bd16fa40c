"""Functional annotation of variants: region class, overlapping and nearest genes, regulatory elements.

Each variant (1-based ``pos``) gets one ``region``, the first that applies in this order:

``CDS`` > ``utr5`` > ``utr3`` > ``exon`` (exon of a non-coding transcript) > ``splice_site`` (the two
intronic bases next to an exon boundary: donor/acceptor dinucleotides) > ``promoter`` (``promoter_up`` bp
upstream .. ``promoter_down`` bp downstream of a gene's TSS, strand-aware) > ``intron`` (inside a
transcript, outside its exons) > ``gene_body`` (inside a gene when the annotation has no exon records,
e.g. the bundled gene-level GENCODE table) > ``intergenic``.

The annotation is a GTF (GENCODE/Ensembl: ``gene``, ``transcript``, ``exon``, ``CDS``, ``UTR`` or
``five_prime_utr``/``three_prime_utr`` records; GENCODE ``UTR`` records are split 5'/3' by the
transcript's CDS) or a gene table (chrom start stop strand gene_id gene_name [type]). Regulatory elements
come from a BED (0-based half-open; 4th column a name, else ``chrom:start-end``), checked against the
FASTA's contigs and lengths when one is given.

All overlaps are vectorised over variants (sorted starts, running maximum of ends, searchsorted), never a
Python loop over variants.

References
----------
Frankish A et al. (2019) GENCODE reference annotation for the human and mouse genomes. NAR 47:D766.
McLaren W et al. (2016) The Ensembl Variant Effect Predictor. Genome Biol 17:122 (region classes,
splice-site and upstream windows).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .intervals import covered, overlap_pairs

REGIONS = ("CDS", "utr5", "utr3", "exon", "splice_site", "promoter", "intron", "gene_body", "intergenic")


def _open(path: Path):
    return gzip.open(path, "rt") if path.name.endswith(".gz") else open(path)


def _norm(chrom) -> pd.Series:
    return pd.Series(chrom, dtype="string").astype(str).str.removeprefix("chr")


def read_gtf(path) -> pd.DataFrame:
    """Feature records of a GTF (all types) with their gene and transcript.

    Parameters
    ----------
    path : str or Path
        ``.gtf`` or ``.gtf.gz``.

    Returns
    -------
    DataFrame
        chrom (no 'chr'), start, end (1-based inclusive), strand, feature, gene_id, gene_name,
        gene_type, transcript_id, frame (column 8: bases to the next codon start on a CDS; -1 for '.').
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "a GTF file: not found")
    df = pd.read_csv(path, sep="\t", comment="#", header=None, dtype=str, quoting=3,
                     names=["chrom", "src", "feature", "start", "end", "score", "strand", "frame", "attr"])
    if df.empty or df["attr"].isna().any():
        bad = int(df["attr"].isna().idxmax()) + 1 if len(df) else 1
        raise InputError(path, "a GTF: 9 tab-separated columns", row=bad)
    try:
        df["start"], df["end"] = df["start"].astype(np.int64), df["end"].astype(np.int64)
    except ValueError:
        raise InputError(path, "a GTF: integer start and end (columns 4, 5)") from None
    out = df[["chrom", "start", "end", "strand", "feature"]].copy()
    out["chrom"] = _norm(out["chrom"]).to_numpy()
    for k, pat in (("gene_id", "gene_id"), ("gene_name", "gene_name"), ("gene_type", "(?:gene_type|gene_biotype)"),
                   ("transcript_id", "transcript_id")):
        out[k] = df["attr"].str.extract(rf'{pat} "([^"]*)"', expand=False).to_numpy(object)
    out["gene_name"] = np.where(pd.isna(out["gene_name"]), out["gene_id"], out["gene_name"])
    out["frame"] = pd.to_numeric(df["frame"], errors="coerce").fillna(-1).astype(np.int64).to_numpy()
    return out


def read_annotation(path=None) -> pd.DataFrame:
    """Annotation records from a GTF or a gene table (default: the bundled GENCODE v18 GRCh37 genes).

    Parameters
    ----------
    path : str or Path, optional
        GTF (``.gtf[.gz]``) or gene table (columns chrom, start, stop/end, strand, gene_id, gene_name).

    Returns
    -------
    DataFrame
        As :func:`read_gtf`; a gene table gives ``gene`` records only.
    """
    if path is None:
        path = Path(__file__).resolve().parent.parent / "data" / "gencode" / "gencode_v18_grch37_protein_coding.tsv.gz"
    path = Path(path)
    if path.name.removesuffix(".gz").endswith(".gtf"):
        return read_gtf(path)
    if not path.exists():
        raise InputError(path, "a gene table or GTF: not found")
    df = pd.read_csv(path, sep="\t", dtype=str)
    df.columns = [c.lower() for c in df.columns]
    end = "stop" if "stop" in df else "end"
    for c in ("chrom", "start", end, "strand", "gene_name"):
        if c not in df:
            raise InputError(path, "a gene table with columns chrom, start, stop, strand, gene_id, gene_name", column=c)
    out = pd.DataFrame({"chrom": _norm(df["chrom"]).to_numpy(), "start": df["start"].astype(np.int64),
                        "end": df[end].astype(np.int64), "strand": df["strand"], "feature": "gene",
                        "gene_id": df.get("gene_id", df["gene_name"]), "gene_name": df["gene_name"],
                        "gene_type": df.get("type", df.get("gene_type")), "transcript_id": None})
    return out


def fasta_lengths(fasta) -> dict:
    """Contig lengths of an indexed FASTA from its ``.fai`` (names without 'chr').

    Parameters
    ----------
    fasta : str or Path
        FASTA with ``<fasta>.fai`` beside it.

    Returns
    -------
    dict
        contig -> length (bp).
    """
    fai = Path(f"{fasta}.fai")
    if not fai.exists():
        raise InputError(fasta, "an indexed FASTA (.fai beside it; samtools faidx)", value=f"{fai} missing")
    t = pd.read_csv(fai, sep="\t", header=None, usecols=[0, 1], dtype={0: str, 1: np.int64})
    return dict(zip(t[0].str.removeprefix("chr"), t[1]))


def read_bed(path, fasta=None) -> pd.DataFrame:
    """Regulatory elements from a BED, checked against the genome.

    Parameters
    ----------
    path : str or Path
        BED: chrom, start (0-based), end (exclusive), optional name.
    fasta : str or Path, optional
        Indexed FASTA: when given, every contig must be in its index and every end within the contig.

    Returns
    -------
    DataFrame
        chrom (no 'chr'), start, end (1-based inclusive), name.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "a BED file of regulatory elements: not found")
    rows = pd.read_csv(path, sep="\t", header=None, comment="#", dtype=str)
    rows = rows[~rows[0].str.startswith(("track", "browser"))].reset_index(drop=True)
    if rows.shape[1] < 3:
        raise InputError(path, "a BED with at least 3 tab-separated columns (chrom, start, end)", row=1)
    s, e = pd.to_numeric(rows[1], errors="coerce"), pd.to_numeric(rows[2], errors="coerce")
    bad = s.isna() | e.isna() | (s < 0) | (e <= s)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, "integer start >= 0 and end > start (columns 2, 3)", row=i + 1,
                         value=f"{rows.iat[i, 1]}\t{rows.iat[i, 2]}")
    chrom = _norm(rows[0])
    name = rows[3] if rows.shape[1] > 3 else chrom + ":" + rows[1] + "-" + rows[2]
    if fasta is not None:
        lengths = fasta_lengths(fasta)
        known = chrom.isin(list(lengths))
        if not known.all():
            i = int(np.flatnonzero(~known.to_numpy())[0])
            raise InputError(path, f"a contig of the FASTA {Path(fasta).name} ({', '.join(sorted(lengths)[:5])}...)",
                             row=i + 1, column="chrom", value=rows.iat[i, 0])
        over = e.to_numpy() > chrom.map(lengths).to_numpy(dtype=np.int64)
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise InputError(path, f"an end within the contig (length {lengths[chrom.iat[i]]} in {Path(fasta).name})",
                             row=i + 1, column="end", value=rows.iat[i, 2])
    return pd.DataFrame({"chrom": chrom.to_numpy(), "start": s.astype(np.int64).to_numpy() + 1,
                         "end": e.astype(np.int64).to_numpy(), "name": name.to_numpy()})


def _joined(n: int, vi: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per variant, the distinct labels of its pairs joined by ',' ('' when none)."""
    out = np.full(n, "", dtype=object)
    if len(vi):
        g = pd.DataFrame({"v": vi, "l": labels}).drop_duplicates().groupby("v", sort=True)["l"]
        j = g.agg(lambda x: ",".join(sorted(x)))
        out[j.index.to_numpy()] = j.to_numpy()
    return out


def _nearest(pos: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index and distance (0 inside) of the nearest interval to each position (-1, -1 when none)."""
    if len(start) == 0:
        return np.full(len(pos), -1), np.full(len(pos), -1)
    o = np.argsort(start, kind="stable")
    s, e = start[o], end[o]
    arg = np.arange(len(s))
    best_end = np.maximum.accumulate(e)
    # index of the interval holding the running max end (first occurrence)
    which = np.maximum.accumulate(np.where(e == best_end, arg, 0))
    i = np.searchsorted(s, pos, side="right") - 1
    left_ok = i >= 0
    li = which[np.maximum(i, 0)]
    dl = np.where(left_ok, np.maximum(pos - e[li], 0), np.iinfo(np.int64).max)
    j = i + 1
    right_ok = j < len(s)
    dr = np.where(right_ok, s[np.minimum(j, len(s) - 1)] - pos, np.iinfo(np.int64).max)
    take_left = dl <= dr
    idx = np.where(take_left, li, np.minimum(j, len(s) - 1))
    return o[idx], np.minimum(dl, dr)


def split_utrs(ann: pd.DataFrame) -> pd.DataFrame:
    """UTR records as ``utr5``/``utr3``: Ensembl ``five_prime_utr``/``three_prime_utr`` renamed, GENCODE
    ``UTR`` split by the transcript's CDS span and strand.

    Parameters
    ----------
    ann : DataFrame
        Records of :func:`read_gtf` (one or more chromosomes).

    Returns
    -------
    DataFrame
        A copy of ``ann`` whose UTR records have feature ``utr5`` or ``utr3``; other records unchanged.
    """
    ann = ann.copy()
    ann.loc[ann["feature"] == "five_prime_utr", "feature"] = "utr5"
    ann.loc[ann["feature"] == "three_prime_utr", "feature"] = "utr3"
    utr = ann["feature"] == "UTR"
    if utr.any():
        cds = ann[ann["feature"] == "CDS"].groupby("transcript_id").agg(lo=("start", "min"), hi=("end", "max"))
        u = ann.loc[utr, ["transcript_id", "start", "end", "strand"]].join(cds, on="transcript_id")
        before = (u["end"] < u["lo"]).to_numpy()
        five = np.where(u["strand"].to_numpy() == "-", ~before, before)
        ann.loc[utr, "feature"] = np.where(five, "utr5", "utr3")
    return ann


def annotate_chrom(pos, ann: pd.DataFrame, reg: pd.DataFrame | None = None, *, promoter_up: int = 1000,
                   promoter_down: int = 100) -> pd.DataFrame:
    """Annotation columns for the variants of one chromosome.

    Parameters
    ----------
    pos : array-like of int
        1-based positions.
    ann : DataFrame
        This chromosome's records of :func:`read_annotation` (UTRs already split by :func:`split_utrs`).
    reg : DataFrame, optional
        This chromosome's regulatory elements (:func:`read_bed`).
    promoter_up, promoter_down : int
        Promoter window around each gene's TSS (bp upstream, downstream).

    Returns
    -------
    DataFrame
        region, genes (overlapping gene names, ','-joined), nearest_gene, gene_distance, nearest_tss_gene,
        tss_distance (signed: negative upstream of the TSS), regulatory (names), n_regulatory.
    """
    pos = np.asarray(pos, dtype=np.int64)
    n = len(pos)

    def iv(feature):
        f = ann[ann["feature"].isin(feature if isinstance(feature, tuple) else (feature,))]
        return f["start"].to_numpy(np.int64), f["end"].to_numpy(np.int64)

    genes = ann[ann["feature"] == "gene"]
    gs, ge = genes["start"].to_numpy(np.int64), genes["end"].to_numpy(np.int64)
    plus = genes["strand"].to_numpy() != "-"
    tss = np.where(plus, gs, ge)
    ps = np.where(plus, tss - promoter_up, tss - promoter_down)
    pe = np.where(plus, tss + promoter_down, tss + promoter_up)
    exs, exe = iv("exon")
    has_exons = len(exs) > 0
    trs, tre = iv("transcript") if (ann["feature"] == "transcript").any() else (exs, exe)
    # intron splice dinucleotides: 2 bp outside each exon, inside its transcript, not exonic (checked below)
    sps = np.concatenate([exs - 2, exe + 1])
    spe = np.concatenate([exs - 1, exe + 2])
    in_ex = covered(pos, exs, exe)
    in_tr = covered(pos, trs, tre)
    tests = [("CDS", covered(pos, *iv("CDS"))), ("utr5", covered(pos, *iv("utr5"))),
             ("utr3", covered(pos, *iv("utr3"))), ("exon", in_ex),
             ("splice_site", covered(pos, sps, spe) & in_tr & ~in_ex),
             ("promoter", covered(pos, ps, pe)), ("intron", in_tr & ~in_ex),
             ("gene_body", covered(pos, gs, ge) & (not has_exons))]
    region = np.select([t for _, t in tests], [r for r, _ in tests], "intergenic")
    names = genes["gene_name"].to_numpy(object)
    vi, gi = overlap_pairs(pos, gs, ge)
    near, dist = _nearest(pos, gs, ge)
    if len(tss):
        ot = np.argsort(tss, kind="stable")
        t = tss[ot]
        k = np.clip(np.searchsorted(t, pos), 1, len(t) - 1) if len(t) > 1 else np.zeros(n, np.int64)
        cand = np.stack([k - 1, k]) if len(t) > 1 else np.stack([k, k])
        d = np.abs(t[cand] - pos)
        best = ot[cand[np.argmin(d, axis=0), np.arange(n)]]
        signed = (pos - tss[best]) * np.where(plus[best], 1, -1)
    else:
        best, signed = np.full(n, -1), np.zeros(n, np.int64)
    out = pd.DataFrame({"region": region, "genes": _joined(n, vi, names[gi]),
                        "nearest_gene": np.where(near >= 0, names[np.maximum(near, 0)] if len(names) else "", None),
                        "gene_distance": np.where(near >= 0, dist, -1).astype(np.int64),
                        "nearest_tss_gene": np.where(best >= 0, names[np.maximum(best, 0)] if len(names) else "", None),
                        "tss_distance": signed.astype(np.int64)})
    if reg is not None and len(reg):
        ri, rj = overlap_pairs(pos, reg["start"].to_numpy(np.int64), reg["end"].to_numpy(np.int64))
        out["regulatory"] = _joined(n, ri, reg["name"].to_numpy(object)[rj])
        out["n_regulatory"] = np.bincount(ri, minlength=n).astype(np.int64)
    else:
        out["regulatory"], out["n_regulatory"] = "", np.zeros(n, np.int64)
    return out


def annotate_variants(variants: pd.DataFrame, annotation=None, regulatory=None, *, fasta=None,
                      promoter_up: int = 1000, promoter_down: int = 100) -> pd.DataFrame:
    """Functional annotation of variants (schema ``variant_annotation``).

    Parameters
    ----------
    variants : DataFrame
        chrom, pos and (optionally) variant_id, plus any score columns kept alongside (llr).
    annotation : str or Path or DataFrame, optional
        GTF or gene table (default: bundled GENCODE v18 GRCh37 protein-coding genes).
    regulatory : str or Path, optional
        BED of regulatory elements (checked against ``fasta`` when given).
    fasta : str or Path, optional
        Indexed FASTA the BED is checked against (contigs, lengths).
    promoter_up, promoter_down : int
        Promoter window around each TSS (bp upstream, downstream).

    Returns
    -------
    DataFrame
        variant_id, chrom, pos, region, genes, nearest_gene, gene_distance, nearest_tss_gene, tss_distance,
        regulatory, n_regulatory, and llr when the input has it.

    References
    ----------
    McLaren W et al. (2016) The Ensembl Variant Effect Predictor. Genome Biol 17:122.
    """
    ann = annotation if isinstance(annotation, pd.DataFrame) else read_annotation(annotation)
    ann = split_utrs(ann)
    if "gene" not in set(ann["feature"]):     # a GTF without gene records: spans of its transcripts/exons
        g = ann.groupby(["chrom", "gene_id"], as_index=False).agg(
            start=("start", "min"), end=("end", "max"), strand=("strand", "first"), gene_name=("gene_name", "first"))
        ann = pd.concat([ann, g.assign(feature="gene")], ignore_index=True)
    reg = None
    if regulatory is not None:
        reg = read_bed(regulatory, fasta)
    v = variants.reset_index(drop=True)
    chrom = _norm(v["chrom"]).to_numpy()
    vid = v["variant_id"] if "variant_id" in v else (pd.Series(chrom) + ":" + v["pos"].astype(str))
    parts = []
    for c in pd.unique(chrom):
        idx = np.flatnonzero(chrom == c)
        a = annotate_chrom(v["pos"].to_numpy(np.int64)[idx], ann[ann["chrom"] == c],
                           None if reg is None else reg[reg["chrom"] == c],
                           promoter_up=promoter_up, promoter_down=promoter_down)
        a.index = idx
        parts.append(a)
    body = pd.concat(parts).sort_index() if parts else annotate_chrom([], ann.iloc[:0])
    out = pd.DataFrame({"variant_id": vid.astype(str).to_numpy(), "chrom": chrom,
                        "pos": v["pos"].to_numpy(np.int64)})
    out = pd.concat([out, body.reset_index(drop=True)], axis=1)
    if "llr" in v:
        out["llr"] = v["llr"].to_numpy(np.float64)
    return out
