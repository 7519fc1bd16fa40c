"""Dataset contracts: load ``schemas/<name>.yaml`` as pyarrow and Spark schemas and conform frames.

Each schema file declares, once, every column of one dataset (sgkit ``variables.py`` style)::

    name: sumstats
    description: ...
    partition_by: [chrom]
    sort_by: [pos]
    columns:
      - {name: chrom, type: string, nullable: false, unit: null, description: ...}

Types: string, bool, int8, int16, int32, int64, float32, float64, list<string>, list<int64>, list<float64>.
Writers call :meth:`Schema.conform`; a frame that lacks a column or holds a value of the wrong type is a
:class:`~locusflow.errors.SchemaError` that names the dataset, the column and (for nulls) the first row.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from .errors import SchemaError

_ARROW = {
    "string": pa.string(), "bool": pa.bool_(), "int8": pa.int8(), "int16": pa.int16(),
    "int32": pa.int32(), "int64": pa.int64(), "float32": pa.float32(), "float64": pa.float64(),
    "list<string>": pa.list_(pa.string()), "list<int64>": pa.list_(pa.int64()),
    "list<float64>": pa.list_(pa.float64()),
}
_SPARK_DDL = {
    "string": "string", "bool": "boolean", "int8": "tinyint", "int16": "smallint", "int32": "int",
    "int64": "bigint", "float32": "float", "float64": "double", "list<string>": "array<string>",
    "list<int64>": "array<bigint>", "list<float64>": "array<double>",
}
_NUMPY = {"bool": "bool", "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
          "float32": "float32", "float64": "float64"}


@dataclass(frozen=True)
class Column:
    """One column of a dataset contract: name, type (one of the Arrow types of the module docstring),
    nullability, unit and meaning, declared once in ``schemas/<dataset>.yaml``.
    """
    name: str
    type: str
    nullable: bool = True
    unit: str | None = None
    description: str = ""
    optional: bool = False      # nullable column a writer may omit: conform adds it, all null


@dataclass(frozen=True)
class Schema:
    """The contract of one dataset (``schemas/<name>.yaml``): its columns, Parquet partitioning, sort
    order and compression. Writers call :meth:`conform`; readers take the Arrow schema from :meth:`arrow`.
    """
    name: str
    description: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = field(default_factory=tuple)
    sort_by: tuple[str, ...] = field(default_factory=tuple)
    compression: str = "zstd"      # Parquet codec; lz4 where a dataset is read per trait (faster reads)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"schema '{self.name}' has no column '{name}'")

    def arrow(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, _ARROW[c.type], nullable=c.nullable) for c in self.columns])

    def spark_ddl(self) -> str:
        """DDL string usable as a ``mapInPandas`` / reader schema."""
        return ", ".join(f"`{c.name}` {_SPARK_DDL[c.type]}" for c in self.columns)

    def spark(self):
        from pyspark.sql.types import _parse_datatype_string
        return _parse_datatype_string(self.spark_ddl())

    def empty(self) -> pd.DataFrame:
        return self.arrow().empty_table().to_pandas()

    def conform(self, df: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
        """Columns in schema order, cast to their declared types; extra columns are dropped.

        Raises SchemaError naming the missing column, the column that cannot be cast, or the first
        row holding a null in a non-nullable column.
        """
        where = f"dataset '{self.name}'" + (f" from {source}" if source else "")
        missing = [c.name for c in self.columns if c.name not in df.columns and not c.optional]
        if missing:
            raise SchemaError(f"{where}: missing column(s) {missing}; expected {self.names}")
        out = {}
        for c in self.columns:
            s = df[c.name] if c.name in df.columns else pd.Series([None] * len(df), dtype=object, index=df.index)
            if c.type in _NUMPY and s.dtype == _NUMPY[c.type] or c.type == "string" and arrow_string(s.dtype):
                plain = isinstance(s.index, pd.RangeIndex) and s.index.start == 0 and s.index.step == 1
                out[c.name] = s if plain else s.reset_index(drop=True)
                if not c.nullable and (c.type == "string" or s.dtype.kind == "f") and s.isna().any():
                    row = int(np.flatnonzero(s.isna().to_numpy())[0])
                    raise SchemaError(f"{where}: column '{c.name}' must not be null (first at row {row})")
                continue            # already of its type: nothing to cast (float NaN stays NaN, as before)
            if not c.nullable:
                bad = s.isna().to_numpy() if not c.type.startswith("list") else s.isna().to_numpy()
                if bad.any():
                    row = int(np.flatnonzero(bad)[0])
                    raise SchemaError(f"{where}: column '{c.name}' must not be null (first at row {row})")
            try:
                out[c.name] = _cast(s, c.type)
            except (ValueError, TypeError) as exc:
                raise SchemaError(f"{where}: column '{c.name}' is not {c.type}: {exc}") from None
        # from the columns' arrays: no index alignment of each series (they all have the plain 0..n-1 index)
        return pd.DataFrame({k: v.array for k, v in out.items()}, index=pd.RangeIndex(len(df)))

    def to_arrow(self, df: pd.DataFrame, source: str | None = None) -> pa.Table:
        return pa.Table.from_pandas(self.conform(df, source), schema=self.arrow(), preserve_index=False)


def _cast(s: pd.Series, typ: str) -> pd.Series:
    s = s.reset_index(drop=True)
    if typ == "string":
        if isinstance(s.dtype, pd.CategoricalDtype):     # str per category, not per row; Arrow writes the
            cats = s.cat.categories                      # dictionary as strings
            if cats.inferred_type in ("string", "empty"):
                return s
            if cats.astype(str).is_unique:
                return s.cat.rename_categories(cats.astype(str))
        if isinstance(s.dtype, pd.StringDtype) or (s.dtype == object and pd.api.types.infer_dtype(s, skipna=True)
                                                   in ("string", "empty")):   # already str (a C scan)
            if s.dtype == object and not s.isna().any():
                return s                        # str objects already, nothing missing: as it is
            return s.astype(object).where(s.notna(), None)
        return s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
    if typ.startswith("list"):
        return s
    if typ == "bool":
        if s.isna().any():
            return s.astype("boolean")
        return s.astype(bool)
    if typ.startswith("int"):
        if s.isna().any():
            return s.astype(_NUMPY[typ].replace("int", "Int"))
        if s.dtype.kind == "f" and not np.all(np.mod(s.to_numpy(), 1) == 0):
            raise ValueError("non-integral values")
        return s.astype(_NUMPY[typ])
    return pd.to_numeric(s, errors="raise").astype(_NUMPY[typ])


def arrow_string(dtype) -> bool:
    """Whether a pandas dtype is a string dtype backed by Arrow (kept as it is by :meth:`Schema.conform`).

    Parameters
    ----------
    dtype : pandas dtype

    Returns
    -------
    bool
    """
    if isinstance(dtype, pd.StringDtype):
        return str(dtype.storage).startswith("pyarrow")
    return isinstance(dtype, pd.ArrowDtype) and (pa.types.is_string(dtype.pyarrow_dtype) or
                                                 pa.types.is_large_string(dtype.pyarrow_dtype))


def schema_dir():
    """Where the dataset contracts live.

    Returns
    -------
    pathlib.Path or importlib.resources.abc.Traversable
        ``schemas/`` of the source checkout this module runs from, else the installed package data.
    """
    src = Path(__file__).resolve().parents[2] / "schemas"
    return src if src.is_dir() else resources.files("locusflow.schemas")


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=None)
def load(name: str) -> Schema:
    """The contract of dataset ``name``.

    Parameters
    ----------
    name : str
        A dataset name (``sumstats``, ``ld_blocks``, ...; see :func:`available`).

    Returns
    -------
    Schema

    Raises
    ------
    SchemaError
        No such schema, or a column of an unknown type.
    """
    try:
        text = schema_dir().joinpath(f"{name}.yaml").read_text()
    except FileNotFoundError:
        raise SchemaError(f"no schema named '{name}' (schemas/{name}.yaml)") from None
    spec = yaml.load(text, Loader=_SAFE_LOADER)     # libyaml's safe loader: ~10x the pure-Python parser
    cols = tuple(Column(name=c["name"], type=c["type"], nullable=c.get("nullable", True),
                        unit=c.get("unit"), description=c.get("description", ""),
                        optional=bool(c.get("optional", False)))
                 for c in spec["columns"])
    for c in cols:
        if c.type not in _ARROW:
            raise SchemaError(f"schemas/{name}.yaml: column '{c.name}' has unknown type '{c.type}'")
    return Schema(name=spec["name"], description=spec.get("description", ""), columns=cols,
                  partition_by=tuple(spec.get("partition_by", ())), sort_by=tuple(spec.get("sort_by", ())),
                  compression=spec.get("compression", "zstd"))


def available() -> list[str]:
    """Names of every dataset contract.

    Returns
    -------
    list of str
    """
    return sorted(p.name[:-5] for p in schema_dir().iterdir()
                  if p.name.endswith(".yaml"))
