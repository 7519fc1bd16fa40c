"""Runs you can trust, on the bundled example with the real stages (issue 11):

- kill -9 at 21 seeded random points spread over every stage (3 in each, 3 more anywhere), each followed
  by a rerun: after every kill
  no dataset is visible that a clean run would not also contain (each visible stage is byte-identical to
  the clean run's), and the finished results are byte-identical to the clean run's;
- a second run on a locked results root exits 2 naming the holder, and the first finishes untouched;
- input changes (a same-size sumstats edit with its mtime restored that takes chr22's signal away, a BED
  edit, a weights edit) give the results of a fresh run, and stages whose inputs did not change are skipped.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from pipeline_helpers import STAGES, by_stage, cli, make_inputs, run_cli, snapshot

SEED = 20261204
PER_STAGE, EXTRA = 3, 3          # 6 stages x 3 + 3 = 21 kill points


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    d = tmp_path_factory.mktemp("pipeline")
    cfg = make_inputs(d / "inputs")
    r = run_cli("run", cfg, "--out", d / "clean")
    assert r.returncode == 0, r.stderr
    assert "results in" in r.stdout and "credible sets" in r.stdout and "PIP" in r.stdout
    return {"dir": d, "cfg": cfg, "clean": d / "clean", "snap": snapshot(d / "clean")}


def _stage_seconds(out: Path) -> dict:
    import json
    return {s: json.loads((out / s / "_stage.json").read_text())["seconds"] for s in STAGES}


def _kill_plan(seconds: dict) -> list[tuple[str, float]]:
    """(stage, delay after the stage starts), seeded, in pipeline order: each kill restarts that stage."""
    rng = random.Random(SEED)
    stages = [s for s in STAGES for _ in range(PER_STAGE)] + [rng.choice(STAGES) for _ in range(EXTRA)]
    points = [(s, rng.uniform(0.0, 1.1) * seconds[s]) for s in stages]
    return sorted(points, key=lambda p: (STAGES.index(p[0]), p[1]))


def _run_until(cmd_args, stage: str, delay: float) -> tuple[str, int]:
    """Start a run, kill -9 it ``delay`` seconds after stage ``stage`` starts (or when it exits first)."""
    p = cli(*cmd_args)
    log = []
    for line in p.stderr:
        log.append(line)
        if f"stage {stage}: running" in line or f"stage {stage}: inputs" in line:
            break
    t0 = time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < delay:
        time.sleep(0.01)
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
    log += p.stderr.readlines()
    p.wait()
    return "".join(log), p.returncode


def _assert_only_clean_data(out: Path, clean: dict, where: str):
    now = by_stage(snapshot(out))
    ref = by_stage(clean)
    assert set(now) <= set(STAGES), f"{where}: unexpected entries {set(now) - set(STAGES)}"
    for stage, files in now.items():
        assert files == ref[stage], f"{where}: stage {stage} visible but not the clean run's"


def test_kill_at_random_points_then_rerun(example):
    plan = _kill_plan(_stage_seconds(example["clean"]))
    out = example["dir"] / "killed"
    killed, held, missed = 0, False, 0
    for stage, delay in plan:
        log, rc = _run_until(["run", example["cfg"], "--out", out], stage, delay)
        missed += held and "taking over the lock" not in log
        killed += rc == -signal.SIGKILL
        # killed while it held the lock: before its last stage was done (a kill that lands after the last
        # stage, while the summary prints, finds the lock released: timing, under load)
        held = rc == -signal.SIGKILL and not any(f"stage {STAGES[-1]}: {w}" in log for w in ("published", "inputs"))
        _assert_only_clean_data(out, example["snap"], f"kill in {stage} after {delay:.2f}s")
        assert "Traceback" not in log
    assert len(plan) >= 20 and killed >= 15, f"only {killed} of {len(plan)} runs were killed before they finished"
    assert missed <= 1          # each rerun finds the lock of a run killed while holding it, and takes it over
    # the rerun that finishes; while it holds the lock (stopped), a second run on the same root is refused
    p = cli("run", example["cfg"], "--out", out)
    for line in p.stderr:
        if "stage " in line:
            break
    os.kill(p.pid, signal.SIGSTOP)
    try:
        second = run_cli("run", example["cfg"], "--out", out)
    finally:
        os.kill(p.pid, signal.SIGCONT)
    assert second.returncode == 2, second.stderr
    assert f"pid {p.pid}" in second.stderr and "started" in second.stderr and "Traceback" not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    rest = p.stderr.read()
    assert p.wait() == 0, rest
    assert snapshot(out) == example["snap"], "finished results differ from the clean run's"
    versions = out / ".locusflow" / "versions"      # killed runs' staging directories are gone
    assert sorted(v.name for s in versions.iterdir() for v in s.iterdir()) == sorted(
        os.readlink(out / s).split("/")[-1] for s in STAGES)


def _same_size_edit(path: Path, chrom: str):
    """chrom's rows lose their signal: BETA, CHISQ and P values rewritten in place with strings of the same
    length; the file's size and mtime are kept (only its ctime changes)."""
    st = path.stat()
    lines = path.read_text().split("\n")
    head = lines[0].split("\t")
    cols = {i: c for i, c in enumerate(head) if c == "BETA" or c.startswith(("CHISQ", "P_"))}
    for k in range(1, len(lines)):
        f = lines[k].split("\t")
        if len(f) > 1 and f[head.index("CHR")] == chrom:
            for i, c in cols.items():
                n = len(f[i])
                if n >= 3:
                    f[i] = ("0." + "0" * (n - 3) + "1") if c in ("BETA",) or c.startswith("CHISQ") else "0." + "9" * (n - 2)
            lines[k] = "\t".join(f)
    path.write_text("\n".join(lines))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def _printed(cfg, summaries) -> str:
    import io
    from locusflow.summary import print_summary
    buf = io.StringIO()
    print_summary(cfg, summaries, file=buf)
    return buf.getvalue()


