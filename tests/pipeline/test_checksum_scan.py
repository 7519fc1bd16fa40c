"""Directory hashes from the one-stat-per-file scan equal an independent walk-and-read, see every kind of
change (edit, rename, add, remove, a link's target), and the in-process caches keyed on it re-read what
changed."""
from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from locusflow import checksum
from locusflow.checksum import ALGORITHM, chrom_hashes, content_hash, stat_identity


def _walk_hash(root, ignore):
    """The definition, computed independently: every file under root (links followed) by sorted relative
    path and the hash of its bytes."""
    rels = []
    for d, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = [x for x in dirs if not x.startswith(ignore)]
        rel = os.path.relpath(d, root)
        rels += [f if rel == "." else f"{rel}/{f}" for f in files if not f.startswith(ignore)]
    h = checksum._hasher()
    for rel in sorted(rels):
        fh = checksum._hasher()
        with open(os.path.join(root, rel), "rb") as f:
            fh.update(f.read())
        h.update(rel.encode() + b"\0" + f"{ALGORITHM}:{fh.hexdigest()}".encode() + b"\n")
    return f"{ALGORITHM}:{h.hexdigest()}"


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "ds"
    (root / "chrom=1").mkdir(parents=True)
    (root / "chrom=2" / "sub").mkdir(parents=True)
    (root / "chrom=1" / "part-a.parquet").write_bytes(b"a" * 1000)
    (root / "chrom=2" / "part-b.parquet").write_bytes(b"b" * 10)
    (root / "chrom=2" / "sub" / "x.bin").write_bytes(os.urandom(5000))
    (root / ".staging").mkdir()
    (root / ".staging" / "junk").write_bytes(b"j")
    (root / "_manifest.json").write_text("{}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "t.bin").write_bytes(b"target")
    (outside / "d").mkdir()
    (outside / "d" / "y.bin").write_bytes(b"y" * 7)
    os.symlink(outside / "t.bin", root / "chrom=1" / "link.parquet")      # a linked file
    os.symlink(outside / "d", root / "chrom=2" / "linked_dir")           # a linked folder
    return root, outside


def test_directory_hash_equals_an_independent_walk(tree):
    root, outside = tree
    ignore = (".",) + checksum.PROVENANCE
    assert content_hash(root) == _walk_hash(root, ignore)
    rels = [e[0] for e in checksum._scan(root, ignore)]
    assert rels == sorted(rels) and "chrom=2/linked_dir/y.bin" in rels and "chrom=1/link.parquet" in rels
    assert not any(r.startswith(".staging") or r == "_manifest.json" for r in rels)


@pytest.mark.parametrize("change", ["edit_same_size", "rename", "add", "remove", "link_target", "hidden_only"])
def test_directory_hash_sees_each_change(tree, change):
    root, outside = tree
    before, ident = content_hash(root), stat_identity(root)
    chrom_before = chrom_hashes(root)
    if change == "edit_same_size":
        (root / "chrom=1" / "part-a.parquet").write_bytes(b"c" * 1000)
    elif change == "rename":
        os.rename(root / "chrom=2" / "part-b.parquet", root / "chrom=2" / "part-c.parquet")
    elif change == "add":
        (root / "chrom=2" / "new.parquet").write_bytes(b"n")
    elif change == "remove":
        os.remove(root / "chrom=2" / "sub" / "x.bin")
    elif change == "link_target":
        (outside / "d" / "y.bin").write_bytes(b"z" * 7)
    elif change == "hidden_only":
        (root / ".staging" / "junk").write_bytes(b"other")
    after = content_hash(root)
    assert after == _walk_hash(root, (".",) + checksum.PROVENANCE)
    if change == "hidden_only":
        assert after == before and chrom_hashes(root) == chrom_before
    else:
        assert after != before and stat_identity(root) != ident
        changed = {c for c in chrom_before if chrom_hashes(root)[c] != chrom_before[c]}
        assert changed == ({"1"} if change == "edit_same_size" else {"2"})


def test_store_variants_are_read_again_after_the_store_changes(example_store, tmp_path):
    from locusflow.io.genotypes import GenotypeStore
    from locusflow.io.dataset import read_arrow, write_dataset
    store = tmp_path / "g.vcz"
    shutil.copytree(example_store.path, store)
    v1 = GenotypeStore(store).variants
    assert GenotypeStore(store).variants is v1                     # one read per process while unchanged
    expect = read_arrow(store / "variants.parquet", "variants").to_pandas().sort_values("store_index")
    pd.testing.assert_frame_equal(v1, expect.reset_index(drop=True))
    t = read_arrow(store / "variants.parquet", "variants").to_pandas()
    t["rsid"] = "x" + t["rsid"].astype(str)
    write_dataset(t, store / "variants.parquet", "variants", mode="overwrite")
    v2 = GenotypeStore(store).variants
    assert v2 is not v1 and (v2["rsid"].str.startswith("x")).all() and len(v2) == len(v1)


def test_arrow_to_pandas_equals_plain_conversion():
    import numpy as np
    import pyarrow as pa
    from locusflow.io.dataset import arrow_to_pandas
    n = 30_000
    rng = np.random.default_rng(1)
    t = pa.table({"id": [f"rs{i}" for i in range(n)], "chrom": rng.choice(["1", "2", "X"], n),
                  "pos": np.arange(n), "maybe": pa.array([None if i % 7 == 0 else f"v{i}" for i in range(n)]),
                  "z": rng.normal(size=n)})
    a, b = t.to_pandas(), arrow_to_pandas(t)
    pd.testing.assert_frame_equal(a, b)
    assert list(b.columns) == t.column_names
