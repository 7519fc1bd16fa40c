"""Stage ``focus``: FOCUS gene fine-mapping over LD blocks (``locusflow focus``; in ``locusflow run``).

Config section ``focus`` (defaults are pyfocus 0.802 ``focus finemap``'s)::

    focus:
      weights: PATH            # FOCUS SQLite database (.db) or a `weights` Parquet dataset [<out>/twas/weights]
      populations:             # optional; default: one population from this run's store and sumstats
        - {name: EUR, store: PATH.vcz, sumstats: PATH, weights: PATH, samples: IDS.txt}
      blocks: "37:EUR"         # bundled FOCUS blocks (37:EUR, 38:EUR) or a BED path (chrom start stop)
      prior: gencode38         # gencode37 | gencode38 | TSV path | a probability
      ridge: 0.1
      max_genes: 3
      credible_level: 0.9
      intercept: false
      p_threshold: 5.0e-8
      max_sets: 1.0e+8         # more causal sets than this in a block: stochastic search
      trait: trait
      plot: false              # per-block PNG + PDF in <out>/focus/plots
      blocks_per_unit: 8       # blocks batched into one work unit
      out: <out>/focus

Writes ``<out>/focus/results`` (dataset ``focus_results``) and ``<out>/focus/focus.tsv`` (pyfocus's wide
layout, full precision).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import get_logger
from ..config_schema import Key
from ..errors import InputError
from ..layout import dataset_path, stage_dir
from ..pipeline import Context, Stage, register, run_pipeline

log = get_logger("focus")
PARAMS = ("prior", "ridge", "max_genes", "credible_level", "intercept", "p_threshold", "max_sets", "trait")


def _out(cfg) -> Path:
    return stage_dir(cfg, "focus")


def populations(cfg) -> list[dict]:
    sec = cfg.get("focus") or {}
    if sec.get("populations"):
        pops = [dict(p) for p in sec["populations"]]
    else:
        pops = [{"name": "pop1", "store": str(dataset_path(cfg, "genotypes")),
                 "sumstats": str(dataset_path(cfg, "sumstats")),
                 "weights": sec.get("weights") or str(dataset_path(cfg, "twas_weights"))}]
    for i, p in enumerate(pops):
        p.setdefault("name", f"pop{i + 1}")
        for k in ("store", "sumstats", "weights"):
            if not p.get(k):
                raise InputError("config", f"focus.populations[{i}].{k}: a path", column=k)
        if isinstance(p.get("samples"), str):
            p["samples"] = Path(p["samples"]).read_text().split()
    return pops


def signal_blocks(blocks: pd.DataFrame, sumstats_paths, p_threshold: float) -> pd.DataFrame:
    """Blocks with at least one GWAS p < threshold in any population (p from z, as pyfocus), and a cost."""
    from ..io.dataset import read_dataset
    keep = np.zeros(len(blocks), bool)
    n = np.zeros(len(blocks))
    from scipy import stats      # imported when the stage runs, not at CLI start
    zmax = stats.chi2.isf(p_threshold, 1)
    for path in sumstats_paths:
        ss = read_dataset(path, "sumstats", columns=["chrom", "pos", "z"])
        for chrom, g in ss.groupby("chrom"):  # loop over chromosomes
            b = blocks.index[blocks["chrom"] == chrom]
            if not len(b):
                continue
            pos, z2 = g["pos"].to_numpy(), g["z"].to_numpy() ** 2
            order = np.argsort(pos)
            pos, z2 = pos[order], z2[order]
            lo = np.searchsorted(pos, blocks.loc[b, "start"].to_numpy(), "left")
            hi = np.searchsorted(pos, blocks.loc[b, "stop"].to_numpy(), "right")
            cmax = np.array([z2[i:j].max() if j > i else 0.0 for i, j in zip(lo, hi)])  # loop over blocks
            keep[b] |= cmax > zmax
            n[b] = np.maximum(n[b], hi - lo)
    out = blocks[keep].copy()
    out["cost"] = n[keep]
    return out


def work_units(blocks: pd.DataFrame, per_unit: int = 8) -> list[dict]:
    """Consecutive blocks of one chromosome batched ``per_unit`` to a work unit (one schema check and task
    start per batch, not per block); cost = the batch's GWAS SNP count."""
    units = []
    for chrom, g in blocks.groupby("chrom", sort=False):  # loop over chromosomes, then batches
        for i in range(0, len(g), max(1, per_unit)):
            b = g.iloc[i:i + per_unit]
            units.append(dict(unit_id=f"{chrom}:{int(b['start'].iloc[0])}-{int(b['stop'].iloc[-1])}",
                              cost=float(b["cost"].sum()),
                              blocks=[[str(chrom), int(r.start), int(r.stop)] for r in b.itertuples()]))
    return units


