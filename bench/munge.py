"""Munging throughput against a plain ``pandas.read_csv`` of the same file, and Spark cold start.

The polypred BOLT-LMM sumstats (82,448 rows, ../shared/realdata) are replicated to ~5M rows (each copy
shifted by 2 Mb and its rsids suffixed, so no row is a duplicate) into a gzip file in a temp dir, with a
matching reference variant table (the 22 1000G bims, replicated the same way). In one run it times:

* ``pandas.read_csv(file, sep="\\t")`` (the peer: reading alone, nothing else);
* ``locusflow.io.munge.munge(file, reference=ref)`` (read, z, filters, harmonisation), then the same
  plus writing the Parquet dataset;
* ``get_spark()`` in a fresh Python process (session cold start, then stop).

With ``--memory 0,1000000,250000`` it instead runs ``munge(file, out, reference=ref, chunk_rows=C,
keep_table=False)`` (0: the whole file in one chunk) once per value, each in a fresh process, and prints
each process's peak resident memory and CPU time, and checks that the written datasets are identical.

Usage: ``PYTHONPATH=lib python bench/munge.py [--copies 61] [--realdata ../shared/realdata] [--workdir DIR]
[--memory 0,1000000]``
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from locusflow.io.munge import munge  # noqa: E402
from locusflow.io.plink import read_bim  # noqa: E402


def build_inputs(realdata: Path, copies: int, tmp: Path):
    poly = realdata / "polyfun_1kg_eur" / "polypred_example"
    raw = pd.read_csv(poly / "bolt.sumstats.txt.gz", sep="\t", dtype=str)
    bim = pd.concat([read_bim(poly / f"1000G.subset.{k}") for k in range(1, 23)], ignore_index=True)
    shift = np.repeat(np.arange(copies, dtype=np.int64) * 2_000_000, len(raw))
    big = pd.concat([raw] * copies, ignore_index=True)
    big["BP"] = (big["BP"].astype(np.int64) + shift).astype(str)
    big["SNP"] = big["SNP"] + "_" + pd.Series(np.repeat(np.arange(copies), len(raw))).astype(str)
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "bolt_big.sumstats.gz"
    big.to_csv(path, sep="\t", index=False, compression={"method": "gzip", "compresslevel": 1})
    rshift = np.repeat(np.arange(copies, dtype=np.int64) * 2_000_000, len(bim))
    rb = pd.concat([bim] * copies, ignore_index=True)
    ref = pd.DataFrame({"chrom": rb["chrom"], "pos": rb["pos"].to_numpy() + rshift, "ref": rb["a2"],
                        "alt": rb["a1"]})
    return path, ref, len(big)


def spark_cold_start() -> float:
    code = ("import time; t = time.time(); from locusflow.engine.spark import get_spark; s = get_spark(); "
            "s.range(1).count(); print(time.time() - t); s.stop()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "lib")})
    if r.returncode != 0:
        return float("nan")
    return float(r.stdout.strip().splitlines()[-1])


CHILD = """
import resource, sys, time, pandas as pd
from locusflow.io.munge import munge
ref = pd.read_parquet(sys.argv[2])
c = int(sys.argv[4]) or None
t = time.process_time()
res = munge(sys.argv[1], sys.argv[3], reference=ref, n=337000, chunk_rows=c, keep_table=False)
print(time.process_time() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, res.report["kept"],
      res.report["chunks"]["largest_chromosome"])
"""


def memory_runs(path: Path, ref: pd.DataFrame, n: int, chunks: list, tmp: Path) -> None:
    """One fresh process per chunk size: peak RSS and CPU of munge + write; datasets compared."""
    import pyarrow.parquet as pq
    ref_file = tmp / "ref_mem.parquet"
    ref.to_parquet(ref_file)
    outs = []
    for c in chunks:
        out = tmp / f"out_{c}"
        r = subprocess.run([sys.executable, "-c", CHILD, str(path), str(ref_file), str(out), str(c)],
                           capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "lib")})
        cpu, rss, kept, shard = r.stdout.split()
        print(f"chunk_rows {c or 'whole file':>10}: CPU {float(cpu):7.1f} s, peak RSS {int(rss) / 2**20:6.2f} GB "
              f"({int(rss) * 1024 / n:5.0f} B per input row), kept {int(kept):,}, largest chromosome "
              f"{int(shard):,} rows")
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.parquet"))
    same = all(sorted(p.relative_to(o) for p in o.rglob("*.parquet")) == files
               and all(pq.read_table(outs[0] / f).equals(pq.read_table(o / f)) for f in files) for o in outs[1:])
    print(f"written datasets identical across chunk sizes: {same}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=61)
    ap.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--workdir", help="keep the generated inputs here and reuse them on the next run")
    ap.add_argument("--memory", help="comma-separated chunk_rows values (0 = whole file): peak memory per process")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t = time.perf_counter()
        keep = Path(a.workdir) / f"copies{a.copies}" if a.workdir else None
        if keep is not None and (keep / "ref.parquet").exists():
            path, ref = keep / "bolt_big.sumstats.gz", pd.read_parquet(keep / "ref.parquet")
            n = int(pd.read_parquet(keep / "ref.parquet", columns=["pos"]).shape[0])
        else:
            path, ref, n = build_inputs(Path(a.realdata), a.copies, keep or tmp)
            if keep is not None:
                ref.to_parquet(keep / "ref.parquet")
        print(f"input: {n:,} rows, {path.stat().st_size / 1e6:.0f} MB gzip, reference {len(ref):,} variants "
              f"(built in {time.perf_counter() - t:.0f} s)")
        if a.memory:
            memory_runs(path, ref, n, [int(c) for c in a.memory.split(",")], tmp)
            return
        t = time.perf_counter()
        df = pd.read_csv(path, sep="\t")
        t_pd = time.perf_counter() - t
        assert len(df) == n
        del df
        t = time.perf_counter()
        res = munge(path, reference=ref, n=337000)
        t_munge = time.perf_counter() - t
        t = time.perf_counter()
        res = munge(path, tmp / "out", reference=ref, n=337000)
        t_write = time.perf_counter() - t
        print(f"kept {res.report['kept']:,}, dropped {res.report['dropped']}")
        print(f"pandas.read_csv:          {t_pd:7.2f} s  {n / t_pd:12,.0f} rows/s")
        print(f"locusflow munge:          {t_munge:7.2f} s  {n / t_munge:12,.0f} rows/s  "
              f"(ratio munge/read_csv {t_munge / t_pd:.2f})")
        print(f"locusflow munge + write:  {t_write:7.2f} s  {n / t_write:12,.0f} rows/s  "
              f"(ratio {t_write / t_pd:.2f})")
    if not a.no_spark:
        print(f"Spark session cold start (get_spark in a fresh process, incl. one job): {spark_cold_start():.1f} s")


if __name__ == "__main__":
    main()
