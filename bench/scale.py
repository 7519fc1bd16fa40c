"""Whole-genome scale benchmark: one config (munge, ld, twas, finemap SuSiE, focus) on every engine.

Input (built once under ``--work``, reused while its parameters are unchanged):

- Blocks: the 1,703 LDetect EUR blocks (GRCh37, ``locusflow.ld.blocks.published_file('EUR')``); at
  ``--scale f`` every (1/f)-th of them (evenly over the 22 chromosomes), written as ``blocks.bed``.
- Panel: the real 1000 Genomes EUR genotypes (489 samples) of the 22 polypred windows (82,448 SNPs,
  ../shared/realdata/polyfun_1kg_eur) replicated: block b takes a run of contiguous SNPs of window
  ``b mod 22`` (real LD) starting at a random offset, as many as the block's share of ``--snps`` (default
  1,000,000, by block length; at least 100, at most the window), placed across the block keeping their
  order and relative spacing; rsids ``rs<b>_<i>``. One PLINK fileset, ingested once into ``panel.vcz``.
- GWAS (``gwas.tsv.gz``, CHR SNP BP A1 A2 Z N): z ~ N(R lambda, R) per block from the panel's own LD
  (R lambda + X'u / sqrt(n), X the standardised genotypes): ``--causal`` causal SNPs genome-wide (300,
  scaled; MAF > 0.05, one per chosen block), lambda = +-U(5, 9) on the z scale; N = 337,000.
- TWAS weights: 5 tissues, PredictDB SQLite (MetaXcan's tables), each with every GENCODE v18 protein-coding
  gene whose TSS lies in a kept block with probability 0.15 (~2,700 genes per tissue at scale 1); 3-15
  panel SNPs within 500 kb of the TSS, N(0, 0.1) weights, random effect allele.

Runs (each a fresh results root, ``locusflow run`` in a child process): engine local, spark local[1],
spark local[2], dask (threads, 2 workers). Measures wall time, CPU time of the whole process tree (driver,
JVM, Python workers: psutil sampled every 0.2 s, each process's last-seen user + system time) and peak RSS
per process, per-stage seconds from each stage's manifest; prints the local[1] -> local[2] speed-up and
Spark's overhead (spark local[1] wall - local wall) / local wall, and checks every output dataset is
identical across engines (Parquet rows equal after sorting, LD matrix chunks byte-equal).

    PYTHONPATH=lib OMP_NUM_THREADS=1 python bench/scale.py --scale 0.05 [--work /tmp/lf_scale]
        [--engines local,spark1,spark2,dask] [--json results.json]
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REAL = Path(os.environ.get("LOCUSFLOW_REALDATA", Path(__file__).resolve().parents[1].parent / "shared" / "realdata"))
WIN = REAL / "polyfun_1kg_eur" / "polypred_example"
GENES = REAL / "gene_annotation" / "gencode.v18.grch37.protein_coding.tsv"
N_GWAS = 337_000
TISSUES = ["Adipose", "Liver", "Muscle", "Brain", "Blood"]
TIMINGS = ("seconds",)          # output columns that time a unit (left out of the comparison)
STAGES = ["munge", "ld", "twas", "finemap", "focus"]
ENGINES = {"local": {"engine": "local"},
           "spark1": {"engine": "spark", "spark": {"master": "local[1]"}},
           "spark2": {"engine": "spark", "spark": {"master": "local[2]"}},
           "dask": {"engine": "dask"}}


# --------------------------------------------------------------------------------------------------- input
def pack_bed(counts: np.ndarray) -> bytes:
    """PLINK 1 .bed bytes of A1 counts (variants x samples, -1 missing), without the magic header."""
    code = np.array([3, 2, 0, 1], np.uint8)[np.where(counts < 0, 3, counts)]   # 0/1/2 A1, missing
    pad = (-code.shape[1]) % 4
    code = np.pad(code, ((0, 0), (0, pad)), constant_values=0).reshape(len(code), -1, 4)
    return (code[..., 0] | (code[..., 1] << 2) | (code[..., 2] << 4) | (code[..., 3] << 6)).astype(np.uint8).tobytes()


def load_windows() -> list[dict]:
    """The 22 real windows: bim, A1 counts (int8, -1 missing), standardised dosages (float32)."""
    from locusflow.io.plink import BedReader
    out = []
    for c in range(1, 23):  # 22 windows
        prefix = WIN / f"1000G.subset.{c}"
        bim = pd.read_csv(f"{prefix}.bim", sep=r"\s+", header=None, names=["chrom", "snp", "cm", "pos", "a1", "a2"])
        g = BedReader(prefix).read(0, len(bim))
        x = g.astype(np.float32)
        x[g < 0] = np.nan
        mu = np.nanmean(x, 1, keepdims=True)
        x = np.where(np.isnan(x), mu, x) - mu
        sd = x.std(1, keepdims=True)
        out.append(dict(bim=bim, g=g, x=x / np.where(sd > 0, sd, 1), maf=np.minimum(mu[:, 0], 2 - mu[:, 0]) / 2))
    return out


def select_blocks(scale: float) -> pd.DataFrame:
    """Every (1/scale)-th LDetect EUR block, raw BED rows (0-based start, end)."""
    from locusflow.ld.blocks import published_file
    bed = pd.read_csv(published_file("EUR"), sep=r"\s+", header=None, names=["chrom", "start", "stop"],
                      dtype={"chrom": str}, comment="#")
    bed = bed[pd.to_numeric(bed["start"], errors="coerce").notna()].astype({"start": np.int64, "stop": np.int64})
    bed["chrom"] = bed["chrom"].str.replace("chr", "")
    bed = bed.reset_index(drop=True)
    n = max(1, int(round(scale * len(bed))))
    keep = np.unique(np.round(np.linspace(0, len(bed) - 1, n)).astype(int))
    bed["length"] = bed["stop"] - bed["start"]
    bed["total_length"] = bed["length"].sum()
    return bed.iloc[keep].reset_index(drop=True).rename_axis("b").reset_index()


def build(work: Path, scale: float, snps: int = 1_000_000, causal: int = 300, seed: int = 19,
          copies: int = 1) -> dict:
    """Write the inputs into ``work`` once (``done.json`` marks a finished build of these parameters)."""
    work.mkdir(parents=True, exist_ok=True)
    params = {"scale": scale, "snps": snps, "causal": causal, "seed": seed, "format": 3,
              **({"panel_copies": copies} if copies > 1 else {})}
    done = work / "done.json"
    if done.exists() and json.loads(done.read_text()).get("params") == params:
        return json.loads(done.read_text())
    done.unlink(missing_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    wins = load_windows()
    blocks = select_blocks(scale)
    n_causal = max(1, int(round(causal * len(blocks) / 1703)))
    causal_blocks = set(rng.choice(len(blocks), size=min(n_causal, len(blocks)), replace=False).tolist())
    genes = pd.read_csv(GENES, sep="\t", header=None,
                        names=["chrom", "strand", "start", "end", "gene", "name", "type", "status"])
    genes["chrom"] = genes["chrom"].str.replace("chr", "")
    genes["tss"] = np.where(genes["strand"] == "+", genes["start"], genes["end"])
    genes = genes.drop_duplicates("name").drop_duplicates("gene")
    bims, gw, wrows = [], [], {t: [] for t in TISSUES}
    with open(work / "panel.bed", "wb") as bed_fh:
        bed_fh.write(bytes([0x6C, 0x1B, 0x01]))
        for b in blocks.itertuples():  # loop over blocks
            w = wins[int(b.b) % 22]
            nw = len(w["bim"])
            n = int(np.clip(round(snps * b.length / b.total_length), 100, nw))
            o = int(rng.integers(0, nw - n + 1))
            seg = slice(o, o + n)
            p = w["bim"]["pos"].to_numpy()[seg]
            frac = (p - p[0]) / max(1, p[-1] - p[0] + 1)
            pos = b.start + 1 + np.floor(frac * (b.length - n - 2)).astype(np.int64) + np.arange(n)
            rs = np.char.add(f"rs{b.b}_", np.arange(n).astype(str))
            a1, a2 = w["bim"]["a1"].to_numpy()[seg], w["bim"]["a2"].to_numpy()[seg]
            bims.append(pd.DataFrame({"chrom": b.chrom, "snp": rs, "cm": 0, "pos": pos, "a1": a1, "a2": a2}))
            bed_fh.write(pack_bed(np.tile(w["g"][seg], (1, copies)) if copies > 1 else w["g"][seg]))
            x = w["x"][seg]
            ns = x.shape[1]
            z = x @ rng.normal(size=ns).astype(np.float32) / np.sqrt(ns)       # N(0, R), R = X X' / n
            if b.Index in causal_blocks:
                ok = np.flatnonzero(w["maf"][seg] > 0.05)
                if len(ok):
                    c = int(rng.choice(ok))
                    lam = rng.uniform(5, 9) * rng.choice([-1, 1])
                    z = z + lam * (x @ x[c]) / ns
            gw.append(pd.DataFrame({"CHR": b.chrom, "SNP": rs, "BP": pos, "A1": a1, "A2": a2, "Z": z.astype(np.float64)}))
            gb = genes[(genes["chrom"] == b.chrom) & (genes["tss"] > b.start) & (genes["tss"] <= b.stop)]
            for t in TISSUES:  # loop over tissues, then genes
                for g in gb[rng.random(len(gb)) < 0.15].itertuples():
                    d = np.abs(pos - g.tss)
                    cand = np.flatnonzero(d <= 500_000)
                    if len(cand) < 3:
                        cand = np.argsort(d)[:30]
                    pick = np.sort(rng.choice(cand, size=min(int(rng.integers(3, 16)), len(cand)), replace=False))
                    flip = rng.random(len(pick)) < 0.5
                    wrows[t].append(pd.DataFrame({
                        "rsid": rs[pick], "gene": g.gene, "genename": g.name, "weight": rng.normal(0, 0.1, len(pick)),
                        "eff_allele": np.where(flip, a2[pick], a1[pick]), "ref_allele": np.where(flip, a1[pick], a2[pick])}))
    bim = pd.concat(bims, ignore_index=True)
    bim.to_csv(work / "panel.bim", sep="\t", header=False, index=False)
    fam = pd.read_csv(WIN / "1000G.subset.1.fam", sep=r"\s+", header=None)
    if copies > 1:      # the panel's samples again, as more individuals (same LD, k times the cost per block)
        reps = []
        for k in range(copies):
            f = fam.copy()
            f[0], f[1] = f[0].astype(str) + (f"_c{k}" if k else ""), f[1].astype(str) + (f"_c{k}" if k else "")
            reps.append(f)
        fam = pd.concat(reps, ignore_index=True)
    fam.to_csv(work / "panel.fam", sep=" ", header=False, index=False)
    g = pd.concat(gw, ignore_index=True).assign(N=N_GWAS)
    with gzip.open(work / "gwas.tsv.gz", "wt", compresslevel=1) as fh:
        g.to_csv(fh, sep="\t", index=False, float_format="%.9g")
    blocks[["chrom", "start", "stop"]].to_csv(work / "blocks.bed", sep="\t", header=False, index=False)
    from locusflow.io.weights import write_predictdb
    n_genes = {}
    for t in TISSUES:
        w = pd.concat(wrows[t], ignore_index=True)
        ex = w.groupby("gene", sort=False).agg(genename=("genename", "first"), n=("rsid", "size")).reset_index()
        ex = ex.rename(columns={"n": "n.snps.in.model"}).assign(**{"pred.perf.R2": 0.1, "pred.perf.pval": 1e-4,
                                                                   "pred.perf.qval": 1e-3})
        write_predictdb(w[["rsid", "gene", "weight", "ref_allele", "eff_allele"]], ex, work / f"weights_{t}.db")
        n_genes[t] = len(ex)
    from locusflow.io.genotypes import ingest_plink
    t1 = time.perf_counter()
    ingest_plink(work / "panel", work / "panel.vcz")
    info = {"params": params, "blocks": len(blocks), "snps": len(bim), "causal": len(causal_blocks),
            "genes": n_genes, "build_s": round(time.perf_counter() - t0, 1), "ingest_s": round(time.perf_counter() - t1, 1)}
    done.write_text(json.dumps(info, indent=1))
    return info


def config(work: Path, name: str, spark_conf: dict | None = None) -> Path:
    """The run's YAML: every stage but ingest (the panel is ingested once, named by ``paths.genotypes``);
    ``spark_conf``: extra Spark properties of the spark engines."""
    import copy

    import yaml
    eng = copy.deepcopy(ENGINES[name])
    if spark_conf and "spark" in eng:
        eng["spark"]["conf"] = dict(spark_conf)
    cfg = {"out": str(work / "runs" / name), "genome_build": "GRCh37", "stages": STAGES, **eng,
           "paths": {"genotypes": str(work / "panel.vcz")},
           "munge": {"sumstats": str(work / "gwas.tsv.gz"), "format": "auto", "reference": str(work / "panel.vcz")},
           "ld": {"blocks": str(work / "blocks.bed"), "maf": 0.01},
           "twas": {"weights": [{"predictdb": str(work / f"weights_{t}.db"), "tissue": t} for t in TISSUES],
                    "method": "spredixcan", "ld_reference": "store"},
           "finemap": {"method": "susie", "ld": True, "p_threshold": 5e-8, "n": N_GWAS,
                       "susie": {"L": 10}},
           "focus": {"prior": "gencode38", "p_threshold": 5e-8}}
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


# --------------------------------------------------------------------------------------------- measuring
def role(p) -> str:
    """What a process of the tree is (read at every sample: spark-submit's shell script execs the JVM)."""
    cmd = " ".join(p.cmdline())
    if p.name() == "java":
        return "spark_launcher" if "launcher.Main" in cmd else "jvm"
    if "pyspark.daemon" in cmd or "pyspark.worker" in cmd:
        return "python_worker"
    return "other"


BOX_KERNELS = {       # what two processes at once cost on this machine, by kind of work (--box-check)
    "gemm": "x = np.random.default_rng(0).normal(size=(600, 489)).astype(np.float32)\n"
            "for _ in range(1000): x @ x.T",
    "python": "s = 0\nfor i in range(15_000_000): s += i * i",
    "memory": "a = np.random.default_rng(0).normal(size=2_000_000)\n"
              "for _ in range(120): np.sqrt(np.abs(a) + 1.0) * a",
}


def box_check(env: dict) -> dict:
    """Seconds of three single-threaded loops (a float32 GEMM, a Python loop, elementwise numpy over 16 MB
    arrays) run alone and as two processes at once; ``slowdown`` = two-at-once / alone. A slowdown above 1
    is what the box's two cores share (memory bandwidth, caches) and caps any two-slot speed-up."""
    def timed(code: str, n: int) -> list:
        prog = f"import time, numpy as np\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
        procs = [subprocess.Popen([sys.executable, "-c", prog], env=env, stdout=subprocess.PIPE, text=True)
                 for _ in range(n)]
        return [float(p.communicate()[0]) for p in procs]
    out = {}
    for kind, code in BOX_KERNELS.items():
        alone = min(timed(code, 1)[0] for _ in range(2))
        pair = float(np.mean(timed(code, 2)))
        out[kind] = {"alone_s": round(alone, 3), "two_at_once_s": round(pair, 3), "slowdown": round(pair / alone, 3)}
    return out


def run_measured(cmd: list, env: dict, interval: float = 0.2, timeline: bool = False) -> dict:
    """Run ``cmd``; sample its process tree: per-process last CPU (user + system) and peak RSS. With
    ``timeline``, also each sample's CPU seconds by role so far (``[t, {role: [user, system]}]``) and each
    log line's arrival time, to see which process had the cores during which stage."""
    import psutil
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(proc.pid)
    seen: dict[int, dict] = {}
    log_lines = []
    import threading

    line_times = []
    samples = []

    def drain():
        for line in proc.stdout:
            log_lines.append(line)
            line_times.append(round(time.perf_counter() - t0, 3))
    th = threading.Thread(target=drain, daemon=True)
    th.start()
    while proc.poll() is None:
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            procs = []
        for p in procs:
            try:
                with p.oneshot():
                    ct = p.cpu_times()
                    rss = p.memory_info().rss
                    kind = "driver" if p.pid == proc.pid else role(p)
                    rec = seen.setdefault(p.pid, {"rss": 0})
                    rec["role"] = kind
                    rec["cpu"] = ct.user + ct.system
                    rec["ut"] = (ct.user, ct.system)
                    rec["rss"] = max(rec["rss"], rss)
            except psutil.Error:
                pass
        if timeline:
            by: dict = {}
            for rec in seen.values():
                u = by.setdefault(rec["role"], [0.0, 0.0])
                u[0] += rec.get("ut", (0.0, 0.0))[0]
                u[1] += rec.get("ut", (0.0, 0.0))[1]
            box = psutil.cpu_times()     # the whole machine: kernel threads (writeback) and steal as well
            by["box_busy"] = [box.user + box.nice, box.system + getattr(box, "softirq", 0.0) + getattr(box, "irq", 0.0)]
            by["box_idle"] = [box.idle, getattr(box, "iowait", 0.0) + getattr(box, "steal", 0.0)]
            samples.append([round(time.perf_counter() - t0, 3), {k: [round(x, 2) for x in v] for k, v in by.items()}])
        time.sleep(interval)
    wall = time.perf_counter() - t0
    th.join(5)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    roles: dict[str, dict] = {}
    for rec in seen.values():
        r = roles.setdefault(rec["role"], {"n": 0, "cpu_s": 0.0, "peak_rss_mb": 0.0})
        r["n"] += 1
        r["cpu_s"] += rec.get("cpu", 0.0)
        r["peak_rss_mb"] = max(r["peak_rss_mb"], rec["rss"] / 2**20)
    return {"rc": proc.returncode, "wall_s": wall, "cpu_s": sum(r["cpu_s"] for r in roles.values()),
            "cpu_rusage_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
            "roles": roles, "log": "".join(log_lines),
            **({"timeline": {"samples": samples, "lines": [[t, ln.rstrip()[:160]] for t, ln in zip(line_times, log_lines)]}}
               if timeline else {})}


WORK = re.compile(r"work (\S+) on \S+: (\d+) units in (\d+) tasks, unit time ([0-9.]+) s \(largest ([0-9.]+) s\), "
                  r"wall ([0-9.]+) s")


def work_lines(log: str) -> dict:
    """Per stage, the runner's work lines (locusflow.engine.runner): units, tasks, summed and largest unit
    time, wall of the map; the stage's driver-side time is its seconds minus the maps' wall."""
    res, stage = {}, None
    for line in log.splitlines():
        m = re.search(r"stage (\w+): running", line)
        if m:
            stage = m.group(1)
        m = WORK.search(line)
        if m and stage:
            w = res.setdefault(stage, {"units": 0, "tasks": 0, "unit_s": 0.0, "largest_s": 0.0, "map_wall_s": 0.0})
            w["units"] += int(m.group(2))
            w["tasks"] += int(m.group(3))
            w["unit_s"] += float(m.group(4))
            w["largest_s"] = max(w["largest_s"], float(m.group(5)))
            w["map_wall_s"] += float(m.group(6))
    return res


def stage_seconds(out: Path) -> dict:
    from locusflow.commit import MANIFEST
    res = {}
    for s in STAGES:
        m = out / s / MANIFEST
        if m.exists():
            res[s] = json.loads(m.read_text()).get("seconds")
    return res


# ------------------------------------------------------------------------------------------- comparing
def dataset_digest(path: Path) -> str:
    """Order-free digest of a Parquet dataset (rows sorted) or, for other files, of their bytes."""
    import pyarrow.parquet as pq
    files = sorted(p for p in path.rglob("*.parquet"))
    if files:
        df = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
        df = df.drop(columns=[c for c in TIMINGS if c in df])          # per-unit timings differ by run
        df = df.reindex(sorted(df.columns), axis=1).astype(str)     # list columns too
        df = df.sort_values(list(df.columns), kind="stable", ignore_index=True) if len(df) else df
        return hashlib.blake2b(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes(),
                               digest_size=12).hexdigest() + f" ({len(df)} rows)"
    h = hashlib.blake2b(digest_size=12)
    n = 0
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.endswith((".json", ".zattrs", ".zgroup"))
                    and not p.name.startswith(("_", "."))):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
        n += 1
    return h.hexdigest() + f" ({n} files)"


