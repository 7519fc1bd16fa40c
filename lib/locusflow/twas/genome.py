"""Genome-wide TWAS: models grouped by LD block, one work unit per block.

A model belongs to the block that holds the median position of its placed SNPs. The kernel
:func:`twas_block` reads the block's weights, GWAS rows and LD once -- the panel dosages of every SNP
of every model (all genes, all tissues) in the block, or the covariance rows of its genes -- and runs
S-PrediXcan or FUSION for all of them with one sparse-dense product. Units carry paths and
coordinates only (DESIGN rule 2); the kernel never imports Spark or Dask.

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
    """LD blocks from a BED-like file (chrom start stop; LDetect has a header 'chr start stop')."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "an LD-block BED file (chrom start stop); not found")
    d = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, comment="#").iloc[:, :3]
    d.columns = ["chrom", "start", "stop"]
    d = d[~d["chrom"].str.lower().isin(["chr", "chrom", "chromosome"])]
    for c in ("start", "stop"):
        v = pd.to_numeric(d[c], errors="coerce")
        if v.isna().any():
            i = int(np.flatnonzero(v.isna().to_numpy())[0])
            raise InputError(path, "integer coordinates", row=i + 1, column=c, value=d[c].iloc[i])
        d[c] = v.astype("int64")
    d["chrom"] = d["chrom"].str.replace("^chr", "", regex=True)
    d["block_id"] = d["chrom"] + ":" + d["start"].astype(str) + "-" + d["stop"].astype(str)
    return d.reset_index(drop=True)


