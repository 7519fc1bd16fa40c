"""`locusflow munge`: format detection on real fixtures, harmonisation counts on the polypred 1000G data
(expected counts computed here independently from the raw files, reference allele frequencies from
plink 1.9 --freq), every harmonisation branch on synthetic cases with known truth, and bad input."""
from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from locusflow.cli import main as cli_main
from locusflow.errors import InputError
from locusflow.io.dataset import read_dataset
from locusflow.io.genotypes import ingest_plink
from locusflow.io.harmonise import harmonise, load_reference
from locusflow.io.munge import munge
from locusflow.io.sumstats import read_sumstats

from conftest import EXAMPLES, apt_tool

COMP = str.maketrans("ACGT", "TGCA")
FIX = "sumstats_format_fixtures"
POLY = "polyfun_1kg_eur/polypred_example"


# ---------------------------------------------------------------- independent expectations

def plink_alt_freq(plink, prefix, tmp: Path) -> pd.DataFrame:
    """chrom pos ref alt rsid af(alt) of a PLINK fileset; af from `plink --freq` (bim A1 = alt)."""
    out = tmp / Path(prefix).name
    subprocess.run([plink, "--bfile", str(prefix), "--freq", "--out", str(out)], check=True,
                   capture_output=True)
    frq = pd.read_csv(f"{out}.frq", sep=r"\s+", dtype={"A1": str, "A2": str})
    bim = pd.read_csv(f"{prefix}.bim", sep=r"\s+", header=None, dtype={0: str, 4: str, 5: str},
                      names=["chrom", "rsid", "cm", "pos", "alt", "ref"])
    assert (frq["SNP"].to_numpy() == bim["rsid"].to_numpy()).all()
    af = np.where(frq["A1"].to_numpy() == bim["alt"].to_numpy(), frq["MAF"], 1 - frq["MAF"])
    return bim.assign(af=af)[["chrom", "pos", "ref", "alt", "rsid", "af"]]


def expected_bolt(raw: pd.DataFrame, ref: pd.DataFrame, min_info, min_maf, lo=0.4, hi=0.6):
    """Reason (or None) and sign per BOLT row, by direct string comparison with the reference."""
    assert not raw.duplicated(["CHR", "BP"]).any() and not ref.duplicated(["chrom", "pos"]).any()
    m = raw.assign(CHR=raw["CHR"].astype(str)).merge(ref, left_on=["CHR", "BP"], right_on=["chrom", "pos"],
                                                     how="left")
    e, o, alt, rf = m["ALLELE1"], m["ALLELE0"], m["alt"], m["ref"]
    ce, co = e.str.translate(COMP), o.str.translate(COMP)
    same, swap = (e == alt) & (o == rf), (e == rf) & (o == alt)
    flip, swapflip = (ce == alt) & (co == rf), (ce == rf) & (co == alt)
    ambiguous = ce == o
    outside = lambda f: (f < lo) | (f > hi)    # noqa: E731
    informative = outside(m["A1FREQ"]) & outside(m["af"])
    reason = pd.Series([None] * len(m), dtype=object)

    def put(mask, why):
        reason[mask.to_numpy() & reason.isna().to_numpy()] = why
    put(~(e.str.fullmatch("[ACGT]+") & o.str.fullmatch("[ACGT]+")), "non_acgt_allele")
    if min_info is not None:
        put(m["INFO"] < min_info, "low_info")
    if min_maf is not None:
        put(np.minimum(m["A1FREQ"], 1 - m["A1FREQ"]) < min_maf, "low_maf")
    put(m["alt"].isna(), "not_in_reference")
    put(~(same | swap | flip | swapflip), "allele_mismatch")
    put(ambiguous & ~informative, "strand_ambiguous")
    # non-ambiguous: + for same/flip; ambiguous: + iff both frequencies call the same allele major
    sign = np.where(ambiguous, np.where((m["A1FREQ"] > 0.5) == (m["af"] > 0.5), 1.0, -1.0),
                    np.where(same | flip, 1.0, -1.0))
    return m, reason, sign


