"""S-PrediXcan on an imported covariance file: what does not depend on the trait is computed at import.

For model g and the set U of its SNPs that a trait can use (in the GWAS, alleles matched, finite z, in
the covariance), MetaXcan's variance of predicted expression is

    var_g = sum over covariance rows r whose two SNPs are both in U of term_r,
    term_r = value_r * w(rsid1_r) * w(rsid2_r) * (2 off the diagonal, 1 on it).

``term_r``, sigma_l^2 = Gamma_ll (``cov_var``) and MetaXcan's n_snps_in_cov depend only on the model
database and its covariance file, so :func:`covariance_terms` computes them once, when the database is
imported (columns ``term`` of schema snp_covariance; ``cov_var``, ``cov_partner``, ``n_snps_in_cov`` of
schema weights). A trait then only decides which SNPs are used: :func:`spredixcan_imported` reads three
columns of the covariance rows (``weight_row1``, ``weight_row2``, ``term``) and forms var_g with two
gathers, one product and one grouped sum -- no string, no covariance value looked up per trait.

Same rules as :func:`locusflow.twas.spredixcan.spredixcan` on the covariance strings:

- a pair given twice: the later entry wins (the earlier rows get term 0 at import);
- a SNP is "in the covariance" (MetaXcan) when it is RSID1 of a row whose RSID2 is a candidate SNP of
  the model; when every such SNP also has a diagonal entry (the PredictDB layout), that is "a candidate
  with a diagonal entry", which needs no covariance row per trait. Where some SNP lacks its diagonal
  entry, :func:`spredixcan_imported` returns None and the caller runs the general path.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

COV_COLUMNS = ("cov_var", "cov_partner", "n_snps_in_cov")      # schema weights, set at import
# covariance rows one work unit reads at most (weight_row1, weight_row2, term: 16 bytes each, ~320 MB);
# GTEx v8 is ~10-20 M rows per tissue, so 49 tissues are cut into ~40 units
MAX_COVARIANCE_ROWS = 20_000_000
TERM_COLUMNS = ("weight_row1", "weight_row2", "term")            # what a trait reads of snp_covariance


def _codes_ok(cov: pd.DataFrame, w: pd.DataFrame) -> bool:
    if "weight_row" not in w or w["weight_row"].isna().any() or not len(w):
        return False
    need = ("weight_row1", "weight_row2", "model_row", "first_rsid1")
    return all(c in cov for c in need) and not any(cov[c].isna().any() for c in need)


def covariance_terms(cov: pd.DataFrame, w: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(``cov`` with ``term``, ``w`` with ``cov_var``, ``cov_partner``, ``n_snps_in_cov``).

    ``cov``: covariance rows with the integer codes of :func:`locusflow.io.weights.covariance_codes`;
    ``w``: the imported weights (with ``weight_row``). Rows left uncoded (a tissue-gene with several
    models) get null terms and the weights null covariance columns: S-PrediXcan then resolves strings.
    """
    cov, w = cov.copy(), w.copy()
    if not _codes_ok(cov, w):
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
    tg = w["tissue"].astype(str) + "\t" + w["gene"].astype(str)
    code, _ = pd.factorize(tg)
    _, at = np.unique(code, return_index=True)        # first weight row of each tissue-gene (model_row)
    n_cov = cnt[wr[at][code]]
    w["cov_var"] = var[wr]
    w["cov_partner"] = partner[wr]
    w["n_snps_in_cov"] = pd.array(np.where(n_cov > 0, n_cov, 0), dtype="Int64")
    w.loc[n_cov == 0, "n_snps_in_cov"] = pd.NA
    return cov, w


def imported(w: pd.DataFrame, cov: pd.DataFrame) -> bool:
    """``w`` and ``cov`` carry the import-time columns of this module (none of them null)."""
    if not all(c in w for c in COV_COLUMNS + ("weight_row",)) or not all(c in cov for c in TERM_COLUMNS):
        return False
    return not (w["weight_row"].isna().any() or w["cov_partner"].isna().any() or
                any(cov[c].isna().any() for c in TERM_COLUMNS))


