"""Tissue-prioritised FOCUS (pyfocus ``focus finemap --tissue``) equals pyfocus on the same inputs.

One database holds two tissues per gene: the test weights imported as ``whole_blood`` and independently
perturbed weights (population 2's database source) imported as ``adipose_subcutaneous``, each with its own
cv.R2, by pyfocus's own ``focus import``. With ``--tissue adipose`` every gene keeps its adipose model
(a substring, case-insensitive match); with ``--tissue liver`` (no match) each gene keeps the proxy model
with the larger cv.R2, a mixture of the two tissues. Both must equal pyfocus's PIPs and TWAS z to 1e-6.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from peers import pyfocus as fh

from focus_cases import compare, pop, run_ours, run_pyfocus


@pytest.fixture(scope="module")
def two_tissue_db(inputs):
    d = inputs["d"]
    db = d / "tissues.db"
    if not db.exists():
        shutil.copy(inputs["db"][0], db)
        fh.focus_import(inputs["py"], d / "predict2.db", d / "tissues", inputs["genes"], tissue="adipose_subcutaneous")
    return db


@pytest.mark.parametrize("tissue", ["adipose", "liver"])
def test_tissue_prioritisation_matches_pyfocus(inputs, two_tissue_db, tissue):
    d = inputs["d"]
    peer, _ = run_pyfocus(inputs, [d / "gwas1.tsv"], [inputs["prefix"]], [two_tissue_db], f"tissue_{tissue}",
                          "--tissue", tissue)
    ours = run_ours(inputs, [pop(inputs, 1, weights=str(two_tissue_db))], tissue=tissue)
    assert len(peer) and len(ours)
    m = compare(ours, peer, "pop1", "pop1")
    genes = ours[ours.model_id != "NULL.MODEL"]
    assert genes.groupby("block_id")["ens_gene_id"].apply(lambda g: g.is_unique).all()  # one model per gene
    tissues = set(genes["tissue"])
    if tissue == "adipose":
        assert tissues == {"adipose_subcutaneous"}
    else:  # proxies chosen by cv.R2: both tissues appear
        assert tissues == {"adipose_subcutaneous", "whole_blood"}
    assert m["pip"].max() > 0.3
    # without prioritisation both models of each gene take part: a different answer
    both = run_ours(inputs, [pop(inputs, 1, weights=str(two_tissue_db))])
    assert (both["model_id"] != "NULL.MODEL").sum() > len(genes)


def test_strict_tissue_is_exact(inputs, two_tissue_db):
    """``strict_tissue``: 'adipose' is not the name of any tissue, so every gene falls back to proxies
    (pyfocus's --strict-tissue ORs exact matching into its substring test and so never narrows it)."""
    ours = run_ours(inputs, [pop(inputs, 1, weights=str(two_tissue_db))], tissue="adipose", strict_tissue=True)
    exact = run_ours(inputs, [pop(inputs, 1, weights=str(two_tissue_db))], tissue="adipose_subcutaneous",
                     strict_tissue=True)
    proxy = run_ours(inputs, [pop(inputs, 1, weights=str(two_tissue_db))], tissue="liver")
    key = ["block_id", "model_id", "population"]
    assert ours.sort_values(key)["pip"].tolist() == proxy.sort_values(key)["pip"].tolist()
    assert set(exact.loc[exact.model_id != "NULL.MODEL", "tissue"]) == {"adipose_subcutaneous"}
