"""``locusflow munge``: read, filter and harmonise GWAS summary statistics into dataset ``sumstats``.

Order of the row filters (a row is reported under the first reason that drops it):

``malformed_row`` (wrong field count), ``not_additive_test`` (PLINK/REGENIE TEST != ADD), with a
liftover chain ``liftover_unmapped`` / ``liftover_multiple`` / ``liftover_other_chrom`` /
``liftover_strand_indel`` (:mod:`locusflow.io.liftover`),
``missing_values`` (allele, chrom or pos missing), ``non_acgt_allele`` (alleles not [ACGT]+ or equal),
``invalid_se`` (se given but <= 0 or infinite), ``invalid_z`` (z not finite: no statistic), ``low_info`` (INFO < ``min_info``, default 0.9),
``low_maf`` (min(af, 1-af) < ``min_maf``, default 0.01), ``low_n`` (N < ``min_n``; by default ldsc's
``munge_sumstats.py`` rule: N < 90th percentile / 1.5, applied when N varies by row),
``not_hapmap3`` (optional list), ``conflicting_duplicate`` (same chrom:pos and allele pair with
different z once oriented to one allele: every copy dropped), ``duplicate`` (same chrom:pos and allele
pair, same z: the first row is kept), ``multi_allelic`` (one position with several allele pairs: all
dropped), then harmonisation
(:mod:`locusflow.io.harmonise`): ``not_in_reference``, ``allele_mismatch``, ``strand_ambiguous``;
with a FASTA and no genotype reference, ``ref_not_genome`` / ``not_in_genome`` (:mod:`locusflow.io.fasta`:
rows whose other allele is the genome's ALT are turned round; with a genotype reference the genome
check is counted in the report only).
Without a reference the file's alleles are kept as they are (effect allele -> ``alt``) and a warning
says that they were not harmonised. Drops for ``invalid_se`` and ``conflicting_duplicate`` are warned
about as well: they mean a damaged or concatenated file.

The genome build of the file (a build column, a GWAS-VCF header), of the configuration and of the
reference must agree, and rsids shared with the reference must sit at its positions (else "mixed
genome builds" / "a different genome build"); otherwise an InputError, before anything is written.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..logs import get_logger
from ..errors import InputError
from ..schema import load
from .harmonise import chrom_pos_key, allele_codes, factorize_strings, harmonise, load_reference, variant_ids
from .liftover import lift_sumstats
from .sumstats import STR, Sumstats, normalise_build, read_sumstats

log = get_logger("munge")
CHROM_ORDER = {str(i): i for i in range(1, 23)} | {"X": 23, "Y": 24, "MT": 25}


@dataclass
class MungeResult:
    """What :func:`munge` returns: the harmonised ``sumstats`` frame, the ``report`` (counts kept and
    dropped by reason, format, columns), the ``dropped`` rows with their reason, and the dataset ``path``."""

    sumstats: pd.DataFrame          # conforms to schema `sumstats`, sorted by chrom, pos
    report: dict                    # counts kept / dropped by reason, cases, format, columns
    dropped: pd.DataFrame           # row snp chrom pos a1 a2 reason
    path: Path | None = None


def munge(sumstats, out=None, *, fmt: str = "auto", columns: dict | None = None, n: float | None = None,
          reference=None, hapmap3=None, min_info: float | None = 0.9, min_maf: float | None = 0.01,
          min_n: float | None = None, ambiguous_window=(0.4, 0.6), genome_build: str | None = None,
          fasta=None, liftover_chain=None, source_build: str | None = None,
          manifest: dict | None = None) -> MungeResult:
    """Munge ``sumstats`` (see the module docstring); write dataset ``sumstats`` at ``out`` if given.

    Parameters
    ----------
    sumstats : str or Path
        Summary statistics in any layout of :mod:`locusflow.io.sumstats_formats`.
    out : str or Path, optional
        Dataset directory to write (schema ``sumstats``).
    fmt : str
        Layout name (:data:`~locusflow.io.sumstats_formats.FORMAT_NAMES`); ``auto`` detects it.
    columns : dict, optional
        Column overrides, canonical field -> header name (None: ignore the field).
    n : float, optional
        Sample size of every row, replacing the file's; the default ``low_n`` cut is then not applied.
    reference : optional
        Anything :func:`~locusflow.io.harmonise.load_reference` takes; without one the effect allele
        becomes ``alt`` and the other allele ``ref`` as in the file (with a warning).
    hapmap3 : str or Path, optional
        SNP list (ldsc ``w_hm3.snplist``: an SNP/RSID/ID column, else CHROM and POS); rows not in it
        are dropped as ``not_hapmap3``.
    min_info : float or None
        Rows with INFO below it are dropped (``low_info``); None keeps every row.
    min_maf : float or None
        Rows with min(af, 1 - af) below it are dropped (``low_maf``); None keeps every row.
    min_n : float, optional
        Rows with N below it are dropped (``low_n``); default ldsc's rule, N < 90th percentile / 1.5,
        applied when N varies by row and ``n`` is not given.
    ambiguous_window : tuple of float
        ``(lo, hi)``: strand-ambiguous SNPs with a frequency inside it are dropped
        (:func:`~locusflow.io.harmonise.harmonise`).
    genome_build : str, optional
        Build of the output; must agree with the file's and the reference's unless ``liftover_chain``.
    fasta : str or Path, optional
        Indexed reference genome: ``ref`` is checked against it (:mod:`locusflow.io.fasta`); without a
        genotype reference rows are turned to the genome's REF and rows matching neither allele dropped.
    liftover_chain : str or Path, optional
        UCSC chain from the file's build (``source_build`` or the file's own) to ``genome_build`` (or the
        reference's); positions lifted with the ``liftover`` package, drops counted by reason.
    source_build : str, optional
        Build of the file's positions when the file does not say.
    manifest : dict, optional
        Extra manifest entries of the written dataset (:func:`write_munged`).

    Returns
    -------
    MungeResult
        The table (schema ``sumstats``), the report (counts kept and dropped by reason, harmonisation
        cases, ``liftover``, ``ref_check``) and the dropped rows.

    Raises
    ------
    InputError
        When the file cannot be read or lacks needed columns (:func:`~locusflow.io.sumstats.read_sumstats`),
        has neither an other-allele column nor a reference to infer it from, has neither chrom and pos
        nor a reference to place rsids, holds a non-positive position, or when the builds of the file,
        the configuration and the reference disagree (mixed builds, rsids off the reference's
        positions), or the liftover inputs are inconsistent; nothing is written then.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) LD score regression (``munge_sumstats.py``). Nat Genet 47:291.
    Murphy AE et al. (2021) MungeSumstats. Bioinformatics 37:4593.
    """
    t0 = time.time()
    if storage.is_remote(sumstats):        # text is read whole at the driver: a local copy, cached by checksum
        sumstats = storage.local_file(sumstats)
    ss = read_sumstats(sumstats, fmt, columns, n)
    ref = load_reference(reference) if reference is not None else None
    lift = lift_sumstats(ss, ref, liftover_chain, source_build, genome_build) if liftover_chain else None
    build = _declared_build(ss, ref, genome_build)
    reasons = _filter(ss, ref, n=n, hapmap3=hapmap3, min_info=min_info, min_maf=min_maf, min_n=min_n,
                      pre=None if lift is None else lift.pop("reasons"))
    df, alive = ss.df, _alive(reasons)
    has_pos = "pos" in df and "chrom" in df
    keep_cols = [c for c in ("row", "snp", "chrom", "pos", "a1", "a2", "z", "beta", "se", "p", "neg_log10_p",
                             "n", "af", "info")
                 if c in df]
    live = df.loc[alive, keep_cols].reset_index(drop=True)
    if has_pos:
        live["pos"] = live["pos"].astype(np.int64)
    if ref is not None:
        if has_pos and "snp" in live and "rsid" in ref:
            _check_build_by_rsid(ss, live, ref)
        kept, why, case = harmonise(live, ref, ambiguous_window=ambiguous_window)
        idx = np.flatnonzero(alive)
        for r in pd.unique(why[pd.notna(why)]):
            reasons[idx[why == r]] = r
        cases = pd.Series(case[case != ""]).value_counts().to_dict()
    else:
        if not has_pos:
            raise InputError(ss.path, "chrom and pos columns, or a --reference to place variants by rsid", row=0)
        kept = live.rename(columns={"a1": "alt", "a2": "ref", "snp": "rsid"})
        kept["variant_id"] = variant_ids(kept["chrom"], kept["pos"], kept["ref"], kept["alt"])
        cases = {"as_in_file": len(kept)}
        log.warning("munge %s: no genotype reference given: alleles were not harmonised (effect allele "
                    "= alt, other allele = ref, as in the file)", ss.path)
    ref_check = _check_genome(kept, fasta, ref is None, df, reasons) if fasta is not None else None
    if ref_check is not None:
        kept = ref_check.pop("kept")
    table = _conform(kept, build, ss)
    dropped = _dropped(ss, df, reasons)
    counts = dropped["reason"].value_counts().to_dict() if len(dropped) else {}
    report = {"sumstats": str(ss.path), "format": ss.format, "columns": ss.columns, "rows_in_file": ss.n_rows,
              "kept": len(table), "dropped": {k: int(v) for k, v in counts.items()},
              "harmonisation": {k: int(v) for k, v in cases.items()},
              "genome_build": str(table["genome_build"].iloc[0]) if len(table) else build,
              "reference": None if reference is None else ("frame" if isinstance(reference, pd.DataFrame)
                                                           else str(reference)),
              "liftover": lift, "ref_check": ref_check, "seconds": round(time.time() - t0, 3)}
    if report["kept"] + sum(report["dropped"].values()) != ss.n_rows:
        raise AssertionError(f"munge accounting: {report}")
    log.info("munge %s (%s): %d rows, kept %d, dropped %s", ss.path.name, ss.format, ss.n_rows,
             len(table), report["dropped"])
    damaged = {k: report["dropped"][k] for k in ("invalid_se", "conflicting_duplicate") if k in report["dropped"]}
    if damaged:
        log.warning("munge %s: dropped %s (se <= 0 or infinite; the same variant twice with different "
                    "effects): check the file", ss.path, damaged)
    res = MungeResult(table, report, dropped)
    if out is not None:
        res.path = write_munged(res, out, manifest)
    return res


def _declared_build(ss: Sumstats, ref, genome_build) -> str:
    """The build of the output; the file's own (build column, VCF header), the configured one and the
    reference's must agree, else an InputError."""
    said = {"file": ss.build, "configuration": genome_build}
    if ref is not None and "genome_build" in ref and ref["genome_build"].notna().any():
        said["reference"] = ref["genome_build"].dropna().iloc[0]
    known = {k: normalise_build(v) for k, v in said.items() if v is not None}
    if len(set(known.values())) > 1:
        raise InputError(ss.path, f"one genome build; found {known} (mixed builds)",
                         column=ss.columns.get("build", "genome_build"))
    return known.get("reference") or known.get("file") or known.get("configuration") or "GRCh37"


