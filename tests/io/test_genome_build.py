"""Genome builds and alleles: liftover with the UCSC chains of realdata/munging_resources (the `liftover`
package) against dbSNP positions of the HapMap3 SNPs in both builds; `ref` against the GRCh37 chr20
FASTA, with the truth read independently (gzip + string slicing, no htslib)."""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.errors import InputError
from locusflow.io.fasta import Genome, classify_ref
from locusflow.io.genotypes import ingest_plink
from locusflow.io.liftover import lift_positions, load_chain
from locusflow.io.munge import munge

from conftest import EXAMPLES, apt_tool

RES = "munging_resources"
FASTA = "reference_genome/GRCh37_chr20.fa.gz"
BOLT = EXAMPLES / "bolt_chr20_22.sumstats.gz"


@pytest.fixture(scope="module")
def hm3(realdata):
    """HapMap3 SNPs of chr20-22 with dbSNP 150 (hg19) and dbSNP 151 (hg38) positions."""
    def read(name):
        df = pd.read_csv(realdata / RES / name, sep="\t", dtype=str)
        return df[df["#CHROM"].isin(["20", "21", "22"])]
    m = read("hapmap3_db150_hg19.snplist.gz").merge(read("hapmap3_db151_hg38.snplist.gz"), on="rsid",
                                                      suffixes=("_19", "_38"))
    return m.astype({"POS_19": np.int64, "POS_38": np.int64})


@pytest.fixture(scope="module")
def chr20(realdata) -> str:
    """GRCh37 chr20, read without htslib (the independent truth)."""
    with gzip.open(realdata / FASTA, "rt") as fh:
        return "".join(line.strip() for line in fh if not line.startswith(">")).upper()


def test_lift_hg19_to_hg38_equals_dbsnp(hm3, realdata):
    chain = load_chain(realdata / RES / "hg19ToHg38.over.chain.gz", "GRCh37", "GRCh38")
    pos, minus, outcome = lift_positions(hm3["#CHROM_19"], hm3["POS_19"].to_numpy(), chain)
    counts = pd.Series(outcome).value_counts().to_dict()
    assert counts == {"lifted": 66425, "liftover_unmapped": 57}
    ok = outcome == "lifted"
    np.testing.assert_array_equal(pos[ok], hm3["POS_38"].to_numpy()[ok])   # all 66,425 at dbSNP 151's position
    assert minus.sum() == 2


def grch38_file(tmp_path, hm3, build_column: bool):
    raw = pd.read_csv(BOLT, sep="\t", dtype={"CHR": str})
    m = raw.merge(hm3[["rsid", "POS_19", "POS_38"]], left_on="SNP", right_on="rsid")
    assert (m["BP"] == m["POS_19"]).all() and len(m) > 800
    out = m.drop(columns=["rsid", "POS_19", "BP"]).rename(columns={"POS_38": "BP"})
    if build_column:
        out["BUILD"] = "hg38"
    p = tmp_path / "b38.tsv"
    out.to_csv(p, sep="\t", index=False)
    return p, m


def test_munge_lifts_grch38_file_back_to_grch37(tmp_path, hm3, realdata):
    """A GRCh38 file (dbSNP 151 positions) munged to the GRCh37 panel through hg38ToHg19: every kept row
    has the variant_id of the GRCh37 original; drops counted by reason and accounted for."""
    p, m = grch38_file(tmp_path, hm3, build_column=True)
    chain = realdata / RES / "hg38ToHg19.over.chain.gz"
    res = munge(p, reference=EXAMPLES / "1000G_EUR_chr20_22", liftover_chain=chain, genome_build="GRCh37",
                min_info=None, min_maf=None)
    direct = munge(BOLT, reference=EXAMPLES / "1000G_EUR_chr20_22", min_info=None, min_maf=None).sumstats
    lift = res.report["liftover"]
    assert (lift["from"], lift["to"]) == ("GRCh38", "GRCh37") and lift["lifted"] == len(m)
    assert res.report["genome_build"] == "GRCh37"
    want = direct.set_index("rsid").loc[res.sumstats["rsid"]]
    assert (res.sumstats["variant_id"].to_numpy() == want["variant_id"].to_numpy()).all()
    np.testing.assert_allclose(res.sumstats["z"], want["z"], rtol=1e-12)
    assert len(res.sumstats) == len(set(m["SNP"]) & set(direct["rsid"]))
    assert res.report["kept"] + sum(res.report["dropped"].values()) == res.report["rows_in_file"]