def var_g_sums(wr, used, mcode, nm, chunks) -> np.ndarray:
    """sum of ``term`` per model over the covariance rows whose two weight rows are used; ``chunks``: an
    iterable of (weight_row1, weight_row2, term) arrays (Arrow record batches as they are read, or one
    frame's columns). Weight rows not in ``wr``, and code -1, count as unused. Chunk by chunk into small
    reused buffers: no temporary the size of the covariance table (fresh memory is slow to fault in on
    these VMs: ~20 ms per 13 MB array measured, against ~1 ms for the arithmetic)."""
    top = int(max(wr.max(), 0) if len(wr) else 0) + 2
    u = np.zeros(top)
    u[wr[used]] = 1.0
    mc = np.full(top, nm, np.intp)
    mc[wr] = mcode
    out = np.zeros(nm + 1)
    buf = None
    for r1, r2, term in chunks:
        n = len(term)
        if not n:
            continue
        over = max(int(r1.max()), int(r2.max())) + 2
        if over > len(u):           # rows naming weight rows beyond those read: unused
            u, mc = np.append(u, np.zeros(over - len(u))), np.append(mc, np.full(over - len(mc), nm, np.intp))
        r1 = np.where(r1 < 0, len(u) - 1, r1) if r1.min() < 0 else r1     # -1: the last slot (unused)
        r2 = np.where(r2 < 0, len(u) - 1, r2) if r2.min() < 0 else r2
        if buf is None or len(buf) < n:
            buf, b2, i1, i2 = np.empty(n), np.empty(n), np.empty(n, np.intp), np.empty(n, np.intp)
        t, t2, k1, k2 = buf[:n], b2[:n], i1[:n], i2[:n]
        np.copyto(k1, r1)           # intp indices: numpy's take is ~3x faster than with int32
        np.copyto(k2, r2)
        np.take(u, k1, out=t)
        np.take(u, k2, out=t2)
        t *= t2
        if np.isfinite(term).all():
            t *= term
        else:                       # 0 x inf/NaN on rows not used must not reach the sums
            t[:] = np.where(t > 0, term, 0.0)
        np.take(mc, k1, out=k2)
        out += np.bincount(k2, t, minlength=nm + 1)
    return out[:nm]


def frame_chunks(cov: pd.DataFrame, size: int = 1 << 17):
    """(weight_row1, weight_row2, term) of ``cov`` in slices of ``size`` rows."""
    cols = [cov[c].to_numpy() for c in TERM_COLUMNS]
    for i in range(0, len(cov), size):
        yield tuple(c[i:i + size] for c in cols)


def batch_chunks(batches):
    """(weight_row1, weight_row2, term) numpy views of Arrow record batches (no copy when null-free)."""
    for b in batches:
        yield tuple(b.column(c).to_numpy(zero_copy_only=False) for c in TERM_COLUMNS)


def spredixcan_imported(w: pd.DataFrame, cand: np.ndarray, mcode: np.ndarray, models, cov):
    """S-PrediXcan of every model of ``w`` (GWAS already matched: ``z``, ``beta``, ``how``) from the import-time
    columns; ``cov``: covariance rows (a frame with :data:`TERM_COLUMNS`, or an iterable of their chunks).
    None when a SNP that is RSID1 of a covariance row lacks its diagonal entry (the general path runs)."""
    from .spredixcan import _assemble, _model_sums
    var = w["cov_var"].to_numpy(float, na_value=np.nan)
    has = np.isfinite(var)
    if (w["cov_partner"].to_numpy(bool) & ~has).any():
        return None
    used = cand & has
    nm = len(models)
    wr = w["weight_row"].to_numpy(np.int64)
    chunks = frame_chunks(cov) if isinstance(cov, pd.DataFrame) else cov
    var_g = var_g_sums(wr, used, mcode, nm, chunks)
    wt = w["weight"].to_numpy(float)
    num, eff, n_used = _model_sums(w, mcode, used, wt, np.where(used, var, 0.0), var_g, nm)
    _, first = np.unique(mcode, return_index=True)
    cnt = w["n_snps_in_cov"].to_numpy(float, na_value=np.nan)[first]
    var_g = np.where(n_used > 0, var_g, np.nan)
    return _assemble(w, used, num, var_g, eff, cnt, n_used, "spredixcan", "covariance", codes=(mcode, models))


# ---------------------------------------------------------------------------------------------------
# stage kernel: shards of models (no LD block to read), GWAS read once per shard

W_READ = ("model_id", "gene", "gene_name", "tissue", "method", "panel", "chrom", "pos", "rsid", "effect_allele",
          "other_allele", "weight", "cv_r2", "cv_pval", "cv_qval", "n_snps_in_model", "weight_row") + COV_COLUMNS
W_DICT = ("model_id", "gene", "gene_name", "tissue", "method", "panel", "rsid", "effect_allele", "other_allele")
G_READ = ("rsid", "chrom", "pos", "ref", "alt", "z", "beta")


