"""S-PrediXcan: gene-level association from GWAS z-scores and expression weights.

Barbeira et al. 2018 (Nat Commun 9:1825), reference implementation hakyimlab/MetaXcan
``SPrediXcan.py`` (``metax/metaxcan/AssociationCalculation.association``). For model g with weights
w_l (per copy of the model's effect allele) over the SNPs l used:

    sigma_l^2 = Gamma_ll,   sigma_g^2 = w' Gamma w                    (var_g)
    z_g = sum_l w_l sigma_l z_l / sigma_g                              (zscore)
    effect_size = sum_l w_l beta_l sigma_l^2 / sigma_g^2
    pvalue = 2 Phi(-|z_g|)

Gamma is the SNP covariance of the model's reference (the PredictDB covariance file, ``covariance=``)
or of the reference panel's dosages (``panel=``, a :class:`PanelLD`). SNPs used = model SNPs found
in the GWAS with matching alleles and a finite z, and present in Gamma; every other SNP is reported
with its reason (``not_in_gwas``, ``allele_mismatch``, ``ambiguous``, ``nonfinite_z``,
``not_in_ld``). Harmonisation: :mod:`locusflow.twas.harmonise` (MetaXcan never complements alleles;
``strand_flip=False`` reproduces it). MetaXcan aligns the GWAS once per rsid against all models of a
database, so a SNP whose effect allele differs between two models of one database gets one sign for
both; here each model's SNP is aligned on its own. All genes of a call are computed together with
grouped sums (covariance file) or one sparse-dense product (panel): no loop over genes or SNPs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ..schema import arrow_string, load
from .harmonise import AMBIGUOUS, FLIP, FLIP_SWAP, MISMATCH, SWAP, _default_index, _not_na_chrom, match, match_gwas
from .rowlookup import _RowLookup, _unique_key_groups

MODEL_COLS = ["model_id", "gene", "gene_name", "tissue", "method", "panel"]
# the columns of schema weights that S-PrediXcan reads (a trait-time reader need not load the others)
WEIGHT_COLUMNS = MODEL_COLS + ["chrom", "pos", "rsid", "effect_allele", "other_allele", "weight", "cv_r2", "cv_pval",
                               "cv_qval", "n_snps_in_model", "weight_row"]


@dataclass
class PanelLD:
    """LD of a reference panel over ``variants`` (chrom, pos, rsid, ref, alt; effect = alt).

    ``cov``: covariance of alt dosages (S-PrediXcan's Gamma); ``corr``: correlation (FUSION's R).
    """
    variants: pd.DataFrame
    cov: np.ndarray | None = None
    corr: np.ndarray | None = None

    @classmethod
    def from_dosages(cls, variants: pd.DataFrame, dosage: np.ndarray) -> "PanelLD":
        """float64 covariance (divisor n-1, numpy.cov) and correlation
        of a [m, n] alt-dosage matrix; missing calls mean-imputed."""
        x = np.array(dosage, dtype=np.float64)
        mu = np.nanmean(x, axis=1, keepdims=True)
        x = np.where(np.isnan(x), mu, x) - mu
        cov = x @ x.T / max(x.shape[1] - 1, 1)
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(sd, sd)
        corr[~np.isfinite(corr)] = 0.0
        return cls(variants.reset_index(drop=True), cov, corr)


def _codes(keys: pd.Series):
    codes, uniq = pd.factorize(keys, sort=False)
    return codes, uniq


_REASON_NAMES = ("", "not_in_gwas", "allele_mismatch", "ambiguous", "nonfinite_z", "not_in_ld", "zero_weight",
                 "model_failed")


def _reasons(w: pd.DataFrame, used: np.ndarray, mcode: np.ndarray, models, reason=None) -> dict:
    """Per model: ';'-joined SNPs used and 'rsid:reason' of the others, and per-reason counts (columns)."""
    nm = len(models)
    if reason is None:
        how = w["how"].to_numpy()
        rc = np.zeros(len(w), np.int8)
        rc[how == -1], rc[how == MISMATCH], rc[how == AMBIGUOUS] = 1, 2, 3
        rc[(how > 0) & ~np.isfinite(w["z"].to_numpy())] = 4
        rc[(rc == 0) & ~used] = 5
    else:
        rc = pd.Index(_REASON_NAMES).get_indexer(np.asarray(reason, dtype=object)).astype(np.int8)
    import pyarrow as pa
    import pyarrow.compute as pc
    snp = w["rsid"]
    if snp.isna().any():
        snp = snp.astype(object).fillna(w["chrom"].astype(str) + ":" + w["pos"].astype(str))
    if isinstance(snp.dtype, pd.CategoricalDtype):    # Arrow takes from the categories: no string per row
        cats = pa.array(np.asarray(snp.cat.categories, dtype=object), pa.string())
        codes = snp.cat.codes.to_numpy()

        def take(sel):
            return cats.take(pa.array(codes[sel]))
    else:
        arr = pa.array(snp.to_numpy(dtype=object), pa.string())

        def take(sel):
            return arr.filter(pa.array(sel)) if sel.dtype == bool else arr.take(pa.array(sel))
    out = {"snps_used": _join(mcode[used], take(used), nm)}
    drop = ~used
    names = pa.array(list(_REASON_NAMES), pa.string()).take(pa.array(rc[drop]))
    out["snps_dropped"] = _join(mcode[drop], pc.binary_join_element_wise(take(drop), names, ":"), nm)
    per = np.bincount(mcode.astype(np.int64) * 8 + np.maximum(rc, 0), minlength=nm * 8).reshape(nm, 8)   # one pass
    for k, r in enumerate(_REASON_NAMES[1:7], start=1):
        out[f"n_dropped_{r}"] = per[:, k].astype(np.int64)
    how = w["how"].to_numpy() if "how" in w else np.zeros(len(w), np.int8)
    out["n_swapped"] = np.bincount(mcode, used & ((how == SWAP) | (how == FLIP_SWAP)), minlength=nm).astype(np.int64)
    out["n_strand_flipped"] = np.bincount(mcode, used & ((how == FLIP) | (how == FLIP_SWAP)), minlength=nm).astype(np.int64)
    return out


def _join(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """';'-joined values per model code (order of appearance kept); '' if none. One stable sort by code,
    then Arrow joins each model's slice (a list array over the sorted values)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not len(codes):
        return pd.array(np.full(n, "", dtype=object), dtype=pd.ArrowDtype(pa.string()))
    values = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.string())
    if np.any(codes[1:] < codes[:-1]):
        order = np.argsort(codes, kind="stable")
        codes, values = codes[order], values.take(pa.array(order))
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.bincount(codes, minlength=n), out=offsets[1:])
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    lists = pa.ListArray.from_arrays(pa.array(offsets), values)
    return pd.array(pc.binary_join(lists, ";"), dtype=pd.ArrowDtype(pa.string()))


