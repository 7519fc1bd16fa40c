"""Partitioned Parquet datasets: validated, idempotent, resumable writes and typed reads.

Layout: ``<path>/<col>=<value>/part-0.parquet`` (hive style; zstd or the schema's ``compression``),
rows sorted by the schema's ``sort_by``, plus ``<path>/_manifest.json`` (inputs' checksums, config,
version) and ``_SUCCESS``. A write goes to a staging directory first and then replaces only the
partitions it holds (dynamic partition overwrite), so rerunning one chromosome replaces that chromosome
alone and a failed write leaves the previous dataset untouched.
Spark reads the same layout with ``spark.read.parquet(path)``.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from ..version import __version__
from ..schema import Schema, load


def _schema(schema) -> Schema:
    return load(schema) if isinstance(schema, str) else schema


def write_dataset(df: pd.DataFrame, path, schema, *, partition_by=None, manifest: dict | None = None,
                  mode: str = "dynamic", source: str | None = None) -> Path:
    """Write a frame as a Parquet dataset that conforms to its contract.

    The frame is conformed to ``schema`` (a column missing or of the wrong type is a SchemaError naming
    the dataset and column), sorted by the schema's ``sort_by``, partitioned by its ``partition_by`` and
    written with its compression, then a ``_manifest.json`` and ``_SUCCESS``. Nothing is visible at
    ``path`` until every partition is written.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows to write.
    path : str or pathlib.Path
        Dataset directory.
    schema : str or locusflow.schema.Schema
        Dataset name in ``schemas/`` or a loaded schema.
    partition_by : list of str, optional
        Override the schema's partition columns.
    manifest : dict, optional
        Extra manifest entries (inputs, config).
    mode : {"dynamic", "overwrite"}
        ``dynamic`` replaces only the partitions present in ``df``; ``overwrite`` the whole dataset.
    source : str, optional
        Named in conformance errors.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    SchemaError
        When ``df`` does not conform to ``schema`` (a column missing, null where not allowed, or of the
        wrong type), naming the dataset (``source``) and column; nothing is written then.
    """
    sch = _schema(schema)
    parts = list(sch.partition_by if partition_by is None else partition_by)
    table = sch.to_arrow(df, source)
    if sch.sort_by:
        table = table.sort_by([(c, "ascending") for c in sch.sort_by if c in table.column_names])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.parent / f".staging-{path.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        written = _write_partitions(table, staging, parts, sch.compression)
        if mode == "overwrite" and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "_SUCCESS").unlink(missing_ok=True)
        for rel in written:
            dest = path / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                trash = dest.parent / f".trash-{uuid.uuid4().hex[:8]}"
                os.replace(dest, trash)
                os.replace(staging / rel, dest)
                shutil.rmtree(trash) if trash.is_dir() else trash.unlink()
            else:
                os.replace(staging / rel, dest)
        info = {"dataset": sch.name, "version": __version__, "written_at": time.time(),
                "partition_by": parts, "rows": table.num_rows, "partitions": sorted(written)}
        info.update(manifest or {})
        (path / "_manifest.json").write_text(json.dumps(info, indent=1, default=str))
        (path / "_SUCCESS").write_text("")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _write_partitions(table: pa.Table, root: Path, parts: list[str], compression: str = "zstd") -> list[str]:
    """Write one file per partition (or one file) under ``root``; returns the relative paths written.

    Partition directories are returned rather than files, so a rewrite replaces the whole partition.
    """
    # dictionary pages for strings only: numbers are high-cardinality, and plain pages decode ~25% faster
    strings = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
               or pa.types.is_dictionary(f.type)]
    opts = {"compression": compression, "use_dictionary": strings}
    if not parts:
        pq.write_table(table, root / "part-0.parquet", **opts)
        return ["part-0.parquet"]
    keys = table.select(parts).to_pandas().astype(str)
    groups = keys.groupby(parts, sort=True).indices if len(keys) else {}
    written = []
    for key, idx in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        rel = "/".join(f"{c}={v}" for c, v in zip(parts, key))
        (root / rel).mkdir(parents=True, exist_ok=True)
        sub = table.take(pa.array(idx)).drop_columns(parts)
        pq.write_table(sub, root / rel / "part-0.parquet", **opts)
        written.append(rel.split("/")[0] if len(parts) == 1 else rel)
    return sorted(set(written))


def read_dataset(path, schema, *, filters=None, columns=None) -> pd.DataFrame:
    """Read a dataset written by :func:`write_dataset` with its declared types (partition keys too).

    Parameters
    ----------
    path : str or pathlib.Path
        Dataset directory (a missing one is an InputError naming it).
    schema : str or locusflow.schema.Schema
        The dataset's contract: types come from it, never guessed.
    filters : list of tuple or pyarrow.dataset.Expression, optional
        ``[(column, op, value), ...]`` with op one of ``== != < <= > >= in``, pushed down to Parquet.
    columns : list of str, optional
        Only these columns.

    Returns
    -------
    pandas.DataFrame
        Sorted by the schema's partition and sort keys when every column is read.

    Raises
    ------
    InputError
        When ``path`` does not exist.
    """
    sch = _schema(schema)
    df = read_arrow(path, sch, filters=filters, columns=columns).to_pandas()
    if sch.sort_by and columns is None:
        keys = [c for c in sch.partition_by if c in df.columns] + [c for c in sch.sort_by if c in df.columns]
        df = df.sort_values(keys, kind="stable").reset_index(drop=True)
    return df


def read_arrow(path, schema, *, filters=None, columns=None, dictionary=()) -> pa.Table:
    """:func:`read_dataset` as an Arrow table, rows in file order.

    Parameters
    ----------
    path : str or pathlib.Path
        Dataset directory.
    schema : str or locusflow.schema.Schema
        Dataset name in ``schemas/`` or a loaded schema.
    filters, columns : optional
        As :func:`read_dataset`.
    dictionary : sequence of str
        String columns returned dictionary-encoded (Parquet's own dictionary: no string per row).

    Returns
    -------
    pyarrow.Table

    Raises
    ------
    InputError
        When ``path`` does not exist.
    """
    return _arrow_dataset(path, schema, dictionary).to_table(filter=_to_expr(filters), columns=columns)


def _arrow_dataset(path, schema, dictionary=()):
    sch = _schema(schema)
    path = Path(path)
    if not path.exists():
        from ..errors import InputError
        raise InputError(path, f"dataset '{sch.name}' not found (expected a Parquet directory)")
    arrow = sch.arrow()
    part_fields = [arrow.field(c) for c in sch.partition_by]
    partitioning = pads.partitioning(pa.schema(part_fields), flavor="hive") if part_fields else None
    fmt = "parquet"
    dic = [c for c in dictionary if c not in sch.partition_by]
    if dic:
        arrow = pa.schema([f.with_type(pa.dictionary(pa.int32(), f.type)) if f.name in dic else f for f in arrow])
        fmt = pads.ParquetFileFormat(read_options=pads.ParquetReadOptions(dictionary_columns=dic))
    return pads.dataset(str(path), format=fmt, partitioning=partitioning, schema=arrow,
                        exclude_invalid_files=True, ignore_prefixes=[".", "_"])


def _to_expr(filters):
    if filters is None or isinstance(filters, pads.Expression):
        return filters
    expr = None
    for col, op, val in filters:
        f = pads.field(col)
        e = {"==": f == val, "!=": f != val, "<": f < val, "<=": f <= val, ">": f > val,
             ">=": f >= val}.get(op)
        if op == "in":
            e = f.isin(list(val))
        expr = e if expr is None else expr & e
    return expr


def is_complete(path) -> bool:
    """Whether a dataset directory was completely written (its ``_SUCCESS`` marker exists).

    Parameters
    ----------
    path : str or pathlib.Path
        Dataset directory (need not exist).

    Returns
    -------
    bool
        True when ``<path>/_SUCCESS`` exists.
    """
    return (Path(path) / "_SUCCESS").exists()


def read_manifest(path) -> dict | None:
    """The ``_manifest.json`` of a dataset directory.

    Parameters
    ----------
    path : str or pathlib.Path
        Dataset directory.

    Returns
    -------
    dict or None
        None when the dataset has no manifest.
    """
    p = Path(path) / "_manifest.json"
    return json.loads(p.read_text()) if p.exists() else None


def file_checksum(path) -> str:
    """Content hash of a file or directory (:func:`locusflow.checksum.content_hash`).

    Parameters
    ----------
    path : str or pathlib.Path
        A file, or a directory (its files' contents and relative names; the provenance files
        ``_manifest.json``, ``_stage.json`` and ``_SUCCESS`` are not part of it).

    Returns
    -------
    str
        ``'<algorithm>:<hex>'``, or ``'missing'`` when ``path`` does not exist.
    """
    from ..checksum import content_hash
    return content_hash(path)
