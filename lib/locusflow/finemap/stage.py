"""Stage `finemap`: SuSiE-RSS or FINEMAP-SSS over every LD block with a GWAS signal, genome-wide.

Work list: the LD blocks (a bed file such as LDetect's, an `ld_blocks` dataset, or fixed windows) whose
smallest sumstats p-value (p, else 2 Phi(-|z|)) is below ``p_threshold`` (default 5e-8), cost = m^2 for m
sumstats variants. Each unit runs :func:`locusflow.finemap.block.finemap_block` (reading its slice of the
sumstats and its dosages by path) through :func:`locusflow.engine.runner.run_worklist`; results go to
``<out>/finemap/{snp,cs,blocks}`` (schemas finemap_snp, finemap_cs, finemap_block; plus ``config`` for
FINEMAP when schema finemap_config exists), partitioned by run_id and chrom, replacing only the
partitions written.

Config section ``finemap`` (defaults in brackets)::

    method: susie            # susie | finemap
    run_id: null             # [the method]
    sumstats: null           # [<out>/sumstats]
    store: null              # [<out>/genotypes.vcz]
    blocks: {bed: FILE} | {dataset: DIR} | {window_kb: 1000}   # [window_kb: 1000]
    p_threshold: 5.0e-8
    n: null                  # GWAS sample size [median of the sumstats' n; none: z-only SuSiE-RSS]
    samples: null            # reference panel sample ids [all]
    prior_weights: null      # {path: FILE, column: weight}: functional priors (PolyFun style)
    diagnostics: {check: false, remove_flagged: false, loglr_threshold: 2, z_std_diff_threshold: null}
    susie: {L: 10, tol: 1.0e-3, max_iter: 100, estimate_residual_variance: false,
            estimate_prior_method: optim, coverage: 0.95, min_abs_corr: 0.5, null_weight: 0}
    finemap: {max_causal: 5}  # passed to locusflow.finemap.sss.finemap_sss
    ld: null                 # true: R from the LD stage's matrices (<out>/ld) and, unless `blocks`
                             # is given, its blocks (<out>/ld_blocks); or a path to an LD directory
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import get_logger
from ..errors import InputError
from ..io.dataset import file_checksum, read_dataset, write_dataset
from ..pipeline import Context, Stage, register
from .block import block_output_schema, finemap_block, split_output, tables
from .priors import read_prior_weights

log = get_logger("finemap")
OUT_DIRS = {"snp": "snp", "cs": "cs", "block": "blocks", "config": "config"}


def _paths(cfg: dict) -> dict:
    sec = cfg.get("finemap") or {}
    out = Path(cfg["out"])
    from ..io.ingest_stage import store_path
    ld = sec.get("ld")
    ld = (out / "ld" if ld is True else Path(ld)) if ld else None
    return {"sumstats": Path(sec.get("sumstats") or out / "sumstats"),
            "store": Path(sec.get("store") or store_path(cfg)), "out": out / "finemap", "ld": ld,
            "blocks": sec.get("blocks") or ({"dataset": str(out / "ld_blocks")} if ld else None)}


def read_blocks(spec, chroms=None) -> pd.DataFrame:
    """LD blocks as block_id, chrom, start, stop (1-based, half-open) from a config ``blocks`` entry."""
    if isinstance(spec, pd.DataFrame):
        b = spec.copy()
    elif spec is None or "window_kb" in spec:
        return None
    elif "dataset" in spec:
        b = read_dataset(spec["dataset"], "ld_blocks")
    elif "bed" in spec:
        from ..ld.blocks import read_block_bed      # bed: 0-based [s, e) -> 1-based half-open [s+1, e+1)
        b = read_block_bed(spec["bed"])
    else:
        raise InputError("config", "finemap.blocks as {bed: FILE}, {dataset: DIR} or {window_kb: N}",
                         column="finemap.blocks", value=spec)
    b["chrom"] = b["chrom"].astype(str)
    if "block_id" not in b:
        b["block_id"] = b["chrom"] + ":" + b["start"].astype(str) + "-" + b["stop"].astype(str)
    if chroms is not None:
        b = b[b["chrom"].isin(chroms)]
    return b[["block_id", "chrom", "start", "stop"]].reset_index(drop=True)


def signal_blocks(sumstats, blocks_spec, p_threshold: float = 5e-8) -> pd.DataFrame:
    """Blocks holding a sumstats p-value below the threshold, with min_p and cost = m^2."""
    ss = read_dataset(sumstats, "sumstats", columns=["chrom", "pos", "z", "p"])
    p = ss["p"].to_numpy(dtype=float)
    from scipy.special import ndtr      # imported when the stage runs, not at CLI start
    p = np.where(np.isnan(p), 2 * ndtr(-np.abs(ss["z"].to_numpy(dtype=float))), p)
    ss = ss.assign(p=p)
    blocks = read_blocks(blocks_spec, ss["chrom"].unique())
    if blocks is None:
        w = int(1000 * float((blocks_spec or {}).get("window_kb", 1000)))
        start = (ss["pos"].to_numpy() - 1) // w * w + 1
        blocks = pd.DataFrame({"chrom": ss["chrom"].astype(str), "start": start, "stop": start + w})
        blocks = blocks.drop_duplicates().sort_values(["chrom", "start"]).reset_index(drop=True)
        blocks["block_id"] = blocks["chrom"] + ":" + blocks["start"].astype(str) + "-" + blocks["stop"].astype(str)
    rows = []
    for chrom, b in blocks.groupby("chrom", sort=False):   # loop over chromosomes, vectorised within
        s = ss[ss["chrom"] == chrom]
        pos, pv = s["pos"].to_numpy(), s["p"].to_numpy()
        order = np.argsort(pos)
        pos, pv = pos[order], pv[order]
        lo = np.searchsorted(pos, b["start"].to_numpy(), "left")
        hi = np.searchsorted(pos, b["stop"].to_numpy(), "left")
        mins = np.array([pv[a:z].min() if z > a else np.inf for a, z in zip(lo, hi)])  # per block
        rows.append(b.assign(min_p=mins, n_sumstats=hi - lo))
    if not rows:
        return pd.DataFrame(columns=["block_id", "chrom", "start", "stop", "min_p", "n_sumstats", "cost"])
    allb = pd.concat(rows, ignore_index=True)
    sel = allb[allb["min_p"] < p_threshold].copy()
    sel["cost"] = sel["n_sumstats"].astype(float) ** 2
    sel["unit_id"] = sel["block_id"]
    sel.attrs["n_blocks"] = len(allb)
    return sel.reset_index(drop=True)


def run_finemap(cfg: dict, *, runner_kwargs: dict | None = None) -> dict:
    """Run the stage for config ``cfg``; returns the summary."""
    sec = cfg.get("finemap") or {}
    method = sec.get("method", "susie")
    if method not in ("susie", "finemap"):
        raise InputError("config", "finemap.method susie or finemap", column="finemap.method", value=method)
    run_id = str(sec.get("run_id") or method)
    paths = _paths(cfg)
    if not (paths["store"] / "locusflow.json").exists():
        raise InputError(paths["store"], "a genotype store (run stage ingest first, or set finemap.store)")
    units = signal_blocks(paths["sumstats"], paths["blocks"], float(sec.get("p_threshold", 5e-8)))
    log.info("finemap (%s): %d of %d blocks have p < %g", method, len(units), units.attrs.get("n_blocks", 0),
             float(sec.get("p_threshold", 5e-8)))
    kwargs = {"store": str(paths["store"]), "sumstats": str(paths["sumstats"]), "method": method,
              "run_id": run_id, "n": sec.get("n"), "samples": sec.get("samples"),
              "options": dict(sec.get(method) or {}), "diagnostics": dict(sec.get("diagnostics") or {}),
              "prior_weights": sec.get("prior_weights"),
              "ld_dir": str(paths["ld"]) if paths["ld"] else None}
    if kwargs["prior_weights"] is not None:
        read_prior_weights(kwargs["prior_weights"], None)     # fail early on a bad file
    from ..engine.runner import run_worklist
    out = run_worklist(units, finemap_block, block_output_schema(), kwargs=kwargs, **(runner_kwargs or {}))
    parts = split_output(out)
    manifest = {"config": sec, "method": method, "run_id": run_id,
                "inputs": {str(paths["sumstats"]): _manifest_sum(paths["sumstats"]),
                           str(paths["store"]): _manifest_sum(paths["store"])}}
    for kind, schema in tables().items():
        write_dataset(parts[kind], paths["out"] / OUT_DIRS[kind], schema, manifest=manifest)
    b = parts["block"]
    summary = {"run_id": run_id, "method": method, "blocks": int(units.attrs.get("n_blocks", 0)),
               "blocks_with_signal": len(units), "blocks_ok": int((b["status"] == "ok").sum()),
               "blocks_failed": int((b["status"] != "ok").sum()), "variants_fitted": int(b["n_fitted"].sum()),
               "credible_sets": len(parts["cs"]), "out": str(paths["out"])}
    for col in ("n_not_in_reference", "n_not_in_ld", "n_monomorphic", "n_no_prior_weight", "n_allele_swapped", "n_flagged",
                "n_removed"):
        summary[col[2:]] = int(b[col].sum())
    for _, r in b[b["status"] != "ok"].iterrows():
        log.warning("finemap: block %s not fine-mapped: %s", r["block_id"], r["status"])
    return summary


def _manifest_sum(path: Path) -> str:
    return file_checksum(path)


def _run(ctx: Context) -> dict:
    return run_finemap(ctx.cfg, runner_kwargs=ctx.runner_kwargs())


def _inputs(cfg):
    p = _paths(cfg)
    extra = [(cfg.get("finemap") or {}).get("prior_weights", {}) or {}]
    return [p["sumstats"], p["store"]] + ([p["ld"] / "index"] if p["ld"] else []) + [e["path"] for e in extra if isinstance(e, dict) and "path" in e]


def _cli(sub):
    p = sub.add_parser("finemap", help="SNP fine-mapping (SuSiE-RSS or FINEMAP-SSS) over LD blocks with a signal")
    p.add_argument("config", nargs="?", help="pipeline YAML (its finemap section); flags override it")
    p.add_argument("--method", choices=["susie", "finemap"])
    p.add_argument("--out", help="results root (reads <out>/sumstats, <out>/genotypes.vcz)")
    p.add_argument("--sumstats", help="munged sumstats dataset")
    p.add_argument("--store", help="genotype store (.vcz)")
    p.add_argument("--blocks", help="bed file of LD blocks (default: 1-Mb windows)")
    p.add_argument("--window-kb", type=float, help="fixed windows instead of a bed file")
    p.add_argument("--p-threshold", type=float)
    p.add_argument("--run-id")
    p.add_argument("--n", type=float, help="GWAS sample size")
    p.add_argument("--check-ld", action="store_true", help="run the LD-mismatch diagnostic")
    p.add_argument("--remove-flagged", action="store_true", help="drop flagged variants before fine-mapping")
    p.add_argument("--engine", choices=["local", "dask", "spark"])
    p.set_defaults(func=_cmd)


def _cmd(a) -> int:
    from ..config import load_config
    over: dict = {"finemap": {}}
    f = over["finemap"]
    for k in ("method", "sumstats", "store", "run_id", "n", "p_threshold"):
        if getattr(a, k) is not None:
            f[k] = getattr(a, k)
    if a.blocks:
        f["blocks"] = {"bed": a.blocks}
    elif a.window_kb:
        f["blocks"] = {"window_kb": a.window_kb}
    if a.check_ld or a.remove_flagged:
        f["diagnostics"] = {"check": True, "remove_flagged": bool(a.remove_flagged)}
    if a.out:
        over["out"] = a.out
    if a.engine:
        over["engine"] = a.engine
    cfg = load_config(a.config, over)
    summary = _run(Context(cfg))
    print(summary)
    return 0


register(Stage("finemap", _run, inputs=_inputs, outputs=lambda cfg: [_paths(cfg)["out"] / "snp"], add_cli=_cli))
