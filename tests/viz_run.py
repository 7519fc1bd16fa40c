"""One finished run of the bundled example (conf/example.yaml, local engine) for the plots, report and serve
tests: real Parquet/Zarr results, made once per test session."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_RUNS: dict = {}


def example_run(tmp_root: Path) -> Path:
    """Run the example pipeline into ``tmp_root/example`` (once per session) and return the run directory."""
    if "example" not in _RUNS:
        import os
        from locusflow.config import load_config
        from locusflow.pipeline import run_pipeline
        out = Path(tmp_root) / "example"
        cwd = os.getcwd()
        os.chdir(ROOT)                      # the example config's paths are relative to the checkout
        try:
            cfg = load_config(ROOT / "conf" / "example.yaml", {"out": str(out), "engine": "local"})
            cfg["stages"] = [s for s in cfg["stages"] if s in ("ingest", "munge", "ld", "twas", "finemap", "focus")]
            cfg.setdefault("focus", {})["plot"] = False
            run_pipeline(cfg)
        finally:
            os.chdir(cwd)
        _RUNS["example"] = out
    return _RUNS["example"]
