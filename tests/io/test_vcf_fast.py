"""The fixed-width VCF reader (GT-only, diploid, one-digit alleles; io/vcf_text.py) gives the store bio2zarr's
path gives on the same file: variants table and calls equal, multi-allelic records split the same way,
missing and half-missing calls, phased and unphased, `chr` names, several contigs, several blocks, no final
newline. Files of other shapes (more FORMAT keys, haploid calls, CRLF) fall back to bio2zarr with the same
result, and a line with the wrong field count still gets bio2zarr's path's clear error."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from locusflow.errors import InputError
from locusflow.io.genotypes import ingest_vcf
from locusflow.io.vcf_text import NotFixedWidth, decode_block, read_gt_blocks

HEAD = ("##fileformat=VCFv4.2\n##contig=<ID=chr1>\n##contig=<ID=chr2>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT")


def random_vcf(path, m=700, n=37, seed=3, fmt="GT", final_newline=True, crlf=False):
    """Records on chr1 then chr2; every 10th tri-allelic; 3 % missing, some half-missing; phased or not."""
    rng = np.random.default_rng(seed)
    lines = [HEAD + "".join(f"\tS{i}" for i in range(n))]
    for i in range(m):
        chrom, pos = ("chr1", 1000 + 7 * i) if i < m // 2 else ("chr2", 500 + 11 * i)
        tri = i % 10 == 0
        ref, alt = "A", "C,G" if tri else rng.choice(["C", "G", "T"])
        k = 3 if tri else 2
        a = rng.integers(0, k, (n, 2)).astype(str).astype(object)
        a[rng.random((n, 2)) < 0.03] = "."
        sep = "|" if i % 3 else "/"
        gts = [f"{x}{sep}{y}" + (":7" if fmt != "GT" else "") for x, y in a]
        info = "AC=1;DP=" + "9" * int(rng.integers(1, 300))      # INFO of any length
        lines.append("\t".join([chrom, str(pos), f"rs{i}", ref, alt, ".", "PASS", info, fmt, *gts]))
    text = ("\r\n" if crlf else "\n").join(lines) + ("\n" if final_newline else "")
    if fmt != "GT":
        text = text.replace('Description="Genotype">', 'Description="Genotype">\n##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">', 1)
    plain = path.with_suffix("")
    plain.write_text(text)
    import pysam
    pysam.tabix_index(str(plain), preset="vcf", force=True)      # bio2zarr needs an index for two contigs
    return path


def same_store(a, b):
    va, vb = a.variants, b.variants
    cols = ["variant_id", "chrom", "pos", "ref", "alt", "rsid", "store_index"]
    pd.testing.assert_frame_equal(va[cols].reset_index(drop=True), vb[cols].reset_index(drop=True), check_dtype=False)
    np.testing.assert_allclose(va["af"], vb["af"], rtol=1e-7)      # bio2zarr path: float32 dosages
    np.testing.assert_allclose(va["call_rate"], vb["call_rate"], rtol=1e-12)
    assert list(a.samples) == list(b.samples)
    np.testing.assert_array_equal(a.dosages(0, len(va)), b.dosages(0, len(vb)))


@pytest.mark.parametrize("final_newline", [True, False])
def test_fixed_width_equals_bio2zarr(tmp_path, final_newline):
    vcf = random_vcf(tmp_path / "r.vcf.gz", final_newline=final_newline)
    fast = ingest_vcf(vcf, tmp_path / "fast.vcz", variants_chunk=64)
    slow = ingest_vcf(vcf, tmp_path / "slow.vcz", variants_chunk=64, parser="bio2zarr")
    same_store(fast, slow)
    v = fast.variants
    assert len(v) == 700 + 70 and v["chrom"].iloc[0] == "1" and set(v["chrom"]) == {"1", "2"}
    assert v.loc[v["rsid"] == "rs0", "alt"].tolist() == ["C", "G"]       # the tri-allelic record split


def test_blocks_of_any_size_give_the_same_calls(tmp_path):
    """The stream cut into blocks of a few lines (block_bytes smaller than one line) decodes the same."""
    vcf = random_vcf(tmp_path / "b.vcf.gz", m=50, n=5)
    one = list(read_gt_blocks(vcf))
    many = list(read_gt_blocks(vcf, block_bytes=97))
    assert one[0] == many[0] and len(many) > len(one)
    cat = lambda parts, k: np.concatenate([p[k] for p in parts[1:]])  # noqa: E731
    for k in (1, 2, 3):
        np.testing.assert_array_equal(cat(one, k), cat(many, k))


@pytest.mark.parametrize("shape", ["format", "crlf"])
def test_other_shapes_fall_back_to_bio2zarr(tmp_path, shape):
    vcf = random_vcf(tmp_path / "o.vcf.gz", m=60, n=6, fmt="GT:DP" if shape == "format" else "GT",
                     crlf=shape == "crlf")
    with pytest.raises(NotFixedWidth):
        for _ in read_gt_blocks(vcf):
            pass
    if shape == "format":      # htslib reads CRLF VCFs with \r in the last field: not compared
        st = ingest_vcf(vcf, tmp_path / "o.vcz")
        assert len(st.variants) == 66


def test_decode_block_rejects_bad_fields():
    n = 3
    good = b"1\t5\t.\tA\tC\t.\t.\t.\tGT\t0|1\t1/1\t.|0\n"
    fixed, calls, alt, called = decode_block(np.frombuffer(good, np.uint8), n)
    assert fixed["POS"].tolist() == ["5"] and calls.tolist() == [[[0, 1], [1, 1], [-1, 0]]]
    assert alt.tolist() == [3] and called.tolist() == [2]
    for bad in (b"1\t5\t.\tA\tC\t.\t.\t.\tGT\t0|1\t1 1\t0|0\n", b"1\t5\t.\tA\tC\t.\t.\t.\tGT\t0|1\t1/1\t10|0\n",
                b"1\t5\t.\tA\tC\t.\t.\t.\tGT\t0|1\t1/1\t0\t0\n", b"1\t5\t.\tA\tC\t.\t.\t.\tGT\t0|1\t1/1\n"):
        with pytest.raises(NotFixedWidth):
            decode_block(np.frombuffer(bad, np.uint8), n)


def test_wrong_field_count_is_still_a_clear_error(tmp_path):
    vcf = tmp_path / "bad.vcf"
    vcf.write_text(HEAD + "\tS0\tS1\n" + "chr1\t10\t.\tA\tC\t.\t.\t.\tGT\t0|1\t1|1\n"
                   + "chr1\t20\t.\tA\tC\t.\t.\t.\tGT\t0|1\n")
    with pytest.raises(InputError, match=r"row 2.*11 tab-separated fields"):
        ingest_vcf(vcf, tmp_path / "bad.vcz")
    assert not (tmp_path / "bad.vcz").exists()