def covariance_units(weights_path, shards: int = 1) -> list[dict]:
    """``shards`` work units of whole models, as weight_row ranges [lo, hi) of about equal size (rows of a
    model are contiguous since import); one unit reading everything when ``shards`` is 1."""
    from ..io.dataset import read_arrow
    if shards <= 1:
        return [{"unit_id": "all", "all": True, "cost": 1.0}]
    t = read_arrow(weights_path, "weights", columns=["model_id", "weight_row"], dictionary=["model_id"])
    wr = t.column("weight_row").to_numpy()
    mid = pd.factorize(np.asarray(t.column("model_id").to_pandas()))[0]
    order = np.argsort(wr)
    wr, mid = wr[order], mid[order]
    starts = np.flatnonzero(np.r_[True, mid[1:] != mid[:-1]])
    if len(starts) != len(np.unique(mid)):      # a model split over ranges (imported by an older version)
        return [{"unit_id": "all", "all": True, "cost": 1.0}]
    cut = np.unique(starts[np.searchsorted(starts, np.linspace(0, len(wr), shards + 1)[1:-1])])
    edges = np.r_[wr[0], wr[cut], wr[-1] + 1]
    edges = np.unique(edges)
    return [{"unit_id": f"weight_rows {lo}-{hi}", "lo": int(lo), "hi": int(hi), "cost": float(hi - lo)}
            for lo, hi in zip(edges[:-1], edges[1:])]


_POOL = None


