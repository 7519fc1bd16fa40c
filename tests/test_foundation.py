"""Schemas, Parquet datasets, ingest, the pipeline and the CLI: the contracts every stage relies on."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from locusflow import schema
from locusflow.cli import main as cli_main
from locusflow.config import load_config
from locusflow.errors import InputError, SchemaError
from locusflow.io.dataset import read_dataset, read_manifest, write_dataset
from locusflow.io.genotypes import GenotypeStore, ingest_plink, ingest_vcf
from locusflow.io.plink import BedReader, read_bim

from conftest import EXAMPLES, ROOT, apt_tool


def _sumstats(chroms=("20", "22"), n=4):
    rows = []
    for c in chroms:
        for i in range(n):
            rows.append({"variant_id": f"{c}:{100 + i}:A:G", "chrom": c, "pos": 100 + i, "ref": "A",
                         "alt": "G", "rsid": f"rs{i}", "z": float(i), "beta": 0.1 * i, "se": 0.1,
                         "p": 0.5, "n": 1000.0, "af": 0.3, "info": 1.0, "genome_build": "GRCh37"})
    return pd.DataFrame(rows)


def test_every_schema_loads_as_arrow_and_spark(spark):
    names = schema.available()
    assert {"sumstats", "variants", "genotype_store", "ld_blocks", "work_list", "weights"} <= set(names)
    for name in names:
        s = schema.load(name)
        assert isinstance(s.arrow(), pa.Schema) and s.arrow().names == s.names
        assert [f.name for f in s.spark().fields] == s.names
        assert s.description, f"schemas/{name}.yaml needs a description"


def test_conform_names_the_bad_column():
    df = _sumstats()
    with pytest.raises(SchemaError, match="'se'"):
        schema.load("sumstats").conform(df.drop(columns="se"))
    bad = df.copy()
    bad.loc[2, "z"] = None
    with pytest.raises(SchemaError, match=r"column 'z' must not be null \(first at row 2\)"):
        schema.load("sumstats").conform(bad)
    bad = df.copy()
    bad["pos"] = bad["pos"].astype(str)
    bad.loc[1, "pos"] = "12x"
    with pytest.raises(SchemaError, match="column 'pos'"):
        schema.load("sumstats").conform(bad)


def test_dataset_dynamic_overwrite_replaces_only_written_partitions(tmp_path):
    path = tmp_path / "ss"
    write_dataset(_sumstats(), path, "sumstats", manifest={"inputs": {"x": "1"}})
    assert (path / "_SUCCESS").exists() and read_manifest(path)["inputs"] == {"x": "1"}
    # rerun chromosome 22 alone, with new values: chromosome 20 stays as it was
    new22 = _sumstats(("22",), n=2)
    new22["z"] = [-5.0, -6.0]
    write_dataset(new22, path, "sumstats")
    back = read_dataset(path, "sumstats")
    assert list(back.loc[back.chrom == "20", "z"]) == [0.0, 1.0, 2.0, 3.0]
    assert list(back.loc[back.chrom == "22", "z"]) == [-5.0, -6.0]
    assert back["pos"].dtype == np.int64 and back["chrom"].dtype == object
    # a failing write leaves the dataset untouched and no staging directory behind
    broken = _sumstats(("20",))
    broken.loc[0, "z"] = None
    with pytest.raises(SchemaError):
        write_dataset(broken, path, "sumstats")
    assert len(read_dataset(path, "sumstats")) == 6
    assert [p.name for p in tmp_path.iterdir()] == ["ss"]


def test_spark_reads_our_datasets(tmp_path, spark):
    path = write_dataset(_sumstats(), tmp_path / "ss", "sumstats")
    sdf = spark.read.schema(schema.load("sumstats").spark()).parquet(str(path))
    assert sdf.count() == 8 and sdf.filter("chrom = '22'").count() == 4


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path_factory.mktemp("g") / "g.vcz")


def test_plink_ingest_round_trip(store):
    bim = read_bim(EXAMPLES / "1000G_EUR_chr20_22")
    g = BedReader(EXAMPLES / "1000G_EUR_chr20_22").read().astype(np.float32)
    v = store.variants
    assert len(v) == len(bim) == 5481 and store.n_samples == 489
    assert list(v["alt"]) == list(bim["a1"]) and list(v["ref"]) == list(bim["a2"])
    assert v["variant_id"].iloc[0] == f"20:{bim['pos'].iloc[0]}:{bim['a2'].iloc[0]}:{bim['a1'].iloc[0]}"
    idx = np.array([5, 17, 2999, 5480])
    np.testing.assert_array_equal(store.dosages(index=idx), g[idx])
    np.testing.assert_array_equal(store.dosages(1000, 2100, samples=[0, 7, 488]), g[1000:2100][:, [0, 7, 488]])
    # the store is Zarr format 2 in the VCF Zarr layout
    meta = json.loads((store.path / "call_genotype" / ".zarray").read_text())
    assert meta["zarr_format"] == 2 and meta["chunks"][0] == 1000


def test_plink_frequencies_match_plink2(store, tmp_path):
    plink2 = apt_tool("plink2", "plink2")
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    subprocess.run([plink2, "--bfile", str(prefix), "--freq", "--out", str(tmp_path / "f"),
                    "--threads", "1"], check=True, capture_output=True)
    f = pd.read_csv(tmp_path / "f.afreq", sep="\t")
    # plink2 reports ALT = A1 of a .bim loaded as-is: the frequency of the allele locusflow calls alt
    assert list(f["ALT"]) == list(store.variants["alt"])
    np.testing.assert_allclose(store.variants["af"], f["ALT_FREQS"], atol=1e-6)


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


def test_pipeline_skips_unchanged_stages(tmp_path):
    cfg_path = tmp_path / "p.yaml"
    cfg_path.write_text(f"out: {tmp_path / 'out'}\nstages: [ingest]\ningest:\n  plink: {EXAMPLES / '1000G_EUR_chr20_22'}\n")
    from locusflow.pipeline import run_pipeline
    first = run_pipeline(load_config(cfg_path))
    assert first["ingest"]["variants"] == 5481
    assert run_pipeline(load_config(cfg_path))["ingest"] == "skipped"
    # a configuration change reruns the stage
    again = run_pipeline(load_config(cfg_path, {"genome_build": "GRCh37", "ingest": {"variants_chunk": 500}}))
    assert again["ingest"] != "skipped"
    assert GenotypeStore(tmp_path / "out" / "ingest" / "genotypes.vcz").meta["n_variants"] == 5481


def test_bad_config_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("out: x\nstages: [ingest\n")
    r = subprocess.run([sys.executable, "-m", "locusflow.cli", "run", str(p)], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and "bad.yaml" in r.stderr and "row" in r.stderr
