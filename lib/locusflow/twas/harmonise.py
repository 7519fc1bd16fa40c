"""Allele harmonisation of weights, GWAS and reference panel (vectorised; DESIGN.md rules).

``allele_sign(a_eff, a_oth, b_eff, b_oth)`` returns, per row, the sign that turns a statistic of
``b_eff`` into one of ``a_eff`` and how the match was made:

- same alleles: +1; swapped (b_eff == a_oth and b_oth == a_eff): -1 (the statistic is negated);
- strand flip (``strand_flip=True``): the complement of b matches a (same or swapped): +1 / -1;
- strand-ambiguous SNPs (A/T, C/G): complementing cannot be told from swapping, so they are matched as
  written, without complementing (``ambiguous='keep'``, what MetaXcan does), or dropped
  (``ambiguous='drop'``, what FUSION does);
- anything else (different alleles, indels that differ): 0 (dropped, reason ``allele_mismatch``).

Differences from the peers: MetaXcan (``GWASAndModels.align_data_to_alleles``) compares allele *sets*
and never complements, so a strand-flipped SNP is dropped there and used here (``strand_flip=False``
reproduces MetaXcan). FUSION (``allele.qc``) complements and drops every strand-ambiguous SNP.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MATCH, SWAP, FLIP, FLIP_SWAP, AMBIGUOUS, MISMATCH = 1, 2, 3, 4, 5, 0
_COMP = str.maketrans("ACGT", "TGCA")


def complement(a: pd.Series) -> pd.Series:
    return a.astype(str).str.translate(_COMP)


def _codes(*arrays):
    """Integer codes of allele strings in one shared upper-case vocabulary, and the vocabulary.
    Categoricals without missing values are coded through their categories (no string per row)."""
    if all(isinstance(a, pd.Categorical) and not (a.codes < 0).any() for a in arrays):
        cats = [np.asarray(a.categories, dtype=object) for a in arrays]
        up = pd.Index(np.concatenate(cats)).astype(str).str.upper()
        ucodes, vocab = pd.factorize(up)
        out, k = [], 0
        for a, c in zip(arrays, cats):
            out.append(ucodes[k:k + len(c)][a.codes])
            k += len(c)
        return out, np.asarray(vocab, dtype=object)
    allv = np.concatenate([np.asarray(a, dtype=object) for a in arrays])
    codes, uniq = pd.factorize(allv)
    up = pd.Index(uniq).astype(str).str.upper()
    ucodes, vocab = pd.factorize(up)
    codes = ucodes[codes]
    out, k = [], 0
    for a in arrays:
        out.append(codes[k:k + len(a)])
        k += len(a)
    return out, np.asarray(vocab, dtype=object)


def allele_sign(a_eff, a_oth, b_eff, b_oth, *, strand_flip: bool = True, ambiguous: str = "keep"):
    """(sign int8 array, how int8 array with MATCH/SWAP/FLIP/FLIP_SWAP/AMBIGUOUS/MISMATCH).

    Works on integer codes of the alleles; complements are computed once per distinct allele.
    """
    (a1, a2, b1, b2), vocab = _codes(a_eff, a_oth, b_eff, b_oth)
    comp = pd.Index(pd.Index(vocab).astype(str).str.translate(_COMP))
    vocab_c = pd.Index(vocab).append(comp.difference(pd.Index(vocab)))
    comp_code = vocab_c.get_indexer(comp)                 # code of each allele's complement
    single = np.asarray(pd.Index(vocab).astype(str).str.len() == 1)
    c1, c2 = comp_code[b1], comp_code[b2]
    amb = (a1 == comp_code[a2]) & single[a1] if len(vocab) else np.zeros(len(a1), bool)
    same = (a1 == b1) & (a2 == b2)
    swap = (a1 == b2) & (a2 == b1)
    snv = single[b1] & single[b2] if len(vocab) else np.zeros(len(a1), bool)
    fl = strand_flip & ~same & ~swap & ~amb & snv & (a1 == c1) & (a2 == c2)
    fls = strand_flip & ~same & ~swap & ~amb & snv & (a1 == c2) & (a2 == c1)
    how = np.full(len(a1), MISMATCH, np.int8)
    how[same], how[swap], how[fl], how[fls] = MATCH, SWAP, FLIP, FLIP_SWAP
    if ambiguous == "drop":
        how[amb & (same | swap)] = AMBIGUOUS
    elif ambiguous != "keep":
        raise ValueError("ambiguous must be 'keep' or 'drop'")
    sign = np.zeros(len(a1), np.int8)
    sign[(how == MATCH) | (how == FLIP)] = 1
    sign[(how == SWAP) | (how == FLIP_SWAP)] = -1
    return sign, how


def _default_index(df: pd.DataFrame) -> bool:
    """Index is 0..n-1 already (no reset_index copy needed)."""
    return isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1


def _not_na_chrom(chrom: pd.Series) -> np.ndarray:
    """chrom != 'NA' as strings (a missing value reads 'nan': placed); categoricals compared per category."""
    if isinstance(chrom.dtype, pd.CategoricalDtype):
        ok = np.asarray(chrom.cat.categories.astype(str) != "NA")
        return np.append(ok, True)[chrom.cat.codes.to_numpy()]
    return (chrom.astype(str) != "NA").to_numpy()


def match(w: pd.DataFrame, table: pd.DataFrame, *, strand_flip=True, ambiguous="keep"):
    """Row of ``table`` (variants with ref/alt, effect = alt) for each weight row, and its sign.

    Key: chrom:pos when the weight row is placed and ``table`` has positions, else rsid. Returns
    (idx, sign, how) per weight row: idx -1 and how -1 when absent; sign orients a statistic of
    ``table``'s alt to the weight's effect allele (0 = not usable). Where a site has several rows
    (multi-allelic), the first that matches wins.
    """
    n = len(w)
    rows = np.arange(n)
    has_pos = {"chrom", "pos"}.issubset(table.columns)
    placed = (_not_na_chrom(w["chrom"]) & w["pos"].notna().to_numpy()) & has_pos
    t = table if _default_index(table) else table.reset_index(drop=True)
    parts = []
    if (~placed).any() and "rsid" in t:
        rs = w["rsid"].array if isinstance(w["rsid"].dtype, pd.CategoricalDtype) else w["rsid"].to_numpy()
        parts.append(_lookup(rows[~placed], rs[~placed], t["rsid"]))
    if placed.any():
        cats = pd.unique(np.concatenate([w["chrom"].astype(str).to_numpy()[placed], t["chrom"].astype(str).to_numpy()]))
        kw = (pd.Categorical(w["chrom"].astype(str).to_numpy()[placed], categories=cats).codes.astype(np.int64) << 40) \
            + w["pos"].to_numpy()[placed].astype(np.int64)
        kt = (pd.Categorical(t["chrom"].astype(str).to_numpy(), categories=cats).codes.astype(np.int64) << 40) \
            + t["pos"].to_numpy().astype(np.int64)
        parts.append(_lookup(rows[placed], kw, kt))
    r = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    ti = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    m = pd.DataFrame({"row": r, "_t": ti})
    r, ti = m["row"].to_numpy(int), m["_t"].to_numpy(int)
    def rows_of(col, i):       # categoricals stay categorical (allele_sign codes their categories)
        return col.array.take(i) if isinstance(col.dtype, pd.CategoricalDtype) else col.to_numpy()[i]
    sign, how = allele_sign(rows_of(w["effect_allele"], r), rows_of(w["other_allele"], r),
                            rows_of(t["alt"], ti), rows_of(t["ref"], ti),
                            strand_flip=strand_flip, ambiguous=ambiguous)
    order = np.lexsort((sign == 0, r))          # per row, usable matches first
    r, ti, sign, how = r[order], ti[order], sign[order], how[order]
    first = np.r_[True, r[1:] != r[:-1]] if len(r) else np.zeros(0, bool)
    idx = np.full(n, -1, np.int64)
    sg = np.zeros(n, np.int8)
    hw = np.full(n, -1, np.int8)
    idx[r[first]], sg[r[first]], hw[r[first]] = ti[first], sign[first], how[first]
    return idx, sg, hw


def _rs_numbers(a) -> np.ndarray | None:
    """int64 of 'rs<digits>' ids (Arrow kernels, no Python per string); None if any id is not of that form.
    A pandas Series backed by Arrow (string[pyarrow], ArrowDtype, categorical) is read without conversion."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        arr = pa.array(a) if isinstance(a, pd.Series) and a.dtype != object else \
            pa.array(np.asarray(a, dtype=object), pa.string())
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if arr.null_count or not len(arr) or not pc.all(pc.starts_with(arr, "rs")).as_py():
        return None
    digits = pc.utf8_slice_codeunits(arr, 2)
    if not pc.all(pc.utf8_is_digit(digits)).as_py() or pc.max(pc.utf8_length(digits)).as_py() > 18:
        return None
    # astype: Arrow hands back dtype 'q' (long long), which pandas' int64 hash tables mishandle
    return pc.cast(digits, pa.int64()).to_numpy().astype(np.int64)


