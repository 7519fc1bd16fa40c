"""locusflow on pyspark 3.5, the Spark of Databricks LTS runtimes (the package takes the runtime's pyspark,
3.5 or 4.x, and installs none: pyspark is the `spark` extra). In pyspark 3.5's own environment
(tests/peers/pyspark35.lock; numpy, pandas and the rest from the project's environment): the package imports,
every stage module loads, and the ld stage on the spark engine gives the LD the local engine gives."""
from __future__ import annotations

import os
import site
import subprocess
import sys

import numpy as np
from conftest import ROOT, peer_venv
from peers.venv import HERE

from locusflow.io.dataset import read_dataset
from locusflow.ld.matrix import read_block_ld

CHECK = """
import sys, pyspark
assert pyspark.__version__.startswith("3.5."), pyspark.__version__
assert pyspark.__file__.startswith(sys.prefix), pyspark.__file__        # this environment's, not the project's
from locusflow.pipeline import load_stages
print("stages", len(load_stages()))
"""


def ld_cli(python, store, out, engine):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib"), "PYSPARK_PYTHON": str(python),
           "PYSPARK_DRIVER_PYTHON": str(python), "OPENBLAS_NUM_THREADS": "1"}
    r = subprocess.run([str(python), "-m", "locusflow.cli", "ld", "--store", str(store), "--out", str(out),
                        "--engine", engine, "--maf", "0.01", "--set", "spark.master=local[2]"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def test_stages_on_pyspark35(example_store, tmp_path):
    py = peer_venv("pyspark35", ["pyspark==3.5.9", "py4j==0.10.9.7"])
    assert (HERE / "pyspark35.lock").exists()
    # the project's environment behind pyspark 3.5's (appended to sys.path: the venv's pyspark wins)
    pth = subprocess.run([str(py), "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True,
                         text=True, check=True).stdout.strip()
    with open(os.path.join(pth, "locusflow_project_env.pth"), "w") as fh:
        fh.write("\n".join(site.getsitepackages()) + "\n")
    r = subprocess.run([str(py), "-c", CHECK], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "lib")},
                       capture_output=True, text=True)
    assert r.returncode == 0 and "stages" in r.stdout, r.stderr[-3000:]
    ld_cli(py, example_store.path, tmp_path / "spark35", "spark")
    ld_cli(sys.executable, example_store.path, tmp_path / "local", "local")
    a = read_dataset(tmp_path / "spark35" / "ld" / "blocks", "ld_blocks")
    b = read_dataset(tmp_path / "local" / "ld" / "blocks", "ld_blocks")
    assert a["block_id"].tolist() == b["block_id"].tolist() and len(a) >= 3
    for bid in a.loc[a["n_variants"] > 0, "block_id"]:
        va, ra = read_block_ld(tmp_path / "spark35" / "ld" / "matrices", bid)
        vb, rb = read_block_ld(tmp_path / "local" / "ld" / "matrices", bid)
        assert va["variant_id"].tolist() == vb["variant_id"].tolist()
        np.testing.assert_array_equal(ra, rb)
