"""Storage through URIs (issue 19): paths and s3:// URIs through one module; datasets, Zarr, the stage commit
(pointer object) and the lease lock on a local S3 endpoint (moto's server, tests/s3_endpoint.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow import storage
from locusflow.commit import Versions
from locusflow.errors import LockError
from locusflow.layout import dataset_path, stage_dir
from locusflow.lock import OutputLock


def test_paths_and_uris_keep_their_scheme(tmp_path):
    assert storage.as_path(str(tmp_path)) == tmp_path and storage.as_path(f"file://{tmp_path}") == tmp_path
    assert not storage.is_remote("/data/x") and not storage.is_remote("file:///x") and storage.is_remote("dbfs:/x")
    for u in ("s3://b/out", "gs://b/out", "abfss://c@acct.dfs.core.windows.net/out", "hdfs://nn:8020/out"):
        assert storage.is_remote(u) and storage.join(u, "ld", "x") == f"{u}/ld/x"
        assert storage.relative(storage.join(u, "ld", "x"), u) == "ld/x" and storage.relative("s3://o/y", u) is None
    assert storage.redact("s3://key:secret@bucket/x") == "s3://bucket/x"


def test_dataset_zarr_and_local_copy_on_s3(s3, make_sumstats):
    from locusflow.io.dataset import is_complete, read_dataset, read_manifest, write_dataset
    df = make_sumstats()
    root = storage.join(s3, "ds")
    write_dataset(df, f"{root}/ss", "sumstats", manifest={"who": "test"})
    assert is_complete(f"{root}/ss") and read_manifest(f"{root}/ss")["rows"] == len(df)
    back = read_dataset(f"{root}/ss", "sumstats")
    pd.testing.assert_frame_equal(back, read_dataset_local(df), check_like=True)
    assert sorted(storage.find(f"{root}/ss")) == ["_SUCCESS", "_manifest.json", "chrom=20/part-0.parquet",
                                                  "chrom=22/part-0.parquet"]
    write_dataset(df[df["chrom"] == "22"].assign(z=9.0), f"{root}/ss", "sumstats")      # dynamic: chrom 22 only
    back = read_dataset(f"{root}/ss", "sumstats")
    assert (back.loc[back["chrom"] == "22", "z"] == 9.0).all() and (back.loc[back["chrom"] == "20", "z"] < 9).all()
    import zarr
    g = zarr.open_group(storage.zarr_store(f"{root}/m.zarr", read_only=False), mode="w", zarr_format=2)
    g.create_array("r", shape=(4, 4), dtype="f4", chunks=(2, 2))[:] = np.eye(4)
    r = zarr.open_group(storage.zarr_store(f"{root}/m.zarr"), mode="r", zarr_format=2)["r"][:]
    np.testing.assert_array_equal(r, np.eye(4, dtype="f4"))
    storage.put_text(f"{root}/a.txt", "one")
    local = storage.local_file(f"{root}/a.txt")
    assert local.read_text() == "one" and storage.local_file(f"{root}/a.txt") == local
    storage.put_text(f"{root}/a.txt", "two")                 # a changed object is fetched again
    assert storage.local_file(f"{root}/a.txt").read_text() == "two"


def read_dataset_local(df):
    from locusflow.schema import load
    return load("sumstats").conform(df).sort_values(["chrom", "pos"], kind="stable").reset_index(drop=True)


def test_commit_by_pointer_and_history_on_s3(s3):
    out = storage.join(s3, "res")
    v = Versions(out, keep=3)
    names = []
    for i in range(4):
        st = v.begin("munge", f"v{i}")
        storage.put_text(st / "sumstats" / "part.txt", f"run {i}")
        cfg = {"out": out}
        assert stage_dir(cfg, "munge") == (v.current("munge") or storage.as_path(out) / "munge")
        v.publish("munge", st, {"fingerprint": f"fp{i}", "summary": {"kept": i}})
        names.append(st.name)
        # readers resolve through the pointer: the new version whole
        assert (dataset_path(cfg, "sumstats") / "part.txt").read_text() == f"run {i}"
        assert storage.read_text(storage.join(out, "munge", "_CURRENT")) == st.name
    left = v.begin("munge", "killed")                # a run killed before it published: cleaned, never read
    storage.put_text(left / "x", "half")
    v.clean()
    hist = Versions(out).history("munge")
    assert [h["version"] for h in hist] == ["v3", "v2", "v1"] and hist[0]["current"] and not hist[1]["current"]
    assert hist[0]["previous"] == "v2" and hist[2]["summary"] == {"kept": 1}
    assert not storage.exists(left)


def test_lease_lock_on_s3(s3, monkeypatch):
    import locusflow.lock as lk
    monkeypatch.setattr(lk, "SETTLE_SECONDS", 0.0)
    out = storage.join(s3, "locked")
    with OutputLock(out) as held:
        assert held.lease and storage.exists(storage.join(out, ".locusflow", "lock.json"))
        with pytest.raises(LockError, match="in use by another locusflow run"):
            OutputLock(out).acquire()
        held.renew()
    assert not storage.exists(storage.join(out, ".locusflow", "lock.json"))     # released
    monkeypatch.setenv("LOCUSFLOW_LEASE_SECONDS", "-1")            # a dead run's expired lease is taken over
    OutputLock(out).acquire()
    monkeypatch.delenv("LOCUSFLOW_LEASE_SECONDS")
    OutputLock(out).acquire().release()


def test_local_roots_still_publish_by_link(tmp_path):
    v = Versions(tmp_path)
    st = v.begin("munge", "a")
    (st / "f").write_text("x")
    v.publish("munge", st, {"fingerprint": "fp"})
    assert Path(tmp_path, "munge").is_symlink() and v.history("munge")[0]["current"]
