"""Gene Ontology: terms, the DAG and gene annotations (realdata ``go_annotation``: GO release tables from
Bioconductor GO.db / org.Hs.eg.db), annotations propagated to every ancestor (the true-path rule).

Files of a GO directory: ``go_terms.tsv.gz`` (go_id, ontology BP/MF/CC, term), ``go_edges.tsv.gz``
(child, parent, relationship: isa, part of, regulates, ...), ``human_gene2go.tsv.gz`` (entrez_id, symbol,
go_id, evidence, ontology) and ``human_entrez2ensembl.tsv.gz`` (entrez_id, ensembl_gene_id).
Propagation follows ``is_a`` edges by default, as goatools' ``update_association`` does without
``relationships``; ``relationships=("isa", "part of")`` adds part-of edges.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError

FILES = {"terms": "go_terms.tsv.gz", "edges": "go_edges.tsv.gz", "gene2go": "human_gene2go.tsv.gz",
         "entrez2ensembl": "human_entrez2ensembl.tsv.gz"}


@dataclass(eq=False)
class GeneOntology:
    """GO terms, DAG edges and gene annotations.

    Attributes
    ----------
    terms : DataFrame
        go_id, ontology, term.
    edges : DataFrame
        child, parent, relationship (edges to the pseudo-root ``all`` removed).
    gene2go : DataFrame
        entrez_id (str), symbol, go_id, evidence, ontology.
    entrez2ensembl : DataFrame
        entrez_id (str), ensembl_gene_id.
    """
    terms: pd.DataFrame
    edges: pd.DataFrame
    gene2go: pd.DataFrame
    entrez2ensembl: pd.DataFrame

    @functools.cache
    def parents(self, relationships: tuple = ("isa",)) -> dict:
        """go_id -> tuple of direct parents over the given edge types."""
        e = self.edges[self.edges["relationship"].isin(relationships)]
        return {k: tuple(v) for k, v in e.groupby("child")["parent"]}

    def ancestors(self, go_ids, relationships: tuple = ("isa",)) -> dict:
        """go_id -> frozenset of the term and all its ancestors (iterative DFS, memoised)."""
        par = self.parents(tuple(relationships))
        memo: dict = {}

        def up(t):
            if t in memo:
                return memo[t]
            stack, seen = [t], {t}
            while stack:
                for p in par.get(stack.pop(), ()):
                    if p not in seen:
                        seen.add(p)
                        stack.append(p)
            memo[t] = frozenset(seen)
            return memo[t]
        return {t: up(t) for t in go_ids}

    def propagated(self, relationships: tuple = ("isa",), evidence_exclude=(), genes=None) -> pd.DataFrame:
        """Gene-term pairs after propagation: entrez_id, go_id (unique pairs, terms in ``terms`` only).

        Parameters
        ----------
        relationships : tuple of str
            Edge types followed upwards.
        evidence_exclude : sequence of str
            Evidence codes whose annotations are dropped first (e.g. ``("IEA", "ND")``).
        genes : iterable of str, optional
            Entrez ids to keep (default all annotated genes).
        """
        a = self.gene2go
        if genes is not None:
            a = a[a["entrez_id"].isin(set(genes))]
        a = a[~a["evidence"].isin(list(evidence_exclude))][["entrez_id", "go_id"]].drop_duplicates()
        anc = self.ancestors(a["go_id"].unique(), tuple(relationships))
        closure = pd.DataFrame([(t, u) for t, ups in anc.items() for u in ups], columns=["go_id", "ancestor"])
        closure = closure[closure["ancestor"].isin(set(self.terms["go_id"]))]
        pairs = a.merge(closure, on="go_id")[["entrez_id", "ancestor"]].rename(columns={"ancestor": "go_id"})
        return pairs.drop_duplicates(ignore_index=True)

    def to_entrez(self, genes) -> pd.Series:
        """Entrez id of each gene given as Ensembl id (version ignored), Entrez id or symbol; NaN if unknown."""
        g = pd.Series(list(genes), dtype=object).astype(str)
        ens = self.entrez2ensembl.drop_duplicates("ensembl_gene_id").set_index("ensembl_gene_id")["entrez_id"]
        sym = self.gene2go.drop_duplicates("symbol").set_index("symbol")["entrez_id"]
        known = set(self.gene2go["entrez_id"])
        stripped = g.str.replace(r"\.\d+$", "", regex=True)
        out = stripped.map(ens)
        out = out.where(out.notna(), g.where(g.isin(known)))
        return out.where(out.notna(), g.map(sym)).set_axis(g.to_numpy())


def load_go(path) -> GeneOntology:
    """Read a GO directory (see the module docstring).

    Parameters
    ----------
    path : str or Path
        Directory holding the four tables.

    Returns
    -------
    GeneOntology
    """
    path = Path(path)
    tabs = {}
    for key, name in FILES.items():
        f = path / name
        if not f.exists():
            raise InputError(f, f"GO table {name} (the go_annotation directory)")
        tabs[key] = pd.read_csv(f, sep="\t", dtype=str)
    need = {"terms": ["go_id", "ontology", "term"], "edges": ["child", "parent", "relationship"],
            "gene2go": ["entrez_id", "symbol", "go_id", "evidence"], "entrez2ensembl": ["entrez_id", "ensembl_gene_id"]}
    for key, cols in need.items():
        missing = [c for c in cols if c not in tabs[key].columns]
        if missing:
            raise InputError(path / FILES[key], f"columns {cols}", column=missing[0])
    edges = tabs["edges"]
    tabs["edges"] = edges[edges["parent"].str.startswith("GO:")].reset_index(drop=True)
    return GeneOntology(**tabs)
