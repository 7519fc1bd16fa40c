"""GPNxLD from the ld stage's stored matrices of the bundled 1000G EUR panel: the hand sum, the three
engines, and `locusflow gpnxld` writing its dataset (scores matched under either allele order)."""
import numpy as np
import pandas as pd
import pytest

from locusflow.dnalm.priors import functional_score, gpnxld, gpnxld_blocks
from locusflow.ld.matrix import build_ld, read_block_ld
from locusflow.ld.stage import make_blocks


def test_gpnxld_is_r2_weighted_sum_and_identity_without_ld():
    rng = np.random.default_rng(1)
    a = rng.exponential(size=5)
    assert np.allclose(gpnxld(np.eye(5), a), a)
    r = np.corrcoef(rng.normal(size=(5, 50)))
    want = [sum(r[j, k] ** 2 * a[k] for k in range(5)) for j in range(5)]
    assert np.allclose(gpnxld(r, a), want)


@pytest.fixture(scope="module")
def ld_and_scores(example_store, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpnxld")
    blocks = make_blocks(example_store, {"blocks": "fixed", "window": 300})
    index = build_ld(example_store.path, blocks, tmp / "ld", progress=False)
    ids = list(index["block_id"])[:3]
    var, _ = read_block_ld(tmp / "ld", ids[0])
    rng = np.random.default_rng(0)
    vid = var["variant_id"].str.split(":", expand=True)
    swapped = vid[0] + ":" + vid[1] + ":" + vid[3] + ":" + vid[2]
    # scores keyed by the genome's orientation: every third variant has its alleles swapped against the panel
    keyed = np.where(np.arange(len(var)) % 3 == 0, swapped, var["variant_id"])
    llr = rng.normal(size=len(var))
    llr[7] = np.nan                                                  # rejected by the scorer: unscored
    scores = pd.DataFrame({"variant_id": keyed, "llr": llr})
    path = tmp / "scores.parquet"
    scores.to_parquet(path)
    return tmp, ids, llr, path


def test_gpnxld_from_stored_ld_matches_hand_sum(ld_and_scores):
    tmp, ids, llr, path = ld_and_scores
    got = gpnxld_blocks(tmp / "ld", path, ids[:2])
    var, r = read_block_ld(tmp / "ld", ids[0])
    b0 = got[got.block_id == ids[0]]
    a = functional_score(llr)
    want = [sum(float(r[j, k]) ** 2 * a[k] for k in range(len(a))) for j in range(len(a))]
    np.testing.assert_allclose(b0["gpnxld"], want, rtol=1e-6)
    np.testing.assert_allclose(b0["a"], a)
    assert list(b0["variant_id"]) == list(var["variant_id"]) and b0["scored"].sum() == len(var) - 1
    assert (b0["gpnxld"].to_numpy() >= b0["a"].to_numpy() - 1e-9).all()       # r_jj^2 = 1: own score included
    b1 = got[got.block_id == ids[1]]
    assert (b1["gpnxld"] == 0).all() and not b1["scored"].any()                  # no scores there: a = 0


def test_gpnxld_engines_agree(ld_and_scores, spark):
    tmp, ids, _, path = ld_and_scores
    local = gpnxld_blocks(tmp / "ld", path, ids)
    pd.testing.assert_frame_equal(local, gpnxld_blocks(tmp / "ld", path, ids, engine="dask"))
    pd.testing.assert_frame_equal(local, gpnxld_blocks(tmp / "ld", path, ids, engine="spark", spark=spark))


def test_gpnxld_cli_writes_dataset(ld_and_scores, tmp_path):
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    tmp, ids, llr, path = ld_and_scores
    rc = main(["gpnxld", "--ld", str(tmp / "ld"), "--scores", str(path), "--transform", "abs",
               "--out", str(tmp_path / "out")])
    assert rc == 0
    got = read_dataset(tmp_path / "out/gpnxld/scores", "gpnxld")
    b0 = got[got.block_id == ids[0]].reset_index(drop=True)
    var, r = read_block_ld(tmp / "ld", ids[0])
    a = np.nan_to_num(np.abs(llr))
    np.testing.assert_allclose(b0.set_index("variant_id").loc[var["variant_id"], "gpnxld"],
                               (np.asarray(r, float) ** 2) @ a, rtol=1e-6)
    assert got["block_id"].nunique() > 3                                         # every block of the index
    bad = main(["gpnxld", "--ld", str(tmp / "ld"), "--scores", str(tmp / "nope.parquet"),
                "--out", str(tmp_path / "o2")])
    assert bad == 2 and not (tmp_path / "o2/gpnxld").exists()