def digests(out: Path) -> dict:
    from locusflow.layout import DATASETS
    res = {}
    for ds, (stage, rel) in DATASETS.items():
        if stage in STAGES and (out / stage / rel).exists():
            res[ds] = dataset_digest(out / stage / rel)
    return res


# ---------------------------------------------------------------------------------------------- estimate
def model_figures(runs: dict) -> dict:
    """The two goals from within-run differences (less sensitive to other load than comparing two runs):

    - speed-up model: the spark local[1] run with each map's unit time W shared by 2 slots (max(W/2,
      largest unit)), its Spark overhead (map wall - W) and everything outside the maps (driver, session
      start) unchanged;
    - overhead model: Spark's own time in the local[1] run (session start + each map's wall - its units'
      time) over the local loop's wall (or over the local[1] run's own work when no local run)."""
    r = runs["spark1"]
    maps = r["work"].values()
    outside = r["wall_s"] - sum(w["map_wall_s"] for w in maps)
    t2 = outside + sum(max(w["unit_s"] / 2, w["largest_s"]) + max(0.0, w["map_wall_s"] - w["unit_s"]) for w in maps)
    spark_own = r.get("spark_wait_s", r["spark_start_s"]) + sum(max(0.0, w["map_wall_s"] - w["unit_s"]) for w in maps)
    base = runs["local"]["wall_s"] if "local" in runs else r["wall_s"] - spark_own
    return {"speedup_model": r["wall_s"] / t2, "spark_overhead_model": spark_own / base,
            "spark_own_s": spark_own, "outside_maps_s": outside}


