"""Allele harmonisation of GWAS summary statistics to a reference variant table.

For each GWAS row (effect allele ``a1``, other ``a2``) and reference variant (``ref``, ``alt``) at the
same chrom:pos (or the same rsid when the GWAS has no positions), with ``c(x)`` the reverse complement:

=================  =====================================  ==================================
case               test                                   action
=================  =====================================  ==================================
same               a1 = alt, a2 = ref                     keep
swapped            a1 = ref, a2 = alt                     z, beta -> -z, -beta; af -> 1 - af
strand flip        c(a1) = alt, c(a2) = ref               keep (alleles complemented)
swapped + flip     c(a1) = ref, c(a2) = alt               negate, 1 - af
ambiguous          a1 = c(a2) (A/T, C/G)                  resolved by allele frequency, else dropped
no allele match    none of the above                      dropped: ``allele_mismatch``
no variant         nothing at chrom:pos (rsid)            dropped: ``not_in_reference``
=================  =====================================  ==================================

Strand-ambiguous SNPs cannot tell "same" from "swapped + flip". When the GWAS effect-allele
frequency and the reference alt frequency are both known and outside the window ``[lo, hi]``
(default 0.4-0.6, as in ldsc/MungeSumstats practice of dropping ambiguous SNPs near MAF 0.5), the
orientation whose frequencies agree about which allele is the major one is taken; otherwise the
SNP is dropped (``strand_ambiguous``). This is the rule of MungeSumstats ``check_strand_ambiguous``
/ TwoSampleMR ``harmonise_data`` (action 2) with an explicit frequency window.

Everything is vectorised: alleles are factorised jointly to integer codes, so the comparisons and
the complement are integer array lookups; variants join on one int64 key (chrom code, pos).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


from .. import storage
from ..errors import InputError
from .variant_id import STR, variant_ids


_COMP = str.maketrans("ACGTN", "TGCAN")


def reverse_complement(allele: str) -> str:
    """Reverse complement of an allele (A<->T, C<->G, N kept; other characters unchanged).

    Parameters
    ----------
    allele : str
        Upper-case allele, e.g. ``"ACG"``.

    Returns
    -------
    str
        The complemented allele read backwards, e.g. ``"CGT"``.
    """
    return allele.translate(_COMP)[::-1]


def load_reference(ref) -> pd.DataFrame:
    """A reference variant table from a frame, a genotype store (.vcz), a variants dataset, a PLINK
    prefix/.bim or a tab-separated file with chrom pos ref alt [rsid af variant_id] columns.

    A PLINK .bim gives ref = A2, alt = A1. Chromosome names lose a ``chr`` prefix and go through
    :data:`locusflow.io.sumstats.CHROM_ALIASES`; alleles are upper-cased.

    Parameters
    ----------
    ref : pandas.DataFrame or str or pathlib.Path
        A frame with chrom pos ref alt columns, a genotype store directory (holding ``locusflow.json``),
        a ``variants`` dataset directory, a PLINK prefix or ``.bim`` file, or a TSV file.

    Returns
    -------
    pandas.DataFrame
        Columns chrom (string), pos (int64), ref, alt (upper-case strings), variant_id (built as
        ``chrom:pos:ref:alt`` when absent) and any of rsid, af, genome_build found in the input;
        a fresh 0..n-1 index.

    Raises
    ------
    InputError
        When the path is none of the accepted kinds, or the table lacks any of chrom, pos, ref, alt.
    """
    if isinstance(ref, pd.DataFrame):
        df = ref
    else:
        p = storage.as_path(ref)
        if (p / "locusflow.json").exists():
            from .genotypes import reference_table
            df = reference_table(p)
        elif p.is_dir():
            from .dataset import read_dataset
            df = read_dataset(p, "variants")
        elif p.suffix == ".bim" or storage.exists(f"{storage.uri(p)}.bim"):
            from .plink import read_bim
            b = read_bim(storage.local_prefix(str(p)[:-4] if p.suffix == ".bim" else p, (".bim",)))
            df = pd.DataFrame({"chrom": b["chrom"], "pos": b["pos"], "ref": b["a2"], "alt": b["a1"],
                               "rsid": b["rsid"]})
        elif p.exists():
            df = pd.read_csv(storage.uri(p), sep="\t", dtype={"chrom": str, "ref": str, "alt": str, "rsid": str})
        else:
            raise InputError(p, "a reference: genotype store (.vcz), variants dataset, PLINK prefix or TSV")
    missing = [c for c in ("chrom", "pos", "ref", "alt") if c not in df]
    if missing:
        raise InputError(getattr(ref, "name", ref if not isinstance(ref, pd.DataFrame) else "reference"),
                         f"reference columns chrom, pos, ref, alt; missing {missing}; found {list(df.columns)}")
    from .sumstats import CHROM_ALIASES
    chrom = df["chrom"].astype(STR)
    if chrom.str.startswith(("chr", "CHR", "Chr")).any():
        chrom = chrom.str.replace("^(chr|CHR|Chr)", "", regex=True)
    if chrom.isin(list(CHROM_ALIASES)).any():
        chrom = chrom.replace(CHROM_ALIASES)
    out = pd.DataFrame({"chrom": chrom,
                        "pos": df["pos"].astype(np.int64),
                        "ref": df["ref"].astype(STR).str.upper(), "alt": df["alt"].astype(STR).str.upper()})
    for c in ("variant_id", "rsid", "af", "genome_build"):
        if c in df:
            out[c] = df[c].array if isinstance(df[c].dtype, pd.StringDtype) else df[c].to_numpy()
    if "variant_id" not in out:
        out["variant_id"] = variant_ids(out["chrom"], out["pos"], out["ref"], out["alt"])
    return out.reset_index(drop=True)


def factorize_strings(*cols):
    """Joint integer codes of string columns (one code space for all of them).

    Parameters
    ----------
    *cols : array-like of str
        Columns to encode together (missing values allowed).

    Returns
    -------
    codes : list of ndarray of int
        One code array per column; a missing value gets the code ``len(uniques)``.
    uniques : list of str
        The distinct values in code order, then "" for the missing code.
    """
    ser = pd.concat([pd.Series(c).reset_index(drop=True).astype(STR) for c in cols], ignore_index=True)
    codes, uniques = pd.factorize(ser)
    codes = np.where(codes < 0, len(uniques), codes)
    bounds = np.cumsum([0] + [len(c) for c in cols])
    return [codes[bounds[k]:bounds[k + 1]] for k in range(len(cols))], list(uniques) + [""]


def allele_codes(*cols):
    """Joint integer codes of allele columns, and for each code the code of its reverse complement.

    Parameters
    ----------
    *cols : array-like of str
        Allele columns (upper case).

    Returns
    -------
    codes : list of ndarray of int
        As :func:`factorize_strings`.
    comp : ndarray of int64
        ``comp[c]`` is the code of the reverse complement of allele ``c`` (new codes for complements that
        occur in no column), so strand flips are integer lookups.
    """
    codes, uniq = factorize_strings(*cols)
    rcs = [reverse_complement(u) for u in uniq]          # one per distinct allele, not per row
    lookup = {u: i for i, u in enumerate(uniq)}
    for r in rcs:
        lookup.setdefault(r, len(lookup))
    comp = np.array([lookup[r] for r in rcs], dtype=np.int64)
    return codes, comp


def chrom_pos_key(g_chrom, r_chrom, g_pos, r_pos):
    """One int64 key per variant, ``(chromosome code << 32) + pos``, with codes shared by two tables.

    Parameters
    ----------
    g_chrom, r_chrom : array-like of str
        Chromosomes of the two tables.
    g_pos, r_pos : array-like of int
        Their 1-based positions.

    Returns
    -------
    g_key, r_key : ndarray of int64
        Equal keys mean the same chrom:pos.
    """
    (gc, rc), _ = factorize_strings(g_chrom, r_chrom)
    return ((gc.astype(np.int64) << 32) + np.asarray(g_pos, dtype=np.int64),
            (rc.astype(np.int64) << 32) + np.asarray(r_pos, dtype=np.int64))


def join_keys(left: np.ndarray, right: np.ndarray):
    """Inner equi-join of two int64 key arrays: row pairs (i, j), every match (sort + binary search).

    Parameters
    ----------
    left : numpy.ndarray of int64
        Keys of the left rows.
    right : numpy.ndarray of int64
        Keys of the right rows.

    Returns
    -------
    i : numpy.ndarray of int
        Left row of each matching pair, ascending.
    j : numpy.ndarray of int
        Right row of each pair (``right[j] == left[i]``); within one left row, right rows in their
        original order (stable sort).
    """
    order = np.argsort(right, kind="stable")
    sr = right[order]
    lo = np.searchsorted(sr, left, "left")
    cnt = np.searchsorted(sr, left, "right") - lo
    i = np.repeat(np.arange(len(left)), cnt)
    offs = np.arange(len(i)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return i, order[np.repeat(lo, cnt) + offs]


# how two variants' alleles matched (:func:`allele_sign`); the case names of :func:`harmonise`
MATCH, SWAP, FLIP, FLIP_SWAP, AMBIGUOUS, MISMATCH = 1, 2, 3, 4, 5, 0
CASE_NAMES = np.array(["", "same", "swapped", "flipped", "swapped_flipped", ""], dtype=object)
_RANK = np.array([5, 0, 1, 2, 3, 4], np.int8)      # best match first: same, swapped, flips, ambiguous, none


def _allele_codes(*arrays):
    """Integer codes of allele strings in one shared upper-case vocabulary, and the code of each code's
    reverse complement. Categoricals without missing values are coded through their categories (no
    string per row); complements are computed once per distinct allele."""
    if all(isinstance(a, pd.Categorical) and not (a.codes < 0).any() for a in arrays):
        cats = [np.asarray(a.categories, dtype=object) for a in arrays]
        ucodes, vocab = pd.factorize(pd.Index(np.concatenate(cats)).astype(str).str.upper())
        parts, k = [], 0
        for a, c in zip(arrays, cats):
            parts.append(ucodes[k:k + len(c)][a.codes])
            k += len(c)
    else:
        codes, uniq = pd.factorize(np.concatenate([np.asarray(a, dtype=object) for a in arrays]))
        ucodes, vocab = pd.factorize(pd.Index(uniq).astype(str).str.upper())
        codes = ucodes[codes] if len(codes) else codes
        bounds = np.cumsum([0] + [len(a) for a in arrays])
        parts = [codes[bounds[k]:bounds[k + 1]] for k in range(len(arrays))]
    vocab = pd.Index(vocab)
    rc = pd.Index([reverse_complement(str(v)) for v in vocab])
    comp = vocab.append(rc.difference(vocab)).get_indexer(rc)
    return parts, comp


def allele_sign(a_eff, a_oth, b_eff, b_oth, *, strand_flip: bool = True, ambiguous: str = "keep",
                af_a=None, af_b=None, window=(0.4, 0.6)):
    """The one allele-matching rule of every stage: how variant b's alleles map onto variant a's.

    Per row, with ``c(x)`` the reverse complement and a pair *ambiguous* when ``a_eff = c(a_oth)``
    (A/T, C/G):

    ===============  ==============================================  ======  =============
    case             test                                            sign    ``how``
    ===============  ==============================================  ======  =============
    same             b_eff = a_eff, b_oth = a_oth                    +1      MATCH
    swapped          b_eff = a_oth, b_oth = a_eff                    -1      SWAP
    strand flip      c(b_eff) = a_eff, c(b_oth) = a_oth (not ambig.)  +1      FLIP
    flip + swap      c(b_eff) = a_oth, c(b_oth) = a_eff (not ambig.)  -1      FLIP_SWAP
    ambiguous        dropped by ``ambiguous='drop'`` or unresolved    0       AMBIGUOUS
    none             anything else (multi-allelic partner, indel)    0       MISMATCH
    ===============  ==============================================  ======  =============

    Alleles compare case-insensitively. A strand-ambiguous pair cannot tell "same" from "flip +
    swap": ``ambiguous='keep'`` matches it as written (MetaXcan), ``'drop'`` drops it (FUSION's
    ``allele.qc``), ``'frequency'`` resolves it by allele frequency (MungeSumstats
    ``check_strand_ambiguous`` / TwoSampleMR ``harmonise_data`` action 2): when both frequencies are
    known and outside ``window``, the orientation whose frequencies agree about the major allele is
    taken, else it is dropped.

    Parameters
    ----------
    a_eff, a_oth : array-like of str
        Effect and other allele of the variants statistics are oriented to.
    b_eff, b_oth : array-like of str
        Effect and other allele of the variants whose statistics are re-signed.
    strand_flip : bool
        Match complemented alleles (False: MetaXcan, which compares allele sets only).
    ambiguous : {'keep', 'drop', 'frequency'}
        Strand-ambiguous pairs: as written, dropped, or resolved by ``af_a`` / ``af_b``.
    af_a, af_b : array-like of float, optional
        Frequency of ``a_eff`` and of ``b_eff`` (``ambiguous='frequency'``; NaN: unknown).
    window : (float, float)
        Frequencies inside it do not resolve an ambiguous pair.

    Returns
    -------
    sign : numpy.ndarray of int8
        +1 / -1 turns a statistic of ``b_eff`` into one of ``a_eff``; 0: not usable.
    how : numpy.ndarray of int8
        MATCH, SWAP, FLIP, FLIP_SWAP, AMBIGUOUS or MISMATCH per row.

    References
    ----------
    MetaXcan ``GWASAndModels.align_data_to_alleles`` (hakyimlab/MetaXcan); FUSION ``allele.qc``
    (gusevlab/fusion_twas); MungeSumstats ``check_strand_ambiguous``.
    """
    if ambiguous not in ("keep", "drop", "frequency"):
        raise ValueError("ambiguous must be 'keep', 'drop' or 'frequency'")
    (a1, a2, b1, b2), comp = _allele_codes(a_eff, a_oth, b_eff, b_oth)
    amb = a1 == comp[a2] if len(comp) else np.zeros(len(a1), bool)
    same = (a1 == b1) & (a2 == b2)
    swap = (a1 == b2) & (a2 == b1)
    fl = fls = np.zeros(len(a1), bool)
    if strand_flip and len(comp):
        fl = ~same & ~swap & ~amb & (a1 == comp[b1]) & (a2 == comp[b2])
        fls = ~same & ~swap & ~amb & (a1 == comp[b2]) & (a2 == comp[b1])
    how = np.full(len(a1), MISMATCH, np.int8)
    how[same], how[swap], how[fl], how[fls] = MATCH, SWAP, FLIP, FLIP_SWAP
    sign = np.zeros(len(a1), np.int8)
    sign[(how == MATCH) | (how == FLIP)] = 1
    sign[(how == SWAP) | (how == FLIP_SWAP)] = -1
    amb &= sign != 0
    if ambiguous == "frequency" and amb.any():
        lo, hi = window
        fa = np.full(len(a1), np.nan) if af_a is None else np.asarray(af_a, dtype=float)
        fb = np.full(len(a1), np.nan) if af_b is None else np.asarray(af_b, dtype=float)
        informative = ~np.isnan(fa) & ~np.isnan(fb) & ((fa < lo) | (fa > hi)) & ((fb < lo) | (fb > hi))
        fb_of_a = np.where(sign > 0, fb, 1.0 - fb)           # b's frequency of a's effect allele as matched
        disagree = amb & informative & ((fa > 0.5) != (fb_of_a > 0.5))
        sign[disagree] = -sign[disagree]
        how[disagree] = np.where(how[disagree] == MATCH, FLIP_SWAP, FLIP)
        amb &= ~informative
    if ambiguous != "keep":
        how[amb], sign[amb] = AMBIGUOUS, 0
    return sign, how


def best_match(r: np.ndarray, how: np.ndarray) -> np.ndarray:
    """The one candidate pair kept per query row (multi-allelic sites, repeated rows).

    Parameters
    ----------
    r : numpy.ndarray of int
        Query row of each candidate pair.
    how : numpy.ndarray of int8
        :func:`allele_sign`'s case of each pair.

    Returns
    -------
    numpy.ndarray of int
        Positions of the kept pairs: per query row the best ``how`` (same, swapped, flipped, flipped +
        swapped, ambiguous, mismatch), then the first candidate.
    """
    order = np.lexsort((_RANK[how], r))
    first = np.r_[True, r[order][1:] != r[order][:-1]] if len(r) else np.zeros(0, bool)
    return order[first]


def harmonise(gwas: pd.DataFrame, reference: pd.DataFrame, *, ambiguous_window=(0.4, 0.6)):
    """Align ``gwas`` (a1 a2 z beta af [chrom pos] [snp]) to ``reference`` (load_reference frame).

    Returns ``(kept, reasons, case)``: ``kept`` the harmonised rows (reference chrom pos ref alt
    variant_id; z, beta, af re-signed to alt), ``reasons`` an object array over the gwas rows with the
    drop reason or None, ``case`` the match case of each gwas row ('same', 'swapped', 'flipped',
    'swapped_flipped', '' when dropped).

    Rows join on chrom:pos when the GWAS has both, else on rsid (``snp`` against the reference's
    ``rsid``). When several reference variants match one row, the best case wins (same, swapped,
    flipped, swapped + flipped, ambiguous, mismatch), then the first. Strand-ambiguous pairs are
    resolved by allele frequency outside ``ambiguous_window`` (see the module docstring).

    Parameters
    ----------
    gwas : pandas.DataFrame
        Summary statistics with a1 (effect allele), a2, and any of z, beta, af, chrom, pos, snp.
    reference : pandas.DataFrame or str or pathlib.Path
        A :func:`load_reference` frame (recognised by its ``variant_id`` column), or anything
        :func:`load_reference` accepts.
    ambiguous_window : tuple of float
        ``(lo, hi)`` frequency window within which a strand-ambiguous SNP is dropped.

    Returns
    -------
    kept : pandas.DataFrame
        Harmonised rows: the GWAS columns other than chrom pos a1 a2, plus the reference's variant_id
        chrom pos ref alt, rsid (GWAS ``snp``, else the reference rsid) and genome_build when present;
        z and beta negated and af replaced by 1 - af where the effect allele is the reference allele.
    reasons : numpy.ndarray of object
        Per GWAS row: None when kept, else ``not_in_reference``, ``allele_mismatch`` or
        ``strand_ambiguous``.
    case : numpy.ndarray of object
        Per GWAS row: ``same``, ``swapped``, ``flipped``, ``swapped_flipped``, or ``""`` when dropped.

    Raises
    ------
    InputError
        When ``gwas`` has neither chrom and pos nor ``snp`` with a reference ``rsid`` column.

    References
    ----------
    Murphy AE et al. (2021) Bioinformatics 37:4593 (MungeSumstats ``check_strand_ambiguous``);
    Hemani G et al. (2018) eLife 7:e34408 (TwoSampleMR ``harmonise_data``, action 2);
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291 (ldsc ``munge_sumstats.py``).
    """
    n = len(gwas)
    ref = reference if "variant_id" in reference else load_reference(reference)
    if "pos" in gwas and "chrom" in gwas:
        gkey, rkey = chrom_pos_key(gwas["chrom"], ref["chrom"],
                                gwas["pos"].to_numpy(), ref["pos"].to_numpy())
    elif "snp" in gwas and "rsid" in ref:
        cats = pd.Index(pd.unique(ref["rsid"].astype(object)))
        rkey = np.arange(len(cats), dtype=np.int64)[cats.get_indexer(ref["rsid"].astype(object))]
        gkey = cats.get_indexer(gwas["snp"].astype(object)).astype(np.int64)
        gkey[gkey < 0] = -2            # no rsid match: a key no reference row has
    else:
        raise InputError("sumstats", "chrom and pos, or rsids matching a reference with an rsid column")
    i, j = join_keys(gkey, rkey)
    af_g = gwas["af"].to_numpy(dtype=float)[i] if "af" in gwas else None
    af_r = ref["af"].to_numpy(dtype=float)[j] if "af" in ref else None
    sign, case = allele_sign(gwas["a1"].to_numpy(dtype=object)[i], gwas["a2"].to_numpy(dtype=object)[i],
                             ref["alt"].to_numpy(dtype=object)[j], ref["ref"].to_numpy(dtype=object)[j],
                             ambiguous="frequency", af_a=af_g, af_b=af_r, window=ambiguous_window)
    k = best_match(i, case)                 # best case first within each gwas row
    i, j, case, sign = i[k], j[k], case[k], sign[k].astype(float)
    reasons = np.full(n, "not_in_reference", dtype=object)
    reasons[i] = np.where(case == AMBIGUOUS, "strand_ambiguous", np.where(case == MISMATCH, "allele_mismatch", None))
    ok = sign != 0
    i, j, case, sign = i[ok], j[ok], case[ok], sign[ok]

    g = gwas.iloc[i].reset_index(drop=True)
    r = ref[[c for c in ("variant_id", "chrom", "pos", "ref", "alt", "rsid", "genome_build")
             if c in ref]].iloc[j].reset_index(drop=True)
    kept = g.drop(columns=[c for c in ("chrom", "pos", "a1", "a2") if c in g])
    for c in ("variant_id", "chrom", "pos", "ref", "alt"):
        kept[c] = r[c].array
    if "snp" in kept or "rsid" in r:
        snp = kept["snp"].astype(STR) if "snp" in kept else pd.Series([None] * len(kept), dtype=STR)
        if "rsid" in r:
            snp = snp.where(snp.notna(), r["rsid"].astype(STR))
        kept["rsid"] = snp.array
    if "genome_build" in r:
        kept["genome_build"] = r["genome_build"].to_numpy()
    for c in ("z", "beta"):
        if c in kept:
            kept[c] = kept[c].to_numpy() * sign
    if "af" in kept:
        af = kept["af"].to_numpy()
        kept["af"] = np.where(sign > 0, af, 1.0 - af)
    case_all = np.full(n, "", dtype=object)
    case_all[i] = CASE_NAMES[case]
    return kept, reasons, case_all