def check_against_expected(res, raw, ref, min_info, min_maf):
    m, reason, sign = expected_bolt(raw, ref, min_info, min_maf)
    want = reason.value_counts().to_dict()
    assert res.report["dropped"] == want
    assert res.report["kept"] == int(reason.isna().sum()) == len(res.sumstats)
    kept = m[reason.isna().to_numpy()].assign(sign=sign[reason.isna().to_numpy()]).rename(
        columns={c: f"r_{c}" for c in ("chrom", "pos", "ref", "alt", "rsid", "af")})
    got = res.sumstats.merge(kept, left_on="rsid", right_on="SNP", validate="1:1")
    assert len(got) == len(kept)
    np.testing.assert_allclose(got["z"], got["sign"] * got["BETA"] / got["SE"], rtol=1e-12)
    np.testing.assert_allclose(got["af"], np.where(got["sign"] > 0, got["A1FREQ"], 1 - got["A1FREQ"]))
    assert (got["variant_id"] == got["r_chrom"] + ":" + got["r_pos"].astype(str) + ":" + got["r_ref"] + ":"
            + got["r_alt"]).all()
    swapped = got[(got["ALLELE1"] == got["r_ref"]) & (got["ALLELE0"] == got["r_alt"])
                  & (got["ALLELE1"].str.translate(COMP) != got["ALLELE0"])]
    assert len(swapped) > 0 and (np.sign(swapped["z"]) == -np.sign(swapped["BETA"])).all()
    return got


# ---------------------------------------------------------------- (1) real format fixtures

def test_gwas_vcf_als(realdata):
    path = realdata / FIX / "ALSvcf.vcf.gz"
    res = munge(path)
    assert res.report["format"] == "gwas_vcf" and res.report["genome_build"] == "GRCh37"
    lines = [ln.rstrip("\n").split("\t") for ln in gzip.open(path, "rt") if not ln.startswith("#")]
    raw = pd.DataFrame([ln[:5] + ln[9].split(":")[:4] for ln in lines],
                       columns=["chrom", "pos", "id", "ref", "alt", "es", "se", "lp", "af"])
    raw[["es", "se", "lp", "af"]] = raw[["es", "se", "lp", "af"]].astype(float)
    assert res.report["rows_in_file"] == len(raw) == 415
    low = np.minimum(raw["af"], 1 - raw["af"]) < 0.01
    rest = raw[~low]
    dup = rest.duplicated(["chrom", "pos", "ref", "alt"])
    uniq = rest[~dup]
    multi = uniq.groupby(["chrom", "pos"])["alt"].transform("size") > 1
    want = {"low_maf": int(low.sum()), "duplicate": int(dup.sum()), "multi_allelic": int(multi.sum())}
    assert res.report["dropped"] == {k: v for k, v in want.items() if v}
    assert res.report["kept"] == int((~multi).sum())
    row = res.sumstats.set_index("rsid").loc["rs58108140"]
    assert (row["ref"], row["alt"], row["pos"]) == ("G", "A", 10583)
    assert row["z"] == pytest.approx(0.0312 / 0.0393, rel=1e-12)
    assert row["p"] == pytest.approx(10 ** -0.369267, rel=1e-12)
    assert row["n"] == 20806 + 59804          # ##SAMPLE TotalCases + TotalControls


def test_ieu_tsv_and_malformed_rows(realdata):
    path = realdata / FIX / "ieu-a-298.tsv.gz"
    res = munge(path)
    assert res.report["format"] == "generic" and res.report["rows_in_file"] == 417
    text = gzip.open(path, "rt").read().splitlines()
    fields = [ln.split("\t") for ln in text[1:]]
    good = pd.DataFrame([f for f in fields if len(f) == 12], columns=text[0].split("\t"))
    n_bad = sum(len(f) != 12 for f in fields)
    low_info = (good["INFO"].astype(float) < 0.9).sum()
    assert res.report["dropped"].pop("malformed_row") == n_bad == 2
    assert sum(res.report["dropped"].values()) == low_info
    assert res.report["kept"] == len(good) - low_info
    row = res.sumstats.set_index("rsid").loc["rs76805690"]
    assert (row["alt"], row["ref"]) == ("C", "A")          # A1 is the effect allele
    assert row["z"] == pytest.approx(0.0389 / 0.0175, rel=1e-12)
    assert row["n"] == 74046 and row["p"] == pytest.approx(0.0259800510432327)
    bad = res.dropped[res.dropped["reason"] == "malformed_row"]["row"].tolist()
    assert bad == [i + 1 for i, f in enumerate(fields) if len(f) != 12]


