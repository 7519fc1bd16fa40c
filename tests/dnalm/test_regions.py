"""DNA-LM accuracy by region type: position classes on a hand-made GTF (known truth), then on real GRCh37 chr20
with the shipped model: region counts against an independent pandas count from the GTF, per-region accuracy
and loss against the pretraining evaluator on the same positions, the GT..AG / ATG / stop truths of the
bundled refGene slice, the `dnalm regions` CLI and bad inputs."""
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.cli import main
from locusflow.dnalm.annotate import read_gtf
from locusflow.dnalm.regions import BUNDLED_GTF, REGION_TYPES, classify_positions, region_metrics, splice_sites
from locusflow.errors import InputError
from locusflow.io.dataset import read_dataset

FASTA = Path("/work/shared/realdata/reference_genome/GRCh37_chr20.fa.gz")
SEGMENT = "20:50000001-50600000"          # inside the shipped model's held-out 50-52 Mb: NFATC2, ATP9A, SALL4
needs_fasta = pytest.mark.skipif(not FASTA.exists(), reason="realdata GRCh37 chr20 FASTA absent")


def _gtf(tmp_path) -> Path:
    """+ strand transcript T1: exons 1001-1010, 1101-1120, CDS 1005-1010 (frame 0) and 1101-1114 (frame 0 + 6
    bases upstream -> frame 0), start 1005-1007, stop 1115-1117; - strand T2: exons 3001-3020, 3101-3110,
    CDS 3101-3107 (frame 0), 3011-3020 (7 upstream coding bases -> frame 2)."""
    a = 'gene_id "G{g}"; transcript_id "T{g}"; gene_name "G{g}";'
    rows = [("transcript", 1001, 1120, "+", ".", 1), ("exon", 1001, 1010, "+", ".", 1), ("exon", 1101, 1120, "+", ".", 1),
            ("CDS", 1005, 1010, "+", "0", 1), ("CDS", 1101, 1114, "+", "0", 1), ("start_codon", 1005, 1007, "+", ".", 1),
            ("stop_codon", 1115, 1117, "+", ".", 1), ("UTR", 1001, 1004, "+", ".", 1), ("UTR", 1115, 1120, "+", ".", 1),
            ("transcript", 3001, 3110, "-", ".", 2), ("exon", 3001, 3020, "-", ".", 2), ("exon", 3101, 3110, "-", ".", 2),
            ("CDS", 3101, 3107, "-", "0", 2), ("CDS", 3011, 3020, "-", "2", 2)]
    p = tmp_path / "t.gtf"
    p.write_text("".join(f"chr9\tt\t{f}\t{s}\t{e}\t.\t{st}\t{fr}\t{a.format(g=g)}\n" for f, s, e, st, fr, g in rows))
    return p


def test_position_classes_on_a_known_gtf(tmp_path):
    ann = read_gtf(_gtf(tmp_path))
    truth = {1005: "start_codon", 1008: "cds_pos1", 1009: "cds_pos2", 1010: "cds_pos3", 1101: "cds_pos1",
             1114: "cds_pos2", 1115: "stop_codon", 1118: "utr3", 1003: "utr5", 1011: "splice_donor",
             1012: "splice_donor", 1013: "intron", 1099: "splice_acceptor", 1100: "splice_acceptor",
             500: "promoter", 1121: "intergenic", 3107: "cds_pos1", 3106: "cds_pos2", 3101: "cds_pos1",
             3020: "cds_pos2", 3019: "cds_pos3", 3018: "cds_pos1", 3100: "splice_donor", 3099: "splice_donor",
             3021: "splice_acceptor", 3022: "splice_acceptor", 3005: "ncrna_exon", 3111: "promoter", 2500: "intergenic"}
    got = classify_positions(np.array(list(truth)), ann, promoter_down=5)
    assert dict(zip(truth, got)) == truth
    sp = splice_sites(ann)
    assert sorted(sp["splice_donor"][0]) == [1011, 3099] and sorted(sp["splice_acceptor"][0]) == [1099, 3021]


GENCODE = Path("/work/shared/realdata/gene_annotation/gencode_v29_chr1_subset.gtf.gz")
# hand-checked on the GENCODE v29 records: OR4F5 (+; CDS 65565-65573 frame 0, 69037-70005 frame 0; exons
# 65419-65433, 65520-65573; stop 70006-70008) and NOC2L (-; CDS 959215-959240 frame 0, 958929-959081 frame 1;
# first exon 959215-959290; stop 944694-944696); GENCODE "UTR" records split 5'/3' by the CDS
HAND = {65565: "start_codon", 65568: "cds_pos1", 65573: "cds_pos3", 69037: "cds_pos1", 69039: "cds_pos3",
        70006: "stop_codon", 70010: "utr3", 65425: "utr5", 65434: "splice_donor", 65435: "splice_donor",
        65518: "splice_acceptor", 65519: "splice_acceptor", 959240: "start_codon", 959237: "cds_pos1",
        959236: "cds_pos2", 959235: "cds_pos3", 959215: "cds_pos2", 959081: "cds_pos3", 959080: "cds_pos1",
        959213: "splice_donor", 959214: "splice_donor", 959082: "splice_acceptor", 959083: "splice_acceptor",
        944695: "stop_codon", 944500: "utr3", 959260: "utr5"}


