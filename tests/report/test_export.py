"""``locusflow export``: each format written from the example run and read back (locusflow's own sumstats
reader for LDSC and GWAS-SSF, which detects the layout by its header; numpy/pandas for the tables)."""
from __future__ import annotations

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
from conftest import peer_venv
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


def test_metaxcan_finemap_susie_pyfocus_tables(run_dir, exported):
    run = RunResults(run_dir)
    mx = pd.read_csv(exported / "twas" / "sim_EUR.csv")
    assert list(mx.columns) == METAXCAN_COLUMNS and len(mx) == len(run.table("twas"))
    assert mx.iloc[0]["gene_name"] == "ZNF74" and mx.iloc[0]["zscore"] == pytest.approx(6.341811065890522, abs=1e-12)
    snp = pd.read_csv(exported / "finemap" / "20_18972204-20959711.snp", sep=" ")
    assert list(snp.columns) == ["index", "rsid", "chromosome", "position", "allele1", "allele2", "maf", "beta", "se",
                                 "z", "prob", "log10bf", "mean", "sd"]
    fm = run.table("finemap_snp")
    assert len(snp) == (fm["block_id"] == "20:18972204-20959711").sum()
    assert snp.loc[snp["rsid"] == "rs12185775", "prob"].iloc[0] == pytest.approx(0.995423, abs=1e-5)
    cs = pd.read_csv(exported / "finemap" / "susie_cs.tsv", sep="\t")
    assert len(cs) == 4 and (cs["cs_min_r2"] <= cs["cs_avg_r2"] + 1e-12).all()
    v = pd.read_csv(exported / "finemap" / "susie_vars.tsv", sep="\t")
    assert len(v) == len(fm) and (v["cs"] >= 1).sum() == fm["cs"].notna().sum()
    foc = pd.read_csv(exported / "focus" / "focus.tsv", sep="\t")
    assert {"ens_gene_id", "mol_name", "twas_z_pop1", "pips_pop1", "in_cred_set_pop1"} <= set(foc.columns)
    assert foc.loc[foc["mol_name"] == "ZNF74", "pips_pop1"].iloc[0] > 0.99


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