def _pool() -> ThreadPoolExecutor:
    """Two threads for overlapping reads (started once per process: ~4 ms per thread start here)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(2, thread_name_prefix="locusflow-read")
    return _POOL


def _candidate_rows(keys, w):
    """(GWAS keys table (rsid, pos), mask of its rows that can match a weight of ``w``, and per row the
    index of its rsid in the weights' rsid dictionary (null: none)): a superset of the rows that can match
    (:func:`locusflow.twas.harmonise.match` decides), by rsid or position. Filtering in Arrow keeps the
    10^5-10^6-row GWAS out of pandas; file order is kept, so "the first matching row wins" picks the same
    row. ``w``'s rsid column must hold one dictionary (``unify_dictionaries``)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    keep = code = None
    rs = w.column("rsid")
    if rs.num_chunks and rs.null_count < len(rs):
        vals = rs.chunk(0).dictionary if pa.types.is_dictionary(rs.type) else pc.unique(rs.drop_null())
        code = pc.index_in(keys.column("rsid"), value_set=vals)
        keep = pc.is_valid(code)
    pos = w.column("pos").drop_null()
    if len(pos):
        at = pc.is_in(keys.column("pos"), value_set=pc.unique(pos))
        keep = at if keep is None else pc.or_(keep, at)
    return keys, keep, code


def _gwas_frame(keys, vals, keep, code, rsid_categories) -> pd.DataFrame:
    """The GWAS rows where ``keep`` (none when None) in file order, as a frame of :data:`G_READ`; rsid coded
    on ``rsid_categories`` (the weights' own categories object: matching compares integer codes)."""
    import pyarrow as pa
    from ..io.fastread import categorical
    t = pa.Table.from_arrays(keys.columns + vals.columns, names=keys.column_names + vals.column_names)
    if keep is None:
        t, code = t.slice(0, 0), None
    else:
        t = t.filter(keep)
        code = code.filter(keep) if code is not None else None
    g = _frame(t.select([c for c in G_READ if c != "rsid"]))
    if code is not None and rsid_categories is not None:
        codes = code.to_numpy(zero_copy_only=False)
        codes = np.where(np.isnan(codes), -1, codes).astype(np.int64) if codes.dtype.kind == "f" else codes
        g.insert(0, "rsid", categorical(codes, rsid_categories))
    else:
        g.insert(0, "rsid", _frame(t.select(["rsid"]))["rsid"])
    return g


def _frame(t):
    """pandas frame of an Arrow table (dictionary columns -> categoricals; the partition key ``chrom``
    dictionary-encoded first, so that no string is made per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from ..io.fastread import arrow_frame
    if "chrom" in t.column_names and not pa.types.is_dictionary(t.schema.field("chrom").type):
        t = t.set_column(t.column_names.index("chrom"), "chrom", pc.dictionary_encode(t.column("chrom")))
    return arrow_frame(t)


def twas_covariance(unit: dict, *, weights: str, sumstats: str, covariance: str, blocks: str | None = None,
                    window: int = 1_000_000, options: dict | None = None) -> pd.DataFrame:
    """S-PrediXcan of the models of one shard against the model files' covariance (schema twas_results).

    SNPs placed by the import are matched on chrom:pos, the others on rsid; a model's block is that of the
    median position of its SNPs (their GWAS position when the weights give none): ``blocks`` (a BED) or
    windows of ``window`` bp.
    """
    from ..io.dataset import read_arrow, read_dataset
    from ..schema import load
    from .harmonise import match_gwas
    from .spredixcan import _codes, spredixcan_matched
    opts = {k: v for k, v in (options or {}).items() if k in ("strand_flip", "ambiguous")}
    rng = None if unit.get("all") else [("weight_row", ">=", unit["lo"]), ("weight_row", "<", unit["hi"])]
    tw = read_arrow(weights, "weights", columns=list(W_READ), filters=rng, dictionary=W_DICT)
    if not tw.num_rows:
        return load("twas_results").empty()
    crng = None if unit.get("all") else [("weight_row1", ">=", unit["lo"]), ("weight_row1", "<", unit["hi"])]
    tw = tw.unify_dictionaries()            # one rsid dictionary: the GWAS rsids are coded on it
    pool = _pool()                          # reads overlap (Arrow decodes outside the GIL) with the frames
    # the GWAS keys (rsid, pos), then the rows that can match; the other columns are read meanwhile
    fk = pool.submit(lambda: _candidate_rows(read_arrow(sumstats, "sumstats", columns=["rsid", "pos"]), tw))
    fv = pool.submit(read_arrow, sumstats, "sumstats", columns=[c for c in G_READ if c not in ("rsid", "pos")],
                     dictionary=("ref", "alt"))
    w = _frame(tw)
    general = w["cov_partner"].isna().any() or (w["cov_partner"].to_numpy(bool) &
                                                 w["cov_var"].isna().to_numpy()).any()
    fc = None if general else pool.submit(
        read_arrow, covariance, "snp_covariance", columns=list(TERM_COLUMNS), filters=crng)
    keys, keep, code = fk.result()
    vals = fv.result()
    if keys.num_rows != vals.num_rows:
        raise RuntimeError(f"{sumstats}: columns read with different row counts")   # never expected
    cats = w["rsid"].cat.categories if isinstance(w["rsid"].dtype, pd.CategoricalDtype) else None
    g = _gwas_frame(keys, vals, keep, code, cats)
    w = match_gwas(w, g, **opts)
    if general:  # strings needed (uncoded rows, or a SNP without its diagonal entry): the model's rows
        cov = read_dataset(covariance, "snp_covariance",
                           filters=[("gene", "in", list(pd.unique(w["gene"].astype(str))))])
        res = spredixcan_matched(w.drop(columns=list(COV_COLUMNS)), covariance=cov)
    else:        # three columns of the covariance, chunk by chunk as read (no copy)
        cand = (w["how"].to_numpy() > 0) & np.isfinite(w["z"].to_numpy())
        mcode, models = _codes(w["model_id"])
        res = spredixcan_imported(w, cand, mcode, models, batch_chunks(fc.result().to_batches()))
    models, chrom, pos = _model_places(w, g)
    at = pd.Index(models).get_indexer(res["model_id"].astype(str))
    res["chrom"] = pd.array(chrom[at], dtype="string[pyarrow]")      # Arrow strings: no per-value cast
    res["block_id"] = pd.array(_model_blocks(chrom, pos, blocks, window)[at], dtype="string[pyarrow]")
    return res


def _model_places(w: pd.DataFrame, g: pd.DataFrame):
    """(model ids, chrom, median position) of every model of ``w``, by the store path's rule
    (:func:`locusflow.twas.genome.main_positions`) over its located SNPs: placed by the weights, else at
    their GWAS row; chrom 'NA' and NaN when none is located."""
    from .genome import main_positions
    from .harmonise import _not_na_chrom
    mcode, models = pd.factorize(w["model_id"])
    placed = _not_na_chrom(w["chrom"]) & w["pos"].notna().to_numpy()
    gi = w["gwas_row"].to_numpy()
    wc, gc = pd.Categorical(w["chrom"]), pd.Categorical(g["chrom"])
    cats = wc.categories.union(gc.categories)
    gcode = np.append(pd.Categorical(gc, categories=cats).codes, -1)     # gi = -1 (no GWAS row): -1, NaN
    ccode = np.where(placed, pd.Categorical(wc, categories=cats).codes, gcode[gi])
    pos = np.where(placed, w["pos"].to_numpy(float, na_value=np.nan), np.append(g["pos"].to_numpy(float), np.nan)[gi])
    ok = ccode >= 0
    names = np.asarray(cats, dtype=object).astype(str)
    main, med = main_positions(mcode[ok], ccode[ok], names, pos[ok], len(models))[:2]
    chrom = np.where(main >= 0, names[np.clip(main, 0, None)] if len(names) else "NA", "NA").astype(object)
    return np.asarray(models, dtype=object).astype(str), chrom, med


def _model_blocks(chrom, pos, blocks, window) -> np.ndarray:
    """block_id of each model position: the BED's block holding it, or its ``window``-bp window (the store
    path's :func:`~locusflow.twas.genome.window_blocks` and :func:`~locusflow.twas.genome.assign_blocks`)."""
    from .genome import assign_blocks, read_blocks_bed, window_blocks
    ok = np.isfinite(pos) & (chrom != "NA")
    m = pd.DataFrame({"chrom": chrom[ok], "pos": pos[ok]})
    out = np.full(len(chrom), None, dtype=object)
    if len(m):
        out[ok] = assign_blocks(m, read_blocks_bed(blocks) if blocks else window_blocks(m, window))
    return out
