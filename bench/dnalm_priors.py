"""DNA-LM priors in fine-mapping: the polypred chr20 window end to end, and simulations with known causal SNPs.

Part 1 (real GWAS z, end to end): `locusflow run` of ingest, munge, ld, score_variants (the shipped
chr20 model on the real GRCh37 FASTA) and finemap with ``priors: {scores: true}`` (exp link, slope
estimated across the signal blocks) on the bundled example (1000G EUR chr20:20-21 Mb + chr22:20-21 Mb,
BOLT-LMM sumstats of polyfun's polypred example; the FASTA is chr20 only, so chr22 variants are
contig_absent: unscored, neutral prior). The same blocks fine-mapped again without priors; per method
(SuSiE, FINEMAP-SSS, SuSiE-inf) the PIPs and credible sets are compared.

Part 2 (simulation, known truth): real LD (489 EUR, 300-SNP windows of chr20:20-21 Mb) and the real
DNA-LM scores of those SNPs (s = standardised max(0, -llr)); in each replicate 2 causal SNPs are drawn
with probability pi_j ~ exp(beta_true s_j), effects +-ncp on the z scale, z = R b + N(0, R). SuSiE (L = 5)
fits each replicate with the uniform prior and with the priors whose slope is estimated across all
replicates (finemap.functional.estimate_link, no access to the truth). Power: mean PIP at the causal
SNPs, recall at PIP > 0.5 / 0.9 and at a matched empirical FDR (the PIP threshold each prior needs for
FDR <= 10%); calibration: observed causal fraction in PIP bins against the mean PIP. beta_true = 0 is
the control (scores unrelated to causality: priors must not hurt).

Usage: PYTHONPATH=lib python bench/dnalm_priors.py [--reps 40]  (prints a JSON record; docs/benchmarks.md)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared/realdata"
if not REAL.exists():
    REAL = Path("/work/shared/realdata")
FASTA = REAL / "reference_genome/GRCh37_chr20.fa.gz"
EXAMPLES = ROOT / "examples"
METHODS = {"susie": {"L": 10}, "finemap": {"max_causal": 5}, "susie_inf": {"L": 10}}


def end_to_end(out: Path) -> dict:
    """Part 1: the pipeline with DNA-LM priors, then the same blocks without; PIP and CS changes."""
    from locusflow.config import load_config
    from locusflow.io.dataset import read_dataset
    from locusflow.pipeline import run_pipeline
    base = {"out": str(out), "genome_build": "GRCh37", "engine": "local",
            "ingest": {"plink": str(EXAMPLES / "1000G_EUR_chr20_22")},
            "munge": {"sumstats": str(EXAMPLES / "bolt_chr20_22.sumstats.gz"), "n": 337000},
            "ld": {"blocks": "EUR", "maf": 0.01}, "score_variants": {"fasta": str(FASTA)}}
    rec = {}
    for method, opts in METHODS.items():
        runs = {}
        for run_id, priors in ((f"{method}_uniform", None), (f"{method}_dnalm", {"scores": True}),
                               (f"{method}_dnalm_beta1", {"scores": True, "beta": 1.0})):
            fm = {"method": method, "run_id": run_id, "ld": True, "n": 337000, "p_threshold": 5e-8,
                  "diagnostics": {"check": False}, method: opts, **({"priors": priors} if priors else {})}
            cfg = load_config(None, {**base, "stages": ["ingest", "munge", "ld", "score_variants", "finemap"],
                                     "finemap": fm})
            t0 = time.process_time()
            summ = run_pipeline(cfg)
            snp = read_dataset(out / "finemap/snp", "finemap_snp", filters=[("run_id", "==", run_id)])
            cs = read_dataset(out / "finemap/cs", "finemap_cs", filters=[("run_id", "==", run_id)])
            runs[run_id] = (snp, cs, summ["finemap"], time.process_time() - t0)
            if "score_variants" not in rec and isinstance(summ.get("score_variants"), dict):
                rec["score_variants"] = summ["score_variants"]
        rec[method] = {"estimated": _compare(runs[f"{method}_uniform"], runs[f"{method}_dnalm"]),
                       "beta_1": _compare(runs[f"{method}_uniform"], runs[f"{method}_dnalm_beta1"])}
    return rec


def _compare(uniform, priors) -> dict:
    """How PIPs and credible sets changed from the uniform run to the run with priors."""
    (su, cu, _, _), (sp, cp, fs, cpu) = uniform, priors
    m = su.merge(sp, on=["block_id", "variant_id"], suffixes=("_u", "_p"))
    d = m["pip_p"] - m["pip_u"]
    top = m.loc[d.abs().sort_values(ascending=False).index[:5],
                ["variant_id", "pip_u", "pip_p", "prior_weight_p", "prior_weight_u"]]
    return {"prior": {k: fs.get(k) for k in ("prior_beta", "prior_estimated", "prior_w", "prior_loglik",
                                                 "prior_loglik_uniform", "prior_n_scored")},
            "cpu_seconds": round(cpu, 1), "blocks_ok": fs.get("blocks_ok"), "variants": int(len(m)),
            "prior_weight_ratio_max_over_min": float((m["prior_weight_p"] / m["prior_weight_u"]).max()
                                                     / (m["prior_weight_p"] / m["prior_weight_u"]).min()),
            "sum_abs_dpip": round(float(d.abs().sum()), 3), "max_abs_dpip": round(float(d.abs().max()), 3),
            "n_pip_gt_0.5": [int((m["pip_u"] > 0.5).sum()), int((m["pip_p"] > 0.5).sum())],
            "n_cs": [len(cu), len(cp)],
            "cs_size_median": [float(cu["n_variants"].median()) if len(cu) else None,
                               float(cp["n_variants"].median()) if len(cp) else None],
            "cs_size_total": [int(cu["n_variants"].sum()), int(cp["n_variants"].sum())],
            "top_changes": top.round(4).to_dict("records")}


def _metrics(pips: np.ndarray, truth: np.ndarray, cs_sizes, cs_cover) -> dict:
    order = np.argsort(-pips)
    fdr = np.cumsum(~truth[order]) / np.arange(1, len(pips) + 1)
    ok = np.flatnonzero(fdr <= 0.10)
    recall_fdr = float(truth[order][: ok.max() + 1].sum() / truth.sum()) if len(ok) else 0.0
    bins = [0.1, 0.5, 0.9, 1.01]
    calib = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        k = (pips >= lo) & (pips < hi)
        if k.any():
            calib.append({"bin": f"[{lo},{min(hi, 1)})", "n": int(k.sum()), "mean_pip": round(float(pips[k].mean()), 3),
                          "causal_fraction": round(float(truth[k].mean()), 3)})
    return {"mean_pip_causal": round(float(pips[truth].mean()), 4),
            "recall_pip_0.5": round(float((pips[truth] > 0.5).mean()), 4),
            "recall_pip_0.9": round(float((pips[truth] > 0.9).mean()), 4),
            "recall_at_fdr_0.1": round(recall_fdr, 4), "calibration": calib,
            "cs_coverage": round(float(np.mean(cs_cover)), 4) if cs_cover else None,
            "cs_median_size": float(np.median(cs_sizes)) if cs_sizes else None, "n_cs": len(cs_sizes)}


def chr20_panel():
    """chr20 SNPs (MAF > 1%) of the example panel, their dosages, REF/ALT oriented to the GRCh37 FASTA, the sequence."""
    from locusflow.io.fasta import Genome
    from locusflow.io.plink import BedReader, read_bim, read_fam
    prefix = str(EXAMPLES / "1000G_EUR_chr20_22")
    bim, fam = read_bim(prefix), read_fam(prefix)
    sel = np.flatnonzero((bim["chrom"].astype(str) == "20").to_numpy())
    dos = BedReader(prefix, n_samples=len(fam), n_variants=len(bim)).read(sel[0], sel[-1] + 1).astype(np.float32)
    af = np.nanmean(dos, 1) / 2
    keep = (af > 0.01) & (af < 0.99)
    b = bim.iloc[sel][keep].reset_index(drop=True)
    dos = dos[keep]
    seq = Genome(FASTA).sequence("20")
    base = seq[b["pos"].to_numpy() - 1].view("S1").astype(str)
    a1, a2 = b["a1"].astype(str).to_numpy(), b["a2"].astype(str).to_numpy()
    ref, alt = np.where(a2 == base, a2, a1), np.where(a2 == base, a1, a2)
    return b, dos, seq, ref, alt


def simulate(beta_true: float, reps: int, seed: int = 0) -> dict:
    """Part 2: SuSiE with uniform vs estimated score priors on real LD and real DNA-LM scores."""
    from locusflow.dnalm.task import score_variants_frame
    from locusflow.finemap.functional import estimate_link, functional_priors
    from locusflow.finemap.susie import susie_rss
    from locusflow.ld.matrix import ld_matrix
    b, dos, _, ref, alt = chr20_panel()
    sc = score_variants_frame(pd.DataFrame({"chrom": "20", "pos": b["pos"], "ref": ref, "alt": alt}), fasta=FASTA)
    a = np.nan_to_num(np.maximum(0, -sc["llr"].to_numpy()))
    s_all = (a - a.mean()) / a.std()
    rng = np.random.default_rng(seed)
    windows = [np.arange(s0, s0 + 300) for s0 in range(0, len(b) - 300, 300)]
    Rs = [ld_matrix(dos[w]).astype(np.float64) for w in windows]
    chol = [np.linalg.cholesky(R + 1e-4 * np.eye(len(R))) for R in Rs]
    data = []
    for r in range(reps):
        k = r % len(windows)
        s = s_all[windows[k]]
        c = rng.choice(len(s), size=2, replace=False, p=functional_priors(s, beta_true))
        eff = np.zeros(len(s))
        eff[c] = rng.choice([-1, 1], 2) * rng.uniform(4, 7, 2)
        z = Rs[k] @ eff + chol[k] @ rng.normal(size=len(s))
        data.append((k, z, s, c))
    est = estimate_link([(z, s) for _, z, s, _ in data])
    out = {"beta_true": beta_true, "reps": reps, "estimate": {k: round(v, 3) if isinstance(v, float) else v
                                                              for k, v in est.items()}}
    for name, beta in (("uniform", 0.0), ("priors", est["beta"])):
        pips, truth, sizes, cover = [], [], [], []
        c0 = time.process_time()
        for k, z, s, c in data:
            fit = susie_rss(z, Rs[k], n=None, L=5, prior_weights=functional_priors(s, beta) if beta else None)
            pips.append(fit.pip)
            truth.append(np.isin(np.arange(len(s)), c))
            for cs in fit.sets.cs if fit.sets is not None and fit.sets.cs else []:
                sizes.append(len(cs))
                cover.append(bool(np.isin(cs, c).any()))
        out[name] = _metrics(np.concatenate(pips), np.concatenate(truth), sizes, cover)
        out[name]["cpu_seconds"] = round(time.process_time() - c0, 1)
    return out


def main(reps: int) -> dict:
    rec = {"load_average": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory() as tmp:
        rec["end_to_end"] = end_to_end(Path(tmp) / "out")
    rec["simulation"] = [simulate(1.0, reps, seed=1), simulate(0.0, reps, seed=2)]
    return rec


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "lib"))
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=120)
    args = p.parse_args()
    if not FASTA.exists():
        print(f"bench/dnalm_priors: {FASTA} not present: not measured")
        sys.exit(0)
    print(json.dumps(main(args.reps), indent=1, default=str))
