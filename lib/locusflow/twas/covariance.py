"""S-PrediXcan's SNP covariance from a PredictDB covariance file: which SNPs are used, their sigma_l^2 and
the entries of each model's Gamma, in the three forms a covariance file reaches the kernel.

MetaXcan's rules (``AssociationCalculation``), the same in every form:

- a SNP is "in the covariance" when it is RSID1 of a row of its gene whose RSID2 is a candidate SNP
  of the model (in the GWAS, alleles matched, finite z); it is used when it is also a candidate;
- sigma_l^2 is its diagonal entry; a pair given twice: the later entry wins;
- n_snps_in_cov: the distinct RSID1 of the gene in the whole file (NaN when the gene has none).

Forms: strings (tissue, gene, rsid1, rsid2, value: :func:`strings_sums`), the integer codes written at
import (``weight_row1/2``, ``model_row``, ``first_rsid1``: :func:`codes_sums`) and the import-time
terms (:func:`covariance_terms` computes ``term = value w_1 w_2`` (x2 off the diagonal), ``cov_var``,
``cov_partner`` and ``n_snps_in_cov`` once per database; :func:`terms_sums` then reads three columns
per trait). Each returns ``(used, sig2, var_g, n_in_cov)``; var_g always comes from
:func:`locusflow.twas.variance.expression_variance`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .rowlookup import RowLookup, unique_key_groups
from .variance import expression_variance

COV_COLUMNS = ("cov_var", "cov_partner", "n_snps_in_cov")      # schema weights, set at import
TERM_COLUMNS = ("weight_row1", "weight_row2", "term")            # what a trait reads of snp_covariance
CODE_COLUMNS = ("weight_row1", "weight_row2", "model_row", "first_rsid1")


def has_codes(w: pd.DataFrame, cov: pd.DataFrame) -> bool:
    """Covariance rows carry the integer codes written at import (schema snp_covariance) for the weights
    ``w`` (with ``weight_row``), none of them null.

    Parameters
    ----------
    w, cov : pandas.DataFrame
        Weight rows and covariance rows.

    Returns
    -------
    bool
    """
    if "weight_row" not in w or not len(w) or w["weight_row"].isna().any() or not all(c in cov for c in CODE_COLUMNS):
        return False
    return not any(cov[c].isna().any() for c in CODE_COLUMNS)


def has_terms(w: pd.DataFrame, cov) -> bool:
    """``w`` and ``cov`` carry the import-time columns (:func:`covariance_terms`), none of them null; ``cov``
    a frame, or term chunks (an iterator: the caller vouches for them).

    Parameters
    ----------
    w : pandas.DataFrame
        Weight rows.
    cov : pandas.DataFrame or iterable
        Covariance rows, or chunks of :data:`TERM_COLUMNS`.

    Returns
    -------
    bool
    """
    if not all(c in w for c in COV_COLUMNS + ("weight_row",)) or w["weight_row"].isna().any() \
            or w["cov_partner"].isna().any():
        return False
    if not isinstance(cov, pd.DataFrame):
        return True
    return all(c in cov for c in TERM_COLUMNS) and not any(cov[c].isna().any() for c in TERM_COLUMNS)


def covariance_terms(cov: pd.DataFrame, w: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What S-PrediXcan needs of a covariance file that does not depend on the trait, computed at import.

    Parameters
    ----------
    cov : pandas.DataFrame
        Covariance rows with the codes of :func:`locusflow.io.weights.covariance_codes`.
    w : pandas.DataFrame
        The imported weights (with ``weight_row``).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``cov`` with ``term`` (0 for an entry a later one overrides), ``w`` with ``cov_var``,
        ``cov_partner`` and ``n_snps_in_cov``. Rows left uncoded (a tissue-gene with several models)
        get null terms and the weights null covariance columns: S-PrediXcan then resolves strings.
    """
    cov, w = cov.copy(), w.copy()
    if not has_codes(w, cov):
        cov["term"] = np.nan if not len(cov) else pd.array([pd.NA] * len(cov), dtype="Float64")
        w["cov_var"] = np.nan
        w["cov_partner"] = pd.array([pd.NA] * len(w), dtype="boolean")
        w["n_snps_in_cov"] = pd.array([pd.NA] * len(w), dtype="Int64")
        return cov, w
    wr = w["weight_row"].to_numpy(np.int64)
    r1, r2 = cov["weight_row1"].to_numpy(np.int64), cov["weight_row2"].to_numpy(np.int64)
    mr = cov["model_row"].to_numpy(np.int64)
    top = int(max([wr.max()] + [r.max() for r in (r1, r2, mr) if len(r)])) + 2   # slot -1 (last): none
    wt = np.zeros(top)
    wt[wr] = w["weight"].to_numpy(float)
    value = cov["value"].to_numpy(float)
    both = (r1 >= 0) & (r2 >= 0)
    lo, hi = np.minimum(r1, r2), np.maximum(r1, r2)
    again = both & pd.Series(lo * top + hi).duplicated(keep="last").to_numpy()   # the later entry wins
    keep = both & ~again
    term = np.zeros(len(cov))
    term[keep] = value[keep] * wt[r1[keep]] * wt[r2[keep]] * np.where(r1[keep] == r2[keep], 1.0, 2.0)
    cov["term"] = term
    diag = np.flatnonzero(keep & (r1 == r2))          # one row per SNP after the later-wins rule
    var = np.full(top, np.nan)
    var[r1[diag]] = value[diag]
    partner = np.zeros(top, bool)
    partner[r1[both]] = True
    first = cov["first_rsid1"].to_numpy(bool) & (mr >= 0)
    cnt = np.bincount(mr[first], minlength=top)       # distinct RSID1 of the gene, by the model's first row
    code, _ = pd.factorize(w["tissue"].astype(str) + "\t" + w["gene"].astype(str))
    _, at = np.unique(code, return_index=True)        # first weight row of each tissue-gene (model_row)
    n_cov = cnt[wr[at][code]]
    w["cov_var"] = var[wr]
    w["cov_partner"] = partner[wr]
    w["n_snps_in_cov"] = pd.array(np.where(n_cov > 0, n_cov, 0), dtype="Int64")
    w.loc[n_cov == 0, "n_snps_in_cov"] = pd.NA
    return cov, w


