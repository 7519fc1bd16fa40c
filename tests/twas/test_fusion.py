"""FUSION: .wgt.RDat import, z against FUSION.assoc_test.R (LD imputation, flips, best model, top1), and
the identity FUSION z == S-PrediXcan z when weights are rescaled by sigma_l.

The weight files are written by R itself (``save()``) from weights drawn here (no real FUSION weights
are bundled); the reference panel is the bundled 1000G EUR chr22 window. FUSION is a GitHub peer:
looked for at $LOCUSFLOW_FUSION or ~/.cache/locusflow/peers/fusion_twas (a ``git archive`` of
gusevlab/fusion_twas with ``utils/plink_utils.R``), skipped when absent or when R lacks optparse/here.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES, apt_tool
from peers import live

from peers.twas_cases import SAVE_R, make_fusion_inputs as _make_inputs, panel_window  # noqa: F401

from locusflow.io.plink import BedReader, read_bim  # noqa: F401
from locusflow.io.weights import read_fusion, read_fusion_wgt
from locusflow.twas.fusion import fusion
from locusflow.twas.panel import PanelLD
from locusflow.twas.spredixcan import spredixcan

FUSION = live.FUSION
PREFIX = EXAMPLES / "1000G_EUR_chr20_22"
AMBIG = {("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")}

def make_fusion_inputs(tmp: Path, seed=3):
    return _make_inputs(tmp, seed, rscript=apt_tool("Rscript", "r-base-core"), plink=apt_tool("plink1.9", "plink1.9"))


def run_fusion_peer(tmp: Path) -> pd.DataFrame:
    script = FUSION / "FUSION.assoc_test.R"
    if not (script.exists() and (FUSION / "utils" / "plink_utils.R").exists()):
        pytest.skip(f"FUSION not found at {FUSION} (set LOCUSFLOW_FUSION)")
    rs = apt_tool("Rscript", "r-base-core")
    apt_tool("R:optparse", "r-cran-optparse")
    apt_tool("R:here", "r-cran-here")
    full = ("format <- function(x, ...) { a <- list(...); a$digits <- 17; do.call(base::format, c(list(x), a)) };"
            f"source('{script}')")
    r = subprocess.run([rs, "-e", full, "--sumstats", str(tmp / "gwas.sumstats"), "--weights", str(tmp / "sim.pos"),
                        "--weights_dir", str(tmp), "--ref_ld_chr", str(tmp / "ref."), "--chr", "22",
                        "--out", str(tmp / "fusion.out")], cwd=FUSION, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:] + r.stdout[-2000:]
    out = pd.read_csv(tmp / "fusion.out", sep="\t", dtype=str)
    out = out.apply(lambda c: c.str.strip())
    for c in ("TWAS.Z", "TWAS.P", "NSNP", "NWGT", "MODELCV.PV"):
        out[c] = pd.to_numeric(out[c], errors="coerce")   # format() pads 'NA'
    return out


def ours(tmp: Path, bim, g, gw, **kw) -> pd.DataFrame:
    w = read_fusion(tmp / "sim.pos")
    v = pd.DataFrame({"chrom": "22", "pos": bim["pos"], "rsid": bim["rsid"], "ref": bim["a2"], "alt": bim["a1"]})
    panel = PanelLD.from_dosages(v, g)
    gwas = pd.DataFrame({"rsid": gw["SNP"], "alt": gw["A1"], "ref": gw["A2"], "z": gw["Z"]})
    return fusion(w, gwas, panel, **kw)


def test_read_fusion_rdat(tmp_path):
    bim, g, gw = make_fusion_inputs(tmp_path)
    raw = pd.read_csv(tmp_path / "GENE_A.wgt.tsv", sep="\t", float_precision="round_trip")
    m = read_fusion_wgt(tmp_path / "GENE_A.wgt.RDat")
    np.testing.assert_array_equal(m["wgt"], raw[m["models"]].to_numpy())
    assert m["cv"]["pval"] == {"lasso": 0.02, "blup": 0.01, "top1": 0.005}
    w = read_fusion(tmp_path / "sim.pos")
    a = w[w["model_id"] == "GENE_A@SIM@lasso@SIM"]
    assert len(a) == len(raw) and (a["weight_scale"] == "sd").all() and a["chrom"].eq("22").all()
    assert a["n_snps_in_model"].iloc[0] == int((raw["lasso"] != 0).sum())


@pytest.mark.live_peer("fusion")
def test_fusion_matches_fusion_assoc_test(tmp_path):
    bim, g, gw = make_fusion_inputs(tmp_path)
    peer = run_fusion_peer(tmp_path)
    mine = ours(tmp_path, bim, g, gw)
    m = peer.merge(mine, left_on="ID", right_on="gene")
    assert len(m) == 3
    assert list(m["MODEL"]) == list(m["method"])      # best model by CV p (top1 for GENE_A)
    np.testing.assert_allclose(m["zscore"], m["TWAS.Z"], atol=1e-6, equal_nan=True)
    assert m["TWAS.Z"].notna().sum() == 2 and m.loc[m["ID"] == "GENE_C", "zscore"].isna().all()
    assert (m.loc[m["ID"] != "GENE_C", "n_imputed"] > 0).all()
    np.testing.assert_array_equal(m["NSNP"], m["n_snps_in_cov"])          # model SNPs in the LD reference
    np.testing.assert_array_equal(m["NWGT"].where(m["TWAS.Z"].notna(), 0), m["n_snps_used"])


def test_fusion_equals_spredixcan_with_rescaled_weights():
    """z_FUSION(w * sigma, R) == z_S-PrediXcan(w, Gamma) for Gamma = D R D on the same panel."""
    bim, g, _ = panel_window()
    rng = np.random.default_rng(11)
    v = pd.DataFrame({"chrom": "22", "pos": bim["pos"], "rsid": bim["rsid"], "ref": bim["a2"], "alt": bim["a1"]})
    panel = PanelLD.from_dosages(v, g)
    rows = []
    for k in range(6):   # 6 genes, overlapping SNP sets, weights for either allele
        idx = np.sort(rng.choice(len(v), 12, replace=False))
        s = v.iloc[idx]
        swap = rng.random(12) < 0.5
        rows.append(pd.DataFrame({"model_id": f"G{k}@T@enet@P", "gene": f"G{k}", "gene_name": f"G{k}", "tissue": "T",
                                  "method": "enet", "panel": "P", "chrom": "22", "pos": s["pos"].values,
                                  "rsid": s["rsid"].values,
                                  "effect_allele": np.where(swap, s["ref"], s["alt"]),
                                  "other_allele": np.where(swap, s["alt"], s["ref"]),
                                  "weight": rng.normal(0, 0.3, 12), "cv_r2": 0.1, "cv_pval": 1e-3}))
    w = pd.concat(rows, ignore_index=True)
    gwas = v.assign(z=rng.normal(0, 2, len(v)))
    sp = spredixcan(w, gwas, panel=panel)
    sigma = np.sqrt(np.diag(panel.cov))[pd.Index(v["rsid"]).get_indexer(w["rsid"])]
    fu = fusion(w.assign(weight=w["weight"] * sigma), gwas, panel, best_model=False, ambiguous="keep")
    assert (sp["n_snps_used"] == 12).all()
    np.testing.assert_allclose(fu["zscore"].to_numpy(), sp["zscore"].to_numpy(), rtol=1e-10)
