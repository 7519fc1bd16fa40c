"""TWAS work units and the task functions that run one: read the unit's inputs, call the kernels.

Store path (``ld_reference: store``): models grouped by LD block (:mod:`locusflow.twas.places`),
consecutive blocks of a chromosome batched into units (:func:`twas_units`). :func:`twas_block` reads
the unit's weights and GWAS rows once and opens the genotype store once, then for each block reads the
panel dosages of every SNP of every model in it and runs S-PrediXcan or FUSION for all of them.
S-PrediXcan of consecutive small blocks runs as one call on a block-diagonal panel covariance (each
block's own entries, so the same numbers; see :func:`block_groups`). Batching removes the fixed cost
of a read per block (~0.1 s), which dominated at ~1,700 genome-wide blocks.

Covariance path (``ld_reference: covariance``): no LD to share, so the models are cut into weight_row
ranges (:func:`covariance_units`) that each read the GWAS once (:func:`twas_covariance`).

Units carry paths, coordinates and model ids (DESIGN rule 2); nothing here imports Spark or Dask.
Weight scales are converted through w_sd = w_allele * sigma_l (sigma_l the panel SD of the SNP's
dosage): FUSION on PredictDB weights or S-PrediXcan on FUSION weights is then well defined.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.dataset import read_arrow, read_dataset
from ..io.matching import is_placed, match_variants
from ..schema import load
from .covariance import COV_COLUMNS, TERM_COLUMNS, batch_chunks
from .fusion import fusion
from .inputs import G_READ, W_DICT, W_READ, PanelSource, arrow_to_frame, candidate_rows, gwas_frame, read_pool, unit_weights
from .places import model_blocks, model_places, model_positions, run_blocks
from .spredixcan import match_gwas, spredixcan, spredixcan_matched


def twas_units(weights_path, blocks=None, per_unit: int = 16, max_cost: float | None = None,
               window: int = 1_000_000) -> list[dict]:
    """Work units of up to ``per_unit`` consecutive blocks of one chromosome that hold models.

    A model goes to the block of its median position (:mod:`locusflow.twas.places`). A block's cost is
    (SNPs of its models)^2; a unit also closes before its cost would pass ``max_cost``.

    Parameters
    ----------
    weights_path : str or path
        The ``weights`` dataset.
    blocks : pandas.DataFrame, str or None
        Blocks (:func:`locusflow.ld.blocks.resolve_blocks` output or spec); None: ``window``-bp windows.
    per_unit : int
        Most blocks per unit.
    max_cost : float, optional
        Cost cap of a unit (default: ``per_unit`` times the mean block cost, so that a unit of large
        blocks holds fewer).
    window : int
        Window size in bp when ``blocks`` is None.

    Returns
    -------
    list of dict
        unit_id, chrom, lo, hi (position range of its models' SNPs), cost and blocks
        (``[block_id, start, stop, [model ids]]`` each): the task reads weights, GWAS and panel once.
    """
    w = read_dataset(weights_path, "weights", columns=["model_id", "chrom", "pos"])
    mp = model_positions(w)
    blocks = run_blocks(blocks, mp["chrom"].to_numpy(), mp["pos"].to_numpy(), window)
    mp["block_id"] = model_blocks(mp["chrom"].to_numpy(), mp["pos"].to_numpy(), blocks)
    mp = mp.dropna(subset=["block_id"])
    if not len(mp):
        return []
    b = blocks.set_index("block_id").loc[pd.unique(mp["block_id"])].reset_index()
    g = mp.groupby("block_id", sort=False)
    b = b.join(g["lo"].min(), on="block_id").join(g["hi"].max(), on="block_id").join(g["n"].sum(), on="block_id")
    b["models"] = b["block_id"].map(g["model_id"].agg(list))
    b["cost"] = b["n"].astype(float) ** 2
    b = b.sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    per_unit = max(1, int(per_unit))
    cap = float(max_cost) if max_cost else per_unit * float(b["cost"].mean())
    chrom, costs = b["chrom"].astype(str).to_numpy(), b["cost"].to_numpy()
    spans, first, cost = [], 0, 0.0
    for i in range(len(b)):      # loop over blocks (a few thousand genome-wide): where each unit closes
        if i > first and (i - first >= per_unit or chrom[i] != chrom[first] or cost + costs[i] > cap):
            spans.append((first, i))
            first, cost = i, 0.0
        cost += costs[i]
    spans.append((first, len(b)))
    bid, start, stop = b["block_id"].to_numpy(), b["start"].to_numpy(), b["stop"].to_numpy()
    lo, hi, models = b["lo"].to_numpy(), b["hi"].to_numpy(), b["models"].to_numpy()
    return [{"unit_id": bid[f] if t - f == 1 else f"{chrom[f]}:{int(start[f])}-{int(stop[t - 1])}",
             "chrom": chrom[f], "lo": int(lo[f:t].min()), "hi": int(hi[f:t].max()), "cost": float(costs[f:t].sum()),
             "blocks": [[bid[k], int(start[k]), int(stop[k]), list(models[k])] for k in range(f, t)]}
            for f, t in spans]


def twas_block(unit: dict, *, weights: str, sumstats: str, store: str, method: str = "spredixcan",
               options: dict | None = None) -> pd.DataFrame:
    """TWAS of every model in a store-path unit's blocks, against the genotype store's LD.

    The unit's weights, GWAS rows (its chromosome, [lo, hi]) and panel variants are read once and the
    genotype store opened once; each block (or group of blocks, :func:`block_groups`) then gets its own
    panel LD over the SNPs its models use.

    Parameters
    ----------
    unit : dict
        A unit of :func:`twas_units`.
    weights, sumstats, store : str
        Paths of the ``weights`` and ``sumstats`` datasets and of the genotype store.
    method : {'spredixcan', 'fusion'}
        The kernel.
    options : dict, optional
        Kernel options (strand_flip, ambiguous; FUSION: impute, max_impute, min_r2pred, best_model,
        best_by).

    Returns
    -------
    pandas.DataFrame
        Schema twas_results, with each model's block_id.
    """
    w = unit_weights(weights, unit)
    if not len(w):
        return load("twas_results").empty()
    mid = w["model_id"].astype(str).to_numpy()
    blocks = unit["blocks"]
    which = pd.Series(np.repeat(np.arange(len(blocks)), [len(blk[3]) for blk in blocks]),
                      index=[m for blk in blocks for m in blk[3]])
    bidx = which.reindex(mid).to_numpy()
    placed = is_placed(w["chrom"], w["pos"])
    pos = w["pos"].to_numpy(float, na_value=np.nan)
    if not placed.any():
        return load("twas_results").empty()
    gw = read_dataset(sumstats, "sumstats", filters=[("chrom", "==", unit["chrom"]),
                                                     ("pos", ">=", int(np.nanmin(pos[placed]))),
                                                     ("pos", "<=", int(np.nanmax(pos[placed])))])
    gpos = gw["pos"].to_numpy()
    ctx = PanelSource(store, unit["chrom"], w)
    order = np.argsort(bidx, kind="stable")           # rows of each block, placed first, in read order
    cuts = np.searchsorted(bidx[order], np.arange(len(blocks) + 1))
    items = []                                         # (block_id, rows, lo, hi) of the blocks with placed SNPs
    for k, blk in enumerate(blocks):                    # loop over the unit's blocks
        rows = order[cuts[k]:cuts[k + 1]]
        p = pos[rows][placed[rows]]
        if len(p):
            items.append((blk[0], rows, int(p.min()), int(p.max())))
    merge = method == "spredixcan"
    out = []
    for grp in (block_groups(items, ctx, w, gw) if merge else [[it] for it in items]):
        rows = np.concatenate([it[1] for it in grp])
        lo, hi = min(it[2] for it in grp), max(it[3] for it in grp)
        gb = gw[(gpos >= lo) & (gpos <= hi)].reset_index(drop=True)
        panel = ctx.panel(rows) if len(grp) == 1 else ctx.union([it[1] for it in grp])
        res = _block(w.iloc[rows].reset_index(drop=True), gb, panel, method=method, options=options)
        ids = pd.Series(np.repeat([it[0] for it in grp], [len(it[1]) for it in grp]), index=mid[rows])
        res["block_id"] = ids[~ids.index.duplicated()].reindex(res["model_id"].astype(str)).to_numpy()
        out.append(res)
    return pd.concat(out, ignore_index=True) if out else load("twas_results").empty()


MERGE_SNPS = 2048     # S-PrediXcan of consecutive blocks in one call while their panel SNPs stay below this


def block_groups(items, ctx, w, gw) -> list[list]:
    """Consecutive blocks whose S-PrediXcan runs as one call (one match of the GWAS, one assembly of results)
    on a block-diagonal panel covariance: each model's SNPs lie in its block, so it reads the same
    covariance entries, computed the same way, as alone; the z are those of one call per block. Blocks
    join while their panel SNPs number at most ``MERGE_SNPS`` and no rsid-only weight row (matched to the
    GWAS by rsid, not position) of a block could match a GWAS row outside that block's own range, which
    would change its drop reason; models without n_snps_in_model keep a call per block.

    Parameters
    ----------
    items : list of tuple
        (block_id, weight rows, lo, hi) of the unit's blocks with placed SNPs, in order.
    ctx : PanelSource
        The unit's panel.
    w, gw : pandas.DataFrame
        The unit's weight rows and GWAS rows.

    Returns
    -------
    list of list of tuple
        Groups of items (each item with a trailing flag: may join the next).
    """
    if w["n_snps_in_model"].isna().any():
        return [[it] for it in items]
    unplaced = ~is_placed(w["chrom"], w["pos"])
    safe = np.ones(len(items), bool)
    if unplaced.any() and len(items) > 1:
        rid = np.concatenate([np.full(len(it[1]), j) for j, it in enumerate(items)])
        rows = np.concatenate([it[1] for it in items])
        sel = unplaced[rows]
        m = pd.DataFrame({"rsid": w["rsid"].astype(str).to_numpy()[rows[sel]], "j": rid[sel]}).merge(
            pd.DataFrame({"rsid": gw["rsid"].astype(str).to_numpy(), "gpos": gw["pos"].to_numpy()}), on="rsid")
        lo, hi = np.array([it[2] for it in items]), np.array([it[3] for it in items])
        out_of = (m["gpos"].to_numpy() < lo[m["j"]]) | (m["gpos"].to_numpy() > hi[m["j"]])
        safe[np.unique(m["j"].to_numpy()[out_of])] = False
    groups, n = [], 0
    for j, it in enumerate(items):                      # loop over blocks
        k = ctx.n_snps(it[1])
        if groups and safe[j] and groups[-1][-1][4] and n + k <= MERGE_SNPS:
            groups[-1].append((*it, True))
            n += k
        else:
            groups.append([(*it, bool(safe[j]))])
            n = k
    return groups


def _block(w, gw, panel, *, method, options) -> pd.DataFrame:
    """S-PrediXcan or FUSION of one block's models ``w`` against its GWAS rows ``gw`` and panel LD."""
    opts = dict(options or {})
    scale = w["weight_scale"].fillna("allele").to_numpy()
    conv = (scale == "sd") if method == "spredixcan" else (scale == "allele")
    sig = np.full(len(w), np.nan)
    if conv.any():                                       # sigma_l of the converted rows' panel SNPs
        idx, _, _ = match_variants(w, panel.variants)
        sig = np.where(idx >= 0, np.sqrt(np.diag(panel.cov))[np.clip(idx, 0, None)], np.nan)
    if method == "spredixcan":
        w = w.assign(weight=np.where(scale == "sd", w["weight"] / sig, w["weight"]))
        w = w[np.isfinite(w["weight"])]
        return spredixcan(w, gw, panel=panel, **{k: opts[k] for k in ("strand_flip", "ambiguous") if k in opts})
    w = w.assign(weight=np.where(scale == "allele", w["weight"] * sig, w["weight"]))
    w = w[np.isfinite(w["weight"])]
    keys = ("impute", "max_impute", "min_r2pred", "best_model", "best_by", "strand_flip", "ambiguous")
    return fusion(w, gw, panel, **{k: opts[k] for k in keys if k in opts})


def covariance_units(weights_path, shards: int = 1) -> list[dict]:
    """Covariance-path work units of whole models, as weight_row ranges [lo, hi) of about equal size (rows
    of a model are contiguous since import).

    Parameters
    ----------
    weights_path : str or path
        The imported ``weights`` dataset.
    shards : int
        Number of units; 1: one unit reading everything.

    Returns
    -------
    list of dict
        unit_id, lo, hi, cost (or ``all``).
    """
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


def twas_covariance(unit: dict, *, weights: str, sumstats: str, covariance: str, blocks: str | None = None,
                    window: int = 1_000_000, options: dict | None = None) -> pd.DataFrame:
    """S-PrediXcan of the models of one covariance-path unit against the model files' covariance.

    SNPs placed by the import are matched on chrom:pos, the others on rsid; a model's block is that of
    the median position of its SNPs (their GWAS position when the weights give none).

    Parameters
    ----------
    unit : dict
        A unit of :func:`covariance_units`.
    weights, sumstats, covariance : str
        Paths of the imported ``weights``, the ``sumstats`` and the imported ``snp_covariance`` datasets.
    blocks : str, optional
        Block spec (:func:`locusflow.ld.blocks.resolve_blocks`); None: ``window``-bp windows.
    window : int
        Window size in bp.
    options : dict, optional
        strand_flip, ambiguous.

    Returns
    -------
    pandas.DataFrame
        Schema twas_results, with each model's chrom and block_id.
    """
    opts = {k: v for k, v in (options or {}).items() if k in ("strand_flip", "ambiguous")}
    rng = None if unit.get("all") else [("weight_row", ">=", unit["lo"]), ("weight_row", "<", unit["hi"])]
    tw = read_arrow(weights, "weights", columns=list(W_READ), filters=rng, dictionary=W_DICT)
    if not tw.num_rows:
        return load("twas_results").empty()
    crng = None if unit.get("all") else [("weight_row1", ">=", unit["lo"]), ("weight_row1", "<", unit["hi"])]
    tw = tw.unify_dictionaries()            # one rsid dictionary: the GWAS rsids are coded on it
    pool = read_pool()                          # reads overlap (Arrow decodes outside the GIL) with the frames
    # the GWAS keys (rsid, pos), then the rows that can match; the other columns are read meanwhile
    fk = pool.submit(lambda: candidate_rows(read_arrow(sumstats, "sumstats", columns=["rsid", "pos"]), tw))
    fv = pool.submit(read_arrow, sumstats, "sumstats", columns=[c for c in G_READ if c not in ("rsid", "pos")],
                     dictionary=("ref", "alt"))
    w = arrow_to_frame(tw)
    general = w["cov_partner"].isna().any() or (w["cov_partner"].to_numpy(bool) &
                                                 w["cov_var"].isna().to_numpy()).any()
    fc = None if general else pool.submit(
        read_arrow, covariance, "snp_covariance", columns=list(TERM_COLUMNS), filters=crng)
    keys, keep, code = fk.result()
    vals = fv.result()
    if keys.num_rows != vals.num_rows:
        raise RuntimeError(f"{sumstats}: columns read with different row counts")   # never expected
    cats = w["rsid"].cat.categories if isinstance(w["rsid"].dtype, pd.CategoricalDtype) else None
    g = gwas_frame(keys, vals, keep, code, cats)
    w = match_gwas(w, g, **opts)
    if general:  # strings needed (uncoded rows, or a SNP without its diagonal entry): the model's rows
        cov = read_dataset(covariance, "snp_covariance",
                           filters=[("gene", "in", list(pd.unique(w["gene"].astype(str))))])
        res = spredixcan_matched(w.drop(columns=list(COV_COLUMNS)), covariance=cov)
    else:        # three columns of the covariance, chunk by chunk as read (no copy)
        res = spredixcan_matched(w, covariance=batch_chunks(fc.result().to_batches()))
    models, chrom, pos = model_places(w, g)
    at = pd.Index(models).get_indexer(res["model_id"].astype(str))
    res["chrom"] = pd.array(chrom[at], dtype="string[pyarrow]")      # Arrow strings: no per-value cast
    res["block_id"] = pd.array(model_blocks(chrom, pos, run_blocks(blocks, chrom, pos, window))[at],
                               dtype="string[pyarrow]")
    return res
