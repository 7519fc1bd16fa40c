"""GO over-representation (locusflow.enrich) against goatools on the same input: the realdata GO release
(terms, DAG, human annotations) written as OBO + association file, one background and one study set."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import peer_venv
from locusflow.enrich.go import load_go
from locusflow.enrich.ora import bh_qvalues, go_ora
from locusflow.errors import InputError

HERE = Path(__file__).resolve().parent
NAMESPACE = {"BP": "biological_process", "MF": "molecular_function", "CC": "cellular_component"}


@pytest.fixture(scope="module")
def go(realdata):
    path = realdata / "go_annotation"
    if not path.exists():
        pytest.skip("realdata go_annotation not present")
    return load_go(path)


@pytest.fixture(scope="module")
def shared_input(go):
    """Background: 3,000 annotated genes + 40 ids without any annotation; study: 50 genes of one term's
    subtree (propagation matters) + 30 random background genes + 5 genes outside the background."""
    rng = np.random.default_rng(18)
    genes = np.array(sorted(go.gene2go["entrez_id"].unique()))
    bg = list(rng.choice(genes, 3000, replace=False)) + [f"none{i}" for i in range(40)]
    prop = go.propagated(genes=bg)
    immune = prop.loc[prop["go_id"] == "GO:0002376", "entrez_id"].unique()      # immune system process
    study = list(rng.choice(immune, 50, replace=False)) + list(rng.choice(bg, 30, replace=False))
    study += list(rng.choice(np.setdiff1d(genes, bg), 5, replace=False))
    return sorted(set(bg)), sorted(set(study))


def _goatools(go, bg, study, alternative, tmp_path) -> pd.DataFrame:
    py = peer_venv("goatools", ["goatools==1.4.12", "statsmodels==0.14.4"])
    obo = tmp_path / "go.obo"
    par = go.edges.groupby("child")
    isa = go.edges[go.edges["relationship"] == "isa"].groupby("child")["parent"].agg(list)
    with open(obo, "w") as fh:
        fh.write("format-version: 1.2\ndata-version: locusflow-test\n\n")
        for t in go.terms.itertuples():
            fh.write(f"[Term]\nid: {t.go_id}\nname: {t.term}\nnamespace: {NAMESPACE[t.ontology]}\n")
            for p in isa.get(t.go_id, []):
                fh.write(f"is_a: {p}\n")
            fh.write("\n")
    del par
    assoc = tmp_path / "assoc.tsv"
    a = go.gene2go.groupby("entrez_id")["go_id"].agg(lambda s: ";".join(sorted(set(s))))
    assoc.write_text("".join(f"{g}\t{v}\n" for g, v in a.items()))
    (tmp_path / "pop.txt").write_text("\n".join(bg))
    (tmp_path / "study.txt").write_text("\n".join(study))
    out = tmp_path / f"goatools_{alternative}.tsv"
    r = subprocess.run([str(py), str(HERE / "goatools_peer.py"), str(obo), str(assoc), str(tmp_path / "pop.txt"),
                        str(tmp_path / "study.txt"), alternative, str(out)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    return pd.read_csv(out, sep="\t")


@pytest.mark.parametrize("test,alternative", [("fisher_two_sided", "two-sided"), ("hypergeometric", "greater")])
def test_go_ora_equals_goatools(go, shared_input, tmp_path, test, alternative):
    bg, study = shared_input
    ours = go_ora(go, study, bg, test=test).set_index("go_id")
    peer = _goatools(go, bg, study, alternative, tmp_path).set_index("go_id")
    assert len(peer) > 1000
    assert set(ours.index) == set(peer.index)                       # the same terms tested
    peer = peer.loc[ours.index]
    assert (ours["study_count"] == peer["study_count"]).all() and (ours["pop_count"] == peer["pop_count"]).all()
    assert (ours["study_n"] == peer["study_n"]).all() and (ours["pop_n"] == peer["pop_n"]).all()
    assert ours["pop_n"].iloc[0] == 3040 and ours["study_n"].iloc[0] == 80   # unannotated ids count in N
    np.testing.assert_allclose(ours["p"], peer["p_uncorrected"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours["q_bh"], peer["p_fdr_bh"], rtol=0, atol=1e-8)
    assert ours["p"].idxmin() in {"GO:0002376"} | set(go.ancestors(["GO:0002376"])["GO:0002376"]) or \
        ours.loc["GO:0002376", "q_bh"] < 1e-10                      # the planted term is found


def test_hypergeometric_formula_and_bh():
    # the one-sided p is P(X >= k) for X ~ Hypergeom(N, m, n)
    assert stats.hypergeom.sf(3 - 1, 100, 10, 20) == pytest.approx(
        sum(stats.hypergeom.pmf(x, 100, 10, 20) for x in range(3, 11)), abs=1e-14)
    q = bh_qvalues([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5])   # p*4/rank, then the running minimum from the top


def test_gene_ids_mapped_and_bad_input(go, tmp_path):
    ids = go.to_entrez(["ENSG00000121410.11", "A1BG", "1", "NOT_A_GENE"])
    assert list(ids.iloc[:3]) == ["1", "1", "1"] and pd.isna(ids.iloc[3])
    with pytest.raises(InputError, match="go_terms.tsv.gz"):
        load_go(tmp_path)
    with pytest.raises(ValueError, match="hypergeometric"):
        go_ora(go, ["1"], ["1", "2"], test="chi2")


def test_run_gene_sets_and_orthologs():
    from locusflow.enrich.studies import map_orthologs, run_gene_sets
    twas = pd.DataFrame({"gene": ["ENSG1.2", "ENSG2.1", "ENSG3.1", "ENSG4.1"], "zscore": [6.0, 1.0, np.nan, -5.5],
                         "pvalue": [2e-9, 0.3, np.nan, 4e-8]})
    focus = pd.DataFrame({"model_id": ["m1", "NULL.MODEL", "m2"], "ens_gene_id": ["ENSG2.1", "NULL.MODEL", "ENSG4.1"],
                          "in_cred_set": [1, 1, 0]})
    studies, background = run_gene_sets(twas, focus)
    assert background == ["ENSG1", "ENSG2", "ENSG4"]                 # tested = a z-score, versions dropped
    assert studies == {"twas_bonferroni": ["ENSG1", "ENSG4"], "focus_credible_set": ["ENSG2"]}
    table = pd.DataFrame({"gene": ["Zm00001d1", "Zm00001d2"], "human_symbol": ["INSM1", "ZNF74"]})
    assert map_orthologs(["Zm00001d2", "Zm00001d9"], table) == ["ZNF74", "Zm00001d9"]


def test_gpnxld_genes_study_equals_goatools(go, tmp_path_factory, tmp_path):
    """Study gpnxld_top: genes within 50 kb of the 600 variants with the largest GPNxLD (the example run's
    gpnxld dataset: DNA-LM scores of chr20 and the stored LD), against the genes within 50 kb of any variant
    with a GPNxLD (the example's 1 Mb of chr20 and 2.4 Mb of chr22: 4 of 25 genes). The gene sets equal a
    brute-force scan of the GENCODE map, and the GO test on them equals goatools 1.4.12 to 1e-8."""
    from locusflow.enrich.studies import gpnxld_gene_set
    from locusflow.io.gene_map import gene_map
    from locusflow.plots.data import RunResults
    from viz_run import example_run
    run = RunResults(example_run(tmp_path_factory.mktemp("viz")))
    if not run.has("gpnxld"):
        pytest.skip("no GPNxLD in the example run (realdata FASTA absent)")
    gx = run.table("gpnxld")
    genes = gene_map("GRCh37")
    study, bg, pairs = gpnxld_gene_set(gx, genes, top=600, window=50_000)
    top = gx.sort_values("gpnxld", ascending=False, kind="stable").head(600)
    def near(v):                        # brute force: every gene against every variant of its chromosome
        out = set()
        for c, g in genes[genes["chrom"].isin(set(v["chrom"]))].groupby("chrom"):
            p = v.loc[v["chrom"] == c, "pos"].to_numpy()[None, :]
            hit = ((g["start"].to_numpy()[:, None] - 50_000 <= p) & (p <= g["stop"].to_numpy()[:, None] + 50_000)).any(1)
            out |= set(g.loc[hit, "gene_id"])
        return out
    assert study == sorted(near(top)) and len(study) >= 3
    assert bg == sorted(near(gx)) and set(study) < set(bg)
    assert set(pairs["variant_id"]) <= set(top["variant_id"]) and (pairs["distance"] <= 50_000).all()
    ours = go_ora(go, study, bg, test="hypergeometric").set_index("go_id")
    ent = lambda ids: [e if isinstance(e, str) else i for i, e in zip(ids, go.to_entrez(ids))]  # noqa: E731
    peer = _goatools(go, sorted(set(ent(bg))), sorted(set(ent(study))), "greater", tmp_path).set_index("go_id")
    assert len(ours) > 50 and set(ours.index) == set(peer.index)
    peer = peer.loc[ours.index]
    assert (ours["study_count"] == peer["study_count"]).all() and (ours["pop_n"] == len(bg)).all()
    np.testing.assert_allclose(ours["p"], peer["p_uncorrected"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours["q_bh"], peer["p_fdr_bh"], rtol=0, atol=1e-8)
