"""Sequence windows around variants from an indexed FASTA, with the REF allele checked against it.

Bases are tokens ``A C G T N`` = 0..4 and :data:`MASK` = 5 (the single-nucleotide vocabulary of GPN).
A window of length ``L`` around a variant at 1-based ``pos`` covers ``pos - L//2 .. pos - L//2 + L - 1``
with the variant at index ``L // 2`` (odd ``L``: the centre, also on the reverse complement); positions beyond the chromosome are ``N``. Chromosome names come
from the FASTA index (``chr`` prefix optional), so any species' genome works.

Each variant is classed before scoring (column ``status``): ``ok`` (SNV whose ``ref`` is the genome's
base), ``swapped`` (the genome carries ``alt``: with ``swapped=True`` the variant is scored in the
genome's orientation, ref and alt exchanged; else it is a ``ref_mismatch``), ``ref_mismatch`` (the
genome carries neither allele), ``not_in_genome`` (beyond the end of the chromosome),
``contig_absent``, ``indel`` (not a single-nucleotide substitution, its ``ref`` the genome's sequence:
the LLR of a single-nucleotide masked LM is undefined for it; tokenised models score it by embedding
distance and pseudo-log-likelihood), ``bad_allele`` (not one of A, C, G, T).

References
----------
Benegas G, Batra SS, Song YS (2023) DNA language models are powerful predictors of genome-wide variant
effects. PNAS 120:e2311219120 (GPN; windows centred on the variant, masked site).
Li H et al. (2009) The Sequence Alignment/Map format and SAMtools (faidx). Bioinformatics 25:2078.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.fasta import Genome, classify_ref

MASK = 5
N_TOKEN = 4
VOCAB = ("A", "C", "G", "T", "N", "[MASK]")
LUT = np.full(256, N_TOKEN, dtype=np.int64)
for _i, _b in enumerate("ACGT"):
    LUT[ord(_b)] = LUT[ord(_b.lower())] = _i
COMPLEMENT = np.array([3, 2, 1, 0, 4, 5], dtype=np.int64)   # A<->T, C<->G, N, MASK
STATUSES = ("ok", "swapped", "ref_mismatch", "not_in_genome", "contig_absent", "indel", "bad_allele")


def encode(seq) -> np.ndarray:
    """Tokens (int64) of a byte string or uint8 array (either case; anything not ACGT is N).

    Parameters
    ----------
    seq : bytes or bytearray or array-like of uint8
        ASCII bases.

    Returns
    -------
    ndarray of int64
        Tokens ``A C G T N`` = 0..4, same shape as ``seq``.
    """
    arr = np.frombuffer(seq, dtype=np.uint8) if isinstance(seq, (bytes, bytearray)) else np.asarray(seq)
    return LUT[arr]


def reverse_complement(tokens: np.ndarray) -> np.ndarray:
    """Reverse complement of token windows along the last axis (N and MASK stay).

    Parameters
    ----------
    tokens : ndarray of int
        Token windows, any shape; the last axis is the sequence.

    Returns
    -------
    ndarray of int64
        Same shape: bases complemented and the last axis reversed (a view of a new array).
    """
    return COMPLEMENT[np.asarray(tokens)][..., ::-1]


def variant_status(chrom, pos, ref, alt, genome: Genome, *, swapped: bool = False) -> np.ndarray:
    """Status of each variant (module docstring), REF checked against ``genome``.

    Parameters
    ----------
    chrom, pos, ref, alt : array-like
        Variants (1-based ``pos``; alleles upper case).
    genome : locusflow.io.fasta.Genome
    swapped : bool
        An SNV whose ``alt`` is the genome's base is ``swapped`` (else ``ref_mismatch``).

    Returns
    -------
    ndarray of object
        One of :data:`STATUSES` per variant.
    """
    ref = pd.Series(ref).astype(str).str.upper().to_numpy()
    alt = pd.Series(alt).astype(str).str.upper().to_numpy()
    cls = classify_ref(chrom, pos, ref, alt, genome)
    out = np.where(cls == "genome_ref", "ok", np.where(np.isin(cls, ["genome_alt", "neither"]), "ref_mismatch", cls))
    out = out.astype(object)
    snv = (pd.Series(ref).str.len().to_numpy() == 1) & (pd.Series(alt).str.len().to_numpy() == 1)
    acgt = pd.Series(ref).str.fullmatch("[ACGT]+").to_numpy() & pd.Series(alt).str.fullmatch("[ACGT]+").to_numpy()
    if swapped:
        out[snv & (cls == "genome_alt")] = "swapped"
    out[~acgt] = "bad_allele"
    out[acgt & ~snv & (cls == "genome_ref")] = "indel"
    return out


def windows(genome: Genome, chrom: str, pos, length: int) -> np.ndarray:
    """Token windows of ``length`` around each 1-based ``pos`` of one chromosome (site at ``length // 2``).

    Parameters
    ----------
    genome : locusflow.io.fasta.Genome
    chrom : str
        Chromosome (as in the FASTA index, with or without ``chr``).
    pos : array-like of int
        1-based positions; the variant sits at index ``length // 2``.
    length : int
        Window length.

    Returns
    -------
    ndarray of int64, shape (n, length)
    """
    seq = genome.sequence(chrom)
    pos = np.asarray(pos, dtype=np.int64)
    idx = (pos - 1 - length // 2)[:, None] + np.arange(length)[None, :]
    inside = (idx >= 0) & (idx < len(seq))
    tok = LUT[seq[np.clip(idx, 0, len(seq) - 1)]]
    tok[~inside] = N_TOKEN
    return tok
