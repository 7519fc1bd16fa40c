"""FOCUS vs pyfocus 0.802 (``focus finemap``) on identical inputs.

Inputs (real data): panel = 1000G EUR chr20:20-21 Mb + chr22:20-21 Mb (examples/, polyfun polypred windows);
sumstats = the BOLT-LMM GWAS of the same SNPs (rsids harmonised to the panel, as munging does); weights =
simulated sparse cis-eQTL weights at the real GENCODE v18 positions of every protein-coding gene near the
windows, written as a PredictDB database and imported with pyfocus's own ``focus import`` (offline
gene-position answers, see tests/focus_helpers.py). Blocks: the pyfocus GRCh37 EUR blocks overlapping the
windows. Prior: pyfocus's default (1 / GENCODE v38 genes in the block), on both sides.

Two ancestries: the 489 samples split into the first and second half of the .fam, each half its own
PLINK panel; population 2 gets its own weight database (same genes, independently perturbed weights) and
its own GWAS z (the BOLT z plus N(0, 0.5^2) noise). There is no second real ancestry with dense SNPs in
these windows (the HapMap3/1000G flashpca panel is LD-thinned to 14k SNPs genome-wide); the split
exercises every multi-ancestry code path: per-population LD, alignment, Bayes factors, gene matching.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLES, apt_tool, peer_venv
import focus_helpers as fh

BLOCKS = "chrom start stop\n20 18972203 20959710\n20 20959710 22491456\n22 19912358 22357325\n"
TOL = 1e-6


@pytest.fixture(scope="module")
def inputs(realdata, tmp_path_factory):
    from locusflow.io.dataset import write_dataset
    from locusflow.io.genotypes import ingest_plink
    py = peer_venv("pyfocus", fh.PYFOCUS_REQ)
    plink = apt_tool("plink1.9", "plink1.9")
    d = tmp_path_factory.mktemp("focus")
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    bim = fh.read_bim(prefix)
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None)
    halves = [fam.iloc[: len(fam) // 2], fam.iloc[len(fam) // 2:]]
    # weight SNPs polymorphic in both halves (pyfocus puts NaN into LD for a monomorphic SNP and loses
    # the block; we drop such SNPs: tests/test_focus_model.py)
    from locusflow.io.plink import BedReader
    g = BedReader(prefix).read(0, len(bim)).astype(float)
    g[g < 0] = np.nan
    h = len(fam) // 2
    bim = bim[(np.nanvar(g[:, :h], 1) > 0) & (np.nanvar(g[:, h:], 1) > 0)]
    genes = fh.gencode_genes(realdata, ["20", "22"], 19_500_000, 21_500_000)
    rng = np.random.default_rng(6)
    w1 = fh.simulate_weights(bim, genes, rng)
    w2 = w1.assign(weight=w1["weight"] * rng.normal(1.0, 0.3, len(w1)))
    fh.write_predictdb(d / "predict1.db", w1, rng)
    fh.write_predictdb(d / "predict2.db", w2, rng)
    db1 = fh.focus_import(py, d / "predict1.db", d / "weights1", genes)
    db2 = fh.focus_import(py, d / "predict2.db", d / "weights2", genes)
    ss1 = fh.bolt_sumstats(EXAMPLES / "bolt_chr20_22.sumstats.gz", bim=bim)
    ss2 = ss1.assign(z=ss1["z"] + rng.normal(0, 0.5, len(ss1)))
    for i, ss in ((1, ss1), (2, ss2)):
        write_dataset(ss, d / f"sumstats{i}", "sumstats", mode="overwrite")
        fh.write_focus_gwas(d / f"gwas{i}.tsv", ss)
    store = ingest_plink(prefix, d / "panel.vcz").path
    import subprocess
    for i, h in enumerate(halves, 1):
        h[[0, 1]].to_csv(d / f"keep{i}.txt", sep=" ", header=False, index=False)
        subprocess.run([plink, "--bfile", str(prefix), "--keep", str(d / f"keep{i}.txt"), "--make-bed",
                        "--out", str(d / f"panel{i}")], check=True, capture_output=True)
    (d / "blocks.bed").write_text(BLOCKS)
    return dict(d=d, py=py, genes=genes, db=[db1, db2], store=store, prefix=prefix,
                samples=[h[1].astype(str).tolist() for h in halves])


def _pyfocus(inputs, gwas, refs, dbs, out, *extra):
    d = inputs["d"]
    r = fh.run_pyfocus(inputs["py"], ["finemap", ":".join(map(str, gwas)), ":".join(map(str, refs)),
                                      ":".join(map(str, dbs)), "--locations", d / "blocks.bed", "-o", d / out,
                                      *extra], inputs["genes"], d)
    tsv = d / f"{out}.focus.tsv"
    assert tsv.exists(), r.stdout[-3000:] + r.stderr[-3000:]  # pyfocus logs errors and exits 0
    log = (d / f"{out}.log").read_text()
    if tsv.stat().st_size == 0:
        return pd.DataFrame(), log
    return pd.read_csv(tsv, sep="\t", dtype={"chrom": str}), log


def _ours(inputs, pops, **params):
    from locusflow.engine.runner import run_worklist
    from locusflow.finemap.focus_io import focus_kernel
    blocks = pd.read_csv(inputs["d"] / "blocks.bed", sep=r"\s+", dtype={"chrom": str})
    units = [dict(unit_id=f"{b.chrom}:{b.start}", cost=1.0, chrom=b.chrom, start=b.start, stop=b.stop)
             for b in blocks.itertuples()]
    engine = params.pop("engine", "local")
    return run_worklist(units, focus_kernel, "focus_results", engine=engine,
                        kwargs=dict(pops=pops, params=params), progress=False)


def _pop(inputs, i, samples=False):
    d = inputs["d"]
    p = dict(store=str(inputs["store"]), sumstats=str(d / f"sumstats{i}"), weights=str(inputs["db"][i - 1]),
             name=f"pop{i}")
    if samples:
        p["samples"] = inputs["samples"][i - 1]
    return p


def _compare(ours, peer, pop, suffix):
    o = ours[ours["population"] == pop]
    m = o.merge(peer, on=["block", "ens_gene_id", "tissue"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["block", "ens_gene_id", "_merge"]]
    assert np.abs(m["pip"] - m[f"pips_{suffix}"]).max() < TOL
    if pop != "me":
        assert np.abs(m["twas_z"] - m[f"twas_z_{suffix}"]).max() < TOL
        assert np.abs(m["cv_r2"] - m[f"cv.R2_{suffix}"]).fillna(0).max() < TOL
    assert (m["in_cred_set"] == m[f"in_cred_set_{suffix}"]).all()
    assert (m["block_genes_x"] - m["block_genes_y"]).abs().max() < 1e-9
    return m


def test_single_population_matches_pyfocus(inputs):
    peer, _ = _pyfocus(inputs, [inputs["d"] / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "single")
    assert len(peer) and peer["block"].nunique() == 2  # chr20 block 2 has no p < 5e-8: skipped by both
    ours = _ours(inputs, [_pop(inputs, 1)])
    m = _compare(ours, peer, "pop1", "pop1")
    assert (m["ldregion"] == m["ldregion_pop1"]).all()
    assert (m["tx_start_x"].astype(float) - m["tx_start_y"]).fillna(0).abs().max() == 0
    # the strongest TWAS signal gets a non-trivial PIP: the comparison is not all zeros
    assert m["pip"].max() > 0.3 and m["twas_z"].abs().max() > 3


def test_two_ancestries_match_pyfocus(inputs):
    d = inputs["d"]
    peer, _ = _pyfocus(inputs, [d / "gwas1.tsv", d / "gwas2.tsv"], [d / "panel1", d / "panel2"],
                       inputs["db"], "multi")
    assert len(peer) and "pips_me" in peer
    ours = _ours(inputs, [_pop(inputs, 1, True), _pop(inputs, 2, True)])
    for pop, suf in (("pop1", "pop1"), ("pop2", "pop2"), ("me", "me")):
        _compare(ours, peer, pop, suf)
    # the two populations really differ, and the joint PIPs are not one population's
    a = ours[ours.population == "pop1"].set_index(["block", "model_id"])["pip"]
    b = ours[ours.population == "pop2"].set_index(["block", "model_id"])["pip"]
    assert np.abs(a - b.reindex(a.index)).max() > 1e-3


def test_engines_agree(inputs, spark):
    """local, dask and spark runners give identical frames (two ancestries: the heaviest kernel)."""
    pops = [_pop(inputs, 1, True), _pop(inputs, 2, True)]
    a = _ours(inputs, pops)
    b = _ours(inputs, pops, engine="dask")
    pd.testing.assert_frame_equal(a, b)
    from locusflow.engine.runner import run_worklist
    from locusflow.finemap.focus_io import focus_kernel
    blocks = pd.read_csv(inputs["d"] / "blocks.bed", sep=r"\s+", dtype={"chrom": str})
    units = [dict(unit_id=f"{b.chrom}:{b.start}", cost=1.0, chrom=b.chrom, start=int(b.start), stop=int(b.stop))
             for b in blocks.itertuples()]
    c = run_worklist(units, focus_kernel, "focus_results", engine="spark", spark=spark,
                     kwargs=dict(pops=pops, params={}))
    pd.testing.assert_frame_equal(a, c)


def test_geneless_block_pyfocus_aborts_we_continue(inputs, realdata):
    """pyfocus raises a bare Warning when no GENCODE gene overlaps a block, which its run loop catches as an
    error: every later block is lost. We log it and use prior 1e-3 (what pyfocus's message announces)."""
    d = inputs["d"]
    g = pd.read_csv(realdata / "gene_annotation" / "gencode_map_v38.tsv", sep="\t", dtype={"chrom": str})
    in_b1 = (g["chrom"] == "20") & (g["start"] < 20959710) & (g["stop"] > 18972203)
    g[~in_b1].to_csv(d / "no_chr20.tsv", sep="\t", index=False)  # no gene in the first chr20 block
    peer, log = _pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "geneless",
                         "--prior-prob", d / "no_chr20.tsv")
    assert "No genes found on chromosome 20" in log
    assert not len(peer) or not peer["block"].str.startswith("22").any()   # pyfocus lost chr22
    ours = _ours(inputs, [_pop(inputs, 1)], prior=str(d / "no_chr20.tsv"))
    assert set(ours["block"].str[:2]) == {"20", "22"}
    assert np.allclose(ours.loc[ours.block.str.startswith("20"), "block_genes"], 1000)
    full, _ = _pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "single")
    _compare(ours[ours.block.str.startswith("22")], full[full.block.str.startswith("22")], "pop1", "pop1")


