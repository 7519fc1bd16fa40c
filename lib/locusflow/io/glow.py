"""Genotypes from Glow: a Glow genotype DataFrame (or Glow's VCF/BGEN data sources) into a genotype store.

Glow (projectglow.io) represents genotypes in Spark as one row per variant: ``contigName``, ``start``
(0-based), ``end``, ``referenceAllele``, ``alternateAlleles`` (array), optional ``names`` (ids), and
``genotypes``: an array with one struct per sample holding ``calls`` (allele indices, -1 missing) and,
when read with sample ids, ``sampleId``. :func:`ingest_glow` turns such a DataFrame into the same VCF Zarr
store :func:`locusflow.io.genotypes.ingest_plink` / ``ingest_vcf`` write, so every stage reads it.

The executors write: the driver collects the variant keys only (a few columns per variant, no genotypes),
plans the store (multi-allelic records split as ``bcftools norm -m-``, rows packed into Zarr chunks), and
each Spark task writes whole chunks of ``call_genotype`` and returns per-variant allele frequency and call
rate. No genotype passes through the driver.

With ``ingest: {reader: glow, vcf: FILE}`` (or ``bgen: FILE``) the ingest stage reads the file through Glow's
data source, which needs Glow's jar on the cluster's classpath (Databricks: the Glow library;
elsewhere ``spark.jars.packages io.projectglow:glow-spark3_2.12:<version>``).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..logs import get_logger
from .genotypes import (STORE_COMPRESSORS, VARIANTS_CHUNK, GenotypeStore, decode_dosages, finish_store,
                        make_variant_id, write_variant_arrays)
from .vcf import split_calls, split_plan

log = get_logger(__name__)

GLOW_DOCS = "https://glow.readthedocs.io/en/latest/etl/variant-data.html"
KEYS = ["contigName", "start", "referenceAllele", "alternateAlleles"]


def check_glow_schema(df, source: str = "Glow DataFrame") -> bool:
    """Check that ``df`` has Glow's genotype columns with their types.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The DataFrame to check.
    source : str
        How errors name it.

    Returns
    -------
    bool
        Whether ``genotypes`` carries ``sampleId``.

    Raises
    ------
    InputError
        Naming the first column that is missing or has the wrong type, and what was expected.
    """
    from pyspark.sql import types as T
    fields = {f.name: f.dataType for f in df.schema.fields}
    want = {"contigName": T.StringType, "start": T.LongType, "referenceAllele": T.StringType}
    for col, typ in want.items():
        if col not in fields:
            raise InputError(source, f"a Glow genotype DataFrame ({GLOW_DOCS}): column {col} missing", column=col)
        if not isinstance(fields[col], typ) and not (col == "start" and isinstance(fields[col], T.IntegerType)):
            raise InputError(source, f"{typ.typeName()}", column=col, value=fields[col].simpleString())
    for col in ("alternateAlleles", "genotypes"):
        if col not in fields:
            raise InputError(source, f"a Glow genotype DataFrame ({GLOW_DOCS}): column {col} missing", column=col)
    if not (isinstance(fields["alternateAlleles"], T.ArrayType)
            and isinstance(fields["alternateAlleles"].elementType, T.StringType)):
        raise InputError(source, "array<string>", column="alternateAlleles",
                         value=fields["alternateAlleles"].simpleString())
    g = fields["genotypes"]
    if not (isinstance(g, T.ArrayType) and isinstance(g.elementType, T.StructType)
            and "calls" in g.elementType.fieldNames()):
        raise InputError(source, "array<struct<calls: array<int>, ...>> (one struct per sample)",
                         column="genotypes", value=g.simpleString())
    calls = g.elementType["calls"].dataType
    if not (isinstance(calls, T.ArrayType) and isinstance(calls.elementType, (T.IntegerType, T.LongType,
                                                                              T.ShortType, T.ByteType))):
        raise InputError(source, "calls: array<int>", column="genotypes.calls", value=calls.simpleString())
    if "names" in fields and not isinstance(fields["names"], T.ArrayType):
        raise InputError(source, "array<string>", column="names", value=fields["names"].simpleString())
    return "sampleId" in g.elementType.fieldNames()


def chrom_order(chrom: pd.Series) -> np.ndarray:
    """Sort key of chromosome names: numbers in numeric order, then the others (X, Y, MT, ...) by name.

    Parameters
    ----------
    chrom : pandas.Series of str
        Chromosome names without ``chr``.

    Returns
    -------
    numpy.ndarray of int
        Rank of each entry's chromosome.
    """
    names = pd.unique(chrom)
    num = pd.to_numeric(pd.Series(names), errors="coerce")
    key = sorted(range(len(names)), key=lambda i: (0, num[i], "") if num[i] == num[i] else (1, 0, names[i]))
    rank = {names[i]: r for r, i in enumerate(key)}
    return chrom.map(rank).to_numpy()


def plan_store(keys: pd.DataFrame, chunk: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order the records, split multi-allelic ones and assign store rows and Zarr chunks.

    Parameters
    ----------
    keys : pandas.DataFrame
        ``contigName, start, referenceAllele, alternateAlleles`` (and optionally ``names``), one row per
        record of the DataFrame.
    chunk : int
        Variants per Zarr chunk.

    Returns
    -------
    records : pandas.DataFrame
        One row per (record, chunk it has rows in): the key columns joined as text (``key``), ``row_lo``
        (its first store row), ``n_alt``, ``chunk``.
    variants : pandas.DataFrame
        One row per store row: chrom, pos, ref, alt, rsid.

    Raises
    ------
    InputError
        When a record appears twice.
    """
    k = keys.copy()
    k["chrom"] = k["contigName"].astype(str).str.replace("^chr", "", regex=True)
    k["alts"] = k["alternateAlleles"].map(lambda a: ",".join(a) if a is not None else "")
    k["key"] = k["contigName"].astype(str) + ":" + k["start"].astype(str) + ":" + k["referenceAllele"] + ":" + k["alts"]
    dup = k["key"].duplicated()
    if dup.any():
        raise InputError("Glow DataFrame", "one row per variant", value=k.loc[dup, "key"].iloc[0])
    k["rank"] = chrom_order(k["chrom"])
    k = k.sort_values(["rank", "start", "referenceAllele", "alts"], kind="stable").reset_index(drop=True)
    width = max(1, int(k["alternateAlleles"].map(lambda a: 0 if a is None else len(a)).max() or 0)) + 1
    alleles = np.full((len(k), width), "", dtype=object)
    alleles[:, 0] = k["referenceAllele"].to_numpy()
    for j in range(1, width):     # over allele slots (a handful), not over variants
        alleles[:, j] = k["alternateAlleles"].map(lambda a, j=j: a[j - 1] if a is not None and len(a) >= j else "")
    record, alt_index = split_plan(alleles.astype(str))
    n_alt = np.bincount(record, minlength=len(k))
    row_lo = np.cumsum(n_alt) - n_alt
    first, last = row_lo // chunk, (row_lo + n_alt - 1) // chunk
    reps = (last - first + 1).astype(np.int64)
    rec = np.repeat(np.arange(len(k)), reps)
    chunks = np.repeat(first, reps) + (np.arange(len(rec)) - np.repeat(np.cumsum(reps) - reps, reps))
    records = pd.DataFrame({"key": k["key"].to_numpy()[rec], "row_lo": row_lo[rec], "n_alt": n_alt[rec],
                            "chunk": chunks})
    names = k["names"] if "names" in k else pd.Series([None] * len(k))
    rsid = names.map(lambda a: a[0] if a is not None and len(a) else ".").to_numpy()
    alt = alleles[record, alt_index.astype(np.int64)].astype(str)
    variants = pd.DataFrame({"chrom": k["chrom"].to_numpy()[record], "pos": k["start"].to_numpy()[record] + 1,
                             "ref": np.char.upper(alleles[record, 0].astype(str)),
                             "alt": np.char.upper(np.where(alt == "", ".", alt)), "rsid": rsid[record]})
    return records, variants


