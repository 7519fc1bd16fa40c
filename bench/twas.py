"""Benchmark: S-PrediXcan on 2,000 genes x 40 SNPs against a 580k-row GWAS, locusflow vs MetaXcan.

Inputs are generated in a temporary directory (seeded): a PredictDB SQLite database, its covariance
file (GENE RSID1 RSID2 VALUE, upper triangle, gz) and a GWAS text file. Both tools read the same files.
locusflow runs as the pipeline does: the GWAS munged once (the sumstats dataset), the database and its
covariance imported once (the weights and covariance datasets, reused by every later trait), then the
twas stage per trait; also the direct mode on the text files (no import). MetaXcan's SPrediXcan.py
(which re-reads all three files for every trait) runs in its own venv (tests/conftest.py peer_venv("metaxcan-venv", ...)), found at
$LOCUSFLOW_METAXCAN (default ~/.cache/locusflow/peers/MetaXcan, a `git archive` of hakyimlab/MetaXcan).

    PYTHONPATH=lib python bench/twas.py [--genes 2000] [--snps 40] [--gwas 580000]
"""
from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from locusflow.io.weights import read_covariance, read_predictdb, write_covariance, write_predictdb
from locusflow.twas.inputs import read_gwas_text
from locusflow.twas.spredixcan import spredixcan

PEERS = Path(os.environ.get("LOCUSFLOW_PEERS", Path.home() / ".cache" / "locusflow" / "peers"))
MX = Path(os.environ.get("LOCUSFLOW_METAXCAN", PEERS / "MetaXcan"))
MX_PY = PEERS / "metaxcan-venv" / "bin" / "python"


