"""Same numbers on local, dask and spark; bad phenotype/covariate inputs give clear errors."""
import os

import numpy as np
import pandas as pd
import pytest

from locusflow.errors import InputError
from locusflow.gwas.task import run_gwas
from locusflow.io.genotypes import ingest_plink

from conftest import EXAMPLES
from peers.plink_glm import simulate

PREFIX = EXAMPLES / "1000G_EUR_chr20_22"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("gwasin")
    store = ingest_plink(PREFIX, d / "g.vcz", variants_chunk=1000)
    return store, simulate(PREFIX, d), d


def test_same_numbers_on_all_engines(sim, spark):
    store, s, d = sim
    outs = {e: run_gwas(store.path, s["pheno"], s["covar"], traits=["q1", "q2", "b1"], engine=e,
                        spark=spark if e == "spark" else None, chunk=1500)[0] for e in ("local", "dask", "spark")}
    assert len(outs["local"]) == 3 * 5481
    pd.testing.assert_frame_equal(outs["local"], outs["dask"])
    pd.testing.assert_frame_equal(outs["local"], outs["spark"])
    # the stage's way: Spark tasks write both datasets themselves; read back, they equal the rows above
    from locusflow.io.dataset import finish_fragments, read_dataset
    targets = {"gwas_assoc": (str(d / "assoc"), "gwas_assoc"), "gwas_sumstats": (str(d / "ss"), "sumstats")}
    frags, rep = run_gwas(store.path, s["pheno"], s["covar"], traits=["q1", "q2", "b1"], engine="spark", spark=spark,
                          chunk=1500, write_to=targets, downstream="q2")
    assert os.getpid() not in set(frags["pid"]) and rep["downstream_trait"] == "q2"
    for name, (where, schema) in targets.items():
        finish_fragments(where, schema, frags[frags["dataset"] == name])
    back = read_dataset(d / "assoc", "gwas_assoc").sort_values(["trait", "chrom", "pos"]).reset_index(drop=True)
    ref = outs["local"].astype({c: object for c in ("trait", "variant_id", "chrom", "ref", "alt", "rsid",
                                                   "genome_build", "model")})
    ref = ref.sort_values(["trait", "chrom", "pos"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, ref[back.columns], check_dtype=False)
    ss = read_dataset(d / "ss", "sumstats")
    assert len(ss) == (ref["trait"] == "q2").sum() and set(ss["variant_id"]) == set(ref.loc[ref["trait"] == "q2", "variant_id"])


def _write(d, name, df):
    df.to_csv(d / name, sep="\t", index=False, na_rep="NA")
    return d / name


def test_unknown_sample_ids(sim):
    store, s, d = sim
    ph = pd.read_csv(s["pheno"], sep="\t")
    ph.loc[3, "IID"] = "NOT_A_SAMPLE"
    with pytest.raises(InputError, match=r"bad_ids.txt, row 4, column 'IID'.*1 of 489.*NOT_A_SAMPLE"):
        run_gwas(store.path, _write(d, "bad_ids.txt", ph), s["covar"])


def test_constant_covariate(sim):
    store, s, d = sim
    cv = pd.read_csv(s["covar"], sep="\t")
    cv["c2"] = 1.5
    with pytest.raises(InputError, match=r"const_cov.txt, column 'c2': a covariate that varies"):
        run_gwas(store.path, s["pheno"], _write(d, "const_cov.txt", cv))
    cv["c2"] = 2 * cv["c1"] - cv["c3"]
    with pytest.raises(InputError, match=r"collinear.txt, column 'c3': covariates that are not linear combinations of each other \(this one is a combination of c1, c2"):
        run_gwas(store.path, s["pheno"], _write(d, "collinear.txt", cv))


def test_non_numeric_phenotype(sim):
    store, s, d = sim
    ph = pd.read_csv(s["pheno"], sep="\t").astype({"q2": object})
    ph.loc[6, "q2"] = "tall"
    with pytest.raises(InputError, match=r"text_pheno.txt, row 7, column 'q2': a number or NA \(found 'tall'\)"):
        run_gwas(store.path, _write(d, "text_pheno.txt", ph), s["covar"])


def test_missing_samples_reported(sim):
    store, s, d = sim
    ph = pd.read_csv(s["pheno"], sep="\t").iloc[40:]
    cv = pd.read_csv(s["covar"], sep="\t")
    cv.loc[100:104, "c1"] = np.nan
    res, report = run_gwas(store.path, _write(d, "part.txt", ph), _write(d, "cov_na.txt", cv), traits=["q1"])
    assert report["no_phenotype_row"] == 40 and report["missing_covariate"] == 5
    assert report["analysed"] == 489 - 45
    kept = ~pd.read_csv(s["pheno"], sep="\t")["IID"].isin(cv.loc[100:104, "IID"])
    assert report["per_trait"]["q1"] == int((ph["q1"].notna() & kept.iloc[40:]).sum())
    assert res["n"].max() == report["per_trait"]["q1"]


@pytest.mark.parametrize("case", ["covar_unknown_id", "covar_text", "trait_all_missing", "no_overlap"])
def test_more_bad_tables(sim, case):
    """Covariate table with a sample the store lacks or a text cell; a trait with no observed value; a
    phenotype table and covariate table sharing no sample: each an InputError naming file, row/column."""
    store, s, d = sim
    ph, cv = pd.read_csv(s["pheno"], sep="\t"), pd.read_csv(s["covar"], sep="\t")
    if case == "covar_unknown_id":
        cv.loc[10, "IID"] = "GHOST"
        want = r"cv_ghost.txt, row 11, column 'IID'.*1 of 489.*GHOST"
        args = (s["pheno"], _write(d, "cv_ghost.txt", cv))
    elif case == "covar_text":
        cv = cv.astype({"c3": object})
        cv.loc[20, "c3"] = "male"
        want = r"cv_text.txt, row 21, column 'c3': a number or NA \(found 'male'\)"
        args = (s["pheno"], _write(d, "cv_text.txt", cv))
    elif case == "trait_all_missing":
        ph["q2"] = np.nan
        want = r"all_na.txt, column 'q2': observed values of the trait among the 489 analysed samples"
        args = (_write(d, "all_na.txt", ph), s["covar"])
    else:
        want = r"half_ph.txt: samples with a phenotype row and every covariate"
        args = (_write(d, "half_ph.txt", ph.iloc[:200]), _write(d, "half_cv.txt", cv.iloc[200:]))
    with pytest.raises(InputError, match=want):
        run_gwas(store.path, *args)
