"""The splice-site task of real GRCh37 chr20 (bundled refGene hg19 GTF). Known truth: hand-read donors of the GTF
(DEFB125 +, DEFB128 -), every intron of the GTF counted independently with pandas, the GT / AG at the centre of
every window read back through `dnalm finetune`'s own window reader, the donor consensus (G at intron +5 in ~80%
of human donors, Mount 1982; a quarter-ish at random GTs) and the acceptor's polypyrimidine tract; bad inputs."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.dnalm.annotate import read_gtf
from locusflow.dnalm.regions import BUNDLED_GTF
from locusflow.errors import InputError

FASTA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "reference_genome" / "GRCh37_chr20.fa.gz"
pytestmark = pytest.mark.skipif(not FASTA.exists(), reason="real GRCh37 chr20 FASTA not present")
W = 64


@pytest.fixture(scope="module", params=["donor", "acceptor"])
def task(request, tmp_path_factory):
    from locusflow.dnalm.labels import label_windows, read_labels
    from locusflow.dnalm.splice import splice_task
    from locusflow.dnalm.task import cached_genome
    bed = tmp_path_factory.mktemp("splice") / "s.bed"
    t = splice_task(FASTA, BUNDLED_GTF, "chr20", site=request.param, window=W, ratio=2, n_candidates=200_000, bed=bed)
    w = label_windows(cached_genome(FASTA), read_labels(bed, cached_genome(FASTA)), W)
    return {"site": request.param, "frame": t, "windows": w}


def _introns(site):
    """Every intron's oriented boundary base (0-based) and strand, from the GTF's exons with plain pandas."""
    ex = read_gtf(BUNDLED_GTF).query("feature == 'exon'").sort_values(["transcript_id", "start"])
    nxt = ex.groupby("transcript_id")["start"].shift(-1)
    ex = ex.assign(nxt=nxt).dropna(subset=["nxt"])
    ex = ex[ex.nxt - ex.end - 1 >= 4]
    plus = ex.strand == "+"
    # donor: + the first intron base (0-based = exon end), - the base before the next exon (0-based next - 2);
    # acceptor: + the next exon's first base, - this exon's last base
    b0 = (np.where(plus, ex.end, ex.nxt - 2) if site == "donor" else np.where(plus, ex.nxt - 1, ex.end - 1))
    return pd.DataFrame({"b0": b0.astype(np.int64), "strand": ex.strand.to_numpy()}).drop_duplicates()


def test_positives_are_the_gtfs_sites_with_the_dinucleotide_at_the_centre(task):
    t, w = task["frame"], task["windows"]
    donor = task["site"] == "donor"
    lab = t.label.to_numpy() == 1
    at = slice(W // 2, W // 2 + 2) if donor else slice(W // 2 - 2, W // 2)
    want = [2, 3] if donor else [0, 2]                                          # GT / AG, in transcript orientation
    assert (w[:, at] == want).all()                                             # both classes: the same dinucleotide
    truth = _introns(task["site"])
    got = set(zip(t.boundary0[lab], t.strand[lab]))
    assert got <= set(zip(truth.b0, truth.strand))
    assert len(got) > 0.9 * len(truth) and len(got) > 4500                     # ~98% canonical, few overlaps dropped
    assert (t.end - t.start == W).all() and len(t) == len(set(zip(t.start, t.strand)))
    start = t.start.to_numpy()
    assert ((t.boundary0 - start)[lab] == np.where(t.strand[lab] == "-", W // 2 - 1, W // 2)).all()
    if donor:                                    # hand-read: DEFB125 NM_153325 (+) exon 68313-68408 -> intron 68409
        assert {(68408, "+"), (170214, "-")} <= got   # DEFB128 NM_001037732 (-) exon 170216-170322 -> intron 170215
        g5 = (w[lab, W // 2 + 4] == 2).mean(), (w[~lab, W // 2 + 4] == 2).mean()    # intron +5 is G
        assert g5[0] > 0.7 and g5[1] < 0.4, g5
    else:                                        # polypyrimidine tract: C/T over intron -20..-5
        py = np.isin(w[:, W // 2 - 20:W // 2 - 4], [1, 3]).mean(1)
        assert py[lab].mean() > 0.65 and py[~lab].mean() < py[lab].mean() - 0.1


def test_decoys_are_gc_matched_same_gene_sites_away_from_real_ones(task):
    t = task["frame"]
    pos, neg = t[t.label == 1], t[t.label == 0]
    assert abs(pos.gc.mean() - neg.gc.mean()) < 0.01 and len(neg) >= 1.9 * len(pos)
    truth = np.sort(_introns(task["site"]).b0.unique())
    j = np.searchsorted(truth, neg.boundary0)
    d = np.minimum(np.abs(neg.boundary0 - truth[np.maximum(j - 1, 0)]),
                   np.abs(neg.boundary0 - truth[np.minimum(j, len(truth) - 1)]))
    assert d.min() >= W // 2                                                   # no annotated site in a decoy window
    tx = read_gtf(BUNDLED_GTF).query("feature == 'transcript'")
    for strand in "+-":                                                        # inside a transcript of its strand
        b = neg.boundary0[neg.strand == strand].to_numpy() + 1
        s = tx[tx.strand == strand]
        inside = ((s.start.to_numpy() <= b[:, None]) & (b[:, None] <= s.end.to_numpy())).any(1)
        assert inside.all()
    st = np.sort(neg.start.to_numpy())
    assert (np.diff(st) >= W).all()                                            # decoy windows never overlap


def _write(path, rows):
    a = 'gene_id "G"; transcript_id "{}"; gene_name "G";'
    path.write_text("".join(f"{c}\tt\texon\t{s}\t{e}\t.\t{st}\t.\t{a.format(tx)}\n" for c, s, e, st, tx in rows))
    return path


def test_bad_inputs_name_the_file_and_row(tmp_path):
    from locusflow.dnalm.splice import splice_task
    gtf = _write(tmp_path / "a.gtf", [("chr20", 68313, 68408, "+", "T1"), ("chr20", 76646, 77214, "+", "T1"),
                                     ("chr7", 100, 200, "+", "T2"), ("chr7", 300, 400, "+", "T2")])
    with pytest.raises(InputError, match=r"a\.gtf, row 3, column 'seqname': a contig of the FASTA GRCh37_chr20"):
        splice_task(FASTA, gtf, "7")
    with pytest.raises(InputError, match=r"a\.gtf.*records of chromosome 21 \(the GTF has 20, 7\)"):
        splice_task(FASTA, gtf, "21")
    ann = read_gtf(BUNDLED_GTF).query("feature == 'exon'").head(400)           # coordinates of another assembly
    shifted = _write(tmp_path / "b.gtf", list(zip("chr" + ann.chrom, ann.start + 1000, ann.end + 1000, ann.strand,
                                                             ann.transcript_id)))
    with pytest.raises(InputError, match=r"b\.gtf: donor sites that read GT in the FASTA .*another assembly"):
        splice_task(FASTA, shifted, "20")
    for kw in ({"window": 63}, {"site": "branch"}):
        with pytest.raises(InputError):
            splice_task(FASTA, gtf, "20", **kw)