_RENAME = {"cv_r2": "pred_perf_r2", "cv_pval": "pred_perf_pval", "cv_qval": "pred_perf_qval"}


def _models(w: pd.DataFrame, mcode: np.ndarray, models) -> dict:
    """Per-model columns (the first row of each model), as Series in model-code order."""
    _, first = np.unique(mcode, return_index=True)
    out = {}
    for c in MODEL_COLS + ["cv_r2", "cv_pval", "cv_qval", "n_snps_in_model"]:
        if c in w:
            out[_RENAME.get(c, c)] = w[c].iloc[first].reset_index(drop=True)
    if "chrom" in w:   # chrom of the model: its first placed SNP
        pl = np.flatnonzero(_not_na_chrom(w["chrom"]))
        _, f2 = np.unique(mcode[pl], return_index=True)
        ch = np.full(len(models), "NA", dtype=object)
        ch[mcode[pl][f2]] = w["chrom"].take(pl[f2]).to_numpy(dtype=object)
        out["chrom"] = ch
    return out


def _assemble(w, used, num, var_g, eff, n_in_cov, n_used, method, ld_reference, reason=None, codes=None):
    """The results frame (schema twas_results) from per-model arrays: columns gathered in a dict and one
    frame built at the end (a column inserted into a frame costs ~0.2 ms, x 31 columns x 3 frames)."""
    mcode, models = codes if codes is not None else _codes(w["model_id"])
    nm = len(models)
    res = _models(w, mcode, models)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = num / np.sqrt(np.where(var_g > 0, var_g, np.nan))
    res.update({"zscore": z, "effect_size": eff, "var_g": var_g,
                "pvalue": 2 * ndtr(-np.abs(z)),      # = 2 norm.sf(|z|) (scipy: sf(x) = ndtr(-x))
                "n_snps_used": n_used, "n_snps_in_cov": n_in_cov})
    res.update(_reasons(w, used, mcode, models, reason))
    if "n_snps_in_model" not in res or res["n_snps_in_model"].isna().any():
        res["n_snps_in_model"] = np.bincount(mcode, (w["weight"] != 0).to_numpy(), minlength=nm).astype(np.int64)
    sch = _results_schema()
    const = {"twas_method": method, "ld_reference": ld_reference, "block_id": None, "n_imputed": 0}
    cols = {}
    for c in sch.columns:
        v = res.get(c.name, const.get(c.name))
        if not isinstance(v, (np.ndarray, pd.Series, pd.api.extensions.ExtensionArray)):
            v = np.full(nm, v, dtype=object if v is None or isinstance(v, str) else None)
        if c.type == "string" and not arrow_string(getattr(v, "dtype", None)) and pd.notna(v).any():
            # str once per column (Arrow), not per value in conform
            v = pd.Series(v).astype("string[pyarrow]").array
        cols[c.name] = v.array if isinstance(v, pd.Series) else v
    return sch.conform(pd.DataFrame(cols, copy=False), source=f"{method} kernel")


