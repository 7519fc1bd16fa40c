"""Genotype stores in the VCF Zarr layout (Zarr format 2), with a `variants` Parquet table beside them.

Arrays (VCF Zarr specification, as bio2zarr and sgkit write them):
  call_genotype [variants, samples, ploidy] int8 (-1 missing), variant_contig [variants] int16
  (index into contig_id), variant_position int32 (1-based), variant_allele [variants, 2] str
  (ref, alt), variant_id str, sample_id [samples] str, contig_id [contigs] str.
Next to them ``<store>/variants.parquet/`` (schema `variants`) maps each variant_id to its row
(`store_index`) and ``<store>/locusflow.json`` holds the store's metadata (schema `genotype_store`).

PLINK input is converted here (A1 = alt); VCF input goes through bio2zarr.
"""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numcodecs
import numpy as np
import pandas as pd
import zarr

from .. import storage
from ..checksum import stat_identity
from ..logs import get_logger
from ..errors import InputError
from ..schema import load
from .dataset import arrow_to_pandas, file_checksum, read_arrow, read_dataset, write_dataset
from .plink import BedReader, read_bim, read_fam
from .variant_id import STR, variant_ids
from .vcf import check_sample_columns, split_calls, split_plan

log = get_logger("ingest")
VARIANTS_CHUNK = 1000
SAMPLES_CHUNK = 10_000
# zstd level 1 with bit shuffle: calls compress 7x, within 4 % of level 5's size at a third of its CPU
STORE_COMPRESSORS = numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.BITSHUFFLE)


def make_variant_id(chrom, pos, ref, alt) -> pd.Series:
    """``chrom:pos:ref:alt`` per variant: :func:`locusflow.io.variant_id.variant_ids` as object strings.

    Parameters
    ----------
    chrom, pos, ref, alt : array-like
        As :func:`locusflow.io.variant_id.variant_ids`.

    Returns
    -------
    pandas.Series of str
        One id per variant, in input order.
    """
    return variant_ids(chrom, pos, ref, alt).astype(object)


