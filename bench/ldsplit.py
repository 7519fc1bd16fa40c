"""Benchmark: data-driven LD blocks (``ld: {blocks: ldsplit}``) on real 1000 Genomes windows, against fixed
windows of the same mean size and the LDetect EUR blocks over the same SNPs.

Panel: 1000 Genomes EUR, 489 samples x 82,448 SNPs in 22 dense 1-Mb windows (chrN:20-21 Mb, GRCh37;
../shared/realdata polyfun_1kg_eur/polypred_example), the windows' PLINK files joined (same .fam) and
ingested into one store (not timed).

Blocks (each partitions every SNP of the panel):
- ldsplit: the stage's ``make_blocks(store, {"blocks": "ldsplit"})`` with its defaults (min_size 200,
  max_size 2,000 variants of MAF >= 0.05, thr_r2 at the noise level, max_r2 0.3), engine local;
- fixed: per window, the same number of equal windows as ldsplit made there (same mean size);
- LDetect: ``make_blocks(store, {"blocks": "EUR"})`` (Berisa & Pickrell EUR, assigned to the SNPs).

Score: mean r2 over the pairs of SNPs (all SNPs, any MAF) at most ``--band`` SNPs apart (default 200) that
lie in different blocks, pooled over the windows (lower = blocks closer to independent), and the
largest such r2. Memory: peak of numpy allocations (tracemalloc) while ldsplit runs on the largest
window, against the bound documented in locusflow.ld.ldsplit (:func:`memory_bound`).

    PYTHONPATH=lib python bench/ldsplit.py [--windows 22] [--band 200] [--realdata ../shared/realdata]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from locusflow.io.genotypes import GenotypeStore, ingest_plink, standardise  # noqa: E402
from locusflow.io.plink import join_filesets  # noqa: E402
from locusflow.ld.blocks import assign_blocks, intervals_from_starts  # noqa: E402
from locusflow.ld.ldsplit import banded_r2, cross_block_r2, ldsplit_kernel, memory_bound  # noqa: E402
from locusflow.ld.stage import DEFAULTS, make_blocks  # noqa: E402

POLYPRED = Path("polyfun_1kg_eur") / "polypred_example"


def block_sizes(store: GenotypeStore, blocks: pd.DataFrame) -> dict:
    """Per chromosome, the block sizes (in SNPs, position order) of a partition of the store's SNPs."""
    v = store.variants
    _, of = assign_blocks(v, blocks, n_samples=store.n_samples)
    out = {}
    for chrom, g in v.assign(block=np.asarray(of)).groupby("chrom", sort=False):
        lab = g.sort_values("pos", kind="stable")["block"].to_numpy()
        cut = np.flatnonzero(lab[1:] != lab[:-1]) + 1
        out[str(chrom)] = np.diff(np.concatenate([[0], cut, [len(lab)]])).tolist()
    return out


def score(store: GenotypeStore, sizes: dict, band: int) -> dict:
    """Pooled mean and max r2 of the cross-block pairs within ``band`` SNPs, per chromosome too."""
    v = store.variants
    tot, npair, worst, per = 0.0, 0, 0.0, {}
    for chrom, sz in sizes.items():
        idx = v[v["chrom"] == chrom].sort_values("pos", kind="stable").index.to_numpy()
        r2 = banded_r2(standardise(store.dosages(index=idx)), band)
        s, n = cross_block_r2(r2, sz, pairs=True)
        block = np.repeat(np.arange(len(sz)), sz)
        q = np.arange(len(idx))[:, None] + 1 + np.arange(r2.shape[1])[None, :]
        cross = (q < len(idx)) & (block[np.minimum(q, len(idx) - 1)] != block[:, None])
        mx = float(r2[cross].max()) if n else 0.0
        tot, npair, worst = tot + s, npair + n, max(worst, mx)
        per[chrom] = (s / max(n, 1), len(sz))
    return {"mean": tot / max(npair, 1), "max": worst, "pairs": npair, "per": per,
            "blocks": sum(len(s) for s in sizes.values())}