def test_intercept_pyfocus_crashes_ours_orthogonal(inputs):
    """pyfocus 0.802 ``--intercept`` refers to undefined names (NameError) and writes no results. Ours
    regresses the TWAS z on the tagged-pleiotropy intercept by GLS: the residual is Omega^+-orthogonal to it."""
    d = inputs["d"]
    peer, log = _pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "intercept",
                         "--intercept")
    assert not len(peer) and "ERROR" in log
    from locusflow.finemap.focus import focus_block
    from locusflow.finemap.focus_io import load_population
    from locusflow.finemap.focus_model import expression_correlation
    import scipy.linalg as lin
    pop = load_population(_pop(inputs, 1), "22", 19912358, 22357325)
    res, data = focus_block({"chrom": "22", "start": 19912358, "stop": 22357325}, [pop], prior_prob=0.01,
                            intercept=True, return_data=True)
    D = data[0]
    _, swld = expression_correlation(D["W"], D["V"], True)
    a = swld.sum(1)
    assert abs(a @ lin.pinvh(D["wcor"]) @ D["twas_z"]) < 1e-8 * np.abs(a).sum() * np.abs(D["twas_z"]).sum()
    assert np.isfinite(res["inter_z"].dropna()).all() and res["inter_z"].notna().any()


def test_focus_db_reader_holds_the_predictdb_weights(inputs):
    """Every weight pyfocus imported is read back (gene, rsid, alleles, value) from the FOCUS SQLite."""
    import sqlite3
    from locusflow.io.focus_db import read_focus_db, read_focus_models
    w = read_focus_db(inputs["db"][0])
    pdb = pd.read_sql("select * from weights", sqlite3.connect(inputs["d"] / "predict1.db"))
    pdb["gene"] = pdb["gene"].str.split(".").str[0]  # pyfocus stores the unversioned Ensembl id
    m = pdb.merge(w, on=["gene", "rsid"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    assert np.abs(m["weight_x"] - m["weight_y"]).max() == 0
    assert (m["eff_allele"] == m["effect_allele"]).all() and (m["ref_allele"] == m["other_allele"]).all()
    md = read_focus_models(inputs["db"][0])
    assert md["model_id"].is_unique and len(md) == pdb["gene"].nunique()


def test_twas_weight_import_reads_focus_databases(inputs, tmp_path, caplog):
    """`import_weights` takes a FOCUS database like a PredictDB one; importing it twice is deduplicated
    with a warning, never multiplied."""
    from locusflow.io.dataset import read_dataset
    from locusflow.io.focus_db import read_focus_db
    from locusflow.io.weights import import_weights
    db = inputs["db"][0]
    direct = read_focus_db(db)
    w = import_weights([{"focus": db}, {"focus": db}], tmp_path / "w")
    assert len(w) == len(direct) and set(w["model_id"]) == set(direct["model_id"])
    back = read_dataset(tmp_path / "w", "weights")
    assert len(back) == len(direct) and (back["source"] == "focus").all()
    key = ["model_id", "rsid"]
    m = direct.merge(back, on=key, suffixes=("", "_back"))
    assert len(m) == len(direct) and (m["weight"] == m["weight_back"]).all()


def test_bad_weight_database_is_a_clear_error(tmp_path):
    from locusflow.errors import InputError
    from locusflow.io.focus_db import read_focus_db
    bad = tmp_path / "not_focus.db"
    import sqlite3
    sqlite3.connect(bad).execute("create table weights (rsid text)").connection.commit()
    with pytest.raises(InputError, match="missing"):
        read_focus_db(bad)


def test_cli_writes_results_tsv_and_plots(inputs, tmp_path):
    """`locusflow focus` end to end: Parquet results (schema focus_results), pyfocus-layout TSV at full
    precision with pyfocus's numbers, PNG + PDF per block; a missing input exits 2 and writes nothing."""
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    d = inputs["d"]
    out = tmp_path / "focus"
    rc = main(["focus", "--store", str(inputs["store"]), "--sumstats", str(d / "sumstats1"), "--weights",
               str(inputs["db"][0]), "--out", str(out), "--plot", "--blocks", str(d / "blocks.bed")])
    assert rc == 0
    res = read_dataset(out / "focus" / "results", "focus_results")
    tsv = pd.read_csv(out / "focus" / "focus.tsv", sep="\t", dtype={"chrom": str})
    peer, _ = _pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "single")
    m = tsv.merge(peer, on=["block", "ens_gene_id", "tissue"])
    assert len(m) == len(peer) == len(res)
    assert np.abs(m["pips_pop1_x"] - m["pips_pop1_y"]).max() < TOL
    assert np.abs(m["twas_z_pop1_x"] - m["twas_z_pop1_y"]).max() < TOL
    pngs = sorted((out / "focus" / "plots").glob("*.png"))
    assert len(pngs) == 2 and len(list((out / "focus" / "plots").glob("*.pdf"))) == 2
    assert all(p.stat().st_size > 10_000 for p in pngs)
    rc = main(["focus", "--store", str(inputs["store"]), "--sumstats", str(d / "sumstats1"), "--weights",
               str(d / "absent.db"), "--out", str(tmp_path / "bad"), "--blocks", str(d / "blocks.bed")])
    assert rc == 2 and not (tmp_path / "bad" / "focus").exists()


def test_duplicated_models_stay_separate(inputs):
    """The same PredictDB imported twice gives two FOCUS models with equal gene, tissue, method and panel.
    pyfocus groups them into one model and joins their weights SNP by SNP (duplicated rows), so its TWAS z
    changes; we keep two models, each with the TWAS z of the single import (pyfocus's own value there)."""
    import shutil
    d = inputs["d"]
    shutil.copy(inputs["db"][0], d / "dup.db")
    fh.focus_import(inputs["py"], d / "predict1.db", d / "dup", inputs["genes"])
    single, _ = _pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "single")
    dup, _ = _pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [d / "dup.db"], "dup")
    ours = _ours(inputs, [dict(_pop(inputs, 1), weights=str(d / "dup.db"))])
    genes = ours[ours.model_id != "NULL.MODEL"]
    assert genes["model_id"].str.contains("#").all() and len(genes) == 2 * (len(single) - single.block.nunique())
    m = genes.merge(single, on=["block", "ens_gene_id"])
    assert np.abs(m["twas_z"] - m["twas_z_pop1"]).max() < TOL
    md = dup.merge(single, on=["block", "ens_gene_id"])
    assert len(dup) == len(single) and np.abs(md["twas_z_pop1_x"] - md["twas_z_pop1_y"]).max() > 1e-3


