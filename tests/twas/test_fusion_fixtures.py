"""FUSION z against FUSION.assoc_test.R on every machine: FUSION's output on three genes' weights (lasso,
blup, top1; written by R save()), a GWAS with allele swaps and gaps (LD imputation, one gene over
max_impute) and the bundled 1000G EUR chr22 window as LD reference, committed with its inputs in
tests/fixtures/twas/fusion (bench/regen_twas_fixtures.py; provenance in tests/fixtures/twas/PROVENANCE.md).
The live comparison (FUSION run here) stays in the TWAS tests as an extra where FUSION and R are installed."""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
from conftest import EXAMPLES, ROOT

from peers.twas_cases import panel_window

from locusflow.io.plink import BedReader, read_bim  # noqa: F401
from locusflow.io.weights import read_fusion
from locusflow.twas.fusion import fusion
from locusflow.twas.spredixcan import PanelLD

FIX = ROOT / "tests" / "fixtures" / "twas"
PREFIX = EXAMPLES / "1000G_EUR_chr20_22"


def test_fixture_files_are_the_ones_fusion_read():
    text = (FIX / "PROVENANCE.md").read_text()
    rows = re.findall(r"`((?:fusion|examples)/[^`]+)` sha256 ([0-9a-f]{64})", text)
    assert len(rows) == 9
    for rel, digest in rows:
        base = FIX if rel.startswith("fusion/") else ROOT
        assert hashlib.sha256((base / rel).read_bytes()).hexdigest() == digest, rel


def test_fusion_matches_fusion_assoc_test_fixture():
    peer = pd.read_csv(FIX / "fusion" / "results.tsv", sep="\t", na_values=["NA"], keep_default_na=False)
    bim, g, _ = panel_window()
    v = pd.DataFrame({"chrom": "22", "pos": bim["pos"], "rsid": bim["rsid"], "ref": bim["a2"], "alt": bim["a1"]})
    gw = pd.read_csv(FIX / "fusion" / "gwas.sumstats", sep="\t")
    gwas = pd.DataFrame({"rsid": gw["SNP"], "alt": gw["A1"], "ref": gw["A2"], "z": gw["Z"]})
    mine = fusion(read_fusion(FIX / "fusion" / "sim.pos"), gwas, PanelLD.from_dosages(v, g))
    m = peer.merge(mine, left_on="ID", right_on="gene")
    assert len(m) == 3
    assert list(m["MODEL"]) == list(m["method"]) == ["top1", "lasso", "blup"]     # best model by CV p
    np.testing.assert_allclose(m["zscore"], m["TWAS.Z"], atol=1e-6, rtol=0, equal_nan=True)
    assert m["TWAS.Z"].notna().sum() == 2 and m.loc[m["ID"] == "GENE_C", "zscore"].isna().all()  # > max_impute
    assert (m.loc[m["ID"] != "GENE_C", "n_imputed"] > 0).all()
    np.testing.assert_array_equal(m["NSNP"], m["n_snps_in_cov"])          # model SNPs in the LD reference
    np.testing.assert_array_equal(m["NWGT"].where(m["TWAS.Z"].notna(), 0), m["n_snps_used"])
    np.testing.assert_allclose(m["pvalue"], m["TWAS.P"], rtol=1e-6, equal_nan=True)
