"""Semi-synthetic genome for the FOCUS benchmark: real 1000G EUR genotypes, real block boundaries, real
GENCODE positions, simulated eQTL weights and trait.

- Blocks: the first ``n_blocks`` FOCUS GRCh37 EUR blocks (pyfocus 0.802), real coordinates.
- Panel: block b reuses the genotypes (489 samples) of polypred window ``b mod 22`` (1000G chrN:20-21 Mb),
  thinned to every ``thin``-th SNP, positions spread over the block keeping their order and spacing,
  rsids ``rs<block>_<i>``; written as one PLINK fileset.
- Genes: GENCODE v18 protein-coding genes whose TSS lies in the block (real chrom and positions); weights:
  3-15 panel SNPs within 500 kb of the TSS (nearest 30 SNPs if fewer), N(0, 1) effects, random effect allele.
- Trait: per block one causal gene drawn at random; GWAS z ~ N(lam V w_c / sqrt(w_c' V w_c), V), V the
  panel LD of the window (the FOCUS model), lam = ``strength``.
- Weights written into a FOCUS SQLite database whose tables pyfocus itself creates (``pyfocus.load_db``).
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

REAL = Path(os.environ.get("LOCUSFLOW_REALDATA", Path(__file__).resolve().parents[1].parent / "shared" / "realdata"))
WIN = REAL / "polyfun_1kg_eur" / "polypred_example"


def pack_bed(counts: np.ndarray) -> bytes:
    """PLINK 1 .bed (SNP-major) of A1 counts (variants x samples, -1 missing)."""
    code = np.select([counts == 2, counts == 1, counts == 0], [0, 2, 3], 1).astype(np.uint8)
    n = code.shape[1]
    pad = (-n) % 4
    code = np.pad(code, ((0, 0), (0, pad)), constant_values=0).reshape(len(code), -1, 4)
    packed = code[:, :, 0] | (code[:, :, 1] << 2) | (code[:, :, 2] << 4) | (code[:, :, 3] << 6)
    return bytes([0x6C, 0x1B, 0x01]) + packed.astype(np.uint8).tobytes()


def windows(thin: int):
    from locusflow.io.plink import BedReader
    out = []
    for c in range(1, 23):  # 22 windows
        prefix = WIN / f"1000G.subset.{c}"
        bim = pd.read_csv(f"{prefix}.bim", sep=r"\s+", header=None, names=["chrom", "snp", "cm", "pos", "a1", "a2"])
        g = BedReader(prefix).read(0, len(bim))
        keep = np.arange(0, len(bim), thin)
        gk = g[keep].astype(float)
        gk[gk < 0] = np.nan
        poly = np.nanvar(gk, 1) > 0
        keep = keep[poly]
        x = g[keep].astype(float)
        x[x < 0] = np.nan
        x = np.where(np.isnan(x), np.nanmean(x, 1, keepdims=True), x)
        V = np.corrcoef(x)
        e, U = np.linalg.eigh(V)
        L = U * np.sqrt(np.clip(e, 0, None))
        out.append(dict(bim=bim.iloc[keep].reset_index(drop=True), g=g[keep], V=V, L=L))
    return out


def build(work: Path, n_blocks=1700, thin=8, strength=9.0, seed=1, pyfocus_py=None, genes_per_block=None) -> dict:
    """Write the inputs into ``work`` (once: a finished build is reused); ``genes_per_block`` keeps at most
    that many genes (the first by TSS) in each block. Truth is keyed by ``block_id`` (the BED row ``s e``
    is the block [s + 1, e + 1), locusflow.ld.blocks)."""
    from locusflow.ld.blocks import block_id
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    if (work / "done").exists():
        return pd.read_json(work / "done", typ="series").to_dict()
    rng = np.random.default_rng(seed)
    wins = windows(thin)
    blocks = pd.read_csv(REAL / "ld_blocks" / "pyfocus" / "grch37.eur.loci.bed", sep=r"\s+",
                         dtype={"chrom": str}).iloc[:n_blocks].reset_index(drop=True)
    genes = pd.read_csv(REAL / "gene_annotation" / "gencode.v18.grch37.protein_coding.tsv", sep="\t", header=None,
                        names=["chrom", "strand", "start", "end", "gene", "name", "type", "status"])
    genes["chrom"] = genes["chrom"].str.replace("chr", "")
    genes["tss"] = np.where(genes["strand"] == "+", genes["start"], genes["end"])
    genes = genes.drop_duplicates("name")
    bims, beds, ss, wrows, feats, truth = [], [], [], [], [], []
    for b in blocks.itertuples():  # loop over blocks
        w = wins[b.Index % 22]
        n = len(w["bim"])
        frac = (w["bim"]["pos"].to_numpy() - 20_000_000) / 1_000_000
        pos = b.start + 1 + np.floor(frac * (b.stop - b.start - n - 2)).astype(np.int64) + np.arange(n)
        bim = pd.DataFrame({"chrom": b.chrom, "snp": [f"rs{b.Index}_{i}" for i in range(n)], "cm": 0, "pos": pos,
                            "a1": w["bim"]["a1"].to_numpy(), "a2": w["bim"]["a2"].to_numpy()})
        bims.append(bim)
        beds.append(w["g"])
        gb = genes[(genes["chrom"] == b.chrom) & (genes["tss"] >= b.start) & (genes["tss"] < b.stop)]
        if genes_per_block is not None:
            gb = gb.sort_values("tss", kind="stable").iloc[:genes_per_block]
        W = []
        for g in gb.itertuples():  # loop over genes
            d = np.abs(pos - g.tss)
            cand = np.flatnonzero(d <= 500_000)
            if len(cand) < 3:
                cand = np.argsort(d)[:30]
            k = int(rng.integers(3, 16))
            pick = np.sort(rng.choice(cand, size=min(k, len(cand)), replace=False))
            eff = rng.normal(size=len(pick))
            wv = np.zeros(n)
            wv[pick] = eff
            W.append(wv)
            flip = rng.random(len(pick)) < 0.5
            wrows.append(pd.DataFrame({"gene": g.gene.split(".")[0], "snp": bim["snp"].to_numpy()[pick],
                                       "chrom": b.chrom, "pos": pos[pick],
                                       "effect_allele": np.where(flip, bim["a2"].to_numpy()[pick], bim["a1"].to_numpy()[pick]),
                                       "alt_allele": np.where(flip, bim["a1"].to_numpy()[pick], bim["a2"].to_numpy()[pick]),
                                       "effect": np.where(flip, -eff, eff)}))
            feats.append((g.gene.split(".")[0], g.name, b.chrom, int(g.start), int(g.end)))
        mu = np.zeros(n)
        if W:
            c = int(rng.integers(len(W)))
            wc = W[c]
            mu = strength * (w["V"] @ wc) / np.sqrt(wc @ w["V"] @ wc)
            truth.append((block_id(b.chrom, b.start + 1, b.stop + 1), gb.iloc[c]["gene"].split(".")[0]))
        z = mu + w["L"] @ rng.normal(size=n)  # z ~ N(mu, V), effect allele a1 (PLINK A1 = alt)
        ss.append(pd.DataFrame({"chrom": b.chrom, "pos": pos, "rsid": bim["snp"], "alt": bim["a1"], "ref": bim["a2"], "z": z}))
    bim = pd.concat(bims, ignore_index=True)
    bim.to_csv(work / "panel.bim", sep="\t", header=False, index=False)
    fam = pd.read_csv(WIN / "1000G.subset.1.fam", sep=r"\s+", header=None)
    fam.to_csv(work / "panel.fam", sep=" ", header=False, index=False)
    (work / "panel.bed").write_bytes(pack_bed(np.concatenate(beds)))
    s = pd.concat(ss, ignore_index=True)
    s["variant_id"] = s["chrom"] + ":" + s["pos"].astype(str) + ":" + s["ref"] + ":" + s["alt"]
    s = s.assign(beta=np.nan, se=np.nan, p=np.nan, n=100_000.0, af=np.nan, info=np.nan, genome_build="GRCh37")
    from locusflow.io.dataset import write_dataset
    write_dataset(s, work / "sumstats", "sumstats", mode="overwrite")
    pd.DataFrame({"CHR": s["chrom"], "SNP": s["rsid"], "BP": s["pos"], "A1": s["alt"], "A2": s["ref"], "Z": s["z"],
                  "N": s["n"]}).to_csv(work / "gwas.tsv.gz", sep="\t", index=False, float_format="%.17g")
    blocks.to_csv(work / "blocks.bed", sep=" ", index=False)
    pd.DataFrame(truth, columns=["block_id", "gene"]).to_csv(work / "truth.tsv", sep="\t", index=False)
    write_focus_db(work / "weights.db", pd.concat(wrows, ignore_index=True), feats, rng, pyfocus_py)
    from locusflow.io.genotypes import ingest_plink
    ingest_plink(work / "panel", work / "panel.vcz")
    info = {"n_blocks": len(blocks), "n_snps": len(bim), "n_genes": len(feats), "n_causal": len(truth)}
    pd.Series(info).to_json(work / "done")
    return info


DDL = """
create table refpanel (id integer primary key, ref_name varchar(128) not null, tissue varchar(128) not null,
  assay varchar(128));
