"""The `enrich-signal` stage on the example run (polypred windows chr20:20-21 Mb and chr22:20-21 Mb: real 1000G
EUR LD, real BOLT-LMM GWAS): the run's own datasets (munge, ld, finemap SuSiE PIPs, score_variants with the
shipped chr20 model, gpnxld), LD scores from the ld stage's block matrices, GC/CpG from the GRCh37 chr20 FASTA.
chr22 variants have no DNA-LM score (the model and FASTA are chr20 only): they count in the LD/GC-free rows only
where a score exists.

Usage: PYTHONPATH=lib OMP_NUM_THREADS=1 python bench/enrich_signal_run.py [OUT]   (prints markdown)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from dnalm_enrichment import markdown  # noqa: E402  (bench/ is not a package)

FASTA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata")) / "reference_genome" / "GRCh37_chr20.fa.gz"


def main(out: Path) -> None:
    from locusflow.config import load_config
    from locusflow.io.dataset import read_dataset
    from locusflow.pipeline import run_pipeline
    os.chdir(ROOT)
    cfg = load_config(ROOT / "conf" / "example.yaml", {"out": str(out), "engine": "local"})
    cfg["stages"] = ["ingest", "munge", "ld", "finemap", "score_variants", "gpnxld", "signal_enrichment"]
    cfg["score_variants"] = {"fasta": str(FASTA)}
    t0 = time.process_time()
    summ = run_pipeline(cfg)
    print(f"pipeline CPU {time.process_time() - t0:.0f} s (load {os.getloadavg()[0]:.1f}); "
          f"signal_enrichment {summ.get('signal_enrichment')}")
    t = read_dataset(out / "signal_enrichment" / "enrichment", "signal_enrichment")
    r = read_dataset(out / "signal_enrichment" / "regression", "signal_regression")
    print(markdown({"table": t.to_dict("records"),
                    "regression": {m: g.drop(columns="model").to_dict("records") for m, g in r.groupby("model", sort=False)}}))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/enrich_signal_run"))
