"""Inputs of the twas stage tests (test_stage.py, test_blocks.py): the bundled 1000G EUR chr20/chr22 windows,
their real BOLT-LMM sumstats and a PredictDB database of simulated weights with its panel covariance."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES

from locusflow.io.dataset import read_dataset, write_dataset
from locusflow.io.genotypes import ingest_plink
from locusflow.io.plink import BedReader, read_bim
from locusflow.io.weights import write_covariance, write_predictdb
from locusflow.pipeline import Context
from locusflow.twas.stage import _run

PREFIX = EXAMPLES / "1000G_EUR_chr20_22"


def sumstats_frame() -> pd.DataFrame:
    b = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t", dtype={"CHR": str})
    # rsids from the panel by position (a few BOLT ids differ from the 1000G .bim), as munging against
    # the reference would do; MetaXcan joins on rsid only
    bim = read_bim(PREFIX)
    b = b.merge(bim[["chrom", "pos", "rsid"]], left_on=["CHR", "BP"], right_on=["chrom", "pos"], how="left")
    b["SNP"] = b["rsid"].fillna(b["SNP"])
    z = (b["BETA"] / b["SE"]).astype(np.float32).astype(np.float64)   # float32-exact: MetaXcan casts
    return pd.DataFrame({"variant_id": b["CHR"] + ":" + b["BP"].astype(str) + ":" + b["ALLELE0"] + ":" + b["ALLELE1"],
                         "chrom": b["CHR"], "pos": b["BP"], "ref": b["ALLELE0"], "alt": b["ALLELE1"], "rsid": b["SNP"],
                         "z": z, "beta": b["BETA"], "se": b["SE"], "p": b["P_BOLT_LMM"], "n": 337000.0,
                         "af": b["A1FREQ"], "info": b["INFO"], "genome_build": "GRCh37"})


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Weights DB (24 genes, 8-25 SNPs each, half the alleles given as the other strand order) and its
    covariance file from the panel's dosages of each model's effect allele (divisor n-1)."""
    return make_inputs(tmp_path_factory.mktemp("twas_stage"))


def make_inputs(tmp, store=True):
    """The ``inputs`` fixture's files under ``tmp`` (also what bench/regen_twas_fixtures.py gives MetaXcan);
    ``store=False``: without the ingested genotype store."""
    rng = np.random.default_rng(5)
    bim = read_bim(PREFIX)
    g = BedReader(PREFIX).read().astype(float)
    g[g < 0] = np.nan
    ok = np.flatnonzero((np.nanstd(g, axis=1) > 0.2))
    w_rows, ex_rows, cov_rows = [], [], []
    # the effect allele of a SNP is the same in every gene (as in PredictDB): MetaXcan aligns the GWAS once
    # per rsid and would mis-sign a SNP coded both ways (a peer bug not reproduced; see spredixcan docs)
    flip_snp = rng.random(len(bim)) < 0.5
    for k in range(24):
        c0 = int(rng.choice(ok[:-40]))
        idx = np.sort(rng.choice(ok[(ok > c0) & (ok < c0 + 120)], int(rng.integers(8, 25)), replace=False))
        s = bim.iloc[idx]
        flip = flip_snp[idx]
        eff = np.where(flip, s["a2"], s["a1"])
        ref = np.where(flip, s["a1"], s["a2"])
        gene = f"ENSG{k:011d}.1"
        w_rows.append(pd.DataFrame({"rsid": s["rsid"].values, "gene": gene, "weight": rng.normal(0, 0.2, len(idx)),
                                    "ref_allele": ref, "eff_allele": eff}))
        ex_rows.append({"gene": gene, "genename": f"G{k}", "n.snps.in.model": len(idx), "pred.perf.R2": 0.1,
                        "pred.perf.pval": 1e-4, "pred.perf.qval": 1e-3})
        d = g[idx]
        d = np.where(flip[:, None], 2 - d, d)
        d = np.where(np.isnan(d), np.nanmean(d, axis=1, keepdims=True), d)
        cv = np.cov(d)
        iu = np.triu_indices(len(idx))
        cov_rows.append(pd.DataFrame({"gene": gene, "rsid1": s["rsid"].values[iu[0]], "rsid2": s["rsid"].values[iu[1]],
                                      "value": cv[iu]}))
    db = write_predictdb(pd.concat(w_rows), pd.DataFrame(ex_rows), tmp / "sim.db")
    cov = write_covariance(pd.concat(cov_rows), tmp / "sim.txt.gz")
    ss = sumstats_frame()
    write_dataset(ss, tmp / "sumstats", "sumstats")
    if store:
        ingest_plink(PREFIX, tmp / "genotypes.vcz")
    return {"tmp": tmp, "db": db, "cov": cov, "sumstats": ss}


def write_mx_gwas(ss: pd.DataFrame, path):
    """The sumstats as the GWAS text file MetaXcan reads (rsid, A1 = effect = alt, A2, ZSCORE, BETA)."""
    gw = ss.rename(columns={"rsid": "SNP", "alt": "A1", "ref": "A2", "z": "ZSCORE", "beta": "BETA"})
    gw[["SNP", "A1", "A2", "ZSCORE", "BETA"]].to_csv(path, sep="\t", index=False, float_format="%.17g")
    return path


def inputs_digest(inputs, gwas_file) -> str:
    """sha256 over the content MetaXcan reads (weights and extra tables, decompressed covariance, GWAS
    text), so a fixture made from these inputs can be checked to be about the same inputs."""
    import gzip
    import hashlib
    import sqlite3
    h = hashlib.sha256()
    with sqlite3.connect(inputs["db"]) as con:
        for t in ("weights", "extra"):
            h.update(pd.read_sql(f"SELECT * FROM {t}", con).to_csv(index=False, float_format="%.17g").encode())
    h.update(gzip.decompress(open(inputs["cov"], "rb").read()))
    h.update(open(gwas_file, "rb").read())
    return h.hexdigest()


def run_stage(inputs, out, **twas):
    t = inputs["tmp"]
    cfg = {"out": str(out), "engine": twas.pop("engine", "local"),
           "twas": {"weights": [{"predictdb": str(inputs["db"]), "covariance": str(inputs["cov"])}],
                    "sumstats": str(t / "sumstats"), "store": str(t / "genotypes.vcz"), **twas}}
    ctx = Context(cfg)
    if cfg["engine"] == "spark":
        ctx._spark = twas_spark
    summary = _run(ctx)
    return summary, read_dataset(out / "twas" / "results", "twas_results").sort_values("model_id").reset_index(drop=True)


twas_spark = None     # a test using Spark sets it (twas_stage_inputs.twas_spark = spark)