def _filter(ss: Sumstats, ref, *, n, hapmap3, min_info, min_maf, min_n, pre=None) -> np.ndarray:
    """Drop reason per row (None = kept so far; ``pre``: liftover's), filters in the module docstring's order."""
    df = ss.df
    reasons = np.full(len(df), None, dtype=object) if pre is None else pre.copy()

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
    if "se" in df:
        se = df["se"].to_numpy()
        drop(~np.isnan(se) & ((se <= 0) | np.isinf(se)), "invalid_se")
    drop(~np.isfinite(df["z"].to_numpy()), "invalid_z")
    if "info" in df and min_info is not None:
        drop(df["info"].to_numpy() < min_info, "low_info")
    if "af" in df and min_maf is not None:
        af = df["af"].to_numpy()
        drop(np.minimum(af, 1 - af) < min_maf, "low_maf")
    if "n" in df:
        nn, cut, alive = df["n"].to_numpy(), min_n, _alive(reasons)
        if cut is None and n is None and alive.any() and np.nanmax(nn) > np.nanmin(nn):
            cut = np.nanquantile(nn[alive], 0.9) / 1.5          # ldsc munge_sumstats.py default
        if cut is not None:
            drop(nn < cut, "low_n")
    if hapmap3 is not None:
        drop(~_in_hapmap3(df, hapmap3, has_pos), "not_hapmap3")
    _duplicates(df, reasons, has_pos, drop)
    return reasons


