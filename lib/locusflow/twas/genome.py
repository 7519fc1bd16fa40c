"""Genome-wide TWAS: models grouped by LD block, consecutive blocks of a chromosome batched into work units.

A model belongs to the block that holds the median position of its placed SNPs (on the chromosome holding
most of them). A work unit is up to ``blocks_per_unit`` consecutive blocks of one chromosome: the kernel
:func:`twas_block` reads the unit's weights and GWAS rows once and opens the genotype store once, then for
each block reads the panel dosages of every SNP of every model (all genes, all tissues) in the block and
runs S-PrediXcan or FUSION for all of them with one sparse-dense product. Batching removes the fixed cost
of a read per block (~0.1 s: two Parquet scans and the store's variant table), which dominated at ~1,700
genome-wide blocks. S-PrediXcan of consecutive small blocks runs as one call on a block-diagonal panel
covariance (each block's own entries, so the same numbers; see :func:`_groups`): the per-call cost of
matching and assembling results (~20 ms) is then paid once per group, not per block. Units carry paths,
coordinates and their models' ids (DESIGN rule 2); the kernel never imports Spark or Dask.

Weight scales are converted through the identity w_sd = w_allele * sigma_l (sigma_l the panel SD of
the SNP's dosage): FUSION on PredictDB weights or S-PrediXcan on FUSION weights is then well defined.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.dataset import read_dataset
from ..schema import load
from .fusion import fusion
from .spredixcan import PanelLD, spredixcan


def read_blocks_bed(path) -> pd.DataFrame:
    """LD blocks of a BED file (chrom start stop; LDetect's optional header), in the coordinates of the ld
    and finemap stages: :func:`locusflow.ld.blocks.read_block_bed` (BED row ``chrom s e`` -> the 1-based
    half-open block ``[s + 1, e + 1)``, i.e. positions ``s < pos <= e``; InputError naming the row and
    column of a bad coordinate, an overlap or an empty block). Adds ``block_id = chrom:start-stop``, the id
    :func:`locusflow.ld.blocks.assign_blocks` gives the same block."""
    from ..ld.blocks import read_block_bed
    d = read_block_bed(path)
    d["block_id"] = d["chrom"] + ":" + d["start"].astype(str) + "-" + d["stop"].astype(str)
    return d.reset_index(drop=True)


def window_blocks(chrom_pos: pd.DataFrame, size: int = 1_000_000) -> pd.DataFrame:
    """Fixed windows [k size, (k+1) size) covering the given (chrom, pos), by chrom (string order) and start."""
    chrom = chrom_pos["chrom"].astype(str).to_numpy()
    k = chrom_pos["pos"].to_numpy(np.int64) // size
    names, cc = np.unique(chrom, return_inverse=True)
    span = int(k.max()) + 1 if len(k) else 1
    key = np.unique(cc.astype(np.int64) * span + k)           # distinct windows, sorted by (chrom, k)
    d = pd.DataFrame({"chrom": names[key // span].astype(object), "start": (key % span) * size,
                      "stop": (key % span + 1) * size})
    d["block_id"] = d["chrom"] + ":" + d["start"].astype(str) + "-" + d["stop"].astype(str)
    return d


def model_positions(w: pd.DataFrame) -> pd.DataFrame:
    """(model_id, chrom, pos, lo, hi, n) of each model: its chromosome is the one holding most of its placed
    SNPs (ties: the first in string order); pos is the median, lo/hi the extremes and n the count of its
    placed SNPs on that chromosome (:func:`main_positions`). A model's SNPs on another chromosome are not
    read by its block. Models in order of first appearance."""
    from .harmonise import _not_na_chrom
    ok = _not_na_chrom(w["chrom"]) & w["chrom"].notna().to_numpy() & w["pos"].notna().to_numpy()
    mcode, models = pd.factorize(w["model_id"][ok])
    ccode, cats = pd.factorize(w["chrom"][ok])
    names = np.asarray(cats, dtype=object).astype(str)
    main, med, lo, hi, n = main_positions(mcode, ccode, names, w["pos"].to_numpy(np.float64, na_value=np.nan)[ok],
                                          len(models))
    return pd.DataFrame({"model_id": np.asarray(models, dtype=object).astype(str),
                         "chrom": names[main] if len(models) else np.array([], str),
                         "pos": med, "lo": lo.astype(np.int64), "hi": hi.astype(np.int64), "n": n})


def main_positions(mcode: np.ndarray, ccode: np.ndarray, names: np.ndarray, pos: np.ndarray, nm: int):
    """Per model code 0..nm-1 (rows: its located SNPs, chromosome code ``ccode`` into ``names``): the main
    chromosome (most SNPs; ties: the first name in string order; -1 when none) and the (median, min, max,
    count) of the positions on it (NaN/0 when none). Integer codes throughout: no string per row."""
    nc = max(len(names), 1)
    cnt = np.bincount(mcode.astype(np.int64) * nc + ccode, minlength=nm * nc).reshape(nm, nc)
    order = np.argsort(names, kind="stable")                   # chromosomes in string order
    main = np.where(cnt.max(axis=1) > 0, order[np.argmax(cnt[:, order], axis=1)], -1) if len(names) \
        else np.full(nm, -1)                                  # no SNP located at all: no chromosome
    same = ccode == main[mcode]
    return (main,) + group_stats(mcode[same], pos[same], nm)


def group_stats(code: np.ndarray, x: np.ndarray, n: int):
    """(median, min, max, count) of ``x`` per group code 0..n-1 (every group non-empty; NaN/0 otherwise):
    one sort, then the middle and end elements of each group."""
    order = np.lexsort((x, code))
    code, x = code[order], x[order]
    cnt = np.bincount(code, minlength=n)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int64)
    med, lo, hi = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    has = cnt > 0
    s, c = start[has], cnt[has]
    med[has] = (x[s + (c - 1) // 2] + x[s + c // 2]) / 2
    lo[has], hi[has] = x[s], x[s + c - 1]
    return med, lo, hi, cnt


def assign_blocks(models: pd.DataFrame, blocks: pd.DataFrame) -> np.ndarray:
    """block_id per model (None outside every block): the block [start, stop) holding its position. One
    search over (chromosome, start) keys for all chromosomes: the last block starting at or before the
    position, kept when it is on the model's chromosome and ends after the position."""
    out = np.full(len(models), None, dtype=object)
    if not len(models) or not len(blocks):
        return out
    bchrom = blocks["chrom"].astype(str).to_numpy()
    cats = pd.Index(pd.unique(bchrom))
    bc = cats.get_indexer(bchrom)
    start, stop = blocks["start"].to_numpy(np.float64), blocks["stop"].to_numpy(np.float64)
    order = np.lexsort((start, bc))
    span = 2.0 ** 40        # (chromosome code, position) as one float key: exact below 2^53
    bkey = bc[order] * span + start[order]
    mc = cats.get_indexer(models["chrom"].astype(str).to_numpy())
    pos = models["pos"].to_numpy(float)
    i = np.searchsorted(bkey, mc * span + pos, side="right") - 1
    j = order[np.clip(i, 0, None)]
    ok = (mc >= 0) & (i >= 0) & (bc[j] == mc) & (pos < stop[j])
    out[ok] = blocks["block_id"].to_numpy()[j[ok]]
    return out


def twas_units(weights_path, blocks: pd.DataFrame, per_unit: int = 16, max_cost: float | None = None) -> list[dict]:
    """Work units of up to ``per_unit`` consecutive blocks of one chromosome that hold models.

    A block's cost is (SNPs of its models)^2; a unit also closes before its cost would pass ``max_cost``
    (default: ``per_unit`` times the mean block cost, so that a unit of large blocks holds fewer). A unit
    carries its chromosome, the position range [lo, hi] of its models' SNPs and, per block,
    ``[block_id, start, stop, [model ids]]``: the kernel reads weights, GWAS and panel variants once.
    """
    w = read_dataset(weights_path, "weights", columns=["model_id", "chrom", "pos"])
    mp = model_positions(w)
    mp["block_id"] = assign_blocks(mp, blocks)
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
    units, cur = [], []

    def close():
        if cur:
            c = b.loc[cur]
            first, last = c.iloc[0], c.iloc[-1]
            uid = first["block_id"] if len(c) == 1 else f"{first['chrom']}:{int(first['start'])}-{int(last['stop'])}"
            units.append({"unit_id": uid, "chrom": str(first["chrom"]), "lo": int(c["lo"].min()),
                          "hi": int(c["hi"].max()), "cost": float(c["cost"].sum()),
                          "blocks": [[r.block_id, int(r.start), int(r.stop), list(r.models)] for r in c.itertuples()]})
            cur.clear()
    cost = 0.0
    for i, r in enumerate(b.itertuples()):      # loop over blocks (a few thousand genome-wide)
        if cur and (len(cur) >= per_unit or str(r.chrom) != str(b.at[cur[0], "chrom"]) or cost + r.cost > cap):
            close()
            cost = 0.0
        cur.append(i)
        cost += r.cost
    close()
    return units


def _unit_weights(weights_path, unit) -> pd.DataFrame:
    """The weights rows of the unit's models: placed on its chromosome in [lo, hi], then the unplaced."""
    ids = [m for blk in unit["blocks"] for m in blk[3]]
    w = read_dataset(weights_path, "weights", filters=[("chrom", "==", unit["chrom"]), ("pos", ">=", unit["lo"]),
                                                         ("pos", "<=", unit["hi"]), ("model_id", "in", ids)])
    if Path(weights_path, "chrom=NA").exists():
        unplaced = read_dataset(weights_path, "weights", filters=[("chrom", "==", "NA"), ("model_id", "in", ids)])
        if len(unplaced):
            w = pd.concat([w, unplaced], ignore_index=True)
    return w


def twas_block(unit: dict, *, weights: str, sumstats: str, method: str = "spredixcan",
               ld_reference: str = "store", store: str | None = None, covariance: str | None = None,
               options: dict | None = None) -> pd.DataFrame:
    """TWAS of every model in the unit's blocks (schema twas_results), one block after the other.

    The unit's weights, GWAS rows (its chromosome, [lo, hi]) and panel variants are read once and the
    genotype store opened once; each block then gets its own panel LD over the SNPs its models use.
    """
    w = _unit_weights(weights, unit)
    if not len(w):
        return load("twas_results").empty()
    mid = w["model_id"].astype(str).to_numpy()
    blocks = unit["blocks"]
    which = pd.Series(np.repeat(np.arange(len(blocks)), [len(blk[3]) for blk in blocks]),
                      index=[m for blk in blocks for m in blk[3]])
    bidx = which.reindex(mid).to_numpy()
    placed = (w["chrom"].astype(str) != "NA").to_numpy() & w["pos"].notna().to_numpy()
    pos = w["pos"].to_numpy(float, na_value=np.nan)
    if not placed.any():
        return load("twas_results").empty()
    gw = read_dataset(sumstats, "sumstats", filters=[("chrom", "==", unit["chrom"]),
                                                     ("pos", ">=", int(np.nanmin(pos[placed]))),
                                                     ("pos", "<=", int(np.nanmax(pos[placed])))])
    gpos = gw["pos"].to_numpy()
    ctx = None
    if ld_reference != "covariance":
        ctx = _PanelSource(store, unit["chrom"], w)
    order = np.argsort(bidx, kind="stable")           # rows of each block, placed first, in read order
    cuts = np.searchsorted(bidx[order], np.arange(len(blocks) + 1))
    items = []                                         # (block_id, rows, lo, hi) of the blocks with placed SNPs
    for k, blk in enumerate(blocks):                    # loop over the unit's blocks
        rows = order[cuts[k]:cuts[k + 1]]
        p = pos[rows][placed[rows]]
        if len(p):
            items.append((blk[0], rows, int(p.min()), int(p.max())))
    merge = method == "spredixcan" and ld_reference != "covariance"
    out = []
    for grp in (_groups(items, ctx, w, gw) if merge else [[it] for it in items]):
        rows = np.concatenate([it[1] for it in grp])
        lo, hi = min(it[2] for it in grp), max(it[3] for it in grp)
        gb = gw[(gpos >= lo) & (gpos <= hi)].reset_index(drop=True)
        panel = None if ctx is None else ctx.panel(rows) if len(grp) == 1 else ctx.union([it[1] for it in grp])
        res = _block(w.iloc[rows].reset_index(drop=True), gb, panel, method=method, ld_reference=ld_reference,
                     covariance=covariance, options=options)
        ids = pd.Series(np.repeat([it[0] for it in grp], [len(it[1]) for it in grp]), index=mid[rows])
        res["block_id"] = ids[~ids.index.duplicated()].reindex(res["model_id"].astype(str)).to_numpy()
        out.append(res)
    return pd.concat(out, ignore_index=True) if out else load("twas_results").empty()


MERGE_SNPS = 2048     # S-PrediXcan of consecutive blocks in one call while their panel SNPs stay below this


def _groups(items, ctx, w, gw) -> list[list]:
    """Consecutive blocks whose S-PrediXcan runs as one call (one match of the GWAS, one assembly of results)
    on a block-diagonal panel covariance: each model's SNPs lie in its block, so it reads the same
    covariance entries, computed the same way, as alone; the z are those of one call per block. Blocks
    join while their panel SNPs number at most ``MERGE_SNPS`` and no rsid-only weight row (matched to the
    GWAS by rsid, not position) of a block could match a GWAS row outside that block's own range, which
    would change its drop reason; models without n_snps_in_model keep a call per block."""
    if w["n_snps_in_model"].isna().any():
        return [[it] for it in items]
    unplaced = (w["chrom"].astype(str) == "NA").to_numpy() | w["pos"].isna().to_numpy()
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


def _block(w, gw, panel, *, method, ld_reference, covariance, options) -> pd.DataFrame:
    """S-PrediXcan or FUSION of one block's models ``w`` against its GWAS rows ``gw`` and panel LD."""
    opts = dict(options or {})
    if ld_reference == "covariance":
        if method != "spredixcan":
            raise InputError("config", "ld_reference: store for method fusion", column="twas.ld_reference")
        cov = read_dataset(covariance, "snp_covariance", filters=[("gene", "in", list(w["gene"].unique()))])
        return spredixcan(w, gw, covariance=cov, **{k: opts[k] for k in ("strand_flip", "ambiguous") if k in opts})
    scale = w["weight_scale"].fillna("allele").to_numpy()
    conv = (scale == "sd") if method == "spredixcan" else (scale == "allele")
    sig = np.full(len(w), np.nan)
    if conv.any():                                       # sigma_l of the converted rows' panel SNPs
        from .harmonise import match
        idx, _, _ = match(w, panel.variants)
        sig = np.where(idx >= 0, np.sqrt(np.diag(panel.cov))[np.clip(idx, 0, None)], np.nan)
    if method == "spredixcan":
        w = w.assign(weight=np.where(scale == "sd", w["weight"] / sig, w["weight"]))
        w = w[np.isfinite(w["weight"])]
        return spredixcan(w, gw, panel=panel, **{k: opts[k] for k in ("strand_flip", "ambiguous") if k in opts})
    w = w.assign(weight=np.where(scale == "allele", w["weight"] * sig, w["weight"]))
    w = w[np.isfinite(w["weight"])]
    keys = ("impute", "max_impute", "min_r2pred", "best_model", "best_by", "strand_flip", "ambiguous")
    return fusion(w, gw, panel, **{k: opts[k] for k in keys if k in opts})


class _PanelSource:
    """The genotype store opened once per unit: the chromosome's variants, matched once to the unit's
    weight rows; :meth:`panel` reads the dosages of one block's SNPs."""

    def __init__(self, store_path, chrom, w):
        from ..io.genotypes import GenotypeStore
        from .harmonise import match
        self.store = GenotypeStore(store_path)
        v = read_dataset(Path(store_path) / "variants.parquet", "variants", filters=[("chrom", "==", str(chrom))])
        self.v = v.sort_values("store_index").reset_index(drop=True)
        self.idx = match(w, self.v)[0]

    def n_snps(self, rows) -> int:
        idx = self.idx[rows]
        return len(np.unique(idx[idx >= 0]))

    def union(self, blocks_rows) -> PanelLD:
        """Block-diagonal panel over the SNPs of several blocks: each block's covariance as
        :meth:`panel` computes it, placed at its SNPs (pairs of SNPs of different blocks: 0, never read)."""
        idx = self.idx[np.concatenate(blocks_rows)]
        keep = np.unique(idx[idx >= 0])
        sub = self.v.iloc[keep].reset_index(drop=True)
        dos = self.store.dosages(index=sub["store_index"].to_numpy())      # one read for all the blocks
        cov = np.zeros((len(keep), len(keep)))
        for r in blocks_rows:                           # loop over blocks
            i = self.idx[r]
            at = np.searchsorted(keep, np.unique(i[i >= 0]))
            cov[np.ix_(at, at)] = PanelLD.from_dosages(sub.iloc[at], dos[at]).cov
        return PanelLD(sub[["chrom", "pos", "rsid", "ref", "alt"]], cov, None)

    def panel(self, rows) -> PanelLD:
        """Panel LD over the store variants that the weight rows ``rows`` use (one dosage read)."""
        idx = self.idx[rows]
        sub = self.v.iloc[np.unique(idx[idx >= 0])].reset_index(drop=True)
        dos = self.store.dosages(index=sub["store_index"].to_numpy())
        return PanelLD.from_dosages(sub[["chrom", "pos", "rsid", "ref", "alt"]], dos)
