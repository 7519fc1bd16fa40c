"""Stage ``focus``: FOCUS gene fine-mapping over LD blocks (``locusflow focus``; in ``locusflow run``).

Config section ``focus`` (defaults are pyfocus 0.802 ``focus finemap``'s)::

    focus:
      weights: PATH            # FOCUS SQLite database (.db) or a `weights` Parquet dataset [<out>/twas/weights]
      populations:             # optional; default: one population from this run's store and sumstats
        - {name: EUR, store: PATH.vcz, sumstats: PATH, weights: PATH, samples: IDS.txt}
      blocks: "37:EUR"         # ld.blocks.resolve_blocks: 37:EUR, 38:EUR-AFR, ..., a BED, an ld_blocks dataset
      prior: gencode38         # gencode37 | gencode38 | TSV path | a probability
      ridge: 0.1
      max_genes: 3
      credible_level: 0.9
      intercept: false
      p_threshold: 5.0e-8
      search: auto             # auto (cost model) | exhaustive | sss
      tissue: null             # tissue-prioritised fine-mapping (pyfocus --tissue), e.g. adipose
      strict_tissue: false     # exact tissue-name match
      trait: trait
      plot: false              # per-block PNG + PDF in <out>/focus/plots
      blocks_per_unit: 32      # consecutive blocks of a chromosome per work unit

Writes ``<out>/focus/results`` (dataset ``focus_results``, blocks named by ``block_id``) and
``<out>/focus/focus.tsv`` (pyfocus's wide layout, full precision, with pyfocus's block name).
"""
from __future__ import annotations

from pathlib import Path

from ..config_schema import Key
from ..logs import get_logger
from ..errors import InputError
from ..layout import dataset_path, stage_dir
from ..pipeline import Context, Stage, register, run_pipeline

log = get_logger("focus")
PARAMS = ("prior", "ridge", "max_genes", "credible_level", "intercept", "p_threshold", "search", "trait",
          "tissue", "strict_tissue")


def _out(cfg) -> Path:
    return stage_dir(cfg, "focus")


def populations(cfg) -> list[dict]:
    """The populations FOCUS runs on.

    Parameters
    ----------
    cfg : dict
        Pipeline config (section ``focus``).

    Returns
    -------
    list of dict
        name, store, sumstats, weights (and samples) per population; by default one population from this
        run's genotypes, sumstats and TWAS weights.
    """
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


def run_focus(cfg: dict, runner_kwargs: dict | None = None) -> dict:
    """Run FOCUS from the config section ``focus`` and publish ``focus_results`` and the wide TSV.

    Parameters
    ----------
    cfg : dict
        Pipeline config (``out`` and section ``focus``, see the module docstring).
    runner_kwargs : dict, optional
        engine, spark, progress for :func:`locusflow.engine.runner.run_worklist`.

    Returns
    -------
    dict
        Summary: blocks, gene models, credible-set members, plots, output paths.
    """
    from ..io.dataset import finish_fragments, read_dataset
    from .run import focus, to_pyfocus_wide
    sec = cfg.get("focus") or {}
    pops = populations(cfg)
    out = _out(cfg)
    params = {k: sec[k] for k in PARAMS if k in sec}
    rk = dict(runner_kwargs or {})
    frags = focus([p["sumstats"] for p in pops], [p["store"] for p in pops], [p["weights"] for p in pops],
                blocks=focus_blocks_spec(cfg), names=[p["name"] for p in pops],
                samples=[p["samples"] for p in pops] if any(p.get("samples") for p in pops) else None,
                blocks_per_unit=int(sec.get("blocks_per_unit", 32)), engine=rk.get("engine", "local"),
                spark=rk.get("spark"), progress=rk.get("progress", False), write_to=str(out / "results"), **params)
    attrs = dict(frags.attrs)          # the tasks wrote the results; the driver commits them
    finish_fragments(out / "results", "focus_results", frags,
                     manifest={"config": sec, "populations": [{k: v for k, v in p.items() if k != "samples"}
                                                              for p in pops]})
    # gene-level rows of the blocks with a signal (a few per block): read back for pyfocus's wide table
    res = read_dataset(out / "results", "focus_results")
    res.attrs.update(attrs)
    tsv = out / "focus.tsv"
    with tsv.open("w") as fh:     # inside the stage's unpublished version: written whole before it is published
        to_pyfocus_wide(res).to_csv(fh, sep="\t", index=False, na_rep="NA", float_format="%.17g")
    genes = res[(res["population"] == res["population"].iloc[-1]) & (res["model_id"] != "NULL.MODEL")] \
        if len(res) else res
    return {"blocks_total": res.attrs.get("blocks_total"), "blocks_with_signal": res.attrs.get("blocks_with_signal"),
            "blocks_fine_mapped": int(res["block_id"].nunique()) if len(res) else 0,
            "gene_models": int(len(genes)), "in_credible_sets": int(genes["in_cred_set"].sum()) if len(res) else 0,
            "results": str(out / "results"), "tsv": str(tsv)}


