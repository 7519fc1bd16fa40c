"""Stage `twas`: weight databases -> ``weights`` dataset (imported once); S-PrediXcan or FUSION per trait.

Config section ``twas``::

    twas:
      weights:                      # any number of PredictDB databases and FUSION .pos lists
        - {predictdb: TW_Liver.db, covariance: TW_Liver.txt.gz, tissue: Liver}
        - {fusion: GTEx.Liver.pos, weights_dir: GTEx.Liver/}
      method: spredixcan            # spredixcan | fusion
      ld_reference: store           # store (the run's genotype panel) | covariance (the model files)
      blocks: ld_blocks/lddetect_1KG_EUR_hg19.bed   # or window_kb: 1000 (fixed windows)
      blocks_per_unit: 16           # ld_reference store: consecutive blocks batched into one work unit
      strand_flip: true             # complement strand-flipped SNPs (MetaXcan: false)
      ambiguous: keep               # keep | drop strand-ambiguous SNPs (FUSION: drop)
      impute: true                  # FUSION: impute missing GWAS z from LD
      max_impute: 0.5
      min_r2pred: 0.7
      shards: 8                     # ld_reference covariance: work units (default 1 local, 8 dask/spark,
      max_covariance_rows: 20000000 #   more when a unit would read more covariance rows than this)

The weight sources are imported into ``<out>/twas/weights`` (and their covariance files into
``<out>/twas/covariance`` with the trait-independent sums of :mod:`locusflow.twas.covariance`) once; later
runs, i.e. later traits, reuse them while the source files are unchanged (size and mtime, else sha256).
``ld_reference: store``: one work unit per LD block, whose panel LD is computed once for every model
(gene x tissue) in it. ``ld_reference: covariance``: the LD is the model files' own, per gene, so there is
no block LD to share; the models are cut into ``shards`` units (weight_row ranges) that each read the
GWAS once. Each model still gets the ``block_id`` of its median position.

Inputs: ``<out>/sumstats`` (schema sumstats; or ``twas.sumstats``) and, for ``ld_reference: store``,
the genotype store (``<out>/genotypes.vcz``; or ``twas.store``). Outputs: ``<out>/twas/weights``
(schema weights), ``<out>/twas/covariance`` (schema snp_covariance, when given) and
``<out>/twas/results`` (schema twas_results). CLI: ``locusflow twas --predictdb DB --covariance COV
--sumstats DIR --out DIR ...``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..logs import get_logger
from ..storage import as_path
from ..engine.runner import run_worklist
from ..errors import InputError
from ..version import __version__
from ..checksum import content_hash
from ..config_schema import Key
from ..io.dataset import file_checksum, finish_fragments, is_complete, read_dataset, read_manifest, write_dataset
from ..io.weights import covariance_codes, read_covariance, read_weights
from ..layout import dataset_path, stage_dir
from ..ld.blocks import resolve_blocks
from ..pipeline import Context, Stage, register, run_pipeline
from .tasks import covariance_units, twas_block, twas_covariance, twas_units

log = get_logger("twas")
# covariance rows one work unit reads at most (weight_row1, weight_row2, term: 16 bytes each, ~320 MB);
# GTEx v8 is ~10-20 M rows per tissue, so 49 tissues are cut into ~40 units
MAX_COVARIANCE_ROWS = 20_000_000
OPTION_KEYS = ("strand_flip", "ambiguous", "impute", "max_impute", "min_r2pred", "best_model", "best_by")


def _paths(cfg: dict) -> dict:
    sec = cfg.get("twas") or {}
    out = stage_dir(cfg, "twas")
    return {"out": out, "sumstats": as_path(sec.get("sumstats") or dataset_path(cfg, "sumstats")),
            "store": as_path(sec.get("store") or dataset_path(cfg, "genotypes")), "weights": out / "weights",
            "covariance": out / "covariance", "results": out / "results"}


def _blocks(cfg):
    """The blocks models are placed in: ``twas.blocks`` when given, else this run's LD blocks when the ld
    stage is part of the run or published (so twas, finemap and focus name the same blocks), else None
    (fixed windows of ``window_kb``)."""
    sec = cfg.get("twas") or {}
    if sec.get("blocks"):
        return str(sec["blocks"])
    ld = dataset_path(cfg, "ld_blocks")
    return str(ld) if "ld" in (cfg.get("stages") or []) or ld.exists() else None


def _inputs(cfg):
    sec = cfg.get("twas") or {}
    files = [] if not _blocks(cfg) or sec.get("blocks") else [_blocks(cfg)]
    for s in sec.get("weights") or []:
        files += [s[k] for k in ("predictdb", "fusion", "covariance") if s.get(k)]
    p = _paths(cfg)
    return files + [p["sumstats"]] + ([p["store"]] if sec.get("ld_reference", "store") == "store" else [])


def _run(ctx: Context) -> dict:
    sec = ctx.section("twas")
    p = _paths(ctx.cfg)
    sources = sec.get("weights") or []
    if not sources:
        raise InputError("config", "twas.weights: a list of {predictdb: DB[, covariance: FILE]} or {fusion: POS}",
                         column="twas.weights")
    method, ld_ref = sec.get("method", "spredixcan"), sec.get("ld_reference", "store")
    if method not in ("spredixcan", "fusion") or ld_ref not in ("store", "covariance"):
        raise InputError("config", "twas.method spredixcan|fusion and twas.ld_reference store|covariance",
                         column="twas", value=(method, ld_ref))
    if ld_ref == "covariance" and method != "spredixcan":
        raise InputError("config", "ld_reference: store for method fusion", column="twas.ld_reference")
    if not p["sumstats"].exists():
        raise InputError(p["sumstats"], "dataset 'sumstats' not found (expected a Parquet directory)")
    if ld_ref == "store" and not p["store"].exists():
        raise InputError(p["store"], "a genotype store for twas ld_reference 'store' (locusflow ingest, or --store); "
                         "or ld_reference 'covariance' with one covariance file per PredictDB")
    ctx.reuse("twas_weights"), ctx.reuse("twas_covariance")      # imported by an earlier run: reused if current
    w = _import(sources, p, ld_ref)
    window = int(sec.get("window_kb", 1000)) * 1000
    opts = {k: sec[k] for k in OPTION_KEYS if k in sec}
    if ld_ref == "covariance":        # no LD to read per block: shards of models, the GWAS read once each
        n_cov = int((read_manifest(p["covariance"]) or {}).get("rows") or 0)    # memory per unit bounded:
        cap = int(sec.get("max_covariance_rows", MAX_COVARIANCE_ROWS))          # ~16 bytes per row read
        shards = int(sec.get("shards") or max(1 if ctx.engine == "local" else 8, -(-n_cov // max(cap, 1))))
        units = covariance_units(p["weights"], shards)
        frags = run_worklist(units, twas_covariance, "twas_results", **ctx.runner_kwargs(), progress=len(units) > 1,
                             kwargs={"weights": str(p["weights"]), "sumstats": str(p["sumstats"]),
                                     "covariance": str(p["covariance"]), "blocks": _blocks(ctx.cfg),
                                     "window": window, "options": opts}, write_to=str(p["results"]), stats=result_stats)
    else:
        blocks = resolve_blocks(_blocks(ctx.cfg)) if _blocks(ctx.cfg) else None
        units = twas_units(p["weights"], blocks, int(sec.get("blocks_per_unit", 16)), window=window)
        # each task writes its models' results; the driver gets counts and the model ids seen
        frags = run_worklist(units, twas_block, "twas_results", **ctx.runner_kwargs(), write_to=str(p["results"]),
                             stats=result_stats, kwargs={"weights": str(p["weights"]), "sumstats": str(p["sumstats"]),
                                                         "method": method, "store": str(p["store"]), "options": opts})
        seen = read_dataset(p["results"], "twas_results", columns=["model_id"])["model_id"] \
            if p["results"].exists() else []
        if w is None:        # imported by an earlier run: the models no unit placed, from the weights' model ids
            w = read_dataset(p["weights"], "weights", filters=[("model_id", "in", _absent(p["weights"], seen))])
        rest = _unplaced(w, seen, method, ld_ref) if len(w) else None
        if rest is not None:
            frags = pd.concat([frags, run_worklist([{"unit_id": "unplaced", "rows": rest}], _given_rows,
                                                   "twas_results", write_to=str(p["results"]), stats=result_stats,
                                                   progress=False)], ignore_index=True)
    finish_fragments(p["results"], "twas_results", frags,
                     manifest={"config": sec, "inputs": {str(x): content_hash(x) for x in _inputs(ctx.cfg)}})
    tot = {c[len("stat_"):]: int(frags[c].fillna(0).sum()) for c in frags.columns if c.startswith("stat_")}
    n_models, tested, n_out = int(frags["rows"].sum()), tot.pop("tested", 0), tot.pop("outside_blocks", 0)
    drops = {c[len("n_dropped_"):]: v for c, v in tot.items() if c.startswith("n_dropped_")}
    log.info("twas: %d models in %d work units, %d with a z-score; %d models outside every block",
             n_models, len(units), tested, n_out)
    return {"models": n_models, "units": len(units), "tested": tested,
            "models_outside_blocks": n_out, "snps_dropped": drops, "results": str(p["results"])}


def result_stats(frames: dict) -> dict:
    """Counts of one unit's twas results, computed in the task (summed by the driver).

    Parameters
    ----------
    frames : dict
        ``{"": twas_results rows}``.

    Returns
    -------
    dict
        tested (models with a z-score), outside_blocks (no block_id), and each ``n_dropped_*`` summed.
    """
    res = frames[""]
    out = {"tested": int(res["zscore"].notna().sum()), "outside_blocks": int(res["block_id"].isna().sum())}
    out.update({c: int(res[c].sum()) for c in res.columns if c.startswith("n_dropped_")})
    return out


def _given_rows(unit: dict) -> pd.DataFrame:
    """A work unit whose rows are already computed (the unplaced models: a few, made by the driver)."""
    return unit["rows"]


def _absent(weights, seen) -> list:
    ids = read_dataset(weights, "weights", columns=["model_id"])["model_id"]
    return sorted(set(ids) - set(seen))


def _import(sources: list, p: dict, ld_ref: str) -> pd.DataFrame | None:
    """The ``weights`` (and, for ld_reference covariance, ``covariance``) datasets of ``sources``: imported
    once and reused by every later trait while the source files (size and mtime, else sha256) and the
    locating panel are unchanged. rsid-only SNPs are placed by the genotype store when one exists; SNPs it
    does not place are matched on rsid per trait. Returns the weights frame when it was (re)imported."""
    files = [s[k] for s in sources for k in ("predictdb", "fusion", "focus", "covariance")
             if s.get(k) and (k != "covariance" or ld_ref == "covariance")]
    store = p["store"] if p["store"].exists() else None
    key = {"sources": sources, "covariance": ld_ref == "covariance", "store": str(store) if store else None,
           "store_manifest": content_hash(store) if store else None, "version": __version__}
    stats = {str(f): content_hash(f) for f in files}
    man = read_manifest(p["weights"]) or {}
    done = is_complete(p["weights"]) and (ld_ref != "covariance" or is_complete(p["covariance"]))
    if done and man.get("import_key") == json.loads(json.dumps(key, default=str)):
        old = man.get("import_stats") or {}
        same = all(old.get(str(f)) == stats[str(f)] or (man.get("inputs") or {}).get(str(f)) == file_checksum(f)
                   for f in files)
        if same:
            log.info("twas: weights of %d source(s) already imported at %s; reused", len(sources), p["weights"])
            return None
    from ..io.genotypes import store_columns
    # the store's rsid, chrom, pos (Arrow): loaded only if a weight SNP needs placing
    w = read_weights(sources, locate=(lambda: store_columns(store, ["rsid", "chrom", "pos"])) if store else None)
    manifest = {"inputs": {str(f): file_checksum(f) for f in files}, "import_stats": stats, "import_key": key}
    if ld_ref == "covariance":
        from .covariance import covariance_terms
        covs = []
        for s in sources:
            if not s.get("covariance"):
                raise InputError("config", "a covariance file for every weights entry with ld_reference: covariance",
                                 column="twas.weights", value=s)
            tissue = s.get("tissue") or Path(s["predictdb"]).stem
            c = read_covariance(s["covariance"])
            covs.append(c.assign(tissue=pd.Categorical.from_codes(np.zeros(len(c), np.int8), [str(tissue)])))
        cov, w = covariance_terms(covariance_codes(pd.concat(covs, ignore_index=True), w), w)
        write_dataset(cov, p["covariance"], "snp_covariance", mode="overwrite", manifest=manifest)
    write_dataset(w, p["weights"], "weights", mode="overwrite", manifest=manifest)
    return w


def _unplaced(w: pd.DataFrame, seen, method: str, ld_ref: str) -> pd.DataFrame:
    """Models in no block (none of their SNPs is in the GWAS or the panel; ``seen``: the model ids with a
    result): reported with zscore NA and every SNP dropped, so that each imported model appears in the
    results with its reason."""
    from .spredixcan import spredixcan
    rest = w[~w["model_id"].isin(set(seen))]
    if not len(rest):
        return None
    none = pd.DataFrame({"rsid": pd.Series(dtype=object), "chrom": pd.Series(dtype=object),
                         "pos": pd.Series(dtype="int64"), "ref": pd.Series(dtype=object),
                         "alt": pd.Series(dtype=object), "z": pd.Series(dtype=float)})
    cov = pd.DataFrame({c: pd.Series(dtype=object) for c in ("tissue", "gene", "rsid1", "rsid2")}).assign(
        value=pd.Series(dtype=float))
    out = spredixcan(rest, none, covariance=cov)
    out["twas_method"], out["ld_reference"] = method, ld_ref
    return out


def _cli(sub):
    a = sub.add_parser("twas", help="S-PrediXcan / FUSION z-scores from weight databases")
    a.add_argument("--predictdb", action="append", default=[], help="PredictDB SQLite (repeatable)")
    a.add_argument("--covariance", action="append", default=[], help="covariance file of each --predictdb, in order")
    a.add_argument("--fusion", action="append", default=[], help="FUSION .pos file (repeatable)")
    a.add_argument("--sumstats", help="munged sumstats dataset (schema sumstats)")
    a.add_argument("--gwas", help="direct mode (as MetaXcan's SPrediXcan.py): a GWAS text file instead of "
                   "--sumstats; S-PrediXcan on --predictdb/--covariance, results to OUT/twas/results")
    for flag, default in (("snp", "SNP"), ("effect-allele", "A1"), ("non-effect-allele", "A2"), ("zscore", "ZSCORE"),
                          ("beta", "BETA")):
        a.add_argument(f"--{flag}-column", default=default, help=f"--gwas column (default {default})")
    a.add_argument("--genotypes", help="PrediXcan on individual-level data: a genotype store (.vcz, locusflow ingest); "
                   "with --phenotype, predicted expression and its association per trait to OUT/twas/predixcan")
    a.add_argument("--phenotype", help="PrediXcan: phenotype table (IID + one column per trait; NA/-9 missing)")
    a.add_argument("--covariates", help="PrediXcan: covariate table (IID + covariates)")
    a.add_argument("--weights", action="append", default=[], help="PrediXcan: a weights dataset (locusflow weights "
                   "train / lctpred, or OUT/twas/weights), repeatable; with or instead of --predictdb/--fusion")
    a.add_argument("--no-strand-flip", action="store_true", help="never complement alleles (MetaXcan)")
    a.add_argument("--store", help="genotype store (.vcz) for ld_reference store")
    a.add_argument("--method", choices=["spredixcan", "fusion"], default="spredixcan")
    a.add_argument("--ld-reference", choices=["store", "covariance"],
                   help="LD from the genotype store, or from the --covariance files (default: covariance when "
                   "--covariance is given without --store, else store)")
    a.add_argument("--blocks", help="LD-block BED (default: 1-Mb windows)")
    a.add_argument("--engine", choices=["local", "dask", "spark"], default="local")
    a.add_argument("--out", required=True, help="results root (writes OUT/twas/...)")

    def go(args):
        if args.covariance and len(args.covariance) != len(args.predictdb):
            raise InputError("command line", "one --covariance per --predictdb", column="--covariance")
        if args.gwas:
            print(_direct(args))
            return 0
        if args.genotypes or args.phenotype:
            print(_predixcan(args))
            return 0
        if not args.sumstats:
            raise InputError("command line", "--sumstats DIR (or --gwas FILE)", column="--sumstats")
        if args.ld_reference is None:
            args.ld_reference = "covariance" if args.covariance and not args.store else "store"
        ws = [{"predictdb": d, **({"covariance": args.covariance[i]} if args.covariance else {})}
              for i, d in enumerate(args.predictdb)] + [{"fusion": f} for f in args.fusion]
        cfg = {"out": args.out, "engine": args.engine,
               "twas": {"weights": ws, "method": args.method, "ld_reference": args.ld_reference,
                        "sumstats": args.sumstats, **({"store": args.store} if args.store else {}),
                        **({"blocks": args.blocks} if args.blocks else {})}}
        cfg["stages"] = ["twas"]
        print(run_pipeline(cfg)["twas"])
        return 0
    a.set_defaults(func=go)


def _direct(args) -> dict:
    """S-PrediXcan straight from text inputs (PredictDB + covariance files, GWAS table), no LD blocks."""
    from ..io.weights import read_predictdb
    from .inputs import read_gwas_text
    from .spredixcan import spredixcan
    if not args.predictdb or len(args.covariance) != len(args.predictdb):
        raise InputError("command line", "--gwas with one --covariance per --predictdb", column="--covariance")
    beta = args.beta_column if args.beta_column.lower() != "none" else None
    g = read_gwas_text(args.gwas, snp=args.snp_column, effect_allele=args.effect_allele_column,
                       non_effect_allele=args.non_effect_allele_column, zscore=args.zscore_column, beta=beta)
    if beta is None:
        g["beta"] = float("nan")
    res = []
    for db, cv in zip(args.predictdb, args.covariance):
        w = read_predictdb(db)
        if w.empty:          # a tissue without weights (GTEx v6p Pituitary): reported, the others still run
            log.warning("twas: %s holds no model (0 weights); skipped", db)
            continue
        res.append(spredixcan(w, g, covariance=read_covariance(cv, tissue=w["tissue"].iloc[0]),
                              strand_flip=not args.no_strand_flip))
    if not res:
        raise InputError("command line", "at least one --predictdb with weights; every one is empty",
                         column="--predictdb", value=args.predictdb)
    res = pd.concat(res, ignore_index=True)
    out = _paths({"out": args.out})["results"]
    write_dataset(res, out, "twas_results", mode="overwrite",
                  manifest={"inputs": {str(f): file_checksum(f) for f in [args.gwas, *args.predictdb, *args.covariance]}})
    return {"models": len(res), "tested": int(res["zscore"].notna().sum()), "results": str(out)}

def _predixcan(args) -> dict:
    """PrediXcan on a genotype store: weights from --predictdb/--fusion/--weights, results to OUT/twas."""
    from ..io.genotypes import GenotypeStore
    from ..io.phenotypes import read_table
    from .predixcan import predixcan
    if not (args.genotypes and args.phenotype):
        raise InputError("command line", "--genotypes STORE with --phenotype TABLE", column="--phenotype")
    if not (args.predictdb or args.fusion or args.weights):
        raise InputError("command line", "weights: --predictdb DB, --fusion POS or --weights DATASET", column="--weights")
    store = GenotypeStore(args.genotypes)
    sources = [{"predictdb": d} for d in args.predictdb] + [{"fusion": f} for f in args.fusion]
    w = [read_weights(sources, locate=lambda: store.variants[["rsid", "chrom", "pos"]])] if sources else []
    w += [read_dataset(d, "weights") for d in args.weights]
    w = pd.concat(w, ignore_index=True)
    pheno = read_table(args.phenotype, missing_code=-9)
    covar = read_table(args.covariates) if args.covariates else None
    res, pred = predixcan(w, store, pheno, covar, pheno_path=args.phenotype, covar_path=args.covariates,
                          strand_flip=not args.no_strand_flip)
    out = stage_dir({"out": args.out}, "twas")
    files = [args.phenotype, *args.predictdb, *args.fusion] + ([args.covariates] if args.covariates else [])
    man = {"inputs": {str(f): file_checksum(f) for f in files} | {str(d): content_hash(d) for d in
                                                                    [args.genotypes, *args.weights]}}
    write_dataset(pred, out / "predicted_expression", "predicted_expression", mode="overwrite", manifest=man)
    write_dataset(res, out / "predixcan", "predixcan_results", mode="overwrite", manifest=man)
    log.info("predixcan: %d models x %d traits over %d individuals", res["model_id"].nunique(), res["trait"].nunique(),
             int(res["n"].max()) if len(res) else 0)
    return {"models": int(res["model_id"].nunique()), "traits": int(res["trait"].nunique()),
            "tested": int(res["pvalue"].notna().sum()), "results": str(out / "predixcan")}


WEIGHT_SOURCE = Key("section", keys={
    "predictdb": Key("file", None, "PredictDB SQLite database"),
    "covariance": Key("file", None, "its covariance file (.txt.gz)"),
    "tissue": Key("str", None, "tissue name [the database's]"),
    "method": Key("str", None, "model method label [enet]"),
    "panel": Key("str", None, "reference panel label"),
    "fusion": Key("file", None, "FUSION .pos list"),
    "weights_dir": Key("path", None, "directory of the FUSION .RDat files [the .pos file's]"),
    "focus": Key("file", None, "FOCUS weight database"),
})
CONFIG = {      # the twas section; defaults None = the method's own (see the module docstring)
    "weights": Key("list", None, "weight databases and FUSION lists", item=WEIGHT_SOURCE, cli=False),
    "method": Key("str", "spredixcan", "association method", choices=("spredixcan", "fusion")),
    "ld_reference": Key("str", "store", "LD from this run's genotypes or the model files",
                        choices=("store", "covariance")),
    "blocks": Key("path", None, "LD blocks: a BED file, a shipped set or an ld_blocks dataset [this run's LD "
                  "blocks when the ld stage runs, else fixed windows of window_kb]"),
    "window_kb": Key("float", None, "fixed window size in kb [1000]", gt=0),
    "blocks_per_unit": Key("int", None, "consecutive blocks per work unit [16]", min=1),
    "strand_flip": Key("bool", None, "complement strand-flipped SNPs (MetaXcan: false) [true]"),
    "ambiguous": Key("str", None, "strand-ambiguous SNPs [keep]", choices=("keep", "drop")),
    "impute": Key("bool", None, "FUSION: impute missing GWAS z from LD [true]"),
    "max_impute": Key("float", None, "FUSION: largest imputed fraction [0.5]", min=0, max=1),
    "min_r2pred": Key("float", None, "FUSION: smallest imputation r2 [0.7]", min=0, max=1),
    "best_model": Key("bool", None, "FUSION: best model per gene only"),
    "best_by": Key("str", None, "FUSION: best model by", choices=("pval", "rsq")),
    "shards": Key("int", None, "ld_reference covariance: work units", min=1),
    "max_covariance_rows": Key("int", None, "ld_reference covariance: rows one unit may read", min=1),
    "sumstats": Key("path", None, "sumstats dataset [this run's]"),
    "store": Key("path", None, "genotype store [this run's]"),
}


register(Stage("twas", _run, kernels=("locusflow.twas.tasks",), config=CONFIG, inputs=_inputs, outputs=lambda cfg: [_paths(cfg)["results"]], add_cli=_cli))
