"""Benchmark: the `twas` stage with ``ld_reference: store`` (panel LD from the genotype store) at genome scale.

Inputs are bench/twas.py's generated PredictDB database (2,000 genes x 40 SNPs) and 580k-row GWAS, placed on
the genome: GWAS SNP i of chromosome c (22 chromosomes, equal counts) sits at an even spacing across the span
of the LDetect EUR blocks of c, so models span ~1.5 Mb as cis-windows do and the 1,703 LDetect blocks
(shipped copy, ``locusflow.ld.blocks.published_file('EUR')``) group them. The genotype store is a PLINK
fileset written here (``--samples`` samples, independent SNPs at allele frequencies U(0.05, 0.5)) of every
SNP some model uses, ingested with ``locusflow.io.genotypes.ingest_plink``. Runs the stage ``--repeat`` times
(the first imports the weights; later runs reuse the import) and prints the time per run, per block and
per work unit.

    PYTHONPATH=lib python bench/twas_store.py DIR [--samples 200] [--blocks-per-unit 8] [--repeat 3]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import twas as B  # noqa: E402  (bench/twas.py: make_inputs)

from locusflow.io.dataset import read_dataset, write_dataset  # noqa: E402
from locusflow.io.genotypes import ingest_plink  # noqa: E402
from locusflow.io.weights import read_predictdb  # noqa: E402
from locusflow.ld.blocks import published_file, read_block_bed  # noqa: E402
from locusflow.pipeline import Context  # noqa: E402


def write_plink(prefix: Path, bim: pd.DataFrame, n_samples: int, rng) -> None:
    """A PLINK 1 fileset of independent SNPs (A1 counts binomial(2, af)); .bed codes 00/10/11 = 2/1/0 A1."""
    af = rng.uniform(0.05, 0.5, len(bim))
    a1 = rng.binomial(2, af[:, None], (len(bim), n_samples)).astype(np.uint8)
    code = np.array([3, 2, 0], np.uint8)[a1]                      # A1 count -> 2-bit code
    pad = (-n_samples) % 4
    code = np.pad(code, ((0, 0), (0, pad)), constant_values=0).reshape(len(bim), -1, 4)
    packed = (code[..., 0] | (code[..., 1] << 2) | (code[..., 2] << 4) | (code[..., 3] << 6)).astype(np.uint8)
    with open(f"{prefix}.bed", "wb") as f:
        f.write(bytes([0x6C, 0x1B, 0x01]))
        f.write(packed.tobytes())
    bim[["chrom", "rsid", "cm", "pos", "a1", "a2"]].to_csv(f"{prefix}.bim", sep="\t", header=False, index=False)
    ids = [f"S{i}" for i in range(n_samples)]
    pd.DataFrame({"fid": ids, "iid": ids, "p": 0, "m": 0, "s": 0, "y": -9}).to_csv(
        f"{prefix}.fam", sep=" ", header=False, index=False)


def make(d: Path, n_samples: int, seed: int = 7) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "gwas.txt").exists():
        B.make_inputs(d, 2000, 40, 580000)
    out = d / "out"
    if (out / "genotypes.vcz").exists() and (out / "sumstats").exists():
        return out
    g = pd.read_csv(d / "gwas.txt", sep="\t")
    num = g["SNP"].str[2:].astype(np.int64).to_numpy() - 1      # rs{i+1}: the i-th generated SNP
    blocks = read_block_bed(published_file("EUR"))
    chroms = [str(c) for c in range(1, 23)]
    per = -(-580000 // 22)
    span = blocks.groupby("chrom").agg(lo=("start", "min"), hi=("stop", "max")).loc[chroms]
    k = num // per
    step = ((span["hi"] - span["lo"]).to_numpy() // per)[k]
    pos = span["lo"].to_numpy()[k] + (num % per) * step
    ss = pd.DataFrame({"chrom": np.array(chroms)[k], "pos": pos, "ref": g.A2, "alt": g.A1, "rsid": g.SNP,
                       "z": g.ZSCORE, "beta": g.BETA, "genome_build": "GRCh37", "se": np.nan, "p": np.nan,
                       "n": np.nan, "af": np.nan, "info": np.nan})
    ss["variant_id"] = ss.chrom + ":" + ss.pos.astype(str) + ":" + ss.ref + ":" + ss.alt
    write_dataset(ss, out / "sumstats", "sumstats", mode="overwrite")
    used = set(read_predictdb(d / "model.db")["rsid"])
    bim = ss[ss["rsid"].isin(used)].rename(columns={"alt": "a1", "ref": "a2"}).assign(cm=0)
    bim = bim.sort_values(["chrom", "pos"], key=lambda s: s.astype(int) if s.name == "chrom" else s)
    write_plink(d / "panel", bim, n_samples, np.random.default_rng(seed))
    ingest_plink(d / "panel", out / "genotypes.vcz")
    return out


def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("dir", type=Path)
    a.add_argument("--samples", type=int, default=200)
    a.add_argument("--blocks-per-unit", type=int, default=None)
    a.add_argument("--method", default="spredixcan")
    a.add_argument("--repeat", type=int, default=3)
    a.add_argument("--results", type=Path, help="copy the last run's results here (parquet)")
    args = a.parse_args(argv)
    import locusflow.twas.stage as S
    out = make(args.dir, args.samples)
    sec = {"weights": [{"predictdb": str(args.dir / "model.db")}], "ld_reference": "store",
           "method": args.method, "blocks": str(published_file("EUR"))}
    if args.blocks_per_unit:
        sec["blocks_per_unit"] = args.blocks_per_unit
    shutil.rmtree(out / "twas", ignore_errors=True)
    for i in range(args.repeat):
        t = time.perf_counter()
        r = S._run(Context({"out": str(out), "engine": "local", "twas": sec}))
        dt = time.perf_counter() - t
        res = read_dataset(out / "twas" / "results", "twas_results")
        nb = res["block_id"].nunique()
        print(f"run {i}: {dt:.2f} s  {r['models']} models ({res['model_id'].nunique()} distinct), "
              f"{r['tested']} tested, {nb} blocks, {r['units']} units: {dt / max(nb, 1) * 1e3:.1f} ms per block, "
              f"{dt / max(r['units'], 1) * 1e3:.1f} ms per unit", flush=True)
    if args.results:
        res.to_parquet(args.results)


if __name__ == "__main__":
    main()
