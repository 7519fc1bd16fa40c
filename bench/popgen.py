"""Benchmark: iHS, nSL and XP-EHH, locusflow against scikit-allel 1.3.13, same haplotypes, one run.

Haplotypes: msprime (its own environment, as the tests use it): 1,000 haplotypes over ``--length`` bp
(default 10 Mb: about 44,000 variants) with a partial sweep in the middle. scikit-allel is O(n^2) per
variant and needs minutes at full size, so both tools run on the same first ``--peer-variants``
variants (default 5,000; both are linear in variants, so the ratio carries over), where the results are
also compared; locusflow then runs the full set alone. One thread each (``use_threads=False``; our
numba scans are single-threaded). The first call of our scans compiles them (numba, cached on disk):
it is done before timing and reported separately.

    PYTHONPATH=lib python bench/popgen.py [--haplotypes 1000] [--length 10000000] [--peer-variants 5000]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from locusflow.popgen.ehh import ihs, nsl, xpehh  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PEER = """
import sys, time, numpy as np, allel
d = np.load(sys.argv[1]); h, pos = d["h"], d["pos"]; k = h.shape[1] // 2
t = {}
t0 = time.process_time(); a = allel.ihs(h, pos, use_threads=False); t["ihs"] = time.process_time() - t0
t0 = time.process_time(); n = allel.nsl(h, use_threads=False); t["nsl"] = time.process_time() - t0
t0 = time.process_time(); x = allel.xpehh(h[:, :k], h[:, k:], pos, use_threads=False); t["xpehh"] = time.process_time() - t0
np.savez(sys.argv[2], ihs=a, nsl=n, xpehh=x, **{"t_" + k: v for k, v in t.items()})
"""
LINE = ("{:6s} {} variants: scikit-allel {:7.2f} CPU-s  locusflow {:6.3f} CPU-s  ratio {:6.1f}x  "
        "(max |diff| {:.1e}, NaN pattern {});  all {} variants: locusflow {:6.2f} CPU-s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--haplotypes", type=int, default=1000)
    ap.add_argument("--length", type=int, default=10_000_000)
    ap.add_argument("--peer-variants", type=int, default=5000)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import peer_venv  # noqa: E402  (the tests' peer environments)

    work = Path(a.workdir or tempfile.mkdtemp(prefix="bench_popgen_"))
    work.mkdir(parents=True, exist_ok=True)
    sim = work / f"hap_{a.haplotypes}_{a.length}.npz"
    if not sim.exists():
        py = peer_venv("msprime", ["msprime==1.4.4"])
        subprocess.run([str(py), str(ROOT / "tests" / "popgen" / "sim_sweep.py"), str(sim), str(a.haplotypes), "11",
                        str(a.length)], check=True)
    d = np.load(sim)
    h, pos = np.ascontiguousarray(d["h"]), d["pos"]
    k = h.shape[1] // 2
    print(f"haplotypes {h.shape[1]} x variants {h.shape[0]}")
    t0 = time.process_time()
    ihs(h[:50], pos[:50]), nsl(h[:50]), xpehh(h[:50, :k], h[:50, k:], pos[:50])
    print(f"numba compile / cache load: {time.process_time() - t0:.1f} CPU-s (once per machine)")
    m = min(a.peer_variants, h.shape[0])
    sub = work / "sub.npz"
    np.savez(sub, h=h[:m], pos=pos[:m])
    (work / "peer.py").write_text(PEER)
    py = peer_venv("scikit-allel", ["scikit-allel==1.3.13", "numpy<2.3", "scipy<1.16"])
    subprocess.run([str(py), str(work / "peer.py"), str(sub), str(work / "peer_out.npz")], check=True)
    ref = np.load(work / "peer_out.npz")
    fns = {"ihs": lambda hh, pp: ihs(hh, pp), "nsl": lambda hh, pp: nsl(hh),
           "xpehh": lambda hh, pp: xpehh(hh[:, :k], hh[:, k:], pp)}
    rows = []
    for name, fn in fns.items():
        t0 = time.process_time()
        ours = fn(h[:m], pos[:m])
        t_ours = time.process_time() - t0
        diff = np.nanmax(np.abs(ours - ref[name]))
        same_nan = np.array_equal(np.isnan(ours), np.isnan(ref[name]))
        t0 = time.process_time()
        fn(h, pos)
        t_full = time.process_time() - t0
        t_peer = float(ref["t_" + name])
        rows.append((name, m, t_peer, t_ours, t_peer / t_ours, diff, "same" if same_nan else "DIFFERENT",
                     h.shape[0], t_full))
    for row in rows:
        print(LINE.format(*row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