def spark_costs(run: dict) -> dict:
    """Spark's costs in one run: session start, the first map's warm-up (Python workers start and import
    the kernels' modules, the JVM plans its first Arrow job) and the overhead per task of the other maps
    (their wall minus their units' time, per task and slot wave)."""
    maps = [(s, w) for s, w in run["work"].items()]
    first = maps[0][1] if maps else {"map_wall_s": 0.0, "unit_s": 0.0, "tasks": 1}
    rest = maps[1:]
    slots = run.get("slots", 1)
    per_task = (sum(max(0.0, w["map_wall_s"] - w["unit_s"] / min(slots, w["tasks"])) for _, w in rest)
                / max(1, sum(-(-w["tasks"] // slots) for _, w in rest)))
    warm = max(0.0, first["map_wall_s"] - first["unit_s"] / min(slots, first["tasks"]) - per_task)
    return {"session_start_s": run.get("spark_wait_s", run.get("spark_start_s", 0.0)), "first_map_warmup_s": warm,
            "per_task_s": per_task}


def estimate(results: dict, cores: int = 4, executors=(10, 100)) -> pd.DataFrame:
    """Expected wall time of the whole genome on a cluster, per stage, from this run's measurements.

    Per stage: W = summed unit time (local loop, one thread), U units, L the largest unit, D = the stage's
    driver-side time (stage seconds minus its map's wall: reading the work list, the weights import,
    munge, committing fragments), all scaled by 1/scale to the whole genome (units, W and D linearly; L as
    measured). On P = executors x cores slots, the runner makes T = min(2P, U) tasks (LPT-packed):
    map wall = max(W / min(P, T), L) + o x ceil(T / P), o Spark's per-task overhead measured here; plus the
    session start and the first map's warm-up (measured here) once. Driver time does not shrink with
    executors. Assumes executors as fast per core as this machine and storage that keeps up (one
    process per core reading Zarr/Parquet)."""
    runs = results["runs"]
    f = results["input"]["params"]["scale"]
    loc = runs["local"]
    sp = spark_costs({**runs["spark1"], "slots": 1})
    rows = []
    for st in STAGES:
        w = loc["work"].get(st, {"units": 0, "tasks": 0, "unit_s": 0.0, "largest_s": 0.0, "map_wall_s": 0.0})
        secs = loc["stages"].get(st, 0.0)
        rows.append({"stage": st, "units": w["units"] / f, "unit_s": w["unit_s"] / f,
                     "per_unit_ms": 1e3 * w["unit_s"] / max(1, w["units"]), "largest_s": w["largest_s"],
                     "driver_s": max(0.0, secs - w["map_wall_s"]) / f})
    est = pd.DataFrame(rows)
    for e in executors:
        p = e * cores
        t = np.minimum(2 * p, np.maximum(est["units"].round(), 1))
        est[f"wall_{e}x{cores}_s"] = (est["driver_s"] + np.where(est["units"] > 0, np.maximum(
            est["unit_s"] / np.minimum(p, t), est["largest_s"]) + sp["per_task_s"] * np.ceil(t / p), 0.0))
    total = {"stage": "session + warm-up", "units": np.nan, "unit_s": np.nan, "per_unit_ms": np.nan,
             "largest_s": np.nan, "driver_s": np.nan}
    total.update({c: sp["session_start_s"] + sp["first_map_warmup_s"] for c in est.columns if c.startswith("wall_")})
    est = pd.concat([est, pd.DataFrame([total])], ignore_index=True)
    tot = est.drop(columns="stage").sum(min_count=1).to_dict()
    est = pd.concat([est, pd.DataFrame([{"stage": "total", **tot}])], ignore_index=True)
    est.attrs["spark"] = sp
    return est


def print_estimate(results: dict, cores: int = 4) -> None:
    est = estimate(results, cores=cores)
    sp = est.attrs["spark"]
    print(f"\nSpark costs (local[1] run): session start (not hidden by munge) {sp['session_start_s']:.1f} s, "
          f"first-map warm-up "
          f"{sp['first_map_warmup_s']:.1f} s, per task {sp['per_task_s']:.3f} s")
    print(f"whole-genome cluster estimate (executors x {cores} cores, from scale {results['input']['params']['scale']:g}):")
    print(est.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


# ------------------------------------------------------------------------------------------------- main
def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--work", type=Path, default=Path("/tmp/lf_scale"))
    a.add_argument("--scale", type=float, default=1.0, help="fraction of the genome's LD blocks [1]")
    a.add_argument("--snps", type=int, default=1_000_000, help="GWAS / panel SNPs at scale 1")
    a.add_argument("--causal", type=int, default=300, help="causal SNPs at scale 1")
    a.add_argument("--engines", default="local,spark1,spark2,dask")
    a.add_argument("--json", type=Path, help="write the measurements here")
    a.add_argument("--keep", action="store_true", help="keep each run's results root")
    a.add_argument("--panel-copies", type=int, default=1,
                   help="the panel's 489 samples k times (k x 489 individuals: the same LD at k times the cost "
                        "per block, e.g. 5 for a 1000 Genomes-sized panel) [1]")
    a.add_argument("--box-check", action="store_true",
                   help="first time compute-, interpreter- and memory-bound loops alone and two at once")
    a.add_argument("--repeat", type=int, default=1,
                   help="rounds of the engines, interleaved (each engine's median-wall run is the one reported) [1]")
    a.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="a Spark property of the spark engines' sessions (repeatable)")
    a.add_argument("--timeline", action="store_true",
                   help="store each run's CPU by role over time and its log lines' times in --json")
    a.add_argument("--estimate", type=Path, help="only print the cluster estimate of a --json file")
    a.add_argument("--cores", type=int, default=4, help="cores per executor in the estimate [4]")
    args = a.parse_args(argv)
    if args.estimate:
        print_estimate(json.loads(args.estimate.read_text()), args.cores)
        return 0
    work = args.work / (f"scale{args.scale:g}" + (f"_x{args.panel_copies}" if args.panel_copies > 1 else ""))
    t = time.perf_counter()
    info = build(work, args.scale, args.snps, args.causal, copies=args.panel_copies)
    print(f"input ({time.perf_counter() - t:.1f} s here; built in {info['build_s']} s, ingest {info['ingest_s']} s): "
          f"{info['blocks']} blocks, {info['snps']:,} SNPs, {info['causal']} causal, genes per tissue "
          f"{info['genes']}", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "lib"),
                                          os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    results = {"input": info, "load_before": os.getloadavg(), "runs": {}}
    if args.box_check:
        results["box"] = box_check(env)
        print("box check (two processes at once / alone): " + ", ".join(
            f"{k} {v['alone_s']:.2f} -> {v['two_at_once_s']:.2f} s ({v['slowdown']:.2f}x)"
            for k, v in results["box"].items()), flush=True)
    import shutil
    names = args.engines.split(",")
    every: dict = {n: [] for n in names}
    for rnd, name in ((r, n) for r in range(max(1, args.repeat)) for n in names):
        out = work / "runs" / name
        shutil.rmtree(out, ignore_errors=True)
        cfg = config(work, name, dict(kv.split("=", 1) for kv in args.spark_conf))
        load0 = os.getloadavg()[0]
        m = run_measured([sys.executable, "-c", "import sys; from locusflow.cli import main; sys.exit(main())",
                          "run", str(cfg)], env, timeline=args.timeline)
        if m["rc"] != 0:
            print(m["log"][-4000:], file=sys.stderr)
            raise SystemExit(f"{name}: locusflow run exited {m['rc']}")
        m["stages"] = stage_seconds(out)
        m["digests"] = digests(out)
        m["load"] = [load0, os.getloadavg()[0]]
        log = m.pop("log")
        started = re.findall(r"spark session .* started in ([0-9.]+) s", log)
        m["spark_start_s"] = float(started[0]) if started else 0.0
        # the pipeline starts the session in the background while munge runs: only the rest is waited for
        m["spark_wait_s"] = max(0.0, m["spark_start_s"] - (m["stages"].get("munge") or 0.0))
        warmed = re.findall(r"spark: \d+ Python worker\(s\) started ahead in ([0-9.]+) s", log)
        m["spark_warm_s"] = float(warmed[0]) if warmed else 0.0     # the workers' start, after the session's
        m["work"] = work_lines(log)
        m["round"] = rnd
        every[name].append(m)
        roles = ", ".join(f"{k} x{v['n']}: {v['cpu_s']:.1f} CPU-s, peak {v['peak_rss_mb']:.0f} MB"
                          for k, v in sorted(m["roles"].items()))
        print(f"{name:7s} round {rnd + 1} wall {m['wall_s']:7.1f} s  CPU {m['cpu_s']:7.1f} s (rusage {m['cpu_rusage_s']:.1f})  "
              f"load {load0:.2f}->{m['load'][1]:.2f}  stages " + " ".join(f"{k} {v:.1f}" for k, v in m["stages"].items())
              + (f" (Spark session start {m['spark_start_s']:.1f} s then its Python workers' {m['spark_warm_s']:.1f} s, "
                 f"from the run's start, overlapping munge and the ld stage's planning)"
                 if m["spark_start_s"] else "") + f"\n        {roles}\n        maps: "
              + "; ".join(f"{k} {w['units']} units/{w['tasks']} tasks, unit time {w['unit_s']:.1f} s (largest "
                          f"{w['largest_s']:.2f}), map wall {w['map_wall_s']:.1f} s" for k, w in m["work"].items()),
              flush=True)
        if not args.keep and name != "local":
            shutil.rmtree(out, ignore_errors=True)
        (work / f"{name}.log").write_text(log)
    for name, ms in every.items():      # the median-wall run of each engine (the lower middle of an even count)
        results["runs"][name] = sorted(ms, key=lambda m: m["wall_s"])[(len(ms) - 1) // 2]
    if args.repeat > 1:
        results["rounds"] = {n: [m["wall_s"] for m in ms] for n, ms in every.items()}
        print("walls by round: " + "; ".join(f"{n} " + ", ".join(f"{w:.1f}" for w in ws)
                                             for n, ws in results["rounds"].items()))
    runs = results["runs"]
    ref = runs.get("local", next(iter(runs.values())))["digests"]
    same = {n: all(m["digests"] == ref for m in every[n]) for n in runs}
    for n in runs:
        for r in every[n]:
            for ds in sorted(set(ref) | set(r["digests"])):
                if r["digests"].get(ds) != ref.get(ds):
                    print(f"DIFFERENT: {n} round {r['round'] + 1} {ds}: {r['digests'].get(ds)} vs local {ref.get(ds)}")
    print("outputs identical to local: " + ", ".join(f"{n} {'yes' if s else 'NO'}" for n, s in same.items())
          + f" ({len(ref)} datasets: {', '.join(sorted(ref))})")
    summary = {}
    if "spark1" in runs and "spark2" in runs:
        summary["speedup_local1_local2"] = runs["spark1"]["wall_s"] / runs["spark2"]["wall_s"]
        if args.repeat > 1:     # each round's own ratio (its two runs minutes apart) and the best runs' ratio
            pairs = list(zip(every["spark1"], every["spark2"]))
            summary["speedup_by_round_median"] = float(np.median([a["wall_s"] / b["wall_s"] for a, b in pairs]))
            summary["speedup_best_runs"] = (min(m["wall_s"] for m in every["spark1"])
                                            / min(m["wall_s"] for m in every["spark2"]))
        s1 = sum(runs["spark1"]["stages"].values())
        s2 = sum(runs["spark2"]["stages"].values())
        summary["speedup_stages"] = s1 / s2
        summary["speedup_stages_after_start"] = ((s1 - runs["spark1"]["spark_wait_s"])
                                                 / (s2 - runs["spark2"]["spark_wait_s"]))
    if "spark1" in runs and "local" in runs:
        lw, sw = runs["local"]["wall_s"], runs["spark1"]["wall_s"]
        summary["spark_overhead"] = (sw - lw) / lw
        ls = sum(runs["local"]["stages"].values())
        summary["spark_overhead_stages"] = (sum(runs["spark1"]["stages"].values()) - ls) / ls
        summary["spark_overhead_stages_after_start"] = (sum(runs["spark1"]["stages"].values())
                                                        - runs["spark1"]["spark_wait_s"] - ls) / ls
    if "spark1" in runs:
        summary.update(model_figures(runs))
    results["summary"] = summary
    results["identical"] = same
    for k, v in summary.items():
        print(f"{k}: {v:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    if "local" in runs and "spark1" in runs:
        print_estimate(results, args.cores)
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