@lru_cache(maxsize=1)
def _results_schema():
    return load("twas_results")


def spredixcan(weights: pd.DataFrame, gwas: pd.DataFrame, *, covariance: pd.DataFrame | None = None,
               panel: PanelLD | None = None, strand_flip: bool = True, ambiguous: str = "keep") -> pd.DataFrame:
    """S-PrediXcan for every model in ``weights`` (schema weights rows).

    ``gwas``: rsid and/or chrom/pos, ref, alt (effect), z[, beta] (schema sumstats columns).
    ``covariance``: (tissue, gene, rsid1, rsid2, value) rows from :func:`locusflow.io.weights.read_covariance`
    with the model's tissue added; or ``panel``. Returns one row per model (schema twas_results, less
    block_id).
    """
    if (covariance is None) == (panel is None):
        raise ValueError("give exactly one of covariance= or panel=")
    if not len(weights):
        return load("twas_results").empty()
    w = match_gwas(weights if _default_index(weights) else weights.reset_index(drop=True), gwas, strand_flip=strand_flip, ambiguous=ambiguous)
    return spredixcan_matched(w, covariance=covariance, panel=panel)


def spredixcan_matched(w: pd.DataFrame, *, covariance: pd.DataFrame | None = None,
                       panel: PanelLD | None = None) -> pd.DataFrame:
    """:func:`spredixcan` on weights already matched to the GWAS (:func:`~locusflow.twas.harmonise.match_gwas`:
    columns ``z``, ``beta``, ``how``). Covariance rows with the import-time ``term`` column (and weights with
    ``cov_var``...) take :func:`locusflow.twas.covpath.spredixcan_imported`."""
    cand = (w["how"].to_numpy() > 0) & np.isfinite(w["z"].to_numpy())
    mcode, models = _codes(w["model_id"])
    nm = len(models)
    if covariance is not None:
        from .covpath import imported, spredixcan_imported
        if imported(w, covariance):
            res = spredixcan_imported(w, cand, mcode, models, covariance)
            if res is not None:
                return res
        if _coded(w, covariance):
            return _with_codes(w, cand, mcode, models, covariance)
        return _with_covariance(w, cand, mcode, models, covariance)
    return _with_panel(w, cand, mcode, nm, panel)


