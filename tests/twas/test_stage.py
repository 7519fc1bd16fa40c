"""Stage `twas` on the bundled 1000G EUR chr20/chr22 windows and their real BOLT-LMM sumstats, with a
PredictDB database of simulated weights whose covariance file is computed from the same panel:
covariance-file and panel LD give the same z, local/dask/spark engines agree, MetaXcan agrees (its committed output on
these inputs; run live too where MetaXcan is present), and
bad input fails with a clear error."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES, REALDATA, ROOT

from locusflow.errors import InputError
from locusflow.io.dataset import read_dataset, write_dataset
from locusflow.io.weights import read_covariance, read_predictdb
from locusflow.ld.blocks import read_block_bed as read_blocks_bed
from locusflow.pipeline import Context
from locusflow.twas.spredixcan import spredixcan
from locusflow.twas.stage import _run

import twas_stage_inputs
from test_spredixcan import run_metaxcan
from twas_stage_inputs import inputs, inputs_digest, run_stage, write_mx_gwas  # noqa: F401  (module fixture)


FIX = ROOT / "tests" / "fixtures" / "twas" / "metaxcan"


def metaxcan_on_stage_inputs(inputs, gwas_file):
    """MetaXcan's SPrediXcan.py output on these inputs: the committed fixture (bench/regen_twas_fixtures.py
    --stage), after checking it was made from the same content (weights, covariance, GWAS text)."""
    assert inputs_digest(inputs, gwas_file) == (FIX / "stage_inputs.sha256").read_text().strip(), \
        "the twas stage test inputs changed: regenerate tests/fixtures/twas/metaxcan/stage_* (bench/regen_twas_fixtures.py --stage)"
    return pd.read_csv(FIX / "stage_results.tsv", sep="\t", na_values=["NA"])


def test_stage_covariance_equals_panel_and_metaxcan(inputs, tmp_path):
    s1, cov = run_stage(inputs, tmp_path / "a", method="spredixcan", ld_reference="covariance")
    s2, pan = run_stage(inputs, tmp_path / "b", method="spredixcan", ld_reference="store", window_kb=500)
    assert s1["models"] == 24 and s1["tested"] > 15
    np.testing.assert_array_equal(cov["n_snps_used"], pan["n_snps_used"])
    np.testing.assert_allclose(cov["zscore"], pan["zscore"], rtol=1e-9, equal_nan=True)
    assert (cov["n_swapped"] > 0).any()
    gwas = write_mx_gwas(inputs["sumstats"], tmp_path / "gwas.txt")
    mx = metaxcan_on_stage_inputs(inputs, gwas)
    m = mx.merge(cov, on="gene", suffixes=("_mx", ""))
    assert len(m) == len(mx) > 15
    np.testing.assert_array_equal(m["n_snps_used"], m["n_snps_used_mx"])
    np.testing.assert_allclose(m["zscore"], m["zscore_mx"], atol=1e-6)
    np.testing.assert_allclose(m["effect_size"], m["effect_size_mx"], rtol=1e-6)
    # direct mode on the same text inputs MetaXcan read: locusflow twas --gwas (no LD blocks)
    r = subprocess.run([sys.executable, "-m", "locusflow.cli", "twas", "--gwas", str(gwas),
                        "--predictdb", str(inputs["db"]), "--covariance", str(inputs["cov"]), "--no-strand-flip",
                        "--out", str(tmp_path / "direct")], capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT / "lib"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    dr = read_dataset(tmp_path / "direct" / "twas" / "results", "twas_results").merge(mx, on="gene", suffixes=("", "_mx"))
    assert len(dr) == len(mx)
    np.testing.assert_array_equal(dr["n_snps_used"], dr["n_snps_used_mx"])
    np.testing.assert_allclose(dr["zscore"], dr["zscore_mx"], atol=1e-6)


@pytest.mark.live_peer("metaxcan")
def test_stage_fixture_is_what_metaxcan_says(inputs, tmp_path):
    """MetaXcan run here on the same inputs gives the committed fixture."""
    gwas = write_mx_gwas(inputs["sumstats"], tmp_path / "gwas.txt")
    mx = run_metaxcan(inputs["db"], inputs["cov"], gwas, tmp_path / "mx.csv")
    pd.testing.assert_frame_equal(mx.sort_values("gene").reset_index(drop=True),
                                  metaxcan_on_stage_inputs(inputs, gwas).sort_values("gene").reset_index(drop=True),
                                  check_exact=False, rtol=1e-12)


def test_stage_fusion_on_predictdb_weights_equals_spredixcan(inputs, tmp_path):
    """FUSION with w * sigma_l (converted in the kernel) on the panel == S-PrediXcan on the panel."""
    _, sp = run_stage(inputs, tmp_path / "s", method="spredixcan", ld_reference="store")
    _, fu = run_stage(inputs, tmp_path / "f", method="fusion", ld_reference="store", impute=False, ambiguous="keep")
    np.testing.assert_allclose(fu["zscore"], sp["zscore"], rtol=1e-9, equal_nan=True)


def test_stage_engines_agree(inputs, tmp_path, spark):
    twas_stage_inputs.twas_spark = spark
    blocks = REALDATA / "ld_blocks" / "lddetect_1KG_EUR_hg19.bed"    # LDetect EUR blocks when present
    kw = {"method": "spredixcan", "ld_reference": "store"}
    if blocks.exists():
        kw["blocks"] = str(blocks)
    _, a = run_stage(inputs, tmp_path / "local", **kw)
    _, b = run_stage(inputs, tmp_path / "dask", engine="dask", **kw)
    _, c = run_stage(inputs, tmp_path / "spark", engine="spark", **kw)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_stage_covariance_import_reuse_shards_engines(inputs, tmp_path, spark, caplog):
    """ld_reference covariance: the weights and covariance are imported once and reused by the next trait
    (re-imported when a source changes); shards of models (weight_row ranges), the dask and spark engines
    and a covariance file with a SNP lacking its diagonal entry (the general rule) all give the results of
    the string path (spredixcan on the text inputs)."""
    import logging
    import shutil
    twas_stage_inputs.twas_spark = spark
    w = read_predictdb(inputs["db"])
    cov = read_covariance(inputs["cov"], tissue=w["tissue"].iloc[0])
    ref = spredixcan(w, inputs["sumstats"], covariance=cov).sort_values("model_id").reset_index(drop=True)
    out = tmp_path / "a"
    s1, a = run_stage(inputs, out, ld_reference="covariance")
    cols = ["model_id", "zscore", "effect_size", "var_g", "n_snps_used", "n_snps_in_cov", "snps_used", "snps_dropped"]
    pd.testing.assert_frame_equal(a[cols], ref[cols], check_exact=False, rtol=1e-12, check_dtype=False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="locusflow"):
        s2, b = run_stage(inputs, out, ld_reference="covariance")
    assert "already imported" in caplog.text
    pd.testing.assert_frame_equal(a, b)
    # another trait on the same import: 10% of the GWAS rows gone, a third of the z flipped
    rng = np.random.default_rng(7)
    ss2 = inputs["sumstats"].copy()
    flip = rng.random(len(ss2)) < 0.33
    ss2.loc[flip, ["z", "beta"]] *= -1
    ss2 = ss2[rng.random(len(ss2)) > 0.1].reset_index(drop=True)
    write_dataset(ss2, tmp_path / "trait2", "sumstats")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="locusflow"):
        _, t2 = run_stage(inputs, out, ld_reference="covariance", sumstats=str(tmp_path / "trait2"))
    assert "already imported" in caplog.text
    ref2 = spredixcan(w, ss2, covariance=cov).sort_values("model_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(t2[cols], ref2[cols], check_exact=False, rtol=1e-12, check_dtype=False)
    assert (t2["n_snps_used"] < a["n_snps_used"]).any() and not np.allclose(t2["zscore"], a["zscore"])
    n_cov = len(cov)
    for kw, n in (({"shards": 3}, 3), ({"max_covariance_rows": n_cov // 4}, 5), ({"engine": "dask"}, 8),
                  ({"engine": "spark"}, 8)):
        s3, c = run_stage(inputs, tmp_path / str(kw), ld_reference="covariance", **kw)
        assert s3["units"] == n
        pd.testing.assert_frame_equal(a, c)
    # a GWAS without rsids: the weights placed by the panel at import are matched on chrom:pos alone
    write_dataset(inputs["sumstats"].assign(rsid=None), tmp_path / "norsid", "sumstats")
    _, nr = run_stage(inputs, out, ld_reference="covariance", sumstats=str(tmp_path / "norsid"))
    pd.testing.assert_frame_equal(nr[cols[1:6]], a[cols[1:6]], check_exact=False, rtol=1e-12)
    # a changed weights file is re-imported: one SNP's weight negated changes that gene's z
    t = inputs["tmp"]
    db2 = shutil.copy(inputs["db"], tmp_path / "sim2.db")
    import sqlite3
    con = sqlite3.connect(db2)
    rs = con.execute("select rsid, gene from weights limit 1").fetchone()
    con.execute("update weights set weight = -weight where rsid = ? and gene = ?", rs)
    con.commit()
    con.close()
    d2 = {"tmp": t, "db": db2, "cov": inputs["cov"]}
    _, neg = run_stage(d2, tmp_path / "b", ld_reference="covariance")
    assert (~np.isclose(neg["zscore"], a["zscore"])).sum() == 1
    con = sqlite3.connect(db2)
    con.execute("update weights set weight = -weight where rsid = ? and gene = ?", rs)   # back: same size
    con.commit()
    con.close()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="locusflow"):
        _, e = run_stage(d2, tmp_path / "b", ld_reference="covariance")
    assert "already imported" not in caplog.text
    pd.testing.assert_frame_equal(e[cols[1:]], a[cols[1:]])
    # a SNP without its diagonal entry (still RSID1 of other rows): the general rule, same as the strings
    c = pd.read_csv(inputs["cov"], sep=" ")
    first = c.groupby("GENE").head(1).index[3]            # the diagonal entry of a gene's first SNP
    assert c.loc[first, "RSID1"] == c.loc[first, "RSID2"]
    c.drop(index=first).to_csv(tmp_path / "nodiag.txt.gz", sep=" ", index=False, compression="gzip")
    d3 = {"tmp": t, "db": inputs["db"], "cov": tmp_path / "nodiag.txt.gz"}
    _, f = run_stage(d3, tmp_path / "c", ld_reference="covariance")
    cov3 = read_covariance(tmp_path / "nodiag.txt.gz", tissue=w["tissue"].iloc[0])
    ref3 = spredixcan(w, inputs["sumstats"], covariance=cov3).sort_values("model_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(f[cols], ref3[cols], check_exact=False, rtol=1e-12, check_dtype=False)
    assert not f[cols].equals(a[cols])


def test_bad_inputs(inputs, tmp_path):
    import sqlite3
    bad = tmp_path / "noweights.db"
    con = sqlite3.connect(bad)
    con.execute("create table extra (gene text)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match=r"noweights.db.*'weights'"):
        read_predictdb(bad)
    lines = ["GENE RSID1 RSID2 VALUE", "G1 rs1 rs1 0.5", "G1 rs1 rs2 zero", "G1 rs2 rs2 0.4"]
    (tmp_path / "c1.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"c1.txt, row 2, column 'VALUE'.*'zero'"):
        read_covariance(tmp_path / "c1.txt")
    lines[3] = "G1 rs2 rs2"
    lines[2] = "G1 rs1 rs2 0.1"
    (tmp_path / "c2.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"c2.txt, row 3"):
        read_covariance(tmp_path / "c2.txt")
    (tmp_path / "blocks.bed").write_text("chr20 1 x\n")
    with pytest.raises(InputError, match=r"blocks.bed, row 1, column 'stop'"):
        read_blocks_bed(tmp_path / "blocks.bed")
    with pytest.raises(InputError, match="twas.weights"):
        _run(Context({"out": str(tmp_path / "o"), "twas": {"weights": []}}))
    assert not (tmp_path / "o" / "twas" / "results").exists()


def test_cli(inputs, tmp_path):
    t = inputs["tmp"]
    env = {"PYTHONPATH": str(ROOT / "lib"), "PATH": "/usr/bin:/bin"}
    base = [sys.executable, "-m", "locusflow.cli", "twas", "--sumstats", str(t / "sumstats"),
            "--ld-reference", "covariance", "--out", str(tmp_path / "cli")]
    r = subprocess.run(base + ["--predictdb", str(inputs["db"]), "--covariance", str(inputs["cov"])],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    res = read_dataset(tmp_path / "cli" / "twas" / "results", "twas_results")
    assert len(res) == 24 and res["zscore"].notna().all()
    (tmp_path / "empty.db").write_bytes(b"")
    r = subprocess.run(base + ["--predictdb", str(tmp_path / "empty.db"), "--covariance", str(inputs["cov"])],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "empty.db" in r.stderr and "missing ['weights', 'extra']" in r.stderr


def test_bundled_demo_models(inputs, tmp_path):
    """examples/twas_sim_chr20_22.*: simulated weights of the 24 real genes of the example windows, with
    the covariance of the example panel -> covariance-file and panel z agree."""
    demo = {"tmp": inputs["tmp"], "db": EXAMPLES / "twas_sim_chr20_22.db", "cov": EXAMPLES / "twas_sim_chr20_22.cov.txt.gz"}
    s1, a = run_stage(demo, tmp_path / "c", ld_reference="covariance")
    s2, b = run_stage(demo, tmp_path / "p", ld_reference="store")
    assert s1["models"] == 24 and s1["tested"] == 24
    np.testing.assert_array_equal(a["n_snps_used"], b["n_snps_used"])
    np.testing.assert_allclose(a["zscore"], b["zscore"], rtol=1e-9)


def test_covariance_mode_model_place():
    """A model's chromosome is the one holding most of its SNPs (as the store path's model_positions), its
    position the median there; SNPs the weights do not place take their GWAS row's position."""
    from locusflow.twas.places import model_places as _model_places
    w = pd.DataFrame({"model_id": ["a"] * 5 + ["b"] * 2 + ["c"],
                      "chrom": pd.Categorical(["1", "1", "2", "2", "NA", "NA", "NA", "NA"]),
                      "pos": pd.array([10, 20, 500, 700, pd.NA, pd.NA, pd.NA, pd.NA], dtype="Int64"),
                      "gwas_row": [-1, -1, -1, -1, 0, 1, 2, -1]})
    g = pd.DataFrame({"chrom": pd.Categorical(["2", "3", "3"]), "pos": [600, 30, 50]})
    models, chrom, pos = _model_places(w, g)
    assert list(models) == ["a", "b", "c"] and list(chrom) == ["2", "3", "NA"]
    np.testing.assert_array_equal(pos[:2], [600.0, 40.0])
    assert np.isnan(pos[2])
