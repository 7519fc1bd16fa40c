"""What motifs did the shipped chr20 DNA LM learn in promoters? (docs/dnalm_motifs.md)

Promoter windows of 201 bp centred on every GENCODE v18 protein-coding TSS of GRCh37 chr20 (536 windows,
107,736 positions); per-position importance from the shipped model (one masked pass per position and
strand, cached in ``--cache``); then, for both importance tracks (``ic``, ``ism``) and two seqlet FDRs,
seqlets, motifs and their Tomtom-style matches against the bundled JASPAR subset; and, as a check that
does not depend on seqlet calling, the model's importance at the sites of each database motif in the same
promoters (PWM log-odds hits >= 60 % of the motif's best score, both strands) against all promoter positions.

    OMP_NUM_THREADS=1 PYTHONPATH=lib python bench/dnalm_motifs_promoters.py \
        --fasta ../shared/realdata/reference_genome/GRCh37_chr20.fa.gz --cache /tmp/promoter_importance.npz \
        --logos docs/img/dnalm_motifs
"""
import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fasta", required=True)
    ap.add_argument("--cache", default="/tmp/promoter_importance.npz")
    ap.add_argument("--logos", default=None)
    ap.add_argument("--length", type=int, default=201)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from locusflow.dnalm.features import gene_tss
    from locusflow.dnalm.logos import write_motif_logos
    from locusflow.dnalm.model import load_model
    from locusflow.dnalm.motif_db import bundled, read_motifs
    from locusflow.dnalm.motif_run import tss_regions
    from locusflow.dnalm.motifs import (as_motifs, contributions, discover_motifs, motif_site_importance,
                                        region_importance)
    from locusflow.dnalm.tomtom import compare_motifs
    from locusflow.io.fasta import Genome
    from locusflow.io.gene_map import gene_map
    genes = gene_tss(gene_map("GRCh37").rename(columns={"gene_id": "gene"}))
    regions = tss_regions(genes[genes["chrom"] == "20"], a.length)
    cache = Path(a.cache)
    if cache.exists():
        imp = dict(np.load(cache, allow_pickle=True))
    else:
        t = time.process_time()
        imp = region_importance(load_model(device="cpu"), Genome(a.fasta), regions, batch_size=512)
        print(f"importance: {len(imp['pos'])} positions, {time.process_time() - t:.0f} s CPU")
        np.savez(cache, **{k: v for k, v in imp.items() if k != "logp"})
    db = read_motifs(bundled())
    print(f"{len(regions)} promoter windows, {len(imp['pos'])} positions; mean IC {imp['ic'].mean():.3f} bits")
    pd.set_option("display.width", 200)
    for importance in ("ic", "ism"):
        track, contrib = contributions(imp, importance)
        for fdr, min_seqlets in ((0.05, 10), (0.25, 5)):
            seqlets, motifs = discover_motifs(track, contrib, imp["ref"], imp["region"], fdr=fdr,
                                              min_seqlets=min_seqlets)
            res = compare_motifs(as_motifs(motifs), db)
            top = res[res["rank"] == 1].set_index("query_id")
            print(f"\n== importance {importance}, fdr {fdr}: {len(seqlets)} seqlets (threshold "
                  f"{seqlets['threshold'].iloc[0] if len(seqlets) else float('nan'):.2f}), {len(motifs)} motifs")
            for m in motifs:
                t = top.loc[m["motif_id"]]
                cons = "".join("ACGT"[i] for i in m["pwm"].argmax(1))
                print(f"  {m['motif_id']:9s} n={m['n_seqlets']:4d} {cons:28s} best {t.target_id} {t.target_name:9s} "
                      f"{t.strand} pcc {t.mean_pcc:.2f} p {t.p_value:.2g} q {t.q_value:.2g}")
            if a.logos and importance == "ic" and fdr == 0.25 and motifs:
                files = write_motif_logos(motifs[:4], res, db, a.logos, formats=("png",))
                print("  logos:", [str(f) for f in files])
    print("\n== model importance at database-motif sites in the promoters (PWM hits >= 60% of max score)")
    for importance in ("ic", "ism"):
        track, _ = contributions(imp, importance)
        print(f"-- {importance}")
        print(motif_site_importance(track, imp["ref"], imp["region"], db).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
