"""`locusflow score-variants` (alias score_variants) end to end on real chr20 variants; bad inputs exit 2 naming file and column."""
from pathlib import Path

import pandas as pd
import pytest

from locusflow.cli import main
from locusflow.io.dataset import read_dataset

FASTA = Path("/work/shared/realdata/reference_genome/GRCh37_chr20.fa.gz")
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")


def test_score_variants_cli_writes_dataset_and_counts_mismatches(tmp_path, capsys):
    pytest.importorskip("torch")
    from locusflow.io.fasta import Genome
    seq = Genome(FASTA).sequence("20")
    pos = [30_000_000 + 997 * i for i in range(12)]
    ref = [chr(seq[p - 1]) for p in pos]
    alt = [next(b for b in "ACGT" if b != r) for r in ref]
    ref[0], alt[0] = alt[0], ref[0]                               # one ref/alt swapped against the genome
    ref[1] = next(b for b in "ACGT" if b not in (ref[1], alt[1]))  # one whose alleles the genome lacks
    tsv = tmp_path / "v.tsv"
    pd.DataFrame({"chrom": "chr20", "pos": pos, "ref": ref, "alt": alt}).to_csv(tsv, sep="\t", index=False)
    rc = main(["score-variants", "--fasta", str(FASTA), "--variants", str(tsv), "--out", str(tmp_path / "out")])
    assert rc == 0
    got = read_dataset(tmp_path / "out/score_variants/scores", "variant_scores")
    assert len(got) == 12 and (got.status == "ref_mismatch").sum() == 1 and got.llr.notna().sum() == 11
    assert (got.status == "swapped").sum() == 1                   # scored in the genome's orientation
    assert "rejected ref mismatch 1" in capsys.readouterr().out   # the run's summary counts the rejected row


def test_missing_column_exits_2_naming_file_and_column(tmp_path, capsys):
    tsv = tmp_path / "bad.tsv"
    pd.DataFrame({"chrom": ["20"], "pos": [30_000_000], "ref": ["A"]}).to_csv(tsv, sep="\t", index=False)
    rc = main(["score_variants", "--fasta", str(FASTA), "--variants", str(tsv), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "bad.tsv" in err and "'alt'" in err
    assert not (tmp_path / "out/score_variants/scores").exists()
