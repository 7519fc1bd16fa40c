"""Sequence features at a gene's TSS from a DNA language model, for the reference genome and for each
individual's own haplotypes.

A gene's feature vector is the DNA LM's last hidden layer averaged over the positions of the window of
``length`` bases centred on its TSS, averaged again over the forward strand and the reverse complement
(so it does not depend on the strand the gene is read from): the single-nucleotide model's analogue of
the Enformer tracks at the TSS that scPrediXcan's ctPred reads.

Personal sequences (scPrediXcan's l-ctPred; the Im lab's personalised Enformer pipeline): each haplotype's
window is the reference window with the haplotype's alternative alleles substituted at the SNVs inside
it. Only SNVs whose ``ref`` is the genome's base are substituted (others counted and left at the
reference), and a missing call keeps the reference base. Haplotypes are the store's calls: phased when
the source VCF was phased, otherwise (PLINK input) the sorted calls, an arbitrary phase (a heterozygote's
alt on the second haplotype). Identical haplotypes share one window, so a gene costs one forward pass per
distinct haplotype, not per individual.

References
----------
Zhou Y et al. (2025) Cell Genomics 5:100875 (scPrediXcan: Enformer features at the TSS; personalised
features of the reference individuals for l-ctPred).
Benegas G, Batra SS, Song YS (2023) PNAS 120:e2311219120 (GPN: single-nucleotide masked DNA LM).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .windows import LUT, reverse_complement, windows


def window_embeddings(model, tokens: np.ndarray, *, batch_size: int = 64, both_strands: bool = True,
                      device=None) -> np.ndarray:
    """Mean over positions of the last hidden layer of each token window (module docstring).

    Parameters
    ----------
    model : transformers model
        A DNA LM that returns ``hidden_states`` with ``output_hidden_states=True`` (the shipped
        :func:`locusflow.dnalm.model.load_model`, GPN, ...).
    tokens : numpy.ndarray of int, (n, L)
        Token windows (:func:`locusflow.dnalm.windows.windows`).
    batch_size : int
        Windows per forward pass.
    both_strands : bool
        Average with the reverse complement's embedding.
    device : str, optional
        [the model's device].

    Returns
    -------
    numpy.ndarray of float64, (n, hidden)
    """
    import torch
    device = device or next(model.parameters()).device
    tokens = np.asarray(tokens)
    views = (tokens, reverse_complement(tokens)) if both_strands else (tokens,)
    acc = None
    with torch.inference_mode():
        for view in views:                                   # one or two strands
            parts = []
            for s in range(0, len(view), batch_size):        # batches of windows
                ids = torch.from_numpy(np.ascontiguousarray(view[s:s + batch_size])).to(device)
                last = model(input_ids=ids, output_hidden_states=True).hidden_states[-1]
                parts.append(last.float().mean(dim=1).double().cpu().numpy())
            emb = np.concatenate(parts) if parts else np.zeros((0, model.config.hidden_size))
            acc = emb if acc is None else acc + emb
    return acc / len(views)


def tss_features(model, genome, chrom: str, tss, length: int = 1025, **kw) -> np.ndarray:
    """DNA-LM features of the reference window centred on each TSS of one chromosome.

    Parameters
    ----------
    model : transformers model
        As :func:`window_embeddings`.
    genome : locusflow.io.fasta.Genome
        The reference.
    chrom : str
        Chromosome of the genes.
    tss : array-like of int
        1-based TSS positions.
    length : int
        Window length (odd: the TSS at the centre).
    **kw
        Passed to :func:`window_embeddings`.

    Returns
    -------
    numpy.ndarray of float64, (genes, hidden)
    """
    return window_embeddings(model, windows(genome, chrom, np.asarray(tss), length), **kw)


def personal_windows(genome, chrom: str, centre: int, length: int, variants, haplotypes: np.ndarray):
    """Each haplotype's window around ``centre``: the reference with its alt alleles substituted.

    Parameters
    ----------
    genome : locusflow.io.fasta.Genome
        The reference.
    chrom : str
        Chromosome.
    centre : int
        1-based centre (the TSS).
    length : int
        Window length.
    variants : pandas.DataFrame
        The store's variants in the window: ``pos``, ``ref``, ``alt`` (one row per row of ``haplotypes``).
    haplotypes : numpy.ndarray of int8, (variants, 2 * individuals)
        Allele index per haplotype (0 ref, 1 alt, -1 missing), individual i at columns 2i, 2i + 1
        (:meth:`locusflow.io.genotypes.GenotypeStore.haplotypes`).

    Returns
    -------
    tokens : numpy.ndarray of int64, (distinct haplotypes, length)
        The distinct windows; row 0 is the reference when some haplotype carries no alt.
    index : numpy.ndarray of int64, (individuals, 2)
        Row of ``tokens`` of each individual's two haplotypes.
    report : dict
        ``substituted`` (SNVs used), ``ref_mismatch`` (SNVs whose ref is not the genome's base),
        ``not_snv`` (indels and other alleles, left at the reference).
    """
    ref_window = windows(genome, chrom, np.array([centre]), length)[0]
    start = centre - length // 2
    off = variants["pos"].to_numpy(np.int64) - start
    ref = variants["ref"].astype(str).str.upper().to_numpy()
    alt = variants["alt"].astype(str).str.upper().to_numpy()
    snv = (np.char.str_len(ref.astype(str)) == 1) & (np.char.str_len(alt.astype(str)) == 1) & \
        np.isin(ref, list("ACGT")) & np.isin(alt, list("ACGT"))
    inside = (off >= 0) & (off < length)
    ref_tok = LUT[np.array([ord(r[0]) for r in ref], dtype=np.int64)] if len(ref) else np.zeros(0, np.int64)
    genome_ok = np.zeros(len(off), bool)
    genome_ok[inside] = ref_window[off[inside]] == ref_tok[inside]
    use = inside & snv & genome_ok
    alleles = (np.asarray(haplotypes)[use] == 1).T                   # [haplotypes, used SNVs]
    if use.any():
        uniq, inv = np.unique(alleles, axis=0, return_inverse=True)
    else:                                                            # every haplotype is the reference
        uniq, inv = np.zeros((1, 0), bool), np.zeros(alleles.shape[0], np.int64)
    tokens = np.repeat(ref_window[None, :], len(uniq), axis=0)
    alt_tok = LUT[np.array([ord(a[0]) for a in alt[use]], dtype=np.int64)] if use.any() else np.zeros(0, np.int64)
    rows, cols = np.nonzero(uniq)
    tokens[rows, off[use][cols]] = alt_tok[cols]
    report = {"substituted": int(use.sum()), "ref_mismatch": int((inside & snv & ~genome_ok).sum()),
              "not_snv": int((inside & ~snv).sum())}
    return tokens, np.asarray(inv).reshape(-1, 2), report


def gene_tss(genes: pd.DataFrame, source="genes") -> pd.DataFrame:
    """gene, gene_name, chrom, tss of a gene table: ``tss`` as given, else ``start`` (+ strand) or ``stop``
    (- strand) of the gene body.

    Parameters
    ----------
    genes : pandas.DataFrame
        ``gene`` or ``gene_id``; ``chrom``; ``tss`` or ``start``, ``stop``/``end`` and ``strand``; optional
        ``gene_name``.
    source : str or Path
        Named in error messages.

    Returns
    -------
    pandas.DataFrame
        One row per gene (chrom without "chr"); duplicated gene ids keep their first row.
    """
    g = genes.rename(columns={"gene_id": "gene", "end": "stop"}) if "gene" not in genes else genes
    g = g.rename(columns={"end": "stop"})
    for col in ("gene", "chrom"):
        if col not in g:
            raise InputError(source, f"a '{col}' column (gene table: gene, chrom, tss or start/stop/strand)",
                             column=col, value=list(genes.columns))
    if "tss" not in g:
        if not {"start", "stop", "strand"} <= set(g.columns):
            raise InputError(source, "a 'tss' column, or 'start', 'stop' and 'strand'", value=list(genes.columns))
        g = g.assign(tss=np.where(g["strand"].astype(str) == "-", g["stop"], g["start"]))
    out = pd.DataFrame({"gene": g["gene"].astype(str), "gene_name": g.get("gene_name", g["gene"]).astype(str),
                        "chrom": g["chrom"].astype(str).str.replace("^chr", "", regex=True),
                        "tss": pd.to_numeric(g["tss"], errors="coerce")})
    if out["tss"].isna().any():
        r = int(np.flatnonzero(out["tss"].isna().to_numpy())[0])
        raise InputError(source, "an integer TSS position", row=r + 1, column="tss")
    return out.astype({"tss": np.int64}).drop_duplicates("gene").reset_index(drop=True)
