"""GWAS signal in bins of DNA-LM score, GPNxLD and baselines on the polypred chr20 window (real data).

Data: 1000G EUR (489 samples) chr20:20-21 Mb SNPs with MAF > 1% (examples/1000G_EUR_chr20_22) and their real
BOLT-LMM statistics (examples/bolt_chr20_22.sumstats.gz, polyfun's polypred example, n ~ 337,000).
Scores: the shipped chr20 model's -llr (REF oriented to the GRCh37 FASTA); GPNxLD = R^2 a with
a = max(0, -llr) over the window's LD; baselines: LD score (window, LDSC bias correction), GC within
+-50 bp, CpG. Statistics: chi2 (CHISQ_BOLT_LMM), gw = P_BOLT_LMM < 5e-8, SuSiE PIP (L = 10 on the window,
in-sample-panel LD). Enrichment per quintile, block jackknife over 20 contiguous blocks; the joint
regression chi2 ~ LD score + GPNxLD (+ -llr) says whether GPNxLD adds to LD alone.

Usage: PYTHONPATH=lib python bench/dnalm_enrichment.py [--blocks 20]   (prints markdown + JSON)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dnalm_priors import EXAMPLES, FASTA, chr20_panel  # noqa: E402  (bench/ is not a package)


def load() -> tuple:
    """The chr20 panel of bench/dnalm_priors.py joined to its BOLT-LMM statistics (SNPs in both)."""
    b, dos, seq, ref, alt = chr20_panel()
    ss = pd.read_csv(EXAMPLES / "bolt_chr20_22.sumstats.gz", sep="\t", dtype={"CHR": str})
    ss = ss[ss["CHR"] == "20"].drop_duplicates("BP").set_index("BP")
    b = b.join(ss[["ALLELE1", "ALLELE0", "BETA", "CHISQ_BOLT_LMM", "P_BOLT_LMM"]], on="pos")
    have = b["CHISQ_BOLT_LMM"].notna().to_numpy()
    return b[have].reset_index(drop=True), dos[have], seq, ref[have], alt[have]


def main(n_blocks: int) -> dict:
    from locusflow.dnalm.priors import functional_score, gpnxld
    from locusflow.dnalm.task import score_variants_frame
    from locusflow.enrich.gwas_signal import (binned_enrichment, cpg, enrichment_table, gc_content,
                                              jackknife_blocks, joint_regression, ld_scores)
    from locusflow.finemap.susie import susie_rss
    from locusflow.ld.matrix import ld_matrix
    rec = {"load_average": round(os.getloadavg()[0], 1)}
    b, dos, seq, ref, alt = load()
    pos = b["pos"].to_numpy()
    a1 = b["a1"].astype(str).to_numpy()
    t0 = time.process_time()
    sc = score_variants_frame(pd.DataFrame({"chrom": "20", "pos": pos, "ref": ref, "alt": alt}), fasta=FASTA)
    rec["score_cpu_s"] = round(time.process_time() - t0, 1)
    llr = sc["llr"].to_numpy()
    R = ld_matrix(dos).astype(np.float64)
    a = functional_score(llr)
    chi2 = b["CHISQ_BOLT_LMM"].to_numpy(float)
    z = np.sqrt(chi2) * np.sign(b["BETA"].to_numpy(float)) * np.where(b["ALLELE1"].astype(str).to_numpy() == a1, 1, -1)
    t0 = time.process_time()
    fit = susie_rss(z, R, n=337000, L=10)
    rec["susie_cpu_s"] = round(time.process_time() - t0, 1)
    values = {"chi2": chi2, "gw": (b["P_BOLT_LMM"].to_numpy(float) < 5e-8).astype(float), "pip": fit.pip}
    scores = {"dnalm_-llr": -llr, "gpnxld": gpnxld(R, a), "ld_score": ld_scores(R, dos.shape[1]),
              "gc_100bp": gc_content(seq, pos, 50)}
    t = enrichment_table(values, scores, pos, n_bins=5, n_blocks=n_blocks)
    c = cpg(seq, pos)
    t = pd.concat([t, binned_enrichment(values, c, jackknife_blocks(pos, n_blocks), n_bins=2, name="cpg",
                                        bins=c.astype(np.int64))], ignore_index=True)
    blocks = jackknife_blocks(pos, n_blocks)
    reg = {"ld_only": joint_regression(chi2, {"ld_score": scores["ld_score"]}, blocks),
           "ld+gpnxld": joint_regression(chi2, {"ld_score": scores["ld_score"], "gpnxld": scores["gpnxld"]}, blocks),
           "ld+gpnxld+llr": joint_regression(chi2, {"ld_score": scores["ld_score"], "gpnxld": scores["gpnxld"],
                                                    "dnalm_-llr": -llr}, blocks)}
    rec.update({"snps": len(b), "scored": int(np.isfinite(llr).sum()), "gw_snps": int(values["gw"].sum()),
                "mean_chi2": round(float(chi2.mean()), 2), "sum_pip": round(float(fit.pip.sum()), 2),
                "table": t.round(4).to_dict("records"),
                "regression": {k: v.round(4).to_dict("records") for k, v in reg.items()}})
    return rec


def markdown(rec: dict) -> str:
    t = pd.DataFrame(rec["table"])
    lines = ["| score | stat | bin 1 (low) | 2 | 3 | 4 | 5 (high) | top - bottom (z) |", "|---|---|---|---|---|---|---|---|"]
    for (score, stat), g in t.groupby(["score", "stat"], sort=False):
        cells = [f"{r.enrichment:.2f} [{r.ci_lo:.2f}, {r.ci_hi:.2f}]" for r in g[g["bin"] != "top_minus_bottom"].itertuples()]
        d = g[g["bin"] == "top_minus_bottom"].iloc[0]
        cells += [""] * (5 - len(cells))
        lines.append(f"| {score} | {stat} | " + " | ".join(cells) + f" | {d.enrichment:+.2f} ({d.z:+.2f}) |")
    for k, rows in rec["regression"].items():
        lines.append(f"\n{k}: " + "; ".join(f"{r['term']} {r['coef']:.3f} (SE {r['se']:.3f}, z {r['z']:.2f})"
                                            for r in rows))
    return "\n".join(lines)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--blocks", type=int, default=20)
    r = main(p.parse_args().blocks)
    print(markdown(r))
    print(json.dumps({k: v for k, v in r.items() if k != "table"}, indent=1))
