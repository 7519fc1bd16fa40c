"""Benchmark: S-PrediXcan on 2,000 genes x 40 SNPs against a 580k-row GWAS, locusflow vs MetaXcan.

Inputs are generated in a temporary directory (seeded): a PredictDB SQLite database, its covariance
file (GENE RSID1 RSID2 VALUE, upper triangle, gz) and a GWAS text file. Both tools read the same files;
MetaXcan's SPrediXcan.py runs in its own venv (tests/conftest.py peer_venv("metaxcan-venv", ...)), found at
$LOCUSFLOW_METAXCAN (default ~/.cache/locusflow/peers/MetaXcan, a `git archive` of hakyimlab/MetaXcan).

    PYTHONPATH=lib python bench/twas.py [--genes 2000] [--snps 40] [--gwas 580000]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from locusflow.io.fastread import arrow_frame
from locusflow.io.weights import covariance_codes, read_covariance, read_predictdb, write_covariance, write_predictdb
from locusflow.twas.inputs import read_gwas_text
from locusflow.twas.spredixcan import WEIGHT_COLUMNS, spredixcan

PEERS = Path(os.environ.get("LOCUSFLOW_PEERS", Path.home() / ".cache" / "locusflow" / "peers"))
MX = Path(os.environ.get("LOCUSFLOW_METAXCAN", PEERS / "MetaXcan"))
MX_PY = PEERS / "metaxcan-venv" / "bin" / "python"


def make_inputs(d: Path, n_genes: int, n_snps: int, n_gwas: int, seed: int = 2024):
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    a1 = bases[rng.integers(0, 4, n_gwas)]
    a2 = bases[(np.searchsorted(bases, a1) + rng.integers(1, 4, n_gwas)) % 4]
    rsid = np.char.add("rs", np.arange(1, n_gwas + 1).astype(str))
    z = rng.normal(0, 1.5, n_gwas).astype(np.float32).astype(np.float64)
    miss = rng.random(n_gwas) < 0.05
    gw = pd.DataFrame({"SNP": rsid, "A1": a1, "A2": a2, "ZSCORE": z, "BETA": z * 0.01})[~miss]
    gw.to_csv(d / "gwas.txt", sep="\t", index=False, float_format="%.9g")
    start = np.sort(rng.integers(0, n_gwas - 4 * n_snps, n_genes))
    idx = start[:, None] + np.sort(rng.choice(4 * n_snps, (n_genes, n_snps)), axis=1)
    idx = np.array([np.unique(r)[:n_snps] if len(np.unique(r)) >= n_snps else
                    np.arange(r[0], r[0] + n_snps) for r in idx])
    genes = np.char.add("ENSG", np.arange(n_genes).astype(str).astype("U11"))
    swap_snp = rng.random(n_gwas) < 0.3      # one effect allele per SNP across genes, as in PredictDB
    flat = idx.ravel()
    swap = swap_snp[flat]
    w = pd.DataFrame({"rsid": rsid[flat], "gene": np.repeat(genes, n_snps), "weight": rng.normal(0, 0.1, flat.size),
                      "eff_allele": np.where(swap, a2[flat], a1[flat]),
                      "ref_allele": np.where(swap, a1[flat], a2[flat])})
    ex = pd.DataFrame({"gene": genes, "genename": genes, "n.snps.in.model": n_snps, "pred.perf.R2": 0.1,
                       "pred.perf.pval": 1e-3, "pred.perf.qval": 1e-2})
    write_predictdb(w, ex, d / "model.db")
    x = rng.binomial(2, 0.3, (n_genes, n_snps, 60)).astype(float)
    x -= x.mean(axis=2, keepdims=True)
    cov = np.einsum("gik,gjk->gij", x, x) / 59 + 1e-3 * np.eye(n_snps)
    iu = np.triu_indices(n_snps)
    rs = rsid[idx]
    c = pd.DataFrame({"gene": np.repeat(genes, len(iu[0])), "rsid1": rs[:, iu[0]].ravel(),
                      "rsid2": rs[:, iu[1]].ravel(), "value": cov[:, iu[0], iu[1]].ravel()})
    write_covariance(c, d / "cov.txt.gz")


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t0) -> tuple[float, float]:
    return time.perf_counter() - t0[0], time.process_time() - t0[1]


def ours(d: Path) -> tuple[pd.DataFrame, dict, tuple]:
    """End to end from the text files MetaXcan reads, in this process: read, then S-PrediXcan."""
    t = {}
    t0 = _clock()
    w = read_predictdb(d / "model.db")
    cov = read_covariance(d / "cov.txt.gz", tissue=w["tissue"].iloc[0])
    g = read_gwas_text(d / "gwas.txt")
    t["read"] = _since(t0)
    t1 = _clock()
    res = spredixcan(w, g, covariance=cov, strand_flip=False)
    t["kernel"], t["text"] = _since(t1), _since(t0)
    return res, t, (w, cov, g)


def write_parquet_copies(d: Path, w, cov, g) -> None:
    """Import once (what the pipeline keeps per weight database): Parquet, strings dictionary-encoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    w = w.assign(weight_row=np.arange(len(w), dtype=np.int64))     # as import_weights / the twas stage do
    cov = covariance_codes(cov, w)
    for name, df in (("w", w), ("cov", cov), ("gwas", g)):
        t = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(t, d / f"{name}.parquet", row_group_size=max(t.num_rows, 1))   # one dictionary per column


CODED = ("weight_row1", "weight_row2", "model_row", "first_rsid1", "repeat_pair", "value")