def ingest_plink(prefix, out, *, genome_build: str = "GRCh37", variants_chunk: int = VARIANTS_CHUNK,
                 samples_chunk: int = SAMPLES_CHUNK, progress: bool = False, fasta=None) -> "GenotypeStore":
    """Convert a PLINK 1 fileset to a VCF Zarr store at ``out`` (replaced if present).

    Parameters
    ----------
    prefix : str or Path
        PLINK prefix (.bed/.bim/.fam; their consistency is checked exactly, see :class:`BedReader`).
    out : str or Path
        Store directory (.vcz).
    genome_build : str
        Recorded on the variants.
    variants_chunk : int
        Variants per Zarr chunk.
    samples_chunk : int
        Samples per Zarr chunk (rounded up to a multiple of 4; bio2zarr's default 10,000): a chunk of
        ``call_genotype`` holds at most variants_chunk x samples_chunk x 2 bytes (20 MB by default, where
        one chunk of all samples would be 1 GB at 500,000 samples), and the file is converted tile by tile,
        so memory does not grow with the samples either.
    progress : bool
        Unused (PLINK conversion is one pass).
    fasta : str or Path, optional
        Indexed genome: ``ref`` becomes the genome's allele, as ``plink2 --ref-from-fa force``: variants
        whose A1 is the genome base are stored with ref = A1, alt = A2 (dosage 2 - A1 count); others
        keep ref = A2. Counts per class (:mod:`locusflow.io.fasta`) go to the store's ``ref_check``.

    Returns
    -------
    GenotypeStore

    Raises
    ------
    InputError
        When a PLINK file is missing or malformed (:func:`~locusflow.io.plink.read_bim`,
        :func:`~locusflow.io.plink.read_fam`, :class:`BedReader`: magic bytes, size for the samples and
        variants), or ``fasta`` is not an indexed FASTA.

    References
    ----------
    PLINK 2 ``--ref-from-fa``: https://www.cog-genomics.org/plink/2.0/data#ref_from_fa
    """
    source = storage.redact(prefix)
    if storage.is_remote(prefix):      # the .bed is memory-mapped: a local copy, cached by the objects' checksums
        for x in ("bed", "bim", "fam"):
            if not storage.exists(f"{storage.uri(prefix)}.{x}"):
                raise InputError(f"{source}.{x}", "file not found (a PLINK prefix)")
        prefix = storage.local_prefix(prefix, (".bed", ".bim", ".fam"))
    bim, fam = read_bim(prefix), read_fam(prefix)
    bed = BedReader(prefix, n_samples=len(fam), n_variants=len(bim))
    m, n = len(bim), len(fam)
    swap, ref_check = np.zeros(m, bool), None
    if fasta is not None:
        from .fasta import Genome, classify_ref
        cls = classify_ref(bim["chrom"], bim["pos"], bim["a2"], bim["a1"], Genome(fasta))
        swap = cls == "genome_alt"
        ref_check = json.dumps({k: int(v) for k, v in pd.Series(cls).value_counts().items()})
        log.info("%s: ref against %s: %s (genome_alt turned round)", prefix, fasta, ref_check)
    ref, alt = np.where(swap, bim["a1"], bim["a2"]), np.where(swap, bim["a2"], bim["a1"])
    out, tmp = _build_dir(out)
    root = zarr.open_group(str(tmp), mode="w", zarr_format=2)
    contigs = list(dict.fromkeys(bim["chrom"]))
    cs = max(4, -(-int(samples_chunk) // 4) * 4)
    gt = root.create_array("call_genotype", shape=(m, n, 2), chunks=(variants_chunk, max(1, min(n, cs)), 2),
                           dtype="i1", compressors=STORE_COMPRESSORS, fill_value=-1)
    total, called = np.zeros(m, np.int64), np.zeros(m, np.int64)
    for s in range(0, m, variants_chunk):  # tiles of whole Zarr chunks: loops over chunks, not variants
        e = min(m, s + variants_chunk)
        for a in range(0, n, cs):
            g = bed.read_block(s, e, a, a + cs)
            g = np.where(swap[s:e, None] & (g >= 0), 2 - g, g) if swap[s:e].any() else g
            # unphased calls: alt count c -> (c>=1, c==2) as (allele index 0=ref, 1=alt); alt = A1 unless swapped
            calls = np.stack([(g >= 2).astype(np.int8), (g >= 1).astype(np.int8)], axis=-1)
            calls[g < 0] = -1
            gt[s:e, a:a + g.shape[1]] = calls
            ok = g >= 0
            called[s:e] += ok.sum(1)
            total[s:e] += np.where(ok, g, 0).sum(1)
    af = np.where(called > 0, total / np.maximum(2 * called, 1), np.nan)
    rate = called / n if n else np.zeros(m)
    write_variant_arrays(root, bim["chrom"].to_numpy(), bim["pos"].to_numpy(), ref, alt,
                          bim["rsid"].to_numpy(), fam["iid"].to_numpy(), contigs, variants_chunk)
    variants = pd.DataFrame({
        "variant_id": make_variant_id(bim["chrom"], bim["pos"], ref, alt),
        "chrom": bim["chrom"], "pos": bim["pos"], "ref": ref, "alt": alt,
        "rsid": bim["rsid"], "cm": bim["cm"].astype(float), "store_index": np.arange(m),
        "af": af, "call_rate": rate, "genome_build": genome_build})
    checksum = "".join(file_checksum(f"{prefix}.{x}")[:16] for x in ("bed", "bim", "fam"))
    return finish_store(tmp, out, variants, source=source, fmt="plink", n=n,
                   chunk=variants_chunk, build=genome_build, checksum=checksum, ref_check=ref_check)


def ingest_vcf(vcf, out, *, genome_build: str = "GRCh37", variants_chunk: int = VARIANTS_CHUNK,
               progress: bool = False, fasta=None, parser: str = "auto") -> "GenotypeStore":
    """Convert a VCF (plain, gzip or bgzip) to a VCF Zarr store.

    A GT-only diploid VCF with one-digit alleles (the common shape) is decoded as fixed-width bytes by
    :mod:`locusflow.io.vcf_text` (as ``plink --vcf`` does); any other file goes through bio2zarr (bgzipped,
    indexed when it has several contigs). Both give the same store.

    Multi-allelic records are split as ``bcftools norm -m-`` (:mod:`locusflow.io.vcf`); every data line
    must carry one field per sample of the header. With ``fasta``, REF is checked against the genome
    (counted in the store's ``ref_check``, a warning when any REF is not the genome's base: a wrong
    build or FASTA); alleles are never changed, REF being the genome's base by the VCF specification.

    Parameters
    ----------
    vcf : str or Path
        VCF file (plain or bgzipped; indexed when it has several contigs).
    out : str or Path
        Store directory (.vcz), replaced if present.
    genome_build : str
        Recorded on the variants.
    variants_chunk : int
        Variants per Zarr chunk.
    progress : bool
        bio2zarr's progress bar.
    fasta : str or Path, optional
        Indexed genome.
    parser : {"auto", "bio2zarr"}
        ``auto``: the fixed-width reader when the file has that shape, else bio2zarr; ``bio2zarr``: always.

    Returns
    -------
    GenotypeStore
        The new store at ``out``.

    Raises
    ------
    InputError
        When the file does not exist, a data line's field count differs from the header's
        (:func:`~locusflow.io.vcf.check_sample_columns`), bio2zarr cannot convert it, or ``fasta`` is not
        an indexed FASTA.

    References
    ----------
    Danecek P et al. (2021) GigaScience 10:giab008 (``bcftools norm -m-``); VCF Zarr specification
    (bio2zarr, sgkit).
    """
    from bio2zarr import vcf as b2z
    from .vcf_text import NotFixedWidth     # numba: imported for VCF ingest only, not with every store read

    if storage.is_remote(vcf) and not storage.exists(vcf):
        raise InputError(storage.redact(vcf), "file not found")
    vcf = storage.local_file(vcf, siblings=(".tbi", ".csi"))
    if not vcf.exists():
        raise InputError(vcf, "file not found")
    if parser == "auto":
        try:
            return _ingest_fixed_width(vcf, Path(out), genome_build, variants_chunk, fasta)
        except NotFixedWidth as why:
            log.info("%s: %s; read with bio2zarr", vcf, why)
    check_sample_columns(vcf)
    out, tmp = _build_dir(out)
    try:
        b2z.convert([str(vcf)], str(tmp), variants_chunk_size=variants_chunk, show_progress=progress,
                    zarr_format=2)
    except Exception as exc:  # bio2zarr raises many types; the user needs the file named
        raise InputError(vcf, f"a valid VCF (bio2zarr: {exc})") from exc
    root = zarr.open_group(str(tmp), mode="r+", zarr_format=2)
    record, alt_index = split_plan(_strs(root["variant_allele"][:]))
    per_record = np.bincount(record)
    if (per_record > 1).any():
        log.info("%s: %d multi-allelic records split into %d biallelic variants (as bcftools norm -m-)",
                 vcf, int((per_record > 1).sum()), int(per_record[per_record > 1].sum()))
        split = out.parent / f".{out.name}.split.tmp"
        shutil.rmtree(split, ignore_errors=True)
        _split_store(root, split, record, alt_index, variants_chunk)
        shutil.rmtree(tmp)
        split.rename(tmp)
        root = zarr.open_group(str(tmp), mode="r+", zarr_format=2)
    contig = _strs(root["contig_id"][:])
    chrom = pd.Series(contig[np.asarray(root["variant_contig"][:])]).str.replace("^chr", "", regex=True)
    pos = np.asarray(root["variant_position"][:]).astype(np.int64)
    alleles = _strs(root["variant_allele"][:])
    ids = _strs(root["variant_id"][:]) if "variant_id" in root else np.full(len(pos), ".")
    g = root["call_genotype"]
    af = np.empty(len(pos))
    rate = np.empty(len(pos))
    for s in range(0, len(pos), variants_chunk):
        d = decode_dosages(np.asarray(g[s:s + variants_chunk]))
        af[s:s + len(d)] = np.nanmean(d, 1) / 2 if d.shape[1] else np.nan
        rate[s:s + len(d)] = np.mean(~np.isnan(d), 1)
    ref, alt = np.char.upper(alleles[:, 0]), np.char.upper(alleles[:, 1])
    alt = np.where(alt == "", ".", alt)              # a record without ALT, written as VCF does
    variants = pd.DataFrame({
        "variant_id": make_variant_id(chrom, pos, ref, alt), "chrom": chrom, "pos": pos,
        "ref": ref, "alt": alt, "rsid": ids, "cm": np.nan, "store_index": np.arange(len(pos)),
        "af": af, "call_rate": rate, "genome_build": genome_build})
    n = root["sample_id"].shape[0]
    ref_check = _vcf_ref_check(vcf, variants, fasta) if fasta is not None else None
    return finish_store(tmp, out, variants, source=str(vcf), fmt="vcf", n=n, chunk=variants_chunk,
                   build=genome_build, checksum=file_checksum(vcf), ref_check=ref_check)


def _ingest_fixed_width(vcf: Path, out: Path, genome_build: str, chunk: int, fasta) -> "GenotypeStore":
    """ingest_vcf for GT-only diploid one-digit VCFs: blocks of lines decoded as bytes, multi-allelic records
    split as bcftools norm -m-, calls appended chunk by chunk. Raises NotFixedWidth (nothing published)
    when the file has another shape."""
    from .vcf_text import NotFixedWidth, read_gt_blocks
    blocks = read_gt_blocks(vcf)
    samples = next(blocks)
    n = len(samples)
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=2)
        gt = root.create_array("call_genotype", shape=(0, n, 2), chunks=(chunk, n, 2), dtype="i1",
                               compressors=STORE_COMPRESSORS, fill_value=-1)
        parts, stats, pending = [], [], []
        for fixed, calls, alt_count, called in blocks:
            multi = fixed["ALT"].str.contains(",", regex=False).to_numpy()
            alts = fixed["ALT"].str.split(",", expand=True).fillna("") if multi.any() else fixed[["ALT"]]
            alleles = np.column_stack([fixed["REF"].to_numpy(), alts.to_numpy()]).astype(str)
            alleles[:, 1:][alleles[:, 1:] == "."] = ""
            record, alt_index = split_plan(alleles)
            if len(record) != len(fixed):        # multi-allelic records: one row per ALT, counted again
                calls = split_calls(calls[record], alt_index)
                d = decode_dosages(calls)
                called = (~np.isnan(d)).sum(1)
                alt_count = np.nansum(d, 1)
            stats.append(np.column_stack([np.where(called > 0, alt_count / np.maximum(2 * called, 1), np.nan),
                                          called / max(n, 1)]))
            parts.append(pd.DataFrame({"chrom": fixed["CHROM"].to_numpy()[record], "pos": fixed["POS"].to_numpy()[record],
                                       "id": fixed["ID"].to_numpy()[record], "ref": alleles[record, 0],
                                       "alt": alleles[record, alt_index.astype(np.int64)]}))
            pending.append(calls)
            if sum(len(c) for c in pending) >= chunk:      # append whole chunks; the rest waits
                allc = np.concatenate(pending)
                k = len(allc) // chunk * chunk
                gt.append(allc[:k])
                pending = [allc[k:]]
        if pending and sum(len(c) for c in pending):
            gt.append(np.concatenate(pending))
        v = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["chrom", "pos", "id", "ref", "alt"])
        st = np.concatenate(stats) if stats else np.empty((0, 2))
        chrom = v["chrom"].astype(str).str.replace("^chr", "", regex=True)
        pos = pd.to_numeric(v["pos"], errors="coerce")
        if pos.isna().any():
            raise NotFixedWidth("a POS that is not a number")
        pos = pos.to_numpy().astype(np.int64)
        ref, alt = np.char.upper(v["ref"].to_numpy().astype(str)), np.char.upper(v["alt"].to_numpy().astype(str))
        alt = np.where(alt == "", ".", alt)
        contigs = list(dict.fromkeys(v["chrom"].astype(str)))
        write_variant_arrays(root, v["chrom"].astype(str).to_numpy(), pos, v["ref"].to_numpy().astype(str),
                             v["alt"].to_numpy().astype(str), v["id"].to_numpy().astype(str), np.asarray(samples, str),
                             contigs, chunk)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    variants = pd.DataFrame({
        "variant_id": make_variant_id(chrom, pos, ref, alt), "chrom": chrom, "pos": pos,
        "ref": ref, "alt": alt, "rsid": v["id"].to_numpy().astype(str), "cm": np.nan,
        "store_index": np.arange(len(pos)), "af": st[:, 0], "call_rate": st[:, 1], "genome_build": genome_build})
    ref_check = _vcf_ref_check(vcf, variants, fasta) if fasta is not None else None
    return finish_store(tmp, out, variants, source=str(vcf), fmt="vcf", n=n, chunk=chunk, build=genome_build,
                        checksum=file_checksum(vcf), ref_check=ref_check)


