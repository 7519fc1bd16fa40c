"""FOCUS vs pyfocus 0.802 (``focus finemap``) on identical inputs (see focus_cases.py for the inputs and the
block equivalence)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peers import pyfocus as fh

from focus_cases import TOL, compare, pop, run_ours, run_pyfocus


def test_single_population_matches_pyfocus(inputs):
    peer, _ = run_pyfocus(inputs, [inputs["d"] / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "single")
    assert len(peer) and peer["block"].nunique() == 2  # chr20 block 2 has no p < 5e-8: skipped by both
    ours = run_ours(inputs, [pop(inputs, 1)])
    m = compare(ours, peer, "pop1", "pop1")
    assert (m["ldregion"] == m["ldregion_pop1"]).all()
    assert (m["tx_start_x"].astype(float) - m["tx_start_y"]).fillna(0).abs().max() == 0
    # the strongest TWAS signal gets a non-trivial PIP: the comparison is not all zeros
    assert m["pip"].max() > 0.3 and m["twas_z"].abs().max() > 3


def test_two_ancestries_match_pyfocus(inputs):
    d = inputs["d"]
    peer, _ = run_pyfocus(inputs, [d / "gwas1.tsv", d / "gwas2.tsv"], [d / "panel1", d / "panel2"],
                       inputs["db"], "multi")
    assert len(peer) and "pips_me" in peer
    ours = run_ours(inputs, [pop(inputs, 1, True), pop(inputs, 2, True)])
    for name, suf in (("pop1", "pop1"), ("pop2", "pop2"), ("me", "me")):
        compare(ours, peer, name, suf)
    # the two populations really differ, and the joint PIPs are not one population's
    a = ours[ours.population == "pop1"].set_index(["block_id", "model_id"])["pip"]
    b = ours[ours.population == "pop2"].set_index(["block_id", "model_id"])["pip"]
    assert np.abs(a - b.reindex(a.index)).max() > 1e-3


def test_engines_agree(inputs, spark):
    """local, dask and spark runners give identical frames (two ancestries: the heaviest kernel)."""
    pops = [pop(inputs, 1, True), pop(inputs, 2, True)]
    a = run_ours(inputs, pops)
    b = run_ours(inputs, pops, engine="dask")
    pd.testing.assert_frame_equal(a, b)
    c = run_ours(inputs, pops, engine="spark", spark=spark)
    pd.testing.assert_frame_equal(a, c)


def test_geneless_block_pyfocus_aborts_we_continue(inputs, realdata):
    """pyfocus raises a bare Warning when no GENCODE gene overlaps a block, which its run loop catches as an
    error: every later block is lost. We log it and use prior 1e-3 (what pyfocus's message announces)."""
    d = inputs["d"]
    g = pd.read_csv(realdata / "gene_annotation" / "gencode_map_v38.tsv", sep="\t", dtype={"chrom": str})
    in_b1 = (g["chrom"] == "20") & (g["start"] < 20959710) & (g["stop"] > 18972203)
    g[~in_b1].to_csv(d / "no_chr20.tsv", sep="\t", index=False)  # no gene in the first chr20 block
    peer, log = run_pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "geneless",
                         "--prior-prob", d / "no_chr20.tsv")
    assert "No genes found on chromosome 20" in log
    assert not len(peer) or not peer["block"].str.startswith("22").any()   # pyfocus lost chr22
    ours = run_ours(inputs, [pop(inputs, 1)], prior=str(d / "no_chr20.tsv"))
    assert set(ours["block_id"].str[:2]) == {"20", "22"}
    assert np.allclose(ours.loc[ours.block_id.str.startswith("20"), "block_genes"], 1000)
    full, _ = run_pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "single")
    compare(ours[ours.block_id.str.startswith("22")], full[full.block.str.startswith("22")], "pop1", "pop1")


