"""Read GWAS summary statistics in any common layout into canonical columns, with z-scores.

:func:`read_sumstats` returns one row per input data row with the canonical fields of
:mod:`locusflow.io.sumstats_formats` (``snp chrom pos a1 a2 beta se p af info n``), a 1-based ``row``
(data rows; the header is row 0) and ``z``, the z-score of the effect allele ``a1``:

* ``z = beta / se`` when both are given (ldsc ``munge_sumstats.py``; the ``sumstats`` schema);
* ``z = ln(OR) / se`` for odds ratios, with ``beta = ln(OR)`` (se on the log-odds scale);
* the file's own z / t statistic otherwise;
* ``z = sign(beta | ln OR | z) * Phi^-1(1 - p/2)`` from ``p`` (or LOG10P, in log space) and a signed column;

and ``neg_log10_p`` (-log10 p, exact for LOG10P columns whose p underflows a double).

Tab- and comma-separated files are parsed by ``pyarrow.csv`` (multi-threaded, columnar);
white-space aligned files (PLINK 1.9) by pandas' C parser. Everything after parsing is vectorised.
A value that is present but not a number is an :class:`~locusflow.errors.InputError` naming file,
row and column; so is a p-value outside [0, 1] and a file lacking the columns needed for z.
Rows with the wrong number of fields are dropped with reason ``malformed_row``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from scipy.special import log_ndtr, ndtr, ndtri_exp

from ..errors import InputError
from .sumstats_formats import (NUMERIC, Header, detect_format, read_header, resolve_columns, vcf_build,
                               vcf_sample_n)

NA_VALUES = ["", "NA", "NaN", "nan", "NAN", "N/A", "NULL", "null", ".", "na", "-nan", "None"]
STR = pd.StringDtype("pyarrow")


@dataclass
class Sumstats:
    """Canonical frame of one file plus what was learnt reading it."""
    df: pd.DataFrame
    path: Path
    format: str
    columns: dict                       # canonical field -> header name in the file
    build: str | None = None
    n_rows: int = 0                     # data rows in the file (malformed ones included)
    dropped: list = field(default_factory=list)   # frames: row, snp, chrom, pos, a1, a2, reason

    def drop(self, mask, reason: str) -> None:
        """Move the rows where ``mask`` holds to the dropped list with ``reason``."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            gone = self.df.loc[mask, [c for c in ("row", "snp", "chrom", "pos", "a1", "a2") if c in self.df]]
            self.dropped.append(gone.assign(reason=reason))
            self.df = self.df.loc[~mask].reset_index(drop=True)

    def counts(self) -> dict:
        out: dict = {}
        for d in self.dropped:
            for r, c in d["reason"].value_counts().items():
                out[r] = out.get(r, 0) + int(c)
        return out


def read_sumstats(path, fmt: str = "auto", columns: dict | None = None, n: float | None = None) -> Sumstats:
    """Read ``path`` (plain or gzip) in layout ``fmt`` (``auto`` detects it); see the module docstring.

    After parsing, ranges are checked (p in [0, 1], LOG10P >= 0, af in [0, 1]), alleles and
    chromosomes normalised, and z, beta, p and ``neg_log10_p`` computed for every row.

    Parameters
    ----------
    path : str or pathlib.Path
        Summary-statistics file (delimited text or GWAS-VCF; plain or gzip).
    fmt : str
        Layout name from :data:`~locusflow.io.sumstats_formats.FORMAT_NAMES`; ``"auto"`` (or None)
        detects it from the header.
    columns : dict, optional
        Column overrides, canonical field -> header name (None: ignore that field); see
        :func:`~locusflow.io.sumstats_formats.resolve_columns`.
    n : float, optional
        Sample size for every row, replacing any ``n`` column; without it and without an ``n`` column,
        ``n = n_cases + n_controls`` when both are given.

    Returns
    -------
    Sumstats
        The canonical frame (``df``: row, the canonical fields found, z, neg_log10_p), with the path,
        format, column mapping, genome build and rows dropped so far (e.g. ``malformed_row``).

    Raises
    ------
    InputError
        When the file is missing, unreadable or truncated, lacks the columns needed for z (effect
        allele, position or variant name, and a signed statistic with se or p), holds a value that is
        not a number, or a p-value / -log10 p / allele frequency out of range; the file, row and
        column are named.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291 (ldsc ``munge_sumstats.py``, z = beta / se).
    """
    return next(iter_sumstats(path, fmt, columns, n, chunk_rows=None))


