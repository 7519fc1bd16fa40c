"""Stage `ld`: identical matrices on local/dask/spark, the CLI, the pipeline after ingest."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import zarr
from conftest import EXAMPLES

from locusflow.io.dataset import read_dataset
from locusflow.ld.matrix import build_ld, read_block_ld, read_ld_index
from locusflow.ld.stage import make_blocks, run_ld


@pytest.fixture(scope="module")
def example(example_store):
    return example_store


def test_index_columns_from_the_tasks_answers(example, tmp_path, spark):
    """build_ld with columns among ld.matrix.ANSWERED (what the ld stage asks for) answers from the tasks'
    counts instead of reading the index's files back: the same numbers as the committed index, on local
    and spark."""
    from locusflow.ld.matrix import ANSWERED
    blocks = make_blocks(example, {"blocks": "fixed", "window": 700})
    for e in ("local", "spark"):
        got = build_ld(example.path, blocks, tmp_path / e, engine=e, spark=spark if e == "spark" else None,
                       maf=0.05, progress=False, columns=list(ANSWERED))
        back = read_dataset(tmp_path / e / "index", "ld_index", columns=list(ANSWERED))
        assert list(got.columns) == list(ANSWERED) and len(got) == len(blocks) > 3
        pd.testing.assert_frame_equal(got.sort_values("block_id").reset_index(drop=True),
                                      back.sort_values("block_id").reset_index(drop=True), check_dtype=False)
        assert got["n_dropped"].sum() > 0


def test_engines_identical(example, tmp_path, spark):
    blocks = make_blocks(example, {"blocks": "fixed", "window": 700})
    out = {}
    for e in ("local", "dask", "spark"):
        out[e] = build_ld(example.path, blocks, tmp_path / e, engine=e, spark=spark if e == "spark" else None,
                          samples=list(example.samples[::2]), maf=0.01, progress=False)
    for e in ("dask", "spark"):
        pd.testing.assert_frame_equal(out["local"], out[e])
        for rec in out["local"].itertuples():
            a = zarr.open_group(zarr.storage.ZipStore(tmp_path / "local" / rec.path, mode="r"), mode="r")["r"][...]
            b = zarr.open_group(zarr.storage.ZipStore(tmp_path / e / rec.path, mode="r"), mode="r")["r"][...]
            np.testing.assert_array_equal(a, b)
    assert out["local"]["n_samples"].eq(245).all() and out["local"]["n_dropped"].sum() > 0
    # each Spark task hashed the block files it wrote and the driver holds those hashes (an incremental
    # rerun's per-chromosome identity reads nothing back): each equals the file's hash read afresh
    import hashlib

    from locusflow.checksum import ALGORITHM, remembered
    files = [f for f in (tmp_path / "spark" / "blocks").rglob("*") if f.is_file() and not f.name.startswith(".")]
    assert len(files) == len(out["spark"])          # one file per block
    for f in files:
        if ALGORITHM == "xxh128":
            import xxhash
            fresh = xxhash.xxh3_128(f.read_bytes()).hexdigest()
        else:
            fresh = hashlib.blake2b(f.read_bytes(), digest_size=20).hexdigest()
        assert remembered(f) == f"{ALGORITHM}:{fresh}", f


def test_stage_and_cli(example, tmp_path):
    from locusflow.cli import main
    rc = main(["ld", "--store", str(example.path), "--out", str(tmp_path / "o"), "--blocks", "EUR"])
    assert rc == 0
    blocks = read_dataset(tmp_path / "o" / "ld" / "blocks", "ld_blocks")
    index = read_ld_index(tmp_path / "o" / "ld" / "matrices")
    assert list(blocks["block_id"]) == list(index["block_id"]) and blocks["source"].eq("ldetect_EUR_GRCh37").all()
    assert index["n_variants"].sum() == len(example.variants)
    # rerun with other blocks replaces the matrices: no stale block stays behind
    assert main(["ld", "--store", str(example.path), "--out", str(tmp_path / "o"), "--blocks", "fixed",
                 "--window", "2000"]) == 0
    idx2 = read_ld_index(tmp_path / "o" / "ld" / "matrices")
    assert len(list((tmp_path / "o" / "ld" / "matrices" / "blocks").glob("*/*.zarr.zip"))) == len(idx2) == 4
    run_ld(example.path, tmp_path / "d", {"blocks": "fixed", "window": 2000}, progress=False)   # the API
    assert read_ld_index(tmp_path / "d" / "matrices").equals(idx2)
    keep = tmp_path / "keep.txt"  # PLINK keep format: FID IID
    keep.write_text("".join(f"f {s}\n" for s in example.samples[:100]))
    assert main(["ld", "--store", str(example.path), "--out", str(tmp_path / "k"), "--blocks", "fixed",
                 "--window", "3000", "--samples", str(keep), "--maf", "0.05"]) == 0
    k = read_ld_index(tmp_path / "k" / "ld" / "matrices")
    assert k["n_samples"].eq(100).all() and read_dataset(tmp_path / "k" / "ld" / "blocks", "ld_blocks")["n_samples"].eq(100).all()
    bad = tmp_path / "bad.bed"
    bad.write_text("1 10 x\n")
    assert main(["ld", "--store", str(example.path), "--out", str(tmp_path / "o"), "--blocks", str(bad)]) == 2
    assert main(["ld", "--store", str(example.path), "--out", str(tmp_path / "o"), "--blocks", "EUR",
                 "--samples", str(bad)]) == 2


def test_pipeline_runs_ld_after_ingest(tmp_path):
    from locusflow.pipeline import run_pipeline
    cfg = {"out": str(tmp_path / "run"), "genome_build": "GRCh37", "engine": "local", "stages": ["ingest", "ld"],
           "ingest": {"plink": str(EXAMPLES / "1000G_EUR_chr20_22")}, "ld": {"blocks": "EUR", "maf": 0.05}}
    # pipeline order comes from locusflow.layout.STAGES, whatever the import order; ingest first, then both
    run_pipeline({**cfg, "stages": ["ingest"]})
    s = run_pipeline(cfg)
    assert s["ingest"] == "skipped" and s["ld"]["blocks"] == 3 and s["ld"]["variants"] == 5481
    index = read_ld_index(tmp_path / "run" / "ld" / "matrices")
    var, r = read_block_ld(tmp_path / "run" / "ld" / "matrices", index["block_id"][0])
    maf = np.minimum(var["alt_freq"], 1 - var["alt_freq"])
    assert maf.min() >= 0.05 and index["n_dropped"].sum() == s["ld"]["dropped_maf_or_monomorphic"] > 0
    assert run_pipeline(cfg)["ld"] == "skipped"
