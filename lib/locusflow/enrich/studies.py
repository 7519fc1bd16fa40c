"""The gene sets of a run that GO enrichment tests, and their backgrounds (the genes that could be hits).

Studies: ``focus_credible_set`` (genes in a FOCUS credible gene set, any population) and
``twas_bonferroni`` (TWAS p < 0.05 / models tested), against every gene with a TWAS z-score; and, when the
run has GPNxLD scores (stage gpnxld), ``gpnxld_top``: the genes within ``window`` bp of the ``top``
variants with the largest GPNxLD, against the genes within ``window`` bp of any variant GPNxLD was computed
for (bundled GENCODE map of the run's build). Genes of other species are mapped to human symbols by an
ortholog table (columns gene, human_symbol) when given.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.dataset import read_dataset
from ..io.gene_map import gene_map, genes_covered, genes_near
from .go import GeneOntology
from .ora import go_ora


def run_gene_sets(twas: pd.DataFrame, focus: pd.DataFrame | None = None, *, alpha: float = 0.05) -> tuple[dict, list]:
    """Study gene sets and the background of a run.

    Parameters
    ----------
    twas : DataFrame
        twas_results rows.
    focus : DataFrame, optional
        focus_results rows.
    alpha : float
        Family-wise level of the TWAS Bonferroni threshold.

    Returns
    -------
    studies : dict
        study name -> list of gene ids (Ensembl ids without version).
    background : list
        Gene ids tested.
    """
    def strip(ids):
        return sorted(set(pd.Series(ids, dtype=object).astype(str).str.replace(r"\.\d+$", "", regex=True)))
    tested = twas[np.isfinite(twas["zscore"].to_numpy(float))]
    thr = alpha / max(len(tested), 1)
    studies = {"twas_bonferroni": strip(tested.loc[tested["pvalue"] < thr, "gene"])}
    if focus is not None and len(focus):
        cs = focus[(focus["in_cred_set"] == 1) & (focus["model_id"] != "NULL.MODEL")]
        studies["focus_credible_set"] = strip(cs["ens_gene_id"])
    return studies, strip(tested["gene"])


def gpnxld_gene_set(scores: pd.DataFrame, genes: pd.DataFrame, *, top: int = 100,
                    window: int = 50_000) -> tuple[list, list, pd.DataFrame]:
    """Genes near the top GPNxLD variants, and the background of that study.

    Parameters
    ----------
    scores : DataFrame
        GPNxLD rows (schema gpnxld): chrom, pos, variant_id, gpnxld.
    genes : DataFrame
        Gene map (:func:`locusflow.io.gene_map.gene_map`).
    top : int
        Number of variants with the largest GPNxLD taken (ties at the cut kept by position order).
    window : int
        bp between a variant and a gene body for the gene to count as near.

    Returns
    -------
    study : list
        Ensembl ids (no version) of the genes near a top variant.
    background : list
        Ensembl ids of the genes near any scored variant (genes that could have been in the study).
    pairs : DataFrame
        The top variants with their near genes (variant_id, gpnxld, gene_name, gene_id, distance).
    """
    s = scores[np.isfinite(scores["gpnxld"].to_numpy(float))]
    best = s.sort_values(["gpnxld", "chrom", "pos"], ascending=[False, True, True], kind="stable").head(top)
    pairs = genes_near(best[["chrom", "pos", "variant_id", "gpnxld"]], genes, window)
    bg = genes_covered(s[["chrom", "pos"]], genes, window)
    return sorted(set(pairs["gene_id"])), sorted(set(bg["gene_id"])), pairs


def map_orthologs(genes, table) -> list:
    """Replace each gene by its human symbol from an ortholog table (gene, human_symbol); unmapped kept.

    Parameters
    ----------
    genes : iterable of str
        Gene ids of the run's species.
    table : str, Path or DataFrame
        Ortholog table with columns ``gene`` and ``human_symbol`` (a path is read as tab-separated text);
        for a gene listed more than once the first row wins.

    Returns
    -------
    list of str
        One entry per input gene, in order: its human symbol, or the gene itself when the table lacks it
        (duplicates are not removed).
    """
    t = pd.read_csv(table, sep="\t", dtype=str) if not isinstance(table, pd.DataFrame) else table
    m = t.drop_duplicates("gene").set_index("gene")["human_symbol"]
    return [m.get(g, g) for g in genes]


def enrich_run(twas_path, focus_path, go: GeneOntology, *, test: str = "hypergeometric", orthologs=None,
               gpnxld_path=None, build: str = "GRCh37", gpnxld_top: int = 100, gpnxld_window: int = 50_000,
               **kw) -> pd.DataFrame:
    """GO enrichment of every study gene set of the run at ``root`` (schema go_enrichment rows).

    Parameters
    ----------
    twas_path : str or Path
        twas_results dataset.
    focus_path : str or Path or None
        focus_results dataset (used when it was written).
    go : GeneOntology
        The ontology and its gene annotations (:mod:`locusflow.enrich.go`).
    test : str
        See :func:`locusflow.enrich.ora.go_ora`.
    orthologs : str, Path or DataFrame, optional
        Ortholog table for non-human genes.
    gpnxld_path : str or Path, optional
        gpnxld dataset (stage gpnxld); when written, the study ``gpnxld_top`` of :func:`gpnxld_gene_set` is
        tested against its own background.
    build : str
        Genome build of the gene map used for ``gpnxld_top``.
    gpnxld_top, gpnxld_window : int
        ``top`` and ``window`` of :func:`gpnxld_gene_set`.
    **kw
        Passed to :func:`go_ora` (relationships, evidence_exclude, min_pop_count).

    Returns
    -------
    DataFrame
        go_enrichment rows of every non-empty study of :func:`run_gene_sets` (``twas_bonferroni``, and
        ``focus_credible_set`` when the focus dataset has ``_SUCCESS``), each tested against the TWAS
        background, and of ``gpnxld_top`` against its own; an empty frame with the go_enrichment columns when no study has genes.

    Raises
    ------
    InputError
        When the twas_results dataset does not exist (from :func:`locusflow.io.dataset.read_dataset`).

    References
    ----------
    Klopfenstein DV et al. (2018) GOATOOLS: a Python library for Gene Ontology analyses. Sci Rep 8:10872
    (``GOEnrichmentStudy``, whose counts and p-values :func:`go_ora` reproduces).
    """
    twas = read_dataset(twas_path, "twas_results")
    focus = (read_dataset(focus_path, "focus_results")
             if focus_path is not None and (Path(focus_path) / "_SUCCESS").exists() else None)
    studies, background = run_gene_sets(twas, focus)
    backgrounds = {k: background for k in studies}
    if gpnxld_path is not None and (Path(gpnxld_path) / "_SUCCESS").exists():
        study, bg, _ = gpnxld_gene_set(read_dataset(gpnxld_path, "gpnxld"), gene_map(build), top=gpnxld_top,
                                       window=gpnxld_window)
        studies["gpnxld_top"], backgrounds["gpnxld_top"] = study, bg
    if orthologs is not None:
        backgrounds = {k: map_orthologs(v, orthologs) for k, v in backgrounds.items()}
        studies = {k: map_orthologs(v, orthologs) for k, v in studies.items()}
    frames = [go_ora(go, genes, backgrounds[name], test=test, study_name=name, **kw)
              for name, genes in studies.items() if genes]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["study", "go_id", "ontology", "term", "study_count", "study_n", "pop_count", "pop_n",
                 "fold_enrichment", "p", "test", "q_bh", "study_genes"])
