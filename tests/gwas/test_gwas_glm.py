"""gwas equals plink2 --glm on the same data (linear with covariates, logistic with Firth fallback)."""
import numpy as np
import pandas as pd
import pytest

from locusflow.gwas.linear import linear_assoc, linear_assoc_calls, prepare_linear
from locusflow.gwas.phenotypes import align_samples, read_table
from locusflow.gwas.task import run_gwas
from locusflow.io.genotypes import ingest_plink
from locusflow.io.plink import BedReader

from conftest import EXAMPLES, ROOT, apt_tool
from peers.plink_glm import plink2_glm, simulate

PREFIX = EXAMPLES / "1000G_EUR_chr20_22"
FIXTURES = ROOT / "tests" / "fixtures" / "gwas"
HALF_DIGIT = 5.01e-6  # plink2 prints 6 significant digits: equal means within half a unit of the 6th


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    d = tmp_path_factory.mktemp("gwas")
    store = ingest_plink(PREFIX, d / "g.vcz", variants_chunk=700)
    sim = simulate(PREFIX, d)
    plink = plink2_glm(apt_tool("plink2", "plink2"), PREFIX, sim["pheno"], sim["covar"], d)
    ours, report = run_gwas(store.path, sim["pheno"], sim["covar"])
    return store, sim, plink, ours, report


def _ours(ours, trait):
    return ours[ours["trait"] == trait].reset_index(drop=True)


def test_linear_equals_plink2(example):
    store, sim, plink, ours, report = example
    for t in ("q1", "q2", "q3"):
        o, p = _ours(ours, t), plink[t]
        assert list(o["rsid"]) == list(p["ID"])
        np.testing.assert_array_equal(o["n"], p["OBS_CT"])
        for a, b in (("beta", "beta_alt"), ("se", "se"), ("p", "P"), ("z", "T_STAT")):
            want = p[b].to_numpy() * (np.sign(o["beta"]) * np.sign(p["beta_alt"]) if a == "z" else 1)
            np.testing.assert_allclose(o[a], want, rtol=HALF_DIGIT, atol=1e-300, err_msg=f"{t} {a}")
    # known truth: the simulated causal variant of q1 is the strongest hit
    q1 = _ours(ours, "q1").iloc[sim["causal"][0]]
    assert q1["p"] < 1e-6 and abs(q1["beta"] - 0.5) < 4 * q1["se"]
    assert report["per_trait"]["q1"] < report["analysed"] == 489


def test_logistic_and_firth_equal_plink2_double_precision(example):
    """Equal to plink2 2.00a6 (built from source; double-precision glm.fit / logistf fits, its output in
    tests/fixtures/gwas, bench/regen_gwas_fixtures.py) to its 6 printed digits: beta, se, p, n, and Firth
    for exactly the variants where plink2 uses it."""
    store, sim, plink, ours, report = example
    fx = pd.read_csv(FIXTURES / "plink2_logistic.tsv.gz", sep="\t", na_values=["NA"])
    for t in ("b1", "rare"):
        o, p = _ours(ours, t), fx[fx["trait"] == t].reset_index(drop=True)
        assert list(o["pos"]) == list(p["POS"])
        sign = np.where(p["A1"] == p["ALT"], 1.0, -1.0)
        np.testing.assert_array_equal(o["model"] == "firth", p["FIRTH?"] == "Y")
        np.testing.assert_array_equal(o["n"], p["OBS_CT"])
        for a, b, f in (("beta", "BETA", sign), ("se", "SE", 1.0), ("p", "P", 1.0), ("z", "Z_STAT", sign)):
            np.testing.assert_allclose(o[a], p[b] * f, rtol=HALF_DIGIT, atol=1e-300, err_msg=f"{t} {a}")
    assert (_ours(ours, "rare")["model"] == "firth").sum() > 1000


