"""Benchmark: GWAS of 1 and of 100 quantitative traits, locusflow against plink2 --glm, same inputs, one run.

Panel: 1000 Genomes EUR, 489 samples x 82,448 SNPs (../shared/realdata polyfun_1kg_eur/polypred_example),
ingested once into a genotype store (not timed; plink reads the .bed directly). Traits: simulated,
3 covariates, 10 % missing phenotypes per trait in different samples (so every trait has its own
sample set). Timed, CPU seconds (process user + system, every thread; the peer's from RUSAGE_CHILDREN):

- locusflow ``run_gwas`` in this process (engine local, one BLAS thread): read the phenotype and
  covariate tables, read and decode the Zarr chunks, regress, return the gwas_assoc frame (writes nothing);
  the first call (one-time imports included) and the best of ``--repeat`` (each reads the variants table).
- locusflow ``gwas`` command as its own process (``python -m locusflow.cli gwas``: interpreter start,
  imports, config check, the run, the gwas_assoc and sumstats datasets written and committed).
- plink2 ``--glm hide-covar --threads 1`` (its process, its output files written), best of ``--repeat``.

Prints CPU and wall seconds, the ratios and the largest relative difference of se between the two.

    PYTHONPATH=lib python bench/gwas.py [--traits 1,100] [--repeat 3] [--realdata ../shared/realdata]
"""
from __future__ import annotations

import argparse
import os
import resource
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

from locusflow.gwas.task import run_gwas, variant_table  # noqa: E402
from locusflow.io.genotypes import ingest_plink  # noqa: E402
from locusflow.io.plink import read_fam  # noqa: E402


def write_inputs(prefix, d: Path, n_traits: int, seed: int = 7):
    fam = read_fam(prefix)
    n = len(fam)
    rng = np.random.default_rng(seed)
    cov = rng.normal(size=(n, 3))
    y = rng.normal(size=(n, n_traits)) + cov @ rng.normal(size=(3, n_traits))
    y[rng.random(y.shape) < 0.1] = np.nan
    ids = pd.DataFrame({"FID": fam["fid"], "IID": fam["iid"]})
    ph = pd.concat([ids, pd.DataFrame(y, columns=[f"t{i}" for i in range(n_traits)])], axis=1)
    ph.to_csv(d / "pheno.txt", sep="\t", index=False, na_rep="NA")
    pd.concat([ids, pd.DataFrame(cov, columns=["c1", "c2", "c3"])], axis=1).to_csv(
        d / "covar.txt", sep="\t", index=False)
    return d / "pheno.txt", d / "covar.txt"


def _child(cmd, env=None) -> tuple[float, float]:
    """CPU (user + system of the child) and wall seconds of one command."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--realdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "realdata"))
    ap.add_argument("--traits", default="1,100")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--chunk", type=int, default=None, help="variants per work unit (default: run_gwas's)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of run_gwas and of plink2 (best reported)")
    a = ap.parse_args()
    src = Path(a.realdata) / "polyfun_1kg_eur" / "polypred_example"
    plink2, plink1 = shutil.which("plink2"), shutil.which("plink1.9")
    if not (plink2 and plink1):
        sys.exit("plink2 / plink1.9 not found (apt-get install plink2 plink1.9)")
    work = Path(a.workdir or tempfile.mkdtemp(prefix="bench_gwas_"))
    work.mkdir(parents=True, exist_ok=True)
    prefix = work / "panel"
    if not Path(f"{prefix}.bed").exists():  # the 22 windows as one fileset (setup, not timed)
        (work / "merge.txt").write_text("".join(f"{src}/1000G.subset.{c}\n" for c in range(2, 23)))
        subprocess.run([plink1, "--bfile", f"{src}/1000G.subset.1", "--merge-list", str(work / "merge.txt"),
                        "--make-bed", "--keep-allele-order", "--out", str(prefix)], check=True,
                       capture_output=True)
    store = work / "g.vcz"
    if not (store / "locusflow.json").exists():
        ingest_plink(prefix, store)
    print(f"panel {prefix.name}: {sum(1 for _ in open(f'{prefix}.bim'))} SNPs x "
          f"{len(read_fam(prefix))} samples")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for t in (int(x) for x in a.traits.split(",")):
        d = work / f"t{t}"
        d.mkdir(exist_ok=True)
        ph, cv = write_inputs(prefix, d, t)
        ours_cpu, ours_wall = [], []
        for _ in range(a.repeat):  # repeats of the same call: the first also pays one-time imports
            variant_table.cache_clear()                  # every repeat reads the variants table, as a run does
            c0, t0 = time.process_time(), time.perf_counter()
            with threadpool_limits(1):
                ours, _ = run_gwas(store, ph, cv, chunk=a.chunk)
            ours_cpu.append(time.process_time() - c0)
            ours_wall.append(time.perf_counter() - t0)
        cmd = [sys.executable, "-m", "locusflow.cli", "gwas", "--store", str(store), "--phenotypes", str(ph),
               "--covariates", str(cv), "--out", str(d / "out"), "--engine", "local", "--force"]
        cli_cpu, cli_wall = _child(cmd, env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
        pl_cpu, pl_wall = [], []
        for _ in range(a.repeat):
            c, w = _child([plink2, "--bfile", str(prefix), "--pheno", str(ph), "--no-pheno", "--covar", str(cv),
                           "--glm", "hide-covar", "--threads", "1", "--out", str(d / "glm")])
            pl_cpu.append(c)
            pl_wall.append(w)
        p = pd.read_csv(d / "glm.t0.glm.linear", sep="\t")
        o = ours[ours["trait"] == "t0"]
        diff = np.nanmax(np.abs(o["se"].to_numpy() - p["SE"].to_numpy()) / p["SE"].to_numpy())
        best, bp = min(ours_cpu), min(pl_cpu)
        print(f"traits {t:4d} ({len(ours)} rows; max rel se diff {diff:.1e})\n"
              f"  locusflow run_gwas  CPU first {ours_cpu[0]:7.2f} s  best {best:7.2f} s  (wall best "
              f"{min(ours_wall):7.2f} s)\n"
              f"  locusflow gwas CLI  CPU {cli_cpu:7.2f} s  (wall {cli_wall:7.2f} s; own process, datasets written)\n"
              f"  plink2 --glm        CPU best {bp:7.2f} s  (wall best {min(pl_wall):7.2f} s)\n"
              f"  CPU ratio locusflow/plink2: run_gwas best {best / bp:5.2f}, first {ours_cpu[0] / bp:5.2f}, "
              f"CLI process {cli_cpu / bp:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
