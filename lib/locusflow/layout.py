"""Where everything lives: the stages in pipeline order and the one table of datasets -> locations.

A results root ``<out>`` holds one directory per stage, ``<out>/<stage>/``, and each dataset at a fixed
place inside its stage's directory (the table :data:`DATASETS`). ``paths:`` in a config names another
location for a dataset that this pipeline reads but does not write (e.g. sumstats munged elsewhere).

This module imports nothing heavy: ``locusflow --help`` lists the stages from :data:`STAGES` without
importing a stage module. Adding a stage = one :class:`StageInfo` line here, plus the stage module
(``register(Stage(...))`` with its config section, see :mod:`locusflow.pipeline`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import storage
from .errors import ConfigError


@dataclass(frozen=True)
class StageInfo:
    """A stage as the CLI and the path table know it, without importing it.

    Parameters
    ----------
    name : str
        Stage name: its config section, subcommand and ``<out>/<name>/`` directory.
    modules : tuple of str
        Module(s) that register it; the first importable one is used (a stage can move packages).
    help : str
        One line for ``locusflow --help``.
    datasets : dict
        Dataset name -> path relative to ``<out>/<name>/``, for every output the stage publishes.
    command : str, optional
        The subcommand as typed, when it is not ``name``: one word (``"score-variants"``) or a group and a
        word (``"dnalm pretrain"``: ``locusflow dnalm pretrain``); ``name`` stays an alias.
    """

    name: str
    modules: tuple
    help: str
    datasets: dict = field(default_factory=dict)
    command: str | None = None

    @property
    def words(self) -> tuple:
        """The subcommand's words (``("dnalm", "pretrain")``; ``(name,)`` when no ``command``)."""
        return tuple((self.command or self.name).split())