def iter_sumstats(path, fmt: str = "auto", columns: dict | None = None, n: float | None = None, *,
                  chunk_rows: int | None = 1_000_000):
    """:func:`read_sumstats` in chunks of consecutive data rows, read as a stream (bounded memory).

    Each chunk is a :class:`Sumstats` of at most ``chunk_rows`` parsed rows (``row`` keeps the file's
    numbering), checked, normalised and with z computed exactly as :func:`read_sumstats` does;
    ``n_rows`` of the chunks add up to the file's rows. Malformed rows (``malformed_row``) are reported
    with the last chunk. The genome build of a build column must be the same in every chunk.

    Parameters
    ----------
    path, fmt, columns, n
        As :func:`read_sumstats`.
    chunk_rows : int or None
        Rows per chunk; None reads the file as one chunk.

    Returns
    -------
    iterator of Sumstats

    Raises
    ------
    InputError
        As :func:`read_sumstats`, when the chunk holding the fault is read.
    """
    header = read_header(path)
    fmt = detect_format(header) if fmt in (None, "auto") else fmt
    cmap = resolve_columns(header, fmt, columns) if fmt != "gwas_vcf" else None
    if cmap is not None:
        _require(header, cmap, fmt)
    size = int(chunk_rows) if chunk_rows else None
    if size is not None and size < 1:
        raise ValueError(f"chunk_rows must be positive (got {chunk_rows})")
    build = None
    try:
        for ss in (_vcf_chunks(header, size) if cmap is None else _delimited_chunks(header, cmap, fmt, size)):
            if "build" in ss.df:
                ss.build = _single_build(ss, build)
            build = build or ss.build
            if n is not None:
                ss.df["n"] = float(n)
            elif "n" not in ss.df and "n_cases" in ss.df and "n_controls" in ss.df:
                ss.df["n"] = ss.df["n_cases"] + ss.df["n_controls"]
            _check_ranges(ss)
            _normalise(ss)
            _compute_z(ss)
            yield ss
    except (OSError, EOFError) as exc:           # a truncated or corrupt (b)gzip stream
        raise InputError(header.path, f"a complete, readable file ({type(exc).__name__}: {exc})") from None


def _require(header: Header, cmap: dict, fmt: str) -> None:
    need = []
    if "a1" not in cmap:
        need.append("effect allele (A1 / ALLELE1 / EFFECT_ALLELE / ALT)")
    if not ({"chrom", "pos"} <= cmap.keys() or "snp" in cmap):
        need.append("position (CHR + BP) or variant name (SNP / RSID)")
    signed = cmap.keys() & {"beta", "or", "z"}
    if not ((signed & {"beta", "or"} and "se" in cmap) or "z" in cmap
            or (signed and cmap.keys() & {"p", "lp"})):
        need.append("z, or BETA/OR with SE, or P (or LOG10P) with a signed BETA/OR/Z")
    if need:
        raise InputError(header.path, f"columns for {'; '.join(need)} ({fmt} layout); found {header.columns}",
                         row=0)


def _delimited_chunks(header: Header, cmap: dict, fmt: str, size: int | None):
    names = {v: k for k, v in cmap.items()}
    numeric = [h for h, f in names.items() if f in NUMERIC]
    stream = None if header.sep is None else _ArrowStream(header, list(names), numeric, size)
    parts = _whitespace_chunks(header, list(names), numeric, size) if stream is None else stream.chunks()
    for raw, rows, last in parts:
        bad_lines = stream.bad_lines if stream is not None and last else []
        df = pd.DataFrame({"row": rows})
        for h, f in names.items():
            df[f] = _to_float(raw[h], header, h, rows) if f in NUMERIC else raw[h].astype(STR)
        ss = Sumstats(df, header.path, fmt, cmap, n_rows=len(rows) + len(bad_lines))
        if bad_lines:
            ss.dropped.append(pd.DataFrame({"row": np.asarray(bad_lines, dtype=np.int64), "reason": "malformed_row"}))
        yield ss


class _Renumber(Exception):
    """A malformed row met while reading multi-threaded (its number unknown): read again single-threaded."""


