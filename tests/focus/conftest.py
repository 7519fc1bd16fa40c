"""Shared FOCUS-vs-pyfocus inputs (real data, built once per test session; see focus_cases.py)."""
from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLES, apt_tool, peer_venv
from peers import pyfocus as fh

from focus_cases import BLOCKS


@pytest.fixture(scope="session")
def inputs(realdata, tmp_path_factory):
    from locusflow.io.dataset import write_dataset
    from locusflow.io.genotypes import ingest_plink
    from locusflow.io.plink import BedReader
    from locusflow.ld.blocks import resolve_blocks
    py = peer_venv("pyfocus", fh.PYFOCUS_REQ)
    plink = apt_tool("plink1.9", "plink1.9")
    d = tmp_path_factory.mktemp("focus")
    prefix = EXAMPLES / "1000G_EUR_chr20_22"
    bim = fh.read_bim(prefix)
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None)
    halves = [fam.iloc[: len(fam) // 2], fam.iloc[len(fam) // 2:]]
    # weight SNPs polymorphic in both halves (pyfocus puts NaN into LD for a monomorphic SNP and loses
    # the block; we drop such SNPs)
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
    for i, h in enumerate(halves, 1):
        h[[0, 1]].to_csv(d / f"keep{i}.txt", sep=" ", header=False, index=False)
        subprocess.run([plink, "--bfile", str(prefix), "--keep", str(d / f"keep{i}.txt"), "--make-bed",
                        "--out", str(d / f"panel{i}")], check=True, capture_output=True)
    (d / "blocks.bed").write_text(BLOCKS)
    blocks = resolve_blocks(d / "blocks.bed")
    fh.write_peer_blocks(blocks, d / "peer_blocks.bed")
    return dict(d=d, py=py, genes=genes, db=[db1, db2], store=store, prefix=prefix, blocks=blocks,
                samples=[h[1].astype(str).tolist() for h in halves])
