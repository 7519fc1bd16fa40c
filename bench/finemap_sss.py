"""Benchmark: FINEMAP-SSS beside the FINEMAP v1.4.2 binary, and against exhaustive enumeration.

Part 1, side by side with FINEMAP v1.4.2 (the binary comes from the PyPI wheel credtools==0.9.8 through
tests/peers/finemap_peer.py, never committed), same z, R and n, both with their defaults (ours reproduces
FINEMAP 1.4.2: automatic prior SDs, its proposal, stopping rule and 50,000-configuration store):

* N3finemapping (real GTEx genotypes, 574 x 1,001; both simulated responses; z from univariate OLS,
  R = cor(X), n = 574, K = 5);
* the 8,612-SNP region of the FINEMAP paper's size: real 1000G EUR LD (489 samples) of polypred windows 1, 2
  and the first 1,059 SNPs of window 3 (../shared/realdata/polyfun_1kg_eur/polypred_example),
  block-diagonal; z = R lambda + e with e ~ N(0, R) drawn through the reference genotypes, 1-5 causal SNPs
  with |lambda| in [5, 9], GWAS n = 50,000, K = 5.

FINEMAP runs twice per row, reading R as text (.ld, shortest exact decimals) and as LDstore2's binary .bcor
(uint32, 1e-9); its reading cost is measured by ``finemap --config`` on one SNP with each file. Printed: CPU
seconds (FINEMAP as a child process; ours ``time.process_time`` of ``finemap_sss`` with one BLAS thread),
their ratios, configurations (FINEMAP's log figure "configurations evaluated", which counts what entered its
50,000-configuration store, evicted or not; ours the same count, ``n_stored``, and every configuration whose
Bayes factor we computed, each once, ``n_evaluated``), max |dPIP| and Pearson r against each FINEMAP run,
and p(k) at the mode. With ``--no-cap`` N3 also runs with the cap lifted (``--n-configs-top 10^8``), where
FINEMAP's figure counts every configuration it scored.

Part 2 (``--oracle``): exhaustive enumeration (``finemap_exhaustive``, exact) on sub-loci of the region,
against FINEMAP's search as published (our default) and with our closure step (``close_min_post=1e-5``).

    PYTHONPATH=lib OPENBLAS_NUM_THREADS=1 python bench/finemap_sss.py [--realdata ../shared/realdata]
        [--rows n3,region] [--no-cap] [--oracle]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "tests")]

from locusflow.finemap.sss import finemap_exhaustive, finemap_sss  # noqa: E402
from locusflow.io.genotypes import standardise  # noqa: E402
from locusflow.io.plink import BedReader  # noqa: E402

N_GWAS = 50_000


def load_region(realdata: Path, n_snps: int = 8612):
    """Block-diagonal float32 LD of polypred windows 1, 2, 3 (truncated to n_snps) and the std. genotypes."""
    blocks, left = [], n_snps
    for w in (1, 2, 3, 4):
        if left <= 0:
            break
        reader = BedReader(realdata / "polyfun_1kg_eur/polypred_example" / f"1000G.subset.{w}")
        stop = min(reader.n_variants, left)
        g = reader.read(0, stop).astype(np.float32)
        g[g < 0] = np.nan
        blocks.append(standardise(g))
        left -= stop
    m = sum(len(b) for b in blocks)
    r = np.zeros((m, m), dtype=np.float32)
    xs = np.zeros((m, blocks[0].shape[1]), dtype=np.float32)
    at = 0
    for x in blocks:
        k = len(x)
        r[at:at + k, at:at + k] = x @ x.T / np.float32(x.shape[1])
        xs[at:at + k] = x
        at += k
    np.fill_diagonal(r, np.where(np.any(xs != 0, axis=1), 1.0, 0.0))
    return r, xs


def simulate(r, xs, n_causal, rng):
    poly = np.flatnonzero(np.any(xs != 0, axis=1))
    causal = np.sort(rng.choice(poly, n_causal, replace=False))
    lam = np.zeros(len(r))
    lam[causal] = rng.choice([-1, 1], n_causal) * rng.uniform(5, 9, n_causal)
    noise = xs.astype(np.float64) @ rng.standard_normal(xs.shape[1]) / np.sqrt(xs.shape[1])
    signal = np.asarray(r, dtype=np.float64) @ lam if len(r) < 2000 else (r @ lam.astype(np.float32))
    return np.asarray(signal, dtype=np.float64) + noise, causal


def loci(realdata: Path, which):
    """(name, z, R, n, K, LD key) of each row; rows sharing an LD key share R."""
    from finemap.finemap_helpers import univariate_z
    if "n3" in which:
        d = np.load(realdata / "susier_data" / "N3finemapping.npz")
        r_n3 = np.corrcoef(d["X"].T)
        for k in (1, 2):
            yield f"N3finemapping response {k}, 1,001 SNPs, n = 574", univariate_z(d["X"], d["Y"][:, k - 1]), \
                r_n3, 574, 5, "n3"
    if "region" in which:
        r, xs = load_region(realdata)
        r64 = np.clip(np.asarray(r, dtype=np.float64), -1.0, 1.0)    # FINEMAP rejects |r| > 1 (float32 rounding)
        rng = np.random.default_rng(7)
        for n_causal in (1, 2, 3, 4, 5):
            z, _ = simulate(r, xs, n_causal, rng)
            yield f"8,612 SNPs, {n_causal} causal, n = 50,000", z, r64, N_GWAS, 5, "region"


def vs_finemap(realdata: Path, which, no_cap: bool):
    """FINEMAP 1.4.2 beside ours on the same loci; one row per locus."""
    from peers.finemap_peer import finemap_binary, read_cpu, run_finemap, write_ld
    exe = finemap_binary()
    if exe is None:
        print("FINEMAP 1.4.2 not available (PyPI unreachable): side-by-side part skipped")
        return
    print("locus | FINEMAP CPU s, text LD (reading it) | FINEMAP CPU s, bcor (reading it) | ours CPU s | "
          "ratio to text / bcor | configurations FINEMAP text, bcor / ours stored, scored | iterations "
          "FINEMAP text, bcor / ours | max dPIP, r vs text run | vs bcor run | p(k) at the mode FINEMAP / ours")
    files, reads, tmp = {}, {}, tempfile.TemporaryDirectory(prefix="finemap-bench-")
    for name, z, R, n, kmax, key in loci(realdata, which):
        if key not in files:
            files[key] = {}
            for ld in ("text", "bcor"):
                path = Path(tmp.name) / f"{key}.{ld}"
                write_ld(path, R, n, ld)
                files[key][ld] = path
                reads[key, ld] = read_cpu(exe, z, R, n, ld, path)
        peers = {ld: run_finemap(exe, z, R, n, max_causal=kmax, ld=ld, ld_path=files[key][ld], cache=False)
                 for ld in ("text", "bcor")}
        c0 = time.process_time()
        fit = finemap_sss(z, R, n, max_causal=kmax)
        cpu = time.process_time() - c0
        pip = fit.snp.pip.to_numpy()
        t, b = peers["text"], peers["bcor"]
        kmode = int(np.argmax(t["post_k"])) + 1
        agree = [f"{np.abs(pip - p['pip']).max():.4f}, {np.corrcoef(pip, p['pip'])[0, 1]:.5f}" for p in (t, b)]
        print(f"{name} | {t['cpu']:.2f} ({reads[key, 'text']:.2f}) | {b['cpu']:.2f} ({reads[key, 'bcor']:.2f}) | "
              f"{cpu:.2f} | {t['cpu'] / cpu:.1f}x / {b['cpu'] / cpu:.1f}x | {t['n_configs']:,}, {b['n_configs']:,} / "
              f"{fit.n_stored:,}, {fit.n_evaluated:,} | {t['n_iterations']}, {b['n_iterations']} / "
              f"{fit.n_iterations} | {agree[0]} | {agree[1]} | {t['post_k'][kmode - 1]:.3f}, "
              f"{b['post_k'][kmode - 1]:.3f} / {fit.post_k[kmode]:.3f} (k = {kmode})", flush=True)
        if no_cap and key == "n3":
            p = run_finemap(exe, z, R, n, max_causal=kmax, ld="bcor", ld_path=files[key]["bcor"], cache=False,
                            extra=("--n-configs-top", "100000000"))
            c0 = time.process_time()
            f = finemap_sss(z, R, n, max_causal=kmax, n_configs_top=None)
            cpu = time.process_time() - c0
            print(f"  no cap: FINEMAP {p['cpu']:.2f} s, {p['n_configs']:,} configurations, {p['n_iterations']} "
                  f"iterations / ours {cpu:.2f} s, {f.n_evaluated:,} scored, {f.n_iterations} iterations | "
                  f"max dPIP {np.abs(f.snp.pip.to_numpy() - p['pip']).max():.4f}", flush=True)
    tmp.cleanup()


def oracle(realdata: Path, seed: int = 7):
    """Exhaustive enumeration against FINEMAP's search (default) and with the closure step."""
    rng = np.random.default_rng(seed)
    r, xs = load_region(realdata)
    print("\npeer: exhaustive enumeration (same z, R), max |PIP_sss - PIP_exact|: FINEMAP's search / with closure")
    for size, kmax, n_causal in ((8612, 1, 1), (100, 2, 2), (60, 3, 2), (40, 4, 3)):
        start = 0 if size == len(r) else int(rng.integers(0, 3000))
        sub = slice(start, start + size)
        z, _ = simulate(r[sub, sub], xs[sub], n_causal, rng)
        t0 = time.process_time()
        ex = finemap_exhaustive(z, r[sub, sub], N_GWAS, max_causal=kmax)
        t_ex = time.process_time() - t0
        out = []
        for kw in ({}, {"close_min_post": 1e-5}):
            t0 = time.process_time()
            ss = finemap_sss(z, r[sub, sub], N_GWAS, max_causal=kmax, **kw)
            out.append((time.process_time() - t0, float(np.abs(ex.snp.pip - ss.snp.pip).max())))
        print(f"  {size} SNPs, k <= {kmax}: exhaustive {t_ex:.2f} s ({ex.n_configs:,} configurations) | SSS "
              f"{out[0][0]:.2f} s, {out[0][1]:.1e} | with closure {out[1][0]:.2f} s, {out[1][1]:.1e}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    ap.add_argument("--rows", default="n3,region", help="n3, region or both")
    ap.add_argument("--no-cap", action="store_true", help="also N3 with the 50,000 cap lifted")
    ap.add_argument("--oracle", action="store_true", help="part 2: exhaustive enumeration on sub-loci")
    args = ap.parse_args()
    with threadpool_limits(1):
        vs_finemap(Path(args.realdata), set(args.rows.split(",")), args.no_cap)
        if args.oracle:
            oracle(Path(args.realdata))


if __name__ == "__main__":
    main()
