"""Regenerate tests/fixtures/gwas/plink2_logistic.tsv.gz: plink2 --glm logistic (double precision, Firth
fallback) on the bundled example, run by a plink2 built from its GitHub source (chrchang/plink-ng).

The Debian plink2 (2.00a3.5) fits logistic and Firth models in single precision, so its numbers agree with
any double-precision fit only to ~1e-5..1e-3; plink2 2.00a4 and later fit in double precision (R glm.fit's
criterion; logistf 1.24's Firth). Building it (2-core machine: ~40 min):

    git archive <plink-ng commit> 2.0 | tar -x -C SRC      # e.g. from the `fetch` tool's mirror
    make -C SRC/2.0/build_dynamic NO_LAPACK=1 all           # NO_LAPACK: plink2's own matrix inversion

then
    PYTHONPATH=lib python bench/regen_gwas_fixtures.py SRC/2.0/build_dynamic/plink2 [--commit HASH]

Inputs: examples/1000G_EUR_chr20_22 (489 samples x 5,481 SNPs) and tests/peers/plink_glm.simulate(seed 1):
covariates c1-c3, a common binary trait b1 and a rare one (25 cases). Only plink2's output numbers are
stored (6 significant digits, as it prints them), with the version line of its log; never its code.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]

from peers.plink_glm import simulate  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "gwas" / "plink2_logistic.tsv.gz"
COLS = "chrom,pos,ref,alt,a1count,totallele,a1freq,firth,test,nobs,beta,se,tz,p,err"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("plink2", help="plink2 >= 2.00a4 built from source")
    ap.add_argument("--commit", default="", help="plink-ng commit it was built from (recorded)")
    a = ap.parse_args()
    prefix = ROOT / "examples" / "1000G_EUR_chr20_22"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        sim = simulate(prefix, d)
        ph = pd.read_csv(sim["pheno"], sep="\t")[["FID", "IID", "b1", "rare"]]
        ph.to_csv(d / "cc.txt", sep="\t", index=False)
        subprocess.run([a.plink2, "--bfile", str(prefix), "--pheno", str(d / "cc.txt"), "--covar", str(sim["covar"]),
                        "--glm", "hide-covar", f"cols={COLS}", "--threads", "1", "--out", str(d / "glm")],
                       check=True, capture_output=True)
        version = (d / "glm.log").read_text().splitlines()[0]
        parts = []
        for t in ("b1", "rare"):
            f = d / f"glm.{t}.glm.logistic.hybrid"
            x = pd.read_csv(f, sep="\t", dtype=str, keep_default_na=False)
            x.insert(0, "trait", t)
            parts.append(x)
    out = pd.concat(parts, ignore_index=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT.with_suffix("").with_suffix(".provenance"), "w") as fh:
        fh.write(f"{version}\nplink-ng commit {a.commit}\n--glm hide-covar cols={COLS} --threads 1\n")
    out.to_csv(OUT, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
    print(f"{OUT}: {len(out)} rows; {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
