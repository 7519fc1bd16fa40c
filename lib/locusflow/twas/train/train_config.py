"""Config keys and outputs of the weights_train stage, apart from its work (:mod:`~locusflow.twas.train.run`),
so that declaring the stage (every stage is declared when a config is resolved) imports no scipy or numba."""
from __future__ import annotations

from ...config_schema import Key
from ...layout import STAGE_INFO

OUTPUTS = STAGE_INFO["weights_train"].datasets          # dataset -> path under <out>/weights_train
HOW = ("mean_features", "mean_predictions")                 # l-ctPred: features or predictions averaged
CONFIG = {
    "expression": Key("file", None, "genes x samples expression table (text or Parquet; BED-like: TSS positions)",
                      required=True),
    "genes": Key("file", None, "gene annotation: table (gene_id chrom start end [gene_name gene_type]) or GTF "
                 "[the expression table's BED positions, gene body = TSS]"),
    "gene_types": Key("list", None, "keep only these gene types, e.g. [protein_coding, lincRNA, pseudogene] [all]",
                      item=Key("str")),
    "covariates": Key("file", None, "covariates (PCs, PEER factors, sex ...): samples x covariates with an IID "
                      "column, or covariates x samples"),
    "factors": Key("list", None, "covariates treated as factors [the non-numeric ones]", item=Key("str")),
    "store": Key("path", None, "genotype store [this run's genotypes]"),
    "tissue": Key("str", "tissue", "tissue / cell type of the models (model ids, PredictDB population)"),
    "panel": Key("str", "locusflow", "study / panel name (model ids)"),
    "window": Key("int", 1_000_000, "cis window: bp on each side of the gene body", min=0),
    "min_maf": Key("float", 0.01, "keep SNPs with MAF above this (training samples)", min=0, max=0.5),
    "min_hwe_p": Key("float", 1e-6, "keep SNPs with Hardy-Weinberg exact p above this", min=0, max=1),
    "max_missing": Key("float", 0.05, "keep SNPs with a missing fraction below this", gt=0, max=1),
    "drop_ambiguous": Key("bool", True, "drop strand-ambiguous (A/T, C/G) SNPs"),
    "drop_multiallelic": Key("bool", True, "drop SNPs of multi-allelic sites"),
    "alpha": Key("float", 0.5, "glmnet alpha (1 lasso, 0 ridge)", min=0, max=1),
    "n_folds": Key("int", 10, "cross-validation folds choosing lambda (cv.glmnet)", min=3),
    "n_outer": Key("int", 5, "outer folds of the nested CV estimating performance", min=2),
    "thresh": Key("float", 1e-7, "glmnet convergence threshold", gt=0),
    "max_iter": Key("int", 100_000, "glmnet maxit: most passes per path", min=1),
    "seed": Key("int", 0, "seed of every fold assignment (per gene: with the gene id)", min=0),
    "min_rho": Key("float", 0.1, "keep models with rho_avg above this (PredictDB)"),
    "max_zscore_pval": Key("float", 0.05, "keep models with zscore_pval below this (PredictDB)", gt=0),
    "genes_per_unit": Key("int", 20, "neighbouring genes per work unit (their windows read once)", min=1),
    "fusion": Key("bool", False, "also write FUSION .wgt.RDat files of the kept models"),
}
