"""In-silico mutagenesis of a real chr20 region with the shipped model: every position, every alt; ISM at a
variant equals that variant's LLR; `locusflow score-variants --region` writes the same rows."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from locusflow.dnalm.ism import ism, ism_matrix  # noqa: E402
from locusflow.dnalm.model import SHIPPED, load_model  # noqa: E402
from locusflow.io.fasta import Genome  # noqa: E402

FASTA = Path("/work/shared/realdata/reference_genome/GRCh37_chr20.fa.gz")
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")
REGION = "20:30,000,001-30,000,060"


def test_ism_equals_llr_of_each_variant_and_the_cli_writes_it(tmp_path):
    from locusflow.cli import main
    from locusflow.dnalm.task import score_variants_frame
    from locusflow.io.dataset import read_dataset
    g = Genome(FASTA)
    got = ism(load_model(SHIPPED, device="cpu"), g, REGION, batch_size=17)
    seq = g.sequence("20")
    assert len(got) == 3 * 60 and (got.groupby("pos").size() == 3).all()
    assert (got["ref"].to_numpy() == np.frombuffer(bytes(seq[got.pos.to_numpy() - 1]), "S1").astype(str)).all()
    assert (got.ref != got.alt).all()
    snv = got.iloc[[0, 31, 100, 179]]
    llr = score_variants_frame(snv[["chrom", "pos", "ref", "alt"]], fasta=FASTA)
    np.testing.assert_allclose(snv.llr, llr.llr, atol=1e-5)
    np.testing.assert_allclose(snv.llr_fwd, llr.llr_fwd, atol=1e-5)
    m = ism_matrix(got)
    assert m.shape == (60, 4) and (m.to_numpy() != 0).sum() == 180
    rc = main(["score-variants", "--fasta", str(FASTA), "--region", REGION, "--batch-variants", "60",
               "--out", str(tmp_path / "out")])
    assert rc == 0
    ds = read_dataset(tmp_path / "out/score_variants/scores", "variant_scores")
    pd.testing.assert_frame_equal(ds.sort_values(["pos", "alt"]).reset_index(drop=True)[["variant_id", "llr"]],
                                  got.sort_values(["pos", "alt"]).reset_index(drop=True)[["variant_id", "llr"]],
                                  atol=1e-5)
    assert main(["score-variants", "--fasta", str(FASTA), "--region", "20:70,000,000-70,000,010",
                 "--out", str(tmp_path / "o2")]) == 2
