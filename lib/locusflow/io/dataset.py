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
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from .. import storage
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
    info = {"dataset": sch.name, "version": __version__, "written_at": time.time(), "partition_by": parts,
            "rows": table.num_rows}
    if storage.is_remote(path):
        return _write_remote(table, path, parts, sch, mode, {**info, **(manifest or {})})
    path = storage.as_path(path)
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
        info.update(partitions=sorted(written), **(manifest or {}))
        (path / "_manifest.json").write_text(json.dumps(info, indent=1, default=str))
        (path / "_SUCCESS").write_text("")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _write_remote(table: pa.Table, path, parts: list[str], sch: Schema, mode: str, info: dict):
    """An object store has no rename: the partitions are written in place (a stage writes into its own
    unpublished version, see :mod:`locusflow.commit`), ``_SUCCESS`` removed first and written last."""
    path = storage.as_path(path)
    storage.remove(path / "_SUCCESS")
    if mode == "overwrite":
        storage.remove(path)
    fs, root = storage.arrow_fs(path)
    written = _write_partitions(table, root, parts, sch.compression, filesystem=fs,
                                clear=lambda rel: storage.remove(path / rel))
    info["partitions"] = sorted(written)
    storage.put_text(path / "_manifest.json", json.dumps(info, indent=1, default=str))
    storage.put_text(path / "_SUCCESS", "")
    return path


def write_fragment(df: pd.DataFrame, path, schema, name: str, *, source: str | None = None,
                   conformed: bool = False) -> list[str]:
    """Write one work unit's rows into a dataset directory as its own fragment file(s).

    Called by the task that computed the rows (a Spark or Dask worker, or the local loop), so a stage's
    output never passes through the driver: ``<path>/<col>=<value>/part-<name>.parquet`` per partition of
    the schema, rows sorted by its ``sort_by``. The driver then only commits: :func:`finish_fragments`.
    Nothing is written for an empty frame.

    Parameters
    ----------
    df : pandas.DataFrame
        The unit's rows.
    path : str or pathlib.Path
        Dataset directory, local or a URI.
    schema : str or locusflow.schema.Schema
    name : str
        Fragment name, unique within the dataset (the unit's key).
    source : str, optional
        Named in conformance errors.
    conformed : bool
        ``df`` is :meth:`~locusflow.schema.Schema.conform`'s output for this schema already (the work-list
        runner conforms each kernel's frame): it is converted as it is.

    Returns
    -------
    list of str
        The files written, relative to ``path``.
    """
    sch = _schema(schema)
    table = (pa.Table.from_pandas(df, schema=sch.arrow(), preserve_index=False) if conformed
             else sch.to_arrow(df, source))
    if not table.num_rows:
        return []
    if sch.sort_by:
        table = table.sort_by([(c, "ascending") for c in sch.sort_by if c in table.column_names])
    fs, root = storage.arrow_fs(path)
    fname = f"part-{name}.parquet"
    dirs = _write_partitions(table, root, list(sch.partition_by), sch.compression,
                             filesystem=None if not storage.is_remote(path) else fs, fname=fname, leaf=True)
    return [f"{d}/{fname}" if d != fname else fname for d in dirs]


def finish_fragments(path, schema, fragments, *, manifest: dict | None = None):
    """Commit the fragments the tasks wrote into ``path``: its ``_manifest.json``, then ``_SUCCESS``.

    Parameters
    ----------
    path : str or pathlib.Path
        Dataset directory, local or a URI.
    schema : str or locusflow.schema.Schema
    fragments : pandas.DataFrame
        One row per unit (:func:`locusflow.engine.runner.run_worklist` with ``write_to``): ``unit_id``,
        ``key``, ``rows`` and ``files`` (relative paths).
    manifest : dict, optional
        Extra manifest entries.

    Returns
    -------
    pathlib.Path or upath.UPath
        ``path``.
    """
    sch = _schema(schema)
    path = storage.as_path(path)
    storage.makedirs(path)
    files = sorted(f for fs in fragments["files"] for f in fs) if len(fragments) else []
    parts = sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})
    info = {"dataset": sch.name, "version": __version__, "written_at": time.time(),
            "partition_by": list(sch.partition_by), "rows": int(fragments["rows"].sum()) if len(fragments) else 0,
            "partitions": [p.split("/")[0] for p in parts] if len(sch.partition_by) == 1 else parts,
            "fragments": {r["unit_id"]: _fragment_entry(r) for r in fragments.to_dict("records")}}
    info.update(manifest or {})
    storage.put_text(path / "_manifest.json", json.dumps(info, indent=1, default=str))
    storage.put_text(path / "_SUCCESS", "")
    return path


