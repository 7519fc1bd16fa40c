"""locusflow: causal variants and genes behind GWAS associations, at genome scale.

The public API, for notebooks and scripts (``import locusflow as lf``)::

    ss = lf.munge("trait.sumstats.gz", "out/sumstats", reference="out/genotypes.vcz").sumstats
    r = lf.ld_matrix(dosages)                          # one block's LD (plink --r)
    fit = lf.susie_rss(z, r, n, L=10)                  # susieR susie_rss
    snp, config, cred = lf.finemap_sss(z, r, n)        # FINEMAP shotgun stochastic search
    twas = lf.spredixcan(weights, gwas, covariance=cov)   # MetaXcan SPrediXcan
    genes = lf.focus(...)                               # pyfocus FOCUS
    assoc, report = lf.run_gwas("out/genotypes.vcz", "pheno.tsv", "covar.tsv")   # plink2 --glm
    fst = lf.run_fst("out/genotypes.vcz", populations)  # plink2 --fst (Hudson, Weir-Cockerham)
    score = lf.ihs(haplotypes, pos)                    # scikit-allel ihs (also nsl, xpehh)
    llr = lf.score_variants(variants, fasta="genome.fa.gz")   # GPN-style LLR with the shipped DNA LM
    lf.run_pipeline(lf.load_config("conf/example.yaml"))

Every name loads its module on first use, so ``import locusflow`` (and ``locusflow --help``) imports
no numerics. Pure numpy kernels per work unit (an LD block, a gene, a batch of variants); Spark, Dask
and an in-process loop only shard them (``locusflow.engine``). Every dataset's contract is in
``schemas/`` (:func:`dataset_schema`, :func:`read_dataset`).
"""
import importlib

from .logs import get_logger, logger
from .version import __version__

