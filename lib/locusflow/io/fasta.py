"""`ref` against the reference genome: which allele of each variant the genome carries.

In locusflow ``ref`` is the non-effect allele of a variant as its source defines it: the VCF REF
(the genome's base by the VCF specification), PLINK's A2 (bim column 6: the major allele for files
written by plink 1.9 without --keep-allele-order, so *not* always the genome's base), or the other
allele of a GWAS file. Given a FASTA (bgzip + .fai/.gzi, or plain + .fai; read with pysam), each
variant is classed:

====================  =====================================================================
``genome_ref``        the genome has ``ref`` at pos..pos+len(ref)-1
``genome_alt``        the genome has ``alt`` there instead (ref and alt swapped vs the genome)
``neither``           the genome has neither allele (wrong build, strand, or a bad row)
``not_in_genome``     position beyond the end of its chromosome in the FASTA
``contig_absent``     chromosome absent from the FASTA (not checked; a FASTA of some chromosomes)
====================  =====================================================================

Everything is vectorised per chromosome: the sequence is read once as a byte array and alleles are
compared as fixed-width byte matrices (no loop over variants).

References
----------
Danecek P et al. (2011) The variant call format and VCFtools. Bioinformatics 27:2156 (REF = genome base).
Li H et al. (2009) The Sequence Alignment/Map format and SAMtools (faidx). Bioinformatics 25:2078.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..errors import InputError

CLASSES = np.array(["genome_ref", "genome_alt", "neither", "not_in_genome", "contig_absent"], dtype=object)


class Genome:
    """Whole-chromosome access to an indexed FASTA (one chromosome held at a time)."""

    def __init__(self, path):
        import pysam
        self.path = storage.local_file(path, siblings=(".fai", ".gzi"))    # a URI: cached copy with its index
        if not self.path.exists():
            raise InputError(self.path, "a FASTA file (bgzip or plain) with its .fai index")
        if not Path(f"{self.path}.fai").exists():
            raise InputError(self.path, "a .fai index beside the FASTA (samtools faidx)", value=f"{self.path}.fai missing")
        try:
            self._fa = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise InputError(self.path, f"an indexed FASTA readable by htslib ({exc})") from None
        self.contigs = {c.removeprefix("chr"): c for c in self._fa.references}
        self._cached: tuple[str, np.ndarray] | None = None

    def contig_length(self, chrom: str) -> int | None:
        """Length (bp) of ``chrom`` (with or without 'chr') from the index; None if absent."""
        name = self.contigs.get(str(chrom).removeprefix("chr"))
        return None if name is None else int(self._fa.get_reference_length(name))

    def sequence(self, chrom: str) -> np.ndarray | None:
        """Upper-case bases of ``chrom`` (with or without 'chr') as a uint8 array; None if absent."""
        name = self.contigs.get(str(chrom).removeprefix("chr"))
        if name is None:
            return None
        if self._cached is None or self._cached[0] != name:
            seq = self._fa.fetch(name).upper().encode("ascii")
            self._cached = (name, np.frombuffer(seq, dtype=np.uint8))
        return self._cached[1]


def _matches(seq: np.ndarray, start0: np.ndarray, alleles: np.ndarray) -> np.ndarray:
    """Genome bases at start0.. equal each allele (vectorised over rows, padded byte matrix)."""
    width = max(1, int(pd.Series(alleles).str.len().max()))
    mat = np.asarray(alleles, dtype=f"S{width}").view(np.uint8).reshape(len(alleles), width)
    length = (mat != 0).sum(1)
    idx = start0[:, None] + np.arange(width)[None, :]
    inside = idx < len(seq)
    got = seq[np.clip(idx, 0, len(seq) - 1)]
    use = np.arange(width)[None, :] < length[:, None]
    return ((got == mat) | ~use).all(1) & (inside | ~use).all(1) & (length > 0)


def classify_ref(chrom, pos, ref, alt, genome: Genome) -> np.ndarray:
    """Class of each variant against the genome (module docstring).

    Parameters
    ----------
    chrom : array-like of str
        Chromosomes, with or without ``chr`` (matched to the FASTA contigs with the prefix dropped).
    pos : array-like of int
        1-based positions.
    ref, alt : array-like of str
        Upper-case alleles.
    genome : Genome
        The reference genome FASTA (:class:`Genome`).

    Returns
    -------
    ndarray of object
        One of :data:`CLASSES` per variant.
    """
    chrom = pd.Series(chrom).astype(str).to_numpy()
    pos = np.asarray(pos, dtype=np.int64)
    ref = pd.Series(ref).astype(str).to_numpy()
    alt = pd.Series(alt).astype(str).to_numpy()
    out = np.full(len(pos), "not_in_genome", dtype=object)
    for c in pd.unique(chrom):
        seq = genome.sequence(c)
        if seq is None:
            out[chrom == c] = "contig_absent"
            continue
        rows = np.flatnonzero((chrom == c) & (pos >= 1) & (pos <= len(seq)))
        for s in range(0, len(rows), 1 << 20):            # bounded memory: 1M variants at a time
            r = rows[s:s + (1 << 20)]
            is_ref, is_alt = _matches(seq, pos[r] - 1, ref[r]), _matches(seq, pos[r] - 1, alt[r])
            out[r] = CLASSES[np.where(is_ref, 0, np.where(is_alt, 1, 2))]
    return out


def orient_to_genome(kept: pd.DataFrame, genome: Genome, *, fix: bool):
    """Check ``ref`` of munged rows against the genome; with ``fix``, make ``ref`` the genome's allele.

    Parameters
    ----------
    kept : DataFrame
        Munged rows: chrom, pos, ref, alt, variant_id, z, beta, af (alt = effect allele).
    genome : Genome
        The reference genome FASTA (:class:`Genome`).
    fix : bool
        True when no genotype reference defined the alleles: ``genome_alt`` rows are swapped (ref <-> alt,
        z and beta negated, af -> 1 - af; the caller rebuilds variant_id) and ``neither`` / ``not_in_genome`` rows are
        dropped. False when a genotype panel defined them: only counted (the panel's variant_id must
        keep joining its genotypes).

    Returns
    -------
    kept : DataFrame
    reasons : ndarray of object
        Per row of the input ``kept``: None, ``ref_not_genome`` (neither allele is the genome's) or
        ``not_in_genome``; all None when ``fix`` is False.
    counts : dict
        Rows per class of :data:`CLASSES`.
    """
    cls = classify_ref(kept["chrom"], kept["pos"], kept["ref"], kept["alt"], genome)
    counts = {k: int(v) for k, v in pd.Series(cls).value_counts().items()}
    reasons = np.full(len(kept), None, dtype=object)
    if not fix:
        return kept, reasons, counts
    swap = cls == "genome_alt"
    if swap.any():
        kept = kept.copy()
        ref, alt = kept["ref"].copy(), kept["alt"].copy()
        kept["ref"], kept["alt"] = ref.where(~swap, alt), alt.where(~swap, ref)
        for c in ("z", "beta"):
            if c in kept:
                kept[c] = np.where(swap, -kept[c].to_numpy(), kept[c].to_numpy())
        if "af" in kept:
            kept["af"] = np.where(swap, 1.0 - kept["af"].to_numpy(), kept["af"].to_numpy())
    reasons[cls == "neither"] = "ref_not_genome"
    reasons[cls == "not_in_genome"] = "not_in_genome"
    return kept, reasons, counts
