"""VCF specifics of genotype ingest: the sample-column check and the split of multi-allelic records.

A VCF data line has 9 fixed fields (CHROM..FORMAT) and one field per sample named in the ``#CHROM``
header line. htslib (and so bio2zarr) rejects a short line with an unhelpful message and silently
ignores surplus fields, so :func:`check_sample_columns` scans the file once (``pyarrow.csv``,
C++, all cores) and names the first line whose field count differs.

:func:`split_multiallelic` rewrites a bio2zarr store whose records carry several ALT alleles into
one biallelic variant per ALT, exactly as ``bcftools norm -m-`` does: ``REF`` and the record's ID
are kept, the alleles are not trimmed, and in the row of ALT ``j`` a call of allele ``j`` becomes 1
and a call of any other allele (REF or another ALT) becomes 0 (missing stays missing). Each split
variant thus has its own dosage and its own ``variant_id`` (``chrom:pos:ref:alt_j``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import InputError
from .sumstats_formats import read_header


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def check_sample_columns(path) -> int:
    """Check that every data line of a VCF has 9 + (number of samples in the header) fields.

    Parameters
    ----------
    path : str or Path
        VCF, plain, gzip or bgzip.

    Returns
    -------
    int
        The number of samples named in the ``#CHROM`` line.

    Raises
    ------
    InputError
        Naming the file, the first data row (the ``#CHROM`` line is row 0) with another field count,
        its ``CHROM:POS`` and both counts.

    References
    ----------
    VCF v4.3 specification, section 1.6 (data lines): https://samtools.github.io/hts-specs/VCFv4.3.pdf
    """
    path = Path(path)
    header = read_header(path)
    if header.columns[:2] != ["#CHROM", "POS"]:
        raise InputError(path, "a VCF header line starting '#CHROM POS'", row=0, value=header.columns[:2])
    n_samples = max(len(header.columns) - 9, 0)
    want = len(header.columns)
    bad: list = []

    def handler(row):
        bad.append((row.number, row.actual_columns, row.text[:60]))
        return "skip"

    def scan(threads: bool):
        src = pa.input_stream(str(path), compression="gzip" if _is_gzip(path) else None)
        pacsv.read_csv(src, read_options=pacsv.ReadOptions(skip_rows=header.skip_rows, use_threads=threads,
                                                           block_size=1 << 24),
                       parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False, invalid_row_handler=handler),
                       convert_options=pacsv.ConvertOptions(include_columns=["#CHROM"],
                                                            column_types={"#CHROM": pa.string()}))
    scan(True)
    if bad:                                  # line numbers are known only single-threaded
        bad.clear()
        scan(False)
        line, got, text = bad[0]
        where = ":".join(text.split("\t")[:2])
        raise InputError(path, f"{want} tab-separated fields per line (9 + {n_samples} samples in the "
                         f"#CHROM header)", row=int(line) - header.skip_rows - 1, column=where,
                         value=f"{got} fields")
    return n_samples


def split_plan(alleles: np.ndarray):
    """Rows of the split store: the source record and the ALT index of each biallelic variant.

    Parameters
    ----------
    alleles : ndarray of str, shape (records, max_alleles)
        ``variant_allele`` of a VCF Zarr store ("" pads records with fewer alleles).

    Returns
    -------
    record : ndarray of int64
        Source record of each output variant (records in order, ALTs in order within a record).
    alt_index : ndarray of int8
        The allele index (1..) that is ``alt`` in that variant; a record without ALT keeps one row
        with index 1 (its ``alt`` is "").
    """
    n_alt = np.maximum((alleles[:, 1:] != "").sum(1), 1) if alleles.shape[1] > 1 else np.ones(len(alleles), int)
    record = np.repeat(np.arange(len(alleles), dtype=np.int64), n_alt)
    first = np.cumsum(n_alt) - n_alt
    alt_index = (np.arange(len(record)) - np.repeat(first, n_alt) + 1).astype(np.int8)
    return record, alt_index


def split_calls(calls: np.ndarray, alt_index: np.ndarray) -> np.ndarray:
    """Biallelic calls of split variants: 1 where the call is ``alt_index``, 0 for any other allele.

    Parameters
    ----------
    calls : ndarray of int8, shape (variants, samples, ploidy)
        Source calls already gathered to the output rows (-1 = missing, -2 = ploidy padding).
    alt_index : ndarray of int, shape (variants,)
        Per output row, the source allele index (1 = first ALT) that becomes this row's alt allele.

    Returns
    -------
    ndarray of int8
        Calls as ``bcftools norm -m-`` writes them (missing kept as -1).
    """
    out = (calls == alt_index[:, None, None]).astype(np.int8)
    out[calls < 0] = -1
    return out
