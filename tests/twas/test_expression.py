"""Expression inputs (twas.train.expression): bulk tables, AnnData pseudobulk against pandas groupby on the
same cells, scPrediXcan's percentile-rank targets against its data_prep recipe (pandas merge, fillna(0),
mean, rank(method='average', pct=True)), and clear errors on bad inputs."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from locusflow.errors import InputError
from locusflow.twas.train.expression import (ctpred_targets, percentile_rank, pseudobulk, read_expression_table,
                                             read_h5ad)


def _table(tmp_path, text, name="e.tsv"):
    p = tmp_path / name
    (gzip.open(p, "wt") if name.endswith(".gz") else open(p, "w")).write(text)
    return p


def test_bulk_tables(tmp_path):
    e, pos = read_expression_table(_table(tmp_path, "gene_id\tS1\tS2\nG1\t1.5\t2\nG2\t0\t3e2\n", "e.tsv.gz"))
    assert list(e.index) == ["G1", "G2"] and list(e.columns) == ["S1", "S2"] and pos is None
    np.testing.assert_array_equal(e.to_numpy(), [[1.5, 2], [0, 300]])
    e2, _ = read_expression_table(_table(tmp_path, "NAME,S1,S2\nG1,1.5,2\nG2,0,300\n", "e.csv"))
    pd.testing.assert_frame_equal(e, e2)
    e.reset_index().to_parquet(tmp_path / "e.parquet")
    pd.testing.assert_frame_equal(read_expression_table(tmp_path / "e.parquet")[0], e)
    bed = "#chr\tstart\tend\tgene_id\tA\tB\nchr20\t99\t100\tG1\t1\t2\nchr20\t499\t500\tG2\t3\t4\n"
    e3, pos = read_expression_table(_table(tmp_path, bed, "e.bed"))
    assert list(e3.columns) == ["A", "B"] and list(pos["tss"]) == [100, 500] and list(pos["chrom"]) == ["20", "20"]


@pytest.mark.parametrize("text, match", [
    ("gene\tS1\tS2\nG1\t1\tx\n", r"row 1, column 'S2': a finite number.*'x'"),
    ("gene\tS1\tS2\nG1\t1\t\n", r"row 1, column 'S2'"),
    ("gene\tS1\nG1\t1\nG1\t2\n", r"row 2, column 'gene': each gene once.*'G1'"),
    ("gene\nG1\n", "at least one sample column"),
])
def test_bulk_bad_inputs(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        read_expression_table(_table(tmp_path, text))
    with pytest.raises(InputError, match="file not found"):
        read_expression_table(tmp_path / "absent.tsv")


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """600 cells x 40 genes of sparse counts, 5 individuals x 3 cell types, written to .h5ad."""
    anndata = pytest.importorskip("anndata")
    import scipy.sparse as sp
    rng = np.random.default_rng(2)
    n = 600
    counts = sp.random(n, 40, density=0.3, random_state=3, data_rvs=lambda k: rng.integers(1, 20, k)).tocsr()
    obs = pd.DataFrame({"donor": rng.choice([f"D{i}" for i in range(5)], n),
                        "cell_type": rng.choice(["B", "T", "NK"], n, p=[0.45, 0.5, 0.05])},
                       index=[f"c{i}" for i in range(n)])
    ad = anndata.AnnData(X=counts.astype(np.float32), obs=obs, var=pd.DataFrame(index=[f"G{j}" for j in range(40)]))
    path = tmp_path_factory.mktemp("sc") / "cells.h5ad"
    ad.write_h5ad(path)
    return path, counts.toarray(), obs


def test_pseudobulk_equals_groupby(cells):
    path, dense, obs = cells
    ad = read_h5ad(path)
    frame = pd.DataFrame(dense, columns=[f"G{j}" for j in range(40)]).assign(donor=obs["donor"].to_numpy(),
                                                                              ct=obs["cell_type"].to_numpy())
    grp = frame.groupby(["ct", "donor"])
    size = grp.size()
    for agg in ("sum", "mean"):
        res = pseudobulk(ad, individual="donor", cell_type="cell_type", agg=agg, min_cells=10, normalise="none")
        ref = getattr(grp, agg)()
        kept = res["_cells"]
        assert kept["kept"].tolist() == [size.loc[(c, d)] >= 10 for d, c in zip(kept["individual"], kept["cell_type"])]
        assert (~kept["kept"]).sum() >= 3                      # NK: few cells per donor
        for c in pd.unique(kept.loc[kept["kept"], "cell_type"]):
            want = ref.loc[c][size.loc[c] >= 10].T
            got = res[c][want.columns]
            np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    cpm = pseudobulk(ad, individual="donor", cell_type="cell_type", min_cells=10, normalise="log1p_cpm")["B"]
    s = grp.sum().loc["B"].T
    np.testing.assert_allclose(cpm.to_numpy(), np.log1p(s / s.sum(0) * 1e6)[cpm.columns].to_numpy(), rtol=1e-12)


def test_pseudobulk_bad_inputs(cells, tmp_path):
    path, _, _ = cells
    ad = read_h5ad(path)
    with pytest.raises(InputError, match="an obs column 'individual'"):
        pseudobulk(ad, individual="individual", cell_type="cell_type", source=path)
    with pytest.raises(InputError, match="at least min_cells=1000"):
        pseudobulk(ad, individual="donor", cell_type="cell_type", min_cells=1000, source=path)
    bad = ad.copy()
    bad.X = bad.X.toarray() - 1
    with pytest.raises(InputError, match="non-negative counts"):
        pseudobulk(bad, individual="donor", cell_type="cell_type", source=path)
    with pytest.raises(InputError, match="a layer 'counts'"):
        pseudobulk(ad, individual="donor", cell_type="cell_type", layer="counts", source=path)
    (tmp_path / "x.h5ad").write_text("not hdf5")
    with pytest.raises(InputError, match="x.h5ad: an AnnData .h5ad file"):
        read_h5ad(tmp_path / "x.h5ad")


def test_ctpred_targets_follow_scpredixcan_data_prep():
    rng = np.random.default_rng(4)
    expr = pd.DataFrame(rng.poisson(3, (30, 6)).astype(float), index=[f"G{i}" for i in range(30)],
                        columns=[f"D{i}" for i in range(6)])
    feature_genes = [f"G{i}" for i in range(5, 40)]          # 10 genes undetected in the cells: 0
    got = ctpred_targets(expr, feature_genes)
    # scPrediXcan data_prep.py, literally: merge on gene_name, fillna(0), mean, rank(pct=True)
    epi = pd.DataFrame({"gene_name": feature_genes})
    sel = epi.merge(expr.rename_axis("gene_name").reset_index(), on="gene_name", how="left").fillna(0)
    ref = sel[expr.columns].mean(axis=1).rank(method="average", pct=True)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-15)
    assert list(got.index) == feature_genes
    np.testing.assert_allclose(percentile_rank([3, 1, 3, 2]), [0.875, 0.25, 0.875, 0.5])