def make_inputs(d: Path, n_genes: int, n_snps: int, n_gwas: int, seed: int = 2024, tissues: int = 1):
    """GWAS text (gwas.txt) and ``tissues`` PredictDB databases + covariance files (model.db / cov.txt.gz,
    then model_t1.db / cov_t1.txt.gz, ...), each of ``n_genes`` models over ``n_snps`` SNPs."""
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    a1 = bases[rng.integers(0, 4, n_gwas)]
    a2 = bases[(np.searchsorted(bases, a1) + rng.integers(1, 4, n_gwas)) % 4]
    rsid = np.char.add("rs", np.arange(1, n_gwas + 1).astype(str))
    z = rng.normal(0, 1.5, n_gwas).astype(np.float32).astype(np.float64)
    miss = rng.random(n_gwas) < 0.05
    chrom = np.repeat(np.arange(1, 23), -(-n_gwas // 22))[:n_gwas]      # 22 chromosomes, sorted positions
    bp = np.arange(n_gwas) * 100 + 10_000
    gw = pd.DataFrame({"SNP": rsid, "CHR": chrom, "BP": bp, "A1": a1, "A2": a2, "ZSCORE": z, "BETA": z * 0.01,
                       "SE": 0.01, "N": 100_000})[~miss]
    gw.to_csv(d / "gwas.txt", sep="\t", index=False, float_format="%.9g")
    swap_snp = rng.random(n_gwas) < 0.3      # one effect allele per SNP across genes, as in PredictDB
    for t in range(tissues):
        _models(d, rng, rsid, a1, a2, swap_snp, n_genes, n_snps, n_gwas, "" if t == 0 else f"_t{t}")


def _models(d, rng, rsid, a1, a2, swap_snp, n_genes, n_snps, n_gwas, suffix):
    start = np.sort(rng.integers(0, n_gwas - 4 * n_snps, n_genes))
    idx = start[:, None] + np.sort(rng.choice(4 * n_snps, (n_genes, n_snps)), axis=1)
    idx = np.array([np.unique(r)[:n_snps] if len(np.unique(r)) >= n_snps else
                    np.arange(r[0], r[0] + n_snps) for r in idx])
    genes = np.char.add("ENSG", np.arange(n_genes).astype(str).astype("U11"))
    flat = idx.ravel()
    swap = swap_snp[flat]
    w = pd.DataFrame({"rsid": rsid[flat], "gene": np.repeat(genes, n_snps), "weight": rng.normal(0, 0.1, flat.size),
                      "eff_allele": np.where(swap, a2[flat], a1[flat]),
                      "ref_allele": np.where(swap, a1[flat], a2[flat])})
    ex = pd.DataFrame({"gene": genes, "genename": genes, "n.snps.in.model": n_snps, "pred.perf.R2": 0.1,
                       "pred.perf.pval": 1e-3, "pred.perf.qval": 1e-2})
    write_predictdb(w, ex, d / f"model{suffix}.db")
    x = rng.binomial(2, 0.3, (n_genes, n_snps, 60)).astype(float)
    x -= x.mean(axis=2, keepdims=True)
    cov = np.einsum("gik,gjk->gij", x, x) / 59 + 1e-3 * np.eye(n_snps)
    iu = np.triu_indices(n_snps)
    rs = rsid[idx]
    c = pd.DataFrame({"gene": np.repeat(genes, len(iu[0])), "rsid1": rs[:, iu[0]].ravel(),
                      "rsid2": rs[:, iu[1]].ravel(), "value": cov[:, iu[0], iu[1]].ravel()})
    write_covariance(c, d / f"cov{suffix}.txt.gz")


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t0) -> tuple[float, float]:
    return time.perf_counter() - t0[0], time.process_time() - t0[1]


def ours(d: Path) -> tuple[pd.DataFrame, tuple[float, float]]:
    """End to end from the text files MetaXcan reads, in this process: read, then S-PrediXcan."""
    t0 = _clock()
    w = read_predictdb(d / "model.db")
    cov = read_covariance(d / "cov.txt.gz", tissue=w["tissue"].iloc[0])
    g = read_gwas_text(d / "gwas.txt")
    res = spredixcan(w, g, covariance=cov, strand_flip=False)
    return res, _since(t0)


def _suffixes(tissues: int) -> list[str]:
    return [""] + [f"_t{t}" for t in range(1, tissues)]


def stage_cfg(d: Path, tissues: int = 1) -> dict:
    """The pipeline's twas stage on imported weights: ld_reference covariance (the model files' LD, as
    MetaXcan), munged sumstats at <d>/lf/sumstats, MetaXcan's allele rule (no strand flip)."""
    return {"out": str(d / (f"lf{tissues}" if tissues > 1 else "lf")), "engine": "local",
            "twas": {"weights": [{"predictdb": str(d / f"model{x}.db"), "covariance": str(d / f"cov{x}.txt.gz")}
                                 for x in _suffixes(tissues)],
                     "ld_reference": "covariance", "strand_flip": False, "sumstats": str(d / "lf" / "sumstats")}}


def munge_gwas(d: Path) -> tuple[float, float]:
    """The munge stage on the GWAS text (once per trait; its output serves twas, finemap and focus)."""
    from locusflow.io.munge import munge
    t0 = _clock()
    munge(d / "gwas.txt", d / "lf" / "sumstats", min_info=None, min_maf=None)
    return _since(t0)


def import_once(d: Path, tissues: int = 1) -> tuple[float, float]:
    """First stage run: imports the database and covariance (once per database), then the trait."""
    from locusflow.pipeline import Context
    from locusflow.twas.stage import _run
    cfg = stage_cfg(d, tissues)
    shutil.rmtree(Path(cfg["out"]) / "twas", ignore_errors=True)
    t0 = _clock()
    _run(Context(cfg))
    return _since(t0)


def ours_stage(d: Path, tissues: int = 1) -> tuple[pd.DataFrame, tuple[float, float]]:
    """A trait on imported weights: the twas stage reads the munged sumstats and the imported weights and
    covariance terms, and writes its results dataset (schema twas_results)."""
    from locusflow.io.dataset import read_dataset
    from locusflow.pipeline import Context
    from locusflow.twas.stage import _run
    cfg = stage_cfg(d, tissues)
    t0 = _clock()
    _run(Context(cfg))
    t = _since(t0)
    return read_dataset(Path(cfg["out"]) / "twas" / "results", "twas_results"), t


def ours_stage_cli(d: Path) -> tuple[float, float]:
    """The same as a separate process: python -m locusflow.cli twas --sumstats ... (start-up included)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "lib"), "TQDM_DISABLE": "1"}
    return _child([sys.executable, "-m", "locusflow.cli", "twas", "--predictdb", str(d / "model.db"),
                   "--covariance", str(d / "cov.txt.gz"), "--sumstats", str(d / "lf" / "sumstats"),
                   "--ld-reference", "covariance", "--no-strand-flip", "--out", str(d / "lf")], env=env)


def ours_cli(d: Path) -> tuple[float, float]:
    """A separate process, as MetaXcan runs: python -m locusflow.cli twas --gwas ... (start-up included)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "lib")}
    return _child([sys.executable, "-m", "locusflow.cli", "twas", "--predictdb", str(d / "model.db"),
                   "--covariance", str(d / "cov.txt.gz"), "--gwas", str(d / "gwas.txt"), "--no-strand-flip",
                   "--out", str(d / "direct")], env=env)