def _cat(s: pd.Series) -> pd.Categorical:
    return s.array if isinstance(s.dtype, pd.CategoricalDtype) else pd.Categorical(s.astype(str))


def _with_covariance(w, cand, mcode, models, cov):
    """Grouped sums over the covariance rows, all on integer codes: every string (tissue, gene, rsid) is
    resolved once per distinct value (Arrow dictionary / categorical), each covariance row only gathers."""
    nm, n = len(models), len(w)
    _, first = np.unique(mcode, return_index=True)       # tissue and gene are per model: factorize models
    tc, tu = pd.factorize(w["tissue"].iloc[first].astype(str))
    gc, gu = pd.factorize(w["gene"].iloc[first].astype(str))
    tgm, tg_uniq = pd.factorize(tc.astype(np.int64) * len(gu) + gc)
    tgw = tgm[mcode]
    sw, snp_uniq = pd.factorize(w["rsid"].astype(str))
    S = max(len(snp_uniq), 1)
    t, g, r1, r2 = (_cat(cov[c]) for c in ("tissue", "gene", "rsid1", "rsid2"))
    # tissue-gene code of each (tissue category, gene category) of the file, then of each row (one gather)
    tab = np.full(len(tu) * len(gu) + 1, -1, np.int32)
    tab[tg_uniq] = np.arange(len(tg_uniq))
    ct = pd.Index(tu).get_indexer(t.categories.astype(str))
    cg = pd.Index(gu).get_indexer(g.categories.astype(str))
    pair = np.where((ct[:, None] >= 0) & (cg[None, :] >= 0), ct[:, None] * len(gu) + cg[None, :], -1)
    tg_cat = np.append(tab[pair].ravel(), -1)               # [-1]: missing tissue/gene code
    tcodes, gcodes = t.codes, g.codes
    cov_tg = tg_cat[gcodes] if len(t.categories) == 1 and not (tcodes < 0).any() \
        else tg_cat[np.where((tcodes >= 0) & (gcodes >= 0), tcodes.astype(np.int64) * len(g.categories) + gcodes, -1)]
    sidx = pd.Index(snp_uniq)
    s1cat = sidx.get_indexer(r1.categories.astype(str))
    s2cat = sidx.get_indexer(r2.categories.astype(str))
    value = cov["value"].to_numpy(float)
    wt = w["weight"].to_numpy(float)
    used, sig2 = np.zeros(n, bool), np.zeros(n)
    var_g = np.zeros(nm)
    # runs of equal (tissue-gene, RSID1): the file is grouped by gene, so RSID1 is resolved once per run
    r1codes = r1.codes
    start = np.empty(len(cov_tg), bool)
    if len(cov_tg):
        start[0] = True
        np.not_equal(cov_tg[1:], cov_tg[:-1], out=start[1:])
        start[1:] |= r1codes[1:] != r1codes[:-1]
    run_len = np.diff(np.append(np.flatnonzero(start), len(cov_tg)))
    ks, kr = cov_tg[start], r1codes[start]
    for rows in _unique_key_groups(w, tgw * S + sw):      # one group unless a tissue-gene has several methods
        crows = rows[cand[rows]]                   # only candidate SNPs can be used: look up those alone
        look = _RowLookup(tgw[crows], sw[crows], crows, n, S)
        i1 = np.repeat(look.find(ks, s1cat, kr), run_len)
        i2 = look.find(cov_tg, s2cat, r2.codes)
        ok = (i1 >= 0) & (i2 >= 0)
        in_cov = np.zeros(n + 1, bool)            # SNPs seen as RSID1 with a candidate partner (MetaXcan)
        in_cov[i1[ok]] = True
        ok &= in_cov[i2]
        lo, hi, v = _upper_pairs(i1[ok], i2[ok], value[ok], n)
        diag = lo == hi
        sig2[lo[diag]] = v[diag]
        var_g += np.bincount(mcode[lo], v * wt[lo] * wt[hi] * np.where(diag, 1.0, 2.0), minlength=nm)
        used[rows] = in_cov[rows] & cand[rows]
    num, eff, n_used = _model_sums(w, mcode, used, wt, sig2, var_g, nm)
    # n_snps_in_cov: distinct RSID1 of the gene in the whole file (NaN when the gene has none); distinct
    # (gene, RSID1) pairs are found among the starts of runs of equal pairs (the file is grouped by gene)
    cnt = np.full(len(tg_uniq), np.nan)
    has = ks >= 0
    if has.any():
        R1 = max(len(r1.categories), 1)
        k = np.sort(ks[has].astype(np.int64) * R1 + kr[has])      # distinct pairs are among the run starts
        k = k[np.r_[True, k[1:] != k[:-1]]]
        seen = np.bincount(ks[has], minlength=len(tg_uniq)) > 0
        cnt = np.where(seen, np.bincount(k // R1, minlength=len(tg_uniq)).astype(float), np.nan)
    tg_of_model = np.zeros(nm, np.int64)
    tg_of_model[mcode] = tgw
    var_g = np.where(n_used > 0, var_g, np.nan)
    return _assemble(w, used, num, var_g, eff, cnt[tg_of_model], n_used, "spredixcan", "covariance",
                     codes=(mcode, models))


def _upper_pairs(a, b, v, n):
    """Covariance entries as upper-triangle (lo, hi, value); of a pair given twice, the later entry wins
    (a later (b,a) overrides (a,b)), as in MetaXcan."""
    lo, hi = (a, b) if np.all(a <= b) else (np.minimum(a, b), np.maximum(a, b))   # upper triangle: as is
    pk = lo.astype(np.int64) * n + hi
    if len(pk) and not np.all(pk[1:] > pk[:-1]):        # not strictly increasing: maybe repeated pairs
        _, first_rev = np.unique(pk[::-1], return_index=True)
        last = np.sort(len(pk) - 1 - first_rev)
        lo, hi, v = lo[last], hi[last], v[last]
    return lo, hi, v


def _model_sums(w, mcode, used, wt, sig2, var_g, nm):
    """Per model: sum_l w_l sigma_l z_l (numerator of z), effect size sum_l w_l sigma_l^2 beta_l / var_g,
    and the number of SNPs used."""
    z, beta = np.nan_to_num(w["z"].to_numpy()), w["beta"].to_numpy()
    num = np.bincount(mcode, np.where(used, wt * z * np.sqrt(sig2), 0.0), minlength=nm)
    eff = np.bincount(mcode, np.where(used, wt * beta * sig2, 0.0), minlength=nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(var_g > 0, eff / var_g, np.nan)
    return num, eff, np.bincount(mcode, used, minlength=nm).astype(int)


_CODES = ("weight_row1", "weight_row2", "model_row", "first_rsid1")


def _coded(w, cov) -> bool:
    """Covariance rows carry the integer codes written at import (schema snp_covariance) for these weights."""
    if "weight_row" not in w or not all(c in cov for c in _CODES) or w["weight_row"].isna().any():
        return False
    return not any(cov[c].isna().any() for c in _CODES)


def _with_codes(w, cand, mcode, models, cov):
    """:func:`_with_covariance` on the integer codes stored at import: each covariance row names its weight
    rows (``weight_row1/2``) and model (``model_row``), so no string is resolved; same sums, same rules.
    Weight rows that cannot be used map to the sentinel position n, whose weight is 0, so the sums run over
    all covariance rows without compacting them; when the import found no repeated pair (``repeat_pair``
    all false) the later-entry-wins rule has nothing to do and is skipped."""
    nm, n = len(models), len(w)
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
    wt = w["weight"].to_numpy(float)
    in_cov = np.zeros(n + 1, bool)            # SNPs seen as RSID1 with a candidate partner (slot n: none)
    in_cov[np.where(i2 < n, i1, n)] = True
    in_cov[n] = False
    ok = in_cov[i2] & (i1 < n)
    sig2 = np.zeros(n + 1)                    # [n]: rows not used
    if "repeat_pair" in cov and not cov["repeat_pair"].isna().any() and not cov["repeat_pair"].to_numpy(bool).any():
        lo = np.where(ok, np.minimum(i1, i2), n).astype(np.intp)   # lo = n: not used; intp: numpy
        hi = np.maximum(i1, i2).astype(np.intp)                   # gathers ~3x faster than with int32
        diag = np.flatnonzero(lo == hi)
        sig2[lo[diag]] = value[diag]
        wt_x, mc_x = np.append(wt, 0.0), np.append(mcode, 0)
        terms = value * wt_x[lo]              # (v w_lo) w_hi x2 off the diagonal: the same products, in
        terms *= wt_x[hi]                     # the same order, as the compacted sums (x2 is exact)
        terms *= 2.0
        terms[diag] *= 0.5
        if not np.isfinite(value).all():      # 0 x inf/NaN on unused rows must not reach the sums
            terms[lo == n] = 0.0
        var_g = np.bincount(mc_x[lo], terms, minlength=nm)[:nm]
    else:
        lo, hi, v = _upper_pairs(i1[ok].astype(np.int64), i2[ok].astype(np.int64), value[ok], n)
        diag = lo == hi
        sig2[lo[diag]] = v[diag]
        var_g = np.bincount(mcode[lo], v * wt[lo] * wt[hi] * np.where(diag, 1.0, 2.0), minlength=nm)
    used = in_cov[:n] & cand
    num, eff, n_used = _model_sums(w, mcode, used, wt, sig2[:n], var_g, nm)
    cnt = np.bincount(mcode[im[im < n]], minlength=nm).astype(float)   # n_snps_in_cov: distinct RSID1
    cnt[cnt == 0] = np.nan                                 # of the model's gene; NaN: no covariance rows
    var_g = np.where(n_used > 0, var_g, np.nan)
    return _assemble(w, used, num, var_g, eff, cnt, n_used, "spredixcan", "covariance", codes=(mcode, models))


def _panel_matrix(w, cand, mcode, nm, panel, weights):
    """Sparse [models, panel variants] matrix of weights oriented to the panel's alt allele."""
    idx, sign, _ = match(w, panel.variants, strand_flip=True, ambiguous="keep")
    used = cand & (sign != 0)
    import scipy.sparse as sp     # imported here: the covariance path and the CLI start do not need it
    W = sp.csr_matrix((weights[used] * sign[used], (mcode[used], idx[used])), shape=(nm, len(panel.variants)))
    return W, used, idx, sign


def _with_panel(w, cand, mcode, nm, panel):
    wt = w["weight"].to_numpy(float)
    W, used, idx, sign = _panel_matrix(w, cand, mcode, nm, panel, wt)
    G = panel.cov
    var_g = np.asarray(W.multiply(W @ G).sum(axis=1)).ravel()      # rowwise w' Gamma w
    sig = np.sqrt(np.diag(G))[np.where(used, idx, 0)]
    z, b = np.nan_to_num(w["z"].to_numpy()), w["beta"].to_numpy()
    num = np.bincount(mcode, np.where(used, wt * z * sig, 0.0), minlength=nm)
    eff = np.bincount(mcode, np.where(used, wt * b * sig ** 2, 0.0), minlength=nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        eff = np.where(var_g > 0, eff / var_g, np.nan)
    n_used = np.bincount(mcode, used, minlength=nm).astype(int)
    var_g = np.where(n_used > 0, var_g, np.nan)
    n_in_ld = np.bincount(mcode, sign != 0, minlength=nm).astype(float)
    return _assemble(w, used, num, var_g, eff, n_in_ld, n_used, "spredixcan", "panel")
