"""A PredictDB database we export from trained models is read unchanged by MetaXcan, by our twas stage and by
pyfocus, and gives the same z.

The models are the weights_train stage's own output on tests/twas/weights_inputs.py (committed as
tests/fixtures/twas/trained/models.parquet); MetaXcan's SPrediXcan.py output on their export and the bundled
BOLT sumstats is committed beside them (bench/regen_weights_fixtures.py; provenance in PROVENANCE.md), so the
comparison runs on every machine: the test re-exports, checks that the content equals what MetaXcan read,
and compares z at 1e-6."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from peers.twas_cases import compare

from locusflow.io.dataset import read_dataset, write_dataset
from locusflow.io.weights import read_covariance, read_predictdb
from locusflow.pipeline import Context
from locusflow.twas.spredixcan import spredixcan
from locusflow.twas.stage import _run as run_twas

from twas_stage_inputs import sumstats_frame, write_mx_gwas
from weights_inputs import export, inputs_digest

FIX = ROOT / "tests" / "fixtures" / "twas" / "trained"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    models = pd.read_parquet(FIX / "models.parquet")
    db, cov = export(models, tmp)
    ss = sumstats_frame()
    gwas = write_mx_gwas(ss, tmp / "gwas.txt")
    assert inputs_digest(db, cov, gwas) == (FIX / "inputs.sha256").read_text().strip(), \
        "the export of models.parquet changed: regenerate tests/fixtures/twas/trained (bench/regen_weights_fixtures.py)"
    mx = pd.read_csv(FIX / "metaxcan_results.tsv", sep="\t", na_values=["NA"])
    return {"tmp": tmp, "models": models, "db": db, "cov": cov, "ss": ss, "mx": mx}


def test_metaxcan_reads_the_exported_db(exported):
    """SPrediXcan.py on our database: one row per kept model, the z we compute from the same files (1e-6)."""
    e = exported
    w = read_predictdb(e["db"])
    assert set(w["gene"]) == set(e["models"].loc[e["models"]["keep"], "gene"]) == set(e["mx"]["gene"])
    g = pd.DataFrame({"rsid": e["ss"]["rsid"], "alt": e["ss"]["alt"], "ref": e["ss"]["ref"], "z": e["ss"]["z"],
                      "beta": e["ss"]["beta"]})
    ours = spredixcan(w, g, covariance=read_covariance(e["cov"], tissue="trained"), strand_flip=False)
    m = compare(ours, e["mx"])
    assert (m["n_snps_used"] == m["n_snps_in_model"]).all() and m["zscore"].abs().max() > 4


def test_twas_stage_reads_the_exported_db(exported):
    """The twas stage on the exported database and covariance file (ld_reference: covariance) = MetaXcan."""
    e = exported
    write_dataset(e["ss"], e["tmp"] / "sumstats", "sumstats", mode="overwrite")
    cfg = {"out": str(e["tmp"] / "run"), "engine": "local",
           "twas": {"weights": [{"predictdb": str(e["db"]), "covariance": str(e["cov"])}], "strand_flip": False,
                    "sumstats": str(e["tmp"] / "sumstats"), "ld_reference": "covariance"}}
    run_twas(Context(cfg))
    res = read_dataset(e["tmp"] / "run" / "twas" / "results", "twas_results")
    m = e["mx"].merge(res, on="gene", suffixes=("_mx", ""))
    assert len(m) == len(e["mx"]) == 4
    np.testing.assert_array_equal(m["n_snps_used"], m["n_snps_used_mx"])
    np.testing.assert_allclose(m["zscore"], m["zscore_mx"], atol=1e-6, rtol=0)


def test_pyfocus_imports_and_finemaps_the_exported_db(exported, example_store, tmp_path):
    """pyfocus 0.802 ``focus import <our db> predixcan`` then ``focus finemap`` (BOLT sumstats, bundled panel):
    its TWAS z and PIPs equal our FOCUS on the same imported weights (1e-6)."""
    from conftest import EXAMPLES, peer_venv
    from peers import pyfocus as fh

    from locusflow.engine.runner import run_worklist
    from locusflow.focus.task import focus_unit
    from locusflow.ld.blocks import resolve_blocks

    py = peer_venv("pyfocus", fh.PYFOCUS_REQ)
    m = exported["models"][exported["models"]["keep"]]
    genes = pd.DataFrame({"gene": m["gene"], "name": m["gene_name"], "chrom": m["chrom"], "start": m["start"],
                          "end": m["end"]})
    db = fh.focus_import(py, exported["db"], tmp_path / "weights", genes, name="locusflow", tissue="Sim")
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    ss = fh.bolt_sumstats(EXAMPLES / "bolt_chr20_22.sumstats.gz", bim=fh.read_bim(prefix))
    write_dataset(ss, tmp_path / "sumstats", "sumstats", mode="overwrite")
    fh.write_focus_gwas(tmp_path / "gwas.tsv", ss)
    (tmp_path / "blocks.bed").write_text("chrom start stop\n20 18972203 20959710\n22 19912358 22357325\n")
    blocks = resolve_blocks(tmp_path / "blocks.bed")
    fh.write_peer_blocks(blocks, tmp_path / "peer_blocks.bed")
    r = fh.run_pyfocus(py, ["finemap", tmp_path / "gwas.tsv", prefix, db, "--locations", tmp_path / "peer_blocks.bed",
                            "-o", tmp_path / "peer"], genes, tmp_path)
    tsv = tmp_path / "peer.focus.tsv"
    assert tsv.exists() and tsv.stat().st_size, r.stdout[-2000:] + r.stderr[-2000:]
    peer = fh.with_block_id(pd.read_csv(tsv, sep="\t", dtype={"chrom": str}))
    units = [dict(unit_id=b.block_id, cost=1.0, chrom=b.chrom, start=int(b.start), stop=int(b.stop))
             for b in blocks.itertuples()]
    pops = [dict(store=str(example_store.path), sumstats=str(tmp_path / "sumstats"), weights=str(db), name="pop1")]
    ours = run_worklist(units, focus_unit, "focus_results", kwargs={"pops": pops}, progress=False)
    j = ours.merge(peer, on=["block_id", "ens_gene_id", "tissue"], how="outer", indicator=True)
    assert (j["_merge"] == "both").all() and set(m["gene"].str.split(".").str[0]) <= set(j["ens_gene_id"])
    np.testing.assert_allclose(j["pip"], j["pips_pop1"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(j["twas_z"], j["twas_z_pop1"], atol=1e-6, rtol=0, equal_nan=True)
    assert j["twas_z"].abs().max() > 3


def test_fusion_export(exported, example_store, tmp_path):
    """The kept models as FUSION .wgt.RDat files: R's load() gives FUSION's objects, and the twas stage's FUSION
    z on them (panel LD) equals its S-PrediXcan z on the PredictDB export (the weights x training SD, the
    panel = the training samples)."""
    import subprocess

    from conftest import apt_tool

    from locusflow.io.fusion_export import write_fusion

    e = exported
    kept = e["models"][e["models"]["keep"]]
    pos = write_fusion(kept, tmp_path / "fusion", tissue="Sim", n_samples=489)
    one = kept.iloc[0]
    rscript = apt_tool("Rscript", "r-base-core")
    r = subprocess.run([rscript, "-e", f'load("{tmp_path}/fusion/Sim/{one["gene"]}.wgt.RDat"); '
                        'cat(nrow(snps), colnames(wgt.matrix), sprintf("%.17g", sum(wgt.matrix)), '
                        'sprintf("%.17g", cv.performance["rsq", "enet"]), N.tot, is.na(hsq[1]), class(snps), '
                        'as.character(snps$V5[1]), "\\n")'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    k = len(one["weight"])
    sd = np.sqrt(np.diag(np.asarray(e["models"].set_index("gene").loc[one["gene"], "covariance"])[
        np.cumsum(np.r_[0, np.arange(k, 1, -1)])]))
    f = r.stdout.split()
    assert f[:2] == [str(k), "enet"] and f[4:] == ["489", "TRUE", "data.frame", one["alt"][0]]
    assert float(f[2]) == pytest.approx(float(np.sum(np.asarray(one["weight"]) * sd)), rel=1e-12)
    assert float(f[3]) == one["rho_avg_squared"]
    write_dataset(e["ss"], tmp_path / "sumstats", "sumstats", mode="overwrite")
    res = {}
    for method, src in (("fusion", {"fusion": str(pos)}), ("spredixcan", {"predictdb": str(e["db"])})):
        cfg = {"out": str(tmp_path / method), "engine": "local",
               "twas": {"weights": [src], "method": method, "ld_reference": "store", "impute": False,
                        "sumstats": str(tmp_path / "sumstats"), "store": str(example_store.path)}}
        run_twas(Context(cfg))
        res[method] = read_dataset(tmp_path / method / "twas" / "results", "twas_results").set_index("gene")
    z = res["fusion"].join(res["spredixcan"], rsuffix="_sp")
    assert len(z) == len(kept)
    np.testing.assert_allclose(z["zscore"], z["zscore_sp"], rtol=1e-9)
