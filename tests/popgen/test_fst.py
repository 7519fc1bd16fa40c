"""Hudson and Weir-Cockerham Fst equal plink2 --fst on HapMap3 populations; windows are ratios of sums."""
import subprocess

import numpy as np
import pandas as pd
import pytest

from locusflow.io.genotypes import ingest_plink
from locusflow.popgen.fst import run_fst, window_fst, genome_fst

from conftest import apt_tool

HALF_DIGIT = 5.01e-6  # plink2 prints 6 significant digits
POPS = ["CEU", "YRI", "CHB", "TSI"]


@pytest.fixture(scope="module")
def hm3(realdata, tmp_path_factory):
    d = tmp_path_factory.mktemp("fst")
    base = realdata / "hapmap3_1kg_thinned_flashpca"
    prefix = base / "HM3_thinned_autosomal_overlap"
    rel = pd.read_csv(base / "relationships_w_pops_121708.txt", sep="\t")
    rel[["FID", "IID", "population"]].to_csv(d / "pops.txt", sep="\t", index=False)
    plink2 = apt_tool("plink2", "plink2")
    keep = rel[rel["population"].isin(POPS)][["FID", "IID"]]
    keep.to_csv(d / "keep.txt", sep="\t", index=False, header=False)
    for m in ("hudson", "wc"):
        subprocess.run([plink2, "--bfile", str(prefix), "--pheno", str(d / "pops.txt"), "--keep", str(d / "keep.txt"),
                        "--fst", "population", f"method={m}", "report-variants", "--threads", "1",
                        "--out", str(d / m)], check=True, capture_output=True)
    store = ingest_plink(prefix, d / "hm3.vcz", variants_chunk=2000)
    ours = run_fst(store.path, rel.set_index("IID")["population"], pops=POPS)
    return d, ours


def test_fst_equals_plink2(hm3):
    d, ours = hm3
    pairs = 0
    for m, col in (("hudson", "HUDSON_FST"), ("wc", "WC_FST")):
        summ = pd.read_csv(d / f"{m}.fst.summary", sep="\t")
        gw = genome_fst(ours)
        for _, row in summ.iterrows():
            a, b = row["#POP1"], row["POP2"]
            p = pd.read_csv(d / f"{m}.{a}.{b}.fst.var", sep="\t")
            o = ours[(ours["pop1"] == a) & (ours["pop2"] == b)]
            if not len(o):
                o = ours[(ours["pop1"] == b) & (ours["pop2"] == a)]
            assert list(o["pos"]) == list(p["POS"]) and len(o) == 14079
            np.testing.assert_array_equal(o["n1"] + o["n2"], p["OBS_CT"])
            np.testing.assert_allclose(o[f"{m}_fst"], p[col], rtol=HALF_DIGIT, atol=5e-7, err_msg=f"{a} {b} {m}")
            g = gw[((gw["pop1"] == a) & (gw["pop2"] == b)) | ((gw["pop1"] == b) & (gw["pop2"] == a))]
            np.testing.assert_allclose(g[f"{m}_fst"], row[col], rtol=HALF_DIGIT)
            pairs += 1
    assert pairs == 12
    # known population history: YRI is far from CEU, TSI close to it
    gw = genome_fst(ours).set_index(["pop1", "pop2"])["hudson_fst"]
    f = {frozenset(k): v for k, v in gw.items()}
    assert f[frozenset(("CEU", "YRI"))] > 5 * f[frozenset(("CEU", "TSI"))]
    assert 5 * f[frozenset(("CEU", "TSI"))] < f[frozenset(("CEU", "CHB"))]


def test_windows_are_ratios_of_sums(hm3):
    _, ours = hm3
    pair = ours[(ours["pop1"] == "CEU") & (ours["pop2"] == "YRI")]
    w = window_fst(pair, 5_000_000, 2_500_000)
    one = w[(w["chrom"] == "2") & (w["start"] == 1 + 4 * 2_500_000)].iloc[0]
    sel = pair[(pair["chrom"] == "2") & (pair["pos"] >= one["start"]) & (pair["pos"] < one["stop"])]
    sel = sel[sel["hudson_den"] > 0]
    assert one["n_variants"] == len(sel) > 5
    assert one["hudson_fst"] == pytest.approx(sel["hudson_num"].sum() / sel["hudson_den"].sum(), rel=1e-12)
    assert one["wc_fst"] == pytest.approx(sel["wc_num"].sum() / sel["wc_den"].sum(), rel=1e-12)
    # every variant lands in size/step = 2 overlapping windows (except at the chromosome starts)
    assert w["n_variants"].sum() <= 2 * len(pair)


def test_population_frequencies_equal_plink2(hm3, realdata):
    d, _ = hm3
    base = realdata / "hapmap3_1kg_thinned_flashpca"
    rel = pd.read_csv(base / "relationships_w_pops_121708.txt", sep="\t")
    freq = run_fst(d / "hm3.vcz", rel.set_index("IID")["population"], pops=["CEU", "YRI"], what="freq")
    for pop in ("CEU", "YRI"):
        rel.loc[rel["population"] == pop, ["FID", "IID"]].to_csv(d / f"{pop}.keep", sep="\t", index=False,
                                                                 header=False)
        subprocess.run([apt_tool("plink2", "plink2"), "--bfile", str(base / "HM3_thinned_autosomal_overlap"),
                        "--keep", str(d / f"{pop}.keep"), "--freq", "--out", str(d / pop)], check=True,
                       capture_output=True)
        p = pd.read_csv(d / f"{pop}.afreq", sep="\t")
        o = freq[freq["population"] == pop]
        assert list(o["variant_id"].str.split(":").str[1].astype(int)) == list(
            pd.read_csv(base / "HM3_thinned_autosomal_overlap.bim", sep="\t", header=None)[3])
        np.testing.assert_array_equal(o["obs_ct"], p["OBS_CT"])
        np.testing.assert_allclose(o["alt_freq"], p["ALT_FREQS"], rtol=HALF_DIGIT, atol=5e-7)