def write_chunk(pdf: pd.DataFrame, *, store: str, n: int, chunk: int, m: int) -> pd.DataFrame:
    """One Spark task: the records of one Zarr chunk -> that chunk of ``call_genotype``, written in place.

    Parameters
    ----------
    pdf : pandas.DataFrame
        ``chunk, row_lo, n_alt, calls`` (flattened calls, 2 per sample) of the records with rows in it.
    store : str
        The store being written (``call_genotype`` created by the driver).
    n : int
        Samples.
    chunk : int
        Variants per chunk.
    m : int
        Variants in the store.

    Returns
    -------
    pandas.DataFrame
        ``row, af, call_rate, digest, error`` for the chunk's rows (``digest``: sha256 of the chunk's
        calls); one row with ``row = -1`` and the ``error`` text when its calls are not diploid.
    """
    import zarr
    c = int(pdf["chunk"].iloc[0])
    lo, hi = c * chunk, min(m, (c + 1) * chunk)
    pdf = pdf.sort_values("row_lo")
    sizes = pdf["calls"].map(len).to_numpy()
    if (sizes != 2 * n).any():       # reported by the driver as an InputError (an exception here is a Py4J trace)
        return pd.DataFrame({"row": [-1], "af": [np.nan], "call_rate": [np.nan], "digest": [""],
                             "error": [f"diploid calls for {n} samples ({2 * n} per variant); found {sizes[sizes != 2 * n][0]}"
                                       f" at store row {int(pdf['row_lo'].to_numpy()[sizes != 2 * n][0])}"]})
    flat = np.stack(pdf["calls"].to_numpy())
    calls = flat.reshape(len(pdf), n, 2).astype(np.int8)
    n_alt = pdf["n_alt"].to_numpy()
    rec = np.repeat(np.arange(len(pdf)), n_alt)
    rows = np.repeat(pdf["row_lo"].to_numpy(), n_alt) + (np.arange(len(rec)) - np.repeat(np.cumsum(n_alt) - n_alt, n_alt))
    alt_index = (rows - np.repeat(pdf["row_lo"].to_numpy(), n_alt) + 1).astype(np.int8)
    keep = (rows >= lo) & (rows < hi)
    out = split_calls(calls[rec[keep]], alt_index[keep])
    if len(out) != hi - lo or not np.array_equal(rows[keep], np.arange(lo, hi)):
        raise InputError("Glow DataFrame", f"every variant of store rows {lo}..{hi - 1} exactly once")
    gt = zarr.open_array(f"{store}/call_genotype", mode="r+", zarr_format=2)
    gt[lo:hi] = out
    d = decode_dosages(out)
    called = (~np.isnan(d)).sum(1)
    af = np.where(called > 0, np.nansum(d, 1) / np.maximum(2 * called, 1), np.nan)
    return pd.DataFrame({"row": np.arange(lo, hi), "af": af, "call_rate": called / max(n, 1),
                         "digest": hashlib.sha256(out.tobytes()).hexdigest(), "error": None})