class _ArrowStream:
    """Chunks of a delimited file from a pyarrow.csv stream: ``chunks()`` yields (columns, rows, last).

    Rows are numbered 1.. in the file, skipping malformed ones (their numbers end in ``bad_lines``).
    The stream is multi-threaded until a malformed row appears (pyarrow then gives no line numbers) or
    a value is not a number (then every column is read as text, so that :func:`_to_float` names the
    row); the file is then read again single-threaded, the rows already yielded skipped.
    """

    def __init__(self, header: Header, usecols: list, numeric: list, size: int | None, vcf: bool = False):
        self.header, self.usecols, self.size, self.vcf = header, usecols, size, vcf
        self.types = {c: (pa.float64() if c in numeric else pa.string()) for c in usecols}
        self.done = 0                   # parsed rows already yielded
        self.bad_lines: list = []

    def chunks(self):
        threads = not self.vcf
        while True:
            try:
                yield from self._pass(threads)
                return
            except _Renumber:
                threads = False
            except pa.ArrowInvalid as exc:
                if "conversion error" not in str(exc):
                    raise InputError(self.header.path, f"a delimited table ({exc})") from None
                self.types, threads = {c: pa.string() for c in self.usecols}, False

    def _reader(self, threads, handler):
        h, size = self.header, self.size
        block = 1 << 24 if size is None else int(min(1 << 24, max(1 << 16, 256 * size)))
        src = pa.input_stream(str(h.path), compression="gzip" if _is_gzip(h.path) else None)
        parse = dict(delimiter="\t", quote_char=False) if self.vcf else dict(delimiter=h.sep)
        nulls = dict(null_values=["."]) if self.vcf else dict(null_values=NA_VALUES, quoted_strings_can_be_null=True)
        return pacsv.open_csv(
            src, read_options=pacsv.ReadOptions(skip_rows=h.skip_rows, use_threads=threads, block_size=block),
            parse_options=pacsv.ParseOptions(invalid_row_handler=handler, **parse),
            convert_options=pacsv.ConvertOptions(include_columns=self.usecols, column_types=self.types,
                                                 strings_can_be_null=True, **nulls))

    def _pass(self, threads):
        bad: list = []
        reader = self._reader(threads, lambda row: bad.append(row.number) or "skip")
        skip, nxt, parsed = self.done, 1, 0
        pending, npend = [], 0

        def emit(table, last):
            nonlocal nxt, parsed
            k = table.num_rows
            lines = np.unique(np.asarray([b - self.header.skip_rows - 1 for b in bad], dtype=np.int64))
            cand = np.arange(nxt, nxt + k + len(lines), dtype=np.int64)
            rows = cand[~np.isin(cand, lines)][:k]
            nxt = int(rows[-1]) + 1 if k else nxt
            first, parsed = parsed, parsed + k
            if last:
                self.bad_lines = lines.tolist()
            if parsed <= skip and not last:
                return None
            if first < skip:
                table, rows = table.slice(skip - first), rows[skip - first:]
            cols = {c: table.column(c).to_pandas(types_mapper={pa.string(): STR}.get) for c in table.column_names}
            self.done = parsed
            return cols, rows, last

        for batch in reader:
            if threads and bad:
                raise _Renumber()
            pending.append(batch)
            npend += batch.num_rows
            while self.size is not None and npend > self.size:
                t = pa.Table.from_batches(pending)
                pending, npend = t.slice(self.size).to_batches(), npend - self.size
                out = emit(t.slice(0, self.size), False)
                if out is not None:
                    yield out
        if threads and bad:
            raise _Renumber()
        yield emit(pa.Table.from_batches(pending, schema=reader.schema), True)


def _whitespace_chunks(header: Header, usecols: list, numeric: list, size: int | None):
    """PLINK 1.9-style aligned columns: pandas' C parser, numbers parsed directly; only when a value is
    not a number is the file read again as text (rows already yielded skipped), to name the row (see
    :func:`_to_float`). Yields (columns, rows, last)."""
    kw = dict(sep=r"\s+", skiprows=header.skip_rows, usecols=usecols, na_values=NA_VALUES,
              keep_default_na=False, engine="c")
    done = 0
    for dtype in ({c: (np.float64 if c in numeric else str) for c in usecols}, str):
        try:
            if size is None:
                frames = iter([pd.read_csv(header.path, dtype=dtype, **kw)])
            else:
                frames = pd.read_csv(header.path, dtype=dtype, chunksize=size, **kw)
            prev, start = next(frames, None), 0
            if prev is None:                    # no data row: one empty chunk
                prev = pd.read_csv(header.path, dtype=dtype, **kw)
            while prev is not None:
                nxt = next(frames, None)
                rows = np.arange(start + 1, start + len(prev) + 1, dtype=np.int64)
                start += len(prev)
                if start > done or nxt is None:
                    yield {c: prev[c].reset_index(drop=True) for c in usecols}, rows, nxt is None
                    done = start
                prev = nxt
            return
        except pd.errors.ParserError as exc:
            m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
            row = int(m.group(2)) - header.skip_rows - 1 if m else None
            raise InputError(header.path, f"a white-space separated table ({exc})", row=row) from None
        except ValueError:
            continue