# public name -> (module, attribute); one table, so `__all__`, `dir(lf)` and the docs agree
_API = {
    # datasets and configuration
    "read_dataset": ("locusflow.io.dataset", "read_dataset"),
    "write_dataset": ("locusflow.io.dataset", "write_dataset"),
    "dataset_schema": ("locusflow.schema", "load"),
    "load_config": ("locusflow.config", "load_config"),
    "run_pipeline": ("locusflow.pipeline", "run_pipeline"),
    # ingest and munge
    "ingest_plink": ("locusflow.io.genotypes", "ingest_plink"),
    "ingest_vcf": ("locusflow.io.genotypes", "ingest_vcf"),
    "ingest_glow": ("locusflow.io.glow", "ingest_glow"),
    "GenotypeStore": ("locusflow.io.genotypes", "GenotypeStore"),
    "munge": ("locusflow.io.munge", "munge"),
    # LD
    "block_id": ("locusflow.ld.blocks", "block_id"),
    "resolve_blocks": ("locusflow.ld.blocks", "resolve_blocks"),
    "assign_blocks": ("locusflow.ld.blocks", "assign_blocks"),
    "ld_matrix": ("locusflow.ld.matrix", "ld_matrix"),
    "build_ld": ("locusflow.ld.matrix", "build_ld"),
    "read_block_ld": ("locusflow.ld.matrix", "read_block_ld"),
    # TWAS
    "read_predictdb": ("locusflow.io.weights", "read_predictdb"),
    "read_covariance": ("locusflow.io.weights", "read_covariance"),
    "import_weights": ("locusflow.io.weights", "import_weights"),
    "spredixcan": ("locusflow.twas", "spredixcan"),
    "fusion": ("locusflow.twas", "fusion"),
    "PanelLD": ("locusflow.twas", "PanelLD"),
    "elastic_net_path": ("locusflow.twas.train.elastic_net", "elastic_net_path"),
    "cv_elastic_net": ("locusflow.twas.train.elastic_net", "cv_elastic_net"),
    "nested_cv_performance": ("locusflow.twas.train.predictdb", "nested_cv_performance"),
    "train_gene": ("locusflow.twas.train.predictdb", "train_gene"),
    "train_weights": ("locusflow.twas.train.run", "train_weights"),
    "read_expression_table": ("locusflow.twas.train.expression", "read_expression_table"),
    "read_h5ad": ("locusflow.twas.train.expression", "read_h5ad"),
    "pseudobulk": ("locusflow.twas.train.expression", "pseudobulk"),
    "ctpred_targets": ("locusflow.twas.train.expression", "ctpred_targets"),
    "cis_eqtl": ("locusflow.twas.train.eqtl", "cis_nominal"),
    "cis_eqtl_permutations": ("locusflow.twas.train.eqtl", "cis_permutations"),
    "CtPred": ("locusflow.twas.train.ctpred", "CtPred"),
    "lctpred": ("locusflow.twas.train.lctpred", "lctpred"),
    "predict_expression": ("locusflow.twas.predixcan", "predict_expression"),
    "predixcan": ("locusflow.twas.predixcan", "predixcan"),
    "predixcan_association": ("locusflow.twas.predixcan", "association"),
    "tss_features": ("locusflow.dnalm.features", "tss_features"),
    "personal_windows": ("locusflow.dnalm.features", "personal_windows"),
    # fine-mapping
    "susie_rss": ("locusflow.finemap", "susie_rss"),
    "finemap_sss": ("locusflow.finemap", "finemap_sss"),
    "finemap_prior_std": ("locusflow.finemap.sss.bayes", "finemap_prior_std"),
    "susie_inf": ("locusflow.finemap.susie_inf", "susie_inf"),
    "finemap_inf": ("locusflow.finemap.finemap_inf", "finemap_inf"),
    "impute_z": ("locusflow.finemap.block_ld", "impute_z"),
    "weighted_ld": ("locusflow.finemap.block_ld", "weighted_ld"),
    "focus": ("locusflow.focus", None),   # the package itself, callable: lf.focus(...) = focus.run.focus
    # association and population genetics from genotypes
    "run_gwas": ("locusflow.gwas.task", "run_gwas"),
    "linear_assoc": ("locusflow.gwas.linear", "linear_assoc"),
    "logistic_assoc": ("locusflow.gwas.logistic", "logistic_assoc"),
    "store_pca": ("locusflow.gwas.pca", "store_pca"),
    "prune_store": ("locusflow.gwas.pca", "prune_store"),
    "project_store": ("locusflow.gwas.pca", "project_store"),
    "run_fst": ("locusflow.popgen.fst", "run_fst"),
    "ihs": ("locusflow.popgen.ehh", "ihs"),
    "nsl": ("locusflow.popgen.ehh", "nsl"),
    "xpehh": ("locusflow.popgen.ehh", "xpehh"),
    "run_selection_scan": ("locusflow.popgen.ehh", "run_selection_scan"),
    # DNA language models and functional priors
    "load_dnalm": ("locusflow.dnalm.model", "load_model"),
    "dnalm_finetune": ("locusflow.dnalm.finetune", "finetune"),
    "dnalm_promoter_task": ("locusflow.dnalm.promoters", "promoter_task"),
    "dnalm_splice_task": ("locusflow.dnalm.splice", "splice_task"),
    "score_variants": ("locusflow.dnalm.task", "score_variants_frame"),
    "in_silico_mutagenesis": ("locusflow.dnalm.ism", "ism"),
    "load_tokenized_dnalm": ("locusflow.dnalm.tokenized", "load_tokenized"),
    "tokenized_scores": ("locusflow.dnalm.tokenized", "tokenized_scores"),
    "gpnxld_blocks": ("locusflow.dnalm.priors", "gpnxld_blocks"),
    "annotate_variants": ("locusflow.dnalm.annotate", "annotate_variants"),
    "dnalm_motifs": ("locusflow.dnalm.motif_run", "dnalm_motifs"),
    "discover_motifs": ("locusflow.dnalm.motifs", "discover_motifs"),
    "motif_importance": ("locusflow.dnalm.motifs", "region_importance"),
    "compare_motifs": ("locusflow.dnalm.tomtom", "compare_motifs"),
    "read_motifs": ("locusflow.dnalm.motif_db", "read_motifs"),
    "motif_logo_files": ("locusflow.dnalm.logos", "motif_logo_files"),
    "motif_report": ("locusflow.dnalm.motif_run", "motif_report"),
    "dnalm_region_metrics": ("locusflow.dnalm.regions", "region_metrics"),
    "signal_enrichment": ("locusflow.enrich.gwas_signal", "enrichment_table"),
    "functional_priors": ("locusflow.finemap.functional", "functional_priors"),
    "estimate_link": ("locusflow.finemap.functional", "estimate_link"),
    # breeding
    "vanraden_grm": ("locusflow.breed.relationship", "vanraden_grm"),
    "fit_gblup": ("locusflow.breed.gblup", "fit_gblup"),
    "fit_rrblup": ("locusflow.breed.gblup", "fit_rrblup"),
    "fit_weighted_gblup": ("locusflow.breed.weighted", "fit_weighted_gblup"),
    "fit_bayesc": ("locusflow.breed.bayesc", "fit_bayesc"),
    "design_chip": ("locusflow.breed.chip", "design_chip"),
}
__all__ = sorted(_API) + ["get_logger", "__version__"]


def __getattr__(name):
    if name in _API:
        module, attr = _API[name]
        value = importlib.import_module(module)
        value = value if attr is None else getattr(value, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'locusflow' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
