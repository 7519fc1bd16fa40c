"""Weighted GBLUP on msprime-simulated lines (known causal variants) and chip design on real 1000G."""
import numpy as np
import pytest

from locusflow.breed.chip import chip_manifest, chip_quality, design_chip, uniform_design
from locusflow.breed.gblup import fit_gblup
from locusflow.breed.relationship import vanraden_grm
from locusflow.breed.validate import cross_validate, kfold
from locusflow.breed.weighted import fit_weighted_gblup, marker_weights, training_scores


@pytest.fixture(scope="module")
def lines():
    pytest.importorskip("msprime")
    from locusflow.breed.simulate import simulate_lines
    return simulate_lines((500, 100), n_chrom=6, markers_per_chrom=400, n_causal=6, h2=0.5, seed=3)


def test_marker_weights_mean_one_and_limits():
    s = np.array([0.0, 1.0, 3.0, 0.0])
    assert marker_weights(s, 0.0).tolist() == [1, 1, 1, 1]
    w = marker_weights(s, 0.5)
    assert w.mean() == pytest.approx(1.0) and w[2] == pytest.approx(0.5 + 0.5 * 4 * 0.75)


def test_weighting_by_causal_or_pips_beats_gblup(lines):
    s = lines
    a = np.flatnonzero(s.line == 0)
    y, M = s.y[a], s.markers[a]
    folds = kfold(len(a), 4, seed=0)
    truth = np.zeros(M.shape[1])
    truth[s.causal] = 1.0

    def gblup(tr, te):
        G = vanraden_grm(M[np.r_[tr, te]])
        return fit_gblup(y[tr], G[:len(tr), :len(tr)]).predict(G[len(tr):, :len(tr)])

    def weighted(score):
        def run(tr, te):
            return fit_weighted_gblup(y[tr], M[tr], score(tr), alphas=(0.0, 0.5, 0.9)).predict(M[te], M[tr])
        return run

    acc = {name: cross_validate(y, f, folds)["accuracy"].mean() for name, f in
           [("gblup", gblup), ("true", weighted(lambda tr: truth)),
            ("pip", weighted(lambda tr: training_scores(M[tr], y[tr], "pip")))]}
    assert acc["true"] > acc["gblup"] + 0.05, acc
    assert acc["pip"] > acc["gblup"] + 0.03, acc


@pytest.fixture(scope="module")
def panel(realdata):
    from locusflow.io.plink import BedReader, read_bim, read_fam
    pre = realdata / "polyfun_1kg_eur" / "polypred_example" / "1000G.subset.20"
    bim, fam = read_bim(pre), read_fam(pre)
    d = BedReader(pre, n_samples=len(fam), n_variants=len(bim)).read().T.astype(float)
    return bim, np.where(np.isnan(d), np.nanmean(d, 0), d)


def test_designed_chip_beats_uniform_and_keeps_forced(panel):
    bim, d = panel
    blocks = np.arange(d.shape[1]) // 1000
    forced = [5, 1234, 2800]            # e.g. fine-mapped causal variants, whatever their MAF
    for size in (200, 500):
        chip = design_chip(d, blocks, size, forced=forced)
        uni = uniform_design(d, size)
        assert len(chip) == len(uni) == size
        assert set(forced) <= set(chip.tolist())
        ours, base = chip_quality(d, blocks, chip), chip_quality(d, blocks, uni)
        assert ours["coverage"] > base["coverage"] + 0.05, (ours, base)
        assert ours["imputation_r2"] > base["imputation_r2"], (ours, base)
    var = bim.rename(columns={"a1": "alt", "a2": "ref"})     # PLINK's A1 is alt (README conventions)
    man = chip_manifest(var, chip, forced)
    assert man["Name"].iloc[0].startswith("rs") and man["SNP"].str.fullmatch(r"\[[ACGT]+/[ACGT]+\]").all()
    assert (man["Source"] == "forced").sum() == 3 and len(man) == 500


def test_spacing_and_lines_constraints(panel):
    _, d = panel
    blocks = np.zeros(d.shape[1], int)
    pos = np.arange(d.shape[1]) * 100.0
    chip = design_chip(d[:, :800], blocks[:800], 60, pos=pos[:800], min_spacing=1000, min_maf=0.05)
    picked = np.sort(pos[chip])
    lines = np.repeat([0, 1], [250, d.shape[0] - 250])
    chip2 = design_chip(d[:, :800], blocks[:800], 60, lines=lines, min_maf=0.1)
    f0, f1 = d[:250, chip2].mean(0) / 2, d[250:, chip2].mean(0) / 2
    assert np.all(np.minimum(f0, 1 - f0)[:len(chip2)] >= 0.1) and np.all(np.minimum(f1, 1 - f1) >= 0.1)
    # the greedy picks respect the spacing (filler SNPs only come after every variant is tagged)
    gaps = np.diff(picked)
    assert (gaps >= 1000).mean() > 0.9
