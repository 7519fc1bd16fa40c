"""Shared fixtures: one Spark session per test run, real data from ../shared/realdata when present."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))
EXAMPLES = ROOT / "examples"

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.exists():
        pytest.skip(f"real data not present at {REALDATA}")
    return REALDATA


@pytest.fixture(scope="session")
def spark():
    from locusflow.engine.spark import get_spark
    s = get_spark({"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": 4}})
    yield s
    s.stop()


def apt_tool(binary: str, package: str) -> str:
    """Path of a Debian peer tool, installing the package when missing and possible; else skip."""
    path = shutil.which(binary)
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], env=env, capture_output=True)
        path = shutil.which(binary)
    if not path:
        pytest.skip(f"peer tool {binary} ({package}) not available")
    return path


PEERS = Path(os.environ.get("LOCUSFLOW_PEERS", Path.home() / ".cache" / "locusflow" / "peers"))


def peer_venv(name: str, requirements: list[str], python: str = "python3.11") -> Path:
    """Python of a peer tool's own virtual environment (created once, reused); skip if it cannot be made.

    Peers are never imported by locusflow or installed into its environment (DESIGN: compared against only).
    """
    venv = PEERS / name
    py = venv / "bin" / "python"
    stamp = venv / ".requirements"
    want = "\n".join(requirements)
    if py.exists() and stamp.exists() and stamp.read_text() == want:
        return py
    shutil.rmtree(venv, ignore_errors=True)
    exe = shutil.which(python) or shutil.which("python3")
    r = subprocess.run([exe, "-m", "venv", str(venv)], capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", *requirements], capture_output=True, text=True)
    if r.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.skip(f"peer {name} could not be installed: {r.stderr[-500:]}")
    stamp.write_text(want)
    return py