def _vcf_ref_check(vcf, variants: pd.DataFrame, fasta) -> str:
    from .fasta import Genome, classify_ref
    cls = pd.Series(classify_ref(variants["chrom"], variants["pos"], variants["ref"], variants["alt"], Genome(fasta)))
    counts = {k: int(v) for k, v in cls.value_counts().items()}
    bad = int(cls.isin(["genome_alt", "neither", "not_in_genome"]).sum())
    if bad:
        log.warning("%s: REF is not the genome's base at %d of %d variants (%s): wrong genome build or FASTA?",
                    vcf, bad, len(cls), counts)
    return json.dumps(counts)


def write_variant_arrays(root, chrom, pos, ref, alt, ids, samples, contigs, chunk):
    """The VCF Zarr variant and sample arrays of a store whose ``call_genotype`` is written.

    Parameters
    ----------
    root : zarr.Group
        The store being written (Zarr format 2).
    chrom, pos, ref, alt, ids : array-like
        Per variant, in store order.
    samples : array-like of str
        Sample ids, in ``call_genotype``'s order.
    contigs : list of str
        Contig names (``variant_contig`` indexes them).
    chunk : int
        Variants per chunk.

    Returns
    -------
    None
    """
    m = len(pos)
    cidx = {c: i for i, c in enumerate(contigs)}
    _put(root, "variant_contig", pd.Series(chrom).map(cidx).to_numpy().astype(np.int16), (chunk,))
    _put(root, "variant_position", np.asarray(pos, np.int32), (chunk,))
    _put(root, "variant_allele", np.stack([np.asarray(ref, str), np.asarray(alt, str)], 1), (chunk, 2), str)
    _put(root, "variant_id", np.asarray(ids, str), (chunk,), str)
    _put(root, "sample_id", np.asarray(samples, str), None, str)
    _put(root, "contig_id", np.asarray(contigs, str), None, str)
    for name, dims in [("call_genotype", ["variants", "samples", "ploidy"]),
                       ("variant_contig", ["variants"]), ("variant_position", ["variants"]),
                       ("variant_allele", ["variants", "alleles"]), ("variant_id", ["variants"]),
                       ("sample_id", ["samples"]), ("contig_id", ["contigs"])]:
        root[name].attrs["_ARRAY_DIMENSIONS"] = dims
    assert m == root["call_genotype"].shape[0]