def term_chunks(cov: pd.DataFrame, size: int = 1 << 17):
    """(weight_row1, weight_row2, term) of the frame ``cov`` in slices of ``size`` rows.

    Parameters
    ----------
    cov : pandas.DataFrame
        Covariance rows with :data:`TERM_COLUMNS`.
    size : int
        Rows per slice.

    Yields
    ------
    tuple of numpy.ndarray
        weight_row1, weight_row2 and term of the next at most ``size`` rows.
    """
    cols = [cov[c].to_numpy() for c in TERM_COLUMNS]
    for i in range(0, len(cov), size):
        yield tuple(c[i:i + size] for c in cols)


def batch_chunks(batches):
    """(weight_row1, weight_row2, term) numpy views of Arrow record batches (no copy when null-free).

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        Record batches with :data:`TERM_COLUMNS`.

    Yields
    ------
    tuple of numpy.ndarray
        weight_row1, weight_row2 and term of one batch.
    """
    for b in batches:
        yield tuple(b.column(c).to_numpy(zero_copy_only=False) for c in TERM_COLUMNS)


def terms_sums(w: pd.DataFrame, cand: np.ndarray, mcode: np.ndarray, nm: int, cov):
    """(used, sig2, var_g, n_in_cov) from the import-time columns; ``cov``: a frame with
    :data:`TERM_COLUMNS` or an iterable of their chunks. None when a SNP that is RSID1 of a covariance
    row lacks its diagonal entry (then :func:`codes_sums` or :func:`strings_sums` decide).

    Parameters
    ----------
    w : pandas.DataFrame
        Weight rows with ``weight_row`` and :data:`COV_COLUMNS`.
    cand : numpy.ndarray of bool
        Candidate SNPs (in the GWAS, alleles matched, finite z).
    mcode : numpy.ndarray of int
        Model code of each weight row.
    nm : int
        Number of models.
    cov : pandas.DataFrame or iterable
        The covariance terms.

    Returns
    -------
    tuple or None
    """
    var = w["cov_var"].to_numpy(float, na_value=np.nan)
    has = np.isfinite(var)
    if (w["cov_partner"].to_numpy(bool) & ~has).any():
        return None
    used = cand & has
    wr = w["weight_row"].to_numpy(np.int64)
    top = int(max(wr.max(), 0) if len(wr) else 0) + 1
    x, mc = np.zeros(top), np.full(top, nm, np.intp)     # by weight_row: the rows' own numbering
    x[wr[used]] = 1.0                                     # (term holds the weights)
    mc[wr] = mcode
    chunks = term_chunks(cov) if isinstance(cov, pd.DataFrame) else cov
    var_g = expression_variance(x, mc, nm, entries=chunks)
    _, first = np.unique(mcode, return_index=True)
    n_in = w["n_snps_in_cov"].to_numpy(float, na_value=np.nan)[first]
    return used, np.where(used, var, 0.0), var_g, n_in