def _check_genome(kept: pd.DataFrame, fasta, fix: bool, df: pd.DataFrame, reasons) -> dict:
    """``ref`` of the kept rows against the genome (io.fasta); drops (``fix``) written into ``reasons``."""
    from .fasta import Genome, orient_to_genome
    kept, why, counts = orient_to_genome(kept.reset_index(drop=True), Genome(fasta), fix=fix)
    if fix:
        kept["variant_id"] = variant_ids(kept["chrom"], kept["pos"], kept["ref"], kept["alt"])
    gone = pd.notna(why)
    if gone.any():
        at = pd.Index(df["row"]).get_indexer(kept.loc[gone, "row"])
        reasons[at] = why[gone]
        kept = kept.loc[~gone].reset_index(drop=True)
    if not fix and counts.get("genome_alt", 0) + counts.get("neither", 0):
        log.warning("munge: the genotype reference's ref is the genome's ALT at %d and neither allele at %d "
                    "variants (PLINK A2 need not be the genome REF); variant_ids follow the reference",
                    counts.get("genome_alt", 0), counts.get("neither", 0))
    return {"fasta": str(fasta), "oriented_to_genome": fix, **counts, "kept": kept}


def _conform(kept: pd.DataFrame, build: str, ss: Sumstats) -> pd.DataFrame:
    """Schema `sumstats` columns (validated), Arrow-backed strings, sorted by chrom and pos."""
    kept["genome_build"] = build
    for c in ("rsid", "beta", "se", "p", "neg_log10_p", "n", "af", "info"):
        if c not in kept:
            kept[c] = None if c == "rsid" else np.nan
    for c in ("variant_id", "chrom", "ref", "alt", "rsid", "genome_build"):
        kept[c] = kept[c].astype(STR)
    kept = _sorted(kept)
    schema = load("sumstats")
    schema.conform(kept, str(ss.path))            # validates; the frame keeps its Arrow-backed strings
    return kept[schema.names]