def test_liftover_drops_counted(tmp_path, realdata, hm3):
    """Unmapped positions (chr20:100 is in no hg19->hg38 block; a contig the chain lacks) dropped by reason;
    an HapMap3 SNP lands at its dbSNP 151 position."""
    snp = hm3[hm3["#CHROM_19"] == "20"].iloc[0]
    p = tmp_path / "x.tsv"
    p.write_text(f"CHR\tBP\tSNP\tA1\tA2\tBETA\tSE\n20\t100\tr1\tA\tG\t0.1\t0.1\n"
                 f"20\t{snp['POS_19']}\t{snp['rsid']}\t{snp['A1_19']}\t{snp['A2_19']}\t0.1\t0.1\n"
                 "99\t5000\tr3\tA\tG\t0.1\t0.1\n")
    res = munge(p, liftover_chain=realdata / RES / "hg19ToHg38.over.chain.gz", source_build="GRCh37",
                genome_build="GRCh38", min_maf=None)
    assert res.report["dropped"] == {"liftover_unmapped": 2}
    assert res.sumstats["variant_id"].tolist() == [f"20:{snp['POS_38']}:{snp['A2_19']}:{snp['A1_19']}"]


def test_liftover_needs_builds_and_the_right_chain(tmp_path, hm3, realdata):
    p, _ = grch38_file(tmp_path, hm3, build_column=False)
    chain = realdata / RES / "hg38ToHg19.over.chain.gz"
    with pytest.raises(InputError, match="b38.tsv: the build of the file's positions for liftover"):
        munge(p, liftover_chain=chain, genome_build="GRCh37")
    with pytest.raises(InputError, match=r"hg19ToHg38.over.chain.gz: a chain from GRCh38 to GRCh37"):
        munge(p, liftover_chain=realdata / RES / "hg19ToHg38.over.chain.gz", source_build="hg38",
              genome_build="GRCh37")


def test_classify_ref_vcf_fixture(realdata, chr20):
    """1000G chr20 records: REF is the genome base by definition (SNVs and indels); swapped -> genome_alt."""
    lines = [ln.split("\t")[:5] for ln in gzip.open(realdata / "vcf_fixtures" /
             "1000G.phase3.broad.withGenotypes.chr20.10100000.vcf.gz", "rt") if not ln.startswith("#")]
    v = pd.DataFrame(lines, columns=["chrom", "pos", "id", "ref", "alt"]).astype({"pos": np.int64})
    g = Genome(realdata / FASTA)
    assert (classify_ref(v["chrom"], v["pos"], v["ref"], v["alt"], g) == "genome_ref").all()
    snv = (v["ref"].str.len() == 1) & (v["alt"].str.len() == 1)
    got = classify_ref(v["chrom"], v["pos"], v["alt"], v["ref"], g)
    assert (got[snv.to_numpy()] == "genome_alt").all()
    odd = classify_ref(["20", "20", "21", "chr20"], [100_000, 63_025_521, 5, 63_025_520], ["A", "A", "A", "A"],
                       ["C", "C", "C", "G"], g)
    base = chr20[100_000 - 1]
    want0 = "genome_ref" if base == "A" else "genome_alt" if base == "C" else "neither"
    assert list(odd) == [want0, "not_in_genome", "contig_absent",
                         {"A": "genome_ref", "G": "genome_alt"}.get(chr20[-1], "neither")]


