"""Figures of locusflow.plots: content checked on the artists (labels, point counts, names), on a real run
of the bundled example (tests/viz_run.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from locusflow.plots.common import genomic_control, neglog10, save_figure
from locusflow.plots.data import RunResults
from locusflow.plots.figures import plot_run, top_loci
from locusflow.plots.focus import focus_figures, predicted_expression_corr
from locusflow.plots.locus import locus_data, locus_figure
from locusflow.plots.manhattan import manhattan, qq
from locusflow.schema import load
from viz_run import example_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return example_run(tmp_path_factory.mktemp("viz"))


def _points(ax) -> int:
    return sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets"))


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_genomic_control_lambda():
    n = 20001
    p = (np.arange(1, n + 1) - 0.5) / n                   # exact uniform quantiles: lambda 1
    assert genomic_control(p) == pytest.approx(1.0, abs=1e-3)
    chi = stats.chi2.isf(p, 1) * 1.5                        # every statistic inflated by 1.5
    assert genomic_control(stats.chi2.sf(chi, 1)) == pytest.approx(1.5, abs=1e-3)
    assert np.isnan(genomic_control([np.nan, 2.0]))


def test_manhattan_points_labels_and_lead():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"chrom": np.repeat(["1", "2", "10"], 200), "pos": np.tile(np.arange(200) * 1000 + 1, 3),
                       "p": rng.uniform(size=600)})
    df["label"] = "rs" + df.index.astype(str)
    df.loc[250, "p"] = 1e-12                               # one genome-wide hit on chromosome 2
    df.loc[5, "p"] = np.nan                                # left out
    fig = manhattan(df, label="label")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "chromosome" and "log_{10}" in ax.get_ylabel()
    assert len(ax.collections[0].get_offsets()) == 599
    assert _texts(ax) == ["rs250"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "10"]   # numeric chromosome order
    save_figure(fig, "/tmp/locusflow-test-manhattan", formats=())   # closes the figure, writes nothing


def test_qq_lambda_in_legend():
    p = (np.arange(1, 1001) - 0.5) / 1000
    fig = qq(p)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("expected") and ax.get_ylabel().startswith("observed")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("1,000 variants" in t and "1.00" in t for t in legend)
    assert len(ax.collections[-1].get_offsets()) == 1000


def test_locus_plot_lead_ld_pips_genes(run_dir):
    run = RunResults(run_dir)
    g = run.gwas()
    data = locus_data(run, "20", 19_500_000, 20_700_000)
    in_region = g[(g["chrom"] == "20") & g["pos"].between(19_500_000, 20_700_000)]
    assert len(data["snps"]) == len(in_region)
    lead = in_region.loc[in_region["p"].idxmin()]
    assert data["lead"] == lead["variant_id"]
    r2 = data["snps"].set_index("variant_id")["r2"]
    assert r2[lead["variant_id"]] == pytest.approx(1.0, abs=1e-5)
    assert r2.notna().sum() > 0.5 * len(r2)             # LD from the stored block matrix
    fig = locus_figure(data)
    assoc, pip, *dnalm, focus, genes = fig.axes
    assert len(dnalm) == run.has("variant_scores") + run.has("gpnxld")    # a DNA-LM panel per dataset present
    assert _points(assoc) == len(in_region) + 1          # every SNP, plus the lead's diamond on top
    assert lead["rsid"] in _texts(assoc)                 # lead SNP labelled with its rsid
    assert "log_{10}" in assoc.get_ylabel() and pip.get_ylabel() == "SNP PIP"
    assert "FOCUS" in focus.get_ylabel()
    assert genes.get_xlabel() == "chromosome 20 position (Mb)"
    names = " ".join(_texts(genes))
    assert "INSM1" in names and "RALGAPA2" in names       # bundled GRCh37 GENCODE genes of the region
    cs_labels = [t.get_text() for t in pip.get_legend().get_texts()]
    assert sum(t.startswith("CS ") for t in cs_labels) == 3   # the three SuSiE credible sets of the block


def test_focus_figure_named_aligned_unclipped(run_dir):
    run = RunResults(run_dir)
    paths = focus_figures(run, run_dir / "fig_focus", formats=("png",))
    assert len(paths) == 2
    res = run.table("focus")
    rows = res[res["block_id"].str.startswith("22:") & (res["model_id"] != "NULL.MODEL")]
    from locusflow.plots.focus import focus_figure
    tg = run.twas_genes().drop_duplicates("model_id").set_index("model_id")["pos"]
    rows = rows.assign(pos=rows["model_id"].map(tg)).sort_values("pos")
    omega = predicted_expression_corr(run, list(rows["model_id"]))
    assert np.allclose(np.diag(omega), 1) and np.allclose(omega, omega.T)
    fig = focus_figure(rows, omega, "FOCUS 22")
    top, bars, heat = fig.axes[:3]
    ticks = [t.get_text() for t in top.get_xticklabels()]
    assert ticks == list(rows["mol_name"]) and len(ticks) == 18     # every gene named on the x axis
    assert {"ZNF74", "SCARF2", "MED15"} <= set(_texts(top))          # strong genes named at their point
    fig.canvas.draw()
    a, b = top.get_position(), bars.get_position()
    assert a.x0 == pytest.approx(b.x0, abs=1e-3) and a.x1 == pytest.approx(b.x1, abs=1e-3)   # aligned panels
    r = fig.canvas.get_renderer()
    fb = fig.bbox
    for t in [top.title, *top.texts]:                                # nothing clipped at the top
        e = t.get_window_extent(r)
        assert e.y1 <= fb.y1 + 0.5 and e.x0 >= fb.x0 - 0.5 and e.x1 <= fb.x1 + 0.5
    for t in top.texts:
        assert t.get_window_extent(r).y1 <= top.bbox.y1 + 0.5       # labels stay inside the axes


def test_plot_run_index_and_files(run_dir):
    run = RunResults(run_dir)
    loci = top_loci(run.gwas())
    assert list(loci["lead_label"]) == ["rs12628193", "rs73125634"]
    figs = run_dir / "figs"
    idx = load("plot_index").conform(plot_run(run, figs, formats=("png", "svg")))
    assert set(idx["kind"]) == {"manhattan_gwas", "qq_gwas", "locus", "manhattan_twas", "qq_twas", "ld_diagnostic",
                                "focus"} | ({"embedding"} if run.embeddings() is not None else set()) | (
                                    {"dnalm_regions"} if run.has("dnalm_regions") else set())
    for p in idx["path"]:
        assert (figs / p).stat().st_size > 1000
    png = (figs / idx.loc[idx["format"] == "png", "path"].iloc[0]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (figs / idx[(idx["kind"] == "locus") & (idx["format"] == "svg")]["path"].iloc[0]).read_text()
    assert "rs12628193" in svg and "chromosome 22 position (Mb)" in svg
    qq_row = idx[idx["kind"] == "qq_gwas"].iloc[0]
    assert qq_row["lambda_gc"] == pytest.approx(genomic_control(run.gwas()["p"]))
    assert neglog10([0.0])[0] > 300


def test_locus_plot_signed_z(run_dir):
    run = RunResults(run_dir)
    data = locus_data(run, "20", 19_800_000, 20_500_000)
    fig = locus_figure(data, y="z")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "GWAS z (effect allele = alt)"
    lead = data["snps"].set_index("variant_id").loc[data["lead"]]
    diamond = [c for c in ax.collections if c.get_label() == "lead SNP"][0]
    assert diamond.get_offsets()[0][1] == pytest.approx(lead["z"])          # drawn at its signed z
    assert lead["z"] < 0 and ax.get_ylim()[0] < lead["z"]


def test_locus_plot_dnalm_track(run_dir):
    """The DNA-LM panel: one point per scored SNP of the region at its LLR from the variant_scores dataset (the
    lead's diamond on top), credible-set SNPs in their set's colour, a line at 0, labelled axis and legend."""
    run = RunResults(run_dir)
    if not run.has("variant_scores"):
        pytest.skip("no DNA-LM scores in the example run (realdata FASTA absent)")
    data = locus_data(run, "20", 19_500_000, 20_700_000)
    snps = data["snps"]
    sc = run.table("variant_scores").set_index("variant_id")
    ids = snps["variant_id"].str.split(":", expand=True)
    flip = ids[0] + ":" + ids[1] + ":" + ids[3] + ":" + ids[2]           # scored in the genome's orientation
    key = snps["variant_id"].where(snps["variant_id"].isin(sc.index), flip)
    scored = snps[key.isin(sc.index[sc["llr"].notna()])]
    assert len(scored) > 500 and (~snps["variant_id"].isin(sc.index) & key.isin(sc.index)).sum() > 50
    assert np.allclose(scored["llr"], sc.loc[key[scored.index], "llr"]) and snps["llr"].notna().sum() == len(scored)
    ax = next(a for a in locus_figure(data).axes if a.get_ylabel().startswith("DNA-LM LLR"))
    assert _points(ax) == len(scored) + 1                  # every scored SNP, plus the lead's diamond
    assert "nats" in ax.get_ylabel() and ax.get_ylim()[0] < 0 < ax.get_ylim()[1]
    legend = ax.get_legend()
    assert f"{len(scored):,} of {len(snps):,} SNPs" in legend.get_title().get_text()
    assert sum(t.get_text().startswith("CS ") for t in legend.get_texts()) == 3
    assert "lead SNP" in [t.get_text() for t in legend.get_texts()]


def test_embedding_projection_equals_sklearn_pca(run_dir):
    """The embedding view's projection of the example's emb_delta vectors equals scikit-learn's PCA (up to the
    sign of each axis) with the same explained-variance fractions; the figure labels both axes with them."""
    from sklearn.decomposition import PCA
    from locusflow.plots.embedding import embedding_figure, embedding_points, pca_2d
    run = RunResults(run_dir)
    emb = run.embeddings()
    if emb is None:
        pytest.skip("no DNA-LM embeddings in the example run (realdata FASTA absent)")
    meta, x = emb
    assert len(meta) == run.table("variant_scores")["llr"].notna().sum() and x.shape[1] >= 8
    coords, explained = pca_2d(x)
    ref = PCA(n_components=2, svd_solver="full").fit(x)
    np.testing.assert_allclose(np.abs(coords), np.abs(ref.transform(x)), atol=1e-8 * np.abs(coords).max())
    np.testing.assert_allclose(explained, ref.explained_variance_ratio_, atol=1e-12)
    data = embedding_points(run)
    fig = embedding_figure(data)
    ax = fig.axes[0]
    assert _points(ax) == len(data["points"]) == min(4000, len(meta))
    assert ax.get_xlabel().startswith(f"PC1 of embedding deltas ({explained[0]:.0%}") and "PC2" in ax.get_ylabel()
