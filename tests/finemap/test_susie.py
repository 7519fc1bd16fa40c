"""SuSiE-RSS, the LD-mismatch diagnostic and the finemap stage against susieR 0.12.35 (Debian r-cran-susier).

Every expected number comes from susieR run by the test on bit-identical z and R (tests/peers/susier_rss.R;
where R is absent, PyPI pysusie, a port of susieR 0.12.35, in its own peer environment):
PIPs to 1e-4 and identical credible sets (same effects, same variables, same order), tol 1e-3 and
max_iter 100 on both sides.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLES, apt_tool, peer_venv
from finemap_helpers import N_EXAMPLE, example_out, example_paths, polypred_locus, univariate_z  # noqa: F401
from peers.susier_peer import run_susier, susier_available

from locusflow.finemap.susie import susie_rss

PIP_TOL = 1e-4


@pytest.fixture(scope="module")
def rscript():
    """Rscript with susieR; else the python of a pysusie peer environment (fallback, same protocol)."""
    try:
        path = apt_tool("Rscript", "r-cran-susier")
    except pytest.skip.Exception:
        path = None
    if susier_available(path):
        return path
    return str(peer_venv("pysusie", ["pysusie==0.1.0"]))


def assert_same_fit(ours, peer, pip_tol=PIP_TOL):
    assert np.max(np.abs(ours.pip - peer["pip"])) < pip_tol
    assert ours.niter == peer["niter"]
    assert ours.converged == peer["converged"]
    assert ours.sets.names == [c["name"] for c in peer["cs"]]
    assert [list(s) for s in ours.sets.cs] == [c["variables"] for c in peer["cs"]]
    for pur, c in zip(ours.sets.purity, peer["cs"]):
        np.testing.assert_allclose(pur, c["purity"], atol=1e-8)
    np.testing.assert_allclose(ours.sets.coverage, [c["coverage"] for c in peer["cs"]], atol=pip_tol)
    if peer["peer"] == "susieR":    # pysusie 0.1.0's ELBO is offset from susieR's by a constant 1.5e-4
        np.testing.assert_allclose(ours.elbo[-1], peer["elbo"][-1], rtol=1e-8)


@pytest.fixture(scope="module")
def n3(realdata):
    d = np.load(realdata / "susier_data" / "N3finemapping.npz")
    X, Y = d["X"], d["Y"]
    return {"R": np.corrcoef(X, rowvar=False), "n": X.shape[0],
            "z": [univariate_z(X, Y[:, k]) for k in range(Y.shape[1])], "true_coef": d["true_coef"]}


@pytest.mark.parametrize("response", [0, 1])
@pytest.mark.parametrize("with_n", [True, False], ids=["n", "z-only"])
def test_n3finemapping_matches_susier(n3, rscript, response, with_n):
    z, R, n = n3["z"][response], n3["R"], (n3["n"] if with_n else None)
    ours = susie_rss(z, R, n, L=10, tol=1e-3, max_iter=100)
    assert_same_fit(ours, run_susier(rscript, z, R, n, L=10, tol=1e-3, max_iter=100))


def test_bhat_shat_var_y_form_matches_susier(realdata, n3, rscript):
    """susie_rss(bhat, shat, var_y, n, R): XtX = D R D with D = sqrt(var_y adj)/shat."""
    d = np.load(realdata / "susier_data" / "N3finemapping.npz")
    X, y = d["X"], d["Y"][:, 0]
    Xc, yc = X - X.mean(0), y - y.mean()
    xx = (Xc ** 2).sum(0)
    bhat = Xc.T @ yc / xx
    shat = np.sqrt(((yc[:, None] - Xc * bhat) ** 2).sum(0) / (len(y) - 2) / xx)
    var_y = float(np.var(y, ddof=1))
    ours = susie_rss(R=n3["R"], n=n3["n"], bhat=bhat, shat=shat, var_y=var_y)
    assert_same_fit(ours, run_susier(rscript, bhat / shat, n3["R"], n3["n"], bhat=bhat, shat=shat, var_y=var_y))


@pytest.mark.parametrize("opts", [
    {"estimate_prior_method": "EM"},
    {"estimate_prior_method": "simple", "L": 5},
    {"estimate_residual_variance": True},
    {"null_weight": 0.2},
], ids=["EM", "simple-L5", "residual-variance", "null-weight"])
def test_options_match_susier(n3, rscript, opts):
    if "null_weight" in opts and Path(rscript).name.startswith("python"):
        pytest.skip("pysusie 0.1.0 departs from susieR with null_weight (2e-3 in PIP); compared with susieR only")
    z, R, n = n3["z"][0], n3["R"], n3["n"]
    ours = susie_rss(z, R, n, **opts)
    assert_same_fit(ours, run_susier(rscript, z, R, n, **opts))


def test_prior_weights_match_susier(n3, rscript):
    """Functional priors: susieR's prior_weights moves PIPs, and ours move them identically."""
    z, R, n = n3["z"][1], n3["R"], None
    w = np.ones(len(z))
    w[560:600] = 20.0
    ours, uniform = susie_rss(z, R, n, prior_weights=w), susie_rss(z, R, n)
    peer, peer_uniform = run_susier(rscript, z, R, n, prior_weights=w), run_susier(rscript, z, R, n)
    assert_same_fit(ours, peer)
    assert_same_fit(uniform, peer_uniform)
    shift = peer["pip"] - peer_uniform["pip"]
    assert np.max(np.abs(shift)) > 0.05          # the priors matter on this locus
    np.testing.assert_allclose(ours.pip - uniform.pip, shift, atol=2 * PIP_TOL)