def test_logistic_near_debian_plink2(example):
    """Debian's plink2 2.00a3.5 fits in single precision and stops at its float tolerance (1e-4 on the
    coefficients): the plain logistic fits agree with it to ~1e-5 of a standard error; its Firth standard
    errors come from plain X'WX where 2.00a4+ (and locusflow) use the (1 + h)-weighted matrix of logistf
    1.24, so only which variants use Firth and their estimates are compared."""
    store, sim, plink, ours, report = example
    for t in ("b1", "rare"):
        o, p = _ours(ours, t), plink[t]
        firth = (p["FIRTH?"] == "Y").to_numpy()
        np.testing.assert_array_equal(o["model"] == "firth", firth)
        np.testing.assert_array_equal(o["n"], p["OBS_CT"])
        assert np.nanmax(np.abs(o["beta"] - p["beta_alt"]) / p["se"]) < 1e-3, t
        np.testing.assert_allclose(o["se"][~firth], p["se"][~firth], rtol=2e-3, err_msg=t)


def test_linear_missing_calls_equal_plink2(realdata, tmp_path):
    """HM3: 7,626 of 14,079 variants have missing calls; plink2 leaves those samples out per variant."""
    prefix = realdata / "hapmap3_1kg_thinned_flashpca" / "HM3_thinned_autosomal_overlap"
    store = ingest_plink(prefix, tmp_path / "hm3.vcz")
    sim = simulate(prefix, tmp_path, seed=3, n_quant=2)
    ph = pd.read_csv(sim["pheno"], sep="\t")[["FID", "IID", "q1", "q2"]]
    ph.to_csv(tmp_path / "q.txt", sep="\t", index=False, na_rep="NA")
    plink = plink2_glm(apt_tool("plink2", "plink2"), prefix, tmp_path / "q.txt", sim["covar"], tmp_path)
    ours, _ = run_gwas(store.path, tmp_path / "q.txt", sim["covar"])
    miss = (BedReader(prefix).read() < 0).any(1)
    assert miss.sum() > 5000
    for t in ("q1", "q2"):
        o, p = _ours(ours, t), plink[t]
        np.testing.assert_array_equal(o["n"], p["OBS_CT"])
        for a, b in (("beta", "beta_alt"), ("se", "se"), ("p", "P")):
            np.testing.assert_allclose(o[a], p[b], rtol=HALF_DIGIT, atol=1e-300, err_msg=f"{t} {a}")


def test_calls_and_dosage_paths_equal_least_squares(example):
    """From int8 calls (decoded by table, missing calls found from the packed pairs) and from NaN dosages the
    linear kernel gives the same numbers, equal to a least-squares fit per variant on the samples observed
    (missing calls injected), to 1e-9."""
    store, sim, _, _, _ = example
    s = align_samples(store.samples, read_table(sim["pheno"], missing_code=-9, columns=["q1", "q2"]),
                      read_table(sim["covar"]))
    model = prepare_linear(s.pheno, s.covar)
    calls = store.calls(0, 300).copy()
    rng = np.random.default_rng(0)
    calls[rng.random(calls.shape[:2]) < 0.02] = -1            # 2 % missing calls: most variants have some
    fast = linear_assoc_calls(calls, s.store_index, model)
    g = calls[..., 0].astype(float) + calls[..., 1]
    g[(calls < 0).any(-1)] = np.nan
    slow = linear_assoc(g[:, s.store_index], model)
    for k in ("beta", "se", "p", "n", "sum_g"):
        np.testing.assert_allclose(fast[k], slow[k], rtol=1e-10, equal_nan=True, err_msg=k)
    for v in (3, 150, 299):                                   # known truth: lstsq on the observed samples
        for t in range(2):
            y, x = s.pheno[:, t], g[v, s.store_index]
            ok = ~np.isnan(y) & ~np.isnan(x)
            a = np.column_stack([x[ok], np.ones(ok.sum()), s.covar[ok]])
            coef, rss, *_ = np.linalg.lstsq(a, y[ok], rcond=None)
            se = np.sqrt(rss[0] / (ok.sum() - a.shape[1]) * np.linalg.inv(a.T @ a)[0, 0])
            assert fast["n"][v, t] == ok.sum()
            np.testing.assert_allclose([fast["beta"][v, t], fast["se"][v, t]], [coef[0], se], rtol=1e-9)
