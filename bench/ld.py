"""Benchmark: dense per-block LD of the whole polypred panel, locusflow against plink 1.9 --r square.

Panel: 1000 Genomes EUR, 489 samples x 82,448 SNPs in 22 windows of 1 Mb (../shared/realdata
polyfun_1kg_eur/polypred_example). Blocks: by default each 1-Mb window is one block (22 blocks of
2,000-5,000 SNPs); ``--blocks EUR`` uses the LDetect EUR blocks intersected with the windows.

locusflow: ``build_ld`` on the ingested store (read Zarr genotypes, standardise, float32 GEMM,
write each block as a compressed float32 Zarr array), engine local, one BLAS thread.
plink: ``plink1.9 --bfile <block> --r square bin4 --keep-allele-order --threads 1`` once per block
on the same SNP set (its binary float32 output, its fastest square mode; wall time of the process
included). Both run in this one invocation; the script prints both times and the ratio, and checks
that the matrices agree (max |r_ours - r_plink|).

    PYTHONPATH=lib python bench/ld.py [--blocks window|EUR] [--realdata ../shared/realdata]
    PYTHONPATH=lib python bench/ld.py --only 3 --cli      # one 4,435-SNP region, also as a whole command

``--only`` takes a comma list of windows (chromosomes) instead of the first ``--windows``; ``--cli`` also
times ``locusflow ld --store S --out O --blocks <those blocks as a BED file>`` as its own process
(interpreter start, imports, config, the stage's commit), the way a user runs one region.
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from locusflow.io.genotypes import ingest_plink  # noqa: E402
from locusflow.ld.blocks import assign_blocks, published_blocks  # noqa: E402
from locusflow.ld.matrix import build_ld, read_block_ld  # noqa: E402


def _child_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--realdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "realdata"))
    ap.add_argument("--blocks", choices=["window", "EUR"], default="window")
    ap.add_argument("--windows", type=int, default=22, help="first N windows (1..22)")
    ap.add_argument("--only", help="comma list of windows (chromosomes 1..22) instead of the first --windows")
    ap.add_argument("--cli", action="store_true", help="also time the whole `locusflow ld` command")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still removes its temp dir
    src = Path(a.realdata) / "polyfun_1kg_eur" / "polypred_example"
    plink = shutil.which("plink1.9") or sys.exit("plink1.9 not found (apt-get install plink1.9)")
    work = Path(tempfile.mkdtemp(prefix="bench_ld_"))
    try:
        chroms = [int(c) for c in a.only.split(",")] if a.only else range(1, a.windows + 1)
        wins = [src / f"1000G.subset.{c}" for c in chroms]
        (work / "merge.txt").write_text("\n".join(str(w) for w in wins[1:]) + "\n")
        cmd = [plink, "--bfile", str(wins[0]), "--make-bed", "--keep-allele-order", "--out", str(work / "all")]
        if len(wins) > 1:
            cmd[3:3] = ["--merge-list", str(work / "merge.txt")]
        subprocess.run(cmd, check=True, capture_output=True)
        t = time.perf_counter()
        store = ingest_plink(work / "all", work / "g.vcz")
        t_ingest = time.perf_counter() - t
        v = store.variants
        if a.blocks == "window":
            iv = v.groupby("chrom", as_index=False).agg(start=("pos", "min"), stop=("pos", "max"))
            iv["stop"] += 1
        else:
            iv = published_blocks("EUR")
        blocks, block_of = assign_blocks(v, iv, n_samples=store.n_samples, source=a.blocks)
        # plink's inputs: one fileset per block with exactly the block's SNPs (not timed)
        sets = []
        for b in blocks.itertuples():
            ids = v.loc[block_of == b.block_id, "rsid"]
            ids.to_csv(work / "snps.txt", index=False, header=False)
            out = work / f"blk{len(sets)}"
            subprocess.run([plink, "--bfile", str(work / "all"), "--extract", str(work / "snps.txt"),
                            "--make-bed", "--keep-allele-order", "--out", str(out)], check=True, capture_output=True)
            sets.append((b.block_id, out))
        print(f"panel: {len(v)} SNPs x {store.n_samples} samples, {len(blocks)} blocks "
              f"({a.blocks}), largest {blocks['n_variants'].max()} SNPs; ingest {t_ingest:.2f} s (not counted)")

        walls, cpus = {"ours": [], "plink": [], "cli": []}, {"ours": [], "plink": [], "cli": []}
        bed = work / "blocks.bed"
        pd.DataFrame({"c": blocks["chrom"], "s": blocks["start"] - 1, "e": blocks["stop"] - 1}).to_csv(
            bed, sep="\t", header=False, index=False)
        cli = [sys.executable, "-m", "locusflow.cli", "ld", "--store", str(store.path), "--out", str(work / "cli"),
               "--blocks", str(bed)]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "lib")}
        for _ in range(a.repeat):  # alternate the two, keep each one's best (the machine is shared)
            with threadpool_limits(limits=1):
                t, c = time.perf_counter(), time.process_time()
                index = build_ld(store.path, blocks, work / "ld", progress=False)
                walls["ours"].append(time.perf_counter() - t)
                cpus["ours"].append(time.process_time() - c)
            t, c = time.perf_counter(), _child_cpu()
            for _, out in sets:
                subprocess.run([plink, "--bfile", str(out), "--r", "square", "bin4", "--keep-allele-order",
                                "--threads", "1", "--out", str(out)], check=True, capture_output=True)
            walls["plink"].append(time.perf_counter() - t)
            cpus["plink"].append(_child_cpu() - c)
            if a.cli:
                shutil.rmtree(work / "cli", ignore_errors=True)
                t, c = time.perf_counter(), _child_cpu()
                subprocess.run(cli, check=True, capture_output=True, env=env)
                walls["cli"].append(time.perf_counter() - t)
                cpus["cli"].append(_child_cpu() - c)
        t_ours, t_plink = min(walls["ours"]), min(walls["plink"])
        c_ours, c_plink = min(cpus["ours"]), min(cpus["plink"])

        worst = 0.0
        for bid, out in sets:
            var, r = read_block_ld(work / "ld", bid)
            bim = pd.read_csv(f"{out}.bim", sep=r"\s+", header=None)
            m = len(bim)
            pl = np.fromfile(f"{out}.ld.bin", dtype=np.float32).reshape(m, m)
            k = pd.Index(bim[1]).get_indexer(v.set_index("variant_id").loc[var["variant_id"], "rsid"])
            worst = max(worst, float(np.nanmax(np.abs(r - pl[np.ix_(k, k)]))))
        print(f"best of {a.repeat}, wall (cpu) seconds:")
        print(f"locusflow build_ld (1 BLAS thread): {t_ours:8.2f} ({c_ours:.2f})   "
              f"({int(index['n_variants'].sum())} SNPs)")
        print(f"plink1.9 --r square bin4 --threads 1, per block: {t_plink:8.2f} ({c_plink:.2f})")
        print(f"ratio locusflow / plink: wall {t_ours / t_plink:.2f}, cpu {c_ours / c_plink:.2f}   "
              f"max |r - r_plink| = {worst:.2e}")
        if a.cli:
            t_cli, c_cli = min(walls["cli"]), min(cpus["cli"])
            print(f"locusflow ld command (own process): {t_cli:8.2f} ({c_cli:.2f}); ratio to plink: wall "
                  f"{t_cli / t_plink:.2f}, cpu {c_cli / c_plink:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
