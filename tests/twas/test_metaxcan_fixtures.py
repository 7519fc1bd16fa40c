"""S-PrediXcan z against MetaXcan's SPrediXcan.py on every machine: MetaXcan's outputs on the 44 real
GTEx-v6p test model databases (../shared/realdata/metaxcan_test_models) and on the real PGC-SCZ2 excerpts
are committed fixtures (tests/fixtures/twas/metaxcan, made by bench/regen_twas_fixtures.py; provenance in
tests/fixtures/twas/PROVENANCE.md). The live comparison (MetaXcan run here) stays in the TWAS tests as an
extra where MetaXcan is installed."""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from peers.twas_cases import compare

from locusflow.io.weights import read_covariance, read_predictdb
from locusflow.twas.spredixcan import spredixcan

FIX = ROOT / "tests" / "fixtures" / "twas"


@pytest.fixture(scope="module")
def fixtures():
    gwas = pd.read_csv(FIX / "metaxcan" / "gwas.tsv.gz", sep="\t", keep_default_na=False,
                       dtype={"SNP": str, "A1": str, "A2": str})
    res = pd.read_csv(FIX / "metaxcan" / "results.tsv.gz", sep="\t", na_values=["NA"], keep_default_na=False)
    return gwas, res


def test_inputs_are_the_ones_metaxcan_read(mxdata):
    """Every real-data input listed in PROVENANCE.md still has the checksum MetaXcan's run recorded."""
    text = (FIX / "PROVENANCE.md").read_text()
    rows = re.findall(r"`(metaxcan_test_models/[^`]+)` sha256 ([0-9a-f]{64})", text)
    assert len(rows) == 89          # 44 databases, 44 covariance files, the SCZ2 excerpt
    for rel, digest in rows:
        assert hashlib.sha256((mxdata.parent / rel).read_bytes()).hexdigest() == digest, rel


def cases(mxdata, tmp_path):
    """(case, weights, covariance, GWAS) as bench/regen_twas_fixtures.py gave them to MetaXcan."""
    dbs = sorted((mxdata / "dbs_3").glob("*.db"))
    for i, db in enumerate(dbs):
        cov = mxdata / "cov_3" / db.name.replace("_0.5.db", ".txt.gz")
        if i == 0:   # the first gene's covariance removed: MetaXcan reports it with zscore NA
            c = pd.read_csv(cov, sep=r"\s+")
            cov = tmp_path / "cov_nogene.txt.gz"
            c[c["GENE"] != c["GENE"].iloc[0]].to_csv(cov, sep=" ", index=False, compression="gzip")
        yield db.stem, db, cov
    for tissue in ("TW_Liver", "TW_Lung"):
        yield f"scz2/{tissue}", mxdata / "dbs_3" / f"{tissue}_0.5.db", mxdata / "cov_3" / f"{tissue}.txt.gz"


def test_spredixcan_matches_metaxcan_fixtures(mxdata, fixtures, tmp_path):
    gwas, res = fixtures
    n_cases = n_genes = n_swapped = n_mismatch = 0
    for case, db, cov in cases(mxdata, tmp_path):
        g = gwas[gwas["case"] == case]
        w = read_predictdb(db)
        if not len(w):       # one real database has no model (MetaXcan crashes on it): no fixture case
            assert not len(g) and case not in set(res["case"])
            continue
        assert len(g), case
        g = pd.DataFrame({"rsid": g["SNP"], "alt": g["A1"], "ref": g["A2"],
                          "z": g["ZSCORE"].astype(np.float32).astype(np.float64),    # MetaXcan casts to float32
                          "beta": g["BETA"]}).reset_index(drop=True)
        ours = spredixcan(w, g, covariance=read_covariance(cov, tissue=db.stem), strand_flip=False)
        mx = res[res["case"] == case].drop(columns="case")
        m = compare(ours, mx)
        n_cases += 1
        if case == sorted((mxdata / "dbs_3").glob("*.db"))[0].stem:
            assert m["zscore_mx"].isna().any() and m["n_snps_in_cov_mx"].isna().any()
        if case.startswith("scz2/"):      # no SNP shared with the 3-gene models: MetaXcan reports no gene
            assert len(mx) == 0 and (ours["n_snps_used"] == 0).all()
            assert (ours["n_dropped_not_in_gwas"] == ours["n_snps_in_model"]).all()
            continue
        n_genes += int((m["n_snps_used"] > 0).sum())
        n_swapped += int(ours["n_swapped"].sum())
        n_mismatch += int(ours["n_dropped_allele_mismatch"].sum())
    assert n_cases == res["case"].nunique() + 2 >= 45
    assert n_genes > 60 and n_swapped > 100 and n_mismatch > 10   # the comparison exercised every path
