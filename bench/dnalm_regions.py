"""What the shipped chr20 DNA LM learned where: masked-base accuracy and perplexity by region type.

Data: GRCh37 chr20 (realdata, vt-examples; no soft-masked repeats, so repeat rows read "unavailable"), the
bundled UCSC refGene hg19 chr20 GTF (lib/locusflow/data/annotation). Model: the shipped
lib/locusflow/data/dnalm/chr20_conv (trained on chr20 with 20:50,000,001-52,000,000 held out). Segments: the
held-out 2 Mb (every non-N base classified; up to --per-region bases drawn per region type) and the whole of
chr20 (thinned to 5M candidate bases first; most of it was seen in training).

Usage: PYTHONPATH=lib OMP_NUM_THREADS=1 python bench/dnalm_regions.py [--per-region 2000] [--no-genome]
Prints a markdown table per segment, the CPU seconds, and writes bench/out/dnalm_regions.{tsv,png}.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FASTA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata")) / "reference_genome" / "GRCh37_chr20.fa.gz"


def markdown(t: pd.DataFrame) -> str:
    lines = ["| region | bases in segment | evaluated | accuracy [95% CI] | cross-entropy (nats) | perplexity | "
             "composition entropy |", "|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        if r.status != "ok":
            lines.append(f"| {r.region} | {r.n_total:,} | 0 | {r.status} | | | |")
            continue
        lines.append(f"| {r.region} | {r.n_total:,} | {r.n:,} | {r.accuracy:.3f} [{r.accuracy_lo:.3f}, "
                     f"{r.accuracy_hi:.3f}] | {r.cross_entropy:.3f} | {r.perplexity:.2f} [{r.perplexity_lo:.2f}, "
                     f"{r.perplexity_hi:.2f}] | {r.composition_entropy:.3f} |")
    return "\n".join(lines)


def main(per_region: int, genome: bool) -> pd.DataFrame:
    import torch
    from locusflow.dnalm.regions import region_metrics
    from locusflow.plots.common import save_figure
    from locusflow.plots.regions import region_figure
    torch.set_num_threads(1)
    segs = ["20:50000001-52000000"] + (["20"] if genome else [])
    out = []
    for s in segs:
        t0, w0 = time.process_time(), time.time()
        t = region_metrics(FASTA, segments=[s], max_per_region=per_region, seed=0, device="cpu")
        cpu, wall = time.process_time() - t0, time.time() - w0
        print(f"\n### segment {t['segment'].iloc[0]}: {cpu:.0f} CPU s ({wall:.0f} s wall, load "
              f"{os.getloadavg()[0]:.1f}), {int(t.loc[t['region'] == 'all', 'n'].iloc[0]):,} windows\n")
        print(markdown(t))
        out.append(t)
    t = pd.concat(out, ignore_index=True)
    d = ROOT / "bench" / "out"
    d.mkdir(parents=True, exist_ok=True)
    t.to_csv(d / "dnalm_regions.tsv", sep="\t", index=False)
    save_figure(region_figure(t), d / "dnalm_regions", ("png",))
    return t


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--per-region", type=int, default=2000)
    p.add_argument("--no-genome", action="store_true")
    a = p.parse_args()
    main(a.per_region, not a.no_genome)
