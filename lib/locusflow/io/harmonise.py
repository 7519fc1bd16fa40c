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

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError

STR = pd.StringDtype("pyarrow")

_COMP = str.maketrans("ACGTN", "TGCAN")


def reverse_complement(allele: str) -> str:
    return allele.translate(_COMP)[::-1]


def load_reference(ref) -> pd.DataFrame:
    """A reference variant table from a frame, a genotype store (.vcz), a variants dataset, a PLINK
    prefix/.bim or a tab-separated file with chrom pos ref alt [rsid af variant_id] columns."""
    if isinstance(ref, pd.DataFrame):
        df = ref
    else:
        p = Path(ref)
        if (p / "locusflow.json").exists():
            from .genotypes import GenotypeStore
            df = GenotypeStore(p).variants
        elif p.is_dir():
            from .dataset import read_dataset
            df = read_dataset(p, "variants")
        elif p.suffix == ".bim" or Path(f"{p}.bim").exists():
            from .plink import read_bim
            b = read_bim(str(p)[:-4] if p.suffix == ".bim" else p)
            df = pd.DataFrame({"chrom": b["chrom"], "pos": b["pos"], "ref": b["a2"], "alt": b["a1"],
                               "rsid": b["rsid"]})
        elif p.exists():
            df = pd.read_csv(p, sep="\t", dtype={"chrom": str, "ref": str, "alt": str, "rsid": str})
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
            out[c] = df[c].to_numpy()
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


def _arrow_str(c) -> pa.Array:
    return pa.array(pd.Series(c).reset_index(drop=True).astype(STR)).cast(pa.string())


def variant_ids(chrom, pos, ref, alt) -> pd.Series:
    """``chrom:pos:ref:alt`` strings, built by Arrow compute."""
    p = pc.cast(pa.array(np.asarray(pos, dtype=np.int64)), pa.string())
    joined = pc.binary_join_element_wise(_arrow_str(chrom), p, _arrow_str(ref), _arrow_str(alt), ":")
    return pd.Series(joined.to_pandas(types_mapper={pa.string(): STR}.get), dtype=STR).rename(None)


def join_keys(left: np.ndarray, right: np.ndarray):
    """Inner equi-join of two int64 key arrays: row pairs (i, j), every match (sort + binary search)."""
    order = np.argsort(right, kind="stable")
    sr = right[order]
    lo = np.searchsorted(sr, left, "left")
    cnt = np.searchsorted(sr, left, "right") - lo
    i = np.repeat(np.arange(len(left)), cnt)
    offs = np.arange(len(i)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return i, order[np.repeat(lo, cnt) + offs]


def harmonise(gwas: pd.DataFrame, reference: pd.DataFrame, *, ambiguous_window=(0.4, 0.6)):
    """Align ``gwas`` (a1 a2 z beta af [chrom pos] [snp]) to ``reference`` (load_reference frame).

    Returns ``(kept, reasons, case)``: ``kept`` the harmonised rows (reference chrom pos ref alt
    variant_id; z, beta, af re-signed to alt), ``reasons`` an object array over the gwas rows with the
    drop reason or None, ``case`` the match case of each gwas row ('same', 'swapped', 'flipped',
    'swapped_flipped', '' when dropped).
    """
    lo, hi = ambiguous_window
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
    (a1, a2, rr, ra), comp = allele_codes(gwas["a1"], gwas["a2"], ref["ref"], ref["alt"])
    g1, g2, r0, r1 = a1[i], a2[i], rr[j], ra[j]
    c1, c2 = comp[g1], comp[g2]
    case = np.select([(g1 == r1) & (g2 == r0), (g1 == r0) & (g2 == r1), (c1 == r1) & (c2 == r0),
                      (c1 == r0) & (c2 == r1)], [1, 2, 3, 4], default=9)
    order = np.lexsort((case, i))           # best case first within each gwas row
    i, j, case = i[order], j[order], case[order]
    first = np.r_[True, i[1:] != i[:-1]]
    i, j, case = i[first], j[first], case[first]

    reasons = np.full(n, "not_in_reference", dtype=object)
    reasons[i] = "allele_mismatch"
    ok = case < 9
    i, j, case = i[ok], j[ok], case[ok]
    reasons[i] = None
    sign = np.where((case == 1) | (case == 3), 1.0, -1.0)

    ambiguous = comp[a1[i]] == a2[i]
    if ambiguous.any():
        af_g = gwas["af"].to_numpy(dtype=float)[i] if "af" in gwas else np.full(len(i), np.nan)
        af_r = ref["af"].to_numpy(dtype=float)[j] if "af" in ref else np.full(len(i), np.nan)
        informative = (~np.isnan(af_g) & ~np.isnan(af_r) & ((af_g < lo) | (af_g > hi))
                       & ((af_r < lo) | (af_r > hi)))
        ref_af_of_a1 = np.where(sign > 0, af_r, 1.0 - af_r)
        disagree = (af_g > 0.5) != (ref_af_of_a1 > 0.5)
        resolve = ambiguous & informative
        sign = np.where(resolve & disagree, -sign, sign)
        case = np.where(resolve, np.where(sign > 0, np.where(disagree, 3, 1), np.where(disagree, 4, 2)), case)
        dropped = ambiguous & ~informative
        reasons[i[dropped]] = "strand_ambiguous"
        i, j, case, sign = i[~dropped], j[~dropped], case[~dropped], sign[~dropped]

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
    names = np.array(["", "same", "swapped", "flipped", "swapped_flipped"], dtype=object)
    case_all = np.full(n, "", dtype=object)
    case_all[i] = names[case]
    return kept, reasons, case_all