def _split_store(src, dst: Path, record: np.ndarray, alt_index: np.ndarray, chunk: int) -> None:
    """Store ``dst`` with one biallelic variant per ALT of the bio2zarr group ``src`` (see io.vcf)."""
    root = zarr.open_group(str(dst), mode="w", zarr_format=2)
    g = src["call_genotype"]
    m, n, ploidy = len(record), g.shape[1], g.shape[2]
    gt = root.create_array("call_genotype", shape=(m, n, ploidy), chunks=(chunk, n, ploidy), dtype="i1",
                           compressors=STORE_COMPRESSORS, fill_value=-1)
    for s in range(0, g.shape[0], chunk):               # source records s:e -> output rows lo:hi
        e = min(g.shape[0], s + chunk)
        lo, hi = np.searchsorted(record, [s, e])
        gt[lo:hi] = split_calls(np.asarray(g[s:e])[record[lo:hi] - s], alt_index[lo:hi])
    alleles = _strs(src["variant_allele"][:])
    contigs = list(_strs(src["contig_id"][:]))
    chrom = np.asarray(contigs, dtype=object)[np.asarray(src["variant_contig"][:])[record]]
    ids = _strs(src["variant_id"][:])[record] if "variant_id" in src else np.full(m, ".")
    write_variant_arrays(root, chrom, np.asarray(src["variant_position"][:])[record], alleles[record, 0],
                          alleles[record, alt_index.astype(np.int64)], ids, _strs(src["sample_id"][:]),
                          contigs, chunk)


def _put(root, name, data, chunks=None, dtype=None):
    arr = root.create_array(name, shape=data.shape, chunks=chunks or data.shape,
                            dtype=dtype or data.dtype, compressors=STORE_COMPRESSORS)
    arr[...] = data.astype(object) if dtype is str else data


