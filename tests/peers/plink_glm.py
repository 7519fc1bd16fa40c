"""Simulated traits of known effects on a PLINK fileset, and plink2 --glm on them (peer runner)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from locusflow.io.plink import BedReader, read_fam

CAUSAL_NEAR = [10, 200, 3000]


def causal_variants(prefix) -> list[int]:
    """The first variant with minor allele frequency >= 0.25 at or after each of CAUSAL_NEAR."""
    g = BedReader(prefix).read().astype(float)
    g[g < 0] = np.nan
    f = np.nanmean(g, 1) / 2
    common = np.flatnonzero(np.minimum(f, 1 - f) >= 0.25)
    return [int(common[np.searchsorted(common, i)]) for i in CAUSAL_NEAR]


def simulate(prefix, out: Path, seed: int = 1, n_quant: int = 3) -> dict:
    """Covariates (2 normal, 1 binary), quantitative traits with effects at CAUSAL (10-20 % missing per
    trait, different samples), a common binary trait and a rare one (25 cases: Firth territory)."""
    fam = read_fam(prefix)
    causal = causal_variants(prefix)
    g = BedReader(prefix).read()[causal].astype(float)
    g[g < 0] = 1.0
    n = len(fam)
    rng = np.random.default_rng(seed)
    cov = rng.normal(size=(n, 3))
    cov[:, 2] = rng.integers(0, 2, n)
    ph = {}
    effects = np.zeros((n_quant, len(causal)))
    effects[0, 0], effects[1 % n_quant, 1:] = 0.5, [0.3, 0.2]
    for t in range(n_quant):
        y = g.T @ effects[t] + cov @ [1.0, 0.3, 0.2] + rng.normal(size=n) * (1 + t % 3)
        y[rng.random(n) < 0.1 + 0.1 * (t % 2)] = np.nan
        ph[f"q{t + 1}"] = y
    lp = g[0] * 0.6 - 0.5 + cov[:, 0] * 0.4
    ph["b1"] = (rng.random(n) < 1 / (1 + np.exp(-lp))) + 1.0
    rare = np.ones(n)
    rare[rng.choice(n, 25, replace=False)] = 2
    ph["rare"] = rare
    ids = {"FID": fam["fid"], "IID": fam["iid"]}
    pd.DataFrame({**ids, **ph}).to_csv(out / "pheno.txt", sep="\t", index=False, na_rep="NA")
    pd.DataFrame({**ids, "c1": cov[:, 0], "c2": cov[:, 1], "c3": cov[:, 2]}).to_csv(
        out / "covar.txt", sep="\t", index=False)
    return {"pheno": out / "pheno.txt", "covar": out / "covar.txt", "effects": effects, "causal": causal}


def plink2_glm(plink2: str, prefix, pheno, covar, out: Path, threads: int = 1) -> dict:
    """plink2 --glm hide-covar (firth-fallback is its default); {trait: frame} with BETA on alt."""
    cmd = [plink2, "--bfile", str(prefix), "--pheno", str(pheno), "--no-pheno", "--glm", "hide-covar",
           "--threads", str(threads), "--out", str(out / "glm")]
    if covar is not None:
        cmd[5:5] = ["--covar", str(covar)]
    subprocess.run(cmd, check=True, capture_output=True)
    res = {}
    for f in sorted(out.glob("glm.*.glm.*")):
        trait = f.name.split(".")[1]
        d = pd.read_csv(f, sep="\t")
        sign = np.where(d["A1"] == d["ALT"], 1.0, -1.0)  # plink2 a3 reports the minor allele as A1
        beta = d["BETA"] if "BETA" in d else np.log(d["OR"])
        d["beta_alt"] = beta * sign
        d["se"] = d["SE"] if "SE" in d else d["LOG(OR)_SE"]
        res[trait] = d
    return res
