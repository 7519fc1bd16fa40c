"""Shared fixtures: one Spark session per test run, real data from ../shared/realdata when present.

``tests/`` is on sys.path (pytest.ini), so test files in any folder may ``from conftest import EXAMPLES,
apt_tool, peer_venv`` and import peer runners as ``peers.<module>``. Peer environments and Debian peer
tools come from ``tests/peers/`` (locked, built once, with a progress line).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from peers import progress
from peers.apt import apt_tool, prefetch_debian_peers  # noqa: F401  (re-exported: `from conftest import apt_tool`)
from peers.venv import PEERS, peer_venv, prefetch  # noqa: F401  (re-exported)

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))
EXAMPLES = ROOT / "examples"

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# the tests' Spark JVMs (one per run: CI machines are always new) do not write a class archive
# (engine.spark.class_archive_options: worth it from a machine's second session on; tested without a JVM)
os.environ.setdefault("LOCUSFLOW_JVM_CACHE", "off")


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.exists():
        pytest.skip(f"real data not present at {REALDATA}")
    return REALDATA


@pytest.fixture(scope="session")
def spark():
    from locusflow.engine.spark import get_spark
    from s3_endpoint import ENV as S3_ENV       # Python workers reach the test S3 endpoint (tests/s3_endpoint.py)
    s = get_spark({"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": 4,
                                                  **{f"spark.executorEnv.{k}": v for k, v in S3_ENV.items()}}})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def s3():
    """A bucket on a local S3 endpoint (moto's server on 127.0.0.1, started and stopped with the module)."""
    from s3_endpoint import s3_server
    with s3_server() as bucket:
        yield bucket


@pytest.fixture(scope="session")
def example_store(tmp_path_factory):
    """The bundled 1000G EUR chr20/chr22 panel ingested once per run (tests only read it)."""
    from locusflow.io.genotypes import ingest_plink
    return ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path_factory.mktemp("example") / "g.vcz")


def _sumstats(chroms=("20", "22"), n=4):
    import pandas as pd
    return pd.DataFrame([{"variant_id": f"{c}:{100 + i}:A:G", "chrom": c, "pos": 100 + i, "ref": "A", "alt": "G",
                          "rsid": f"rs{i}", "z": float(i), "beta": 0.1 * i, "se": 0.1, "p": 0.5, "n": 1000.0,
                          "af": 0.3, "info": 1.0, "genome_build": "GRCh37"} for c in chroms for i in range(n)])


@pytest.fixture
def make_sumstats():
    """``make_sumstats(chroms=("20", "22"), n=4)``: a small valid sumstats frame, ``n`` rows per chromosome."""
    return _sumstats


def pytest_pycollect_makemodule(module_path, parent):
    """A test file may import a helper module beside it (``from pipeline_helpers import ...``), as under
    pytest's default prepend mode: its folder goes on sys.path (appended, so it shadows nothing) before the
    file is imported. Test files themselves are imported by importlib mode under unique names, so two
    folders may each hold a ``test_bad_inputs.py``; helper module names must be unique across tests/."""
    d = str(module_path.parent)
    if d not in sys.path:
        sys.path.append(d)


def pytest_configure(config):
    progress.set_config(config)     # peer installs print a progress line even under -q
    whole_suite = [Path(a).resolve() for a in config.args] in ([], [ROOT / "tests"])
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput") and whole_suite:
        _controller_prefetch()
    config.addinivalue_line("markers", "live_peer(name): runs the GitHub peer itself (metaxcan, fusion); "
                            "left out where its sources are absent (peers/live.py)")


def _controller_prefetch():
    """Under pytest-xdist (``make test`` runs ``-n 2``) the workers' output is not shown, so for a run of the
    whole suite the controller installs the Debian peers and builds every locked peer environment itself,
    in a background thread, with its progress lines on the terminal; workers that need a peer meanwhile
    wait on its file lock. (A partial run leaves peers to the tests that use them, as without xdist.)"""
    import threading

    from peers.apt import install_debian_peers
    from peers.venv import HERE, PeerUnavailable, build_venv

    from concurrent.futures import ThreadPoolExecutor

    def venv(lock):
        try:
            build_venv(lock.stem, lock.read_text().splitlines()[0].split(":", 1)[1].split())
        except PeerUnavailable:
            pass                 # the test that needs it retries and reports the error

    def work():
        with ThreadPoolExecutor(3) as pool:      # downloads overlap; three pip processes at a time
            apt = pool.submit(install_debian_peers)
            list(pool.map(venv, sorted(HERE.glob("*.lock"))))
            apt.result()
    threading.Thread(target=work, name="peers", daemon=True).start()


def pytest_collection_modifyitems(config, items):
    """Live MetaXcan/FUSION comparisons are collected only where the peer's sources are present: elsewhere
    their committed-fixture counterparts (tests/twas/test_*_fixtures.py) check the same numbers."""
    from peers import live
    out, keep = {}, []
    for item in items:
        m = item.get_closest_marker("live_peer")
        if m is not None and not live.present(m.args[0]):
            out.setdefault(m.args[0], []).append(item)
        else:
            keep.append(item)
    if out:
        config.hook.pytest_deselected(items=[i for v in out.values() for i in v])
        items[:] = keep


def pytest_terminal_summary(terminalreporter, config):
    from peers import live
    for peer in live.SOURCES:
        if not live.present(peer):
            terminalreporter.write_line(
                f"live {peer} comparisons not run (no sources at {live.where(peer)}); its committed fixtures "
                f"were compared instead (tests/twas/test_*_fixtures.py, bench/regen_twas_fixtures.py)")


# Debian peers and locked peer environments are installed in the background as soon as a collected
# test file uses them (apt_tool) or names them (the lock's name)
PREFETCH = {"pyfocus": "pyfocus", "goatools": "goatools", "gwas_ssf": "gwas_ssf", "scikit-allel": "scikit-allel",
            "msprime": 'peer_venv("msprime"', "pyspark35": "pyspark35",
            "gpn": 'peer_venv("gpn"'}


def pytest_collection_finish(session):
    files = {item.path for item in session.items}
    if any("apt_tool(" in f.read_text(errors="ignore") for f in files if f.suffix == ".py"):
        prefetch_debian_peers()     # one apt-get for all of them, in the background
    for name, word in PREFETCH.items():
        if any(word in f.read_text(errors="ignore").lower() for f in files if f.suffix == ".py"):
            prefetch(name)
