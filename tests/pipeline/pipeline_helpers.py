"""Shared pieces of the pipeline tests: the example pipeline on private copies of its inputs, a subprocess
runner, and a normalised view of a results root for bit-for-bit comparison."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "lib"), "OPENBLAS_NUM_THREADS": "1"}
STAGES = ["ingest", "munge", "ld", "twas", "finemap", "focus"]
VOLATILE = {"written_at", "published_at", "seconds", "previous", "finished_at", "started_at",
            "incremental"}       # what a rerun recomputed and reused: run metadata, not results
TIMING_COLUMNS = {"seconds"}       # finemap_block.seconds: wall time of the block, the one non-reproducible column


def make_inputs(d: Path) -> Path:
    """Copies of the example's inputs in ``d`` (sumstats uncompressed, the EUR block BED as a file) and a
    config ``d/pipeline.yaml`` that names them; returns the config path."""
    d.mkdir(parents=True, exist_ok=True)
    for ext in ("bed", "bim", "fam"):
        shutil.copy(EXAMPLES / f"1000G_EUR_chr20_22.{ext}", d / f"geno.{ext}")
    with gzip.open(EXAMPLES / "bolt_chr20_22.sumstats.gz", "rb") as src, open(d / "gwas.tsv", "wb") as dst:
        shutil.copyfileobj(src, dst)
    shutil.copy(EXAMPLES / "twas_sim_chr20_22.db", d / "weights.db")
    shutil.copy(EXAMPLES / "twas_sim_chr20_22.cov.txt.gz", d / "weights.cov.txt.gz")
    shutil.copy(ROOT / "lib" / "locusflow" / "data" / "ld_blocks" / "ldetect_EUR_GRCh37.bed", d / "blocks.bed")
    cfg = yaml.safe_load((ROOT / "conf" / "example.yaml").read_text())
    cfg["ingest"] = {"plink": str(d / "geno")}
    cfg["munge"]["sumstats"] = str(d / "gwas.tsv")
    cfg["ld"]["blocks"] = str(d / "blocks.bed")
    cfg["twas"]["weights"] = [{"predictdb": str(d / "weights.db"), "covariance": str(d / "weights.cov.txt.gz"),
                               "tissue": "sim_EUR"}]
    cfg["stages"] = list(STAGES)   # the computing stages; plots/report carry timings and drawing metadata
    cfg.pop("out", None)
    (d / "pipeline.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return d / "pipeline.yaml"


def cli(*args, **kw) -> subprocess.Popen:
    """``locusflow ARGS`` in a subprocess (stderr piped, line-buffered text)."""
    return subprocess.Popen([sys.executable, "-u", "-m", "locusflow.cli", *map(str, args)], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1, **kw)


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "locusflow.cli", *map(str, args)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True)


def _normal(obj, out: str):
    if isinstance(obj, dict):
        return {_normal(k, out): _normal(v, out) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_normal(v, out) for v in obj]
    if isinstance(obj, str):     # a version directory's path, under whichever root it was written
        obj = re.sub(r"[^\s\"']*/\.locusflow/", "<out>/.locusflow/", obj.replace(out, "<out>"))
        return re.sub(r"[^\s\"']*/(?=(ingest|munge|ld|twas|finemap|focus)/)", "<out>/", obj)
    return obj


def snapshot(out: Path) -> dict:
    """Every visible file under ``out`` (through the stage links), by relative path: the sha256 of its bytes;
    JSON metadata with write times dropped and the results root's own path replaced by <out>."""
    out = Path(out)
    snap = {}
    for top in sorted(os.listdir(out)):
        if top.startswith("."):
            continue
        base = out / top
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for f in files:
            rel = str(f.relative_to(out))
            data = f.read_bytes()
            if f.suffix == ".json" or f.name in ("_stage.json", "_manifest.json"):
                try:
                    data = json.dumps(_normal(json.loads(data), str(out.resolve())), sort_keys=True).encode()
                    data = data.replace(str(out).encode(), b"<out>")
                except ValueError:
                    pass
            elif f.suffix == ".parquet":
                data = _without_timing(f, data)
            snap[rel] = hashlib.sha256(data).hexdigest()
    return snap


def _without_timing(f: Path, data: bytes) -> bytes:
    """The file's bytes, or, if it has a timing column, its other columns' values (as Arrow IPC)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pq.read_table(f)
    drop = [c for c in t.column_names if c in TIMING_COLUMNS]
    if not drop:
        return data
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.drop_columns(drop).schema) as w:
        w.write_table(t.drop_columns(drop))
    return sink.getvalue().to_pybytes()


def by_stage(snap: dict) -> dict:
    out: dict = {}
    for rel, h in snap.items():
        out.setdefault(rel.split("/")[0], {})[rel] = h
    return out