def test_okbay_generic(realdata):
    path = realdata / FIX / "eduAttainOkbay.txt"
    raw = pd.read_csv(path, sep="\t")
    res = munge(path)
    assert res.report["rows_in_file"] == len(raw) == 93
    low = (np.minimum(raw["EAF"], 1 - raw["EAF"]) < 0.01).sum()
    assert res.report["kept"] == len(raw) - low
    got = res.sumstats.set_index("rsid").loc[raw["MarkerName"]].reset_index()
    np.testing.assert_allclose(got["z"], raw["Beta"] / raw["SE"], rtol=1e-12)
    assert (got["alt"].to_numpy() == raw["A1"].to_numpy()).all()
    assert got.loc[0, "z"] == pytest.approx(0.027 / 0.003)


# ---------------------------------------------------------------- (2) polypred BOLT vs 1000G

@pytest.fixture(scope="module")
def poly_ref(realdata, tmp_path_factory):
    plink = apt_tool("plink1.9", "plink1.9")
    tmp = tmp_path_factory.mktemp("frq")
    return pd.concat([plink_alt_freq(plink, realdata / POLY / f"1000G.subset.{k}", tmp) for k in range(1, 23)],
                     ignore_index=True)


@pytest.mark.parametrize("filters", [{"min_info": None, "min_maf": None}, {"min_info": 0.9, "min_maf": 0.01}])
def test_polypred_bolt_harmonised_to_1000g(realdata, poly_ref, filters):
    path = realdata / POLY / "bolt.sumstats.txt.gz"
    raw = pd.read_csv(path, sep="\t", dtype={"CHR": str})
    res = munge(path, reference=poly_ref, n=337000, **filters)
    assert res.report["format"] == "bolt" and res.report["rows_in_file"] == len(raw) == 82448
    got = check_against_expected(res, raw, poly_ref, filters["min_info"], filters["min_maf"])
    if filters["min_info"] is None:   # every SNP whose alleles match is kept, only ambiguous ones at MAF~0.5 go
        assert set(res.report["dropped"]) <= {"strand_ambiguous", "allele_mismatch", "not_in_reference"}
        assert (got["n"] == 337000).all()


def test_bundled_example_against_store(tmp_path):
    plink = apt_tool("plink1.9", "plink1.9")
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    store = ingest_plink(prefix, tmp_path / "g.vcz")
    ref = plink_alt_freq(plink, prefix, tmp_path)
    raw = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t", dtype={"CHR": str})
    res = munge(EXAMPLES / "bolt_chr20_22.sumstats.gz", tmp_path / "ss", reference=store.path, n=337000)
    np.testing.assert_allclose(store.variants["af"], ref["af"], atol=5e-5)   # .frq has 4 digits
    check_against_expected(res, raw, ref, 0.9, 0.01)
    back = read_dataset(tmp_path / "ss", "sumstats")
    assert sorted(back["chrom"].unique()) == ["20", "22"] and len(back) == res.report["kept"]
    assert set(back["variant_id"]) <= set(store.variants["variant_id"])
    rep = pd.read_csv(tmp_path / "ss" / "_munge_report.tsv", sep="\t").set_index("item")["count"]
    assert rep["kept"] == len(back) and rep["rows_in_file"] == len(raw)


# ---------------------------------------------------------------- (3) synthetic harmonisation branches

