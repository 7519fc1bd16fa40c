"""Genotype PCA equals plink2 --pca up to sign on HapMap3; populations separate; new samples project."""
import subprocess

import numpy as np
import pandas as pd
import pytest

from locusflow.gwas.pca import ld_prune, population_separation, store_pca
from locusflow.io.genotypes import GenotypeStore, ingest_plink
from locusflow.io.plink import BedReader, read_bim, read_fam

from conftest import apt_tool

HM3 = "HM3_thinned_autosomal_overlap"
KG = "1kg.ref.phase1_release_v3.20101123_thinned_autosomal_overlap"


@pytest.fixture(scope="module")
def hm3(realdata, tmp_path_factory):
    d = tmp_path_factory.mktemp("pca")
    prefix = realdata / "hapmap3_1kg_thinned_flashpca" / HM3
    subprocess.run([apt_tool("plink2", "plink2"), "--bfile", str(prefix), "--pca", "10", "--threads", "1",
                    "--out", str(d / "plink")], check=True, capture_output=True)
    store = ingest_plink(prefix, d / "hm3.vcz", variants_chunk=2000)
    vec = pd.read_csv(d / "plink.eigenvec", sep="\t")
    return store, vec, np.loadtxt(d / "plink.eigenval")


def _corr(ours, vec):
    return np.array([abs(np.corrcoef(ours[:, j], vec[f"PC{j + 1}"])[0, 1]) for j in range(10)])


@pytest.mark.parametrize("method", ["exact", "randomized"])
def test_pcs_match_plink2(hm3, method):
    store, vec, val = hm3
    res = store_pca(store.path, 10, method=method)
    c = _corr(res.components_, vec)
    print(method, "|corr| with plink2 PC1..10:", np.round(c, 6))
    assert c.min() >= 0.999
    # plink2's eigenvalues are ~0.3 % larger (its scaling of samples with missing calls); order and gaps agree
    np.testing.assert_allclose(res.eigenvalues_, val, rtol=6e-3)


def test_populations_separate_and_new_samples_project(hm3, realdata):
    store, vec, _ = hm3
    res = store_pca(store.path, 10, method="exact")
    base = realdata / "hapmap3_1kg_thinned_flashpca"
    rel = pd.read_csv(base / "relationships_w_pops_121708.txt", sep="\t").set_index("IID")["population"]
    labels = rel.reindex(store.samples).to_numpy()
    sep = population_separation(res.components_[:, :4], labels)
    cont = pd.Series(labels).map({"YRI": "AFR", "LWK": "AFR", "MKK": "AFR", "CEU": "EUR", "TSI": "EUR",
                                  "CHB": "EAS", "CHD": "EAS", "JPT": "EAS"})
    sep_c = population_separation(res.components_[:, :2], cont.to_numpy())
    print("11 populations, PC1-4:", sep.to_dict("records"), "; 3 continents, PC1-2:", sep_c.to_dict("records"))
    assert sep_c["nearest_centroid_accuracy"].iloc[0] > 0.99
    assert sep["between_within_ratio"].iloc[0] > 3
    # 1000G phase 1 genotypes of the samples HapMap3 shares with it project onto their own PCs
    kg = base / KG
    fam, bim, hbim = read_fam(kg), read_bim(kg), read_bim(base / HM3)
    shared = np.flatnonzero(fam["iid"].isin(store.samples).to_numpy())
    assert len(shared) > 300
    row = pd.Index(bim["rsid"]).get_indexer(hbim["rsid"])
    g = BedReader(kg).read()[row][:, shared].astype(np.float32)
    g[g < 0] = np.nan
    flip = (bim["a1"].to_numpy()[row] != hbim["a1"].to_numpy())
    g[flip] = 2 - g[flip]
    proj = res.project(g)
    own = res.components_[store.sample_index(fam["iid"].to_numpy()[shared])]
    for j in range(4):
        assert abs(np.corrcoef(proj[:, j], own[:, j])[0, 1]) > 0.99


def test_ld_prune_drops_correlated_variants(hm3):
    store, _, _ = hm3
    d = store.dosages(0, 500)
    dup = np.vstack([d, d[:50]])                      # 50 exact copies: r^2 = 1 with their originals
    order = np.argsort(np.r_[np.arange(500), np.arange(50) + 0.5], kind="stable")
    keep = ld_prune(dup[order], r2=0.5, window=10)
    assert (~keep).sum() >= 50 and keep[order < 500].sum() >= 440