def finish_store(tmp: Path, out: Path, variants: pd.DataFrame, *, source, fmt, n, chunk, build, checksum,
                 ref_check=None):
    """Write the ``variants`` table and ``locusflow.json`` into the store at ``tmp``, then move it to ``out``.

    Parameters
    ----------
    tmp, out : pathlib.Path
        The store written so far (arrays complete) and where it goes (replaced if present).
    variants : pandas.DataFrame
        The ``variants`` dataset.
    source, fmt, n, chunk, build, checksum, ref_check
        Recorded in ``locusflow.json``: the input, its format, samples, variants per chunk, genome build,
        content checksum of the input, REF check counts (JSON text) or None.

    Returns
    -------
    GenotypeStore
    """
    write_dataset(variants, tmp / "variants.parquet", "variants", mode="overwrite")
    meta = {"store_path": out.name, "source": source, "source_format": fmt, "n_variants": len(variants),
            "n_samples": int(n), "variants_chunk": int(chunk), "genome_build": build,
            "source_sha256": checksum, "ref_check": ref_check}
    load("genotype_store").conform(pd.DataFrame([meta]))
    (tmp / "locusflow.json").write_text(json.dumps(meta, indent=1))
    if storage.is_remote(out):          # built on local disk, then uploaded (locusflow.json, the marker, last)
        storage.upload_tree(tmp, out, last="locusflow.json")
        shutil.rmtree(tmp.parent, ignore_errors=True)
    else:
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    log.info("genotype store %s: %d variants x %d samples (%s)", storage.redact(out), len(variants), n, fmt)
    return GenotypeStore(out)


def _build_dir(out):
    """(``out``, a fresh directory the store is built in): beside ``out`` locally, in a temporary directory
    when ``out`` is on an object store (Zarr chunks are written locally, then uploaded whole)."""
    out = storage.as_path(out)
    if storage.is_remote(out):
        import tempfile
        return out, Path(tempfile.mkdtemp(prefix="locusflow-store-")) / out.name
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    return out, tmp


def _strs(a) -> np.ndarray:
    """zarr 3 returns numpy StringDType for text arrays; plain unicode is what the rest expects."""
    return np.asarray(a, dtype=object).astype(str)


def _pair_table(dtype) -> np.ndarray:
    """Dosage of every diploid call as one little-endian uint16 (allele a | allele b << 8); NaN if one is < 0."""
    u = np.arange(65536, dtype=np.uint32)
    a, b = (u & 0xFF).astype(np.uint8).view(np.int8), (u >> 8).astype(np.uint8).view(np.int8)
    d = ((a > 0).astype(np.float64) + (b > 0)).astype(dtype)
    d[(a < 0) | (b < 0)] = np.nan
    return d


_PAIR = {}


def pair_tables() -> tuple[np.ndarray, np.ndarray]:
    """Tables over the 65,536 little-endian uint16 call pairs (allele a | allele b << 8) of diploid int8 calls.

    Returns
    -------
    (dosage, missing): float64 alt dosage of each pair with 0 where an allele is missing, and int32 1
    where one is
    """
    if "tables" not in _PAIR:
        d = _pair_table(np.float64)
        m = np.isnan(d)
        _PAIR["tables"] = (np.where(m, 0.0, d), m.astype(np.int32))
    return _PAIR["tables"]


def decode_dosages(calls: np.ndarray, dtype=np.float32, samples=None) -> np.ndarray:
    """Alt-allele dosages from int8 calls [variants, samples, ploidy]; NaN where any allele is missing.

    Diploid calls are decoded in one pass: each (a, b) pair read as one little-endian uint16 indexes a
    65,536-entry table (256 KiB in float32: it stays in cache), straight into ``dtype``.

    Parameters
    ----------
    calls : numpy.ndarray of int8
        Allele indices [variants, samples, ploidy] (VCF Zarr ``call_genotype``); < 0 = missing; any
        index > 0 counts as alt (stores hold biallelic, split records).
    dtype : numpy dtype
        float32 or float64.
    samples : array-like of int, optional
        Sample columns to keep, in this order (default all).

    Returns
    -------
    numpy.ndarray
        Dosages [variants, samples] of ``dtype``.
    """
    dtype = np.dtype(dtype)
    if calls.ndim == 3 and calls.shape[-1] == 2 and calls.dtype == np.int8:
        if dtype not in _PAIR:
            _PAIR[dtype] = _pair_table(dtype)
        pairs = np.ascontiguousarray(calls).view("<u2")[..., 0]
        return _PAIR[dtype].take(pairs if samples is None else pairs[:, np.asarray(samples)])
    if samples is not None:
        calls = calls[:, np.asarray(samples)]
    a = calls[..., 0]                          # element-wise passes per allele: a reduction over the
    d = (a > 0).astype(dtype)                  # ploidy axis costs ~10x more
    miss = a < 0
    for j in range(1, calls.shape[-1]):        # loop over the ploidy (1-2), not samples
        b = calls[..., j]
        d += b > 0
        miss |= b < 0
    d[miss] = np.nan
    return d


_VARIANTS_CACHE: dict = {}              # the last store's variants table: {(path, stat identity): frame}
_VARIANTS_LOCK = threading.Lock()


def by_store_index(table):
    """An Arrow table of store variants in store order (``store_index``).

    The table read from ``variants.parquet`` comes chromosome partition by partition, each in store order
    for a store written in chromosome order: its record batches are then only put in order (no copy).
    Otherwise the rows are sorted.

    Parameters
    ----------
    table : pyarrow.Table
        Rows of a store's variants table, with column ``store_index``.

    Returns
    -------
    pyarrow.Table
    """
    import pyarrow as pa
    batches = [b for b in table.to_batches() if b.num_rows]
    spans = []
    for b in batches:           # loop over record batches (one or a few per chromosome), not variants
        si = b.column("store_index").to_numpy()
        if len(si) > 1 and (np.diff(si) <= 0).any():
            return table.sort_by("store_index")
        spans.append((int(si[0]), int(si[-1])))
    order = sorted(range(len(batches)), key=lambda i: spans[i])
    if any(spans[a][1] >= spans[b][0] for a, b in zip(order, order[1:])):
        return table.sort_by("store_index")
    return pa.Table.from_batches([batches[i] for i in order], schema=table.schema)


