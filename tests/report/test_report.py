"""The run's HTML report opened in headless Chromium: its sections, tables, inline figures; no network."""
from __future__ import annotations

import re

import pytest
import yaml
from selenium.webdriver.common.by import By

from locusflow.plots.data import RunResults
from locusflow.report.build import build_report
from viz_run import ROOT, browser_driver, example_run, screenshot


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return example_run(tmp_path_factory.mktemp("viz"))


@pytest.fixture(scope="module")
def browser():
    drv = browser_driver()
    yield drv
    drv.quit()


def test_report_self_contained_and_shown(run_dir, browser, tmp_path):
    cfg = yaml.safe_load((ROOT / "conf" / "example.yaml").read_text())
    path = build_report(run_dir, cfg)
    assert path == run_dir / "report.html"
    text = path.read_text()
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", text)          # nothing fetched from a network
    assert "<link" not in text and "<script src" not in text
    browser.get(path.as_uri())
    heads = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "section h2")]
    run = RunResults(run_dir)
    dnalm = run.has("variant_scores")
    assert heads == ["Run", "Counts and drops per stage", "Genome-wide", "Top loci", "TWAS genes", "FOCUS genes",
                     "Credible sets"] + ["DNA language model"] * dnalm + ["GO enrichment"] * run.has("go_enrichment") + [
                         "Diagnostics: z vs LD", "Timings"]
    imgs = browser.find_elements(By.TAG_NAME, "img")
    assert len(imgs) >= 8
    assert all(browser.execute_script("return arguments[0].naturalWidth", i) > 100 for i in imgs)   # decoded
    loci = browser.find_element(By.ID, "top-loci").text
    assert "rs12628193" in loci and "rs73125634" in loci and "ZNF74" in loci
    link = browser.find_element(By.CSS_SELECTOR, "#top-loci a")
    target = link.get_attribute("href").split("#")[1]
    assert browser.find_element(By.ID, target).tag_name == "figure"          # link lands on the locus plot
    counts = browser.find_element(By.ID, "stage-counts").text
    assert "low_info: 1046" in counts and "strand_ambiguous: 64" in counts
    focus = browser.find_element(By.ID, "focus").text
    assert "ridge" in focus and "FOCUS z (ridge-adjusted)" in focus and "twas stage z" in focus
    box = browser.find_element(By.CSS_SELECTOR, "input[data-table='credible-sets']")    # a variant: its set
    box.send_keys("20:20293769:G:C")
    rows = [r for r in browser.find_elements(By.CSS_SELECTOR, "#credible-sets tbody tr") if r.is_displayed()]
    assert len(rows) == 1 and rows[0].text.startswith("20:18972204-20959711:L3")
    assert browser.find_element(By.ID, "credible-sets-count").text == "1 rows shown"
    box.clear()
    browser.execute_script("filterTable(arguments[0])", box)
    if dnalm:                               # the credible-set SNPs with their LLR from the variant_scores dataset
        fm = run.table("finemap_snp")
        sc = run.table("variant_scores").set_index("variant_id")["llr"]
        rows = browser.find_elements(By.CSS_SELECTOR, "#dnalm-cs-snps tbody tr")
        assert len(rows) == fm["cs"].notna().sum()
        head = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#dnalm-cs-snps th")]
        row = next(r for r in rows if "rs12185775" in r.text).find_elements(By.TAG_NAME, "td")
        assert float(row[head.index("llr")].get_attribute("data-v")) == pytest.approx(sc["20:20293769:G:C"])
        assert "log P(alt) - log P(ref)" in browser.find_element(By.ID, "dnalm").text
        assert "ok" in browser.find_element(By.ID, "dnalm-status").text
        subs = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#dnalm h3")]
        if run.has("dnalm_regions"):          # accuracy by region type: the dataset's rows and its plot
            reg = run.table("dnalm_regions")
            assert "Accuracy by region type" in subs
            assert len(browser.find_elements(By.CSS_SELECTOR, "#dnalm-regions tbody tr")) == len(reg) == 17
            img = browser.find_element(By.CSS_SELECTOR, "#dnalm-regions-plot img")
            assert browser.execute_script("return arguments[0].naturalWidth", img) > 100
        if run.has("motifs"):                 # motif table, one decoded logo per motif that has one
            mot = run.table("motifs")
            assert "Motifs" in subs
            assert len(browser.find_elements(By.CSS_SELECTOR, "#dnalm-motifs tbody tr")) == len(mot)
            logos = browser.find_elements(By.CSS_SELECTOR, "figure[id^='motif-'] img")
            assert len(logos) == mot["logo"].notna().sum()
            assert all(browser.execute_script("return arguments[0].naturalWidth", i) > 50 for i in logos)
        if run.has("signal_enrichment"):      # GWAS signal by score bin, and the regressions on LD score
            enr = run.table("signal_enrichment")
            assert "GWAS signal by DNA-LM score" in subs and "Does the score add to LD alone?" in subs
            assert len(browser.find_elements(By.CSS_SELECTOR, "#signal-enrichment tbody tr")) == len(enr)
            assert {"dnalm_-llr", "gpnxld", "ld_score"} <= set(enr["score"])
        screenshot(browser, "report_dnalm", tmp_path, element="dnalm")
    box = browser.find_element(By.CSS_SELECTOR, "input[data-table='twas-genes']")
    box.send_keys("ZNF74")
    rows = [r for r in browser.find_elements(By.CSS_SELECTOR, "#twas-genes tbody tr") if r.is_displayed()]
    assert len(rows) == 1 and "ZNF74" in rows[0].text
    box.clear()
    browser.execute_script("filterTable(arguments[0])", box)
    screenshot(browser, "report", tmp_path)
