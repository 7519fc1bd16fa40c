"""pyfocus 0.802 peer: a runner for its `focus` CLI, and inputs for FOCUS tests and benchmarks.

Weights: simulated sparse cis-eQTL weights at real GENCODE v18 (GRCh37) protein-coding gene positions,
written as a PredictDB SQLite database and converted with pyfocus's own ``focus import ... predixcan``.
That command queries the mygene.info web service for gene positions; there is no network here, so the
runner gives pyfocus an offline ``mygene`` module that answers from the same GENCODE v18 table (what the
service would return: symbol and hg19 position). pyfocus's TSV writer rounds to 3 significant digits
(``float_format='%.3g'``); the runner swaps in the same writer with ``%.17g`` so that PIPs and z can be
compared at 1e-6. Everything else is pyfocus's code, unchanged.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PYFOCUS_REQ = ["pyfocus==0.802", "numpy<1.24", "pandas<2", "sqlalchemy<2"]

WRAPPER = r'''
import json, runpy, sys, types
ann = json.load(open(sys.argv[1]))
class MyGeneInfo:
    def querymany(self, genes, **kw):
        out = []
        for g in genes:
            a = ann.get(g)
            if a is None:
                out.append({"query": g, "notfound": True})
            else:
                pos = {"chr": a["chr"], "start": a["start"], "end": a["end"]}
                out.append({"query": g, "symbol": a["symbol"], "genomic_pos_hg19": pos,
                            "genomic_pos": dict(pos, ensemblgene=g), "ensembl": {"gene": g, "type_of_gene": "protein_coding"}})
        return out
sys.modules["mygene"] = types.SimpleNamespace(MyGeneInfo=MyGeneInfo)
import pyfocus
def write_output(results, output, append=False):
    results.to_csv(output, sep="\t", mode="a" if append else "w", header=not append, index=False,
                   na_rep="NA", float_format="%.17g")
pyfocus.write_output = write_output
script = sys.argv[2]
sys.argv = ["focus"] + sys.argv[3:]
runpy.run_path(script, run_name="__main__")
'''


def gencode_genes(realdata: Path, chroms, lo: int, hi: int) -> pd.DataFrame:
    """GENCODE v18 protein-coding genes (GRCh37) on ``chroms`` overlapping [lo, hi]."""
    g = pd.read_csv(realdata / "gene_annotation" / "gencode.v18.grch37.protein_coding.tsv", sep="\t", header=None,
                    names=["chrom", "strand", "start", "end", "gene", "name", "type", "status"])
    g["chrom"] = g["chrom"].str.replace("chr", "")
    g = g[g["chrom"].isin([str(c) for c in chroms]) & (g["end"] > lo) & (g["start"] < hi)]
    return g.drop_duplicates("name").reset_index(drop=True)


def simulate_weights(bim: pd.DataFrame, genes: pd.DataFrame, rng, n_snps=(3, 15), cis=500_000,
                     min_snps=3) -> pd.DataFrame:
    """Sparse weights per gene on panel SNPs within ``cis`` bp of the gene; effect allele drawn at random
    between the two alleles (so alignment flips are exercised)."""
    rows = []
    for g in genes.itertuples():  # loop over genes
        tss = g.start if g.strand == "+" else g.end
        cand = bim[(bim["chrom"] == g.chrom) & (abs(bim["pos"] - tss) <= cis)]
        if len(cand) < min_snps:
            continue
        k = int(rng.integers(n_snps[0], n_snps[1] + 1))
        pick = cand.iloc[np.sort(rng.choice(len(cand), size=min(k, len(cand)), replace=False))]
        flip = rng.random(len(pick)) < 0.5
        eff = np.where(flip, pick["a2"], pick["a1"])
        oth = np.where(flip, pick["a1"], pick["a2"])
        rows.append(pd.DataFrame({"gene": g.gene, "genename": g.name, "chrom": g.chrom, "pos": pick["pos"].values,
                                  "rsid": pick["snp"].values, "eff_allele": eff, "ref_allele": oth,
                                  "weight": rng.normal(0, 1, len(pick))}))
    w = pd.concat(rows, ignore_index=True)
    w["varID"] = w["chrom"] + "_" + w["pos"].astype(str) + "_" + w["ref_allele"] + "_" + w["eff_allele"] + "_b37"
    return w


def write_predictdb(path: Path, w: pd.DataFrame, rng) -> None:
    """A PredictDB-format SQLite (tables weights, extra) as PrediXcan/MetaXcan publish them."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    w[["rsid", "gene", "weight", "ref_allele", "eff_allele", "varID"]].to_sql("weights", con, index=False)
    ex = w.groupby("gene", sort=False).agg(genename=("genename", "first"), n=("rsid", "size")).reset_index()
    ex = pd.DataFrame({"gene": ex["gene"], "genename": ex["genename"], "gene_type": "protein_coding",
                       "n.snps.in.model": ex["n"], "pred.perf.R2": rng.uniform(0.01, 0.5, len(ex)),
                       "pred.perf.pval": 10 ** -rng.uniform(1, 10, len(ex)), "pred.perf.qval": np.nan})
    ex.to_sql("extra", con, index=False)
    con.close()


