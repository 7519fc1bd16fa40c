"""``locusflow export``: each format written from the example run and read back (locusflow's own sumstats
reader for LDSC and GWAS-SSF, which detects the layout by its header; numpy/pandas for the tables)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from locusflow.errors import InputError
from locusflow.io.sumstats import read_sumstats
from locusflow.ld.matrix import read_block_ld
from locusflow.plots.data import RunResults
from locusflow.report.export import METAXCAN_COLUMNS, export
from peers import pyfocus as fh
from conftest import PEERS, apt_tool, peer_venv
from viz_run import ROOT, example_run

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return example_run(tmp_path_factory.mktemp("viz"))


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    to = tmp_path_factory.mktemp("export")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    r = subprocess.run([sys.executable, "-m", "locusflow.cli", "export", str(run_dir), "--to", str(to)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return to


def test_sumstats_ldsc_and_gwas_ssf_read_back(run_dir, exported):
    s = RunResults(run_dir).table("sumstats").set_index("variant_id")
    ldsc = read_sumstats(exported / "sumstats" / "sumstats.ldsc.sumstats.gz")
    assert ldsc.format == "ldsc" and len(ldsc.df) == len(s)
    np.testing.assert_allclose(ldsc.df["z"].to_numpy(float), s["z"].to_numpy(), rtol=1e-5)
    ssf = read_sumstats(exported / "sumstats" / "sumstats.ssf.tsv.gz")
    assert ssf.format == "gwas_ssf" and len(ssf.df) == len(s)
    back = ssf.df.assign(variant_id=ssf.df["chrom"].astype(str) + ":" + ssf.df["pos"].astype("int64").astype(str) + ":"
                         + ssf.df["a2"] + ":" + ssf.df["a1"]).set_index("variant_id")
    assert set(back.index) == set(s.index)                        # effect allele = alt, other = ref
    np.testing.assert_allclose(back.loc[s.index, "p"], s["p"], rtol=1e-7)


def test_ldsc_read_by_pyfocus(run_dir, exported):
    """pyfocus 0.802's GWAS parser (it requires CHR SNP BP A1 A2 Z) reads the LDSC export."""
    py = peer_venv("pyfocus", fh.PYFOCUS_REQ)            # the venv tests/test_focus_peer.py uses
    r = subprocess.run([str(py), str(HERE / "pyfocus_gwas_peer.py"), str(exported / "sumstats" / "sumstats.ldsc.sumstats.gz")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    n, first, zsum, cols = r.stdout.split()
    s = RunResults(run_dir).table("sumstats")
    assert int(n) == len(s) and first == s["rsid"].iloc[0]
    assert float(zsum) == pytest.approx(s["z"].sum(), abs=1e-3) and cols.startswith("CHR,SNP,BP,A1,A2,Z,N")


def test_gwas_ssf_passes_ebi_validator(exported):
    """EBI gwas-sumstats-tools 1.0.25 (its own venv): extension, column order, minimum rows and every
    row's values (patterns, ranges); only the whole-genome chromosome check is left out (two windows here)."""
    py = peer_venv("gwas_ssf", ["gwas-sumstats-tools==1.0.25", "numpy<2"])
    r = subprocess.run([str(py), str(HERE / "gwas_ssf_peer.py"), str(exported / "sumstats" / "sumstats.ssf.tsv.gz")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "VALID" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]


def test_metaxcan_csv_columns_and_values(run_dir, exported):
    """The exported S-PrediXcan CSV has MetaXcan's columns in its order, one row per gene with a z, our z
    values, counts as integers (what MetaXcan's reader needs; the live test below runs that reader)."""
    t = RunResults(run_dir).table("twas")
    t = t[np.isfinite(t["zscore"].to_numpy(float))]
    mx = pd.read_csv(exported / "twas" / "sim_EUR.csv")
    assert list(mx.columns) == METAXCAN_COLUMNS and mx.iloc[0]["gene_name"] == "ZNF74"
    z = mx[np.isfinite(mx["zscore"].to_numpy(float))]
    assert len(mx) == 24 and len(z) == len(t) == 23                  # 24 genes, one without a z (as MetaXcan: NA)
    assert dict(zip(z["gene"], z["zscore"])) == pytest.approx(dict(zip(t["gene"], t["zscore"])), rel=1e-14)
    assert mx["n_snps_in_model"].dtype == np.int64                  # counts written as integers


@pytest.mark.live_peer("metaxcan")
def test_metaxcan_read_by_metaxcan(run_dir, exported):
    """MetaXcan's own reader of S-PrediXcan result folders (MetaXcanResultsManager.build_manager, what
    SMulTiXcan.py reads --metaxcan_folder with) reads every gene's z back exactly."""
    mx_dir = Path(os.environ.get("LOCUSFLOW_METAXCAN", PEERS / "MetaXcan")) / "software"
    py = peer_venv("metaxcan-venv", ["numpy<2.4", "pandas<3", "scipy"])     # tests/twas/test_spredixcan.py's
    r = subprocess.run([str(py), str(HERE / "metaxcan_results_peer.py"), str(mx_dir), str(exported / "twas")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout)
    t = RunResults(run_dir).table("twas")
    t = t[np.isfinite(t["zscore"].to_numpy(float))]
    assert got["models"] == ["sim_EUR"] and len(got["z"]) == len(t) == 23       # 24 genes, one without a z
    assert {g: v["sim_EUR"] for g, v in got["z"].items()} == pytest.approx(dict(zip(t["gene"], t["zscore"])), rel=1e-14)


def test_pyfocus_tsv_read_by_pyfocus(run_dir, exported):
    """pyfocus 0.802 reads the exported TSV and its own add_credible_set (90%) gives back our credible genes."""
    py = peer_venv("pyfocus", fh.PYFOCUS_REQ)
    r = subprocess.run([str(py), str(HERE / "pyfocus_credset_peer.py"), str(exported / "focus" / "focus.tsv"), "0.9"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout)
    foc = pd.read_csv(exported / "focus" / "focus.tsv", sep="\t")
    assert {"ens_gene_id", "mol_name", "twas_z_pop1", "pips_pop1", "in_cred_set_pop1"} <= set(got["columns"])
    ours = {b: dict(zip(g["ens_gene_id"], g["in_cred_set_pop1"].astype(int))) for b, g in foc.groupby("block")}
    assert got["sets"] == ours and len(ours) == 2
    assert ours["22:19912359-22:22357325"]["ENSG00000185252.13"] == 1          # ZNF74 in the credible set
    assert foc.loc[foc["mol_name"] == "ZNF74", "pips_pop1"].iloc[0] > 0.99


def test_susie_tables_read_and_refit_by_susier(run_dir, exported):
    """susieR 0.12.35 (Debian r-cran-susier) reads susie_vars/susie_cs and the block's .z/.ld/master, refits
    susie_rss on exactly those files and its summary(fit) equals the exported tables: same columns, sets and
    cs per variable, PIPs to 1e-6, cs_log10bf to 1e-5, r2 to 1e-8."""
    rscript = apt_tool("Rscript", "r-cran-susier")
    r = subprocess.run([rscript, str(HERE / "susie_export_check.R"), str(exported), "22:19912359-22357326", "10", "0.95",
                        "0.5"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = {ln.split()[0]: ln.split()[1:] for ln in r.stdout.splitlines() if ln.strip()}
    assert out["columns_vars"] == out["columns_susier_vars"] == ["variable,variable_prob,cs"]
    assert out["columns_cs"] == out["columns_susier_cs"] == ["cs,cs_log10bf,cs_avg_r2,cs_min_r2,variable"]
    fm = RunResults(run_dir).table("finemap_snp")
    assert out["n_vars"] == [str((fm["block_id"] == "22:19912359-22357326").sum())] * 2
    assert out["same_sets"] == ["TRUE"] and out["same_var_cs"] == ["TRUE"]
    assert float(out["max_pip_diff"][0]) < 1e-6 and float(out["max_log10bf_diff"][0]) < 1e-5
    assert float(out["max_r2_diff"][0]) < 1e-8


def _cred(path) -> tuple[list, pd.DataFrame]:
    lines = Path(path).read_text().splitlines()
    head = [ln for ln in lines if ln.startswith("#")]
    return head, pd.read_csv(path, sep=" ", comment="#")


def test_finemap_reads_the_export_and_layouts_match_its_own(run_dir, exported, tmp_path):
    """FINEMAP 1.4.2 (the credtools wheel's binary) runs on the exported .z/.ld/master of a block: it reads every
    SNP with our index, name, alleles, maf, beta, se and z, and its .snp/.config headers are ours. Its own .config
    and .cred<k> files, passed through our writers, come back the same (prob_norm_k = prob / summed prob of the
    configurations with k SNPs = FINEMAP's)."""
    from peers.finemap_peer import finemap_binary
    from locusflow.report.finemap_export import CONFIG_COLUMNS, SNP_COLUMNS, config_table, cred_text
    exe = finemap_binary()
    if exe is None:
        pytest.skip("FINEMAP binary unavailable (credtools wheel not downloadable)")
    src = exported / "finemap"
    stem = "22_19912359-22357326"
    for suf in (".z", ".ld"):
        (tmp_path / f"{stem}{suf}").symlink_to(src / f"{stem}{suf}")
    lines = (src / "master").read_text().splitlines()
    (tmp_path / "master").write_text("\n".join([lines[0]] + [ln for ln in lines if ln.startswith(stem + ".z")]) + "\n")
    r = subprocess.run([exe, "--sss", "--n-causal-snps", "3", "--in-files", "master"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:]
    theirs = pd.read_csv(tmp_path / f"{stem}.finemap.snp", sep=" ").set_index("index").sort_index()
    ours = pd.read_csv(src / f"{stem}.snp", sep=" ").set_index("index").sort_index()
    assert list(theirs.reset_index().columns) == SNP_COLUMNS == list(ours.reset_index().columns)
    assert len(theirs) == len(ours) == (RunResults(run_dir).table("finemap_snp")["block_id"] == "22:19912359-22357326").sum()
    assert (theirs[["rsid", "chromosome", "position", "allele1", "allele2"]] == ours[["rsid", "chromosome", "position",
                                                                                     "allele1", "allele2"]]).all().all()
    for c in ("maf", "beta", "se", "z"):
        np.testing.assert_allclose(theirs[c], ours[c], rtol=2e-5, atol=1e-12)
    # FINEMAP's three most probable SNPs on these inputs are in our SuSiE credible set (the signal at 20.79 Mb)
    _, susie_cred = _cred(src / f"{stem}.cred")
    assert set(theirs.nlargest(3, "prob")["rsid"]) <= set(susie_cred["cred1"])
    cfg = pd.read_csv(tmp_path / f"{stem}.finemap.config", sep=" ")
    assert list(cfg.columns) == CONFIG_COLUMNS
    tab, post_k = config_table(cfg, pd.Series(dtype=str))
    assert list(tab.columns) == CONFIG_COLUMNS and (tab["config"] == cfg["config"]).all()
    np.testing.assert_allclose(tab["prob_norm_k"], cfg["prob_norm_k"], rtol=2e-5, atol=2e-6)
    creds = sorted(tmp_path.glob(f"{stem}.finemap.cred*"))
    assert creds
    for f in creds:
        head, t = _cred(f)
        k = int(f.name.rsplit("cred", 1)[1])
        num = lambda ln: [float("nan") if x == "NA" else float(x) for x in ln.split()[1:]]  # noqa: E731
        rows = {h.split()[0]: num(h)[::2] for h in head[1:]}
        sets = pd.DataFrame({"variants": [t[f"cred{j}"].dropna().tolist() for j in range(1, k + 1)],
                             "probs": [t[f"prob{j}"].dropna().tolist() for j in range(1, k + 1)],
                             "log10bf": rows["#log10bf"], "min_abs_corr": rows["#min(|ld|)"],
                             "mean_abs_corr": rows["#mean(|ld|)"], "median_abs_corr": rows["#median(|ld|)"]})
        assert float(head[0].rsplit("=", 1)[1]) == pytest.approx(post_k[k], rel=2e-5, abs=2e-6)
        (tmp_path / "again.cred").write_text(cred_text(sets, pd.Series(dtype=str), post_k[k]))
        head2, t2 = _cred(tmp_path / "again.cred")
        assert [h.split()[0] for h in head2] == [h.split()[0] for h in head] and list(t2.columns) == list(t.columns)
        pd.testing.assert_frame_equal(t2, t, check_exact=False, rtol=1e-5)


def test_finemap_files_of_a_susie_run(run_dir, exported):
    snp = pd.read_csv(exported / "finemap" / "20_18972204-20959711.snp", sep=" ")
    fm = RunResults(run_dir).table("finemap_snp")
    assert len(snp) == ((fm["block_id"] == "20:18972204-20959711") & fm["pip"].notna()).sum()
    assert snp.iloc[0]["rsid"] == "rs12185775" and snp.iloc[0]["prob"] == pytest.approx(0.995423, abs=1e-5)
    np.testing.assert_allclose(snp["mean_incl"] * snp["prob"], snp["mean"], rtol=1e-4, atol=1e-9)
    head, cred = _cred(exported / "finemap" / "20_18972204-20959711.cred")
    assert list(cred.columns) == ["index", "cred1", "prob1", "cred2", "prob2", "cred3", "prob3"]
    assert head[1].split()[0] == "#log10bf" and "rs12185775" in set(cred["cred3"])
    cs = pd.read_csv(exported / "finemap" / "susie_cs.tsv", sep="\t")
    assert len(cs) == 4 and (cs["cs_min_r2"] <= cs["cs_avg_r2"] + 1e-12).all()
    v = pd.read_csv(exported / "finemap" / "susie_vars.tsv", sep="\t")
    assert len(v) == fm["pip"].notna().sum() and (v["cs"] >= 1).sum() == sum(len(x.split(",")) for x in cs["variable"])


def test_ld_text_and_npz(run_dir, exported):
    run = RunResults(run_dir)
    var, r = read_block_ld(run.ld_dir, "22:19912359-22357326")
    txt = np.loadtxt(exported / "ld" / "22_19912359-22357326.ld")
    ids = (exported / "ld" / "22_19912359-22357326.ld.snplist").read_text().split()
    assert txt.shape == r.shape and ids == list(var["variant_id"])
    np.testing.assert_allclose(txt, r, atol=1e-5)
    z = np.load(exported / "ld" / "22_19912359-22357326.npz")
    assert np.array_equal(z["r"], r) and list(z["variant_ids"]) == ids


def test_unknown_format_is_a_clear_error(run_dir, tmp_path):
    with pytest.raises(InputError, match="one of metaxcan"):
        export(run_dir, tmp_path, ["plink"])


def test_missing_dataset_is_a_clear_error_and_writes_nothing(run_dir, tmp_path):
    """A format whose dataset the run lacks (no GWAS-from-genotypes here: the plots stage did not run either)
    names the dataset and the stage; formats before it in the list leave no file behind."""
    root = tmp_path / "run"
    root.mkdir()
    (root / "munge").symlink_to(Path(run_dir) / "munge")        # a run that has sumstats only
    with pytest.raises(InputError, match="dataset twas for export format metaxcan"):
        export(root, tmp_path / "out", ["ldsc", "metaxcan"])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))
    done = export(root, tmp_path / "out2")                        # default: what the run has, the rest skipped
    assert set(done) == {"ldsc", "gwas_ssf", "skipped"} and len(done["skipped"]) == 5