def _arrow_lookup(rows, keys, table_keys):
    """:func:`_lookup` for Arrow-backed string table keys (GWAS rsids read by Arrow): the distinct query
    keys (a categorical's categories) are hashed once and every table key probes them with
    ``pyarrow.compute.index_in``, no Python string made. None when the inputs are not of that form or a
    matched table key is repeated (then the general path joins)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not (isinstance(table_keys, pd.Series) and isinstance(table_keys.dtype, (pd.StringDtype, pd.ArrowDtype))):
        return None
    try:
        tk = pa.array(table_keys)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not (pa.types.is_string(tk.type) or pa.types.is_large_string(tk.type)):
        return None
    if isinstance(keys, pd.Categorical) or isinstance(getattr(keys, "dtype", None), pd.CategoricalDtype):
        cat = keys if isinstance(keys, pd.Categorical) else pd.Categorical(keys)
        kinv, ku = cat.codes.astype(np.int64), cat.categories
        if (kinv < 0).any() or ku.dtype != object:
            return None
    else:
        keys = np.asarray(keys)
        if keys.dtype != object:
            return None
        kinv, ku = pd.factorize(keys)
        if (kinv < 0).any():
            return None
    try:
        vs = pa.array(np.asarray(ku, dtype=object), tk.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    pos = pc.index_in(tk, value_set=vs)
    hit = np.flatnonzero(pc.is_valid(pos).to_numpy(zero_copy_only=False))
    p = pos.take(pa.array(hit)).to_numpy(zero_copy_only=False).astype(np.int64) if len(hit) else hit
    if len(p) and np.bincount(p, minlength=len(ku)).max() > 1:
        return None
    t_of = np.full(len(ku) + 1, -1, np.int64)
    t_of[p] = hit
    ti = t_of[kinv]
    ok = ti >= 0
    return np.asarray(rows)[ok], ti[ok]


def _shared_codes(keys, table_keys):
    """Integer codes of both sides when they are categoricals over the very same categories object (the
    twas kernel codes GWAS rsids by the weights' rsid dictionary): equal keys are equal codes, no string is
    hashed. Table code -1 (a value outside those categories) matches nothing."""
    if not (isinstance(keys, pd.Categorical) and isinstance(getattr(table_keys, "dtype", None), pd.CategoricalDtype)):
        return None
    tk = table_keys.array if isinstance(table_keys, pd.Series) else table_keys
    if tk.categories is not keys.categories:
        return None
    kc = keys.codes.astype(np.int64)
    if (kc < 0).any():
        return None
    return kc, tk.codes.astype(np.int64)


def _lookup(rows, keys, table_keys):
    """(row, table index) pairs with equal keys: the distinct query keys are hashed and every table key
    probes them (the query side is the small one); a join when a matched table key is repeated.

    rsid keys of the form rs<digits> are compared as integers (hashing 10^5-10^6 Python strings costs
    more than the rest of S-PrediXcan)."""
    same = _shared_codes(keys, table_keys)
    if same is not None:
        return _lookup(rows, *same)
    arrow = _arrow_lookup(rows, keys, table_keys)
    if arrow is not None:
        return arrow
    if isinstance(keys, pd.Categorical):
        keys = np.asarray(keys, dtype=object)
    if len(keys) and np.asarray(keys).dtype == object:
        a, b = _rs_numbers(keys), _rs_numbers(table_keys)
        if a is not None and b is not None:
            keys, table_keys = a, b
    table_keys = np.asarray(table_keys)
    keys = np.asarray(keys)
    if keys.dtype == object:
        kinv, ku = pd.factorize(keys)      # (codes, uniques)
    else:   # np.unique: pandas 2.3's int64 factorize returned repeated uniques here (numpy 2.4)
        ku, kinv = np.unique(keys, return_inverse=True)
    pos = pd.Index(ku).get_indexer(table_keys) if len(ku) else np.full(len(table_keys), -1)
    hit = np.flatnonzero(pos >= 0)
    if not len(hit) or np.bincount(pos[hit], minlength=len(ku)).max() <= 1:
        t_of = np.full(len(ku) + 1, -1, np.int64)
        t_of[pos[hit]] = hit
        ti = t_of[kinv]
        ok = ti >= 0
        return rows[ok], ti[ok]
    a = pd.DataFrame({"row": rows, "k": keys})
    b = pd.DataFrame({"k": table_keys[hit], "_t": hit})
    m = a.merge(b, on="k")
    return m["row"].to_numpy(np.int64), m["_t"].to_numpy(np.int64)


def match_gwas(w: pd.DataFrame, gwas: pd.DataFrame, **kw) -> pd.DataFrame:
    """``w`` with GWAS ``z`` and ``beta`` oriented to the weight's effect allele, ``how``, and ``gwas_row``
    (the matched row of ``gwas``, -1 if none)."""
    idx, sign, how = match(w, gwas, **kw)
    out = w.copy(deep=False)     # new columns only: the caller's frame is not modified
    ok = sign != 0
    z = np.full(len(w), np.nan)
    b = np.full(len(w), np.nan)
    z[ok] = gwas["z"].to_numpy(float)[idx[ok]] * sign[ok]
    if "beta" in gwas:
        b[ok] = gwas["beta"].to_numpy(float)[idx[ok]] * sign[ok]
    out["z"], out["beta"], out["how"], out["gwas_row"] = z, b, how, idx
    return out