def run_pyfocus(py: Path, args: list, genes: pd.DataFrame, cwd: Path, timeout=3600) -> subprocess.CompletedProcess:
    """Run the ``focus`` CLI of the peer venv (offline mygene answers from ``genes``)."""
    cwd = Path(cwd)
    ann = {r.gene.split(".")[0]: {"symbol": r.name, "chr": str(r.chrom), "start": int(r.start), "end": int(r.end)}
           for r in genes.itertuples()}
    (cwd / "ann.json").write_text(json.dumps(ann))
    (cwd / "focus_wrapper.py").write_text(WRAPPER)
    script = Path(py).parent / "focus"
    return subprocess.run([str(py), str(cwd / "focus_wrapper.py"), str(cwd / "ann.json"), str(script),
                           *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def focus_import(py, predictdb: Path, out_prefix: Path, genes, name="gtex", tissue="whole_blood"):
    r = run_pyfocus(py, ["import", predictdb, "predixcan", "--name", name, "--tissue", tissue,
                         "-o", out_prefix], genes, Path(out_prefix).parent)
    db = Path(f"{out_prefix}.db")
    assert db.exists(), r.stdout[-2000:] + r.stderr[-2000:]
    return db


def write_focus_gwas(path: Path, ss: pd.DataFrame) -> None:
    """pyfocus munged-sumstats layout (CHR SNP BP A1 A2 Z N), A1 = effect allele, full precision."""
    pd.DataFrame({"CHR": ss["chrom"], "SNP": ss["rsid"], "BP": ss["pos"], "A1": ss["alt"], "A2": ss["ref"],
                  "Z": ss["z"], "N": ss["n"]}).to_csv(path, sep="\t", index=False, float_format="%.17g")


def bolt_sumstats(path: Path, chroms=None, bim: pd.DataFrame | None = None) -> pd.DataFrame:
    """BOLT-LMM sumstats as a ``sumstats``-schema frame (alt = ALLELE1, z = BETA / SE). With ``bim``, rsids
    are harmonised to the panel's at the same chrom:pos (as munging does): pyfocus joins by rsid, we by
    position and alleles, and the BOLT file names a few SNPs differently from the 1000G panel."""
    b = pd.read_csv(path, sep=r"\s+", dtype={"CHR": str})
    if bim is not None:
        rs = bim.set_index(bim["chrom"] + ":" + bim["pos"].astype(str))["snp"]
        b["SNP"] = (b["CHR"] + ":" + b["BP"].astype(str)).map(rs).fillna(b["SNP"])
    if chroms is not None:
        b = b[b["CHR"].isin([str(c) for c in chroms])]
    z = b["BETA"] / b["SE"]
    return pd.DataFrame({"variant_id": b["CHR"] + ":" + b["BP"].astype(str) + ":" + b["ALLELE0"] + ":" + b["ALLELE1"],
                         "chrom": b["CHR"], "pos": b["BP"].astype("int64"), "ref": b["ALLELE0"], "alt": b["ALLELE1"],
                         "rsid": b["SNP"], "z": z, "beta": b["BETA"], "se": b["SE"], "p": b["P_BOLT_LMM"],
                         "n": 337_000.0, "af": b["A1FREQ"], "info": b["INFO"], "genome_build": "GRCh37"}
                        ).reset_index(drop=True)


def read_bim(prefix) -> pd.DataFrame:
    return pd.read_csv(f"{prefix}.bim", sep=r"\s+", header=None, names=["chrom", "snp", "cm", "pos", "a1", "a2"],
                       dtype={"chrom": str})


def python() -> str:
    return sys.executable


def write_peer_blocks(blocks: pd.DataFrame, path: Path) -> None:
    """pyfocus's ``--locations`` file for ``ld_blocks`` intervals: pyfocus keeps ``s <= pos <= e`` of a
    row ``s e``, so the block [start, stop) is the row ``start stop-1`` (locusflow.focus.inputs)."""
    pd.DataFrame({"chrom": blocks["chrom"].astype(str), "start": blocks["start"].astype(np.int64),
                  "stop": blocks["stop"].astype(np.int64) - 1}).to_csv(path, sep=" ", index=False)


def with_block_id(peer: pd.DataFrame) -> pd.DataFrame:
    """pyfocus output with the block_id of its equivalent block (``c:s-c:e`` -> ``c:s-(e+1)``)."""
    if not len(peer):
        return peer.assign(block_id=pd.Series(dtype=object))
    parts = peer["block"].str.extract(r"^(.+):(\d+)-.+:(\d+)$")
    return peer.assign(block_id=parts[0] + ":" + parts[1] + "-" + (parts[2].astype(np.int64) + 1).astype(str))
