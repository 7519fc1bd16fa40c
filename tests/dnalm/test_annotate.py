"""Functional annotation of variants: hand-checked regions on GENCODE v29 (chr1 subset), brute-force
overlaps, BED errors, the `dnalm annotate` CLI."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.cli import main
from locusflow.dnalm.annotate import annotate_variants, overlap_pairs, read_gtf
from locusflow.errors import InputError
from locusflow.io.dataset import read_dataset

REAL = Path("/work/shared/realdata")
GTF = REAL / "gene_annotation" / "gencode_v29_chr1_subset.gtf.gz"
FASTA = REAL / "reference_genome" / "GRCh37_chr20.fa.gz"

# hand-checked against the GTF records (OR4F5 + strand: exons 65419-65433, 65520-65573, 69037-71585,
# CDS 65565-65573 / 69037-70005; NOC2L - strand, TSS 959309; KLHL17 + strand, TSS 960587)
TRUTH = [  # pos, region, genes, nearest_gene, gene_distance, tss_distance
    (65570, "CDS", "OR4F5", "OR4F5", 0, 151),
    (65430, "utr5", "OR4F5", "OR4F5", 0, 11),
    (66000, "intron", "OR4F5", "OR4F5", 0, 581),
    (65434, "splice_site", "OR4F5", "OR4F5", 0, 15),
    (65519, "splice_site", "OR4F5", "OR4F5", 0, 100),
    (70500, "utr3", "OR4F5", "OR4F5", 0, 5081),
    (65000, "promoter", "", "OR4F5", 419, -419),
    (80000, "intergenic", "", "OR4F5", 8415, 11105),
    (944400, "utr3", "NOC2L,SAMD11", "NOC2L", 0, 14909),
    (959250, "utr5", "NOC2L", "NOC2L", 0, 59),
    (960000, "promoter", "", "KLHL17", 587, -587),
]


@pytest.fixture(scope="module")
def ann():
    return read_gtf(GTF)


def test_hand_checked_regions_and_genes(ann):
    v = pd.DataFrame({"chrom": "chr1", "pos": [t[0] for t in TRUTH]})
    out = annotate_variants(v, ann)
    assert out["region"].tolist() == [t[1] for t in TRUTH]
    assert out["genes"].tolist() == [t[2] for t in TRUTH]
    assert out["nearest_gene"].tolist() == [t[3] for t in TRUTH]
    assert out["gene_distance"].tolist() == [t[4] for t in TRUTH]
    assert out["tss_distance"].tolist() == [t[5] for t in TRUTH]


def test_overlaps_equal_brute_force(ann):
    rng = np.random.default_rng(1)
    pos = rng.integers(1, 1_300_000, 3000)
    genes = ann[ann["feature"] == "gene"]
    s, e = genes["start"].to_numpy(), genes["end"].to_numpy()
    vi, gi = overlap_pairs(pos, s, e)
    fast = set(zip(vi.tolist(), gi.tolist()))
    brute = {(i, j) for i, p in enumerate(pos) for j in range(len(s)) if s[j] <= p <= e[j]}
    assert fast == brute and len(brute) > 100
    out = annotate_variants(pd.DataFrame({"chrom": "1", "pos": pos}), ann)
    # nearest body distance by brute force
    d = np.array([min(max(s[j] - p, p - e[j], 0) for j in range(len(s))) for p in pos])
    assert np.array_equal(out["gene_distance"].to_numpy(), d)
    # exon membership of every non-exonic class agrees with the exon records
    ex = ann[ann["feature"] == "exon"]
    in_ex = np.array([((ex["start"] <= p) & (ex["end"] >= p)).any() for p in pos])
    exonic = out["region"].isin(["CDS", "utr5", "utr3", "exon"]).to_numpy()
    assert np.array_equal(in_ex, exonic)


def test_regulatory_bed_overlaps_and_errors(tmp_path):
    bed = tmp_path / "reg.bed"
    bed.write_text("20\t999\t1010\tenhA\n20\t1004\t2000\tenhB\nchr20\t5000\t5001\tctcf\n")
    v = pd.DataFrame({"chrom": "20", "pos": [999, 1000, 1005, 1010, 1011, 5001, 5002]})
    out = annotate_variants(v, regulatory=bed, fasta=FASTA)
    assert out["regulatory"].tolist() == ["", "enhA", "enhA,enhB", "enhA,enhB", "enhB", "ctcf", ""]
    assert out["n_regulatory"].tolist() == [0, 1, 2, 2, 1, 1, 0]
    bad = tmp_path / "bad.bed"
    bad.write_text("20\t10\t20\tok\nchrUn_x\t10\t20\tnope\n")
    with pytest.raises(InputError, match=r"bad.bed, row 2, column 'chrom': a contig of the FASTA"):
        annotate_variants(v, regulatory=bad, fasta=FASTA)
    bad.write_text("20\t63025000\t63025600\tpast_end\n")
    with pytest.raises(InputError, match=r"row 1, column 'end': an end within the contig \(length 63025520"):
        annotate_variants(v, regulatory=bad, fasta=FASTA)
    bad.write_text("20\t30\t20\tinverted\n")
    with pytest.raises(InputError, match="end > start"):
        annotate_variants(v, regulatory=bad, fasta=FASTA)


def test_cli_writes_variant_annotation(tmp_path, capsys):
    tsv = tmp_path / "v.tsv"
    pd.DataFrame({"variant_id": ["1:65570:A:G", "1:80000:C:T"], "chrom": ["1", "1"], "pos": [65570, 80000],
                  "llr": [-2.5, 0.1]}).to_csv(tsv, sep="\t", index=False)
    rc = main(["dnalm", "annotate", "--variants", str(tsv), "--annotation", str(GTF), "--out", str(tmp_path / "o")])
    assert rc == 0
    got = read_dataset(tmp_path / "o" / "variant_annotation" / "annotation", "variant_annotation")
    got = got.sort_values("pos")
    assert got["region"].tolist() == ["CDS", "intergenic"] and got["llr"].tolist() == [-2.5, 0.1]
    bad = tmp_path / "b.bed"
    bad.write_text("X\t1\t5\tn\n")
    rc = main(["dnalm", "annotate", "--variants", str(tsv), "--regulatory", str(bad), "--fasta", str(FASTA),
               "--out", str(tmp_path / "o2")])
    assert rc == 2 and "contig of the FASTA" in capsys.readouterr().err
    assert not (tmp_path / "o2" / "variant_annotation").exists()


def test_stage_annotates_each_chromosome_in_its_own_task(tmp_path):
    """A variant_scores dataset: one task per chromosome writes its rows; the dataset and the summary equal
    annotate_variants over all variants at once."""
    import json

    from locusflow.io.dataset import read_manifest, write_dataset
    from locusflow.schema import load
    sch = load("variant_scores")
    pos = [p for p, *_ in TRUTH] + [5000, 6000]
    chrom = ["1"] * len(TRUTH) + ["2", "2"]
    df = pd.DataFrame({c: [None] * len(pos) for c in sch.names}).assign(
        variant_id=[f"{c}:{p}:A:G" for c, p in zip(chrom, pos)], chrom=chrom, pos=pos, ref="A", alt="G",
        status="ok", model="m", llr=np.linspace(-3, 1, len(pos)))
    write_dataset(df, tmp_path / "scores", sch)
    out = tmp_path / "o" / "variant_annotation"
    assert main(["dnalm", "annotate", "--variants", str(tmp_path / "scores"), "--annotation", str(GTF),
                 "--out", str(tmp_path / "o")]) == 0
    got = read_dataset(out / "annotation", "variant_annotation")
    ref = annotate_variants(df[["variant_id", "chrom", "pos", "llr"]], read_gtf(GTF))
    ref = load("variant_annotation").conform(ref).sort_values(["chrom", "pos"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, ref)
    assert got.loc[got["chrom"] == "1", "region"].tolist() == [t[1] for t in sorted(TRUTH)]
    assert set(read_manifest(out / "annotation")["fragments"]) == {"1", "2"}
    summary = json.loads((out / "_stage.json").read_text())["summary"]
    assert summary["variants"] == len(pos) and summary["region_intergenic"] == 3 and summary["region_CDS"] == 1