def ingest_glow(df, out, *, genome_build: str = "GRCh37", variants_chunk: int = VARIANTS_CHUNK, samples=None,
                source: str = "Glow DataFrame") -> GenotypeStore:
    """A Glow genotype DataFrame into a genotype store at ``out`` (replaced if present).

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Glow's genotype schema (:func:`check_glow_schema`); any number of partitions, any row order.
    out : str or pathlib.Path
        Store directory (.vcz); must be writable by the executors (shared storage on a cluster).
    genome_build : str
        Recorded on the variants.
    variants_chunk : int
        Variants per Zarr chunk.
    samples : list of str, optional
        Sample ids in ``genotypes`` order, when the DataFrame has no ``sampleId``.
    source : str
        How the store's metadata and errors name the input.

    Returns
    -------
    GenotypeStore
        The new store at ``out`` (``source_format`` glow).

    Raises
    ------
    InputError
        Wrong schema, no sample ids, a duplicated variant, calls that are not diploid for every sample.

    References
    ----------
    Glow's variant data schema (Hail/Glow, projectglow.io); multi-allelic records split as
    ``bcftools norm -m-`` (Danecek et al. 2021).
    """
    import zarr
    from pyspark.sql import functions as F
    has_ids = check_glow_schema(df, source)
    if has_ids:
        first = df.select(F.col("genotypes.sampleId").alias("ids")).limit(1).collect()
        ids = list(first[0]["ids"]) if first else []
        if samples is not None and list(samples) != ids:
            raise InputError(source, "samples equal to genotypes.sampleId", column="genotypes.sampleId")
    elif samples is None:
        raise InputError(source, "sample ids: genotypes.sampleId (read with includeSampleIds) or samples=[...]",
                         column="genotypes.sampleId")
    else:
        ids = list(samples)
    n = len(ids)
    cols = KEYS + (["names"] if "names" in df.columns else [])
    keys = df.select(*cols).toPandas()               # the variant keys only: no genotype reaches the driver
    records, variants = plan_store(keys, variants_chunk)
    m = len(variants)
    out = Path(out)
    tmp = out.parent / f".{out.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    root = zarr.open_group(str(tmp), mode="w", zarr_format=2)
    root.create_array("call_genotype", shape=(m, n, 2), chunks=(variants_chunk, n, 2), dtype="i1",
                      compressors=STORE_COMPRESSORS, fill_value=-1)
    spark = df.sparkSession
    key = F.concat_ws(":", F.col("contigName"), F.col("start").cast("string"), F.col("referenceAllele"),
                      F.concat_ws(",", F.col("alternateAlleles")))
    calls = df.select(key.alias("key"), F.flatten(F.transform("genotypes", lambda g: g["calls"])).alias("calls"))
    plan = spark.createDataFrame(records)
    store = str(tmp)

    def task(pdf: pd.DataFrame) -> pd.DataFrame:      # a plain function: pyspark reads its type hints
        return write_chunk(pdf, store=store, n=n, chunk=variants_chunk, m=m)
    stats = (calls.join(plan, "key").select("chunk", "row_lo", "n_alt", "calls")
             .groupBy("chunk").applyInPandas(task, "row long, af double, call_rate double, digest string, "
                                                    "error string")
             .toPandas())                              # per-variant statistics, not genotypes
    bad = stats["error"].notna()
    if bad.any():
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(source, stats.loc[bad, "error"].iloc[0], column="genotypes.calls")
    if len(stats) != m or not np.array_equal(np.sort(stats["row"].to_numpy()), np.arange(m)):
        raise InputError(source, f"all {m} variants written (got {len(stats)})")
    stats = stats.sort_values("row").reset_index(drop=True)
    contigs = list(pd.unique(variants["chrom"]))
    write_variant_arrays(root, variants["chrom"].to_numpy(), variants["pos"].to_numpy(), variants["ref"].to_numpy(),
                         variants["alt"].to_numpy(), variants["rsid"].to_numpy(), np.asarray(ids, str), contigs,
                         variants_chunk)
    table = pd.DataFrame({
        "variant_id": make_variant_id(variants["chrom"], variants["pos"], variants["ref"], variants["alt"]),
        "chrom": variants["chrom"], "pos": variants["pos"].astype(np.int64), "ref": variants["ref"],
        "alt": variants["alt"], "rsid": variants["rsid"], "cm": np.nan, "store_index": np.arange(m),
        "af": stats["af"].to_numpy(), "call_rate": stats["call_rate"].to_numpy(), "genome_build": genome_build})
    digest = hashlib.sha256("".join(sorted(set(stats["digest"]))).encode()).hexdigest()
    log.info("%s: %d records -> %d variants x %d samples, written by %d tasks", source, len(keys), m, n,
             records["chunk"].nunique())
    return finish_store(tmp, out, table, source=source, fmt="glow", n=n, chunk=variants_chunk,
                        build=genome_build, checksum=digest)