@pytest.mark.skipif(not GENCODE.exists(), reason="realdata GENCODE v29 chr1 subset absent")
def test_hand_checked_classes_on_gencode():
    ann = read_gtf(GENCODE)
    got = classify_positions(np.array(list(HAND)), ann[ann["chrom"] == "1"])
    assert dict(zip(HAND, got)) == HAND


@pytest.fixture(scope="module")
def measured():
    return region_metrics(FASTA, segments=[SEGMENT], max_per_region=300, seed=1, positions=True)


def _positions(rec: pd.DataFrame) -> pd.DataFrame:
    """Every 1-based position of each record, with its offset from the record's 5' end (transcript orientation)."""
    n = (rec["end"] - rec["start"] + 1).to_numpy()
    r = rec.loc[rec.index.repeat(n)]
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    pos = np.where(r["strand"] == "-", r["end"].to_numpy() - k, r["start"].to_numpy() + k)
    return r.assign(pos=pos, offset=k)


@needs_fasta
def test_region_counts_equal_an_independent_count_from_the_gtf(measured):
    import pysam
    table, _ = measured
    seq = pysam.FastaFile(str(FASTA)).fetch("20", 50_000_000, 50_600_000)
    g = pd.read_csv(BUNDLED_GTF, sep="\t", comment="#", header=None, usecols=[2, 3, 4, 6, 7],
                    names=["feature", "start", "end", "strand", "frame"])
    g = g[(g["end"] >= 50_000_001) & (g["start"] <= 50_600_000)]
    inside = lambda p: p[(p >= 50_000_001) & (p <= 50_600_000)]                       # noqa: E731
    start = set(inside(_positions(g[g["feature"] == "start_codon"])["pos"]))
    stop = set(inside(_positions(g[g["feature"] == "stop_codon"])["pos"])) - start
    cds = _positions(g[g["feature"] == "CDS"])
    cds["phase"] = (cds["offset"] - cds["frame"].astype(int)) % 3 + 1
    phases = cds[cds["pos"].isin(inside(cds["pos"]))].groupby("pos")["phase"].nunique()
    one = cds.drop_duplicates("pos").set_index("pos").loc[phases.index[phases == 1], "phase"]
    one = one[~one.index.isin(start | stop)]
    n = table.set_index("region")["n_total"]
    assert n["start_codon"] == len(start) > 0 and n["stop_codon"] == len(stop) > 0
    assert [n[f"cds_pos{k}"] for k in (1, 2, 3)] == [int((one == k).sum()) for k in (1, 2, 3)]
    assert n["all"] == sum(c != "N" for c in seq) == n[list(REGION_TYPES)].sum()
    assert (table["status"] == "unavailable").sum() == 2          # no soft-mask in this FASTA, no repeats BED


@needs_fasta
def test_region_accuracy_equals_the_pretraining_evaluator(measured):
    from locusflow.dnalm.model import load_model
    from locusflow.dnalm.pretrain import evaluate, read_tokens
    table, per = measured
    tok, rep = read_tokens(FASTA, "20")
    for region in ("cds_pos3", "intron"):
        p = per[per["region"] == region]
        ev = evaluate(load_model(device="cpu"), tok, rep, p["pos"].to_numpy() - 1, 128, {})["model"]
        row = table.set_index("region").loc[region]
        assert row["n"] == len(p) == 300
        assert row["accuracy"] == pytest.approx(ev["accuracy"], abs=1e-12)
        assert row["cross_entropy"] == pytest.approx(ev["loss"], rel=1e-5)
        assert row["accuracy_lo"] < row["accuracy"] < row["accuracy_hi"]
    w = per["weight"].to_numpy()
    assert table.set_index("region").loc["all", "accuracy"] == pytest.approx((w * per["correct"]).sum() / w.sum())


@needs_fasta
def test_codon_position_3_is_predicted_best(measured):
    """Measured: the third (wobble) codon position is predicted better than the second, whose base the amino
    acid fixes most (here 0.417 vs 0.300 accuracy, disjoint cross-entropy intervals; bench/dnalm_regions.py over
    2,000 bases per class on the held-out 2 Mb: 0.411 vs 0.323 and 0.343 at position 1)."""
    t = measured[0].set_index("region")
    assert t.loc["cds_pos3", "accuracy"] > max(t.loc["cds_pos1", "accuracy"], t.loc["cds_pos2", "accuracy"])
    assert t.loc["cds_pos3", "cross_entropy_hi"] < t.loc["cds_pos2", "cross_entropy_lo"]


