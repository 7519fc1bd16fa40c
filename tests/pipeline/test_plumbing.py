"""The pipeline's plumbing on its own: content hashes and their cache, the lock, the commit protocol,
the path table, the config schema's messages."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from locusflow.checksum import HashCache, content_hash, file_hash
from locusflow.commit import Versions
from locusflow.config_schema import Key, validate
from locusflow.errors import ConfigError, LockError
from locusflow.layout import dataset_path
from locusflow.lock import OutputLock

ROOT = Path(__file__).resolve().parents[2]


def test_hash_cache_cannot_skip_a_same_size_edit_with_mtime_restored(tmp_path):
    f = tmp_path / "x.tsv"
    f.write_text("a\t1\nb\t2\n")
    cache = HashCache(tmp_path / "cache.json")
    before = file_hash(f, cache=cache)
    st = f.stat()
    time.sleep(0.01)
    f.write_text("a\t1\nb\t3\n")                      # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime restored
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    assert file_hash(f, cache=cache) != before
    cache.save()
    again = HashCache(tmp_path / "cache.json")        # the persistent cache agrees
    assert file_hash(f, cache=again) == file_hash(f, cache=HashCache())


def test_directory_hash_sees_renames_and_ignores_provenance(tmp_path):
    d = tmp_path / "ds"
    (d / "chrom=1").mkdir(parents=True)
    (d / "chrom=1" / "part-0.parquet").write_bytes(b"abc")
    h = content_hash(d)
    (d / "_manifest.json").write_text('{"written_at": 1}')
    (d / "_SUCCESS").write_text("")
    (d / ".staging-x").mkdir()
    assert content_hash(d) == h
    os.rename(d / "chrom=1", d / "chrom=2")
    assert content_hash(d) != h
    assert content_hash(tmp_path / "absent") == "missing"


def _holder(out: Path) -> subprocess.Popen:
    code = ("import sys, time; from locusflow.lock import OutputLock; OutputLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "lib")})
    assert p.stdout.readline().strip() == "held"
    return p


def test_lock_names_its_live_holder_and_is_taken_over_when_it_died(tmp_path, caplog):
    p = _holder(tmp_path)
    try:
        with pytest.raises(LockError, match=rf"in use by another locusflow run \(pid {p.pid} on .*, started 20"):
            OutputLock(tmp_path).acquire()
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    with caplog.at_level("WARNING", logger="locusflow"):
        lock = OutputLock(tmp_path).acquire()           # the dead holder's lock is taken over
    lock.release()
    assert any(f"pid {p.pid}" in r.getMessage() and "taking over" in r.getMessage() for r in caplog.records)


def test_publish_swaps_whole_versions_and_clean_removes_leftovers(tmp_path):
    v = Versions(tmp_path)
    a = v.begin("munge", "aaa")
    (a / "sumstats").mkdir()
    (a / "sumstats" / "part-0.parquet").write_text("old")
    v.publish("munge", a, {"fingerprint": "b2:aaa"})
    assert (tmp_path / "munge" / "sumstats" / "part-0.parquet").read_text() == "old"
    b = v.begin("munge", "bbb")
    (b / "sumstats").mkdir()
    (b / "sumstats" / "part-0.parquet").write_text("new")
    assert (tmp_path / "munge" / "sumstats" / "part-0.parquet").read_text() == "old"   # staged: invisible
    v.publish("munge", b, {"fingerprint": "b2:bbb"})
    assert (tmp_path / "munge" / "sumstats" / "part-0.parquet").read_text() == "new"
    assert v.manifest("munge")["previous"] == "aaa" and (tmp_path / "munge" / "_SUCCESS").exists()
    dead = v.begin("munge", "ccc")                    # a run killed while staging
    (dead / "half").write_text("")
    (tmp_path / ".munge.link-999").symlink_to("nowhere")
    gone = {p.name for p in v.clean()}
    assert gone == {"ccc", ".munge.link-999"}
    assert sorted(p.name for p in (tmp_path / ".locusflow" / "versions" / "munge").iterdir()) == ["aaa", "bbb"]
    c = v.begin("munge", "bbb")                       # same fingerprint again (--force): a new directory
    assert c.name == "bbb-2" and (tmp_path / "munge" / "sumstats").exists()


def test_dataset_paths_and_overrides():
    cfg = {"out": "/r", "paths": {"sumstats": "/data/ss"}}
    assert dataset_path(cfg, "genotypes") == Path("/r/ingest/genotypes.vcz")
    assert dataset_path(cfg, "sumstats") == Path("/data/ss")
    assert dataset_path(cfg, "ld_matrices") == Path("/r/ld/matrices")
    running = {**cfg, "_staging": {"munge": "/r/.locusflow/versions/munge/x"}}
    assert dataset_path(running, "sumstats") == Path("/r/.locusflow/versions/munge/x/sumstats")
    with pytest.raises(ConfigError, match="unknown dataset 'sumstat'"):
        dataset_path(cfg, "sumstat")


@pytest.mark.parametrize("value,msg", [
    ("ten", "expected a positive integer, found 'ten'"), (0, "expected a positive integer, found 0"),
    (2.5, "expected a positive integer, found 2.5"), (True, "expected a positive integer, found True"),
    ([1], "expected a positive integer, found a list"),
])
def test_schema_messages(value, msg):
    secs = {"": {"stages": Key("list", item=Key("str"))}, "s": {"sub": Key("section", keys={"L": Key("int", 10, min=1)})}}
    with pytest.raises(ConfigError) as e:
        validate({"s": {"sub": {"L": value}}}, secs, origin={"s.sub.L": "conf/x.yaml"})
    assert str(e.value) == f"conf/x.yaml: s.sub.L: {msg}"
    ok = validate({"s": {"sub": {}}, "stages": ["a"]}, secs)
    assert ok["s"]["sub"]["L"] == 10                  # defaults filled
    p = validate({"s": {"p": "5e-8"}}, {"s": {"p": Key("float", gt=0)}})   # YAML 1.1 reads 5e-8 as a string
    assert p["s"]["p"] == 5e-8


def test_context_takes_the_session_started_in_the_background(tmp_path):
    """engine spark: the pipeline starts the session while munge runs (engine.spark.start_soon) and the
    first stage on Spark takes it from the Context; an error of the start surfaces there."""
    from concurrent.futures import Future

    from locusflow.pipeline import Context
    session = object()
    fut = Future()
    fut.set_result(session)
    ctx = Context({"out": str(tmp_path), "engine": "spark"}, _spark=fut)
    assert ctx.runner_kwargs() == {"engine": "spark", "spark": session} and ctx.spark is session
    bad = Future()
    bad.set_exception(ConfigError("engine: spark needs pyspark"))
    with pytest.raises(ConfigError, match="needs pyspark"):
        Context({"out": str(tmp_path), "engine": "spark"}, _spark=bad).runner_kwargs()


def test_stage_kernels_name_the_modules_of_their_work_lists():
    """engine spark: each Python worker imports the selected stages' ``kernels`` while the session starts
    (engine.spark.warm_workers); they must be the modules the work lists' kernels live in."""
    from locusflow.finemap.task import finemap_block
    from locusflow.focus.task import focus_unit
    from locusflow.ld.matrix import ld_block_kernel
    from locusflow.pipeline import REGISTRY, load_stages
    from locusflow.twas.tasks import twas_block
    load_stages()
    for stage, kernel in [("ld", ld_block_kernel), ("twas", twas_block), ("finemap", finemap_block),
                          ("focus", focus_unit)]:
        assert REGISTRY[stage].kernels == (kernel.__module__,)
