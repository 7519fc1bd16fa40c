"""Genotype ingest correctness: multi-allelic VCF records split as `bcftools norm -m-` (ids, dosages,
frequencies; r against plink 1.9 on the bcftools-normalised file), the exact .fam/.bim/.bed layout
check (padding slots), and the VCF sample-column check."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.errors import InputError
from locusflow.io.genotypes import GenotypeStore, ingest_plink, ingest_vcf, standardise
from locusflow.io.plink import BedReader

from conftest import EXAMPLES, apt_tool

HEAD = ("##fileformat=VCFv4.2\n##contig=<ID=20,length=63025520>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT")


def write_vcf(path: Path, samples, records) -> Path:
    """records: (pos, id, ref, alt, [gt strings])."""
    lines = [HEAD + "".join(f"\t{s}" for s in samples)]
    for pos, vid, ref, alt, gts in records:
        lines.append("\t".join(["20", str(pos), vid, ref, alt, ".", "PASS", ".", "GT", *gts]))
    path.write_text("\n".join(lines) + "\n")
    return path


def bcftools_split(bcftools, vcf: Path, out: Path) -> pd.DataFrame:
    """variant_id and alt dosages per sample of `bcftools norm -m-` output (the peer's split)."""
    subprocess.run([bcftools, "norm", "-m-", "-o", str(out), str(vcf)], check=True, capture_output=True)
    q = subprocess.run([bcftools, "query", "-f", "%CHROM:%POS:%REF:%ALT[\t%GT]\n", str(out)], check=True,
                       capture_output=True, text=True).stdout
    rows = [line.split("\t") for line in q.strip().split("\n")]
    ids = [r[0] for r in rows]
    gts = np.array([[sum(a == "1" for a in g.replace("|", "/").split("/")) for g in r[1:]] for r in rows], float)
    return pd.DataFrame(gts, index=ids)


def test_multiallelic_split_frequency(tmp_path):
    """0|1, 2|2, 2|0, 0|0: alt 1 has frequency 1/8 = 0.125 (not 0.5), alt 2 3/8; own ids and dosages."""
    bcftools = apt_tool("bcftools", "bcftools")
    vcf = write_vcf(tmp_path / "m.vcf", ["S1", "S2", "S3", "S4"], [
        (100, "rs1", "A", "G", ["0|1", "1|1", "1|0", "0|0"]),
        (200, "rs2", "AT", "A,ATT", ["0|1", "2|2", "2|0", "0|0"]),
        (300, "rs3", "C", "T,G,A", ["3|1", "2|.", "0|0", "1|3"])])
    store = ingest_vcf(vcf, tmp_path / "m.vcz")
    v = store.variants
    assert v["variant_id"].tolist() == ["20:100:A:G", "20:200:AT:A", "20:200:AT:ATT", "20:300:C:T",
                                        "20:300:C:G", "20:300:C:A"]
    assert v["rsid"].tolist() == ["rs1", "rs2", "rs2", "rs3", "rs3", "rs3"]
    np.testing.assert_allclose(v["af"].to_numpy()[:3], [0.5, 0.125, 0.375])
    peer = bcftools_split(bcftools, vcf, tmp_path / "norm.vcf")
    assert peer.index.tolist() == v["variant_id"].tolist()
    d = store.dosages(0, len(v))
    ok = ~np.isnan(d)
    # a half-missing call (2|.) is missing for us; bcftools keeps the called half
    assert np.isnan(d[4, 1]) and ok.sum() == d.size - 3
    np.testing.assert_array_equal(d[ok], peer.to_numpy()[ok])


def test_multiallelic_real_ceu_trio(tmp_path, realdata):
    """Real NA12878 chr20/21 calls with multi-allelic records: ids and dosages equal bcftools norm -m-."""
    bcftools = apt_tool("bcftools", "bcftools")
    vcf = tmp_path / "ceu.vcf.gz"           # bio2zarr needs an index for a multi-contig VCF
    subprocess.run([bcftools, "view", "-Oz", "-o", str(vcf),
                    str(realdata / "vcf_fixtures" / "CEUTrio.HiSeq.WGS.b37.NA12878.20.21.vcf.gz")], check=True)
    subprocess.run([bcftools, "index", str(vcf)], check=True)
    store = ingest_vcf(vcf, tmp_path / "ceu.vcz")
    peer = bcftools_split(bcftools, vcf, tmp_path / "norm.vcf")
    v = store.variants
    assert len(v) == len(peer) > 1075                       # 1,075 records, some with 2 ALTs
    assert v["variant_id"].tolist() == [i.upper() for i in peer.index]
    d = store.dosages(0, len(v))[:, 0]
    np.testing.assert_array_equal(d, peer.to_numpy()[:, 0])


def test_multiallelic_r_matches_plink(tmp_path):
    """r between every pair of split alleles and biallelic neighbours equals plink 1.9's r on the
    bcftools-normalised VCF (`--r square bin`, doubles) to 1e-6."""
    bcftools = apt_tool("bcftools", "bcftools")
    plink = apt_tool("plink1.9", "plink1.9")
    rng = np.random.default_rng(11)
    n = 300
    records = []
    for k in range(12):
        n_alt = (1, 2, 3)[k % 3]
        p = rng.dirichlet(np.ones(n_alt + 1) * 2)
        calls = rng.choice(n_alt + 1, size=(n, 2), p=p)
        alts = ["G", "T", "C"][:n_alt]
        records.append((1000 + 10 * k, f"v{k}", "A", ",".join(alts), [f"{a}|{b}" for a, b in calls]))
    vcf = write_vcf(tmp_path / "r.vcf", [f"s{i}" for i in range(n)], records)
    store = ingest_vcf(vcf, tmp_path / "r.vcz")
    x = standardise(store.dosages(0, len(store.variants)))
    r_ours = (x.astype(np.float64) @ x.T.astype(np.float64)) / n
    subprocess.run([bcftools, "norm", "-m-", "-o", str(tmp_path / "norm.vcf"), str(vcf)], check=True,
                   capture_output=True)
    subprocess.run([plink, "--vcf", str(tmp_path / "norm.vcf"), "--keep-allele-order", "--allow-no-sex",
                    "--r", "square", "bin", "--out", str(tmp_path / "pl")], check=True, capture_output=True)
    m = len(store.variants)
    assert m == 24
    r_plink = np.fromfile(tmp_path / "pl.ld.bin", dtype=np.float64).reshape(m, m)
    np.testing.assert_allclose(r_ours, r_plink, atol=1e-6)
    # the split alleles of one record are negatively correlated (sanity of the test data)
    assert r_plink[1, 2] < -0.1


def _padded(tmp_path: Path, extra: int) -> Path:
    src = EXAMPLES / "1000G_EUR_chr20_22"
    dst = tmp_path / f"pad{extra}"
    for ext in ("bed", "bim"):
        shutil.copy(f"{src}.{ext}", f"{dst}.{ext}")
    fam = Path(f"{src}.fam").read_text().splitlines()
    fam += [f"X{i} X{i} 0 0 1 -9" for i in range(extra)]
    Path(f"{dst}.fam").write_text("\n".join(fam) + "\n")
    return dst


@pytest.mark.parametrize("extra", [1, 2, 3])
def test_fam_with_surplus_rows_rejected(tmp_path, extra):
    """489 samples (last byte: 1 sample + 3 padding slots); a .fam with 1-3 more rows keeps the byte
    count and must be rejected naming both files and both counts."""
    n = len(Path(f"{EXAMPLES / '1000G_EUR_chr20_22'}.fam").read_text().splitlines())
    assert n % 4 == 1
    prefix = _padded(tmp_path, extra)
    with pytest.raises(InputError) as e:
        ingest_plink(prefix, tmp_path / "g.vcz")
    msg = str(e.value)
    assert f"{prefix}.bed" in msg and f"{prefix}.fam" in msg
    assert f"{n + extra} samples as listed" in msg and f"holds {n} samples" in msg
    assert not (tmp_path / "g.vcz").exists()


def test_fam_with_missing_row_rejected(tmp_path):
    prefix = _padded(tmp_path, 0)
    fam = Path(f"{prefix}.fam").read_text().splitlines()
    Path(f"{prefix}.fam").write_text("\n".join(fam[:-1]) + "\n")    # 488 rows: 122 bytes, not 123
    with pytest.raises(InputError, match=r"the 488 samples of .*\.fam and the \d+ variants of .*\.bim; "
                                         r"the \.bed has 123 bytes per variant = 489-492 samples"):
        BedReader(prefix)


def test_fam_exact_passes(tmp_path):
    prefix = _padded(tmp_path, 0)
    assert BedReader(prefix).n_samples == 489


@pytest.mark.parametrize("fields", [12, 14])
def test_vcf_sample_columns_checked(tmp_path, fields):
    """A data line with fewer or more fields than 9 + samples is named (row, CHROM:POS, counts)."""
    gts = ["0|1", "1|1", "1|0", "0|0", "1|1"][:fields - 9]
    vcf = write_vcf(tmp_path / "s.vcf", ["S1", "S2", "S3", "S4"], [
        (100, "rs1", "A", "G", ["0|1", "1|1", "1|0", "0|0"]), (300, "rs3", "C", "T", gts)])
    with pytest.raises(InputError, match=r"s\.vcf, row 2, column '20:300': 13 tab-separated fields per line "
                                         rf"\(9 \+ 4 samples in the #CHROM header\) \(found '{fields} fields'\)"):
        ingest_vcf(vcf, tmp_path / "s.vcz")
    assert not (tmp_path / "s.vcz").exists()


def test_calls_and_dosages_read_exactly(tmp_path):
    """GenotypeStore.calls (chunk files decoded directly) equals zarr's read of any range, an absent chunk
    file reads as the fill value; decode_dosages equals the plink .bed dosages (NaN = missing)."""
    import zarr

    from locusflow.io.genotypes import decode_dosages

    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    st = ingest_plink(prefix, tmp_path / "g.vcz", variants_chunk=700)
    arr = zarr.open_array(str(st.path / "call_genotype"), mode="r")
    m = arr.shape[0]
    for lo, hi in [(0, 700), (650, 2150), (m - 10, m), (1399, 1400)]:
        np.testing.assert_array_equal(st.calls(lo, hi), arr[lo:hi])
    bed = BedReader(prefix).read(0, 1400).astype(np.float64)
    bed[bed < 0] = np.nan
    cols = np.array([5, 0, 488, 17])
    np.testing.assert_array_equal(decode_dosages(st.calls(0, 1400), np.float64), bed)
    np.testing.assert_array_equal(decode_dosages(st.calls(0, 1400), np.float32, samples=cols), bed[:, cols])
    (st.path / "call_genotype" / "1.0.0").unlink()        # Zarr: an absent chunk is all fill_value (-1)
    assert (GenotypeStore(st.path).calls(650, 1450)[50:750] == -1).all()


def test_dosages_of_scattered_rows(tmp_path):
    """GenotypeStore.dosages(index=...) (only the chunks holding a wanted row are read) equals the plink .bed
    dosages of the same rows, in the order asked, repeats and sample subsets included; a chunk between
    them that is unreadable is never opened; a row outside the store is an error."""
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    st = ingest_plink(prefix, tmp_path / "g.vcz", variants_chunk=700)
    m = int(st.meta["n_variants"])
    bed = BedReader(prefix).read().astype(np.float64)
    bed[bed < 0] = np.nan
    idx = np.array([m - 1, 3, 1500, 3, 699, 700, 10, m - 1])
    cols = np.array([5, 0, 488, 17])
    np.testing.assert_array_equal(st.dosages(index=idx, dtype=np.float64), bed[idx])
    np.testing.assert_array_equal(st.dosages(index=idx, samples=cols), bed[idx][:, cols].astype(np.float32))
    assert st.dosages(index=np.array([], dtype=int)).shape == (0, st.n_samples)
    (st.path / "call_genotype" / "1.0.0").write_bytes(b"not a chunk")    # rows 700..1399: not wanted below
    fresh = GenotypeStore(st.path)
    around = np.array([m - 1, 3, 1500, 699, 10])
    np.testing.assert_array_equal(fresh.dosages(index=around, dtype=np.float64), bed[around])
    with pytest.raises(IndexError, match="outside"):
        st.dosages(index=np.array([0, m]))


def test_variant_ids_read_by_chromosome(tmp_path):
    """GenotypeStore.variant_ids (one chromosome's partition of the variants table, not the whole table)
    equals the whole table's ids for the same store rows, in the order asked; a row of another
    chromosome is an error naming the file and the row."""
    st = ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path / "g.vcz", variants_chunk=700)
    whole = GenotypeStore(st.path).variants
    fresh = GenotypeStore(st.path)
    for chrom in ("20", "22"):
        rows = whole.loc[whole["chrom"] == chrom, "store_index"].to_numpy()[::-7]
        got = fresh.variant_ids(rows, chrom)
        assert got.dtype == object and list(got) == list(whole.set_index("store_index").loc[rows, "variant_id"])
    assert fresh._variants is None                  # the whole table was never loaded
    other = int(whole.loc[whole["chrom"] == "22", "store_index"].iloc[0])
    with pytest.raises(InputError, match="variants.parquet.*store_index"):
        fresh.variant_ids([other], "20")


