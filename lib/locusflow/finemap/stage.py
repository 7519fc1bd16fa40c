"""Stage `finemap`: SuSiE-RSS, FINEMAP-SSS, SuSiE-inf or FINEMAP-inf over every LD block with a GWAS signal.

Work list: the LD blocks (a bed file such as LDetect's, an `ld_blocks` dataset, or fixed windows) whose
smallest sumstats p-value (p, else 2 Phi(-|z|)) is below ``p_threshold`` (default 5e-8), cost = m^2 for m
sumstats variants. Each unit runs :func:`locusflow.finemap.task.finemap_block` (reading its slice of the
sumstats and its dosages by path) through :func:`locusflow.engine.runner.run_worklist`; results go to
``<out>/finemap/{snp,cs,blocks}`` (schemas finemap_snp, finemap_cs, finemap_block; plus ``config`` for
FINEMAP when schema finemap_config exists), partitioned by run_id and chrom, replacing only the
partitions written.

Config section ``finemap`` (defaults in brackets)::

    method: susie            # susie | finemap | susie_inf | finemap_inf
    run_id: null             # [the method]
    sumstats: null           # [<out>/sumstats]
    store: null              # [<out>/genotypes.vcz]
    blocks: {bed: FILE} | {dataset: DIR} | {window_kb: 1000}   # [window_kb: 1000]
    p_threshold: 5.0e-8
    n: null                  # GWAS sample size [median of the sumstats' n; none: z-only SuSiE-RSS]
    samples: null            # reference panel sample ids [all]
    prior_weights: null      # {path: FILE, column: weight}: functional priors (PolyFun style)
    priors: null             # priors from variant scores through a link (locusflow.finemap.functional):
                             #   {scores: true | PATH,   # true: this run's variant_scores (score_variants)
                             #    column: llr, transform: deleterious,   # a = max(0, -llr)
                             #    link: exp,             # exp: pi ~ exp(beta s) | linear: pi ~ 1 + beta s
                             #    beta: null, estimate: true}   # slope estimated across the signal blocks
    diagnostics: {check: true, remove_flagged: false, loglr_threshold: 2, z_std_diff_threshold: null,
                  s_threshold: null}   # z-vs-LD check on every block (any method): finemap/blocks ld_mismatch
    susie: {L: 10, tol: 1.0e-3, max_iter: 100, estimate_residual_variance: false,
            estimate_prior_method: optim, coverage: 0.95, min_abs_corr: 0.5, null_weight: 0}
    finemap: {max_causal: 5}  # passed to locusflow.finemap.sss.finemap_sss
    impute: null             # {min_r2: 0.6, ridge: 0.1}: ImpG z for reference variants the GWAS lacks
    ld_panels: null          # [{n: N, samples: FILE, store: DIR}, ...]: R = sum n_k R_k / sum n_k
    finemap_inf: {L: 5, prior_std: 0.05, schedule: [100, 100, 10000]}   # FINEMAP-inf (finemap_inf)
    ld: null                 # true: R from the LD stage's matrices (<out>/ld) and, unless `blocks`
                             # is given, its blocks (<out>/ld_blocks); or a path to an LD directory
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..logs import get_logger
from ..storage import as_path
from ..config_schema import Key
from ..errors import InputError
from ..io.dataset import file_checksum, finish_fragments, read_dataset
from ..layout import dataset_path, stage_dir
from ..ld.blocks import signal_blocks
from ..pipeline import Context, Stage, register, run_pipeline
from .tables import block_output_schema, split_output, tables
from .task import METHODS, finemap_block
from .priors import read_prior_weights
from .functional import LINKS, PRIOR_SPEC

log = get_logger("finemap")
OUT_DIRS = {"snp": "snp", "cs": "cs", "block": "blocks", "config": "config"}


def _paths(cfg: dict) -> dict:
    sec = cfg.get("finemap") or {}
    ld = sec.get("ld")
    ld = (dataset_path(cfg, "ld_matrices") if ld is True else as_path(ld)) if ld else None
    scores = (sec.get("priors") or {}).get("scores")
    scores = (dataset_path(cfg, "variant_scores") if scores is True else as_path(scores)) if scores else None
    return {"sumstats": as_path(sec.get("sumstats") or dataset_path(cfg, "sumstats")),
            "store": as_path(sec.get("store") or dataset_path(cfg, "genotypes")), "out": stage_dir(cfg, "finemap"),
            "ld": ld, "blocks": sec.get("blocks") or ({"dataset": str(dataset_path(cfg, "ld_blocks"))} if ld else None),
            "scores": scores}


def stage_blocks(sumstats: pd.DataFrame, spec) -> pd.DataFrame:
    """Block intervals of a config ``blocks`` entry, through :mod:`locusflow.ld.blocks` (the one block module).

    ``{bed: FILE}``, ``{dataset: DIR}``, a shipped set's name (``EUR``, ``37:EUR``...) or a frame go to
    :func:`~locusflow.ld.blocks.resolve_blocks`; ``{window_kb: N}`` (the default, 1000) to
    :func:`~locusflow.ld.blocks.window_intervals` over the sumstats' positions.

    Parameters
    ----------
    sumstats : pandas.DataFrame
        Sumstats with ``chrom`` and ``pos`` (used by ``window_kb`` only).
    spec : dict, str, pandas.DataFrame or None
        The ``finemap.blocks`` entry; None means ``{window_kb: 1000}``.

    Returns
    -------
    pandas.DataFrame
        The block intervals.

    Raises
    ------
    InputError
        When ``spec`` is a dict without ``bed``, ``dataset`` or ``window_kb``.
    """
    from ..ld.blocks import resolve_blocks, window_intervals
    if isinstance(spec, pd.DataFrame) or isinstance(spec, str):
        return resolve_blocks(spec)
    spec = spec or {"window_kb": 1000}
    if not isinstance(spec, dict) or not ({"bed", "dataset", "window_kb"} & set(spec)):
        raise InputError("config", "finemap.blocks as {bed: FILE}, {dataset: DIR}, {window_kb: N} or a "
                         "shipped set's name", column="finemap.blocks", value=spec)
    if "window_kb" in spec:
        return window_intervals(sumstats["chrom"].astype(str), sumstats["pos"],
                                int(round(1000 * float(spec["window_kb"]))))
    return resolve_blocks(spec.get("bed") or spec.get("dataset"))


def run_finemap(cfg: dict, *, runner_kwargs: dict | None = None) -> dict:
    """Run the stage for config ``cfg``; returns the summary.

    Selects the blocks whose smallest p-value is below ``finemap.p_threshold``, runs
    :func:`~locusflow.finemap.task.finemap_block` on each through the work-list runner and writes the
    snp, cs, blocks (and config) datasets under ``<out>/finemap``.

    Parameters
    ----------
    cfg : dict
        Pipeline configuration (its ``finemap`` section; see the module docstring).
    runner_kwargs : dict, optional
        Keyword arguments of :func:`locusflow.engine.runner.run_worklist`.

    Returns
    -------
    dict
        run_id, method, block counts (all, with signal, ok, failed), variants fitted, credible sets,
        output directory, and the per-block counts summed (not_in_reference, flagged, removed, ...).

    Raises
    ------
    InputError
        Unknown ``finemap.method``, missing genotype store, or a bad prior-weights file.

    References
    ----------
    SuSiE-RSS (Zou et al. 2022 PLoS Genet; susieR 0.12.35), FINEMAP (Benner et al. 2016 Bioinformatics),
    SuSiE-inf (Cui et al. 2024 Nat Genet).
    """
    sec = cfg.get("finemap") or {}
    method = sec.get("method", "susie")
    if method not in METHODS:
        raise InputError("config", f"finemap.method one of {METHODS}", column="finemap.method", value=method)
    run_id = str(sec.get("run_id") or method)
    paths = _paths(cfg)
    if not (paths["store"] / "locusflow.json").exists():
        raise InputError(paths["store"], "a genotype store (run stage ingest first, or set finemap.store)")
    ss = read_dataset(paths["sumstats"], "sumstats", columns=["variant_id", "chrom", "pos", "z", "p"])
    units = signal_blocks(ss, stage_blocks(ss, paths["blocks"]), float(sec.get("p_threshold", 5e-8)))
    priors = _priors(sec, paths, ss, units)
    log.info("finemap (%s): %d of %d blocks have p < %g", method, len(units), units.attrs.get("n_blocks", 0),
             float(sec.get("p_threshold", 5e-8)))
    kwargs = {"store": str(paths["store"]), "sumstats": str(paths["sumstats"]), "method": method,
              "run_id": run_id, "n": sec.get("n"), "samples": sec.get("samples"),
              "options": dict(sec.get(method) or {}), "diagnostics": dict(sec.get("diagnostics") or {}),
              "prior_weights": sec.get("prior_weights"),
              "ld_dir": str(paths["ld"]) if paths["ld"] else None,
              "priors": {k: priors[k] for k in PRIOR_SPEC} if priors else None,
              "impute": sec.get("impute"), "ld_panels": sec.get("ld_panels") or None}
    if kwargs["ld_panels"] and paths["ld"]:
        raise InputError("config", "either finemap.ld (stored LD) or finemap.ld_panels (mixed-ancestry LD), not both",
                         column="finemap.ld_panels")
    if kwargs["prior_weights"] is not None:
        read_prior_weights(kwargs["prior_weights"], None)     # fail early on a bad file
    from ..engine.runner import run_worklist
    targets = {kind: (str(paths["out"] / OUT_DIRS[kind]), schema) for kind, schema in tables().items()}
    # each task writes its blocks' snp/cs/block rows itself; only counts come back to the driver
    frags = run_worklist(units, finemap_block, block_output_schema(), kwargs=kwargs, write_to=targets,
                         split=split_output, stats=block_stats, **(runner_kwargs or {}))
    manifest = {"config": sec, "method": method, "run_id": run_id,
                "inputs": {str(paths["sumstats"]): _manifest_sum(paths["sumstats"]),
                           str(paths["store"]): _manifest_sum(paths["store"])}}
    for kind, (where, schema) in targets.items():
        finish_fragments(where, schema, frags[frags["dataset"] == kind], manifest=manifest)
    tot = {c[len("stat_"):]: int(frags[c].fillna(0).sum())
           for c in frags.columns if c.startswith("stat_")}
    summary = {"run_id": run_id, "method": method, "blocks": int(units.attrs.get("n_blocks", 0)),
               "blocks_with_signal": len(units), "blocks_ok": tot.get("blocks_ok", 0),
               "blocks_failed": tot.get("blocks_failed", 0), "variants_fitted": tot.get("n_fitted", 0),
               "credible_sets": int(frags.loc[frags["dataset"] == "cs", "rows"].sum()), "out": str(paths["out"])}
    if priors:
        summary.update({f"prior_{k}": priors[k] for k in ("link", "beta", "estimated", "n_scored", "w", "loglik",
                                                          "loglik_uniform") if k in priors})
        log.info("finemap: functional priors from %s: link %s, beta %.3g (%s)", priors["scores"], priors["link"],
                 priors["beta"], "estimated across %d blocks" % priors["n_blocks"] if priors["estimated"] else "given")
        if priors["estimated"] and priors["n_blocks"] < 20:
            log.warning("finemap: the priors' slope rests on %d blocks with a signal (2 log LR over the uniform "
                        "prior %.2f); set finemap.priors.beta to fix it", priors["n_blocks"],
                        2 * (priors["loglik"] - priors["loglik_uniform"]))
    for col in COUNTS:
        summary[col[2:]] = tot.get(col, 0)
    if summary["blocks_failed"]:         # one row per block: index-sized
        b = read_dataset(targets["block"][0], "finemap_block", columns=["block_id", "status"])
        for _, r in b[b["status"] != "ok"].iterrows():
            log.warning("finemap: block %s not fine-mapped: %s", r["block_id"], r["status"])
    return summary


COUNTS = ("n_not_in_reference", "n_not_in_ld", "n_monomorphic", "n_no_prior_weight", "n_allele_swapped", "n_flagged",
          "n_removed")


def block_stats(frames: dict) -> dict:
    """Counts of one unit's block rows, computed in the task that fine-mapped it (summed by the driver).

    Parameters
    ----------
    frames : dict
        The unit's tables (:func:`locusflow.finemap.tables.split_output`).

    Returns
    -------
    dict
        blocks_ok, blocks_failed, n_fitted and the ``n_*`` drop counts of :data:`COUNTS`.
    """
    b = frames["block"]
    out = {"blocks_ok": int((b["status"] == "ok").sum()), "blocks_failed": int((b["status"] != "ok").sum()),
           "n_fitted": int(b["n_fitted"].sum())}
    out.update({c: int(b[c].sum()) for c in COUNTS})
    return out


def _priors(sec: dict, paths: dict, ss: pd.DataFrame, units) -> dict | None:
    """The kernel's score-based prior spec (``finemap.priors``), or None."""
    opts = sec.get("priors") or {}
    if not opts:
        return None
    if paths["scores"] is None:
        raise InputError("config", "finemap.priors.scores: true (this run's variant_scores) or a score table",
                         column="finemap.priors.scores", value=opts.get("scores"))
    if sec.get("prior_weights") is not None:
        raise InputError("config", "either finemap.prior_weights or finemap.priors, not both", column="finemap.priors")
    from .functional import prepare_priors
    return prepare_priors(opts, paths["scores"], ss, units)


