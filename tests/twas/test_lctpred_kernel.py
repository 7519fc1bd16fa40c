"""l-ctPred's personal expression from a personal_features table (twas.train.lctpred.expression_from_haplotypes):
both ways of combining haplotypes against a per-individual loop, and carriers that miss a slot."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from locusflow.errors import InputError  # noqa: E402
from locusflow.twas.train.ctpred import CtPred  # noqa: E402
from locusflow.twas.train.lctpred import expression_from_haplotypes, personal_expression  # noqa: E402


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    model = CtPred(max_epochs=30, batch_size=16, lr=1e-2).fit(rng.normal(size=(60, 5)), rng.random(60),
                                                             np.array(["train"] * 40 + ["valid"] * 20))
    n, rows, truth = 7, [], {}
    for g, u in (("G1", 3), ("G2", 1), ("G3", 4)):
        feats = rng.normal(size=(u, 5))
        slot = rng.integers(0, u, 2 * n)
        slot[:u] = np.arange(u)                       # every haplotype carried at least once
        truth[g] = (feats, slot.reshape(n, 2))
        for h in range(u):
            rows.append({"gene": g, "chrom": "1", "tss": 100, "haplotype": h, "n_substituted": 1,
                         "features": feats[h], "carriers": np.flatnonzero(slot == h)})
    return model, pd.DataFrame(rows).sample(frac=1, random_state=1), truth, n


@pytest.mark.parametrize("how", ["mean_features", "mean_predictions"])
def test_matches_per_individual(table, how):
    model, per, truth, n = table
    genes, expr = expression_from_haplotypes(per, model, n, how, genes_per_chunk=2)
    assert list(genes["gene"]) == ["G1", "G2", "G3"]
    for k, g in enumerate(genes["gene"]):
        feats, index = truth[g]
        want = [model.predict((feats[a] + feats[b])[None] / 2)[0] if how == "mean_features" else
                (model.predict(feats[a][None])[0] + model.predict(feats[b][None])[0]) / 2 for a, b in index]
        np.testing.assert_allclose(expr[k], want, rtol=1e-5, atol=1e-6)        # float32 net
        np.testing.assert_allclose(expr[k], personal_expression(model, feats, index, how), rtol=1e-5, atol=1e-6)
    assert np.ptp(expr[1]) < 1e-6 < np.ptp(expr[0])      # one haplotype: no personal variation


def test_carriers_must_cover_every_slot(table):
    model, per, _, n = table
    bad = per.copy()
    bad["carriers"] = [np.asarray(c)[1:] if k == 0 else c for k, c in enumerate(bad["carriers"])]
    with pytest.raises(InputError, match="each haplotype slot"):
        expression_from_haplotypes(bad, model, n)
    with pytest.raises(InputError, match="carriers among the 2 x 6"):
        expression_from_haplotypes(per, model, 6)
