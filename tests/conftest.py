"""Shared fixtures: one Spark session per test run, real data from ../shared/realdata when present.

``tests/`` is on sys.path (pytest.ini), so test files in any folder may ``from conftest import EXAMPLES,
apt_tool, peer_venv`` and import peer runners as ``peers.<module>``. Peer environments and Debian peer
tools come from ``tests/peers/`` (locked, built once, with a progress line).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from peers import progress
from peers.apt import apt_tool  # noqa: F401  (re-exported: `from conftest import apt_tool`)
from peers.venv import PEERS, peer_venv  # noqa: F401  (re-exported)

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


def pytest_configure(config):
    progress.set_config(config)     # peer installs print a progress line even under -q