def equal_windows(store: GenotypeStore, like: dict) -> pd.DataFrame:
    """Per chromosome, as many equal windows of SNPs as ``like`` has blocks there."""
    v = store.variants
    out = []
    for chrom, sz in like.items():
        pos = np.sort(v.loc[v["chrom"] == chrom, "pos"].to_numpy())
        firsts = np.linspace(0, len(pos), len(sz) + 1).round().astype(int)[:-1]
        out.append(intervals_from_starts(chrom, pos, firsts))
    return pd.concat(out, ignore_index=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--realdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "realdata"))
    ap.add_argument("--windows", type=int, default=22, help="first N windows (1..22)")
    ap.add_argument("--band", type=int, default=200, help="score pairs at most this many SNPs apart")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_ldsplit_") as tmp:
        work = Path(tmp)
        chroms = [str(c) for c in range(1, a.windows + 1)]
        src = Path(a.realdata) / POLYPRED
        store = ingest_plink(join_filesets([src / f"1000G.subset.{c}" for c in chroms], work / "all"), work / "g.vcz")
        v = store.variants
        t, c = time.perf_counter(), time.process_time()
        ls = make_blocks(store, {"blocks": "ldsplit"})
        t_ls, c_ls = time.perf_counter() - t, time.process_time() - c
        sz_ls = block_sizes(store, ls)
        res = {"ldsplit": score(store, sz_ls, a.band),
               "fixed (same mean size)": score(store, block_sizes(store, equal_windows(store, sz_ls)), a.band),
               "LDetect EUR": score(store, block_sizes(store, make_blocks(store, {"blocks": "EUR"})), a.band)}
        # memory of one ldsplit task: the largest window, numpy allocations traced
        big = v["chrom"].value_counts().index[0]
        idx = v[v["chrom"] == big].sort_values("pos", kind="stable")["store_index"].tolist()
        kw = {k: DEFAULTS[k] for k in ("min_size", "max_size", "band", "max_K", "thr_r2", "max_r2", "split_maf",
                                       "max_span", "max_cost", "n_blocks")}
        tracemalloc.start()
        ldsplit_kernel({"chrom": big, "index": idx}, store=str(store.path), **kw)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        g = store.dosages(index=np.asarray(idx))
        af = g.mean(axis=1) / 2
        m_split = int(((np.minimum(af, 1 - af) >= kw["split_maf"]) & (af > 0) & (af < 1)).sum())
        bound = memory_bound(len(idx), m_split, store.n_samples, min(kw["max_size"], m_split),
                             kw["min_size"], kw["max_size"], kw["max_K"])

        print(f"panel: {len(v)} SNPs x {store.n_samples} samples in {len(chroms)} windows; ldsplit "
              f"{t_ls:.1f} s wall, {c_ls:.1f} s CPU (one BLAS thread, all windows, engine local)")
        print(f"score: mean r2 of SNP pairs <= {a.band} SNPs apart in different blocks (all SNPs)")
        print(f"{'blocks':24s} {'n':>5s} {'mean size':>9s} {'mean r2':>9s} {'max r2':>7s} {'pairs':>9s}")
        for name, r in res.items():
            print(f"{name:24s} {r['blocks']:5d} {len(v) / r['blocks']:9.0f} {r['mean']:9.4f} {r['max']:7.3f} "
                  f"{r['pairs']:9d}")
        print("per window (mean r2, blocks): " + "; ".join(
            f"{ch}: " + ", ".join(f"{res[k]['per'][ch][0]:.4f}/{res[k]['per'][ch][1]}" for k in res) for ch in chroms))
        print(f"ldsplit task on window {big} ({len(idx)} SNPs, {m_split} with MAF >= {kw['split_maf']}): "
              f"peak traced memory {peak / 2**20:.0f} MiB, documented bound {bound / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