def _manifest_sum(path: Path) -> str:
    return file_checksum(path)


def _run(ctx: Context) -> dict:
    return run_finemap(ctx.cfg, runner_kwargs=ctx.runner_kwargs())


def _inputs(cfg):
    p = _paths(cfg)
    extra = [(cfg.get("finemap") or {}).get("prior_weights", {}) or {}]
    return ([p["sumstats"], p["store"]] + ([p["ld"]] if p["ld"] else []) + ([p["scores"]] if p["scores"] else [])
            + [e["path"] for e in extra if isinstance(e, dict) and "path" in e])


def _cli(sub):
    p = sub.add_parser("finemap", help="SNP fine-mapping (SuSiE-RSS, FINEMAP-SSS, SuSiE-inf, FINEMAP-inf) over LD "
                       "blocks with a signal")
    p.add_argument("config", nargs="?", help="pipeline YAML (its finemap section); flags override it")
    p.add_argument("--method", choices=list(METHODS))
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
    p.add_argument("--impute", action="store_true", help="impute the z of reference variants the sumstats lack (ImpG)")
    p.add_argument("--priors-scores", metavar="PATH", help="functional priors from variant scores: 'true' for "
                   "this run's score_variants output, or a score table (finemap.priors)")
    p.add_argument("--priors-link", choices=list(LINKS), help="link of the priors (default exp)")
    p.add_argument("--priors-beta", type=float, help="fixed slope of the link (default: estimated across blocks)")
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
    if a.priors_scores:
        f["priors"] = {"scores": True if a.priors_scores.lower() == "true" else a.priors_scores}
        f["priors"].update({k: getattr(a, f"priors_{k}") for k in ("link", "beta") if getattr(a, f"priors_{k}") is not None})
    if a.impute:
        f["impute"] = {}
    if a.check_ld or a.remove_flagged:
        f["diagnostics"] = {"check": True, "remove_flagged": bool(a.remove_flagged)}
    if a.out:
        over["out"] = a.out
    if a.engine:
        over["engine"] = a.engine
    over["stages"] = ["finemap"]
    cfg = load_config(a.config, over)
    summary = run_pipeline(cfg)["finemap"]
    print(summary)
    return 0

