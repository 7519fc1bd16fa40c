"""FINEMAP-inf (Cui et al. 2024) against the authors' reference implementation (FinucaneLab/fine-mapping-inf
``finemapinf``, C++), whose outputs on N3finemapping are committed fixtures (tests/fixtures/finemap, with
provenance and bench/regen_finemap_inf_fixtures.py): the same search path (explored configurations and
iterations), sigma^2 and tau^2, PIPs to 1e-4, conditional effects, infinitesimal effects and the top
configurations' probabilities; for the defaults on both responses and for a prior-SD grid with
non-uniform priors and fixed-length epochs.

The reference normalises each SNP's PIP by the explored mass at the last time a configuration holding
the SNP was scored, not by the final mass; ours uses the final mass, so the reference's PIPs are ours
times a factor in [1, 1 + the mass its last epoch added] (<= 1.3e-3 here)."""
from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import pytest

from finemap_helpers import univariate_z

from locusflow.finemap.finemap_inf import finemap_inf
from locusflow.finemap.glibc_rand import GlibcRand

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "finemap" / "finemap_inf_n3.npz"


def _case(realdata, name):
    d = np.load(realdata / "susier_data" / "N3finemapping.npz")
    x = d["X"]
    if name in ("r1", "r2"):
        return univariate_z(x, d["Y"][:, int(name[1]) - 1]), np.corrcoef(x.T), len(x), {"L": 5}, d["true_coef"][:, int(name[1]) - 1]
    sel = slice(450, 850)
    w = np.random.default_rng(3).uniform(0.5, 1.5, 400)
    return (univariate_z(x[:, sel], d["Y"][:, 1]), np.corrcoef(x[:, sel].T), len(x),
            {"L": 4, "prior_std": [0.02, 0.05, 0.2], "prior_weights": w, "schedule": (100, 10000), "n_conv": 50,
             "prob_tol": 1e-4, "seed": 7}, d["true_coef"][sel, 1])


@pytest.mark.parametrize("name", ["r1", "r2", "grid"])
def test_finemap_inf_matches_reference(realdata, name):
    ref = np.load(FIXTURE)
    z, ld, n, kw, coef = _case(realdata, name)
    fit = finemap_inf(z, ld, n, n_configs=50, **kw)
    assert fit.n_explored == int(ref[f"{name}_n_explored"]) and fit.niter == int(ref[f"{name}_n_iter"])
    assert fit.sigmasq == pytest.approx(float(ref[f"{name}_sigmasq"]), rel=1e-9)
    assert fit.tausq == pytest.approx(float(ref[f"{name}_tausq"]), rel=1e-9, abs=1e-15)
    pip_ref = ref[f"{name}_PIP"]
    assert np.abs(fit.pip - pip_ref).max() < 1e-4
    on = fit.pip > 1e-8
    ratio = pip_ref[on] / fit.pip[on]
    assert ratio.min() > 1 - 1e-9 and ratio.max() < 1 + 2e-3
    np.testing.assert_allclose(fit.beta[on], ref[f"{name}_beta"][on], rtol=1e-8, atol=1e-12)
    assert np.all(fit.sd[on] >= ref[f"{name}_se"][on] * (1 - 1e-3))    # ours adds the between-configuration spread
    np.testing.assert_allclose(fit.infinitesimal, ref[f"{name}_alpha"], atol=1e-6)
    models = json.loads(str(ref[f"{name}_models"]))
    assert [list(map(int, c)) for c in fit.configs[:10]] == [m for _, m in models[:10]]
    np.testing.assert_allclose(fit.config_prob[:50], [p for p, _ in models], rtol=1e-8)
    assert coef[np.argmax(fit.pip)] != 0                      # known truth: the top PIP is a causal SNP
    assert fit.post_k.sum() == pytest.approx(1.0)


