"""Read a FOCUS weight database (the SQLite file ``focus import`` / ``focus train`` writes, pyfocus 0.802
``pyfocus/models/db.py``) into the ``weights`` dataset (schemas/weights.yaml).

FOCUS tables: ``refpanel`` (ref_name, tissue, assay), ``molecularfeature`` (ens_gene_id, ens_tx_id,
mol_name, type, chrom, tx_start, tx_stop), ``model`` (inference, ref_id, mol_id), ``weight`` (snp, chrom,
pos, effect_allele, alt_allele, effect, std_error, model_id), ``modelattribute`` (attr_name, value,
model_id; ``cv.R2``, ``cv.R2.pval``).

Mapping: gene = ens_gene_id, gene_name = mol_name, method = inference, effect_allele = effect_allele,
other_allele = alt_allele, weight = effect, cv_r2 = cv.R2, cv_pval = cv.R2.pval, variant_id =
chrom:pos:alt_allele:effect_allele, model_id = ``gene@tissue@inference@ref_name``. Two FOCUS models with
the same gene, tissue, inference and panel (pyfocus groups them into one, mixing their weights) stay
two models here: their ids get ``#<FOCUS model id>``.

The per-model attributes FOCUS reports that the weights schema has no column for (panel name, gene type,
transcript id, FOCUS's integer model id) come back in a second frame, :func:`read_focus_models`.
"""
from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import load
from .sqlite import open_database

TABLES = ("refpanel", "molecularfeature", "model", "weight", "modelattribute")


def _connect(path) -> sqlite3.Connection:
    return open_database(path, "a FOCUS weight database", TABLES)


def read_focus_models(path) -> pd.DataFrame:
    """The models of a FOCUS database, with the attributes the weights schema has no column for.

    Parameters
    ----------
    path : str or Path
        FOCUS SQLite database (``focus import`` / ``focus train``).

    Returns
    -------
    pandas.DataFrame
        One row per FOCUS model: model_id (as in the weights frame), focus_model_id, gene, gene_name,
        tissue, method, ref_name, gene_type, ens_tx_id, chrom, tx_start, tx_stop, cv_r2, cv_pval.

    Raises
    ------
    InputError
        When the file is missing, not SQLite or lacks a FOCUS table, or a molecular feature has no
        ens_gene_id.

    References
    ----------
    pyfocus 0.802 ``pyfocus/models/db.py`` (the tables read).
    """
    con = _connect(path)
    try:
        models = pd.read_sql_query(
            "select m.id as focus_model_id, m.inference as method, r.ref_name, r.tissue, "
            "f.ens_gene_id as gene, f.ens_tx_id, f.mol_name as gene_name, f.type as gene_type, "
            "f.chrom, f.tx_start, f.tx_stop from model m join refpanel r on r.id = m.ref_id "
            "join molecularfeature f on f.id = m.mol_id order by m.id", con)
        attrs = pd.read_sql_query("select model_id, attr_name, value from modelattribute", con)
    finally:
        con.close()
    bad = models["gene"].isna()
    if bad.any():
        raise InputError(path, "every molecular feature has an ens_gene_id", column="ens_gene_id",
                         row=int(models.loc[bad, "focus_model_id"].iloc[0]))
    wide = attrs.pivot_table(index="model_id", columns="attr_name", values="value", aggfunc="first")
    for src, dst in (("cv.R2", "cv_r2"), ("cv.R2.pval", "cv_pval")):
        models[dst] = models["focus_model_id"].map(wide[src]) if src in wide else float("nan")
    key = models["gene"] + "@" + models["tissue"].fillna("") + "@" + models["method"].fillna("") + "@" \
        + models["ref_name"].fillna("")
    dup = key.duplicated(keep=False)
    models["model_id"] = key.where(~dup, key + "#" + models["focus_model_id"].astype(str))
    models["chrom"] = models["chrom"].astype(str).str.replace("^chr", "", regex=True)
    return models


def read_focus_db(path) -> pd.DataFrame:
    """The weights of every model of a FOCUS database as a ``weights`` dataset frame.

    Parameters
    ----------
    path : str or Path
        FOCUS SQLite database.

    Returns
    -------
    pandas.DataFrame
        ``weights``-schema rows (mapping in the module docstring), sorted by gene, model, pos.

    Raises
    ------
    InputError
        As :func:`read_focus_models`.
    SchemaError
        When the rows do not conform to schema ``weights``.

    References
    ----------
    Mancuso N et al. (2019) Nat Genet 51:675; pyfocus 0.802 ``pyfocus/models/db.py``.
    """
    models = read_focus_models(path)
    con = _connect(path)
    try:
        w = pd.read_sql_query("select model_id as focus_model_id, snp as rsid, chrom, pos, effect_allele, "
                              "alt_allele as other_allele, effect as weight from weight", con)
    finally:
        con.close()
    for col in ("effect_allele", "other_allele"):
        w[col] = w[col].astype(str).str.upper()
    w["chrom"] = w["chrom"].astype(str).str.replace("^chr", "", regex=True)
    w = w.merge(models.drop(columns=["chrom"]), on="focus_model_id", how="inner", validate="many_to_one")
    w["variant_id"] = (w["chrom"] + ":" + w["pos"].astype("Int64").astype(str) + ":" + w["other_allele"]
                       + ":" + w["effect_allele"])
    w["source"] = "focus"
    w["panel"] = w["ref_name"]
    # FOCUS, like FUSION, applies weights to standardised genotypes (its LD is a correlation matrix)
    w["weight_scale"] = "sd"
    w["cv_qval"] = float("nan")
    w["source_file"] = str(path)
    w["h2"] = float("nan")
    w["n_snps_in_model"] = w.groupby("focus_model_id")["weight"].transform("size")
    w["weight_row"] = pd.array([pd.NA] * len(w), dtype="Int64")    # assigned by import_weights
    w["cov_var"], w["cov_partner"] = np.nan, pd.array([pd.NA] * len(w), dtype="boolean")   # no covariance file
    w["n_snps_in_cov"] = pd.array([pd.NA] * len(w), dtype="Int64")
    w = w.sort_values(["gene", "model_id", "pos"], kind="stable")
    return load("weights").conform(w, source=str(path))
