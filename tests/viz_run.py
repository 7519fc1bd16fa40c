"""One finished run of the bundled example (conf/example.yaml, local engine) for the plots, report and serve
tests: real Parquet/Zarr results, made once per test session. When the realdata GRCh37 chr20 FASTA is there,
the run also scores its variants with the shipped DNA language model (stage score_variants, with embedding
deltas; the chr22 variants are reported contig_absent), computes GPNxLD (stage gpnxld), the model's accuracy by
region type on chr20:20-20.2 Mb (stage dnalm_regions, 20 bases per region type) and the GWAS signal in bins of
the scores (stage signal_enrichment)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FASTA = (Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))
         / "reference_genome" / "GRCh37_chr20.fa.gz")        # the score_variants input
_RUNS: dict = {}


def _build(out: Path) -> None:
    """The example pipeline (and, with the chr20 FASTA, the DNA-LM stages) into ``out``."""
    from locusflow.config import load_config
    from locusflow.pipeline import run_pipeline
    cwd = os.getcwd()
    os.chdir(ROOT)                      # the example config's paths are relative to the checkout
    try:
        cfg = load_config(ROOT / "conf" / "example.yaml", {"out": str(out), "engine": "local"})
        cfg["stages"] = [s for s in cfg["stages"] if s in ("ingest", "munge", "ld", "twas", "finemap", "focus")]
        cfg.setdefault("focus", {})
        run_pipeline(cfg)
        if FASTA.exists():      # DNA-LM scores of the chr20 variants (the shipped model), then GPNxLD
            from locusflow.layout import stage_names
            cfg["stages"] = [s for s in ("score_variants", "gpnxld", "dnalm_regions", "signal_enrichment")
                             if s in stage_names()]
            cfg["score_variants"] = {"fasta": str(FASTA), "embeddings": True, "delta": True}
            cfg["dnalm_regions"] = {"fasta": str(FASTA), "segments": ["20:20000001-20200000"],
                                    "max_per_region": 20, "device": "cpu"}
            run_pipeline(cfg)
    finally:
        os.chdir(cwd)


def _pristine(tmp_root: Path) -> Path:
    """The example run as made, built once per test run: under pytest-xdist the workers share one build
    (the first to take the lock builds it in the run's common temporary folder; the others wait, then copy)."""
    import fcntl
    tmp_root = Path(tmp_root)
    common = tmp_root.parent.parent if os.environ.get("PYTEST_XDIST_WORKER") else tmp_root.parent
    done = common / "example_pristine" / "_BUILT"
    with open(common / "example_pristine.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            _build(common / "example_pristine")
            done.write_text("")
    return done.parent


def example_run(tmp_root: Path, *, private: bool = False) -> Path:
    """A finished run of the example in ``tmp_root/example``: one per process (shared by the modules that
    only read it), copied from the run's one build (:func:`_pristine`).

    ``private=True`` returns a fresh copy in ``tmp_root/example`` for a test module that adds stages to it
    (plots, enrich, report), so that the run the other modules of the same process read stays as made.
    """
    import shutil
    if private or "example" not in _RUNS:
        out = shutil.copytree(_pristine(tmp_root), Path(tmp_root) / "example", symlinks=True,
                              ignore=shutil.ignore_patterns("_BUILT"))
        if private:
            return out
        _RUNS["example"] = out
    return _RUNS["example"]


def browser_driver():
    """Headless Debian Chromium driven by selenium through the system chromedriver (skip when unavailable)."""
    import pytest
    from conftest import apt_tool
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium = apt_tool("chromium", "chromium")
    driver_bin = apt_tool("chromedriver", "chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,1600"):
        opts.add_argument(a)
    drv = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=driver_bin))
    drv.set_page_load_timeout(120)
    return drv


def screenshot(driver, name: str, tmp_path: Path, element: str | None = None) -> Path:
    """Full-page PNG of the current page (or of the element with id ``element``); also copied into
    $LOCUSFLOW_SCREENSHOTS (e.g. docs/img) when set."""
    import shutil
    from selenium.webdriver.common.by import By
    p = Path(tmp_path) / f"{name}.png"
    if element is not None:
        driver.set_window_size(1300, 1600)
        el = driver.find_element(By.ID, element)
        driver.execute_script("document.querySelectorAll('nav').forEach(n => n.style.position = 'static');"
                              "arguments[0].scrollIntoView()", el)      # no sticky bar over the element
        el.screenshot(str(p))
    else:
        driver.execute_script("window.scrollTo(0, 0)")
        h = driver.execute_script("return Math.min(document.body.scrollHeight, 2600)")   # readable at full width
        driver.set_window_size(1300, max(800, h + 140))        # the window includes the browser frame
        driver.save_screenshot(str(p))
        driver.set_window_size(1300, 1600)
    dest = os.environ.get("LOCUSFLOW_SCREENSHOTS")
    if dest:
        Path(dest).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, Path(dest) / p.name)
    return p
