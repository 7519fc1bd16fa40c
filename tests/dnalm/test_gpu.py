"""The score_variants kernel on CUDA gives the CPU's scores (runs only where torch sees a GPU; CI has none).

The same function every Spark pandas UDF / Dask / local unit calls (score_variants_frame), on the real
1000G chr20 SNPs of the polypred example: float32 on the GPU within 1e-3 of float32 on the CPU, bfloat16
(the stage's default on CUDA) within 0.05 with r > 0.9999. Measured on an H200: float32 2.6e-4,
bfloat16 0.013 (docs/benchmarks.md, bench/dnalm_gpu.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device (the GPU check runs on GPU machines: bench/dnalm_gpu.py)", allow_module_level=True)

from locusflow.dnalm.task import score_variants_frame  # noqa: E402


@pytest.fixture(scope="module")
def variants(realdata):
    bim = realdata / "polyfun_1kg_eur" / "polypred_example" / "1000G.subset.20.bim"
    fasta = realdata / "reference_genome" / "GRCh37_chr20.fa.gz"
    if not bim.exists() or not fasta.exists():
        pytest.skip("realdata polypred chr20 / GRCh37 chr20 not present")
    b = pd.read_csv(bim, sep=r"\s+", header=None, names=["chrom", "rsid", "cm", "pos", "a1", "a2"]).iloc[::4]
    v = pd.DataFrame({"chrom": b["chrom"].astype(str), "pos": b["pos"], "ref": b["a2"], "alt": b["a1"]})
    cpu = score_variants_frame(v, fasta=fasta, device="cpu", dtype="float32", embeddings=True)
    return v, fasta, cpu


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-3), ("bfloat16", 0.05)])
def test_cuda_scores_equal_cpu(variants, dtype, tol):
    v, fasta, cpu = variants
    gpu = score_variants_frame(v, fasta=fasta, device="cuda", dtype=dtype, embeddings=True)
    assert (gpu["status"].to_numpy() == cpu["status"].to_numpy()).all()
    for c in ("llr", "llr_fwd", "llr_rev", "emb_l2"):
        a, b = gpu[c].to_numpy(float), cpu[c].to_numpy(float)
        assert (np.isfinite(a) == np.isfinite(b)).all()
        ok = np.isfinite(a)
        assert ok.sum() > 500
        assert np.abs(a[ok] - b[ok]).max() < tol, c
        assert np.corrcoef(a[ok], b[ok])[0, 1] > 0.9999, c
