"""Benchmark: GWAS of 1 and of 100 quantitative traits, locusflow against plink2 --glm, same inputs, one run.

Panel: 1000 Genomes EUR, 489 samples x 82,448 SNPs (../shared/realdata polyfun_1kg_eur/polypred_example),
ingested once into a genotype store (not timed; plink reads the .bed directly). Traits: simulated,
3 covariates, 10 % missing phenotypes per trait in different samples (so every trait has its own
sample set). locusflow: ``run_gwas`` (engine local, one BLAS thread, chunk 1,000 variants: read Zarr,
three GEMMs per chunk for all traits). plink2: ``--glm hide-covar --threads 1`` (wall time of the
process, its output files included). Prints both times, the ratio and the largest relative difference
of se between the two.

    PYTHONPATH=lib python bench/gwas.py [--traits 1,100] [--realdata ../shared/realdata]
"""
from __future__ import annotations

import argparse
import os
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

from locusflow.gwas.task import run_gwas  # noqa: E402
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--realdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "realdata"))
    ap.add_argument("--traits", default="1,100")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--chunk", type=int, default=None, help="variants per work unit (default: store chunk)")
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
    for t in (int(x) for x in a.traits.split(",")):
        d = work / f"t{t}"
        d.mkdir(exist_ok=True)
        ph, cv = write_inputs(prefix, d, t)
        t0 = time.perf_counter()
        with threadpool_limits(1):
            ours, _ = run_gwas(store, ph, cv, chunk=a.chunk)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([plink2, "--bfile", str(prefix), "--pheno", str(ph), "--no-pheno", "--covar", str(cv),
                        "--glm", "hide-covar", "--threads", "1", "--out", str(d / "glm")], check=True,
                       capture_output=True)
        t_plink = time.perf_counter() - t0
        p = pd.read_csv(d / "glm.t0.glm.linear", sep="\t")
        o = ours[ours["trait"] == "t0"]
        diff = np.nanmax(np.abs(o["se"].to_numpy() - p["SE"].to_numpy()) / p["SE"].to_numpy())
        print(f"traits {t:4d}: locusflow {t_ours:7.2f} s  plink2 {t_plink:7.2f} s  "
              f"ratio plink2/locusflow {t_plink / t_ours:5.2f}  (max rel se diff {diff:.1e}, "
              f"{len(ours)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