def _cached(kind: str, path, make):
    """``make()`` for store ``path``, kept per process while its variants table is unchanged: one store's
    tables at a time (memory stays bounded), each ``kind`` (full table, positions) apart."""
    key = (kind, str(path), stat_identity(path / "variants.parquet") if not storage.is_remote(path) else None)
    with _VARIANTS_LOCK:
        hit = _VARIANTS_CACHE.get(key) if key[2] is not None else None
    if hit is not None:
        return hit
    df = make()
    if key[2] is not None:
        with _VARIANTS_LOCK:
            for k in [k for k in _VARIANTS_CACHE if k[1:] != key[1:]]:
                del _VARIANTS_CACHE[k]
            _VARIANTS_CACHE[key] = df
    return df


def _variants_table(path) -> pd.DataFrame:
    """A store's variants table, read once per process while its files are unchanged (the stages of one
    run, and the driver's and a local task's reads, share it); in store order."""
    return _cached("variants", path, lambda: arrow_to_pandas(by_store_index(
        read_arrow(path / "variants.parquet", "variants"))))


def _positions_table(path) -> pd.DataFrame:
    """chrom (object strings), pos and store_index of a store's variants, in store order, cached as
    :func:`_variants_table` is."""
    def make():
        df = store_columns(path, ["chrom", "pos", "store_index"], dictionary=("chrom",)).to_pandas()
        df["chrom"] = df["chrom"].astype(object)
        return df
    return _cached("positions", path, make)


def store_columns(path, columns, dictionary=()):
    """Columns of a store's variants table as an Arrow table, in store order (no Python object per value).
    Not cached.

    Parameters
    ----------
    path : str or pathlib.Path
        A genotype store.
    columns : list of str
        Columns of schema ``variants``.
    dictionary : sequence of str
        String columns read dictionary-encoded (few distinct values, e.g. chrom).

    Returns
    -------
    pyarrow.Table
    """
    cols = list(columns) + ([] if "store_index" in columns else ["store_index"])
    t = by_store_index(read_arrow(storage.as_path(path) / "variants.parquet", "variants", columns=cols,
                                  dictionary=tuple(dictionary)))
    return t if "store_index" in columns else t.drop_columns(["store_index"])


def reference_table(path) -> pd.DataFrame:
    """The variants of a store as a harmonisation reference: chrom, pos, ref, alt, variant_id, rsid, af,
    genome_build, in store order, strings kept in Arrow (``string[pyarrow]``: no Python object per
    value, ~0.6 s less per million variants than :attr:`GenotypeStore.variants`). Not cached.

    Parameters
    ----------
    path : str or pathlib.Path
        A genotype store.

    Returns
    -------
    pandas.DataFrame
    """
    import pyarrow as pa
    t = store_columns(path, ["chrom", "pos", "ref", "alt", "variant_id", "rsid", "af", "genome_build"])
    return t.to_pandas(types_mapper={pa.string(): STR, pa.large_string(): STR}.get)


