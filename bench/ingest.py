"""Benchmark: VCF -> genotype store, locusflow against `plink1.9 --vcf ... --make-bed`, same file, one run.

Input: a bgzipped VCF of 2,504 samples (the issue measured 16,085 variants x 2,504 samples), phased GT only,
written here from the real 1000 Genomes phase 1 panel of ../shared/realdata/hapmap3_1kg_thinned_flashpca
(1,092 samples; columns drawn with replacement up to 2,504 samples; all of its 14,079 variants), with 1 % of
calls set missing. CPU seconds (user + system):

- locusflow ``ingest_vcf`` in this process (its CPU time around the call: reading, parsing, the Zarr store
  and the variants table written), best of ``--repeat``;
- plink1.9 ``--vcf FILE --make-bed --threads 1`` (its process, RUSAGE_CHILDREN), best of ``--repeat``.

Also checks that both give the same genotypes (our store's alt dosages against plink's A1 counts).

    PYTHONPATH=lib python bench/ingest.py [--repeat 3] [--variants 16085] [--samples 2504]
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
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

from locusflow.io.genotypes import ingest_vcf  # noqa: E402
from locusflow.io.plink import BedReader, read_bim, read_fam  # noqa: E402

REALDATA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))
PANEL = REALDATA / "hapmap3_1kg_thinned_flashpca" / "1kg.ref.phase1_release_v3.20101123_thinned_autosomal_overlap"


def write_vcf(path: Path, m: int, n: int, seed: int = 1) -> None:
    """The benchmark VCF, bgzipped and tabix-indexed (bio2zarr needs the index for several contigs)."""
    rng = np.random.default_rng(seed)
    bim, fam = read_bim(PANEL), read_fam(PANEL)
    m = min(m, len(bim))
    cols = rng.integers(0, len(fam), n)
    g = BedReader(PANEL).read(0, m)[:, cols].astype(np.int64)          # A1 counts, -1 missing
    g[rng.random(g.shape) < 0.01] = -1
    # phase drawn at random for hets: a|b with a + b = count
    first = np.where(g == 2, 1, np.where(g == 1, rng.integers(0, 2, g.shape), 0))
    second = np.where(g >= 0, g - first, 0)
    a = np.where(g < 0, ord("."), first + ord("0")).astype(np.uint8)
    b = np.where(g < 0, ord("."), second + ord("0")).astype(np.uint8)
    field = np.empty((m, n, 4), np.uint8)
    field[:, :, 0], field[:, :, 1], field[:, :, 2], field[:, :, 3] = a, ord("|"), b, ord("\t")
    field[:, -1, 3] = ord("\n")
    body = field.reshape(m, -1)
    head = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
    head += [f"##contig=<ID={c}>" for c in dict.fromkeys(bim["chrom"][:m])]
    head.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
                          + [f"S{i:05d}" for i in range(n)]))
    fixed = (bim["chrom"][:m] + "\t" + bim["pos"][:m].astype(str) + "\t" + bim["rsid"][:m] + "\t" + bim["a2"][:m]
             + "\t" + bim["a1"][:m] + "\t.\tPASS\t.\tGT\t")
    plain = path.with_suffix("")
    with open(plain, "wb") as fh:
        fh.write(("\n".join(head) + "\n").encode())
        for s in range(0, m, 1000):
            rows = [f.encode() + body[i].tobytes() for i, f in zip(range(s, min(m, s + 1000)), fixed[s:s + 1000])]
            fh.write(b"".join(rows))
    import pysam
    pysam.tabix_index(str(plain), preset="vcf", force=True)       # writes plain + ".gz" and its .tbi


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--variants", type=int, default=16085)
    ap.add_argument("--samples", type=int, default=2504)
    args = ap.parse_args()
    from peers.apt import apt_tool
    plink = apt_tool("plink1.9", "plink1.9")
    with tempfile.TemporaryDirectory() as t:
        t = Path(t)
        vcf = t / "bench.vcf.gz"
        write_vcf(vcf, args.variants, args.samples)
        ours, theirs = [], []
        for _ in range(args.repeat):
            c0, w0 = cpu_self(), time.perf_counter()
            store = ingest_vcf(vcf, t / "g.vcz")
            ours.append((cpu_self() - c0, time.perf_counter() - w0))
            c0, w0 = cpu_children(), time.perf_counter()
            subprocess.run([plink, "--vcf", str(vcf), "--make-bed", "--threads", "1", "--allow-extra-chr",
                            "--keep-allele-order", "--double-id", "--out", str(t / "p")], check=True,
                           capture_output=True)
            theirs.append((cpu_children() - c0, time.perf_counter() - w0))
        d = store.dosages(0, store.meta["n_variants"])
        p = BedReader(t / "p").read(0, store.meta["n_variants"]).astype(float)
        p[p < 0] = np.nan
        same = np.array_equal(np.nan_to_num(d, nan=-1), np.nan_to_num(p, nan=-1))
        o, th = min(ours), min(theirs)
        c0 = cpu_children()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
        subprocess.run([sys.executable, "-m", "locusflow.cli", "ingest", "vcf", str(vcf), "--out", str(t / "cli")],
                       check=True, capture_output=True, env=env)
        cli = cpu_children() - c0
        print(f"VCF {store.meta['n_variants']} variants x {args.samples} samples ({vcf.stat().st_size / 1e6:.1f} MB bgzip)")
        print(f"locusflow ingest_vcf: {o[0]:.2f} CPU-s ({o[1]:.2f} s wall), store format "
              f"{store.meta['source_format']}")
        print(f"plink1.9 --vcf --make-bed: {th[0]:.2f} CPU-s ({th[1]:.2f} s wall)")
        print(f"ratio locusflow / plink (CPU): {o[0] / th[0]:.2f}   same genotypes: {same}")
        print(f"locusflow ingest vcf as a command (interpreter, imports, store, commit): {cli:.2f} CPU-s")


if __name__ == "__main__":
    main()
