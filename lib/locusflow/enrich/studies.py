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
    """Replace each gene by its human symbol from an ortholog table (gene, human_symbol); unmapped kept."""
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
    test : str
        See :func:`locusflow.enrich.ora.go_ora`.
    orthologs : str, Path or DataFrame, optional
        Ortholog table for non-human genes.
    **kw
        Passed to :func:`go_ora` (relationships, evidence_exclude, min_pop_count).
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
