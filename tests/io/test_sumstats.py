"""Sumstats reading: z from LOG10P in log space (LOG10P = 400 survives), neg_log10_p, se <= 0 / infinite
se and conflicting duplicates dropped with counted reasons and warnings, the no-reference warning, and
the FinnGen, fastGWA, METAL, GWAS-SSF and harmonised GWAS Catalog layouts (same munged rows as the
BOLT-LMM original, headers as each tool documents them)."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from scipy.special import log_ndtr
from scipy.stats import norm

from locusflow.io.harmonise import load_reference
from locusflow.io.munge import munge

from conftest import EXAMPLES
from logcapture import warnings_log  # noqa: F401 (fixture)

BOLT = EXAMPLES / "bolt_chr20_22.sumstats.gz"




def regenie(tmp_path, rows):
    head = "CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ INFO N TEST BETA SE CHISQ LOG10P"
    p = tmp_path / "r.regenie"
    p.write_text("\n".join([head] + [" ".join(map(str, r)) for r in rows]) + "\n")
    return p


def test_log10p_400_survives(tmp_path):
    """z from LOG10P without 10**-LP: LOG10P = 400 gives |z| = 42.83 (2 Phi(-|z|) = 1e-400 in log space),
    LOG10P = 10 gives norm.isf(5e-11); neg_log10_p keeps 400 exactly; p underflows to 0."""
    p = regenie(tmp_path, [(20, 100, "rs1", "A", "G", 0.3, 1, 1000, "ADD", 0.5, "NA", "NA", 400),
                           (20, 200, "rs2", "A", "G", 0.3, 1, 1000, "ADD", -0.5, "NA", "NA", 10),
                           (20, 300, "rs3", "A", "C", 0.3, 1, 1000, "ADD", 0.5, 0.1, "NA", 5.0)])
    res = munge(p, min_maf=None)
    df = res.sumstats.set_index("rsid")
    assert res.report["dropped"] == {}
    z400 = df.loc["rs1", "z"]
    assert z400 == pytest.approx(42.82640649117118, rel=1e-12)
    assert log_ndtr(-z400) + np.log(2) == pytest.approx(-400 * np.log(10), rel=1e-13)
    assert df.loc["rs2", "z"] == pytest.approx(-norm.isf(0.5e-10), rel=1e-12)
    assert df.loc["rs3", "z"] == pytest.approx(5.0, rel=1e-12)                 # beta/se wins over LOG10P
    np.testing.assert_allclose(df["neg_log10_p"], [400, 10, 5], rtol=1e-15)
    assert df.loc["rs1", "p"] == 0.0 and df.loc["rs2", "p"] == pytest.approx(1e-10, rel=1e-12)


def test_neg_log10_p_from_p_and_from_z(tmp_path):
    p = tmp_path / "g.tsv"
    p.write_text("CHR\tBP\tSNP\tA1\tA2\tBETA\tSE\tP\n20\t1\trs1\tA\tG\t0.2\t0.1\t0.01\n"
                 "20\t2\trs2\tA\tG\t40\t1\t0\n")
    df = munge(p, min_maf=None).sumstats.set_index("rsid")
    assert df.loc["rs1", "neg_log10_p"] == pytest.approx(2.0, rel=1e-14)
    # p = 0 in the file: -log10 p from z = 40 in log space
    assert df.loc["rs2", "neg_log10_p"] == pytest.approx(-(log_ndtr(-40.0) + np.log(2)) / np.log(10), rel=1e-12)
    # independent: Mills-ratio series, 2 phi(z)/z (1 - 1/z^2 + 3/z^4 - 15/z^6), in log10
    z = 40.0
    series = np.log(2 / np.sqrt(2 * np.pi) / z * (1 - z**-2 + 3 * z**-4 - 15 * z**-6)) - z * z / 2
    assert df.loc["rs2", "neg_log10_p"] == pytest.approx(-series / np.log(10), rel=1e-10)


def test_bad_se_and_conflicting_duplicates_dropped_with_warning(tmp_path, warnings_log):
    """se = 0, -0.1, inf dropped as invalid_se (inf was kept with z = 0, p = 0.71 before); a variant
    twice with opposite effects (also written with swapped alleles) dropped as conflicting_duplicate,
    all copies; a true duplicate (same effect, swapped alleles and sign) keeps its first row."""
    p = regenie(tmp_path, [(20, 100, "rs1", "A", "G", 0.3, 1, 1000, "ADD", 0.5, 0, "NA", 2),
                           (20, 200, "rs2", "A", "G", 0.3, 1, 1000, "ADD", 0.5, -0.1, "NA", 2),
                           (20, 300, "rs3", "A", "G", 0.3, 1, 1000, "ADD", 0.5, "inf", "NA", 2),
                           (20, 400, "rs4", "A", "C", 0.3, 1, 1000, "ADD", 0.5, 0.1, "NA", 2),
                           (20, 400, "rs4", "A", "C", 0.3, 1, 1000, "ADD", -0.5, 0.1, "NA", 2),
                           (20, 500, "rs5", "A", "C", 0.3, 1, 1000, "ADD", 0.5, 0.1, "NA", 2),
                           (20, 500, "rs5", "C", "A", 0.3, 1, 1000, "ADD", 0.5, 0.1, "NA", 2),
                           (20, 600, "rs6", "A", "C", 0.3, 1, 1000, "ADD", 0.5, 0.1, "NA", 2),
                           (20, 600, "rs6", "C", "A", 0.3, 1, 1000, "ADD", -0.5, 0.1, "NA", 2),
                           (20, 700, "rs7", "A", "T", 0.3, 1, 1000, "ADD", 0.2, 0.1, "NA", 2)])
    res = munge(p, min_maf=None)
    assert res.report["dropped"] == {"invalid_se": 3, "conflicting_duplicate": 4, "duplicate": 1}
    assert res.sumstats["rsid"].tolist() == ["rs6", "rs7"]
    assert res.sumstats["z"].tolist() == pytest.approx([5.0, 2.0])
    gone = res.dropped.set_index("row")["reason"]
    assert gone.loc[[1, 2, 3]].eq("invalid_se").all() and gone.loc[[4, 5, 6, 7]].eq("conflicting_duplicate").all()
    msgs = [r.getMessage() for r in warnings_log.records if r.levelno == logging.WARNING]
    assert any("'invalid_se': 3" in m and "'conflicting_duplicate': 4" in m for m in msgs)
    assert any("alleles were not harmonised" in m for m in msgs)


def test_no_warning_with_reference(tmp_path, warnings_log):
    raw = pd.read_csv(BOLT, sep="\t", nrows=50, dtype={"CHR": str})
    raw.to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    res = munge(tmp_path / "b.tsv", reference=EXAMPLES / "1000G_EUR_chr20_22", min_maf=None, min_info=None)
    assert res.report["kept"] > 40
    assert not [r for r in warnings_log.records if "not harmonised" in r.getMessage()]


def test_new_layouts_give_the_bolt_rows(tmp_path):
    """Each layout written from the same 300 BOLT-LMM rows munges to the same variants and numbers."""
    raw = pd.read_csv(BOLT, sep="\t", nrows=300, dtype={"CHR": str})
    base = munge(BOLT, n=1000, min_info=None, min_maf=None).sumstats.set_index("rsid").loc[raw["SNP"]]
    eff, oth, beta, se, pv = raw["ALLELE1"], raw["ALLELE0"], raw["BETA"], raw["SE"], raw["P_BOLT_LMM"]
    layouts = {
        "finngen": {"#chrom": raw["CHR"], "pos": raw["BP"], "ref": oth, "alt": eff, "rsids": raw["SNP"],
                    "nearest_genes": "G", "pval": pv, "mlogp": -np.log10(pv), "beta": beta, "sebeta": se,
                    "af_alt": raw["A1FREQ"], "af_alt_cases": 0.1, "af_alt_controls": 0.1},
        "fastgwa": {"CHR": raw["CHR"], "SNP": raw["SNP"], "POS": raw["BP"], "A1": eff, "A2": oth, "N": 1000,
                    "AF1": raw["A1FREQ"], "BETA": beta, "SE": se, "P": pv},
        "metal": {"MarkerName": raw["SNP"], "Chromosome": raw["CHR"], "Position": raw["BP"],
                  "Allele1": eff.str.lower(), "Allele2": oth.str.lower(), "Freq1": raw["A1FREQ"],
                  "FreqSE": 0.01, "MinFreq": 0.1, "MaxFreq": 0.9, "Effect": beta, "StdErr": se, "P-value": pv,
                  "Direction": "+?", "HetISq": 0, "HetChiSq": 0, "HetDf": 0, "HetPVal": 1, "N": 1000},
        "gwas_ssf": {"chromosome": raw["CHR"], "base_pair_location": raw["BP"], "effect_allele": eff,
                     "other_allele": oth, "beta": beta, "standard_error": se,
                     "effect_allele_frequency": raw["A1FREQ"], "neg_log10_p_value": -np.log10(pv),
                     "rsid": raw["SNP"], "n": 1000},
        "gwas_catalog": {"hm_variant_id": "x", "hm_rsid": raw["SNP"], "hm_chrom": raw["CHR"], "hm_pos": raw["BP"],
                         "hm_other_allele": oth, "hm_effect_allele": eff, "hm_beta": beta,
                         "hm_effect_allele_frequency": raw["A1FREQ"], "hm_code": 10, "chromosome": raw["CHR"],
                         "base_pair_location": raw["BP"], "other_allele": eff, "effect_allele": oth,
                         "beta": -beta, "standard_error": se, "p_value": pv, "n": 1000},
    }
    for name, cols in layouts.items():
        p = tmp_path / f"{name}.tsv"
        pd.DataFrame(cols).to_csv(p, sep="\t", index=False)
        res = munge(p, min_info=None, min_maf=None, n=None if name != "finngen" else 1000)
        assert res.report["format"] == name
        got = res.sumstats.set_index("rsid").loc[raw["SNP"]]
        assert (got["variant_id"].to_numpy() == base["variant_id"].to_numpy()).all(), name
        for c in ("z", "beta", "af", "n"):
            np.testing.assert_allclose(got[c], base[c], rtol=1e-12, err_msg=f"{name} {c}")
        np.testing.assert_allclose(got["neg_log10_p"], -np.log10(pv), rtol=1e-12, err_msg=name)
    # METAL without TRACKPOSITIONS (MarkerName only), SCHEME SAMPLESIZE (Weight, Zscore): placed by rsid
    metal = pd.DataFrame({"MarkerName": raw["SNP"], "Allele1": eff.str.lower(), "Allele2": oth.str.lower(),
                          "Weight": 1000.0, "Zscore": beta / se, "P-value": pv, "Direction": "++"})
    metal.to_csv(tmp_path / "METAL1.tbl", sep="\t", index=False)
    res = munge(tmp_path / "METAL1.tbl", reference=load_reference(EXAMPLES / "1000G_EUR_chr20_22"),
                min_info=None, min_maf=None)
    assert res.report["format"] == "metal"
    got = res.sumstats.set_index("rsid")
    both = got.index.intersection(base.index)
    assert len(both) > 250
    sign = np.where(got.loc[both, "alt"].to_numpy() == base.loc[both, "alt"].to_numpy(), 1.0, -1.0)
    np.testing.assert_allclose(got.loc[both, "z"] * sign, base.loc[both, "z"], rtol=1e-12)
    assert (got.loc[both, "n"] == 1000).all()