def _child(cmd, **kw) -> tuple[float, float]:
    t0 = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode:
        raise RuntimeError(f"{cmd[:3]} failed ({r.returncode}): {r.stderr[-2000:]}")
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t0, (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)


def metaxcan(d: Path, suffix: str = "") -> tuple[float, float]:
    script = MX / "software" / "SPrediXcan.py"
    out = d / f"mx{suffix}.csv"
    out.unlink(missing_ok=True)      # SPrediXcan.py does nothing when its output exists
    return _child([str(MX_PY), str(script), "--model_db_path", str(d / f"model{suffix}.db"), "--covariance",
                   str(d / f"cov{suffix}.txt.gz"), "--gwas_file", str(d / "gwas.txt"), "--snp_column", "SNP",
                   "--effect_allele_column", "A1", "--non_effect_allele_column", "A2", "--zscore_column", "ZSCORE",
                   "--beta_column", "BETA", "--output_file", str(out), "--throw", "--verbosity", "50"],
                  cwd=script.parent)


def _best(runs):
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--genes", type=int, default=2000)
    ap.add_argument("--snps", type=int, default=40)
    ap.add_argument("--gwas", type=int, default=580_000)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each; best reported (shared machine)")
    ap.add_argument("--tissues", type=int, default=1, help="also time T databases of --genes models in one stage "
                    "run against T MetaXcan runs (genome scale: T x genes models)")
    a = ap.parse_args()
    logging.getLogger("locusflow").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        make_inputs(d, a.genes, a.snps, a.gwas, tissues=a.tissues)
        print(f"inputs: {a.genes} genes x {a.snps} SNPs, GWAS {a.gwas} rows ({time.perf_counter() - t0:.1f} s to make)")
        t = {"munge": munge_gwas(d), "import": import_once(d)}
        runs = [ours_stage(d) for _ in range(a.repeat)]
        res = runs[0][0]
        t["stage"] = _best([r[1] for r in runs])
        t["stage cli"] = _best([ours_stage_cli(d) for _ in range(a.repeat)])
        text = [ours(d) for _ in range(a.repeat)]
        t["text"] = _best([r[1] for r in text])
        t["cli"] = _best([ours_cli(d) for _ in range(a.repeat)])
        both = text[0][0].merge(res, on="model_id", suffixes=("_text", ""))
        dz_text = float(np.nanmax(np.abs(both["zscore"] - both["zscore_text"])))
        same_used = len(both) == len(res) and bool((both["n_snps_used"] == both["n_snps_used_text"]).all())
        rows = [("twas stage per trait, imported weights, in a running process", "stage"),
                ("  the same as a separate process (python -m locusflow.cli twas --sumstats)", "stage cli"),
                ("munge of the GWAS text (once per trait, shared by twas/finemap/focus)", "munge"),
                ("import of the database + covariance and the first trait (once per database)", "import"),
                ("text inputs, no import (--gwas direct mode), in process", "text"),
                ("  the same as a separate process (python -m locusflow.cli twas --gwas)", "cli")]
        print(f"stage (munged GWAS: z = BETA/SE as written, 9 digits) against the text path (ZSCORE): max |dz| = "
              f"{dz_text:.1e}, n_snps_used equal: {same_used}")
        script = MX / "software" / "SPrediXcan.py"
        if not (script.exists() and MX_PY.exists()):
            print(f"MetaXcan not found ({script}, {MX_PY}); run tests/twas/test_spredixcan.py once to create its venv")
            for label, k in rows:
                print(f"locusflow {label}: {t[k][0]:.3f} s wall, {t[k][1]:.3f} s CPU")
            return
        tm, cm = _best([metaxcan(d) for _ in range(min(a.repeat, 3))])
        mx = pd.read_csv(d / "mx.csv")
        m = mx.merge(res, on="gene", suffixes=("_mx", ""))
        dz = np.nanmax(np.abs(m["zscore"] - m["zscore_mx"]))
        same = bool((m["n_snps_used"] == m["n_snps_used_mx"]).all())
        print(f"MetaXcan SPrediXcan.py (separate process, best of {min(a.repeat, 3)}): {tm:.2f} s wall, {cm:.2f} s CPU "
              f"({len(m)} of {len(res)} genes; max |dz| = {dz:.1e}; n_snps_used equal: {same})")
        print(f"{'locusflow (best of ' + str(a.repeat) + ')':<80} {'wall s':>7} {'CPU s':>7}  MetaXcan/ours wall, CPU")
        for label, k in rows:
            print(f"{label:<80} {t[k][0]:7.3f} {t[k][1]:7.3f}  {tm / t[k][0]:6.1f}x {cm / t[k][1]:6.1f}x")
        if a.tissues > 1:
            scale(d, a.tissues, a.repeat)


