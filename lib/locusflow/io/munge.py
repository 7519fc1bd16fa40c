"""``locusflow munge``: read, filter and harmonise GWAS summary statistics into dataset ``sumstats``.

Order of the row filters (a row is reported under the first reason that drops it):

``malformed_row`` (wrong field count), ``not_additive_test`` (PLINK/REGENIE TEST != ADD),
``missing_values`` (allele, chrom or pos missing), ``non_acgt_allele`` (alleles not [ACGT]+ or equal),
``invalid_z`` (z not finite: se = 0, no statistic), ``low_info`` (INFO < ``min_info``, default 0.9),
``low_maf`` (min(af, 1-af) < ``min_maf``, default 0.01), ``low_n`` (N < ``min_n``; by default ldsc's
``munge_sumstats.py`` rule: N < 90th percentile / 1.5, applied when N varies by row),
``not_hapmap3`` (optional list), ``duplicate`` (same chrom:pos and allele pair: the first row is kept),
``multi_allelic`` (one position with several allele pairs: all dropped), then harmonisation
(:mod:`locusflow.io.harmonise`): ``not_in_reference``, ``allele_mismatch``, ``strand_ambiguous``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import get_logger
from ..errors import InputError
from ..schema import load
from .harmonise import _chrom_key, _codes, _factorize, harmonise, load_reference, variant_ids
from .sumstats import STR, Sumstats, normalise_build, read_sumstats

log = get_logger("munge")
CHROM_ORDER = {str(i): i for i in range(1, 23)} | {"X": 23, "Y": 24, "MT": 25}


@dataclass
class MungeResult:
    sumstats: pd.DataFrame          # conforms to schema `sumstats`, sorted by chrom, pos
    report: dict                    # counts kept / dropped by reason, cases, format, columns
    dropped: pd.DataFrame           # row snp chrom pos a1 a2 reason
    path: Path | None = None


def munge(sumstats, out=None, *, fmt: str = "auto", columns: dict | None = None, n: float | None = None,
          reference=None, hapmap3=None, min_info: float | None = 0.9, min_maf: float | None = 0.01,
          min_n: float | None = None, ambiguous_window=(0.4, 0.6), genome_build: str | None = None,
          manifest: dict | None = None) -> MungeResult:
    """Munge ``sumstats`` (see the module docstring); write dataset ``sumstats`` at ``out`` if given.

    ``reference``: anything :func:`~locusflow.io.harmonise.load_reference` takes; without one the
    effect allele becomes ``alt`` and the other allele ``ref`` as in the file.
    """
    t0 = time.time()
    ss = read_sumstats(sumstats, fmt, columns, n)
    ref = load_reference(reference) if reference is not None else None
    df = ss.df
    reasons = np.full(len(df), None, dtype=object)

    def drop(mask, reason):
        mask = np.asarray(mask, dtype=bool) & _alive(reasons)
        reasons[mask] = reason

    if "a2" not in df:
        if ref is None:
            raise InputError(ss.path, "an other-allele column (A2 / ALLELE0 / OTHER_ALLELE) or a --reference "
                             f"to infer it from; found {list(ss.columns.values())}", row=0)
        df["a2"] = _infer_a2(df, ref)
    has_pos = "pos" in df and "chrom" in df
    req = ["a1", "a2"] + (["chrom", "pos"] if has_pos else ["snp"])
    drop(np.column_stack([df[c].isna().to_numpy() for c in req]).any(axis=1), "missing_values")
    if has_pos:
        _check_positions(ss, _alive(reasons))
    a1, a2 = df["a1"], df["a2"]
    acgt = a1.str.fullmatch("[ACGT]+").fillna(False) & a2.str.fullmatch("[ACGT]+").fillna(False)
    drop(~acgt.to_numpy(dtype=bool) | (a1 == a2).fillna(True).to_numpy(dtype=bool), "non_acgt_allele")
    drop(~np.isfinite(df["z"].to_numpy()), "invalid_z")
    if "info" in df and min_info is not None:
        drop(df["info"].to_numpy() < min_info, "low_info")
    if "af" in df and min_maf is not None:
        af = df["af"].to_numpy()
        drop(np.minimum(af, 1 - af) < min_maf, "low_maf")
    if "n" in df:
        nn = df["n"].to_numpy()
        cut = min_n
        if cut is None and n is None and np.nanmax(nn, initial=0) > np.nanmin(nn, initial=0):
            cut = np.nanquantile(nn[_alive(reasons)], 0.9) / 1.5 if _alive(reasons).any() else None
        if cut is not None:
            drop(nn < cut, "low_n")
    if hapmap3 is not None:
        drop(~_in_hapmap3(df, hapmap3, has_pos), "not_hapmap3")
    _duplicates(df, reasons, has_pos, drop)

    alive = _alive(reasons)
    keep_cols = [c for c in ("row", "snp", "chrom", "pos", "a1", "a2", "z", "beta", "se", "p", "n", "af", "info")
                 if c in df]
    live = df.loc[alive, keep_cols].reset_index(drop=True)
    if has_pos:
        live["pos"] = live["pos"].astype(np.int64)
    build = ss.build
    if ref is not None:
        rb = ref["genome_build"].dropna().unique() if "genome_build" in ref else []
        for b in (build, genome_build):
            if b is not None and len(rb) and normalise_build(b) != normalise_build(rb[0]):
                raise InputError(ss.path, f"genome build {rb[0]} as the reference; the sumstats say {b}",
                                 column=ss.columns.get("build", "genome_build"))
        if has_pos and "snp" in live and "rsid" in ref:
            _check_build_by_rsid(ss, live, ref)
        kept, why, case = harmonise(live, ref, ambiguous_window=ambiguous_window)
        idx = np.flatnonzero(alive)
        for r in pd.unique(why[pd.notna(why)]):
            reasons[idx[why == r]] = r
        cases = pd.Series(case[case != ""]).value_counts().to_dict()
        build = (rb[0] if len(rb) else None) or build or genome_build
    else:
        if not has_pos:
            raise InputError(ss.path, "chrom and pos columns, or a --reference to place variants by rsid", row=0)
        kept = live.rename(columns={"a1": "alt", "a2": "ref", "snp": "rsid"})
        kept["variant_id"] = variant_ids(kept["chrom"], kept["pos"], kept["ref"], kept["alt"])
        cases = {"as_in_file": len(kept)}
        build = build or genome_build
    kept["genome_build"] = kept["genome_build"] if "genome_build" in kept else (build or "GRCh37")
    for c in ("rsid", "beta", "se", "p", "n", "af", "info"):
        if c not in kept:
            kept[c] = None if c == "rsid" else np.nan
    for c in ("variant_id", "chrom", "ref", "alt", "rsid", "genome_build"):
        kept[c] = kept[c].astype(STR)
    kept = _sorted(kept)
    schema = load("sumstats")
    schema.conform(kept, str(ss.path))            # validates; the frame keeps its Arrow-backed strings
    table = kept[schema.names]
    dropped = _dropped(ss, df, reasons)
    counts = dropped["reason"].value_counts().to_dict() if len(dropped) else {}
    report = {"sumstats": str(ss.path), "format": ss.format, "columns": ss.columns, "rows_in_file": ss.n_rows,
              "kept": len(table), "dropped": {k: int(v) for k, v in counts.items()},
              "harmonisation": {k: int(v) for k, v in cases.items()},
              "genome_build": str(table["genome_build"].iloc[0]) if len(table) else build,
              "reference": None if reference is None else str(getattr(reference, "name", reference)
                                                               if not isinstance(reference, pd.DataFrame)
                                                               else "frame"),
              "seconds": round(time.time() - t0, 3)}
    if report["kept"] + sum(report["dropped"].values()) != ss.n_rows:
        raise AssertionError(f"munge accounting: {report}")
    log.info("munge %s (%s): %d rows, kept %d, dropped %s", ss.path.name, ss.format, ss.n_rows,
             len(table), report["dropped"])
    res = MungeResult(table, report, dropped)
    if out is not None:
        res.path = write_munged(res, out, manifest)
    return res


def _alive(reasons) -> np.ndarray:
    return pd.isna(reasons)


def _infer_a2(df, ref) -> pd.Series:
    """Other allele of a file without one (PLINK 1.9 --logistic): the reference allele a1 is not."""
    gk, rk = _chrom_key(df["chrom"], ref["chrom"],
                        df["pos"].fillna(-1).to_numpy(), ref["pos"].to_numpy())
    m = pd.DataFrame({"key": gk}).merge(pd.DataFrame({"key": rk, "r": ref["ref"], "a": ref["alt"]})
                                        .drop_duplicates("key"), on="key", how="left")
    a1 = df["a1"].astype(object).to_numpy()
    a2 = np.where(a1 == m["a"].to_numpy(), m["r"].to_numpy(), np.where(a1 == m["r"].to_numpy(), m["a"].to_numpy(),
                                                                       "N"))
    return pd.Series(a2, dtype=object).where(m["a"].notna().to_numpy(), "N").astype("string[pyarrow]")


def _check_positions(ss: Sumstats, alive) -> None:
    pos = ss.df["pos"].to_numpy()
    bad = alive & ((pos < 1) | (np.mod(pos, 1) != 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(ss.path, "a positive integer base-pair position", row=int(ss.df["row"].iloc[i]),
                         column=ss.columns.get("pos", "pos"), value=float(pos[i]))


def _check_build_by_rsid(ss: Sumstats, live: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Mixed or wrong builds: rsids shared with the reference must sit at the reference positions."""
    step = max(1, len(live) // 100_000)          # a systematic sample is plenty for a fraction
    r = ref[["rsid", "chrom", "pos"]].dropna().drop_duplicates("rsid")
    m = live[["row", "snp", "chrom", "pos"]].iloc[::step].astype({"snp": STR, "chrom": STR}).merge(
        r.astype({"rsid": STR, "chrom": STR}), left_on="snp", right_on="rsid", suffixes=("", "_ref"))
    if len(m) < 20:
        return
    same = (m["pos"].to_numpy() == m["pos_ref"].to_numpy()) & (m["chrom"].to_numpy() == m["chrom_ref"].to_numpy())
    frac = same.mean()
    if frac < 0.9:
        k = int(np.flatnonzero(~same)[0])
        what = "mixed genome builds" if frac > 0.1 else "a different genome build"
        raise InputError(ss.path, f"positions of the reference's build: only {frac:.1%} of {len(m)} shared rsids "
                         f"sit at the reference position ({what}); e.g. {m['snp'].iloc[k]} at "
                         f"{m['chrom_ref'].iloc[k]}:{m['pos_ref'].iloc[k]} in the reference",
                         row=int(m["row"].iloc[k]), column=ss.columns.get("pos", "pos"), value=int(m["pos"].iloc[k]))


def _in_hapmap3(df, hapmap3, has_pos) -> np.ndarray:
    """HapMap3 membership by rsid (ldsc w_hm3.snplist ``SNP``; gwaslab ``rsid``), else by chrom:pos."""
    hm = pd.read_csv(hapmap3, sep=r"\s+", dtype=str)
    cols = {c.upper().lstrip("#"): c for c in hm.columns}
    rs = next((cols[c] for c in ("SNP", "RSID", "ID") if c in cols), None)
    if rs is not None and "snp" in df:
        return df["snp"].astype(object).isin(set(hm[rs])).to_numpy()
    if has_pos and "CHROM" in cols and "POS" in cols:
        keys = set(hm[cols["CHROM"]].str.replace("^chr", "", regex=True) + ":" + hm[cols["POS"]])
        return (df["chrom"].astype(object) + ":" + df["pos"].astype("Int64").astype(str)).isin(keys).to_numpy()
    raise InputError(hapmap3, f"a SNP/rsid column (or CHROM and POS); found {list(hm.columns)}", row=0)


def _duplicates(df, reasons, has_pos, drop) -> None:
    """Same position (or rsid) and allele pair: later copies are ``duplicate``; a position with
    several allele pairs is ``multi_allelic`` (all its rows). One sort, no groupby."""
    idx = np.flatnonzero(_alive(reasons))
    if not len(idx):
        return
    sub = df.iloc[idx]
    if has_pos:
        key, _ = _chrom_key(sub["chrom"], pd.Series([], dtype=object), sub["pos"].to_numpy(),
                            np.array([], dtype=np.int64))
    else:
        key = pd.factorize(sub["snp"])[0].astype(np.int64)
    (c1, c2), _ = _codes(sub["a1"], sub["a2"])
    lo, hi = np.minimum(c1, c2).astype(np.int64), np.maximum(c1, c2).astype(np.int64)
    width = int(hi.max()).bit_length()
    if key.max(initial=0) < (1 << (62 - 2 * width)):
        order = np.argsort((key << (2 * width)) | (lo << width) | hi, kind="stable")
    else:
        order = np.lexsort((np.arange(len(key)), hi, lo, key))
    k, a, b = key[order], lo[order], hi[order]
    same_key = np.r_[False, k[1:] == k[:-1]]
    dup_sorted = same_key & np.r_[False, (a[1:] == a[:-1]) & (b[1:] == b[:-1])]
    dup = np.zeros(len(df), dtype=bool)
    dup[idx[order]] = dup_sorted
    drop(dup, "duplicate")
    if has_pos:                        # groups of one key: several pairs <=> first pair != last pair
        start = ~same_key
        grp = np.cumsum(start) - 1
        last = np.r_[start[1:], True]
        multi_sorted = ((a[start][grp] != a[last][grp]) | (b[start][grp] != b[last][grp])) & ~dup_sorted
        multi = np.zeros(len(df), dtype=bool)
        multi[idx[order]] = multi_sorted
        drop(multi, "multi_allelic")


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in chromosome order (1..22, X, Y, MT, then others by name), then by position."""
    (codes,), uniq = _factorize(df["chrom"])
    rank = pd.Series([(CHROM_ORDER.get(u, 99), u) for u in uniq]).rank(method="dense").to_numpy()
    return df.iloc[np.lexsort((df["pos"].to_numpy(), rank[codes]))].reset_index(drop=True)


def _dropped(ss: Sumstats, df: pd.DataFrame, reasons) -> pd.DataFrame:
    cols = [c for c in ("row", "snp", "chrom", "pos", "a1", "a2") if c in df]
    mask = ~_alive(reasons)
    cur = df.loc[mask, cols].assign(reason=reasons[mask])
    out = pd.concat([*ss.dropped, cur], ignore_index=True) if ss.dropped else cur
    return out.sort_values("row", kind="stable").reset_index(drop=True)


def write_munged(res: MungeResult, out, manifest: dict | None = None) -> Path:
    """Write the dataset (partitioned by chrom), then ``_munge_report.tsv`` (item, count) and
    ``_munge_dropped.parquet`` (row snp chrom pos a1 a2 reason); the report is also in the manifest."""
    from .dataset import file_checksum, write_dataset
    info = {"munge_report": res.report,
            "inputs": {"sumstats": {"path": res.report["sumstats"],
                                    "sha256": file_checksum(res.report["sumstats"])}}}
    info.update(manifest or {})
    path = write_dataset(res.sumstats, out, "sumstats", manifest=info, mode="overwrite")
    rows = [("rows_in_file", res.report["rows_in_file"]), ("kept", res.report["kept"])]
    rows += [(f"dropped:{k}", v) for k, v in sorted(res.report["dropped"].items())]
    rows += [(f"harmonised:{k}", v) for k, v in sorted(res.report["harmonisation"].items())]
    pd.DataFrame(rows, columns=["item", "count"]).to_csv(path / "_munge_report.tsv", sep="\t", index=False)
    res.dropped.to_parquet(path / "_munge_dropped.parquet", index=False)
    return path
