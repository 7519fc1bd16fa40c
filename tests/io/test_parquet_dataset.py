"""Parquet datasets: partition replacement, failed writes leave nothing, Spark reads them."""
from __future__ import annotations

import numpy as np
import pytest

from locusflow import schema
from locusflow.errors import SchemaError
from locusflow.io.dataset import read_dataset, read_manifest, write_dataset


def test_dataset_dynamic_overwrite_replaces_only_written_partitions(tmp_path, make_sumstats):
    path = tmp_path / "ss"
    write_dataset(make_sumstats(), path, "sumstats", manifest={"inputs": {"x": "1"}})
    assert (path / "_SUCCESS").exists() and read_manifest(path)["inputs"] == {"x": "1"}
    # rerun chromosome 22 alone, with new values: chromosome 20 stays as it was
    new22 = make_sumstats(("22",), n=2)
    new22["z"] = [-5.0, -6.0]
    write_dataset(new22, path, "sumstats")
    back = read_dataset(path, "sumstats")
    assert list(back.loc[back.chrom == "20", "z"]) == [0.0, 1.0, 2.0, 3.0]
    assert list(back.loc[back.chrom == "22", "z"]) == [-5.0, -6.0]
    assert back["pos"].dtype == np.int64 and back["chrom"].dtype == object
    # a failing write leaves the dataset untouched and no staging directory behind
    broken = make_sumstats(("20",))
    broken.loc[0, "z"] = None
    with pytest.raises(SchemaError):
        write_dataset(broken, path, "sumstats")
    assert len(read_dataset(path, "sumstats")) == 6
    assert [p.name for p in tmp_path.iterdir()] == ["ss"]


def test_discovered_dataset_reused_until_rewritten(tmp_path, make_sumstats):
    """A committed dataset is discovered once per process (io.dataset._arrow_dataset): reads by partition
    then reuse it, and any rewrite (a new _manifest.json) is seen at once, each time with the rows a fresh
    process would read."""
    from locusflow.io import dataset
    path = tmp_path / "ss"
    write_dataset(make_sumstats(), path, "sumstats")
    first = read_dataset(path, "sumstats", filters=[("chrom", "==", "22")])
    seen = dataset._arrow_dataset(path, "sumstats")
    assert dataset._arrow_dataset(path, "sumstats") is seen
    new22 = make_sumstats(("22",), n=2)
    new22["z"] = [-5.0, -6.0]
    for _ in range(3):          # rewrites in quick succession: every one is discovered again and read back
        new22["z"] -= 1.0
        write_dataset(new22, path, "sumstats")
        now = dataset._arrow_dataset(path, "sumstats")
        assert now is not seen
        seen = now
        back = read_dataset(path, "sumstats", filters=[("chrom", "==", "22")])
        assert list(back["z"]) == list(new22["z"]) and len(back) != len(first)
    assert list(read_dataset(path, "sumstats", filters=[("chrom", "==", "20")])["z"]) == [0.0, 1.0, 2.0, 3.0]


def test_spark_reads_our_datasets(tmp_path, spark, make_sumstats):
    path = write_dataset(make_sumstats(), tmp_path / "ss", "sumstats")
    sdf = spark.read.schema(schema.load("sumstats").spark()).parquet(str(path))
    assert sdf.count() == 8 and sdf.filter("chrom = '22'").count() == 4
