"""The z-vs-LD check (susieR's kriging_rss, Zou et al. 2022) runs on every block before fitting, whatever the
method, and sets the block's ``ld_mismatch`` flag in finemap/blocks: known truth, one allele flipped on purpose.
The same run searches each block from 3 seeds (``n_seeds``) and reports their agreement."""
from __future__ import annotations

import numpy as np
import pandas as pd

from finemap_helpers import example_out, example_paths  # noqa: F401  (module fixture)

from locusflow.io.dataset import read_dataset, write_dataset


def test_flipped_allele_sets_ld_mismatch_for_finemap(example_out, tmp_path):  # noqa: F811
    from locusflow.finemap.stage import run_finemap
    from locusflow.io.genotypes import GenotypeStore
    from locusflow.ld.matrix import ld_matrix
    store_path, sumstats_path = example_paths(example_out)
    ss = read_dataset(sumstats_path, "sumstats")
    block = ss[(ss["chrom"] == "20") & (ss["pos"] >= 20000001) & (ss["pos"] < 20250001)].reset_index(drop=True)
    store = GenotypeStore(store_path)
    index = store.variants.set_index("variant_id")["store_index"]
    block = block[block["variant_id"].isin(index.index)].reset_index(drop=True)
    R = ld_matrix(store.dosages(index=index[block["variant_id"]].to_numpy()))
    top = int(np.argmax(np.abs(block["z"].to_numpy())))
    proxy = int(np.argmax(np.where((np.abs(R[top]) < 0.99) & (np.abs(block["z"]) > 5), np.abs(R[top]), 0)))
    flipped = block["variant_id"].iloc[proxy]
    bad = ss.copy()
    hit = bad["variant_id"] == flipped
    bad.loc[hit, ["z", "beta"]] = -bad.loc[hit, ["z", "beta"]]
    out = tmp_path / "run"
    write_dataset(bad, out / "sumstats", "sumstats")
    cfg = {"out": str(out), "finemap": {"method": "finemap", "run_id": "flip", "blocks": {"window_kb": 250},
                                        "p_threshold": 1e-15, "store": str(store_path), "sumstats": str(out / "sumstats"),
                                        "finemap": {"max_causal": 3, "n_seeds": 3}}}
    run_finemap(cfg)
    blocks = read_dataset(out / "finemap" / "blocks", "finemap_block").set_index("block_id")
    snp = read_dataset(out / "finemap" / "snp", "finemap_snp")
    assert bool(blocks.loc["20:20000001-20250001", "ld_mismatch"]) is True
    assert snp.set_index("variant_id").loc[flipped, "ld_flagged"]
    assert blocks["ld_s"].notna().all() and blocks["ld_mismatch"].notna().all()
    assert (blocks["ld_mismatch"] == (blocks["n_flagged"] > 0)).all()
    assert pd.api.types.is_bool_dtype(blocks["ld_mismatch"])
    # FINEMAP's advice, several seeds per block: their agreement is reported, disagreement flags the block
    assert blocks["seed_max_dpip"].between(0, 1).all()
    assert (~blocks["converged"] | (blocks["seed_max_dpip"] <= 0.01)).all()