STAGES = [     # pipeline order
    StageInfo("ingest", ("locusflow.io.ingest_stage",), "genotypes (PLINK or VCF) into a VCF Zarr store",
              {"genotypes": "genotypes.vcz"}),
    StageInfo("munge", ("locusflow.io.munge_stage",),
              "GWAS summary statistics: read, filter, harmonise, write Parquet", {"sumstats": "sumstats"}),
    StageInfo("pca", ("locusflow.gwas.pca_stage",),
              "genotype principal components (plink2 --pca), LD-pruned; new samples projected",
              {"pca_scores": "scores", "pca_eigenvalues": "eigenvalues", "pca_loadings": "loadings"}),
    StageInfo("gwas", ("locusflow.gwas.stage",),
              "association of traits with the genotype store (linear; logistic with Firth fallback)",
              {"gwas_assoc": "assoc", "gwas_sumstats": "sumstats"}),
    StageInfo("ld", ("locusflow.ld.stage",), "LD blocks and per-block LD matrices of a genotype store",
              {"ld_blocks": "blocks", "ld_matrices": "matrices"}),
    StageInfo("weights_train", ("locusflow.twas.train.weights_stage",),
              "expression weights per gene: PredictDB elastic net on cis SNPs, nested CV, PredictDB/FUSION export",
              {"weights_models": "models", "trained_weights": "weights", "trained_covariance": "covariance",
               "predictdb_db": "predictdb.db", "predictdb_covariance": "covariance.txt.gz"},
              command="weights train"),
    StageInfo("dnalm_pretrain", ("locusflow.dnalm.pretrain_stage",),
              "pretrain a small single-nucleotide DNA language model from a FASTA", {"dnalm_model": "model"},
              command="dnalm pretrain"),
    StageInfo("dnalm_finetune", ("locusflow.dnalm.finetune_stage",),
              "fine-tune a pretrained DNA LM on labelled regions (BED/TSV): frozen head, LoRA or full; held-out "
              "AUROC/AUPRC or R^2 against a k-mer baseline", {"dnalm_finetuned": "model"}, command="dnalm finetune"),
    StageInfo("score_variants", ("locusflow.dnalm.stage",),
              "DNA language-model scores (GPN-style LLR) of variants, REF checked against a FASTA",
              {"variant_scores": "scores"}, command="score-variants"),
    StageInfo("gpnxld", ("locusflow.dnalm.gpnxld_stage",),
              "GPNxLD: LD-weighted sums of DNA-LM scores (sum_k r2_jk a_k) from the ld stage's matrices",
              {"gpnxld_scores": "scores"}),
    StageInfo("variant_annotation", ("locusflow.dnalm.annotate_stage",),
              "functional annotation of scored variants: region class, genes, regulatory elements (BED)",
              {"variant_annotation": "annotation"}, command="dnalm annotate"),
    StageInfo("dnalm_regions", ("locusflow.dnalm.regions_stage",),
              "DNA-LM masked-base accuracy and perplexity by region type (codon positions, splice sites, UTR, ...)",
              {"dnalm_regions": "regions"}, command="dnalm regions"),
    StageInfo("dnalm_features", ("locusflow.dnalm.features_stage",),
              "DNA-LM features at each gene's TSS (reference, and each individual's own haplotypes)",
              {"tss_features": "tss", "personal_features": "personal"}, command="dnalm features"),
    StageInfo("dnalm_motifs", ("locusflow.dnalm.motifs_stage",),
              "motifs a DNA LM learned (importance, seqlets, TF-MoDISco-style clusters), matched to JASPAR/MEME, logos",
              {"motifs": "motifs", "motif_matches": "matches", "seqlets": "seqlets", "motif_sites": "sites",
               "motif_importance": "importance", "motif_logos": "logos"},
              command="dnalm motifs"),
    StageInfo("eqtl", ("locusflow.twas.train.eqtl_stage",),
              "cis-eQTL mapping: every SNP-gene pair (OLS), gene-level permutation and beta-approximated p",
              {"eqtl_pairs": "pairs", "eqtl_genes": "genes"}),
    StageInfo("weights_ctpred", ("locusflow.twas.train.ctpred_stage",),
              "ctPred (scPrediXcan): an MLP per cell type from TSS sequence features to pseudobulk expression",
              {"ctpred_models": "models", "ctpred_metrics": "metrics", "ctpred_predictions": "predictions"},
              command="weights ctpred"),
    StageInfo("weights_lctpred", ("locusflow.twas.train.lctpred_stage",),
              "l-ctPred: ctPred on each individual's own sequence, linearised by the PredictDB elastic net",
              {"lctpred_models": "models", "lctpred_weights": "weights"}, command="weights lctpred"),
    StageInfo("twas", ("locusflow.twas.stage",), "S-PrediXcan / FUSION z-scores from weight databases",
              {"twas_weights": "weights", "twas_covariance": "covariance", "twas_results": "results",
               "predixcan_results": "predixcan", "predicted_expression": "predicted_expression"}),
    StageInfo("finemap", ("locusflow.finemap.stage",),
              "SNP fine-mapping (SuSiE-RSS, FINEMAP-SSS, SuSiE-inf, FINEMAP-inf) over LD blocks with a signal",
              {"finemap_snp": "snp", "finemap_cs": "cs", "finemap_blocks": "blocks", "finemap_config": "config"}),
    StageInfo("focus", ("locusflow.focus.stage", "locusflow.finemap.focus_stage"),
              "FOCUS gene fine-mapping of TWAS signals (single or multi-ancestry)",
              {"focus_results": "results", "focus_tsv": "focus.tsv"}),
]
STAGES += [
    StageInfo("gs", ("locusflow.breed.gs_stage",),
              "genomic selection: GBLUP, rrBLUP or weighted GBLUP with validation, many traits",
              {"gs_gebv": "gebv", "gs_validation": "validation"}),
    StageInfo("chip", ("locusflow.breed.chip_stage",),
              "SNP-chip design: greedy LD tagging with forced (prioritised) variants",
              {"chip_manifest": "manifest.csv", "chip_quality": "quality"}),
]
STAGES += [
    StageInfo("popgen", ("locusflow.popgen.stage",),
              "allele frequencies per population; Fst (Hudson, Weir-Cockerham) per variant and in windows; "
              "iHS, nSL, XP-EHH on a phased store",
              {"fst_variants": "fst", "fst_windows": "fst_windows", "pop_allele_freq": "frequencies",
               "selection_scan": "selection"}),
]
STAGES += [    # last: they read every other stage's published results
    StageInfo("enrich", ("locusflow.enrich.stage",),
              "GO over-representation of FOCUS / TWAS genes against the genes tested", {"go_enrichment": "go"}),
    StageInfo("signal_enrichment", ("locusflow.enrich.signal_stage",),
              "GWAS signal (chi^2, genome-wide hits, PIPs) in bins of DNA-LM score, GPNxLD, LD and base-composition "
              "baselines; block-jackknife CIs", {"signal_enrichment": "enrichment", "signal_regression": "regression"},
              command="enrich-signal"),
    StageInfo("plots", ("locusflow.plots.stage",), "Manhattan, QQ, locus and FOCUS figures (PNG, SVG, PDF)",
              {"plot_index": "index"}),
    StageInfo("report", ("locusflow.report.stage",), "one self-contained HTML report of the run (<out>/report.html)",
              {"report_html": "report.html"}),
]
STAGE_INFO = {s.name: s for s in STAGES}
DATASETS = {ds: (s.name, rel) for s in STAGES for ds, rel in s.datasets.items()}
STATE_DIR = ".locusflow"        # <out>/.locusflow: versions, lock, hash cache (hidden from readers)
POINTER = "_CURRENT"            # object stores: <out>/<stage>/_CURRENT names the published version