def read_glow(spark, path, fmt: str = "vcf"):
    """A VCF or BGEN file as a Glow genotype DataFrame, through Glow's data source.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A session whose classpath has Glow's jar.
    path : str
        The file (any URI Spark reads).
    fmt : {"vcf", "bgen"}
        Glow's data source.

    Returns
    -------
    pyspark.sql.DataFrame

    Raises
    ------
    InputError
        When Glow is not on the classpath (with what to add), or the file cannot be read.
    """
    if fmt not in ("vcf", "bgen"):
        raise InputError(path, "reader glow reads vcf or bgen", value=fmt)
    try:
        return spark.read.format(fmt).option("includeSampleIds", "true").load(str(path))
    except Exception as exc:         # Spark raises AnalysisException / Py4JJavaError; the user needs the fix
        text = str(exc)
        if "Failed to find" in text or "DATA_SOURCE_NOT_FOUND" in text or "ClassNotFound" in text:
            raise InputError(path, f"Glow's '{fmt}' data source: Glow is not on this cluster's classpath (Databricks: "
                             "install the Glow library; elsewhere spark.jars.packages "
                             "io.projectglow:glow-spark3_2.12:<version>), or use ingest reader: native") from None
        raise InputError(path, f"a {fmt.upper()} file Glow can read ({text.splitlines()[0][:300]})") from exc
