"""The same kernel gives identical output on local, dask and spark (DESIGN rule 2); LPT task packing."""
from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import EXAMPLES

from locusflow.engine.runner import pack_tasks, run_worklist
from locusflow.io.plink import BedReader
from locusflow.popgen.frequency import frequency_kernel


def test_pack_tasks_lpt():
    t = pack_tasks([10, 1, 1, 1, 7, 3], 2)
    loads = np.bincount(t, weights=[10, 1, 1, 1, 7, 3])
    assert sorted(loads) == [11.0, 12.0]


def test_same_output_on_all_engines(example_store, spark):
    m = len(example_store.variants)
    units = [{"unit_id": f"b{i}", "start": s, "stop": min(m, s + 700), "cost": 700.0}
             for i, s in enumerate(range(0, m, 700))]
    units[3]["cost"] = 1e9  # packing must not change the order of the output
    samples = list(example_store.samples[::2])
    outs = {e: run_worklist(units, frequency_kernel, "allele_freq", engine=e,
                            kwargs={"store": str(example_store.path), "samples": samples},
                            spark=spark if e == "spark" else None, progress=False)
            for e in ("local", "dask", "spark")}
    pd.testing.assert_frame_equal(outs["local"], outs["dask"])
    pd.testing.assert_frame_equal(outs["local"], outs["spark"])
    # known truth: A1 counts decoded straight from the .bed for the same samples
    g = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read()[:, ::2].astype(float)
    assert list(outs["local"]["variant_id"]) == list(example_store.variants["variant_id"])
    np.testing.assert_allclose(outs["local"]["alt_freq"], g.mean(1) / 2, rtol=0, atol=1e-12)
