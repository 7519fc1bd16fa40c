"""Variant matching: the row of a table holding each query variant (by chrom:pos or rsid), with its alleles
matched by :func:`locusflow.io.harmonise.allele_sign` (:func:`match_variants`).

:func:`lookup_rows` pairs each query row with every table row holding an equal key. It is the join
under :func:`match_variants` (weights against a GWAS or a reference panel),
where the query side is small (a few thousand model SNPs) and the table large (10^5-10^6 GWAS rows):
the distinct query keys are hashed once and every table key probes them. Fast paths, none of which
changes the result: categoricals over one shared categories object compare integer codes; Arrow
string table keys probe with ``pyarrow.compute.index_in``; ``rs<digits>`` ids compare as int64.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .harmonise import allele_sign, best_match


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
    """:func:`lookup_rows` for Arrow-backed string table keys (GWAS rsids read by Arrow): the distinct query
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


def lookup_rows(rows, keys, table_keys):
    """Pairs (query row, table index) whose keys are equal: every match, in no guaranteed order.

    The distinct query keys are hashed and every table key probes them (the query side is the small
    one); a table key repeated among the matches falls back to a join. rsid keys of the form
    ``rs<digits>`` are compared as integers (hashing 10^5-10^6 Python strings costs more than the
    rest of S-PrediXcan).

    Parameters
    ----------
    rows : numpy.ndarray of int
        The query rows' own numbers (returned as the first element of each pair).
    keys : array-like
        One key per query row: strings (object, categorical) or int64.
    table_keys : array-like or pandas.Series
        One key per table row (Arrow-backed strings and categoricals are read without conversion).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Query row numbers and table indices (0-based positions) of the equal-key pairs.
    """
    same = _shared_codes(keys, table_keys)
    if same is not None:
        return lookup_rows(rows, *same)
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


def is_placed(chrom: pd.Series, pos: pd.Series | None = None) -> np.ndarray:
    """Rows with a chromosome (not null, not the weights' ``'NA'`` for unplaced SNPs) and a position.

    Parameters
    ----------
    chrom : pandas.Series
        Chromosome strings or a categorical (compared once per category).
    pos : pandas.Series, optional
        Positions; null ones are not placed.

    Returns
    -------
    numpy.ndarray of bool
    """
    if isinstance(chrom.dtype, pd.CategoricalDtype):
        ok = np.asarray(chrom.cat.categories.astype(str) != "NA")
        out = np.append(ok, False)[chrom.cat.codes.to_numpy()]
    else:
        out = (chrom.astype(str) != "NA").to_numpy() & chrom.notna().to_numpy()
    return out if pos is None else out & pos.notna().to_numpy()


def match_variants(query: pd.DataFrame, table: pd.DataFrame, *, strand_flip: bool = True,
                   ambiguous: str = "keep"):
    """The row of ``table`` matching each row of ``query``, and the sign orienting it.

    Key: chrom:pos when the query row is placed (:func:`is_placed`) and ``table`` has chrom and pos,
    else the rsid. Alleles by :func:`allele_sign`; where several table rows share the key
    (multi-allelic sites, repeated rows), the best match wins (same, swapped, flipped, ...), then
    the first row.

    Parameters
    ----------
    query : pandas.DataFrame
        effect_allele, other_allele, chrom, pos, rsid (e.g. model weights; chrom ``'NA'``: rsid only).
    table : pandas.DataFrame
        ref, alt (effect = alt) and chrom, pos and/or rsid (a GWAS, a panel's variants).
    strand_flip, ambiguous
        As :func:`allele_sign` (``'keep'`` or ``'drop'``).

    Returns
    -------
    idx : numpy.ndarray of int64
        Position in ``table`` per query row; -1 when no row has its key.
    sign : numpy.ndarray of int8
        Turns a statistic of ``table``'s alt into one of the query's effect allele; 0: not usable.
    how : numpy.ndarray of int8
        :func:`allele_sign`'s case; -1 when no row has the key.
    """
    n = len(query)
    rows = np.arange(n)
    has_pos = {"chrom", "pos"}.issubset(table.columns)
    placed = is_placed(query["chrom"], query["pos"]) & has_pos
    t = table if _range_indexed(table) else table.reset_index(drop=True)
    parts = []
    if (~placed).any() and "rsid" in t:
        rs = query["rsid"].array if isinstance(query["rsid"].dtype, pd.CategoricalDtype) else query["rsid"].to_numpy()
        parts.append(lookup_rows(rows[~placed], rs[~placed], t["rsid"]))
    if placed.any():
        qc, tc = query["chrom"].astype(str).to_numpy()[placed], t["chrom"].astype(str).to_numpy()
        cats = pd.unique(np.concatenate([qc, tc]))
        kq = (pd.Categorical(qc, categories=cats).codes.astype(np.int64) << 40) \
            + query["pos"].to_numpy()[placed].astype(np.int64)
        kt = (pd.Categorical(tc, categories=cats).codes.astype(np.int64) << 40) + t["pos"].to_numpy().astype(np.int64)
        parts.append(lookup_rows(rows[placed], kq, kt))
    r = np.concatenate([p[0] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
    ti = np.concatenate([p[1] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)

    def rows_of(col, i):       # categoricals stay categorical (allele codes from their categories)
        return col.array.take(i) if isinstance(col.dtype, pd.CategoricalDtype) else col.to_numpy()[i]
    sign, how = allele_sign(rows_of(query["effect_allele"], r), rows_of(query["other_allele"], r),
                            rows_of(t["alt"], ti), rows_of(t["ref"], ti), strand_flip=strand_flip, ambiguous=ambiguous)
    k = best_match(r, how)
    idx = np.full(n, -1, np.int64)
    sg = np.zeros(n, np.int8)
    hw = np.full(n, -1, np.int8)
    idx[r[k]], sg[r[k]], hw[r[k]] = ti[k], sign[k], how[k]
    return idx, sg, hw


def _range_indexed(df: pd.DataFrame) -> bool:
    return isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