@pytest.mark.parametrize("with_n", [True, False], ids=["n", "z-only"])
def test_polypred_locus_matches_susier(realdata, rscript, with_n):
    z, R = polypred_locus(realdata, 12, 150_000)          # 1,445 SNPs, top p = 2.3e-32
    n = N_EXAMPLE if with_n else None
    ours = susie_rss(z, R, n, tol=1e-3, max_iter=100)
    peer = run_susier(rscript, z, R, n, tol=1e-3, max_iter=100)
    assert len(peer["cs"]) >= 3
    assert_same_fit(ours, peer)


@pytest.mark.parametrize("n", [None, 10000])
def test_kriging_flags_flipped_allele(realdata, rscript, n):
    """kriging_rss against susieR itself (pysusie's kriging differs from susieR by ~1e-6 in s)."""
    if Path(rscript).name.startswith("python"):
        pytest.skip("kriging_rss is compared with susieR only")
    from locusflow.finemap.diagnostics import ld_mismatch
    d = np.load(realdata / "susier_data" / "SummaryConsistency.npz")
    z, R = d["z"], d["ldref"]
    ours = ld_mismatch(z, R, n)
    peer = run_susier(rscript, z, R, n, mode="kriging")
    assert abs(ours.attrs["s"] - peer["s"]) < 1e-8
    for col in ("condmean", "condvar", "z_std_diff"):
        np.testing.assert_allclose(ours[col], peer[col], atol=1e-8)
    np.testing.assert_allclose(ours["logLR"], peer["logLR"], atol=1e-3)
    peer_flag = np.flatnonzero((peer["logLR"] > 2) & (np.abs(ours["z"]) > 2))
    assert list(np.flatnonzero(ours["flagged"])) == list(peer_flag) == [int(d["flip_id"][0]) - 1]


# ---- the finemap stage on the bundled example (1000G EUR chr20/chr22 windows + BOLT sumstats) ----
def _cfg(out, **finemap):
    return {"out": str(out), "finemap": {"method": "susie", "blocks": {"window_kb": 250},
                                         "diagnostics": {"check": True}, **finemap}}


def test_stage_matches_susier_on_example(example_out, rscript):
    from locusflow.finemap.stage import run_finemap
    from locusflow.io.dataset import read_dataset
    from locusflow.io.genotypes import GenotypeStore
    from locusflow.ld.matrix import ld_matrix
    summary = run_finemap(_cfg(example_out, run_id="check"))
    assert summary["blocks_with_signal"] == 3 and summary["blocks_ok"] == 3
    snp = read_dataset(example_out / "finemap" / "snp", "finemap_snp", filters=[("run_id", "==", "check")])
    cs = read_dataset(example_out / "finemap" / "cs", "finemap_cs", filters=[("run_id", "==", "check")])
    store = GenotypeStore(example_paths(example_out)[0])
    index = store.variants.set_index("variant_id")["store_index"]
    for block_id, s in snp.groupby("block_id"):
        s = s.sort_values("pos")
        R = ld_matrix(store.dosages(index=index[s["variant_id"]].to_numpy())).astype(np.float64)
        peer = run_susier(rscript, s["z"].to_numpy(), R, N_EXAMPLE)
        assert np.max(np.abs(s["pip"].to_numpy() - peer["pip"])) < PIP_TOL
        got = cs[cs["block_id"] == block_id].sort_values("rank")
        assert list(got["cs"]) == [f"{block_id}:{c['name']}" for c in peer["cs"]]
        vids = s["variant_id"].to_numpy()
        assert [list(v) for v in got["variants"]] == [list(vids[c["variables"]]) for c in peer["cs"]]


def test_stage_local_dask_spark_identical(example_out, spark):
    from locusflow.finemap.stage import run_finemap
    from locusflow.io.dataset import read_dataset
    frames = {}
    for engine in ("local", "dask", "spark"):
        run_finemap(_cfg(example_out, run_id=engine, p_threshold=1e-12),
                    runner_kwargs={"engine": engine, "spark": spark if engine == "spark" else None})
        frames[engine] = {k: read_dataset(example_out / "finemap" / d, f"finemap_{s}",
                                          filters=[("run_id", "==", engine)]).drop(columns=["run_id"] + extra)
                          for k, d, s, extra in (("snp", "snp", "snp", []), ("cs", "cs", "cs", []),
                                                 ("block", "blocks", "block", ["seconds"]))}
    assert len(frames["local"]["snp"]) > 0 and len(frames["local"]["cs"]) > 0
    for k in frames["local"]:
        pd.testing.assert_frame_equal(frames["local"][k], frames["dask"][k])
        pd.testing.assert_frame_equal(frames["local"][k], frames["spark"][k])