create table molecularfeature (id integer primary key, ens_gene_id varchar(64) not null, ens_tx_id varchar(64),
  mol_name varchar(64), type varchar(64), chrom varchar(10) not null, tx_start integer, tx_stop integer);
create table model (id integer primary key, inference varchar(128) not null, ref_id integer references refpanel(id),
  mol_id integer references molecularfeature(id));
create table modelattribute (id integer primary key, attr_name varchar(128) not null, value float,
  model_id integer references model(id));
create table weight (id integer primary key, snp varchar(128) not null, chrom varchar(2) not null,
  pos integer not null, effect_allele varchar(32) not null, alt_allele varchar(32) not null, effect float not null,
  std_error float, model_id integer references model(id));
"""


def write_focus_db(path: Path, w: pd.DataFrame, feats, rng, pyfocus_py) -> None:
    """FOCUS SQLite: tables created by pyfocus's own ``load_db``, rows bulk-inserted."""
    path.unlink(missing_ok=True)
    if pyfocus_py is not None:
        subprocess.run([str(pyfocus_py), "-c", f"import pyfocus; pyfocus.load_db({str(path)!r}).close()"],
                       check=True, capture_output=True)
    con = sqlite3.connect(path)
    if pyfocus_py is None:  # the same tables as pyfocus/models/db.py declares
        con.executescript(DDL)
    con.execute("insert into refpanel (id, ref_name, tissue, assay) values (1, 'sim', 'tissue', 'rnaseq')")
    ids = {g[0]: i + 1 for i, g in enumerate(feats)}
    con.executemany("insert into molecularfeature (id, ens_gene_id, ens_tx_id, mol_name, type, chrom, tx_start, tx_stop)"
                    " values (?, ?, NULL, ?, 'protein_coding', ?, ?, ?)", [(ids[g[0]], *g) for g in feats])
    con.executemany("insert into model (id, inference, ref_id, mol_id) values (?, 'ElasticNet', 1, ?)",
                    [(i, i) for i in ids.values()])
    r2 = rng.uniform(0.01, 0.5, len(ids))
    con.executemany("insert into modelattribute (attr_name, value, model_id) values (?, ?, ?)",
                    [("cv.R2", float(r), i) for r, i in zip(r2, ids.values())]
                    + [("cv.R2.pval", 1e-5, i) for i in ids.values()])
    con.executemany("insert into weight (snp, chrom, pos, effect_allele, alt_allele, effect, std_error, model_id)"
                    " values (?, ?, ?, ?, ?, ?, NULL, ?)",
                    zip(w["snp"], w["chrom"], w["pos"].astype(int).tolist(), w["effect_allele"], w["alt_allele"],
                        w["effect"].astype(float).tolist(), w["gene"].map(ids).tolist()))
    con.commit()
    con.close()