REF = pd.DataFrame({"chrom": "1", "pos": [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000],
                    "ref": ["A", "A", "A", "A", "A", "A", "A", "C", "G", "C"],
                    "alt": ["G", "G", "G", "G", "T", "T", "T", "T", "C", "G"],
                    "af": [0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.45, 0.3, 0.3, 0.3]})


def write_tsv(tmp_path, rows, name="s.tsv"):
    df = pd.DataFrame(rows, columns=["SNP", "CHR", "BP", "A1", "A2", "BETA", "SE", "EAF"])
    df.to_csv(tmp_path / name, sep="\t", index=False)
    return tmp_path / name


def test_every_harmonisation_branch(tmp_path):
    rows = [("same", 1, 100, "G", "A", 0.5, 0.1, 0.2),
            ("swap", 1, 200, "A", "G", 0.5, 0.1, 0.8),
            ("flip", 1, 300, "C", "T", 0.5, 0.1, 0.2),
            ("swapflip", 1, 400, "T", "C", 0.5, 0.1, 0.8),
            ("amb_same", 1, 500, "T", "A", 0.5, 0.1, 0.1),      # freq of T agrees with ref alt T
            ("amb_other", 1, 600, "T", "A", 0.5, 0.1, 0.9),     # disagrees: T is the other strand's A
            ("amb_window", 1, 700, "T", "A", 0.5, 0.1, 0.45),   # inside 0.4-0.6: dropped
            ("mismatch", 1, 800, "A", "C", 0.5, 0.1, 0.3),
            ("multi1", 1, 900, "C", "G", 0.5, 0.1, 0.3), ("multi2", 1, 900, "C", "A", 0.5, 0.1, 0.3),
            ("dup", 1, 1000, "G", "C", 0.5, 0.1, 0.1), ("dup", 1, 1000, "G", "C", 0.5, 0.1, 0.1),
            ("absent", 2, 100, "G", "A", 0.5, 0.1, 0.2),
            ("indel", 1, 100, "GA", "-", 0.5, 0.1, 0.2)]
    res = munge(write_tsv(tmp_path, rows), reference=REF, min_maf=None)
    assert res.report["dropped"] == {"strand_ambiguous": 1, "allele_mismatch": 1, "multi_allelic": 2,
                                     "duplicate": 1, "not_in_reference": 1, "non_acgt_allele": 1}
    # "dup" (G/C on C/G) is ambiguous too, resolved as same
    assert res.report["harmonisation"] == {"same": 3, "swapped": 1, "flipped": 1, "swapped_flipped": 2}
    got = res.sumstats.set_index("rsid")
    sign = {"same": 1, "swap": -1, "flip": 1, "swapflip": -1, "amb_same": 1, "amb_other": -1, "dup": 1}
    for snp, s in sign.items():
        assert got.loc[snp, "z"] == pytest.approx(s * 5.0), snp
        assert got.loc[snp, "beta"] == pytest.approx(s * 0.5), snp
    assert got.loc["swap", "af"] == pytest.approx(0.2) and got.loc["amb_other", "af"] == pytest.approx(0.1)
    assert got.loc["flip", "variant_id"] == "1:300:A:G"
    # without reference frequencies the ambiguous SNPs cannot be resolved
    kept, why, _ = harmonise(read_sumstats(tmp_path / "s.tsv").df.iloc[4:6], REF.drop(columns="af"))
    assert list(why) == ["strand_ambiguous"] * 2 and kept.empty


