"""The gene sets of a run that GO enrichment tests, and their background (the genes tested by TWAS).

Studies: ``focus_credible_set`` (genes in a FOCUS credible gene set, any population) and
``twas_bonferroni`` (TWAS p < 0.05 / models tested). Background: every gene with a TWAS z-score. Genes of
other species are mapped to human symbols by an ortholog table (columns gene, human_symbol) when given.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.dataset import read_dataset
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
    **kw
        Passed to :func:`go_ora` (relationships, evidence_exclude, min_pop_count).

    Returns
    -------
    DataFrame
        go_enrichment rows of every non-empty study of :func:`run_gene_sets` (``twas_bonferroni``, and
        ``focus_credible_set`` when the focus dataset has ``_SUCCESS``), each tested against the TWAS
        background; an empty frame with the go_enrichment columns when no study has genes.

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
    if orthologs is not None:
        background = map_orthologs(background, orthologs)
        studies = {k: map_orthologs(v, orthologs) for k, v in studies.items()}
    frames = [go_ora(go, genes, background, test=test, study_name=name, **kw)
              for name, genes in studies.items() if genes]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["study", "go_id", "ontology", "term", "study_count", "study_n", "pop_count", "pop_n",
                 "fold_enrichment", "p", "test", "q_bh", "study_genes"])
