"""Windows and REF checks against the real GRCh37 chr20 FASTA (pysam fetch is the peer)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.dnalm.windows import LUT, reverse_complement, variant_status, windows
from locusflow.errors import InputError
from locusflow.io.fasta import Genome

FASTA = Path(__file__).resolve().parents[3] / "shared/realdata/reference_genome/GRCh37_chr20.fa.gz"
if not FASTA.exists():
    FASTA = Path("/work/shared/realdata/reference_genome/GRCh37_chr20.fa.gz")
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")


def test_windows_match_pysam_and_pad_with_n():
    import pysam
    g = Genome(FASTA)
    pos = np.array([60_001, 30_000_000, 62_965_000])
    w = windows(g, "chr20", pos, 64)
    fa = pysam.FastaFile(str(FASTA))
    for row, p in zip(w, pos):
        want = LUT[np.frombuffer(fa.fetch("20", p - 1 - 32, p - 1 + 32).encode(), np.uint8)]
        assert (row == want).all()
    end = windows(g, "20", [63_025_520], 8)[0]          # last base of chr20 at index 4, beyond it N
    assert (end[5:] == 4).all()
    start = windows(g, "20", [1], 8)[0]
    assert (start[:4] == 4).all()
    assert (reverse_complement(reverse_complement(w)) == w).all()


def test_status_ref_mismatch_indel_and_absent_contig():
    g = Genome(FASTA)
    seq = g.sequence("20")
    p = 30_000_000
    base = chr(seq[p - 1])
    other = next(b for b in "ACGT" if b != base)
    third = next(b for b in "ACGT" if b not in (base, other))
    nxt = chr(seq[p])
    wrong = next(b for b in "ACGT" if b != nxt)
    df = pd.DataFrame({"chrom": ["20", "20", "20", "20", "7", "20", "20", "20"],
                       "pos": [p, p, p, p, p, 70_000_000, p, p],
                       "ref": [base, other, other, base + nxt, base, base, "N", base + wrong],
                       "alt": [other, base, third, base, other, other, base, base]})
    st = variant_status(df.chrom, df.pos, df.ref, df.alt, g)
    assert list(st) == ["ok", "ref_mismatch", "ref_mismatch", "indel", "contig_absent", "not_in_genome",
                        "bad_allele", "ref_mismatch"]              # an indel whose ref is not the genome's
    st = variant_status(df.chrom, df.pos, df.ref, df.alt, g, swapped=True)
    assert st[1] == "swapped" and st[2] == "ref_mismatch" and st[0] == "ok"


def test_bad_fasta_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="missing.fa"):
        Genome(tmp_path / "missing.fa")
    bad = tmp_path / "plain.fa"
    bad.write_text(">1\nACGT\n")
    with pytest.raises(InputError, match=r"\.fai"):
        Genome(bad)
