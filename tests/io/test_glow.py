"""Genotypes from a Glow genotype DataFrame (Glow's schema built in the test with Spark SQL from the
bundled PLINK panel, rows shuffled over partitions, one tri-allelic record): the store the executors write
holds the PLINK genotypes exactly, the multi-allelic record split as bcftools norm -m-; bad schemas, haploid
calls and a session without Glow's jar give clear errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES

from locusflow.errors import InputError
from locusflow.io.genotypes import GenotypeStore
from locusflow.io.glow import check_glow_schema, ingest_glow, read_glow
from locusflow.io.plink import BedReader, read_bim, read_fam

PREFIX = EXAMPLES / "1000G_EUR_chr20_22"


def glow_frame(spark, v: pd.DataFrame, flat: np.ndarray, ids, ploidy: int = 2):
    """Glow's genotype schema: contigName, start (0-based), end, referenceAllele, alternateAlleles, names,
    genotypes = array<struct<calls: array<int>, sampleId: string>>."""
    from pyspark.sql import functions as F
    pdf = pd.DataFrame({"contigName": "chr" + v["chrom"].astype(str), "start": v["pos"].astype(np.int64) - 1,
                        "end": v["pos"].astype(np.int64) - 1 + v["ref"].str.len(), "referenceAllele": v["ref"],
                        "alternateAlleles": v["alts"], "names": v["rsid"].map(lambda r: [r]),
                        "flat": [row.tolist() for row in flat]})
    df = spark.createDataFrame(pdf).repartition(3)           # any partitioning, any order
    names = F.array(*[F.lit(s) for s in ids])
    one = lambda i: F.struct(F.array(*[F.element_at("flat", i * ploidy + k + 1) for k in range(ploidy)]).alias("calls"),  # noqa: E731
                             F.element_at(names, i + 1).alias("sampleId"))
    return df.withColumn("genotypes", F.transform(F.sequence(F.lit(0), F.lit(len(ids) - 1)), one)).drop("flat")


@pytest.fixture(scope="module")
def panel():
    bim, fam = read_bim(PREFIX), read_fam(PREFIX)
    sel = np.r_[0:300, len(bim) - 300:len(bim)]            # chr20 and chr22 ends, 600 variants
    ns = 60
    g = BedReader(PREFIX).read(0, len(bim))[sel][:, :ns].astype(np.int64)    # A1 (alt) counts, -1 missing
    v = bim.iloc[sel].reset_index(drop=True).rename(columns={"a2": "ref"})
    v["alts"] = v["a1"].map(lambda a: [a])
    calls = np.stack([(g >= 2).astype(np.int64), (g >= 1).astype(np.int64)], -1)
    calls[g < 0] = -1
    # a tri-allelic record at a free position: alleles A, C, G; calls drawn
    rng = np.random.default_rng(1)
    tri = rng.choice([0, 1, 2], size=(ns, 2), p=[0.6, 0.25, 0.15])
    tri[3] = -1
    pos = int(v["pos"].iloc[10]) + 1
    v = pd.concat([v, pd.DataFrame([{"chrom": "20", "pos": pos, "rsid": "rsTri", "ref": "A", "alts": ["C", "G"]}])],
                  ignore_index=True)
    flat = np.concatenate([calls.reshape(len(sel), -1), tri.reshape(1, -1)])
    return {"v": v, "flat": flat, "ids": list(fam["iid"][:ns]), "g": g, "tri": tri, "sel": sel, "bim": bim}


def test_glow_dataframe_to_store(spark, panel, tmp_path):
    df = glow_frame(spark, panel["v"], panel["flat"], panel["ids"])
    assert check_glow_schema(df) is True
    st = ingest_glow(df, tmp_path / "g.vcz", variants_chunk=128)
    assert isinstance(st, GenotypeStore) and st.meta["source_format"] == "glow"
    v = st.variants
    assert len(v) == 600 + 2 and list(st.samples) == panel["ids"]
    # PLINK variants: the same dosages in the same (chromosome, position) order
    bim = panel["bim"].iloc[panel["sel"]].reset_index(drop=True)
    plink_ids = bim["chrom"] + ":" + bim["pos"].astype(str) + ":" + bim["a2"] + ":" + bim["a1"]
    d = st.dosages(0, len(v))
    pos = pd.Index(v["variant_id"]).get_indexer(plink_ids)
    assert (pos >= 0).all()
    want = np.where(panel["g"] < 0, np.nan, panel["g"]).astype(float)
    np.testing.assert_array_equal(d[pos], want)
    assert v["chrom"].iloc[0] == "20" and v["chrom"].iloc[-1] == "22"
    assert (v.groupby("chrom")["pos"].apply(lambda p: p.is_monotonic_increasing)).all()
    # the tri-allelic record: two biallelic rows (alt C, alt G), dosage = copies of that allele
    tri = v[v["rsid"] == "rsTri"]
    assert tri["alt"].tolist() == ["C", "G"] and (tri["ref"] == "A").all()
    t = panel["tri"]
    for row, allele in zip(tri.index, (1, 2)):
        expect = np.where((t < 0).any(1), np.nan, (t == allele).sum(1)).astype(float)
        np.testing.assert_array_equal(d[row], expect)
    np.testing.assert_allclose(v["af"].to_numpy()[pos], np.nanmean(want, 1) / 2)


def test_glow_bad_inputs(spark, panel, tmp_path):
    from pyspark.sql import functions as F
    df = glow_frame(spark, panel["v"].iloc[:20], panel["flat"][:20], panel["ids"])
    with pytest.raises(InputError, match="alternateAlleles"):
        check_glow_schema(df.drop("alternateAlleles"))
    with pytest.raises(InputError, match="contigName"):
        check_glow_schema(df.withColumn("contigName", F.lit(20)))
    with pytest.raises(InputError, match="genotypes"):
        check_glow_schema(df.withColumn("genotypes", F.array(F.lit(1))))
    no_ids = df.withColumn("genotypes", F.transform("genotypes", lambda g: F.struct(g["calls"].alias("calls"))))
    with pytest.raises(InputError, match="sampleId"):
        ingest_glow(no_ids, tmp_path / "x.vcz")
    st = ingest_glow(no_ids, tmp_path / "ok.vcz", samples=panel["ids"])      # ids given instead
    assert list(st.samples) == panel["ids"]
    hap = glow_frame(spark, panel["v"].iloc[:20], panel["flat"][:20, ::2], panel["ids"], ploidy=1)
    with pytest.raises(InputError, match="diploid"):
        ingest_glow(hap, tmp_path / "hap.vcz")
    assert not (tmp_path / "hap.vcz").exists()
    dup = df.union(df.limit(1))
    with pytest.raises(InputError, match="one row per variant"):
        ingest_glow(dup, tmp_path / "dup.vcz")
    # Glow's data sources are absent from this session's classpath: a clear message, not a Java trace
    with pytest.raises(InputError, match="Glow is not on this cluster's classpath"):
        read_glow(spark, str(EXAMPLES / "x.vcf"), "vcf")
