"""Stage `eqtl` (``locusflow eqtl``): cis-eQTL mapping of an expression table on the genotype store.

Config section ``eqtl`` (defaults in brackets)::

    eqtl:
      expression: expr.bed.gz   # phenotype BED as tensorQTL reads it: #chr start end gene_id samples... (TSS = start + 1)
      covariates: null          # covariates (PCs, PEER factors, sex, batch): samples x covariates or transposed
      factors: null             # covariates treated as factors [the non-numeric ones]
      store: null               # genotype store [this run's]
      window: 1000000           # |pos - TSS| of a cis pair
      n_perm: 1000              # permutations of the gene-level pass (tensorQTL 10,000); 0: nominal only
      seed: 0
      genes_per_unit: 200

Writes ``<out>/eqtl/pairs`` (schema eqtl_pairs; BH q-values over every pair, computed and written by the
tasks in three passes over p-value buckets: :mod:`locusflow.twas.train.eqtl_fdr`) and ``<out>/eqtl/genes``
(schema eqtl_genes; BH q-values of pval_beta over genes; tensorQTL uses Storey's q-value). Samples: the
expression table's columns found in the store (and the covariate table). See
:mod:`locusflow.twas.train.eqtl`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ...config_schema import Key
from ...engine.runner import run_worklist
from ...errors import InputError
from ...io.dataset import finish_fragments, write_dataset
from ...layout import dataset_path
from ...logs import get_logger
from ...pipeline import Context, Stage, register

log = get_logger("eqtl")
CONFIG = {
    "expression": Key("file", None, "phenotype BED: #chr start end gene_id, then one column per sample", required=True),
    "covariates": Key("file", None, "covariate table (IID column; either orientation)"),
    "factors": Key("list", None, "covariates treated as factors [the non-numeric ones]", item=Key("str")),
    "store": Key("path", None, "genotype store [this run's]"),
    "window": Key("int", 1_000_000, "cis window: |pos - TSS| in bp", min=0),
    "n_perm": Key("int", 1000, "permutations of the gene-level pass (0: nominal pairs only)", min=0),
    "seed": Key("int", 0, "seed of the permutations", min=0),
    "genes_per_unit": Key("int", 200, "neighbouring genes per work unit", min=1),
}


def _store(cfg) -> Path:
    return Path((cfg.get("eqtl") or {}).get("store") or dataset_path(cfg, "genotypes"))


def _run(ctx: Context) -> dict:
    from ...io.genotypes import GenotypeStore
    from .covariates import read_covariates
    from .eqtl import bh_qvalues
    from .eqtl_fdr import run_pairs_with_qvalues
    from .eqtl_task import eqtl_units, genes_unit
    from .expression import read_expression_table
    sec = {k: v.default for k, v in CONFIG.items()} | {k: v for k, v in ctx.section("eqtl").items() if v is not None}
    expr, pos = read_expression_table(sec["expression"])
    if pos is None:
        raise InputError(sec["expression"], "a phenotype BED (#chr start end gene_id samples...): the TSS of each gene")
    store = GenotypeStore(_store(ctx.cfg))
    samples = [s for s in expr.columns if s in set(store.samples)]
    if len(samples) < 10:
        raise InputError(sec["expression"], f"samples of the genotype store {store.path} (found {len(samples)})",
                         value=list(expr.columns[:5]))
    cov = read_covariates(sec["covariates"], samples, sec.get("factors") or ()) if sec.get("covariates") else None
    work = ctx.stage_dir("eqtl") / "_work"
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "expression.npy", expr[samples].to_numpy())
    if cov is not None:
        np.save(work / "covariates.npy", cov.to_numpy(float))
    genes = pos.reset_index().rename(columns={"index": "gene"}).assign(row=np.arange(len(pos)))
    genes = genes[genes["chrom"].isin(set(store.variants["chrom"].astype(str)))]
    units = eqtl_units(genes, store.variants, window=int(sec["window"]), genes_per_unit=int(sec["genes_per_unit"]))
    kw = {"store": str(store.path), "expression": str(work / "expression.npy"),
          "covariates": str(work / "covariates.npy") if cov is not None else None,
          "samples": [int(i) for i in store.sample_index(samples)], "window": int(sec["window"])}
    # the tasks compute, q-value and write the pairs (executors write, issue 19): see eqtl_fdr
    where = str(ctx.path("eqtl_pairs"))
    pairs = run_pairs_with_qvalues(units, kw, work / "pairs_by_pvalue", where, runner=ctx.runner_kwargs())
    finish_fragments(where, "eqtl_pairs", pairs["index"])
    summary = {"samples": len(samples), "genes": int(len(genes)), "pairs": pairs["pairs"],
               "pairs_fdr_0.05": pairs["fdr05"]}
    if int(sec["n_perm"]) > 0:       # one row per gene: bounded by the genes, not the pairs
        g = run_worklist(units, genes_unit, "eqtl_genes", **ctx.runner_kwargs(),
                         kwargs=kw | {"n_perm": int(sec["n_perm"]), "seed": int(sec["seed"])})
        g["qval"] = bh_qvalues(g["pval_beta"].to_numpy(float))
        write_dataset(g, ctx.path("eqtl_genes"), "eqtl_genes", mode="overwrite")
        summary["egenes_fdr_0.05"] = int((g["qval"] < 0.05).sum())
    shutil.rmtree(work)
    log.info("eqtl: %s", summary)
    return summary


register(Stage("eqtl", _run, inputs=lambda cfg: [_store(cfg)], config=CONFIG))