class GenotypeStore:
    """Read access to a store: variants table, sample ids and dosages of any variant range.

    Parameters
    ----------
    path : str or pathlib.Path
        A genotype store written by :func:`ingest_plink` or :func:`ingest_vcf` (VCF Zarr layout plus
        ``locusflow.json``).

    Attributes
    ----------
    path : pathlib.Path
        The store.

    Raises
    ------
    locusflow.errors.InputError
        When ``path`` is not a store.
    """

    def __init__(self, path):
        self.path = storage.as_path(path)
        meta = self.path / "locusflow.json"
        if not meta.exists():
            raise InputError(storage.redact(self.path), "a locusflow genotype store (locusflow ingest); "
                             "locusflow.json missing")
        self.meta = json.loads(meta.read_text())
        self._root = zarr.open_group(storage.zarr_store(self.path), mode="r", zarr_format=2)
        self._variants = None
        self._chrom_ids: dict = {}      # chromosome -> (sorted store_index, variant ids in Arrow): variant_ids

    @property
    def positions(self) -> pd.DataFrame:
        """chrom, pos and store_index of every variant, in store order: the variants table without its
        strings, what block making and work planning need (a few times cheaper to load than
        :attr:`variants`; the same frame's columns when that is loaded already). Treat it as read-only."""
        if self._variants is not None:
            return self._variants[["chrom", "pos", "store_index"]]
        return _positions_table(self.path)

    @property
    def variants(self) -> pd.DataFrame:
        """The variants table sorted by store_index (the frame is shared: treat it as read-only)."""
        if self._variants is None:
            self._variants = _variants_table(self.path)
        return self._variants

    def variant_ids(self, rows, chrom: str) -> np.ndarray:
        """The variant ids of store rows ``rows`` (all on ``chrom``), as object strings.

        Read from that chromosome's partition of the variants table (two columns, kept in Arrow per
        process), unless the whole table is already loaded: a work unit of one block then does not load
        the whole table (~1.4 s per process at a million variants, paid again by every Python worker).

        Parameters
        ----------
        rows : array-like of int
            Store rows (``store_index``).
        chrom : str
            Their chromosome, as the variants table names it.

        Returns
        -------
        numpy.ndarray of object

        Raises
        ------
        InputError
            When a row is not on ``chrom`` in the variants table.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if self._variants is not None:
            return self._variants["variant_id"].to_numpy()[rows]
        cache = self._chrom_ids
        if chrom not in cache:
            t = read_arrow(self.path / "variants.parquet", "variants", filters=[("chrom", "==", str(chrom))],
                           columns=["store_index", "variant_id"])
            si = t.column("store_index").to_numpy()
            order = np.argsort(si, kind="stable")
            cache[chrom] = (si[order], t.column("variant_id").combine_chunks().take(order))
        si, ids = cache[chrom]
        at = np.searchsorted(si, rows)
        bad = (at >= len(si)) | (si[np.minimum(at, len(si) - 1)] != rows) if len(si) else np.ones(len(rows), bool)
        if bad.any():
            raise InputError(self.path / "variants.parquet", f"store rows on chromosome {chrom}", column="store_index",
                             value=int(rows[bad][0]))
        return np.asarray(ids.take(at).to_pylist(), dtype=object)

    def variant_chunks(self, chunk: int | None = None) -> list[dict]:
        """Work units of ``chunk`` variants (default: the Zarr chunk): unit_id, start, stop, cost (variants)."""
        m = int(self.meta["n_variants"])
        chunk = int(chunk or self.meta.get("variants_chunk", VARIANTS_CHUNK))
        return [{"unit_id": f"v{s}", "start": s, "stop": min(m, s + chunk), "cost": float(min(m, s + chunk) - s)}
                for s in range(0, m, chunk)]

    def variant_rows(self, start: int, stop: int) -> pd.DataFrame:
        """Variants start:stop read from the Zarr arrays (no full-table read): variant_id, chrom, pos,
        ref, alt, rsid, genome_build; what a chunk task needs."""
        r = self._root
        contig = _strs(r["contig_id"][:])
        chrom = pd.Series(contig[np.asarray(r["variant_contig"][start:stop])]).str.replace(
            "^chr", "", regex=True)
        pos = np.asarray(r["variant_position"][start:stop]).astype(np.int64)
        al = _strs(r["variant_allele"][start:stop])
        ref, alt = np.char.upper(al[:, 0]), np.char.upper(al[:, 1])
        rsid = _strs(r["variant_id"][start:stop]) if "variant_id" in r else np.full(len(pos), ".")
        return pd.DataFrame({"variant_id": make_variant_id(chrom, pos, ref, alt).to_numpy(),
                             "chrom": chrom.to_numpy(), "pos": pos, "ref": ref, "alt": alt, "rsid": rsid,
                             "genome_build": self.meta["genome_build"]})

    @property
    def samples(self) -> np.ndarray:
        return _strs(self._root["sample_id"][:])

    @property
    def n_samples(self) -> int:
        return int(self.meta["n_samples"])

    def sample_index(self, ids) -> np.ndarray:
        """Positions of sample ids in the store; an unknown id is an error naming it."""
        pos = pd.Index(self.samples).get_indexer(list(ids))
        if (pos < 0).any():
            bad = [i for i, p in zip(ids, pos) if p < 0][:5]
            raise InputError(self.path, "sample ids present in the store", column="sample_id", value=bad)
        return pos

    def haplotypes(self, start: int = 0, stop: int | None = None, samples=None) -> np.ndarray:
        """int8 allele indices [variants, 2 * samples] (sample i's haplotypes at 2i, 2i+1), -1 = missing.

        Haplotypes only when the source VCF was phased (PLINK input is unphased: its calls are sorted)."""
        calls = self.calls(start, stop)
        if samples is not None:
            calls = calls[:, np.asarray(samples)]
        return calls.reshape(calls.shape[0], -1)

    def dosages(self, start: int = 0, stop: int | None = None, samples=None, index=None,
                dtype=np.float32) -> np.ndarray:
        """Alt dosages [variants, samples] (``dtype``: float32, or float64 for a kernel that wants it,
        decoded straight into it) for rows start:stop (or ``index``), NaN = missing."""
        if index is not None:
            return self._gather(np.asarray(index, dtype=np.int64), samples, dtype)
        return decode_dosages(self.calls(start, stop), dtype, samples)

    def _gather(self, index: np.ndarray, samples, dtype) -> np.ndarray:
        """Dosages of the rows ``index`` (any order, repeats allowed): only the Zarr chunks holding one of
        them are read, each decompressed into one reused buffer and only its wanted rows decoded. Reading
        the whole range min..max instead (FOCUS: the weight SNPs of a chromosome's blocks with signal)
        decoded every chunk between them into a fresh array of that size."""
        ns = self.n_samples if samples is None else len(samples)
        m = int(self.meta["n_variants"])
        if index.size == 0:
            return np.empty((0, ns), dtype)
        if index.min() < 0 or index.max() >= m:
            raise IndexError(f"{self.path}: variant rows {int(index.min())}..{int(index.max())} outside 0..{m - 1}")
        layout = self._chunk_layout()
        if layout is None:
            lo, hi = int(index.min()), int(index.max()) + 1
            return decode_dosages(self.calls(lo, hi)[index - lo], dtype, samples)
        cv = layout[1]
        order = np.argsort(index, kind="stable")
        rows = index[order]
        chunk = rows // cv
        cut = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1], True])
        out = np.empty((len(index), ns), dtype)
        buf = np.empty(cv, dtype=(np.int8, tuple(layout[2][1:])))
        for a, b in zip(cut[:-1], cut[1:]):  # loop over the chunks holding wanted rows, not variants
            ci = int(chunk[a])
            self._read_chunk(ci, buf)
            out[order[a:b]] = decode_dosages(buf[rows[a:b] - ci * cv], dtype, samples)
        return out

    def calls(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """int8 allele indices [variants, samples, ploidy] of rows start:stop (VCF Zarr ``call_genotype``),
        < 0 = missing: what a kernel decodes itself (`decode_dosages` for dosages).

        Chunks of a local Zarr v2 array chunked along variants only are read from their files and
        decompressed into the result by the codec its ``.zarray`` names (one copy, no event loop: zarr's
        own read costs ~3x the decompression per chunk); any other layout is read through zarr."""
        m = int(self.meta["n_variants"])
        stop = m if stop is None else min(int(stop), m)
        layout = self._chunk_layout()
        if layout is None or stop <= start:
            return np.asarray(self._root["call_genotype"][start:stop])
        cv, shape = layout[1], layout[2]
        c0, c1 = start // cv, (stop - 1) // cv + 1
        out = np.empty((c1 - c0) * cv, dtype=(np.int8, tuple(shape[1:])))
        for ci in range(c0, c1):  # loop over Zarr chunks, not variants
            self._read_chunk(ci, out[(ci - c0) * cv:(ci - c0 + 1) * cv])
        return out[start - c0 * cv:stop - c0 * cv]

    def iter_calls(self, start: int = 0, stop: int | None = None):
        """(first row, int8 calls) per Zarr chunk overlapping rows start:stop, clipped to them.

        Every chunk is decompressed into one reused buffer (a block is valid until the next is yielded):
        a kernel that decodes chunk by chunk keeps everything in cache and faults in no fresh memory.
        Layouts `calls` cannot read directly come as one block read through zarr."""
        m = int(self.meta["n_variants"])
        stop = m if stop is None else min(int(stop), m)
        layout = self._chunk_layout()
        if layout is None:
            if stop > start:
                yield start, self.calls(start, stop)
            return
        cv, shape = layout[1], layout[2]
        buf = np.empty(cv, dtype=(np.int8, tuple(shape[1:])))
        for ci in range(start // cv, (stop - 1) // cv + 1 if stop > start else 0):  # Zarr chunks, not variants
            self._read_chunk(ci, buf)
            lo, hi = max(start, ci * cv), min(stop, (ci + 1) * cv)
            yield lo, buf[lo - ci * cv:hi - ci * cv]

    def _read_chunk(self, ci: int, out: np.ndarray) -> None:
        """Variant chunk ``ci`` of every sample into ``out``: its sample chunks' files decoded in turn."""
        codec, cv, shape, sep, fill, cs = self._chunk_layout()
        n, rest = shape[1], ["0"] * (len(shape) - 2)
        one = cs >= n
        buf = out if one else np.empty((cv, cs, *shape[2:]), dtype=np.int8)
        for sj in range(-(-n // cs) if n else 1):  # loop over sample chunks (n / 10,000), not samples
            a, b = sj * cs, min(n, (sj + 1) * cs)
            f = self.path / "call_genotype" / sep.join([str(ci), str(sj), *rest])
            if not f.exists():
                out[:, a:b] = fill
                continue
            codec.decode(f.read_bytes(), out=buf.reshape(-1))
            if not one:
                out[:, a:b] = buf[:, :b - a]

    def _chunk_layout(self):
        if not hasattr(self, "_layout"):
            self._layout = None
            f = self.path / "call_genotype" / ".zarray"
            meta = json.loads(f.read_text()) if f.exists() else {}
            if (meta.get("zarr_format") == 2 and meta.get("dtype") == "|i1" and meta.get("order") == "C"
                    and not meta.get("filters") and meta.get("compressor") and len(meta["shape"]) >= 2
                    and list(meta["chunks"][2:]) == list(meta["shape"][2:])):
                self._layout = (numcodecs.get_codec(meta["compressor"]), int(meta["chunks"][0]), meta["shape"],
                                meta.get("dimension_separator") or ".",
                                np.int8(meta["fill_value"] if meta.get("fill_value") is not None else 0),
                                int(meta["chunks"][1]))
        return self._layout


def standardise(dosage: np.ndarray) -> np.ndarray:
    """Centre and scale each variant (row) to unit variance, mean-imputing missing calls (float32).

    Monomorphic variants become rows of zeros. Uses the population variance (divide by n), as
    plink's r does.

    Parameters
    ----------
    dosage : numpy.ndarray
        Dosages [variants, samples]; NaN = missing (copied, not modified).

    Returns
    -------
    numpy.ndarray of float32
        Standardised dosages [variants, samples]: missing calls at the variant mean (so 0 after
        centring), each row divided by its population standard deviation; rows with zero variance
        (or all missing) are zeros.

    References
    ----------
    Chang CC et al. (2015) GigaScience 4:7 (PLINK 1.9/2, ``plink --r``).
    """
    x = np.array(dosage, dtype=np.float32, copy=True)
    mean = np.nanmean(x, axis=1, keepdims=True)
    mean = np.where(np.isnan(mean), 0, mean)
    miss = np.isnan(x)
    if miss.any():
        x[miss] = np.broadcast_to(mean, x.shape)[miss]
    x -= mean
    sd = np.sqrt(np.mean(x * x, axis=1, keepdims=True))
    np.divide(x, sd, out=x, where=sd > 0)
    x[(sd == 0).ravel()] = 0
    return x