def _ran(summaries: dict) -> set:
    return {s for s, v in summaries.items() if v != "skipped"}


def test_input_changes_equal_a_fresh_run(example):
    from locusflow.config import load_config
    from locusflow.io.dataset import read_dataset
    from locusflow.pipeline import run_pipeline
    d = example["dir"]
    inc = d / "incremental"
    shutil.copytree(example["clean"], inc, symlinks=True)
    cfg = lambda out: load_config(example["cfg"], {"out": str(out)})  # noqa: E731
    assert _ran(run_pipeline(cfg(inc))) == set()

    _same_size_edit(d / "inputs" / "gwas.tsv", "22")          # chr22 loses its signal
    ran = run_pipeline(cfg(inc))
    assert _ran(ran) == {"munge", "twas", "finemap", "focus"}
    # incremental (issue 19): only chr22's work units ran again; chr20's were copied from the last version
    # (finemap and focus have no chr22 block with a signal left: they recompute nothing)
    assert ran["twas"]["incremental"]["chroms_recomputed"] == ["22"], ran["twas"]
    for s in ("twas", "finemap", "focus"):
        assert ran[s]["incremental"]["chroms_reused"] == ["20"] and ran[s]["incremental"]["units_reused"] > 0, ran[s]
        assert "20" not in ran[s]["incremental"]["chroms_recomputed"], ran[s]
    assert "incremental: recomputed 1 work unit(s) (chromosomes 22)" in _printed(cfg(inc), ran)
    assert run_pipeline(cfg(d / "fresh1"))
    assert snapshot(inc) == snapshot(d / "fresh1")
    cs = read_dataset(inc / "finemap" / "cs", "finemap_cs")
    assert set(cs["chrom"]) == {"20"} and set(read_dataset(inc / "finemap" / "snp", "finemap_snp")["chrom"]) == {"20"}

    bed = (d / "inputs" / "blocks.bed").read_text().splitlines()   # split the chr20 block that holds the signal
    i = next(k for k, x in enumerate(bed) if x.split()[0] in ("chr20", "20") and int(x.split()[1]) < 20069826 < int(x.split()[2]))
    c, s, e = bed[i].split()[:3]
    bed[i:i + 1] = [f"{c}\t{s}\t20100000", f"{c}\t20100000\t{e}"]
    (d / "inputs" / "blocks.bed").write_text("\n".join(bed) + "\n")
    # twas and focus place genes in the run's LD blocks (one block_id everywhere): they rerun too, for chr20 only
    ran = run_pipeline(cfg(inc))
    assert _ran(ran) == {"ld", "twas", "finemap", "focus"}
    assert ran["finemap"]["incremental"]["chroms_recomputed"] == ["20"] == ran["twas"]["incremental"]["chroms_recomputed"]
    assert ran["twas"]["incremental"]["chroms_reused"] == ["22"], ran["twas"]

    con = sqlite3.connect(d / "inputs" / "weights.db")                # one gene's weights doubled
    gene = con.execute("SELECT gene FROM weights LIMIT 1").fetchone()[0]
    con.execute("UPDATE weights SET weight = 2 * weight WHERE gene = ?", (gene,))
    con.commit()
    con.close()
    assert _ran(run_pipeline(cfg(inc))) == {"twas", "focus"}
    run_pipeline(cfg(d / "fresh2"))
    assert snapshot(inc) == snapshot(d / "fresh2")
    assert len(read_dataset(inc / "ld" / "blocks", "ld_blocks")) == 4
    r = run_cli("history", inc, "twas")   # kept: the published version starred, the one before, and the one before
    assert r.returncode == 0 and r.stdout.startswith("twas:") and r.stdout.count("\n") == 4, r.stdout + r.stderr
    assert "  * " in r.stdout and "unit(s) recomputed" in r.stdout