def window_blocks(chrom_pos: pd.DataFrame, size: int = 1_000_000) -> pd.DataFrame:
    """Fixed windows [k size, (k+1) size) covering the given (chrom, pos)."""
    k = (chrom_pos["pos"].to_numpy(np.int64) // size)
    d = pd.DataFrame({"chrom": chrom_pos["chrom"].astype(str).to_numpy(), "k": k}).drop_duplicates()
    d["start"], d["stop"] = d["k"] * size, (d["k"] + 1) * size
    d["block_id"] = d["chrom"] + ":" + d["start"].astype(str) + "-" + d["stop"].astype(str)
    return d.drop(columns="k").sort_values(["chrom", "start"]).reset_index(drop=True)


def model_positions(w: pd.DataFrame) -> pd.DataFrame:
    """(model_id, chrom, pos): median position of each model's placed SNPs."""
    p = w[(w["chrom"].astype(str) != "NA") & w["pos"].notna()]
    return p.groupby("model_id", sort=False).agg(chrom=("chrom", "first"), pos=("pos", "median")).reset_index()


def assign_blocks(models: pd.DataFrame, blocks: pd.DataFrame) -> np.ndarray:
    """block_id per model (None outside every block); vectorised per chromosome."""
    out = np.full(len(models), None, dtype=object)
    for chrom, b in blocks.groupby("chrom", sort=False):   # loop over chromosomes
        b = b.sort_values("start")
        sel = np.flatnonzero(models["chrom"].astype(str).to_numpy() == str(chrom))
        if not len(sel):
            continue
        pos = models["pos"].to_numpy(float)[sel]
        i = np.searchsorted(b["start"].to_numpy(), pos, side="right") - 1
        ok = (i >= 0) & (pos < b["stop"].to_numpy()[np.clip(i, 0, None)])
        out[sel[ok]] = b["block_id"].to_numpy()[i[ok]]
    return out


def twas_units(weights_path, blocks: pd.DataFrame) -> list[dict]:
    """One unit per block holding at least one model; cost ~ (SNPs of its models)^2."""
    w = read_dataset(weights_path, "weights", columns=["model_id", "chrom", "pos"])
    mp = model_positions(w)
    mp["block_id"] = assign_blocks(mp, blocks)
    placed = w[(w["chrom"].astype(str) != "NA") & w["pos"].notna()]
    span = placed.groupby("model_id")["pos"].agg(["min", "max", "size"])
    mp = mp.join(span, on="model_id")
    units = []
    for bid, g in mp.dropna(subset=["block_id"]).groupby("block_id", sort=False):   # loop over blocks
        b = blocks[blocks["block_id"] == bid].iloc[0]
        units.append({"unit_id": bid, "block_id": bid, "chrom": str(b["chrom"]), "start": int(b["start"]),
                      "stop": int(b["stop"]), "lo": int(g["min"].min()), "hi": int(g["max"].max()),
                      "cost": float(g["size"].sum()) ** 2})
    return units


def _block_weights(weights_path, unit) -> pd.DataFrame:
    w = read_dataset(weights_path, "weights", filters=[("chrom", "==", unit["chrom"]), ("pos", ">=", unit["lo"]),
                                                         ("pos", "<=", unit["hi"])])
    mp = model_positions(w)
    keep = mp.loc[(mp["pos"] >= unit["start"]) & (mp["pos"] < unit["stop"]), "model_id"]
    w = w[w["model_id"].isin(keep)]
    unplaced = read_dataset(weights_path, "weights", filters=[("chrom", "==", "NA"), ("model_id", "in", list(keep))]) \
        if Path(weights_path, "chrom=NA").exists() and len(keep) else None
    return pd.concat([w, unplaced], ignore_index=True) if unplaced is not None and len(unplaced) else w


def twas_block(unit: dict, *, weights: str, sumstats: str, method: str = "spredixcan",
               ld_reference: str = "store", store: str | None = None, covariance: str | None = None,
               options: dict | None = None) -> pd.DataFrame:
    """TWAS of every model in one LD block (schema twas_results)."""
    opts = dict(options or {})
    w = _block_weights(weights, unit)
    if not len(w):
        return load("twas_results").empty()
    placed = w[w["chrom"].astype(str) != "NA"]
    lo, hi = int(placed["pos"].min()), int(placed["pos"].max())
    gw = read_dataset(sumstats, "sumstats", filters=[("chrom", "==", unit["chrom"]), ("pos", ">=", lo),
                                                     ("pos", "<=", hi)])
    if ld_reference == "covariance":
        if method != "spredixcan":
            raise InputError("config", "ld_reference: store for method fusion", column="twas.ld_reference")
        cov = read_dataset(covariance, "snp_covariance", filters=[("gene", "in", list(w["gene"].unique()))])
        res = spredixcan(w, gw, covariance=cov, **{k: opts[k] for k in ("strand_flip", "ambiguous") if k in opts})
    else:
        panel = _panel(store, unit["chrom"], w)
        sd = np.sqrt(np.diag(panel.cov))
        from .harmonise import match
        idx, _, _ = match(w, panel.variants)
        sig = np.where(idx >= 0, sd[np.clip(idx, 0, None)], np.nan)
        scale = w["weight_scale"].fillna("allele").to_numpy()
        if method == "spredixcan":
            w = w.assign(weight=np.where(scale == "sd", w["weight"] / sig, w["weight"]))
            w = w[np.isfinite(w["weight"])]
            res = spredixcan(w, gw, panel=panel, **{k: opts[k] for k in ("strand_flip", "ambiguous") if k in opts})
        else:
            w = w.assign(weight=np.where(scale == "allele", w["weight"] * sig, w["weight"]))
            w = w[np.isfinite(w["weight"])]
            keys = ("impute", "max_impute", "min_r2pred", "best_model", "best_by", "strand_flip", "ambiguous")
            res = fusion(w, gw, panel, **{k: opts[k] for k in keys if k in opts})
    res["block_id"] = unit["block_id"]
    return res


def _panel(store_path, chrom, w) -> PanelLD:
    """Panel LD over the store variants that any model of the block uses (one read per block)."""
    from ..io.genotypes import GenotypeStore
    from .harmonise import match
    st = GenotypeStore(store_path)
    v = st.variants
    v = v[v["chrom"].astype(str) == str(chrom)].reset_index(drop=True)
    idx, sign, _ = match(w, v)
    need = np.unique(idx[idx >= 0])
    sub = v.iloc[need].reset_index(drop=True)
    dos = st.dosages(index=sub["store_index"].to_numpy())
    return PanelLD.from_dosages(sub[["chrom", "pos", "rsid", "ref", "alt"]], dos)