def test_store_order_tables(tmp_path):
    """by_store_index puts a variants table in store order (record batches reordered when each is in order
    and their ranges are disjoint, else sorted) exactly as a sort would; reference_table (Arrow strings)
    and GenotypeStore.positions hold the same values as the variants table."""
    import pyarrow as pa

    from locusflow.io.genotypes import by_store_index, reference_table
    t = pa.table({"store_index": np.arange(10), "x": [f"v{i}" for i in range(10)]})
    batches = t.to_batches(max_chunksize=3)
    shuffled = pa.Table.from_batches([batches[2], batches[0], batches[3], batches[1]])
    assert by_store_index(shuffled).equals(t)
    interleaved = pa.table({"store_index": [0, 2, 4, 1, 3, 5], "x": list("acebdf")})
    assert by_store_index(interleaved).column("x").to_pylist() == list("abcdef")

    st = ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path / "g.vcz", variants_chunk=700)
    v = GenotypeStore(st.path).variants
    assert (v["store_index"].to_numpy() == np.arange(len(v))).all()
    ref = reference_table(st.path)
    for c in ("chrom", "pos", "ref", "alt", "variant_id", "rsid", "af", "genome_build"):
        assert list(ref[c]) == list(v[c]), c
    pos = GenotypeStore(st.path).positions
    pd.testing.assert_frame_equal(pos.reset_index(drop=True), v[["chrom", "pos", "store_index"]].reset_index(drop=True))
