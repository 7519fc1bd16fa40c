"""Benjamini-Hochberg over every pair in three distributed passes equals bh_qvalues over all pairs, bit for bit."""
import numpy as np
import pandas as pd

from locusflow.io.dataset import finish_fragments, read_dataset
from locusflow.twas.train.eqtl import bh_qvalues
from locusflow.twas.train.eqtl_fdr import EDGES, bucket_of, run_pairs_with_qvalues


def fake_pairs(unit: dict, n: int) -> pd.DataFrame:
    """A unit's pairs with p-values in every bucket: null ones, tiny ones, ties, 0, 1, NaN."""
    rng = np.random.default_rng(int(unit["seed"]))
    p = rng.uniform(size=n)
    p[: n // 5] = 10.0 ** -rng.uniform(0, 320, n // 5)
    p[n // 5: n // 5 + 30] = 0.03                      # ties inside a bucket, across units too
    p[-4:] = [0.0, 1.0, np.nan, 0.01]                  # the edges themselves and a missing one
    rng.shuffle(p)
    g = rng.integers(0, 5, n)
    return pd.DataFrame({"gene": [f"G{unit['seed']}_{k}" for k in g], "variant_id": [f"v{i}" for i in range(n)],
                         "chrom": "20", "pos": np.arange(n) + 1000 * int(unit["seed"]), "distance": 0, "af": 0.5,
                         "beta": 0.0, "se": 1.0, "t": 0.0, "pval": p, "qval": np.nan})


def test_three_passes_equal_bh_over_all_pairs(tmp_path):
    units = [{"unit_id": f"u{s}", "seed": s, "cost": 1.0} for s in range(6)]
    kw = {"kernel": fake_pairs, "n": 3000}
    res = run_pairs_with_qvalues(units, kw, tmp_path / "work", tmp_path / "pairs", runner={"engine": "local"})
    finish_fragments(tmp_path / "pairs", "eqtl_pairs", res["index"])
    got = read_dataset(tmp_path / "pairs", "eqtl_pairs")
    allp = pd.concat([fake_pairs(u, 3000) for u in units], ignore_index=True)
    allp["qval"] = bh_qvalues(allp["pval"].to_numpy())
    ref = allp.sort_values(["gene", "pos"], kind="stable").reset_index(drop=True)
    assert len(got) == res["pairs"] == 18000
    cols = ["gene", "variant_id", "pos", "pval"]
    pd.testing.assert_frame_equal(got[cols], ref[cols].astype(got.dtypes[cols].to_dict()))
    np.testing.assert_array_equal(got["qval"].to_numpy(), ref["qval"].to_numpy())     # the same bits, NaN included
    assert res["fdr05"] == int((ref["qval"] < 0.05).sum()) > 1000
    assert len(res["index"]) == len(set(bucket_of(allp["pval"]))) > 40                 # one fragment per bucket
    assert EDGES[0] == 0 and EDGES[-1] == 1 and (np.diff(EDGES) > 0).all()
