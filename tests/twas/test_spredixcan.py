"""TWAS: weight import, S-PrediXcan against MetaXcan's SPrediXcan.py, FUSION, bad input.

MetaXcan is a GitHub peer: it is looked for at $LOCUSFLOW_METAXCAN or ~/.cache/locusflow/peers/MetaXcan
(a `git archive` of hakyimlab/MetaXcan; never in this repository) and run in its own venv; tests that
need it skip cleanly when it is absent.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import peer_venv
from peers import live
from peers.twas_cases import COMP, DRIVER, compare, mx_args, synthetic_gwas  # noqa: F401

from locusflow.errors import InputError
from locusflow.io.weights import combine_models, covariance_codes, read_covariance, read_fusion, read_predictdb
from locusflow.twas import covariance as covpath
from locusflow.twas.covariance import covariance_terms
from locusflow.twas.fusion import fusion
from locusflow.twas.panel import PanelLD
from locusflow.twas.spredixcan import spredixcan

MX = live.METAXCAN
MX_REQ = ["numpy<2.4", "pandas<3", "scipy"]
def metaxcan():
    script = MX / "software" / "SPrediXcan.py"
    if not script.exists():
        pytest.skip(f"MetaXcan not found at {MX} (set LOCUSFLOW_METAXCAN)")
    return peer_venv("metaxcan-venv", MX_REQ), script


def run_metaxcan_many(jobs: list[list[str]], tmp: Path) -> None:
    py, script = metaxcan()
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    r = subprocess.run([str(py), "-c", DRIVER, str(tmp / "jobs.json"), str(script.parent)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def run_metaxcan(db, cov, gwas_file, out) -> pd.DataFrame:
    run_metaxcan_many([mx_args(db, cov, gwas_file, out)], Path(out).parent)
    return pd.read_csv(out, na_values=["NA"])


def write_mx_gwas(g: pd.DataFrame, path: Path) -> Path:
    g.rename(columns={"rsid": "SNP", "alt": "A1", "ref": "A2", "z": "ZSCORE", "beta": "BETA"})[
        ["SNP", "A1", "A2", "ZSCORE", "BETA"]].to_csv(path, sep="\t", index=False, float_format="%.17g")
    return path


def ours_vs_metaxcan(db, cov_file, g, tmp_path, strand_flip=False):
    w = read_predictdb(db)
    cov = read_covariance(cov_file).assign(tissue=Path(db).stem)
    gz = g.assign(z=g["z"].astype(np.float32).astype(np.float64))  # MetaXcan casts GWAS z to float32
    ours = spredixcan(w, gz, covariance=cov, strand_flip=strand_flip)
    check_coded(w, gz, cov, ours, strand_flip)
    mx = run_metaxcan(db, cov_file, write_mx_gwas(g, tmp_path / "gwas.txt"), tmp_path / "mx.csv")
    return ours, mx


def check_coded(w, g, cov, ours, strand_flip):
    """The integer codes stored at import (weight_row, covariance_codes) give identical results, also for a
    subset of the models (as a block of the genome-wide run reads)."""
    w = w.assign(weight_row=np.arange(len(w), dtype=np.int64))
    coded = covariance_codes(cov, w)
    assert coded["weight_row1"].notna().all() and not coded["repeat_pair"].any()    # the compaction-free sums
    pd.testing.assert_frame_equal(spredixcan(w, g, covariance=coded, strand_flip=strand_flip), ours)
    half = w[w["model_id"].isin(w["model_id"].unique()[1::2])]
    pd.testing.assert_frame_equal(spredixcan(half, g, covariance=coded, strand_flip=strand_flip),
                                  spredixcan(half, g, covariance=cov, strand_flip=strand_flip))
    # as read from Parquet: GWAS rsids Arrow strings (matched by pyarrow index_in), weight strings categorical
    cats = {c: "category" for c in ("model_id", "gene", "rsid", "effect_allele", "other_allele", "chrom") if c in w}
    ga = g.assign(rsid=g["rsid"].astype("string[pyarrow]"),
                  **{c: g[c].astype("category") for c in ("alt", "ref") if c in g})
    pd.testing.assert_frame_equal(spredixcan(w.astype(cats), ga, covariance=coded, strand_flip=strand_flip), ours)
    # a pair given twice (the later entry, written the other way round, wins): flagged at import, same result
    both = ((coded["weight_row1"] >= 0) & (coded["weight_row2"] >= 0)).to_numpy()
    off = both & (coded["weight_row1"] != coded["weight_row2"]).to_numpy()
    k = int(np.flatnonzero(off if off.any() else both)[0])      # an off-diagonal pair where there is one
    again = cov.iloc[[k]].assign(rsid1=cov["rsid2"].iloc[k], rsid2=cov["rsid1"].iloc[k], value=cov["value"].iloc[k] * 1.5)
    cov2 = pd.concat([cov, again], ignore_index=True)
    coded2 = covariance_codes(cov2, w)
    assert coded2["repeat_pair"].to_numpy(bool).sum() == 1
    pd.testing.assert_frame_equal(spredixcan(w, g, covariance=coded2, strand_flip=strand_flip),
                                  spredixcan(w, g, covariance=cov2, strand_flip=strand_flip))
    return check_terms(w, g, cov, coded, coded2, cov2, ours, strand_flip)


def check_terms(w, g, cov, coded, coded2, cov2, ours, strand_flip):
    """The import-time columns (covariance_terms: term per covariance row, cov_var / cov_partner /
    n_snps_in_cov per weight) give the string path's results: products formed in another order, so equal
    to 1e-12, not bitwise. Also with a repeated pair, and with a SNP whose diagonal entry is missing (then
    the general rule runs). Returns the result of the import-time path."""
    cov_t, w_t = covariance_terms(coded, w)
    assert cov_t["term"].notna().all() and w_t["cov_partner"].notna().all()
    assert covpath.has_terms(w_t, cov_t)
    res = spredixcan(w_t, g, covariance=cov_t, strand_flip=strand_flip)
    pd.testing.assert_frame_equal(res, ours, check_exact=False, rtol=1e-12, atol=1e-300)
    half = w_t["model_id"].isin(w_t["model_id"].unique()[::2])       # a shard: rows of other models ignored
    pd.testing.assert_frame_equal(spredixcan(w_t[half], g, covariance=cov_t, strand_flip=strand_flip),
                                  spredixcan(w[half.to_numpy()], g, covariance=cov, strand_flip=strand_flip),
                                  check_exact=False, rtol=1e-12, atol=1e-300)
    cov2_t, w2_t = covariance_terms(coded2, w)
    assert (cov2_t["term"] == 0).sum() > (cov_t["term"] == 0).sum()      # the earlier entry zeroed
    pd.testing.assert_frame_equal(spredixcan(w2_t, g, covariance=cov2_t, strand_flip=strand_flip),
                                  spredixcan(w, g, covariance=cov2, strand_flip=strand_flip),
                                  check_exact=False, rtol=1e-12, atol=1e-300)
    r1, r2 = coded["weight_row1"].to_numpy(), coded["weight_row2"].to_numpy()
    n_as_rsid1 = np.bincount(r1[(r1 >= 0) & (r2 >= 0)] + 1, minlength=len(w) + 1)[r1 + 1]
    diag = np.flatnonzero((r1 == r2) & (r1 >= 0) & (n_as_rsid1 > 1))    # still RSID1 of another row
    if len(diag):
        keep = np.ones(len(coded), bool)
        keep[diag[len(diag) // 2]] = False
        cov3 = cov[keep].reset_index(drop=True)
        cov3_t, w3_t = covariance_terms(covariance_codes(cov3, w), w)
        assert (w3_t["cov_partner"] & w3_t["cov_var"].isna()).sum() == 1
        pd.testing.assert_frame_equal(spredixcan(w3_t, g, covariance=cov3_t, strand_flip=strand_flip),
                                      spredixcan(w, g, covariance=cov3, strand_flip=strand_flip))
    return res


def test_predictdb_44_tissues_parse(mxdata):
    dbs = sorted((mxdata / "dbs_3").glob("*.db"))
    assert len(dbs) == 44
    w = combine_models([read_predictdb(f) for f in dbs])
    for f in dbs[:5]:   # every weight row of the database is there, unchanged
        con = sqlite3.connect(f)
        raw = pd.read_sql_query("select * from weights", con)
        con.close()
        mine = w[w["source_file"] == str(f)]
        assert len(mine) == len(raw)
        np.testing.assert_array_equal(np.sort(mine["weight"]), np.sort(raw["weight"]))
    cov = read_covariance(mxdata / "cov_3" / "TW_Liver.txt.gz")
    assert set(cov["gene"]) <= set(w["gene"])


def test_duplicate_model_import(mxdata, caplog):
    db = mxdata / "dbs_3" / "TW_Liver_0.5.db"
    a = read_predictdb(db)
    both = combine_models([a, read_predictdb(db)])
    assert len(both) == len(a)                      # kept once, not doubled
    assert "imported twice" in caplog.text
    b = a.copy()
    b.loc[0, "weight"] += 1
    with pytest.raises(InputError, match="different weights"):
        combine_models([a, b])


@pytest.mark.live_peer("metaxcan")
def test_spredixcan_all_44_tissues_and_gene_without_covariance(mxdata, tmp_path):
    """All 44 real models, each against its own GWAS; one gene's covariance removed from one file."""
    metaxcan()
    dbs = sorted((mxdata / "dbs_3").glob("*.db"))
    cases, jobs = [], []
    for i, db in enumerate(dbs):
        cov = mxdata / "cov_3" / db.name.replace("_0.5.db", ".txt.gz")
        if i == 0:  # drop the first gene's covariance: MetaXcan reports it with zscore NA
            c = pd.read_csv(cov, sep=r"\s+")
            cov = tmp_path / "cov_nogene.txt.gz"
            c[c["GENE"] != c["GENE"].iloc[0]].to_csv(cov, sep=" ", index=False, compression="gzip")
        w = read_predictdb(db)
        if not len(w):   # one real database has no model: nothing to compare (MetaXcan crashes on it)
            assert len(spredixcan(w, synthetic_gwas(w, 0), covariance=read_covariance(cov))) == 0
            continue
        g = synthetic_gwas(w, seed=100 + i)
        gz = g.assign(z=g["z"].astype(np.float32).astype(np.float64))  # MetaXcan casts GWAS z to float32
        c = read_covariance(cov, tissue=db.stem)
        ours = spredixcan(w, gz, covariance=c, strand_flip=False)
        imported = check_coded(w, gz, c, ours, False)
        out = tmp_path / f"{db.stem}.csv"
        jobs.append(mx_args(db, cov, write_mx_gwas(g, tmp_path / f"{db.stem}.gwas"), out))
        cases.append((i, ours, out, imported))
    run_metaxcan_many(jobs, tmp_path)
    n_genes = n_swapped = n_mismatch = 0
    for i, ours, out, imported in cases:
        compare(imported, pd.read_csv(out, na_values=["NA"]))      # the per-trait path on imported terms
        m = compare(ours, pd.read_csv(out, na_values=["NA"]))
        if i == 0:
            assert m["zscore_mx"].isna().any() and m["n_snps_in_cov_mx"].isna().any()
        n_genes += int((m["n_snps_used"] > 0).sum())
        n_swapped += int(ours["n_swapped"].sum())
        n_mismatch += int(ours["n_dropped_allele_mismatch"].sum())
    assert len(cases) >= 40
    assert n_genes > 60 and n_swapped > 100 and n_mismatch > 10   # the comparison exercised every path