CONFIG = {      # the finemap section; defaults None = the method's own (susieR's, FINEMAP's)
    "method": Key("str", "susie", "SuSiE-RSS, FINEMAP-SSS, SuSiE-inf or FINEMAP-inf", choices=METHODS),
    "run_id": Key("str", None, "name of the run [the method]"),
    "sumstats": Key("path", None, "sumstats dataset [this run's]"),
    "store": Key("path", None, "genotype store [this run's]"),
    "blocks": Key("section", None, "LD blocks: {bed: FILE} | {dataset: DIR} | {window_kb: N} [window_kb 1000]",
                  keys={"bed": Key("file"), "dataset": Key("path"), "window_kb": Key("float", gt=0)}),
    "p_threshold": Key("float", 5e-8, "fine-map blocks with a p below this", gt=0, max=1),
    "n": Key("float", None, "GWAS sample size [median of the sumstats' n]", gt=0),
    "samples": Key(("list", "file"), None, "reference panel sample ids [all]", item=Key(("str", "int"))),
    "prior_weights": Key("section", None, "functional priors (PolyFun style)",
                         keys={"path": Key("file"), "column": Key("str")}),
    "priors": Key("section", None, "priors from variant scores: pi ~ link(beta * standardised score), mean = uniform",
                  keys={"scores": Key(("bool", "path"), None, "true: this run's variant_scores; or a score table"),
                        "column": Key("str", None, "score column [llr]"),
                        "transform": Key("str", None, "[deleterious = max(0, -x)]",
                                         choices=("deleterious", "abs", "identity", "negate")),
                        "link": Key("str", None, "exp: exp(beta s) | linear: 1 + beta s [exp]", choices=LINKS),
                        "beta": Key("float", None, "slope (per SD for exp, per mean score for linear) [1]"),
                        "estimate": Key("bool", None, "slope by maximum marginal likelihood across the signal "
                                        "blocks [true unless beta is given]")}),
    "diagnostics": Key("section", None, "LD-mismatch check (susieR kriging_rss)", keys={
        "check": Key("bool", None, "run it [true]"), "remove_flagged": Key("bool", None, "drop flagged variants"),
        "loglr_threshold": Key("float", None, "[2]"), "z_threshold": Key("float", None, "[2]"),
        "z_std_diff_threshold": Key("float", None, ""),
        "s_threshold": Key("float", None, "finemap_block.ld_mismatch also when ld_s exceeds it", min=0)}),
    "susie": Key("section", None, "susie_rss options (susieR's defaults)", keys={
        "L": Key("int", None, "effects [10]", min=1), "tol": Key("float", None, "[1e-3]", gt=0),
        "max_iter": Key("int", None, "[100]", min=1), "coverage": Key("float", None, "[0.95]", gt=0, max=1),
        "min_abs_corr": Key("float", None, "purity [0.5]", min=0, max=1),
        "estimate_residual_variance": Key("bool", None, "[false]"),
        "estimate_prior_variance": Key("bool", None, "[true]"),
        "estimate_prior_method": Key("str", None, "[optim]", choices=("optim", "EM", "simple")),
        "scaled_prior_variance": Key("float", None, "[0.2]", gt=0), "prior_variance": Key("float", None, "[50]", gt=0),
        "residual_variance": Key("float", None, "", gt=0), "null_weight": Key("float", None, "[0]", min=0, max=1),
        "check_null_threshold": Key("float", None, "[0]"), "prior_tol": Key("float", None, "[1e-9]"),
        "n_purity": Key("int", None, "", min=1), "check_prior": Key("bool", None, "[true]")}),
    "finemap": Key("section", None, "finemap_sss options (FINEMAP's defaults)", keys={
        "max_causal": Key("int", None, "--n-causal-snps [5]", min=1),
        "prior_std": Key(("float", "list"), None, "--prior-std, one SD or a list averaged over [FINEMAP 1.4's "
                         "update from the data]",
                         item=Key("float", gt=0)),
        "version": Key("str", None, "Bayes factor of FINEMAP [1.4] or 1.1", choices=("1.4", "1.1")),
        "close_min_post": Key("float", None, "closure step after the search (e.g. 1e-5) [0: FINEMAP 1.4.2's "
                              "search]", min=0),
        "prior_prob": Key("float", None, "", gt=0, max=1), "corr_config": Key("float", None, "[0.95]", min=0, max=1),
        "n_iter": Key("int", None, "", min=1), "n_conv": Key("int", None, "", min=1),
        "prob_tol": Key("float", None, "", gt=0), "coverage": Key("float", None, "[0.95]", gt=0, max=1),
        "seed": Key("int", None, "[0]"),
        "n_seeds": Key("int", None, "searches per block from seeds seed..seed+N-1 [1]", min=1),
        "seed_tol": Key("float", None, "their max PIP difference above it: converged = false [0.01]", gt=0), "n_configs_top": Key("int", None, "--n-configs-top: configurations kept [50000]", min=1)}),
    "impute": Key("section", None, "ImpG-Summary z of reference variants missing from the sumstats, before "
                  "fine-mapping (given = on); finemap/snp imputed, imputation_r2", keys={
        "min_r2": Key("float", None, "keep imputed variants with r^2 at least this [0.6]", min=0, max=1),
        "ridge": Key("float", None, "lambda added to diag(R_tt) [0.1]", min=0)}),
    "ld_panels": Key("list", None, "mixed-ancestry LD: R = sum_k n_k R_k / sum_k n_k over these reference panels "
                     "(FINEMAP's recipe; variants in all of them)", item=Key("section", keys={
                         "n": Key("float", None, "GWAS sample size of this population", gt=0, required=True),
                         "samples": Key(("list", "file"), None, "panel sample ids [all]", item=Key(("str", "int"))),
                         "store": Key("path", None, "genotype store [finemap.store]")})),
    "finemap_inf": Key("section", None, "finemap_inf options (the reference's defaults; needs in-sample LD)", keys={
        "L": Key("int", None, "largest number of causal SNPs [5]", min=1),
        "prior_std": Key(("float", "list"), None, "prior SD of sparse effects, or a grid [0.05]",
                         item=Key("float", gt=0)),
        "schedule": Key("list", None, "iterations per epoch; (sigma^2, tau^2) re-estimated between epochs "
                        "[100, 100, 10000]", item=Key("int", min=0)),
        "n_conv": Key("int", None, "[100]", min=1), "prob_tol": Key("float", None, "[1e-3]", gt=0),
        "meansq": Key("float", None, "[1]", gt=0), "sigmasq": Key("float", None, "initial [1]", gt=0),
        "tausq": Key("float", None, "initial [0]", min=0), "n_configs": Key("int", None, "[1000]", min=1),
        "seed": Key("int", None, "[21]", min=0), "coverage": Key("float", None, "[0.95]", gt=0, max=1)}),
    "susie_inf": Key("section", None, "susie_inf options (the reference's defaults; needs in-sample LD)", keys={
        "L": Key("int", None, "[10]", min=1), "method": Key("str", None, "[moments]", choices=("moments", "MLE")),
        "coverage": Key("float", None, "[0.95]", gt=0, max=1), "min_abs_corr": Key("float", None, "[0.5]"),
        "max_iter": Key("int", None, "[100]", min=1), "pip_tol": Key("float", None, "[1e-3]", gt=0),
        "meansq": Key("float", None, "[1]", gt=0), "estimate_tausq": Key("bool", None, "[true]")}),
    "ld": Key(("bool", "path"), None, "true: R and blocks from the ld stage; or an LD directory"),
}


register(Stage("finemap", _run, kernels=("locusflow.finemap.task",), config=CONFIG, inputs=_inputs, outputs=lambda cfg: [_paths(cfg)["out"] / "snp"], add_cli=_cli))