def test_pipeline_stage_runs_and_skips_when_unchanged(inputs, tmp_path):
    """`locusflow run` with stage focus: results written once, skipped on an unchanged rerun."""
    from locusflow.pipeline import run_pipeline
    d = inputs["d"]
    cfg = {"out": str(tmp_path), "stages": ["focus"], "engine": "local",
           "focus": {"blocks": str(d / "blocks.bed"), "populations": [
               {"store": str(inputs["store"]), "sumstats": str(d / "sumstats1"), "weights": str(inputs["db"][0])}]}}
    first = run_pipeline(cfg)
    assert first["focus"]["blocks_fine_mapped"] == 2 and (tmp_path / "focus" / "results" / "_SUCCESS").exists()
    assert run_pipeline(cfg)["focus"] == "skipped"


def test_multi_ancestry_gene_order(inputs):
    """Population 2's database gives the genes other positions (order reversed along each chromosome).
    pyfocus sorts each population by its own tx_start and then pairs genes by row number, so it combines
    different genes' Bayes factors; we match genes by identity, so the joint PIPs do not change (they equal
    pyfocus's own joint PIPs on the consistent databases)."""
    d = inputs["d"]
    g2 = inputs["genes"].copy()
    for c, idx in g2.groupby("chrom").groups.items():  # loop over 2 chromosomes
        g2.loc[idx, "start"] = np.sort(g2.loc[idx, "start"].to_numpy())[::-1][np.argsort(np.argsort(g2.loc[idx, "start"].to_numpy()))]
    g2["end"] = g2["start"] + 1000
    (d / "weights2r.db").unlink(missing_ok=True)
    db2r = fh.run_pyfocus(inputs["py"], ["import", d / "predict2.db", "predixcan", "--name", "gtex", "--tissue",
                                         "whole_blood", "-o", d / "weights2r"], g2, d)
    assert (d / "weights2r.db").exists(), db2r.stderr[-2000:]
    gw, refs = [d / "gwas1.tsv", d / "gwas2.tsv"], [d / "panel1", d / "panel2"]
    good, _ = _pyfocus(inputs, gw, refs, inputs["db"], "multi")
    bad, _ = _pyfocus(inputs, gw, refs, [inputs["db"][0], d / "weights2r.db"], "multi_rev")
    ours = _ours(inputs, [_pop(inputs, 1, True), dict(_pop(inputs, 2, True), weights=str(d / "weights2r.db"))])
    _compare(ours, good, "me", "me")
    mb = bad.merge(good, on=["block", "ens_gene_id"])
    assert np.abs(mb["pips_me_x"] - mb["pips_me_y"]).max() > 1e-3  # pyfocus's pairing changed its answer