def scale(d: Path, tissues: int, repeat: int) -> None:
    """T databases in one twas stage run (all models of all tissues together) against T MetaXcan runs."""
    imp = import_once(d, tissues)
    runs = [ours_stage(d, tissues) for _ in range(repeat)]
    res, (tw, tc) = runs[0][0], _best([r[1] for r in runs])
    mx = [metaxcan(d, x) for x in _suffixes(tissues)]
    tm, cm = sum(m[0] for m in mx), sum(m[1] for m in mx)
    dz, n = 0.0, 0
    for x in _suffixes(tissues):
        m = pd.read_csv(d / f"mx{x}.csv").merge(res[res["tissue"] == f"model{x}"], on="gene", suffixes=("_mx", ""))
        dz, n = max(dz, float(np.nanmax(np.abs(m["zscore"] - m["zscore_mx"])))), n + len(m)
    print(f"\n{tissues} databases x {len(res) // tissues} models ({len(res)} models): MetaXcan, {tissues} runs "
          f"(one each): {tm:.2f} s wall, {cm:.2f} s CPU; {n} genes compared, max |dz| = {dz:.1e}")
    print(f"locusflow import of the {tissues} databases + first trait: {imp[0]:.2f} s wall, {imp[1]:.2f} s CPU")
    print(f"locusflow twas stage per trait, all {tissues} databases in one run (best of {repeat}): {tw:.3f} s wall, "
          f"{tc:.3f} s CPU: {tm / tw:.1f}x wall, {cm / tc:.1f}x CPU")


if __name__ == "__main__":
    main()
