"""Helpers of the FOCUS-vs-pyfocus tests.

Inputs (real data): panel = 1000G EUR chr20:20-21 Mb + chr22:20-21 Mb (examples/, polyfun polypred windows);
sumstats = the BOLT-LMM GWAS of the same SNPs (rsids harmonised to the panel, as munging does); weights =
simulated sparse cis-eQTL weights at the real GENCODE v18 positions of every protein-coding gene near the
windows, written as a PredictDB database and imported with pyfocus's own ``focus import`` (offline
gene-position answers, see tests/peers/pyfocus.py). Blocks: the pyfocus GRCh37 EUR blocks overlapping the
windows, read as ``ld_blocks`` intervals; pyfocus gets the equivalent inclusive rows (``start stop-1``,
locusflow.focus.inputs), so both sides fine-map the same SNPs. Prior: pyfocus's default (1 / GENCODE v38
genes in the block), on both sides.

Two ancestries: the 489 samples split into the first and second half of the .fam, each half its own
PLINK panel; population 2 gets its own weight database (same genes, independently perturbed weights) and
its own GWAS z (the BOLT z plus N(0, 0.5^2) noise).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from peers import pyfocus as fh

BLOCKS = "chrom start stop\n20 18972203 20959710\n20 20959710 22491456\n22 19912358 22357325\n"
TOL = 1e-6


def run_pyfocus(inputs, gwas, refs, dbs, out, *extra, blocks="peer_blocks.bed"):
    d = inputs["d"]
    r = fh.run_pyfocus(inputs["py"], ["finemap", ":".join(map(str, gwas)), ":".join(map(str, refs)),
                                      ":".join(map(str, dbs)), "--locations", d / blocks, "-o", d / out,
                                      *extra], inputs["genes"], d)
    tsv = d / f"{out}.focus.tsv"
    assert tsv.exists(), r.stdout[-3000:] + r.stderr[-3000:]  # pyfocus logs errors and exits 0
    log = (d / f"{out}.log").read_text()
    if tsv.stat().st_size == 0:
        return fh.with_block_id(pd.DataFrame(columns=["block"])), log
    return fh.with_block_id(pd.read_csv(tsv, sep="\t", dtype={"chrom": str})), log


def units(inputs):
    return [dict(unit_id=b.block_id, cost=1.0, chrom=b.chrom, start=int(b.start), stop=int(b.stop))
            for b in inputs["blocks"].itertuples()]


def run_ours(inputs, pops, engine="local", spark=None, **params):
    from locusflow.engine.runner import run_worklist
    from locusflow.focus.task import focus_unit
    return run_worklist(units(inputs), focus_unit, "focus_results", engine=engine, spark=spark,
                        kwargs=dict(pops=pops, **params), progress=False)


def pop(inputs, i, samples=False, **kw):
    d = inputs["d"]
    p = dict(store=str(inputs["store"]), sumstats=str(d / f"sumstats{i}"), weights=str(inputs["db"][i - 1]),
             name=f"pop{i}")
    if samples:
        p["samples"] = inputs["samples"][i - 1]
    return {**p, **kw}


def compare(ours, peer, population, suffix):
    o = ours[ours["population"] == population]
    m = o.merge(peer, on=["block_id", "ens_gene_id", "tissue"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["block_id", "ens_gene_id", "_merge"]]
    assert np.abs(m["pip"] - m[f"pips_{suffix}"]).max() < TOL
    if population != "me":
        assert np.abs(m["twas_z"] - m[f"twas_z_{suffix}"]).max() < TOL
        assert np.abs(m["cv_r2"] - m[f"cv.R2_{suffix}"]).fillna(0).max() < TOL
    assert (m["in_cred_set"] == m[f"in_cred_set_{suffix}"]).all()
    assert (m["block_genes_x"] - m["block_genes_y"]).abs().max() < 1e-9
    return m
