"""Dataset contracts (schemas/): every schema as Arrow and Spark; conform names the bad column and row."""
from __future__ import annotations

import pyarrow as pa
import pytest

from locusflow import schema
from locusflow.errors import SchemaError


def test_every_schema_loads_as_arrow_and_spark(spark):
    names = schema.available()
    assert {"sumstats", "variants", "genotype_store", "ld_blocks", "work_list", "weights"} <= set(names)
    for name in names:
        s = schema.load(name)
        assert isinstance(s.arrow(), pa.Schema) and s.arrow().names == s.names
        assert [f.name for f in s.spark().fields] == s.names
        assert s.description, f"schemas/{name}.yaml needs a description"


def test_conform_names_the_bad_column(make_sumstats):
    df = make_sumstats()
    with pytest.raises(SchemaError, match="'se'"):
        schema.load("sumstats").conform(df.drop(columns="se"))
    bad = df.copy()
    bad.loc[2, "z"] = None
    with pytest.raises(SchemaError, match=r"column 'z' must not be null \(first at row 2\)"):
        schema.load("sumstats").conform(bad)
    bad = df.copy()
    bad["pos"] = bad["pos"].astype(str)
    bad.loc[1, "pos"] = "12x"
    with pytest.raises(SchemaError, match="column 'pos'"):
        schema.load("sumstats").conform(bad)