def upper_pairs(a: np.ndarray, b: np.ndarray, v: np.ndarray, n: int):
    """Covariance entries as upper-triangle (lo, hi, value); of a pair given twice, the later entry wins
    (a later (b, a) overrides (a, b)), as in MetaXcan.

    Parameters
    ----------
    a, b : numpy.ndarray of int
        Row indices (< n) of each entry's two SNPs.
    v : numpy.ndarray of float
        Entry values.
    n : int
        Number of rows.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
    """
    lo, hi = (a, b) if np.all(a <= b) else (np.minimum(a, b), np.maximum(a, b))
    pk = lo.astype(np.int64) * n + hi
    if len(pk) and not np.all(pk[1:] > pk[:-1]):        # not strictly increasing: maybe repeated pairs
        _, first_rev = np.unique(pk[::-1], return_index=True)
        last = np.sort(len(pk) - 1 - first_rev)
        lo, hi, v = lo[last], hi[last], v[last]
    return lo, hi, v


def _entries(lo, hi, v):
    """One chunk of (i, j, Gamma_ij x2 off the diagonal) for :func:`expression_variance`."""
    return [(lo, hi, np.where(lo == hi, v, 2.0 * v))]


def codes_sums(w: pd.DataFrame, cand: np.ndarray, mcode: np.ndarray, nm: int, cov: pd.DataFrame):
    """(used, sig2, var_g, n_in_cov) from the integer codes stored at import: each covariance row names its
    weight rows (``weight_row1/2``) and model (``model_row``), so no string is resolved. Weight rows that
    cannot be used map to the sentinel position n, so no covariance row is compacted; when the import
    found no repeated pair (``repeat_pair`` all false) the later-entry-wins rule is skipped.

    Parameters
    ----------
    w, cand, mcode, nm
        As :func:`terms_sums`.
    cov : pandas.DataFrame
        Covariance rows with :data:`CODE_COLUMNS` and ``value``.

    Returns
    -------
    tuple
    """
    n = len(w)
    wr = w["weight_row"].to_numpy(np.int64)
    r1, r2, rm = (cov[c].to_numpy() for c in ("weight_row1", "weight_row2", "model_row"))
    top = max([int(wr.max()) if n else 0] + [int(r.max()) for r in (r1, r2, rm) if len(r)]) + 2
    pos = np.full(top, n, np.int32 if n < 2 ** 31 - 1 else np.int64)   # weight_row -> row of w; n: none
    pos[wr] = np.arange(n)                    # (code -1 wraps to the last slot, which stays n)
    first = np.flatnonzero(cov["first_rsid1"].to_numpy(bool))   # a gene's first row is among them
    im = pos[rm[first]]
    pos[wr[~cand]] = n                        # only candidate SNPs can be used
    i1, i2 = pos[r1], pos[r2]
    value = cov["value"].to_numpy(float)
    in_cov = np.zeros(n + 1, bool)            # SNPs seen as RSID1 with a candidate partner (slot n: none)
    in_cov[np.where(i2 < n, i1, n)] = True
    in_cov[n] = False
    ok = in_cov[i2] & (i1 < n)
    sig2 = np.zeros(n + 1)                    # [n]: rows not used
    used = in_cov[:n] & cand
    x = np.where(used, w["weight"].to_numpy(float), 0.0)
    if "repeat_pair" in cov and not cov["repeat_pair"].isna().any() and not cov["repeat_pair"].to_numpy(bool).any():
        lo = np.where(ok, np.minimum(i1, i2), n).astype(np.intp)   # lo = n: the sentinel (x has n rows)
        hi = np.maximum(i1, i2).astype(np.intp)
        diag = np.flatnonzero(lo == hi)
        sig2[lo[diag]] = value[diag]
        var_g = expression_variance(x, mcode, nm, entries=_entries(lo, hi, value))
    else:
        lo, hi, v = upper_pairs(i1[ok].astype(np.int64), i2[ok].astype(np.int64), value[ok], n)
        sig2[lo[lo == hi]] = v[lo == hi]
        var_g = expression_variance(x, mcode, nm, entries=_entries(lo, hi, v))
    cnt = np.bincount(mcode[im[im < n]], minlength=nm).astype(float)   # n_snps_in_cov: distinct RSID1
    cnt[cnt == 0] = np.nan                                 # of the model's gene; NaN: no covariance rows
    return used, sig2[:n], var_g, cnt


def _cat(s: pd.Series) -> pd.Categorical:
    return s.array if isinstance(s.dtype, pd.CategoricalDtype) else pd.Categorical(s.astype(str))


