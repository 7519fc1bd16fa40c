"""`locusflow dnalm pretrain` (alias dnalm_pretrain) on a small two-chromosome FASTA cut from real chr20 (soft-masked part included):
it writes a model directory that score_variants loads, with training config and held-out metrics."""
import json
from pathlib import Path

import numpy as np
import pytest

from locusflow.cli import main

FASTA = Path("/work/shared/realdata/reference_genome/GRCh37_chr20.fa.gz")
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")


def test_pretrain_cli_writes_loadable_model(tmp_path):
    pytest.importorskip("torch")
    import pysam
    seq = pysam.FastaFile(str(FASTA)).fetch("20", 30_000_000, 30_120_000)
    fa = tmp_path / "mini.fa"
    fa.write_text(f">chrA\n{seq[:60_000]}\n>chrB\n{seq[60_000:90_000].lower()}{seq[90_000:]}\n")
    pysam.faidx(str(fa))
    out = tmp_path / "out"
    rc = main(["dnalm", "pretrain", "--fasta", str(fa), "--held-out", "A:40001-60000", "--steps", "4",
               "--batch-size", "8", "--n-eval", "300", "--out", str(out)])
    assert rc == 0
    model_dir = out / "dnalm_pretrain" / "model"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["n_positions"] == 300 and 0 < metrics["model"]["accuracy"] < 1
    assert json.loads((model_dir / "training.json").read_text())["chroms"] == ["A", "B"]
    from locusflow.dnalm.model import load_model
    from locusflow.dnalm.windows import encode
    m = load_model(model_dir, device="cpu")
    import torch
    lg = m(input_ids=torch.from_numpy(encode(seq[:64].encode())[None, :])).logits
    assert lg.shape == (1, 64, 4) and np.isfinite(lg.detach().numpy()).all()
    bad = main(["dnalm_pretrain", "--fasta", str(fa), "--held-out", "A:oops", "--out", str(tmp_path / "o2")])
    assert bad == 2