@pytest.mark.live_peer("metaxcan")
def test_spredixcan_scz2_excerpts(mxdata, tmp_path):
    """The bundled PGC-SCZ2 excerpts share no SNP with the 3-gene models: MetaXcan reports no gene
    and every model here has n_snps_used = 0 (dropped as not_in_gwas)."""
    py, script = metaxcan()
    gw = pd.read_csv(mxdata / "GWAS" / "scz2" / "scz2.gwas.results.txt.gz", sep="\t")
    g = pd.DataFrame({"rsid": gw["SNPID"], "alt": gw["A1"], "ref": gw["A2"], "z": gw["ZSCORE"], "beta": gw["BETA"]})
    for tissue in ("TW_Liver", "TW_Lung"):
        db, cov = mxdata / "dbs_3" / f"{tissue}_0.5.db", mxdata / "cov_3" / f"{tissue}.txt.gz"
        ours, mx = ours_vs_metaxcan(db, cov, g, tmp_path)
        assert len(mx) == 0 and (ours["n_snps_used"] == 0).all()
        assert (ours["n_dropped_not_in_gwas"] == ours["n_snps_in_model"]).all()


def test_strand_flip_used_only_when_complementing(mxdata):
    dbs = sorted((mxdata / "dbs_3").glob("*.db"))
    w = combine_models([read_predictdb(f) for f in dbs])
    cov = pd.concat([read_covariance(mxdata / "cov_3" / f.name.replace("_0.5.db", ".txt.gz")).assign(tissue=f.stem)
                     for f in dbs])
    g = synthetic_gwas(w, seed=7)
    a = spredixcan(w, g, covariance=cov, strand_flip=False)
    b = spredixcan(w, g, covariance=cov, strand_flip=True)
    assert (b["n_strand_flipped"] > 0).any()
    np.testing.assert_array_equal(b["n_snps_used"] - a["n_snps_used"], b["n_strand_flipped"])