def test_munge_ref_check_counts_against_independent_truth(tmp_path, realdata, chr20):
    """With the PLINK panel (A2 = ref): counts only, equal to the slicing truth; without a panel the
    rows are turned to the genome's REF (z negated, variant_id rebuilt)."""
    fasta = realdata / FASTA
    res = munge(BOLT, reference=EXAMPLES / "1000G_EUR_chr20_22", fasta=fasta, min_info=None, min_maf=None)
    t = res.sumstats[res.sumstats["chrom"] == "20"]
    g = np.array([chr20[p - 1:p - 1 + len(r)] for p, r in zip(t["pos"], t["ref"])])
    ga = np.array([chr20[p - 1:p - 1 + len(a)] for p, a in zip(t["pos"], t["alt"])])
    is_ref, is_alt = g == t["ref"].to_numpy(), ga == t["alt"].to_numpy()
    rc = res.report["ref_check"]
    truth = np.where(is_ref, "genome_ref", np.where(is_alt, "genome_alt", "neither"))
    assert {k: rc.get(k, 0) for k in ("genome_ref", "genome_alt", "neither")} == \
        {k: int((truth == k).sum()) for k in ("genome_ref", "genome_alt", "neither")}
    assert rc["genome_alt"] > 100 and rc["contig_absent"] == int((res.sumstats["chrom"] != "20").sum())
    plain = munge(BOLT, min_info=None, min_maf=None).sumstats.set_index("rsid")
    fixed = munge(BOLT, fasta=fasta, min_info=None, min_maf=None).sumstats.set_index("rsid")
    both = fixed.index[fixed["chrom"] == "20"]
    swapped = (fixed.loc[both, "ref"] != plain.loc[both, "ref"]).to_numpy()
    refs = np.array([chr20[p - 1] for p in fixed.loc[both, "pos"]])
    assert (fixed.loc[both, "ref"].to_numpy() == refs).all()                     # ref is now the genome's
    np.testing.assert_array_equal(fixed.loc[both, "z"].to_numpy(),
                                  np.where(swapped, -1, 1) * plain.loc[both, "z"].to_numpy())
    assert fixed.loc[both[0], "variant_id"] == f"20:{fixed.loc[both[0], 'pos']}:{refs[0]}:{fixed.loc[both[0], 'alt']}"


def test_ingest_plink_ref_from_fasta_equals_plink2(tmp_path, realdata):
    """`ingest plink --fasta`: ref/alt and alt dosages of every chr20 variant equal plink2 --ref-from-fa force
    (2,378 validated, 495 changed on the bundled example), read back with plink2 --export A."""
    plink2 = apt_tool("plink2", "plink2")
    fa = tmp_path / "chr20.fa"                      # plink2 reads plain FASTA
    with gzip.open(realdata / FASTA, "rb") as src, open(fa, "wb") as dst:
        shutil.copyfileobj(src, dst)
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    subprocess.run([plink2, "--bfile", str(prefix), "--chr", "20", "--fa", str(fa), "--ref-from-fa", "force",
                          "--export", "A", "--out", str(tmp_path / "p2")], capture_output=True, text=True, check=True)
    assert "495 variants changed, 2378 validated" in Path(f"{tmp_path / 'p2'}.log").read_text()
    store = ingest_plink(prefix, tmp_path / "g.vcz", fasta=realdata / FASTA)
    v = store.variants
    on20 = (v["chrom"] == "20").to_numpy()
    raw = pd.read_csv(f"{tmp_path / 'p2'}.raw", sep=r"\s+")
    cols = raw.columns[6:]                            # rsid_COUNTEDALLELE; this plink2 counts REF
    assert [c.rsplit("_", 1)[0] for c in cols] == v.loc[on20, "rsid"].tolist()
    assert [c.rsplit("_", 1)[1] for c in cols] == v.loc[on20, "ref"].tolist()
    assert json.loads(store.meta["ref_check"]) == {"genome_ref": 2378, "genome_alt": 495,
                                                   "contig_absent": int((~on20).sum())}
    d = store.dosages(0, len(v))[on20].T
    want = 2 - raw[cols].to_numpy(dtype=float)         # alt count = 2 - REF count
    np.testing.assert_array_equal(np.isnan(d), np.isnan(want))
    np.testing.assert_array_equal(d[~np.isnan(d)], want[~np.isnan(want)])


def test_ingest_vcf_ref_check_through_cli(tmp_path, realdata):
    """`locusflow ingest vcf FILE --fasta FA`: the 17 real 1000G records all have the genome base as REF."""
    from locusflow.cli import main
    from locusflow.io.genotypes import GenotypeStore
    vcf = realdata / "vcf_fixtures" / "1000G.phase3.broad.withGenotypes.chr20.10100000.vcf.gz"
    assert main(["ingest", "vcf", str(vcf), "--fasta", str(realdata / FASTA), "--out", str(tmp_path / "o")]) == 0
    store = GenotypeStore(next((tmp_path / "o").rglob("locusflow.json")).parent)
    assert json.loads(store.meta["ref_check"]) == {"genome_ref": 17}
