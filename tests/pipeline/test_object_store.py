"""The whole example pipeline on an object store (issue 19): every input and every output on a local S3
endpoint (moto's server on 127.0.0.1, started and stopped by the module's ``s3`` fixture; s3fs is the fsspec
backend), on the dask and spark engines, equal to the local run: every data file of every computing stage
byte-identical (Parquet without its timing column, Zarr chunks, TSVs), plots and report present."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
import yaml
from pipeline_helpers import TIMING_COLUMNS, make_inputs

from locusflow import storage
from locusflow.layout import stage_dir
from locusflow.pipeline import run_pipeline

pytest.importorskip("s3fs")
COMPUTING = ["ingest", "munge", "ld", "twas", "finemap", "focus"]
ALL = COMPUTING + ["plots", "report"]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    d = tmp_path_factory.mktemp("objstore")
    cfg = yaml.safe_load(make_inputs(d / "in").read_text())
    cfg.update(out=str(d / "out"), stages=ALL, engine="local")
    cfg["plots"]["formats"] = ["png"]        # the figures once (the slowest stage here): what is tested is I/O
    run_pipeline(cfg)
    return {"dir": d / "in", "cfg": cfg, "files": {s: data_files(stage_dir(cfg, s)) for s in COMPUTING}}


@pytest.fixture(scope="module")
def remote_cfg(s3, local):
    """The local run's configuration with every input uploaded and named by its s3:// URI."""
    import fsspec
    fs = fsspec.filesystem("s3")
    for f in local["dir"].iterdir():
        fs.put_file(str(f), f"{s3}/in/{f.name}")
    text = yaml.safe_dump({k: v for k, v in local["cfg"].items() if k != "out"})
    cfg = yaml.safe_load(text.replace(str(local["dir"]), f"{s3}/in"))
    assert "/tmp" not in yaml.safe_dump(cfg) and cfg["munge"]["sumstats"].startswith("s3://")
    return cfg


def data_files(root) -> dict:
    """Relative path -> sha256 of every data file under a stage's published version (local or s3://); the
    provenance (the JSON files, the weights' source_file column: they name paths) left out, Parquet compared
    without its timing column."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    out = {}
    for rel in storage.find(root):
        name = rel.rsplit("/", 1)[-1]
        if name.endswith(".json") or name in ("_SUCCESS", "_CURRENT"):
            continue
        data = storage.as_path(storage.join(root, rel)).read_bytes()
        if name.endswith(".parquet"):
            t = pq.read_table(io.BytesIO(data))
            drop = [c for c in t.column_names if c in TIMING_COLUMNS or c == "source_file"]
            if drop:
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, t.drop_columns(drop).schema) as w:
                    w.write_table(t.drop_columns(drop))
                data = sink.getvalue().to_pybytes()
        out[rel] = hashlib.sha256(data).hexdigest()
    return out


@pytest.mark.parametrize("engine", ["dask", "spark"])
def test_example_pipeline_on_s3_equals_the_local_run(engine, remote_cfg, local, s3, request):
    if engine == "spark":
        request.getfixturevalue("spark")      # the test run's one session (its workers know the endpoint)
    out = f"{s3}/out-{engine}"
    cfg = {**remote_cfg, "out": out, "engine": engine}
    summary = run_pipeline(cfg)
    assert set(summary) == set(ALL) and all(v != "skipped" for v in summary.values())
    for s in COMPUTING:
        got = data_files(stage_dir(cfg, s))
        assert got == local["files"][s], f"{engine}: stage {s} differs from the local run"
    assert "chrom=20/part-0.parquet" in str(sorted(local["files"]["munge"]))
    # published by pointer: <out>/<stage>/_CURRENT names a complete version; nothing was left unpublished
    for s in ALL:
        cur = storage.read_text(storage.join(out, s, "_CURRENT"))
        assert storage.exists(storage.join(out, ".locusflow", "versions", s, cur, "_SUCCESS"))
    assert storage.find(storage.join(out, ".locusflow", "versions", "report"))
    html = (storage.as_path(stage_dir(cfg, "report")) / "report.html").read_text()
    assert "ZNF74" in html and not storage.exists(storage.join(out, ".locusflow", "lock.json"))
    plots = json.loads(storage.read_text(storage.join(str(stage_dir(cfg, "plots")), "index", "_manifest.json")))
    assert plots["rows"] >= 9
    assert run_pipeline(cfg) == {s: "skipped" for s in ALL}      # a rerun on the store finds every stage current