def test_layouts_give_the_same_munged_rows(tmp_path):
    raw = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t", nrows=300, dtype={"CHR": str})
    base = munge(EXAMPLES / "bolt_chr20_22.sumstats.gz", n=1000, min_info=None, min_maf=None).sumstats
    base = base.set_index("rsid").loc[raw["SNP"]]
    lp = -np.log10(raw["P_BOLT_LMM"])
    eff, oth = raw["ALLELE1"], raw["ALLELE0"]
    odd = np.arange(len(raw)) % 2 == 1      # plink2: REF/ALT in either order, A1 = the tested allele
    layouts = {
        "regenie": pd.DataFrame({"CHROM": raw["CHR"], "GENPOS": raw["BP"], "ID": raw["SNP"], "ALLELE0": oth,
                                 "ALLELE1": eff, "A1FREQ": raw["A1FREQ"], "N": 1000, "TEST": "ADD",
                                 "BETA": raw["BETA"], "SE": raw["SE"], "CHISQ": 1.0, "LOG10P": lp}),
        "saige": pd.DataFrame({"CHR": raw["CHR"], "POS": raw["BP"], "MarkerID": raw["SNP"], "Allele1": oth,
                               "Allele2": eff, "AF_Allele2": raw["A1FREQ"], "N": 1000, "BETA": raw["BETA"],
                               "SE": raw["SE"], "p.value": raw["P_BOLT_LMM"]}),
        "plink2_glm": pd.DataFrame({"#CHROM": raw["CHR"], "POS": raw["BP"], "ID": raw["SNP"],
                                    "REF": np.where(odd, eff, oth), "ALT": np.where(odd, oth, eff), "A1": eff,
                                    "A1_FREQ": raw["A1FREQ"], "TEST": "ADD", "OBS_CT": 1000,
                                    "BETA": raw["BETA"], "SE": raw["SE"], "P": raw["P_BOLT_LMM"]}),
        "gwas_ssf": pd.DataFrame({"chromosome": raw["CHR"], "base_pair_location": raw["BP"],
                                      "effect_allele": eff, "other_allele": oth, "beta": raw["BETA"],
                                      "standard_error": raw["SE"], "effect_allele_frequency": raw["A1FREQ"],
                                      "p_value": raw["P_BOLT_LMM"], "rsid": raw["SNP"], "n": 1000}),
        "metaxcan": pd.DataFrame({"variant_id": raw["SNP"], "chromosome": raw["CHR"], "position": raw["BP"],
                                  "effect_allele": eff, "non_effect_allele": oth, "frequency": raw["A1FREQ"],
                                  "pvalue": raw["P_BOLT_LMM"], "zscore": raw["BETA"] / raw["SE"],
                                  "effect_size": raw["BETA"], "standard_error": raw["SE"], "sample_size": 1000}),
    }
    layouts["plink2_glm_or"] = layouts["plink2_glm"].drop(columns=["BETA", "SE"]).assign(
        OR=np.exp(raw["BETA"]), **{"LOG(OR)_SE": raw["SE"]})
    layouts["ldsc_focus"] = pd.DataFrame({"CHR": raw["CHR"], "SNP": raw["SNP"], "BP": raw["BP"], "A1": eff,
                                          "A2": oth, "Z": raw["BETA"] / raw["SE"], "N": 1000})
    for name, df in layouts.items():
        p = tmp_path / f"{name}.tsv.gz"
        df.to_csv(p, sep="\t", index=False)
        res = munge(p, min_info=None, min_maf=None)
        got = res.sumstats.set_index("rsid").loc[raw["SNP"]]
        assert res.report["format"] == name.replace("_or", "").replace("_focus", ""), name
        if name == "ldsc_focus":           # pyfocus / ldsc files: z and N only
            got = got.assign(af=base["af"].to_numpy(), beta=base["beta"].to_numpy())
        assert (got["variant_id"].to_numpy() == base["variant_id"].to_numpy()).all(), name
        for c in ("z", "beta", "af", "n"):
            np.testing.assert_allclose(got[c], base[c], rtol=1e-12, err_msg=f"{name} {c}")
    # PLINK 1.9 --logistic: white space, covariate rows, OR without SE, no A2 (from the reference);
    # STAT ignored by an explicit override, so z comes from P with the sign of ln OR
    logi = pd.DataFrame({"CHR": raw["CHR"], "SNP": raw["SNP"], "BP": raw["BP"], "A1": eff, "TEST": "ADD",
                         "NMISS": 1000, "OR": np.exp(raw["BETA"]), "STAT": 9.0, "P": raw["P_BOLT_LMM"]})
    cov = logi.assign(TEST="COV1", OR=2.0)
    p = tmp_path / "x.assoc.logistic"
    p.write_text(pd.concat([logi, cov]).to_string(index=False))
    ref = load_reference(EXAMPLES / "1000G_EUR_chr20_22")
    res = munge(p, reference=ref, min_info=None, min_maf=None, columns={"z": None})
    amb = (eff.str.translate(COMP) == oth).to_numpy()     # no frequencies here: ambiguous SNPs go
    assert res.report["format"] == "plink_assoc"
    assert res.report["dropped"] == {"not_additive_test": 300, "strand_ambiguous": int(amb.sum())}
    got = res.sumstats.set_index("rsid").loc[raw["SNP"][~amb]]
    sgn = np.where(got["alt"].to_numpy() == eff[~amb].to_numpy(), 1, -1)
    np.testing.assert_allclose(got["z"], sgn * np.sign(raw["BETA"][~amb]) * norm.isf(raw["P_BOLT_LMM"][~amb] / 2),
                               rtol=1e-9)
    # LDSC .sumstats: rsid only, placed by the reference
    ldsc = pd.DataFrame({"SNP": raw["SNP"], "A1": eff, "A2": oth, "Z": raw["BETA"] / raw["SE"], "N": 1000})
    ldsc.to_csv(tmp_path / "x.sumstats", sep="\t", index=False)
    res = munge(tmp_path / "x.sumstats", reference=ref, min_info=None, min_maf=None)
    assert res.report["format"] == "ldsc"
    got = res.sumstats.set_index("rsid")
    ok = raw["SNP"][~amb]
    assert set(got.index) == set(ok)
    flip = np.where(got.loc[ok, "alt"].to_numpy() == base.loc[ok, "alt"].to_numpy(), 1, -1)
    assert (flip == -1).any() and set(got["variant_id"]) <= set(ref["variant_id"])
    np.testing.assert_allclose(got.loc[ok, "z"], flip * base.loc[ok, "z"], rtol=1e-12)