def read_fragments(path, schema, files, *, columns=None) -> pd.DataFrame:
    """Rows of some fragment files of a dataset, file after file in the order given.

    What a task of a second pass reads (a chromosome's fragments, one unit's fragment): never the
    whole dataset. The partition columns come from each file's ``<col>=<value>/`` directories.

    Parameters
    ----------
    path : str or pathlib.Path
        Dataset directory, local or a URI (need not be committed yet).
    schema : str or locusflow.schema.Schema
    files : list of str
        Fragment files relative to ``path`` (``files`` of a fragment index row).
    columns : list of str, optional
        Only these (stored, not partition) columns, as they are stored (not conformed).

    Returns
    -------
    pandas.DataFrame
        Conformed to ``schema``; each file's rows in file order.
    """
    sch = _schema(schema)
    fs, root = storage.arrow_fs(path)
    frames = []
    for rel in files:
        df = pq.read_table(f"{root}/{rel}", filesystem=fs, columns=columns).to_pandas()
        for part in rel.split("/")[:-1] if columns is None else ():
            col, value = part.split("=", 1)
            df[col] = value
        frames.append(df)
    if columns is not None:
        return pd.concat(frames, ignore_index=True) if frames else sch.empty()[list(columns)]
    if not frames:
        return sch.empty()
    return sch.conform(pd.concat(frames, ignore_index=True), source=storage.redact(path))


def _fragment_entry(r: dict) -> dict:
    """A unit's entry in a dataset manifest: fragment name, input key (incremental reruns), rows, files
    and its task-side stats (kept, so that a unit copied into a later version still counts)."""
    stats = {k[len("stat_"):]: (v.item() if hasattr(v, "item") else v) for k, v in r.items()
             if k.startswith("stat_") and v is not None and v == v}
    return {"key": r["key"], "input": r.get("input"), "rows": int(r["rows"]), "files": list(r["files"]),
            **({"stats": stats} if stats else {})}