def test_intercept_pyfocus_crashes_ours_orthogonal(inputs):
    """pyfocus 0.802 ``--intercept`` refers to undefined names (NameError) and writes no results. Ours
    regresses the TWAS z on the tagged-pleiotropy intercept by GLS: the residual is Omega^+-orthogonal to it."""
    d = inputs["d"]
    peer, log = run_pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "intercept",
                         "--intercept")
    assert not len(peer) and "ERROR" in log
    from locusflow.focus.align import PopulationSpan
    from locusflow.focus.inputs import load_population
    from locusflow.focus.model import expression_correlation, focus_block
    import scipy.linalg as lin
    b = inputs["blocks"].iloc[-1]
    sp = PopulationSpan(**load_population(pop(inputs, 1), "22", int(b.start), int(b.stop)))
    D = sp.block(int(b.start), int(b.stop), 0.1)
    keep = np.any(D["W"] != 0, axis=1)
    W, V = D["W"][keep], D["V"][np.ix_(keep, keep)]
    fit = focus_block([D["z"][keep]], [W], [V], prior_prob=0.01, intercept=True)
    _, swld = expression_correlation(W, V, True)
    a, tz = swld.sum(1), fit["twas_z"][0]
    assert abs(a @ lin.pinvh(fit["wcor"][0]) @ tz) < 1e-8 * np.abs(a).sum() * np.abs(tz).sum()
    assert np.isfinite(fit["inter_z"][0])
    res = run_ours(inputs, [pop(inputs, 1)], intercept=True)
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


def test_cli_writes_results_and_tsv(inputs, tmp_path):
    """`locusflow focus` end to end: Parquet results (schema focus_results), pyfocus-layout TSV at full
    precision with pyfocus's numbers (figures are the plots stage's); a missing input exits 2 and writes
    nothing."""
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    d = inputs["d"]
    out = tmp_path / "focus"
    rc = main(["focus", "--store", str(inputs["store"]), "--sumstats", str(d / "sumstats1"), "--weights",
               str(inputs["db"][0]), "--out", str(out), "--blocks", str(d / "blocks.bed")])
    assert rc == 0
    res = read_dataset(out / "focus" / "results", "focus_results")
    tsv = pd.read_csv(out / "focus" / "focus.tsv", sep="\t", dtype={"chrom": str})
    peer, _ = run_pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "single")
    assert (tsv["block"].map(dict(zip(peer["block"], peer["block_id"]))) == tsv["block_id"]).all()
    m = tsv.merge(peer, on=["block", "ens_gene_id", "tissue"])
    assert len(m) == len(peer) == len(res)
    assert np.abs(m["pips_pop1_x"] - m["pips_pop1_y"]).max() < TOL
    assert np.abs(m["twas_z_pop1_x"] - m["twas_z_pop1_y"]).max() < TOL
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
    single, _ = run_pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [inputs["db"][0]], "single")
    dup, _ = run_pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [d / "dup.db"], "dup")
    ours = run_ours(inputs, [dict(pop(inputs, 1), weights=str(d / "dup.db"))])
    genes = ours[ours.model_id != "NULL.MODEL"]
    assert genes["model_id"].str.contains("#").all() and len(genes) == 2 * (len(single) - single.block.nunique())
    m = genes.merge(single, on=["block_id", "ens_gene_id"])
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
    good, _ = run_pyfocus(inputs, gw, refs, inputs["db"], "multi")
    bad, _ = run_pyfocus(inputs, gw, refs, [inputs["db"][0], d / "weights2r.db"], "multi_rev")
    ours = run_ours(inputs, [pop(inputs, 1, True), dict(pop(inputs, 2, True), weights=str(d / "weights2r.db"))])
    compare(ours, good, "me", "me")
    mb = bad.merge(good, on=["block", "ens_gene_id"])
    assert np.abs(mb["pips_me_x"] - mb["pips_me_y"]).max() > 1e-3  # pyfocus's pairing changed its answer
