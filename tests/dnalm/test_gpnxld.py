"""GPNxLD from the ld stage's stored matrices of the bundled 1000G EUR panel."""
import numpy as np
import pandas as pd

from locusflow.dnalm.priors import functional_score, gpnxld_blocks
from locusflow.ld.matrix import build_ld, read_block_ld
from locusflow.ld.stage import make_blocks


def test_gpnxld_from_stored_ld(example_store, tmp_path):
    blocks = make_blocks(example_store, {"blocks": "fixed", "window": 300})
    index = build_ld(example_store.path, blocks, tmp_path / "ld", progress=False)
    ids = list(index["block_id"])[:2]
    var, r = read_block_ld(tmp_path / "ld", ids[0])
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"variant_id": var["variant_id"], "llr": rng.normal(size=len(var))})
    got = gpnxld_blocks(tmp_path / "ld", scores, ids)
    b0 = got[got.block_id == ids[0]]
    a = functional_score(scores["llr"])
    want = [sum(float(r[j, k]) ** 2 * a[k] for k in range(len(a))) for j in range(len(a))]
    np.testing.assert_allclose(b0["gpnxld"], want, rtol=1e-6)
    assert (b0["gpnxld"].to_numpy() >= b0["a"].to_numpy() - 1e-9).all()        # r_jj^2 = 1: own score included
    assert (got[got.block_id == ids[1]]["gpnxld"] == 0).all()                   # no scores there: a = 0
    one = scores.assign(llr=np.where(np.arange(len(var)) == 5, -2.0, 0.0))     # one deleterious variant
    g1 = gpnxld_blocks(tmp_path / "ld", one, ids[:1])["gpnxld"].to_numpy()
    np.testing.assert_allclose(g1, 2.0 * np.asarray(r[:, 5], float) ** 2, rtol=1e-6)
