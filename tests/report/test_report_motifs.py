"""The report's DNA language model section shows the motifs of a run: their table, one decoded logo per motif
and the database matches. The motifs are made by the project's own motif code from a known truth (JASPAR CTCF
planted into 60 random sequences with their information content as importance), written as the dnalm_motifs
stage writes them, then the report is opened in headless Chromium."""
import numpy as np
import pandas as pd
from selenium.webdriver.common.by import By

from locusflow.dnalm.logos import write_motif_logos
from locusflow.dnalm.motif_db import bundled, read_motifs
from locusflow.dnalm.motif_run import motif_tables
from locusflow.dnalm.motifs import as_motifs, discover_motifs, onehot, plant
from locusflow.dnalm.tomtom import compare_motifs
from locusflow.io.dataset import write_dataset
from locusflow.report.build import build_report
from viz_run import browser_driver


def _motif_run(root):
    rng = np.random.default_rng(7)
    db = read_motifs(bundled("meme"))
    pwm = next(m for m in db if m.name == "CTCF").pwm
    n, length, w = 60, 160, len(pwm)
    p = plant(rng, n, length, pwm)
    ic = 2 + (pwm * np.log2(np.clip(pwm, 1e-9, None))).sum(1)
    cols = np.where(p["site_strand"][:, None] == 1, ic[::-1][None, :], ic[None, :])      # (n, w)
    imp = rng.exponential(0.3, size=(n, length))
    imp[np.repeat(np.arange(n), w), (p["site_start"][:, None] + np.arange(w)).ravel()] += cols.ravel()
    ref, track = p["tokens"].ravel(), imp.ravel()
    region = np.repeat(np.arange(n), length)
    seqlets, motifs = discover_motifs(track, onehot(ref) * track[:, None], ref, region, window=15, flank=5,
                                      min_seqlets=10)
    matches = compare_motifs(as_motifs(motifs), db)
    stage = root / "dnalm_motifs"
    files = write_motif_logos(motifs, matches, db, stage / "logos", formats=("png",))
    tabs = motif_tables({"chrom": np.full(ref.size, "S"), "pos": np.arange(ref.size) + 1, "ref": ref},
                        pd.DataFrame({"name": [f"r{k}" for k in range(n)]}), seqlets, motifs,
                        matches, importance="ic", width=25, logos={f.stem: f.name for f in files})
    write_dataset(tabs["motifs"], stage / "motifs", "motifs", mode="overwrite")
    write_dataset(tabs["motif_matches"], stage / "matches", "motif_matches", mode="overwrite")
    return tabs


def test_motif_logos_in_the_report(tmp_path):
    tabs = _motif_run(tmp_path)
    mt = tabs["motifs"]
    assert len(mt) >= 1 and "CTCF" in set(mt["best_match_name"])            # the planted motif, recovered
    path = build_report(tmp_path)
    drv = browser_driver()
    try:
        drv.get(path.as_uri())
        assert [h.text for h in drv.find_elements(By.CSS_SELECTOR, "section h2")] == ["Run", "DNA language model"]
        subs = [h.text for h in drv.find_elements(By.CSS_SELECTOR, "#dnalm h3")]
        assert subs == ["Motifs", "Motif database matches"]
        assert len(drv.find_elements(By.CSS_SELECTOR, "#dnalm-motifs tbody tr")) == len(mt)
        logos = drv.find_elements(By.CSS_SELECTOR, "figure[id^='motif-'] img")
        assert len(logos) == len(mt)
        assert all(drv.execute_script("return arguments[0].naturalWidth", i) > 100 for i in logos)
        head = [th.text for th in drv.find_elements(By.CSS_SELECTOR, "#dnalm-motifs th")]
        assert "pwm" not in head and "best_match_name" in head
        rows = drv.find_elements(By.CSS_SELECTOR, "#dnalm-motif-matches tbody tr")
        assert len(rows) == min(len(tabs["motif_matches"]), 500)
    finally:
        drv.quit()