def test_allele_sign_rules():
    """DESIGN harmonisation: swap negates, strand flip complements, ambiguous kept as written or dropped."""
    from locusflow.io.harmonise import AMBIGUOUS, FLIP, FLIP_SWAP, MATCH, MISMATCH, SWAP, allele_sign
    a1, a2 = ["A", "A", "A", "A", "A", "C", "AT", "a", "A"], ["G", "G", "G", "G", "T", "G", "A", "c", "G"]
    b1, b2 = ["A", "G", "T", "C", "A", "G", "A", "A", "A"], ["G", "A", "C", "T", "T", "C", "AT", "C", "C"]
    sign, how = allele_sign(a1, a2, b1, b2)
    assert list(how) == [MATCH, SWAP, FLIP, FLIP_SWAP, MATCH, SWAP, SWAP, MATCH, MISMATCH]
    assert list(sign) == [1, -1, 1, -1, 1, -1, -1, 1, 0]
    sign, how = allele_sign(a1, a2, b1, b2, strand_flip=False, ambiguous="drop")   # MetaXcan / FUSION
    assert list(how) == [MATCH, SWAP, MISMATCH, MISMATCH, AMBIGUOUS, AMBIGUOUS, SWAP, MATCH, MISMATCH]
    assert list(sign) == [1, -1, 0, 0, 0, 0, -1, 1, 0]