def _alive(reasons) -> np.ndarray:
    return pd.isna(reasons)


def _infer_a2(df, ref) -> pd.Series:
    """Other allele of a file without one (PLINK 1.9 --logistic): the reference allele a1 is not."""
    gk, rk = chrom_pos_key(df["chrom"], ref["chrom"],
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
    """Same position (or rsid) and allele pair: every copy is ``conflicting_duplicate`` when their z
    (oriented to one allele) differ by more than 1e-6 relative, else later copies are ``duplicate``; a
    position with several allele pairs is ``multi_allelic`` (all its rows). One sort, no groupby."""
    idx = np.flatnonzero(_alive(reasons))
    if not len(idx):
        return
    sub = df.iloc[idx]
    if has_pos:
        key, _ = chrom_pos_key(sub["chrom"], pd.Series([], dtype=object), sub["pos"].to_numpy(),
                            np.array([], dtype=np.int64))
    else:
        key = pd.factorize(sub["snp"])[0].astype(np.int64)
    (c1, c2), _ = allele_codes(sub["a1"], sub["a2"])
    lo, hi = np.minimum(c1, c2).astype(np.int64), np.maximum(c1, c2).astype(np.int64)
    width = int(hi.max()).bit_length()
    if key.max(initial=0) < (1 << (62 - 2 * width)):
        order = np.argsort((key << (2 * width)) | (lo << width) | hi, kind="stable")
    else:
        order = np.lexsort((np.arange(len(key)), hi, lo, key))
    k, a, b = key[order], lo[order], hi[order]
    same_key = np.r_[False, k[1:] == k[:-1]]
    dup_sorted = same_key & np.r_[False, (a[1:] == a[:-1]) & (b[1:] == b[:-1])]
    # one group per (key, allele pair); z oriented to the lower allele code must agree within a group
    grp_start = ~dup_sorted
    gid = np.cumsum(grp_start) - 1
    zo = df["z"].to_numpy()[idx[order]] * np.where(c1[order] == a, 1.0, -1.0)
    starts = np.flatnonzero(grp_start)
    zmax, zmin = np.maximum.reduceat(zo, starts), np.minimum.reduceat(zo, starts)
    conflict_grp = (zmax - zmin) > 1e-6 * np.maximum(1.0, np.abs(zmax))
    conflict = np.zeros(len(df), dtype=bool)
    conflict[idx[order]] = conflict_grp[gid]
    drop(conflict, "conflicting_duplicate")
    dup = np.zeros(len(df), dtype=bool)
    dup[idx[order]] = dup_sorted & ~conflict_grp[gid]
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
    (codes,), uniq = factorize_strings(df["chrom"])
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
    ``_munge_dropped.parquet`` (row snp chrom pos a1 a2 reason); the report is also in the manifest.

    The dataset replaces any previous one at ``out`` (``mode="overwrite"``); its manifest records the
    input file's path and sha256. Report items are ``rows_in_file``, ``kept``, ``dropped:<reason>``,
    ``harmonised:<case>``, ``ref_check:<class>`` and, after a liftover, ``liftover:<from>-><to>``.

    Parameters
    ----------
    res : MungeResult
        Result of :func:`munge` (its ``report`` names the input file under ``sumstats``).
    out : str or pathlib.Path
        Dataset directory.
    manifest : dict, optional
        Extra manifest entries; they override ``munge_report`` and ``inputs`` on a clash.

    Returns
    -------
    pathlib.Path
        The dataset directory.
    """
    from .dataset import file_checksum, write_dataset
    info = {"munge_report": res.report,
            "inputs": {"sumstats": {"path": res.report["sumstats"],
                                    "sha256": file_checksum(res.report["sumstats"])}}}
    info.update(manifest or {})
    path = write_dataset(res.sumstats, out, "sumstats", manifest=info, mode="overwrite")
    rows = [("rows_in_file", res.report["rows_in_file"]), ("kept", res.report["kept"])]
    rows += [(f"dropped:{k}", v) for k, v in sorted(res.report["dropped"].items())]
    rows += [(f"harmonised:{k}", v) for k, v in sorted(res.report["harmonisation"].items())]
    rows += [(f"ref_check:{k}", v) for k, v in sorted((res.report.get("ref_check") or {}).items())
             if isinstance(v, int) and not isinstance(v, bool)]
    if res.report.get("liftover"):
        rows.append((f"liftover:{res.report['liftover']['from']}->{res.report['liftover']['to']}",
                     res.report["liftover"]["lifted"]))
    pd.DataFrame(rows, columns=["item", "count"]).to_csv(storage.uri(path / "_munge_report.tsv"), sep="\t", index=False)
    res.dropped.to_parquet(storage.uri(path / "_munge_dropped.parquet"), index=False)
    return path