def _is_gzip(path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _to_float(col: pd.Series, header: Header, name: str, rows: np.ndarray) -> pd.Series:
    if col.dtype.kind == "f":
        return col.astype(np.float64)
    s = col.astype(object)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna().to_numpy() & s.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(header.path, "a number", row=int(rows[i]), column=name, value=s.iloc[i])
    return num.astype(np.float64)


def _vcf_chunks(header: Header, size: int | None):
    """IEU GWAS-VCF: ES/SE/LP/AF/SS/SI/EZ/NC in FORMAT of the first sample; effect allele = ALT."""
    cols = header.columns
    if len(cols) < 10:
        raise InputError(header.path, "a GWAS-VCF with FORMAT and one sample column", row=0)
    sample = cols[9]
    stream = _ArrowStream(header, ["#CHROM", "POS", "ID", "REF", "ALT", "FORMAT", sample], ["POS"], size, vcf=True)
    fields = {"ES": "beta", "SE": "se", "LP": "lp", "AF": "af", "SS": "n", "SI": "info", "EZ": "z",
              "NC": "n_cases"}
    for get, rows, last in stream.chunks():
        df = pd.DataFrame({"row": rows, "snp": get["ID"], "chrom": get["#CHROM"], "pos": get["POS"],
                           "a1": get["ALT"], "a2": get["REF"]})
        fmt_col, val_col = get["FORMAT"].astype(object), get[sample].astype(object)
        parts = val_col.str.split(":")
        for key, fld in fields.items():
            out = np.full(len(df), np.nan)
            for f in fmt_col.dropna().unique():
                keys = f.split(":")
                if key not in keys:
                    continue
                m = (fmt_col == f).to_numpy()
                vals = parts[m].str[keys.index(key)]
                vals = vals.where(vals != ".", None)
                num = pd.to_numeric(vals, errors="coerce")
                badv = num.isna().to_numpy() & vals.notna().to_numpy()
                if badv.any():
                    i = int(np.flatnonzero(badv)[0])
                    raise InputError(header.path, "a number", row=int(rows[m][i]), column=f"{sample}:{key}",
                                     value=vals.iloc[i])
                out[m] = num.to_numpy()
            if not np.isnan(out).all():
                df[fld] = out
        multi = df["a1"].str.contains(",", regex=False).fillna(False).to_numpy(dtype=bool)
        if "n" not in df and (tot := vcf_sample_n(header.meta)) is not None:
            df["n"] = tot
        bad = stream.bad_lines if last else []
        ss = Sumstats(df, header.path, "gwas_vcf", {"snp": "ID", "chrom": "#CHROM", "pos": "POS", "a1": "ALT",
                                                     "a2": "REF", **{v: f"{sample}:{k}" for k, v in fields.items()
                                                                     if v in df}},
                      build=vcf_build(header.meta), n_rows=len(rows) + len(bad))
        if bad:
            ss.dropped.append(pd.DataFrame({"row": np.asarray(bad, dtype=np.int64), "reason": "malformed_row"}))
        ss.drop(multi, "multi_allelic")          # ALT "A,T": one record, several alleles
        yield ss


def _single_build(ss: Sumstats, expect: str | None = None) -> str | None:
    """The one build of the build column (dropped from ``ss.df``); ``expect``: the build earlier chunks gave."""
    raw = ss.df["build"].astype(object)
    b = raw.map({u: normalise_build(u) for u in raw.dropna().unique()})      # one call per distinct value
    vals = b.dropna().unique()
    if len(set(vals) | ({expect} if expect is not None else set())) > 1:
        first = b.iloc[0] if expect is None else expect
        i = int(np.flatnonzero((b != first).to_numpy() & b.notna().to_numpy())[0])
        found = sorted(set(vals) | ({expect} if expect else set()))
        raise InputError(ss.path, f"one genome build throughout; found {found} "
                         "(mixed builds)", row=int(ss.df["row"].iloc[i]), column=ss.columns["build"],
                         value=ss.df["build"].iloc[i])
    ss.df = ss.df.drop(columns="build")
    return vals[0] if len(vals) else expect


def normalise_build(b) -> str:
    """Canonical name of a genome-build label.

    Case-insensitive: ``38``, ``GRCh38``, ``hg38``, ``b38``, ``NCBI38`` -> ``GRCh38``; ``37``, ``GRCh37``
    (and patch releases ``GRCh37.pN``), ``hg19``, ``b37``, ``NCBI37`` -> ``GRCh37``; ``36``, ``GRCh36``,
    ``hg18``, ``b36``, ``NCBI36`` -> ``NCBI36``.

    Parameters
    ----------
    b : object
        Build label (converted with ``str``; surrounding white space ignored).

    Returns
    -------
    str
        ``"GRCh38"``, ``"GRCh37"`` or ``"NCBI36"``, else ``str(b)`` unchanged.
    """
    s = str(b).strip().lower()
    if re.fullmatch(r"(grch)?38|hg38|b38|ncbi38", s):
        return "GRCh38"
    if re.fullmatch(r"(grch)?37|hg19|b37|ncbi37|grch37\.p\d+", s):
        return "GRCh37"
    if re.fullmatch(r"(grch)?36|hg18|b36|ncbi36", s):
        return "NCBI36"
    return str(b)


def _check_ranges(ss: Sumstats) -> None:
    df = ss.df
    for fld, lo, hi, what in (("p", 0.0, 1.0, "a p-value in [0, 1]"), ("lp", 0.0, np.inf, "-log10 p >= 0"),
                              ("af", 0.0, 1.0, "an allele frequency in [0, 1]")):
        if fld not in df:
            continue
        v = df[fld].to_numpy()
        bad = (v < lo) | (v > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(ss.path, what, row=int(df["row"].iloc[i]), column=ss.columns.get(fld, fld),
                             value=float(v[i]))


CHROM_ALIASES = {"23": "X", "24": "Y", "25": "MT", "26": "MT", "M": "MT", "XY": "X"}   # PLINK codes


def _normalise(ss: Sumstats) -> None:
    """Upper-case alleles, chromosomes without 'chr', integral positions, PLINK TEST/REF/ALT handling."""
    df = ss.df
    for c in ("a1", "a2", "ref", "alt"):
        if c in df:
            df[c] = df[c].str.upper().str.strip()
    if "chrom" in df:
        ch = df["chrom"].str.strip().str.upper().str.replace(r"^CHR", "", regex=True)
        df["chrom"] = ch.replace(CHROM_ALIASES)
    if "a2" not in df and "ref" in df and "alt" in df:       # PLINK 2 --glm: other = REF or ALT
        a2 = df["ref"].where(df["a1"] != df["ref"], df["alt"])
        df["a2"] = a2.astype(STR)
    df.drop(columns=[c for c in ("ref", "alt") if c in df], inplace=True)
    if "test" in df:
        ss.drop((df["test"].str.upper() != "ADD").fillna(True).to_numpy(dtype=bool), "not_additive_test")
        ss.df = ss.df.drop(columns="test")


LN10, LN2 = np.log(10.0), np.log(2.0)


def _compute_z(ss: Sumstats) -> None:
    """z, beta, p and ``neg_log10_p`` of every row (see the module docstring).

    A p-value is carried as its natural log: from LOG10P as ``-LP ln 10`` (never through ``10**-LP``,
    which is 0 beyond LP = 323), and z from it by ``scipy.special.ndtri_exp``, so LOG10P = 400 gives
    |z| = 42.7 instead of an underflow. ``p`` is the given p, else ``10**-LP`` (0 when that
    underflows; ``neg_log10_p`` keeps the exact value), else ``2 Phi(-|z|)``.
    """
    df = ss.df
    nan = np.full(len(df), np.nan)
    beta = df["beta"].to_numpy() if "beta" in df else nan
    if "or" in df:
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(np.isnan(beta), np.log(df["or"].to_numpy()), beta)
        del df["or"]
    se = df["se"].to_numpy() if "se" in df else nan
    p = df["p"].to_numpy() if "p" in df else nan
    lp = df.pop("lp").to_numpy() if "lp" in df else nan
    zfile = df["z"].to_numpy() if "z" in df else nan
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.where(np.isnan(p), -lp * LN10, np.log(p))
        z = beta / se
        z = np.where(np.isnan(z), zfile, z)
        need = np.isnan(z)
        if need.any():           # z from p with the sign of beta (or of the file's z)
            sign = np.sign(np.where(np.isnan(beta), zfile, beta))
            z[need] = (sign * -ndtri_exp(logp - LN2))[need]
        p = np.where(np.isnan(p), np.exp(logp), p)
        p = np.where(np.isnan(p), 2.0 * ndtr(-np.abs(z)), p)
        nl10 = np.where(np.isfinite(logp), -logp / LN10, -(log_ndtr(-np.abs(z)) + LN2) / LN10)
    df["z"], df["beta"], df["p"], df["neg_log10_p"] = z, beta, p, nl10 + 0.0
    if "se" not in df:
        df["se"] = np.nan