def _write_partitions(table: pa.Table, root, parts: list[str], compression: str = "zstd", *, filesystem=None,
                      clear=None, fname: str = "part-0.parquet", leaf: bool = False) -> list[str]:
    """Write one file per partition (or one file) under ``root``; returns the relative paths written.

    Partition directories are returned rather than files, so a rewrite replaces the whole partition
    (``leaf``: the full partition path of each file, every level). ``filesystem`` (pyarrow) writes
    elsewhere than the local disk; ``clear(rel)`` empties a partition first.
    """
    root = str(root)
    # dictionary pages for strings only: numbers are high-cardinality, and plain pages decode ~25% faster
    strings = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
               or pa.types.is_dictionary(f.type)]
    opts = {"compression": compression, "use_dictionary": strings}
    if not parts:
        if clear:
            clear(fname)
        if filesystem is None:
            Path(root).mkdir(parents=True, exist_ok=True)
        pq.write_table(table, f"{root}/{fname}", filesystem=filesystem, **opts)
        return [fname]
    col = table.column(parts[0]) if len(parts) == 1 else None
    if col is not None and len(col) and (pa.types.is_string(col.type) or pa.types.is_integer(col.type)) \
            and pc.count_distinct(col).as_py() == 1 and not col.null_count:
        groups = {str(col[0].as_py()): None}        # one partition (a work unit's chromosome): no grouping
    else:
        keys = table.select(parts).to_pandas().astype(str)
        groups = keys.groupby(parts, sort=True).indices if len(keys) else {}
    written = []
    for key, idx in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        rel = "/".join(f"{c}={v}" for c, v in zip(parts, key))
        if filesystem is None:
            Path(root, rel).mkdir(parents=True, exist_ok=True)
        if clear:
            clear(rel)
        sub = (table if idx is None else table.take(pa.array(idx))).drop_columns(parts)
        pq.write_table(sub, f"{root}/{rel}/{fname}", filesystem=filesystem, **opts)
        written.append(rel if leaf or len(parts) > 1 else rel.split("/")[0])
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
    df = arrow_to_pandas(read_arrow(path, sch, filters=filters, columns=columns))
    if sch.sort_by and columns is None:
        keys = [c for c in sch.partition_by if c in df.columns] + [c for c in sch.sort_by if c in df.columns]
        df = df.sort_values(keys, kind="stable").reset_index(drop=True)
    return df


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table.to_pandas()``, faster on columns of mostly distinct strings (ids, rsids): pyarrow's
    deduplication of equal strings (one Python object per distinct value) costs ~1 s per million rows of
    unique ids and saves nothing there, so it is kept only for repetitive columns (chromosomes,
    alleles, builds), judged on their first 10,000 values.

    Parameters
    ----------
    table : pyarrow.Table

    Returns
    -------
    pandas.DataFrame
        Equal to ``table.to_pandas()``.
    """
    import pyarrow.compute as pc
    unique = []
    for name, col in zip(table.column_names, table.columns):
        if (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)) and len(col) > 10_000:
            head = col.slice(0, 10_000)
            if pc.count_distinct(head).as_py() > 0.5 * len(head):
                unique.append(name)
    if not unique:
        return table.to_pandas()
    df = table.drop_columns(unique).to_pandas()
    ids = table.select(unique).to_pandas(deduplicate_objects=False)
    for name in unique:
        df[name] = ids[name]
    return df[table.column_names]


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


_DATASETS: dict = {}                 # (dataset, its manifest's stat identity, ...) -> discovered pyarrow dataset
_DATASETS_LOCK = threading.Lock()
_DATASETS_MAX = 32


def _arrow_dataset(path, schema, dictionary=()):
    """The pyarrow dataset of ``path``. A committed local dataset (one with a ``_manifest.json``, which every
    writer here rewrites last) is discovered once per process while its manifest is unchanged: discovery
    lists the tree and opens every file's footer, and the work-list tasks read the same datasets, one
    chromosome at a time, once per unit (FOCUS: ~1,000 directory listings per worker-second)."""
    sch = _schema(schema)
    key = None
    if not storage.is_remote(path):
        from ..checksum import stat_identity
        manifest = stat_identity(Path(path) / "_manifest.json")
        if manifest != "missing":
            key = (os.path.realpath(path), manifest, sch.name, tuple(dictionary))
            with _DATASETS_LOCK:
                hit = _DATASETS.get(key)
            if hit is not None:
                return hit
    ds = _discover(path, sch, dictionary)
    if key is not None:
        with _DATASETS_LOCK:
            _DATASETS[key] = ds
            while len(_DATASETS) > _DATASETS_MAX:
                _DATASETS.pop(next(iter(_DATASETS)))
    return ds


def _discover(path, sch, dictionary=()):
    if not storage.exists(path):
        from ..errors import InputError
        raise InputError(storage.redact(path), f"dataset '{sch.name}' not found (expected a Parquet directory)")
    fs, where = storage.arrow_fs(path)
    arrow = sch.arrow()
    part_fields = [arrow.field(c) for c in sch.partition_by]
    partitioning = pads.partitioning(pa.schema(part_fields), flavor="hive") if part_fields else None
    fmt = "parquet"
    dic = [c for c in dictionary if c not in sch.partition_by]
    if dic:
        arrow = pa.schema([f.with_type(pa.dictionary(pa.int32(), f.type)) if f.name in dic else f for f in arrow])
        fmt = pads.ParquetFileFormat(read_options=pads.ParquetReadOptions(dictionary_columns=dic))
    return pads.dataset(where, filesystem=fs, format=fmt, partitioning=partitioning, schema=arrow,
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
            e = f.isin(list(val)) if len(val) else pads.scalar(False)      # nothing is in an empty list
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
    return (storage.as_path(path) / "_SUCCESS").exists()


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
    p = storage.as_path(path) / "_manifest.json"
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
