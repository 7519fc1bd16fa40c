"""The promoter task of real GRCh37 chr20 (bundled GENCODE v18 TSSs; :mod:`locusflow.dnalm.promoters`). Known truth:
every positive window centred on a TSS of the gene table, in the gene's orientation; negatives GC-matched."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FASTA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "reference_genome" / "GRCh37_chr20.fa.gz"
GENES = Path(__file__).resolve().parents[2] / "lib" / "locusflow" / "data" / "gencode" / \
    "gencode_v18_grch37_protein_coding.tsv.gz"
WINDOW = 256
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")


def test_task_is_gc_matched_and_strand_aware():
    from locusflow.dnalm.promoters import promoter_task
    t = promoter_task(FASTA, GENES, "20", window=WINDOW, ratio=3, n_candidates=400_000, seed=1)
    t = t[t.start >= 30_000_000]
    pos, neg = t[t.label == 1], t[t.label == 0]
    assert abs(pos.gc.mean() - neg.gc.mean()) < 0.03 and len(neg) >= 2.5 * len(pos)
    assert set(pos.strand) == {"+", "-"} and (t.end - t.start == WINDOW).all()
    genes = pd.read_csv(GENES, sep="\t", dtype={"chrom": str}).query("chrom == '20'")
    tss = set(np.where(genes.strand == "-", genes.stop, genes.start) - 1)
    assert all(s + WINDOW // 2 in tss for s in pos.start)                     # centred on a TSS (0-based)
    st = np.sort(neg.start.to_numpy())
    assert (np.diff(st) >= WINDOW).all()                                      # negatives never overlap
