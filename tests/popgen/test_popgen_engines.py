"""Fst, per-population frequencies and the selection scan give the same numbers on local, dask and spark."""
import numpy as np
import pandas as pd
import pytest

from locusflow.io.genotypes import ingest_plink
from locusflow.popgen.ehh import run_selection_scan
from locusflow.popgen.fst import run_fst

from conftest import EXAMPLES


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path_factory.mktemp("pe") / "g.vcz",
                        variants_chunk=1500)


def test_same_numbers_on_all_engines(store, spark):
    pops = pd.Series(np.where(np.arange(489) % 3, "P1", "P2"), index=store.samples)
    for fn in (lambda **kw: run_fst(store.path, pops, **kw), lambda **kw: run_fst(store.path, pops, what="freq", **kw),
               lambda **kw: run_selection_scan(store.path, pops, "P1", "P2", **kw)):
        out = {e: fn(engine=e, spark=spark if e == "spark" else None) for e in ("local", "dask", "spark")}
        assert len(out["local"]) >= 5481
        pd.testing.assert_frame_equal(out["local"], out["dask"])
        pd.testing.assert_frame_equal(out["local"], out["spark"])