def test_lookup_non_rs_ids_and_empty_gwas():
    """rsid-only matching of ids that are not all rs<digits> (string keys hashed as strings), and a GWAS
    with no row: every model reported, every SNP not_in_gwas."""
    from locusflow.io.matching import lookup_rows
    rows, ti = lookup_rows(np.arange(4), np.array(["rsTEST", "1:100", "rs5", "rsTEST"], dtype=object),
                       np.array(["rs5", "x", "rsTEST", "1:100"], dtype=object))
    assert sorted(zip(rows.tolist(), ti.tolist())) == [(0, 2), (1, 3), (2, 0), (3, 2)]
    w = pd.DataFrame({"model_id": ["g@t@enet@p"] * 2, "gene": "g", "gene_name": "G", "tissue": "t", "method": "enet",
                      "panel": "p", "chrom": "NA", "pos": pd.array([pd.NA, pd.NA], dtype="Int64"),
                      "rsid": ["rsTEST", "rs2"], "effect_allele": ["A", "C"], "other_allele": ["G", "T"],
                      "weight": [0.1, 0.2]})
    cov = pd.DataFrame({"tissue": "t", "gene": "g", "rsid1": ["rsTEST", "rsTEST", "rs2"],
                        "rsid2": ["rsTEST", "rs2", "rs2"], "value": [1.0, 0.1, 1.0]})
    none = pd.DataFrame({"rsid": pd.Series(dtype=object), "ref": pd.Series(dtype=object),
                         "alt": pd.Series(dtype=object), "z": pd.Series(dtype=float)})
    r = spredixcan(w, none, covariance=cov)
    assert len(r) == 1 and r["zscore"].isna().all() and (r["n_dropped_not_in_gwas"] == 2).all()
    g = pd.DataFrame({"rsid": ["rsTEST"], "ref": ["G"], "alt": ["A"], "z": [2.0], "beta": [0.1]})
    r = spredixcan(w, g, covariance=cov)
    assert r["n_snps_used"].iloc[0] == 1 and np.isclose(r["zscore"].iloc[0], 2.0)    # z_g = w s z / (w s) = z