# ---------------------------------------------------------------- (4) bad input

def test_bad_input_names_file_row_column(tmp_path):
    rows = [("rs1", 1, 100, "G", "A", 0.5, 0.1, 0.2), ("rs2", 1, 200, "A", "G", 0.5, 0.1, 0.8),
            ("rs3", 1, 300, "C", "T", 0.5, 0.1, 0.2)]
    p = write_tsv(tmp_path, rows)
    df = pd.read_csv(p, sep="\t", dtype=str)
    bad = df.assign(P=["0.5", "1.5", "0.1"])
    bad.to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    with pytest.raises(InputError) as e:
        munge(tmp_path / "p.tsv", tmp_path / "out")
    assert (e.value.row, e.value.column, e.value.value) == (2, "P", 1.5) and "p.tsv" in str(e.value)
    df.assign(BETA=["0.1", "0.2", "abc"]).to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    with pytest.raises(InputError) as e:
        munge(tmp_path / "b.tsv", tmp_path / "out")
    assert (e.value.row, e.value.column, e.value.value) == (3, "BETA", "abc")
    (tmp_path / "w.assoc.logistic").write_text("CHR SNP BP A1 TEST NMISS OR STAT P\n"
                                               "  1 rs1 100 A ADD 100 1.2 1.1 0.2\n"
                                               "  1 rs2 200 G ADD 100 x 1.1 0.2\n")
    with pytest.raises(InputError) as e:             # white-space layout (PLINK 1.9)
        munge(tmp_path / "w.assoc.logistic", tmp_path / "out", reference=REF)
    assert (e.value.row, e.value.column, e.value.value) == (2, "OR", "x")
    df.drop(columns=["SE"]).to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="found .*'BETA'") as e:
        munge(tmp_path / "m.tsv", tmp_path / "out")
    assert "m.tsv" in str(e.value)
    df.assign(BUILD=["GRCh37", "hg19", "GRCh38"]).to_csv(tmp_path / "g.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="mixed builds") as e:
        munge(tmp_path / "g.tsv", tmp_path / "out")
    assert (e.value.row, e.value.column) == (3, "BUILD")
    assert not (tmp_path / "out").exists()
    assert cli_main(["munge", str(tmp_path / "b.tsv"), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out" / "munge").exists()
    assert cli_main(["munge", str(p), "--out", str(tmp_path / "out"), "--af-col", "EAF", "--min-maf", "0"]) == 0
    assert len(read_dataset(tmp_path / "out" / "munge" / "sumstats", "sumstats")) == 3


def test_wrong_build_against_reference(tmp_path):
    ref = load_reference(EXAMPLES / "1000G_EUR_chr20_22")
    raw = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t", nrows=400)
    raw.loc[200:, "BP"] += 150_000          # half the rows on another build's coordinates
    raw.to_csv(tmp_path / "w.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="mixed genome builds") as e:
        munge(tmp_path / "w.tsv", reference=ref, n=1000)
    assert e.value.row == 201 and e.value.column == "BP"


def test_hapmap3_restriction(realdata, tmp_path):
    hm3 = realdata / "munging_resources" / "hapmap3_db150_hg19.snplist.gz"
    snps = set(pd.read_csv(hm3, sep="\t", usecols=["rsid"])["rsid"])
    raw = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t")
    res = munge(EXAMPLES / "bolt_chr20_22.sumstats.gz", n=337000, hapmap3=hm3, min_info=None, min_maf=None)
    inside = raw["SNP"].isin(snps)
    assert 0 < inside.sum() < len(raw)
    assert res.report["dropped"] == {"not_hapmap3": int((~inside).sum())}
    assert set(res.sumstats["rsid"]) == set(raw["SNP"][inside])


def test_vcf_multiallelic_record(tmp_path):
    head = "##fileformat=VCFv4.2\n##reference=GRCh38\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
    body = ("chr1\t100\trs1\tA\tG\t.\tPASS\t.\tES:SE:LP:AF:SS\t0.2:0.1:1.5:0.3:1000\n"
            "chr1\t200\trs2\tA\tG,T\t.\tPASS\t.\tES:SE:LP:AF:SS\t0.2:0.1:1.5:0.3:1000\n"
            "chrX\t300\trs3\tC\tT\t.\tPASS\t.\tES:SE:LP:AF\t-0.3:0.1:2:0.2\n")
    (tmp_path / "g.vcf").write_text(head + body)
    res = munge(tmp_path / "g.vcf", min_maf=None)
    assert res.report["format"] == "gwas_vcf" and res.report["genome_build"] == "GRCh38"
    assert res.report["dropped"] == {"multi_allelic": 1}
    got = res.sumstats.set_index("rsid")
    assert list(got["variant_id"]) == ["1:100:A:G", "X:300:C:T"]
    assert got.loc["rs3", "z"] == pytest.approx(-3.0) and got.loc["rs1", "n"] == 1000
    assert np.isnan(got.loc["rs3", "n"]) and got.loc["rs3", "p"] == pytest.approx(0.01)
    with pytest.raises(InputError, match="mixed builds"):        # header says GRCh38, the run GRCh37
        munge(tmp_path / "g.vcf", tmp_path / "out", genome_build="GRCh37")
    assert not (tmp_path / "out").exists()


def test_stage_in_pipeline_with_example_config(tmp_path, monkeypatch):
    from locusflow.config import load_config
    from locusflow.pipeline import run_pipeline
    monkeypatch.chdir(EXAMPLES.parent)              # the config's paths are relative to the checkout
    cfg = load_config("conf/example.yaml", {"out": str(tmp_path / "run")})
    first = run_pipeline(cfg)["munge"]
    back = read_dataset(tmp_path / "run" / "munge" / "sumstats", "sumstats")
    assert first["format"] == "bolt" and first["kept"] == len(back) > 0
    assert first["kept"] + sum(first["dropped"].values()) == first["rows_in_file"] == 5481
    assert (back["n"] == 337000).all() and set(back["genome_build"]) == {"GRCh37"}
    assert run_pipeline(cfg)["munge"] == "skipped"