def test_cli_finemap(example_out, tmp_path, capsys):
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    assert main(["finemap", "--out", str(example_out), "--window-kb", "250", "--run-id", "cli",
                 "--p-threshold", "1e-15"]) == 0
    blocks = read_dataset(example_out / "finemap" / "blocks", "finemap_block", filters=[("run_id", "==", "cli")])
    assert list(blocks["status"]) == ["ok", "ok"] and (blocks["min_p"] < 1e-15).all()
    bad = tmp_path / "blocks.bed"
    bad.write_text("chr20\t20000000\tnot_a_number\n")
    assert main(["finemap", "--out", str(example_out), "--blocks", str(bad)]) == 2
    assert "blocks.bed" in capsys.readouterr().err


def test_method_finemap_uses_sss(example_out):
    """--method finemap runs locusflow.finemap.sss.finemap_sss; an unknown kernel option is a config error."""
    from locusflow.errors import InputError
    from locusflow.finemap.stage import run_finemap
    with pytest.raises(InputError, match="finemap.finemap"):
        run_finemap(_cfg(example_out, method="finemap", run_id="fm", p_threshold=1e-15, finemap={"n_causal": 2}))
    from locusflow.io.dataset import read_dataset
    summary = run_finemap(_cfg(example_out, method="finemap", run_id="fm", p_threshold=1e-15))
    assert summary["blocks_ok"] == 2
    snp = read_dataset(example_out / "finemap" / "snp", "finemap_snp", filters=[("run_id", "==", "fm")])
    assert (snp["method"] == "finemap").all() and snp["pip"].between(0, 1).all()


def test_stage_functional_priors_match_susier(example_out, tmp_path, rscript):
    """PolyFun-format priors (CHR BP A1 A2 SNPVAR) through the stage = susieR with the same prior_weights."""
    from locusflow.finemap.stage import run_finemap
    from locusflow.io.dataset import read_dataset
    from locusflow.io.genotypes import GenotypeStore
    from locusflow.ld.matrix import ld_matrix
    b = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t")
    b = b[b["CHR"] == 20]
    pri = pd.DataFrame({"SNP": b["SNP"], "CHR": b["CHR"], "BP": b["BP"], "A1": b["ALLELE1"], "A2": b["ALLELE0"],
                        "SNPVAR": np.where(b["BP"].to_numpy() % 5 == 0, 1e-4, 1e-6)})
    missing = pri[(pri["BP"] >= 20000001) & (pri["BP"] < 20250001)].index[::97]   # drop some: no weight
    path = tmp_path / "priors.tsv.gz"
    pri.drop(index=missing).to_csv(path, sep="\t", index=False)
    run_finemap(_cfg(example_out, run_id="priors", p_threshold=1e-16, diagnostics={},
                     prior_weights={"path": str(path)}))
    blocks = read_dataset(example_out / "finemap" / "blocks", "finemap_block", filters=[("run_id", "==", "priors")])
    blocks = blocks.set_index("block_id")
    assert list(blocks.index) == ["20:20000001-20250001", "22:20750001-21000001"]
    assert int(blocks.loc["20:20000001-20250001", "n_no_prior_weight"]) == len(missing)
    chr22 = blocks.loc["22:20750001-21000001"]      # no priors for chr22: nothing left, reported as such
    assert chr22["n_no_prior_weight"] == chr22["n_sumstats"] and chr22["status"].startswith("no variant")
    snp = read_dataset(example_out / "finemap" / "snp", "finemap_snp", filters=[("run_id", "==", "priors")])
    snp = snp[snp["chrom"] == "20"].reset_index(drop=True)
    store = GenotypeStore(example_paths(example_out)[0])
    index = store.variants.set_index("variant_id")["store_index"]
    R = ld_matrix(store.dosages(index=index[snp["variant_id"]].to_numpy())).astype(np.float64)
    w = pri.drop(index=missing).set_index("BP").loc[snp["pos"], "SNPVAR"].to_numpy()
    np.testing.assert_allclose(snp["prior_weight"], w / w.sum())
    peer = run_susier(rscript, snp["z"].to_numpy(), R, N_EXAMPLE, prior_weights=w)
    uniform = run_susier(rscript, snp["z"].to_numpy(), R, N_EXAMPLE)
    assert np.max(np.abs(peer["pip"] - uniform["pip"])) > 0.05
    assert np.max(np.abs(snp["pip"].to_numpy() - peer["pip"])) < PIP_TOL