def _run(ctx: Context) -> dict:
    return run_focus(ctx.cfg, ctx.runner_kwargs())


def focus_blocks_spec(cfg: dict) -> str:
    """The blocks FOCUS fine-maps: ``focus.blocks`` when given, else this run's LD blocks when the ld stage
    is part of the run or published (so ld, twas, finemap and focus name the same blocks), else ``37:EUR``.

    Parameters
    ----------
    cfg : dict
        The pipeline configuration.

    Returns
    -------
    str
        A specification for :func:`locusflow.ld.blocks.resolve_blocks`.
    """
    sec = cfg.get("focus") or {}
    if sec.get("blocks"):
        return str(sec["blocks"])
    ld = dataset_path(cfg, "ld_blocks")
    return str(ld) if "ld" in (cfg.get("stages") or []) or ld.exists() else "37:EUR"


def _inputs(cfg):
    try:
        pops = populations(cfg)
    except InputError:
        return []
    spec = focus_blocks_spec(cfg)
    return [p[k] for p in pops for k in ("store", "sumstats", "weights")] + ([spec] if "/" in spec else [])


def _cli(sub):
    p = sub.add_parser("focus", help="FOCUS gene fine-mapping of TWAS signals (single or multi-ancestry)")
    p.add_argument("--store", nargs="+", required=True, help="genotype store(s) (.vcz), one per population")
    p.add_argument("--sumstats", nargs="+", required=True, help="munged sumstats dataset(s), one per population")
    p.add_argument("--weights", nargs="+", required=True, help="FOCUS .db or weights dataset(s), one per population")
    p.add_argument("--samples", nargs="*", help="per population: file of panel sample ids to use")
    p.add_argument("--names", nargs="*", help="population names")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--blocks", default="37:EUR", help="37:EUR | 38:EUR-AFR | ... | BED | ld_blocks dataset")
    p.add_argument("--prior", default="gencode38")
    p.add_argument("--ridge", type=float, default=0.1)
    p.add_argument("--max-genes", type=int, default=3)
    p.add_argument("--credible-level", type=float, default=0.9)
    p.add_argument("--intercept", action="store_true")
    p.add_argument("--p-threshold", type=float, default=5e-8)
    p.add_argument("--search", choices=["auto", "exhaustive", "sss"], default="auto")
    p.add_argument("--tissue", help="prioritise models of this tissue (case-insensitive substring)")
    p.add_argument("--strict-tissue", action="store_true", help="exact tissue-name match")
    p.add_argument("--trait", default="trait")
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
        "p_threshold": a.p_threshold, "search": a.search, "tissue": a.tissue, "strict_tissue": a.strict_tissue,
        "trait": a.trait}}
    print(run_pipeline(cfg)["focus"])
    return 0

CONFIG = {      # the focus section; defaults are pyfocus 0.802's (see the module docstring)
    "weights": Key("path", None, "FOCUS .db or weights dataset [this run's twas weights]"),
    "populations": Key("list", None, "one entry per population [this run's store and sumstats]", item=Key(
        "section", keys={"name": Key("str"), "store": Key("path"), "sumstats": Key("path"), "weights": Key("path"),
                         "samples": Key(("file", "list"), item=Key(("str", "int")))})),
    "blocks": Key("str", None, "ld.blocks.resolve_blocks: 37:EUR, 38:EUR-AFR, ..., a BED, an ld_blocks dataset "
                  "[this run's LD blocks when the ld stage runs, else 37:EUR, pyfocus's default]"),
    "prior": Key(("str", "float"), None, "gencode37 | gencode38 | TSV | a probability [gencode38]"),
    "ridge": Key("float", None, "[0.1]", min=0), "max_genes": Key("int", None, "[3]", min=1),
    "credible_level": Key("float", None, "[0.9]", gt=0, max=1), "intercept": Key("bool", None, "[false]"),
    "p_threshold": Key("float", None, "[5e-8]", gt=0, max=1),
    "search": Key("str", None, "auto (cost model) | exhaustive | sss [auto]", choices=("auto", "exhaustive", "sss")),
    "tissue": Key("str", None, "prioritise models of this tissue (pyfocus --tissue; case-insensitive substring)"),
    "strict_tissue": Key("bool", None, "exact tissue-name match [false]"),
    "trait": Key("str", None, "[trait]"),
    "blocks_per_unit": Key("int", None, "[32]", min=1),
}


register(Stage("focus", _run, kernels=("locusflow.focus.task",), config=CONFIG, inputs=_inputs, outputs=lambda cfg: [_out(cfg) / "results"], add_cli=_cli))
