"""Stage `gs`: genomic prediction of every genotyped animal, with validation, for many traits.

Config section ``gs`` (``locusflow config --explain`` prints every key)::

    gs:
      phenotypes: pheno.tsv     # id column + one column per trait (+ covariates)
      covariates: [sex]         # fixed effects beside the intercept
      model: gblup              # gblup | rrblup | weighted | bayesc
      scores: finemap           # weighted: finemap (this run's SNP PIPs) | chi2 | pip (from each fold's
                                # training animals) | a table file (variant_id, score)
      validation: kfold         # kfold | forward | across | none
      folds: 5

Writes ``<out>/gs/gebv`` (dataset gs_gebv: GEBV per animal and trait, fitted on every animal with a
record) and ``<out>/gs/validation`` (dataset gs_validation: accuracy and bias per trait and fold; in
each fold the model, its allele frequencies, variance components and any phenotype-derived marker
scores come from the training animals only). CLI: ``locusflow gs --phenotypes FILE --out ROOT``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config_schema import Key
from ..errors import InputError
from ..layout import dataset_path
from ..logs import get_logger
from ..pipeline import Context, Stage, register

log = get_logger("gs")
CONFIG = {
    "phenotypes": Key("file", None, "phenotype table: a sample id column (IID, #IID, sample_id or iid) and one "
                      "column per trait", required=True),
    "traits": Key("list", None, "trait columns [every column but the id and covariates]", item=Key("str")),
    "covariates": Key("list", [], "numeric fixed-effect columns beside the intercept", item=Key("str")),
    "store": Key("path", None, "genotype store [this run's genotypes]"),
    "model": Key("str", "gblup", "gblup (VanRaden G, REML) | rrblup (marker effects) | weighted (weighted G) | "
                 "bayesc (BayesC-pi variable selection, Gibbs)", choices=("gblup", "rrblup", "weighted", "bayesc")),
    "bayesc_iterations": Key("int", 3000, "bayesc: Gibbs iterations (the first third discarded)", min=10),
    "scores": Key("str", "finemap", "weighted: marker scores: finemap (this run's PIPs), chi2 or pip (from each "
                  "fold's training animals), or a table file with columns variant_id and score"),
    "validation": Key("str", "kfold", "kfold | forward (fold_column < cutoff trains) | across (train on "
                      "fold_column == train_group, predict the rest) | none",
                      choices=("kfold", "forward", "across", "none")),
    "folds": Key("int", 5, "kfold: number of folds", min=2),
    "fold_column": Key("str", None, "forward/across: phenotype-table column of birth year or population"),
    "cutoff": Key("float", None, "forward: animals with fold_column below it train"),
    "train_group": Key(("str", "int", "float"), None, "across: the fold_column value of the training population"),
    "h2": Key("float", None, "known heritability: adds accuracy / sqrt(h2)", gt=0, max=1),
    "seed": Key("int", 0, "seed of the k-fold split"),
}


def _markers(store) -> tuple[np.ndarray, pd.DataFrame]:
    st = store
    d = st.dosages(0, len(st.variants)).astype(np.float64).T         # [n, m]
    return d, st.variants


def _scores(spec, ctx_cfg, variants, M, y):
    from .weighted import training_scores
    if spec in ("chi2", "pip"):
        return lambda tr: training_scores(M[tr], y[tr], spec)
    if spec == "finemap":
        from ..io.dataset import read_dataset
        snp = read_dataset(dataset_path(ctx_cfg, "finemap_snp"), "finemap_snp", columns=["variant_id", "pip"])
        table = snp.groupby("variant_id")["pip"].max()
    else:
        path = Path(spec)
        if not path.exists():
            raise InputError(path, "marker score table (columns variant_id, score) not found")
        t = pd.read_csv(path, sep=None, engine="python")
        if not {"variant_id", "score"} <= set(t.columns):
            raise InputError(path, "columns variant_id and score", column="score")
        table = t.set_index("variant_id")["score"]
    s = table.reindex(variants["variant_id"].to_numpy()).fillna(0.0).to_numpy(dtype=np.float64)
    s = np.clip(s, 0, None) + 1e-6
    return lambda tr: s


def _folds(sec, pheno, ids, keep):
    v = sec.get("validation", "kfold")
    if v == "none":
        return None, []
    if v == "kfold":
        from .validate import kfold
        f = np.full(len(ids), -1)
        f[keep] = kfold(int(keep.sum()), int(sec.get("folds", 5)), int(sec.get("seed", 0)))
        return f, sorted(set(f[keep].tolist()))
    col = sec.get("fold_column")
    if col is None or col not in pheno:
        raise InputError("gs.fold_column", f"a phenotype-table column for validation '{v}'", value=col)
    g = pheno[col].to_numpy()
    if v == "forward":
        if sec.get("cutoff") is None:
            raise InputError("gs.cutoff", "a cutoff for forward-in-time validation")
        return np.where(g < float(sec["cutoff"]), 1, 0), [0]
    tg = sec.get("train_group")
    return np.where(g == float(tg), 1, 0), [0]


def run_gs(store_path, pheno_path, sec: dict, cfg: dict, out_gebv, out_val) -> dict:
    """Fit, validate and predict every trait; write datasets gs_gebv and gs_validation.

    Parameters
    ----------
    store_path : str or pathlib.Path
        Genotype store.
    pheno_path : str or pathlib.Path
        Phenotype table.
    sec : dict
        The ``gs`` config section.
    cfg : dict
        The whole configuration (for this run's fine-mapping results).
    out_gebv, out_val : pathlib.Path
        Dataset locations.

    Returns
    -------
    dict
        Summary: traits, animals, mean accuracy per trait.
    """
    from ..io.dataset import write_dataset
    from ..io.genotypes import GenotypeStore
    from .gblup import fit_gblup, fit_rrblup
    from .phenotypes import read_phenotypes
    from .relationship import vanraden_grm
    from .validate import cross_validate
    from .weighted import fit_weighted_gblup

    st = GenotypeStore(store_path)
    ids = np.asarray(st.samples, dtype=str)
    covs = list(sec.get("covariates") or [])
    extra = [sec["fold_column"]] if sec.get("fold_column") else []
    pheno, report = read_phenotypes(pheno_path, ids, traits=sec.get("traits"), covariates=covs + extra)
    traits = [c for c in pheno.columns if c not in covs + extra]
    M, variants = _markers(st)
    model = sec.get("model", "gblup")
    X_all = np.column_stack([np.ones(len(ids))] + [pheno[c].fillna(pheno[c].mean()).to_numpy() for c in covs])
    G = vanraden_grm(M) if model == "gblup" else None
    gebv_rows, val_rows = [], []
    for trait in traits:       # loop over traits
        y = pheno[trait].to_numpy()
        keep = np.isfinite(y)
        scores = _scores(sec.get("scores", "finemap"), cfg, variants, M, y) if model == "weighted" else None

        def fit_predict(tr, te):
            """GEBV (the genetic part, fixed effects left out) of ``te`` from a fit on ``tr``."""
            if model == "gblup":
                return fit_gblup(y[tr], G[np.ix_(tr, tr)], X_all[tr]).predict(G[np.ix_(te, tr)])
            if model == "rrblup":
                return fit_rrblup(y[tr], M[tr], X_all[tr]).predict(M[te])
            if model == "bayesc":
                from .bayesc import fit_bayesc
                it = int(sec.get("bayesc_iterations", 3000))
                resid = y[tr] - X_all[tr] @ np.linalg.lstsq(X_all[tr], y[tr], rcond=None)[0]
                return fit_bayesc(resid, M[tr], pi=None, n_iter=it, burn_in=it // 3,
                                  seed=int(sec.get("seed", 0))).predict(M[te])
            return fit_weighted_gblup(y[tr], M[tr], scores(tr), X=X_all[tr]).predict(M[te], M[tr])

        folds, tests = _folds(sec, pheno, ids, keep)
        if folds is not None:
            cv = cross_validate(y, fit_predict, folds, tests, h2=sec.get("h2"))
            val_rows.append(cv.assign(trait=trait, model=model, validation=sec.get("validation", "kfold")))
        tr, allx = np.flatnonzero(keep), np.arange(len(ids))
        gebv = fit_predict(tr, allx)
        gebv_rows.append(pd.DataFrame({"sample_id": ids, "trait": trait, "model": model, "gebv": gebv,
                                       "phenotype": y, "has_record": keep}))
    gebv = pd.concat(gebv_rows, ignore_index=True)
    val = (pd.concat(val_rows, ignore_index=True) if val_rows else pd.DataFrame(
        columns=["trait", "model", "validation", "fold", "n_train", "n_test", "accuracy", "bias"]))
    val["fold"] = val["fold"].astype(str)
    if "accuracy_tbv" not in val:
        val["accuracy_tbv"] = np.nan
    man = {"store": str(store_path), "phenotypes": str(pheno_path), "report": report}
    write_dataset(gebv, out_gebv, "gs_gebv", mode="overwrite", manifest=man)
    write_dataset(val, out_val, "gs_validation", mode="overwrite", manifest=man)
    acc = val.groupby("trait")["accuracy"].mean().round(3).to_dict() if len(val) else {}
    return {"traits": len(traits), "animals": len(ids), **report, "model": model, "mean_accuracy": acc}


def _store(cfg):
    return Path((cfg.get("gs") or {}).get("store") or dataset_path(cfg, "genotypes"))


def _run(ctx: Context) -> dict:
    sec = ctx.section("gs")
    return run_gs(_store(ctx.cfg), sec["phenotypes"], sec, ctx.cfg, ctx.path("gs_gebv"), ctx.path("gs_validation"))


def _inputs(cfg):
    sec = cfg.get("gs") or {}
    ins = [_store(cfg)]
    if sec.get("model") == "weighted" and sec.get("scores", "finemap") == "finemap":
        ins.append(dataset_path(cfg, "finemap_snp"))
    return ins


register(Stage("gs", _run, inputs=_inputs, config=CONFIG))