def load_parquet(d: Path) -> dict:
    """Read the Parquet copies as the trait-time path does: weights strings as dictionary codes, GWAS rsids
    as Arrow strings, the covariance as its integer codes + value (no covariance string)."""
    import pyarrow.parquet as pq
    frames = {}
    for name in ("w", "cov", "gwas"):
        f = d / f"{name}.parquet"
        strings = [c.name for c in pq.read_schema(f) if str(c.type) in ("string", "large_string") and
                   not (name == "gwas" and c.name == "rsid")]
        cols = list(CODED) if name == "cov" else WEIGHT_COLUMNS if name == "w" else None
        frames[name] = arrow_frame(pq.read_table(f, columns=cols, read_dictionary=strings, use_threads=False))
    return frames


def ours_parquet(d: Path) -> tuple[pd.DataFrame, tuple[float, float]]:
    """The same run from the Parquet copies: read + kernel."""
    t0 = _clock()
    frames = load_parquet(d)
    res = spredixcan(frames["w"], frames["gwas"], covariance=frames["cov"], strand_flip=False)
    return res, _since(t0)


def ours_cli(d: Path) -> tuple[float, float]:
    """A separate process, as MetaXcan runs: python -m locusflow.cli twas --gwas ... (start-up included)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "lib")}
    return _child([sys.executable, "-m", "locusflow.cli", "twas", "--predictdb", str(d / "model.db"),
                   "--covariance", str(d / "cov.txt.gz"), "--gwas", str(d / "gwas.txt"), "--no-strand-flip",
                   "--out", str(d / "lf")], env=env)


def _child(cmd, **kw) -> tuple[float, float]:
    t0 = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t0, (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)


def metaxcan(d: Path) -> tuple[float, float]:
    script = MX / "software" / "SPrediXcan.py"
    (d / "mx.csv").unlink(missing_ok=True)      # SPrediXcan.py does nothing when its output exists
    return _child([str(MX_PY), str(script), "--model_db_path", str(d / "model.db"), "--covariance",
                   str(d / "cov.txt.gz"), "--gwas_file", str(d / "gwas.txt"), "--snp_column", "SNP",
                   "--effect_allele_column", "A1", "--non_effect_allele_column", "A2", "--zscore_column", "ZSCORE",
                   "--beta_column", "BETA", "--output_file", str(d / "mx.csv"), "--throw", "--verbosity", "50"],
                  cwd=script.parent)


def _best(runs):
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--genes", type=int, default=2000)
    ap.add_argument("--snps", type=int, default=40)
    ap.add_argument("--gwas", type=int, default=580_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; best reported (shared machine)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        make_inputs(d, a.genes, a.snps, a.gwas)
        print(f"inputs: {a.genes} genes x {a.snps} SNPs, GWAS {a.gwas} rows ({time.perf_counter() - t0:.1f} s to make)")
        runs = [ours(d) for _ in range(a.repeat)]
        res, _, inputs = runs[0]
        t = {k: _best([r[1][k] for r in runs]) for k in runs[0][1]}
        kern = []
        for _ in range(a.repeat):                       # kernel only, inputs in memory
            t1 = _clock()
            spredixcan(*inputs[:1], inputs[2], covariance=inputs[1], strand_flip=False)
            kern.append(_since(t1))
        t["kernel only"] = _best(kern)
        write_parquet_copies(d, *inputs)
        pq_runs = [ours_parquet(d) for _ in range(a.repeat)]
        same_pq = pq_runs[0][0].equals(res)
        t["parquet"] = _best([r[1] for r in pq_runs])
        fr = load_parquet(d)
        kc = []
        for _ in range(a.repeat):                       # kernel only on the integer codes, inputs in memory
            t1 = _clock()
            spredixcan(fr["w"], fr["gwas"], covariance=fr["cov"], strand_flip=False)
            kc.append(_since(t1))
        t["kernel coded"] = _best(kc)
        t["cli"] = _best([ours_cli(d) for _ in range(a.repeat)])
        rows = [("text, end to end, separate process (python -m locusflow.cli twas --gwas)", "cli"),
                ("text, end to end, in process (read + kernel)", "text"),
                ("  of which reading SQLite + gz covariance + GWAS", "read"),
                ("Parquet copies (imported once), read + kernel, in process", "parquet"),
                ("kernel only, integer codes of the Parquet copies (inputs in memory)", "kernel coded"),
                ("kernel only, covariance strings (text inputs in memory)", "kernel only")]
        print(f"Parquet-path results identical to the text path: {same_pq}")
        script = MX / "software" / "SPrediXcan.py"
        if not (script.exists() and MX_PY.exists()):
            print(f"MetaXcan not found ({script}, {MX_PY}); run tests/test_twas.py once to create its venv")
            for label, k in rows:
                print(f"locusflow {label}: {t[k][0]:.3f} s wall, {t[k][1]:.3f} s CPU")
            return
        tm, cm = _best([metaxcan(d) for _ in range(a.repeat)])
        mx = pd.read_csv(d / "mx.csv")
        m = mx.merge(res, on="gene", suffixes=("_mx", ""))
        dz = np.nanmax(np.abs(m["zscore"] - m["zscore_mx"]))
        same = bool((m["n_snps_used"] == m["n_snps_used_mx"]).all())
        print(f"MetaXcan SPrediXcan.py (separate process, best of {a.repeat}): {tm:.2f} s wall, {cm:.2f} s CPU "
              f"({len(m)} genes; max |dz| = {dz:.1e}; n_snps_used equal: {same})")
        print(f"{'locusflow (best of ' + str(a.repeat) + ')':<78} {'wall s':>7} {'CPU s':>7}  MetaXcan/ours wall, CPU")
        for label, k in rows:
            print(f"{label:<78} {t[k][0]:7.3f} {t[k][1]:7.3f}  {tm / t[k][0]:6.1f}x {cm / t[k][1]:6.1f}x")


if __name__ == "__main__":
    main()