def run_focus(cfg: dict, runner_kwargs: dict | None = None) -> dict:
    from ..engine.runner import run_worklist
    from ..io.dataset import write_dataset
    from .focus_io import focus_kernel, read_blocks, to_pyfocus_wide
    sec = cfg.get("focus") or {}
    pops = populations(cfg)
    params = {k: sec[k] for k in PARAMS if k in sec}
    blocks = read_blocks(sec.get("blocks", "37:EUR"))
    todo = signal_blocks(blocks, [p["sumstats"] for p in pops], float(params.get("p_threshold", 5e-8)))
    log.info("FOCUS: %d of %d blocks hold a GWAS p < %g", len(todo), len(blocks), params.get("p_threshold", 5e-8))
    units = work_units(todo, int(sec.get("blocks_per_unit", 8)))
    res = run_worklist(units, focus_kernel, "focus_results", kwargs=dict(pops=pops, params=params),
                       **(runner_kwargs or {}))
    out = _out(cfg)
    write_dataset(res, out / "results", "focus_results", mode="overwrite",
                  manifest={"config": sec, "populations": [{k: v for k, v in p.items() if k != "samples"}
                                                           for p in pops]})
    tsv = out / "focus.tsv"
    tmp = out / ".focus.tsv.tmp"
    to_pyfocus_wide(res).to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.17g")
    tmp.replace(tsv)
    n_plots = 0
    if sec.get("plot"):
        from ..plots.focus import plot_blocks
        n_plots = plot_blocks(res, pops, out / "plots", params)
    genes = res[(res["population"] == res["population"].iloc[-1]) & (res["model_id"] != "NULL.MODEL")] \
        if len(res) else res
    return {"blocks_total": len(blocks), "blocks_with_signal": len(todo),
            "blocks_fine_mapped": int(res["block"].nunique()) if len(res) else 0,
            "gene_models": int(len(genes)), "in_credible_sets": int(genes["in_cred_set"].sum()) if len(res) else 0,
            "plots": n_plots, "results": str(out / "results"), "tsv": str(tsv)}


def _run(ctx: Context) -> dict:
    return run_focus(ctx.cfg, ctx.runner_kwargs())


def _inputs(cfg):
    try:
        pops = populations(cfg)
    except InputError:
        return []
    return [p[k] for p in pops for k in ("store", "sumstats", "weights")]


def _cli(sub):
    p = sub.add_parser("focus", help="FOCUS gene fine-mapping of TWAS signals (single or multi-ancestry)")
    p.add_argument("--store", nargs="+", required=True, help="genotype store(s) (.vcz), one per population")
    p.add_argument("--sumstats", nargs="+", required=True, help="munged sumstats dataset(s), one per population")
    p.add_argument("--weights", nargs="+", required=True, help="FOCUS .db or weights dataset(s), one per population")
    p.add_argument("--samples", nargs="*", help="per population: file of panel sample ids to use")
    p.add_argument("--names", nargs="*", help="population names")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--blocks", default="37:EUR")
    p.add_argument("--prior", default="gencode38")
    p.add_argument("--ridge", type=float, default=0.1)
    p.add_argument("--max-genes", type=int, default=3)
    p.add_argument("--credible-level", type=float, default=0.9)
    p.add_argument("--intercept", action="store_true")
    p.add_argument("--p-threshold", type=float, default=5e-8)
    p.add_argument("--max-sets", type=float, default=1e8)
    p.add_argument("--trait", default="trait")
    p.add_argument("--plot", action="store_true")
    p.add_argument("--engine", choices=["local", "dask", "spark"], default="local")
    p.set_defaults(func=_cli_run)


def _cli_run(a) -> int:
    n = len(a.store)
    if len(a.sumstats) != n or len(a.weights) != n or (a.samples and len(a.samples) != n):
        raise InputError("command line", "--store, --sumstats, --weights (and --samples) once per population")
    pops = [{"name": (a.names or [])[i] if a.names and i < len(a.names) else f"pop{i + 1}", "store": a.store[i],
             "sumstats": a.sumstats[i], "weights": a.weights[i],
             **({"samples": a.samples[i]} if a.samples else {})} for i in range(n)]
    cfg = {"out": a.out, "engine": a.engine, "stages": ["focus"], "focus": {
        "populations": pops, "blocks": a.blocks, "prior": a.prior, "ridge": a.ridge,
        "max_genes": a.max_genes, "credible_level": a.credible_level, "intercept": a.intercept,
        "p_threshold": a.p_threshold, "max_sets": a.max_sets, "trait": a.trait, "plot": a.plot}}
    print(run_pipeline(cfg)["focus"])
    return 0

CONFIG = {      # the focus section; defaults are pyfocus 0.802's (see the module docstring)
    "weights": Key("path", None, "FOCUS .db or weights dataset [this run's twas weights]"),
    "populations": Key("list", None, "one entry per population [this run's store and sumstats]", item=Key(
        "section", keys={"name": Key("str"), "store": Key("path"), "sumstats": Key("path"), "weights": Key("path"),
                         "samples": Key(("file", "list"), item=Key(("str", "int")))})),
    "blocks": Key("str", "37:EUR", "bundled FOCUS blocks (37:EUR, 38:EUR, ...) or a BED path"),
    "prior": Key(("str", "float"), None, "gencode37 | gencode38 | TSV | a probability [gencode38]"),
    "ridge": Key("float", None, "[0.1]", min=0), "max_genes": Key("int", None, "[3]", min=1),
    "credible_level": Key("float", None, "[0.9]", gt=0, max=1), "intercept": Key("bool", None, "[false]"),
    "p_threshold": Key("float", None, "[5e-8]", gt=0, max=1), "max_sets": Key("float", None, "[1e8]", gt=0),
    "trait": Key("str", None, "[trait]"), "plot": Key("bool", None, "PNG + PDF per block [false]"),
    "blocks_per_unit": Key("int", None, "[8]", min=1),
}


register(Stage("focus", _run, config=CONFIG, inputs=_inputs, outputs=lambda cfg: [_out(cfg) / "results"], add_cli=_cli))