@needs_fasta
def test_bundled_refgene_slice_truths():
    """Donor sites read GT and acceptors AG on the transcript strand; start codons ATG (checked on all chr20)."""
    import pysam
    seq = pysam.FastaFile(str(FASTA)).fetch("20").upper()
    ann = read_gtf(BUNDLED_GTF)
    comp = str.maketrans("ACGT", "TGCA")

    def read(s, e, strand):
        return [seq[a - 1:b] if st != "-" else seq[a - 1:b].translate(comp)[::-1] for a, b, st in zip(s, e, strand)]

    ex = ann[ann["feature"] == "exon"].sort_values(["transcript_id", "start"])
    strand = ex.groupby("transcript_id")["strand"].first()
    sp = splice_sites(ann)
    same = ex["transcript_id"].to_numpy()[1:] == ex["transcript_id"].to_numpy()[:-1]
    gap = (ex["start"].to_numpy()[1:] - ex["end"].to_numpy()[:-1] - 1)[same] >= 4
    st = strand.loc[ex["transcript_id"].to_numpy()[:-1][same][gap]].to_numpy()
    donors = pd.Series(read(*sp["splice_donor"], st)).value_counts(normalize=True)
    acceptors = pd.Series(read(*sp["splice_acceptor"], st)).value_counts(normalize=True)
    assert donors["GT"] > 0.97 and acceptors["AG"] > 0.97
    sc = ann[ann["feature"] == "start_codon"]
    sc = sc[sc.groupby("transcript_id")["start"].transform("size") == 1]          # codons not split by an intron
    assert pd.Series(read(sc["start"], sc["end"], sc["strand"])).eq("ATG").mean() > 0.97
    assert gzip.open(BUNDLED_GTF, "rt").readline().startswith("##description: UCSC refGene (hg19) chr20")


@needs_fasta
def test_cli_writes_the_dataset(tmp_path):
    rc = main(["dnalm", "regions", "--fasta", str(FASTA), "--segments", "20:50300001-50400000",
               "--max-per-region", "8", "--out", str(tmp_path), "--engine", "local"])
    assert rc == 0
    t = read_dataset(tmp_path / "dnalm_regions" / "regions", "dnalm_regions")
    assert t["region"].tolist() == list(REGION_TYPES) + ["repeat", "non_repeat", "all"]
    ok = t[t["status"] == "ok"].set_index("region")["n"]
    assert (ok[list(set(REGION_TYPES) & set(ok.index))] <= 8).all()
    assert ok["all"] == ok[list(set(REGION_TYPES) & set(ok.index))].sum() > 8


@needs_fasta
def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="GTF records on chromosome 20"):
        region_metrics(FASTA, _gtf(tmp_path), segments=["20:1000001-1001000"], max_per_region=2)
    with pytest.raises(InputError, match="chromosome 7 in the FASTA index"):
        region_metrics(FASTA, segments=["7:1-1000"], max_per_region=2)
    tok = tmp_path / "bpe"
    tok.mkdir()
    (tok / "tokenizer.json").write_text("{}")
    with pytest.raises(InputError, match="tokenised"):
        region_metrics(FASTA, model=tok, segments=["20:1000001-1001000"], max_per_region=2)
    with pytest.raises(InputError, match="within the chromosome"):
        region_metrics(FASTA, segments=["20:63000001-64000000"], max_per_region=2)


@pytest.mark.parametrize("source", ["soft-mask", "bed"])
def test_repeat_rows_from_soft_mask_or_bed(tmp_path, source):
    """A 4-kb genome with bases 1001-1500 soft-masked (or listed in a BED): 500 repeat bases, the rest not."""
    import pysam
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 4000))
    if source == "soft-mask":
        seq = seq[:1000] + seq[1000:1500].lower() + seq[1500:]
    fa = tmp_path / "g.fa"
    fa.write_text(">chr9\n" + "\n".join(seq[i:i + 60] for i in range(0, 4000, 60)) + "\n")
    pysam.faidx(str(fa))
    bed = tmp_path / "rep.bed"
    bed.write_text("chr9\t1000\t1500\tAluY\n")
    t = region_metrics(fa, _gtf(tmp_path), segments=["9"], max_per_region=5,
                       repeats=bed if source == "bed" else None).set_index("region")
    assert t.loc["repeat", "n_total"] == 500 and t.loc["non_repeat", "n_total"] == 3500 == 4000 - 500
    assert t.loc["repeat", "status"] == "ok" and t.loc["all", "n"] == t.loc[list(REGION_TYPES), "n"].sum()
    assert t["repeat_source"].iloc[0] == ("soft-mask" if source == "soft-mask" else "BED rep.bed")