def test_glibc_rand_matches_libc():
    """The search's random stream is C's srand/rand (glibc), drawn here through ctypes."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        pytest.skip("no glibc on this system (libc.so.6): nothing to compare with")
    for seed in (21, 0, 7, 2 ** 31 - 1):
        libc.srand(seed)
        ours = GlibcRand(seed)
        assert [ours.rand() for _ in range(3000)] == [libc.rand() for _ in range(3000)]


def test_finemap_inf_credible_sets_known_truth():
    """Two independent causal SNPs in a small simulated locus (infinitesimal background): the credible
    sets of the most probable k hold them, and tau^2 is estimated positive."""
    rng = np.random.default_rng(11)
    n, p = 2000, 60
    x = rng.normal(size=(n, p)) + 0.6 * rng.normal(size=(n, 1))
    x = (x - x.mean(0)) / x.std(0)
    y = 0.15 * x[:, 10] - 0.15 * x[:, 40] + x @ rng.normal(0, 0.02, p) + rng.normal(size=n)
    y = (y - y.mean()) / y.std()
    fit = finemap_inf(x.T @ y / np.sqrt(n), x.T @ x / n, n, L=3)
    kmap = int(np.argmax(fit.post_k))
    assert kmap == 2 and fit.tausq > 0
    sets = [set(m.tolist()) for k, _, m, _ in fit.sets if k == kmap]
    assert any(10 in s for s in sets) and any(40 in s for s in sets)
    assert fit.pip[[10, 40]].min() > 0.9


def test_stage_finemap_inf_imputed_mixed_ld(tmp_path):
    """``method: finemap_inf`` through the stage, with every 5th sumstats row withheld and imputed (ImpG) and
    the LD mixed from two sample halves of the panel: imputed rows carry their r^2 and are exactly the
    withheld variants kept, the infinitesimal effects and variance components are reported, and the
    configurations and per-k credible sets are written."""
    from finemap_helpers import example_sumstats
    from locusflow.finemap.stage import run_finemap
    from locusflow.io.dataset import read_dataset, write_dataset
    from locusflow.io.genotypes import GenotypeStore, ingest_plink
    from conftest import EXAMPLES
    ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path / "g.vcz")
    example_sumstats(tmp_path / "all")
    ss = read_dataset(tmp_path / "all", "sumstats")
    withheld = np.arange(len(ss)) % 5 == 0
    write_dataset(ss[~withheld].reset_index(drop=True), tmp_path / "ss", "sumstats")
    samples = list(GenotypeStore(tmp_path / "g.vcz").samples)
    out = tmp_path / "run"
    summary = run_finemap({"out": str(out), "finemap": {
        "method": "finemap_inf", "store": str(tmp_path / "g.vcz"), "sumstats": str(tmp_path / "ss"),
        "blocks": {"window_kb": 120}, "p_threshold": 1e-15, "impute": {"min_r2": 0.6},
        "finemap_inf": {"schedule": [50, 50, 1000]},
        "ld_panels": [{"n": 200000.0, "samples": samples[:250]}, {"n": 137000.0, "samples": samples[250:]}]}})
    assert summary["blocks_ok"] == 2
    blocks = read_dataset(out / "finemap" / "blocks", "finemap_block")
    snp = read_dataset(out / "finemap" / "snp", "finemap_snp")
    cs = read_dataset(out / "finemap" / "cs", "finemap_cs")
    config = read_dataset(out / "finemap" / "config", "finemap_config")
    imp = snp[snp["imputed"]]
    assert len(imp) == blocks["n_imputed"].sum() > 100 and imp["imputation_r2"].min() >= 0.6
    assert snp.loc[~snp["imputed"], "imputation_r2"].isna().all()
    assert set(imp["variant_id"]) <= set(ss.loc[withheld, "variant_id"]) | set(
        ss.loc[withheld, "chrom"] + ":" + ss.loc[withheld, "pos"].astype(str) + ":" + ss.loc[withheld, "alt"] + ":"
        + ss.loc[withheld, "ref"])
    assert (blocks["tausq"] >= 0).all() and blocks["sigmasq"].between(0.5, 1.5).all()
    assert snp["post_mean_inf"].notna().all() and snp["pip"].between(0, 1).all()
    assert len(cs) and (cs["method"] == "finemap_inf").all() and cs["k"].notna().all()
    assert (config["method"] == "finemap_inf").all()
    top = config[config["rank"] == 1]
    assert len(top) == 2 and (top["prob"] > 0).all() and blocks["n_not_in_panels"].notna().all()