def stage_names() -> list[str]:
    """The known stages, in pipeline order.

    Returns
    -------
    list of str
        Names of :data:`STAGES`.
    """
    return [s.name for s in STAGES]


def stage_dir(cfg: dict, stage: str):
    """The directory a stage's outputs are read from or, while it runs, written to.

    On an object store (``out`` a URI) the published version is found through the pointer object
    ``<out>/<stage>/_CURRENT`` (:mod:`locusflow.commit`); a stage never published resolves to
    ``<out>/<stage>``, where nothing is.

    Parameters
    ----------
    cfg : dict
        The pipeline configuration (``out``; while a stage runs, the pipeline adds its staging directory).
    stage : str
        Stage name.

    Returns
    -------
    pathlib.Path or upath.UPath
        ``<out>/<stage>`` (a link to the published version), or the staging directory of the running stage.
    """
    staging = (cfg.get("_staging") or {}).get(stage)
    if staging:
        return storage.as_path(staging)
    out = storage.as_path(cfg["out"])
    if storage.is_remote(out):
        try:
            name = storage.read_text(out / stage / POINTER).strip()
        except (OSError, ValueError):
            return out / stage
        return out / STATE_DIR / "versions" / stage / name
    return out / stage


def dataset_path(cfg: dict, name: str):
    """Location of dataset ``name``: ``paths.<name>`` from the config, else its place under ``<out>``.

    While the dataset's stage runs, the place is always inside its staging directory (``paths`` is not
    consulted then).

    Parameters
    ----------
    cfg : dict
        The pipeline configuration.
    name : str
        A dataset of :data:`DATASETS` (``sumstats``, ``genotypes``, ``twas_results``, ...).

    Returns
    -------
    pathlib.Path or upath.UPath
        (:func:`locusflow.storage.as_path`: a URI stays a URI)

    Raises
    ------
    ConfigError
        When ``name`` is not in :data:`DATASETS`.
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r} (known: {', '.join(sorted(DATASETS))})")
    stage, rel = DATASETS[name]
    if stage not in (cfg.get("_staging") or {}):
        over = (cfg.get("paths") or {}).get(name)
        if over:
            return storage.as_path(over)
    return stage_dir(cfg, stage) / rel


def section_store(cfg: dict, section: str):
    """The genotype store a stage reads: its section's ``store`` key, else this run's ``genotypes``.

    Parameters
    ----------
    cfg : dict
        The pipeline configuration.
    section : str
        The stage's config section.

    Returns
    -------
    Path or str
        The store (a URI stays a string).
    """
    return (cfg.get(section) or {}).get("store") or dataset_path(cfg, "genotypes")
