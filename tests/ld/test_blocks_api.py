"""The one block module: ids, resolution, location and signal blocks share one edge rule."""
import numpy as np
import pandas as pd

from locusflow.ld.blocks import (assign_blocks, block_id, locate_blocks, read_block_bed, resolve_blocks,
                                 signal_blocks, window_intervals)


def test_block_id_scalar_and_vector():
    assert block_id("20", 18972204, 20959711) == "20:18972204-20959711"
    ids = block_id(np.array(["1", "22"], dtype=object), np.array([1, 5]), np.array([5, 9]))
    assert list(ids) == ["1:1-5", "22:5-9"]


def test_bed_edges_locate_and_assign_agree(tmp_path):
    bed = tmp_path / "b.bed"
    bed.write_text("chr1 100 200\nchr1 200 300\n")
    iv = resolve_blocks(bed)
    # BED (100, 200] -> 1-based [101, 201)
    assert list(iv["block_id"]) == ["1:101-201", "1:201-301"]
    pos = np.array([100, 101, 200, 201, 300, 301])
    got = locate_blocks(np.array(["1"] * 6, dtype=object), pos, iv)
    assert list(got) == [None, "1:101-201", "1:101-201", "1:201-301", "1:201-301", None]
    variants = pd.DataFrame({"chrom": "1", "pos": pos[1:5]})
    blocks, per_variant = assign_blocks(variants, read_block_bed(bed), n_samples=10)
    assert list(per_variant) == list(got[1:5])          # panel assignment and location agree inside blocks
    assert set(blocks["block_id"]) <= set(iv["block_id"])


def test_published_and_focus_alias_are_one_set():
    a = resolve_blocks("37:EUR")
    b = resolve_blocks("focus_eur", "GRCh37")
    assert a["block_id"].tolist() == b["block_id"].tolist()
    assert len(a) > 1500 and a["block_id"].str.fullmatch(r"\w+:\d+-\d+").all()


def test_signal_blocks_edge_rule_and_z_fallback():
    iv = window_intervals(["2", "2", "2"], [1, 1000, 1001], 1000)
    assert list(iv["block_id"]) == ["2:1-1001", "2:1001-2001"]
    ss = pd.DataFrame({"chrom": ["2", "2", "2"], "pos": [1000, 1001, 1500],
                       "p": [1e-9, np.nan, 0.5], "z": [6.1, 6.0, 0.1]})
    sel = signal_blocks(ss, iv, 5e-8)
    # pos 1000 is the last position of window 1; pos 1001 (p from z = 6.0: 2e-9) opens window 2
    assert sel["block_id"].tolist() == ["2:1-1001", "2:1001-2001"]
    assert sel["n_sumstats"].tolist() == [1, 2]
    assert np.isclose(sel["min_p"].iloc[1], 1.973e-9, rtol=1e-3)
    assert sel.attrs["n_blocks"] == 2