def strings_sums(w: pd.DataFrame, cand: np.ndarray, mcode: np.ndarray, nm: int, cov: pd.DataFrame):
    """(used, sig2, var_g, n_in_cov) from covariance rows given as strings (tissue, gene, rsid1, rsid2,
    value): every string is resolved once per distinct value (categoricals), each row only gathers.

    Parameters
    ----------
    w, cand, mcode, nm
        As :func:`terms_sums`.
    cov : pandas.DataFrame
        (tissue, gene, rsid1, rsid2, value) rows, grouped by gene as PredictDB writes them.

    Returns
    -------
    tuple
    """
    n = len(w)
    _, first = np.unique(mcode, return_index=True)       # tissue and gene are per model: factorize models
    tc, tu = pd.factorize(w["tissue"].iloc[first].astype(str))
    gc, gu = pd.factorize(w["gene"].iloc[first].astype(str))
    tgm, tg_uniq = pd.factorize(tc.astype(np.int64) * len(gu) + gc)
    tgw = tgm[mcode]
    sw, snp_uniq = pd.factorize(w["rsid"].astype(str))
    S = max(len(snp_uniq), 1)
    t, g, r1, r2 = (_cat(cov[c]) for c in ("tissue", "gene", "rsid1", "rsid2"))
    tab = np.full(len(tu) * len(gu) + 1, -1, np.int32)   # tissue-gene code of each (tissue, gene) category
    tab[tg_uniq] = np.arange(len(tg_uniq))
    ct = pd.Index(tu).get_indexer(t.categories.astype(str))
    cg = pd.Index(gu).get_indexer(g.categories.astype(str))
    pair = np.where((ct[:, None] >= 0) & (cg[None, :] >= 0), ct[:, None] * len(gu) + cg[None, :], -1)
    tg_cat = np.append(tab[pair].ravel(), -1)               # [-1]: missing tissue/gene code
    tcodes, gcodes = t.codes, g.codes
    cov_tg = tg_cat[gcodes] if len(t.categories) == 1 and not (tcodes < 0).any() \
        else tg_cat[np.where((tcodes >= 0) & (gcodes >= 0), tcodes.astype(np.int64) * len(g.categories) + gcodes, -1)]
    sidx = pd.Index(snp_uniq)
    s1cat, s2cat = sidx.get_indexer(r1.categories.astype(str)), sidx.get_indexer(r2.categories.astype(str))
    value = cov["value"].to_numpy(float)
    used, sig2 = np.zeros(n, bool), np.zeros(n)
    r1codes = r1.codes          # runs of equal (tissue-gene, RSID1): RSID1 resolved once per run
    start = np.empty(len(cov_tg), bool)
    if len(cov_tg):
        start[0] = True
        np.not_equal(cov_tg[1:], cov_tg[:-1], out=start[1:])
        start[1:] |= r1codes[1:] != r1codes[:-1]
    run_len = np.diff(np.append(np.flatnonzero(start), len(cov_tg)))
    ks, kr = cov_tg[start], r1codes[start]
    pairs = []
    for rows in unique_key_groups(w, tgw * S + sw):      # one group unless a tissue-gene has several methods
        crows = rows[cand[rows]]                   # only candidate SNPs can be used: look up those alone
        look = RowLookup(tgw[crows], sw[crows], crows, n, S)
        i1 = np.repeat(look.find(ks, s1cat, kr), run_len)
        i2 = look.find(cov_tg, s2cat, r2.codes)
        ok = (i1 >= 0) & (i2 >= 0)
        in_cov = np.zeros(n + 1, bool)            # SNPs seen as RSID1 with a candidate partner (MetaXcan)
        in_cov[i1[ok]] = True
        ok &= in_cov[i2]
        lo, hi, v = upper_pairs(i1[ok], i2[ok], value[ok], n)
        sig2[lo[lo == hi]] = v[lo == hi]
        pairs += _entries(lo, hi, v)
        used[rows] = in_cov[rows] & cand[rows]
    var_g = expression_variance(np.where(used, w["weight"].to_numpy(float), 0.0), mcode, nm, entries=pairs)
    cnt = np.full(len(tg_uniq), np.nan)            # n_snps_in_cov: distinct (gene, RSID1) among run starts
    has = ks >= 0
    if has.any():
        R1 = max(len(r1.categories), 1)
        k = np.sort(ks[has].astype(np.int64) * R1 + kr[has])
        k = k[np.r_[True, k[1:] != k[:-1]]]
        seen = np.bincount(ks[has], minlength=len(tg_uniq)) > 0
        cnt = np.where(seen, np.bincount(k // R1, minlength=len(tg_uniq)).astype(float), np.nan)
    tg_of_model = np.zeros(nm, np.int64)
    tg_of_model[mcode] = tgw
    return used, sig2, var_g, cnt[tg_of_model]
