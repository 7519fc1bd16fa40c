"""GO over-representation analysis (ORA) of a study gene set against the genes tested.

For each GO term t with m_t background genes annotated (after propagation up the DAG), of N background
genes, with k_t of the n study genes (study genes outside the background are dropped):

* ``hypergeometric`` (default): one-sided p = P(X >= k_t), X ~ Hypergeometric(N, m_t, n), i.e.
  ``scipy.stats.hypergeom.sf(k_t - 1, N, m_t, n)`` (= Fisher's exact test, alternative "greater");
* ``fisher_two_sided``: Fisher's exact test on [[k, n - k], [m - k, N - m - n + k]], two-sided, as
  goatools' ``GOEnrichmentStudy`` (pvalcalc ``fisher_scipy_stats``).

Terms tested: every term annotated to at least one background gene (as goatools). q-values: Benjamini-
Hochberg over all tested terms (statsmodels ``fdr_bh``). The background is the genes that were tested
(TWAS gene models), not the genome: genes that could never be hits must not dilute the null.
Reference: goatools (Klopfenstein et al. 2018), same counts and p-values (tests/enrich).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .go import GeneOntology


def bh_qvalues(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (step-up, monotone, capped at 1).

    Parameters
    ----------
    p : array-like of float
        p-values of all tests in the family (1-D; expected finite: a NaN makes every q-value NaN).

    Returns
    -------
    ndarray of float
        q_i = min over j with p_(j) >= p_i of min(1, n p_(j) / j), in the input order (empty for empty
        input); equal to statsmodels ``multipletests(p, method="fdr_bh")[1]``.

    References
    ----------
    Benjamini Y, Hochberg Y (1995) Controlling the false discovery rate: a practical and powerful approach
    to multiple testing. J R Stat Soc B 57:289-300.

    Klopfenstein DV et al. (2018) GOATOOLS: a Python library for Gene Ontology analyses. Sci Rep 8:10872
    (``fdr_bh`` via statsmodels, the q-values this reproduces).
    """
    p = np.asarray(p, dtype=float)
    n = len(p)
    if not n:
        return p
    order = np.argsort(p)
    q = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(q[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def go_ora(go: GeneOntology, study, background, *, test: str = "hypergeometric", relationships=("isa",),
           evidence_exclude=(), study_name: str = "study", min_pop_count: int = 1) -> pd.DataFrame:
    """Over-representation of GO terms among ``study`` genes relative to ``background``.

    Parameters
    ----------
    go : GeneOntology
        The ontology and its gene annotations (:mod:`locusflow.enrich.go`).
    study, background : iterables of gene ids
        Ensembl ids, Entrez ids or symbols (mapped by :meth:`GeneOntology.to_entrez`; unmapped genes stay in
        the background count N, as goatools counts population ids without annotations).
    test : {"hypergeometric", "fisher_two_sided"}
        One-sided hypergeometric (over-representation) or two-sided Fisher's exact test (module docstring).
    relationships : tuple of str
        DAG edge types annotations are propagated along.
    evidence_exclude : sequence of str
        Evidence codes to ignore.
    study_name : str
        Value of the ``study`` column.
    min_pop_count : int
        Test only terms with at least this many background genes.

    Returns
    -------
    DataFrame
        Schema ``go_enrichment``, smallest p first.
    """
    if test not in ("hypergeometric", "fisher_two_sided"):
        raise ValueError(f"test must be 'hypergeometric' or 'fisher_two_sided', not {test!r}")
    bg_ids = go.to_entrez(pd.unique(pd.Series(list(background), dtype=object).astype(str)))
    bg_ids = bg_ids.where(bg_ids.notna(), "unmapped:" + pd.Series(bg_ids.index, index=bg_ids.index))
    bg = set(bg_ids)
    st_ids = go.to_entrez(pd.unique(pd.Series(list(study), dtype=object).astype(str)))
    st_ids = st_ids.where(st_ids.notna(), "unmapped:" + pd.Series(st_ids.index, index=st_ids.index))
    study_in = set(st_ids) & bg
    N, n = len(bg), len(study_in)
    pairs = go.propagated(tuple(relationships), evidence_exclude, genes=bg)     # unique (gene, term) pairs
    pop = pairs.groupby("go_id").size()
    pop = pop[pop >= min_pop_count]
    sp = pairs[pairs["entrez_id"].isin(study_in) & pairs["go_id"].isin(pop.index)]
    sym = go.gene2go.drop_duplicates("entrez_id").set_index("entrez_id")["symbol"]
    sp = sp.assign(symbol=sp["entrez_id"].map(sym).fillna(sp["entrez_id"]))
    hits = sp.groupby("go_id")["symbol"].agg(sorted)
    k = sp.groupby("go_id").size().reindex(pop.index, fill_value=0).to_numpy()
    m = pop.to_numpy()
    if test == "hypergeometric":
        p = stats.hypergeom.sf(k - 1, N, m, n)
    else:
        p = np.array([stats.fisher_exact([[a, n - a], [b - a, N - b - n + a]])[1] for a, b in zip(k, m)])
    terms = go.terms.set_index("go_id")
    out = pd.DataFrame({"study": study_name, "go_id": pop.index.to_numpy(),
                        "ontology": terms["ontology"].reindex(pop.index).to_numpy(),
                        "term": terms["term"].reindex(pop.index).to_numpy(),
                        "study_count": k.astype(np.int64), "study_n": np.int64(n),
                        "pop_count": m.astype(np.int64), "pop_n": np.int64(N),
                        "fold_enrichment": (k / max(n, 1)) / (m / max(N, 1)),
                        "p": np.clip(p, 0.0, 1.0), "test": test})
    out["q_bh"] = bh_qvalues(out["p"].to_numpy())
    out["study_genes"] = [hits.get(t, []) for t in out["go_id"]]
    return out.sort_values(["p", "go_id"], kind="stable").reset_index(drop=True)
