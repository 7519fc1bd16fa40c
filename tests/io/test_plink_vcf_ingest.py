"""Genotype ingest (PLINK, VCF -> VCF Zarr) against the files, plink2 and bcftools; bad input names the file."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES, apt_tool

from locusflow.cli import main as cli_main
from locusflow.errors import InputError
from locusflow.io.genotypes import ingest_plink, ingest_vcf
from locusflow.io.plink import BedReader, read_bim


def test_plink_ingest_round_trip(example_store):
    bim = read_bim(EXAMPLES / "1000G_EUR_chr20_22")
    g = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read().astype(np.float32)
    v = example_store.variants
    assert len(v) == len(bim) == 5481 and example_store.n_samples == 489
    assert list(v["alt"]) == list(bim["a1"]) and list(v["ref"]) == list(bim["a2"])
    assert v["variant_id"].iloc[0] == f"20:{bim['pos'].iloc[0]}:{bim['a2'].iloc[0]}:{bim['a1'].iloc[0]}"
    idx = np.array([5, 17, 2999, 5480])
    np.testing.assert_array_equal(example_store.dosages(index=idx), g[idx])
    np.testing.assert_array_equal(example_store.dosages(1000, 2100, samples=[0, 7, 488]), g[1000:2100][:, [0, 7, 488]])
    # the store is Zarr format 2 in the VCF Zarr layout
    meta = json.loads((example_store.path / "call_genotype" / ".zarray").read_text())
    assert meta["zarr_format"] == 2 and meta["chunks"][0] == 1000


def test_plink_ingest_chunks_samples(example_store, tmp_path):
    """Samples in Zarr chunks of 100 (489 = 4 x 100 + 89; the default is 10,000): the same dosages, allele
    frequencies and call rates as one chunk of all samples, read through the direct chunk reader and zarr."""
    g = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read()
    bed = BedReader(EXAMPLES / "1000G_EUR_chr20_22")
    np.testing.assert_array_equal(bed.read_block(10, 50, 200, 489), g[10:50, 200:])
    st = ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path / "c.vcz", samples_chunk=100)
    meta = json.loads((st.path / "call_genotype" / ".zarray").read_text())
    assert meta["chunks"] == [1000, 100, 2] and meta["shape"] == [5481, 489, 2]
    assert len(list((st.path / "call_genotype").glob("5.*"))) == 5          # one file per sample chunk
    pd.testing.assert_frame_equal(st.variants, example_store.variants)     # af and call_rate over all chunks
    d = g.astype(np.float32)
    d[g < 0] = np.nan
    np.testing.assert_array_equal(st.dosages(990, 2010), d[990:2010])      # zarr
    np.testing.assert_array_equal(st.calls(990, 2010), example_store.calls(990, 2010))   # direct reader
    blocks = list(st.iter_calls(0, 5481))
    assert [b[0] for b in blocks] == list(range(0, 5481, 1000))
    np.testing.assert_array_equal(np.concatenate([b.copy() for _, b in st.iter_calls(1500, 3500)]),  # buffer reused
                                  example_store.calls(1500, 3500))
    np.testing.assert_array_equal(st.dosages(index=[3, 4000], samples=[0, 150, 488]), d[[3, 4000]][:, [0, 150, 488]])


def test_plink_frequencies_match_plink2(example_store, tmp_path):
    plink2 = apt_tool("plink2", "plink2")
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    subprocess.run([plink2, "--bfile", str(prefix), "--freq", "--out", str(tmp_path / "f"),
                    "--threads", "1"], check=True, capture_output=True)
    f = pd.read_csv(tmp_path / "f.afreq", sep="\t")
    # plink2 reports ALT = A1 of a .bim loaded as-is: the frequency of the allele locusflow calls alt
    assert list(f["ALT"]) == list(example_store.variants["alt"])
    np.testing.assert_allclose(example_store.variants["af"], f["ALT_FREQS"], atol=1e-6)


def test_vcf_ingest_matches_bcftools(realdata, tmp_path):
    bcftools = apt_tool("bcftools", "bcftools")
    vcf = realdata / "vcf_fixtures" / "1000G.phase3.broad.withGenotypes.chr20.10100000.vcf.gz"
    s = ingest_vcf(vcf, tmp_path / "v.vcz")
    out = subprocess.run([bcftools, "query", "-f", "%CHROM:%POS:%REF:%ALT[\\t%GT]\\n", str(vcf)],
                         check=True, capture_output=True, text=True).stdout.strip().split("\n")
    ids = [l.split("\t")[0] for l in out]
    gts = np.array([l.split("\t")[1:] for l in out])
    alt_count = np.vectorize(lambda gt: np.nan if "." in gt else float(sum(a != "0" for a in gt.replace("|", "/").split("/"))))(gts)
    assert list(s.variants["variant_id"]) == [i.replace("chr", "") for i in ids]
    d = s.dosages()
    assert d.shape == alt_count.shape == (17, 2535)
    np.testing.assert_array_equal(np.isnan(d), np.isnan(alt_count))
    np.testing.assert_array_equal(np.nan_to_num(d, nan=-9), np.nan_to_num(alt_count, nan=-9))


def test_bad_plink_input_names_the_file(tmp_path):
    for ext in ("bed", "fam"):
        shutil.copy(EXAMPLES / f"1000G_EUR_chr20_22.{ext}", tmp_path / f"x.{ext}")
    lines = (EXAMPLES / "1000G_EUR_chr20_22.bim").read_text().splitlines()
    lines[9] = lines[9].replace(lines[9].split("\t")[3], "12x4")
    (tmp_path / "x.bim").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"x\.bim, row 10, column 'pos \(4\)'"):
        ingest_plink(tmp_path / "x", tmp_path / "x.vcz")
    assert not (tmp_path / "x.vcz").exists()
    # a truncated .bed is caught before anything is written
    (tmp_path / "x.bim").write_text((EXAMPLES / "1000G_EUR_chr20_22.bim").read_text())
    (tmp_path / "x.bed").write_bytes((EXAMPLES / "1000G_EUR_chr20_22.bed").read_bytes()[:-5])
    with pytest.raises(InputError, match=r"x\.bed"):
        ingest_plink(tmp_path / "x", tmp_path / "x.vcz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bed", "x.bim", "x.fam"]
    assert cli_main(["ingest", "plink", str(tmp_path / "x"), "--out", str(tmp_path / "y")]) == 2
    assert not (tmp_path / "y" / "ingest").exists()