def _summary(out, stage):
    import json
    return json.loads((out / stage / "_stage.json").read_text())["summary"]


def test_pca_stage_and_cli(hm3, realdata, tmp_path):
    """`locusflow pca`: PCs equal plink2 --pca up to sign; a second store's samples (an HM3 subset written by
    plink2 --keep) project onto their own fitted PCs; separation of the 11 populations in the summary;
    with LD pruning and a fitting subset, the samples left out project next to their population."""
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset

    store, vec, val = hm3
    base = realdata / "hapmap3_1kg_thinned_flashpca"
    keep = pd.DataFrame({"FID": read_fam(base / HM3)["fid"], "IID": store.samples}).iloc[::9]
    keep.to_csv(tmp_path / "keep.txt", sep="\t", index=False, header=False)
    subprocess.run([apt_tool("plink2", "plink2"), "--bfile", str(base / HM3), "--keep", str(tmp_path / "keep.txt"),
                    "--make-bed", "--out", str(tmp_path / "sub")], check=True, capture_output=True)
    other = ingest_plink(tmp_path / "sub", tmp_path / "sub.vcz")
    out = tmp_path / "o"
    rel = base / "relationships_w_pops_121708.txt"
    assert main(["pca", "--store", str(store.path), "--no-ld-prune", "--min-maf", "0", "--method", "exact",
                 "--populations", str(rel), "--project", str(other.path), "--out", str(out)]) == 0
    sc = read_dataset(out / "pca" / "scores", "pca_scores")
    fit = sc[sc["fitted"]].pivot(index="sample_id", columns="pc", values="score").loc[list(store.samples)]
    assert _corr(fit.to_numpy(), vec).min() >= 0.999
    ev = read_dataset(out / "pca" / "eigenvalues", "pca_eigenvalues").sort_values("pc")
    np.testing.assert_allclose(ev["eigenvalue"], val, rtol=6e-3)
    proj = sc[~sc["fitted"]].pivot(index="sample_id", columns="pc", values="score").loc[keep["IID"]]
    np.testing.assert_allclose(proj.to_numpy(), fit.loc[keep["IID"]].to_numpy(), atol=1e-6)
    s = _summary(out, "pca")
    assert s["project"]["variants_matched"] == 14079 and s["variants"] == 14079
    assert s["separation"]["populations"] == 11 and s["separation"]["between_within_ratio"] > 3
    print("separation, 11 HapMap3 populations, PC1-4:", s["separation"])
    # default LD pruning; fit on 3 of 4 samples, the 4th projected: its continent is its nearest centroid's
    (tmp_path / "fit.txt").write_text("IID\n" + "\n".join(store.samples[np.arange(957) % 4 != 0]) + "\n")
    out2 = tmp_path / "o2"
    assert main(["pca", "--store", str(store.path), "--samples", str(tmp_path / "fit.txt"), "--k", "4",
                 "--out", str(out2)]) == 0
    s2 = _summary(out2, "pca")
    assert s2["samples_projected"] == 240 and 0 < s2["variants"] < 14079
    sc2 = read_dataset(out2 / "pca" / "scores", "pca_scores").pivot_table(
        index="sample_id", columns="pc", values="score")
    cont = pd.read_csv(rel, sep="\t").set_index("IID")["population"].map(
        {"YRI": "AFR", "LWK": "AFR", "MKK": "AFR", "CEU": "EUR", "TSI": "EUR", "CHB": "EAS", "CHD": "EAS",
         "JPT": "EAS"}).reindex(sc2.index)
    fitted = sc2.index.isin(store.samples[np.arange(957) % 4 != 0])
    lab = cont.to_numpy()
    names = np.array(["AFR", "EUR", "EAS"])
    cen = np.stack([sc2.to_numpy()[fitted & (lab == c), :2].mean(0) for c in names])
    test = ~fitted & pd.notna(lab)
    near = names[((sc2.to_numpy()[test, None, :2] - cen[None]) ** 2).sum(-1).argmin(1)]
    assert (near == lab[test]).mean() > 0.99
