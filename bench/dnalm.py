"""DNA LM benchmark: CPU throughput of the shipped model and the rare-vs-common LLR shift on real 1000G chr20.

Rare-vs-common (GPN's enrichment check, not tuned on): the 1000G EUR chr20 SNPs of polyfun's polypred
example (489 samples, chr20:20-21 Mb), MAF from the PLINK .bed; LLR of the alt (PLINK A1 or A2,
whichever the genome does not carry) by the shipped model and by the k-mer baselines, fitted on all of
chr20 except 20-21 Mb (the shipped model was trained on all of chr20 but 50-52 Mb). One-sided
Mann-Whitney U: rare (MAF < 1%) LLRs lower than common (MAF > 5%).

Stratified (fixed before looking at the outcome): mutability confounds the check, since CpG transitions
are ~10x more mutable and so over-represented among common variants, and a small model's LLR mostly
tracks that context. The same test within (a) mutation classes: CpG transitions (C>T at CpG, G>A at
CpG), other transitions, transversions; and (b) quintiles of the order-5 Markov LLR (what a k-mer
model already explains). Each stratum gets its U and one-sided p; the strata are combined by Stouffer's
z of the per-stratum normal approximations weighted by sqrt(n_rare n_common) (a van Elteren-type test).

Usage: PYTHONPATH=lib python bench/dnalm.py  (prints a JSON record; docs/benchmarks.md quotes it)
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, norm

REAL = Path(__file__).resolve().parents[2] / "shared/realdata"
if not REAL.exists():
    REAL = Path("/work/shared/realdata")
FASTA = REAL / "reference_genome/GRCh37_chr20.fa.gz"
PREFIX = REAL / "polyfun_1kg_eur/polypred_example/1000G.subset.20"


def bed_a1_freq(prefix, n_samples: int, n_snps: int) -> np.ndarray:
    """A1 allele frequency per SNP from a SNP-major PLINK .bed (vectorised 2-bit decode)."""
    raw = np.fromfile(f"{prefix}.bed", dtype=np.uint8)[3:]
    nb = (n_samples + 3) // 4
    codes = np.unpackbits(raw.reshape(n_snps, nb)[:, :, None], axis=2, bitorder="little").reshape(n_snps, nb, 4, 2)
    g = (codes[..., 0] + 2 * codes[..., 1]).reshape(n_snps, nb * 4)[:, :n_samples]   # 0 hom A1, 1 miss, 2 het, 3 hom A2
    a1 = np.where(g == 0, 2, np.where(g == 2, 1, 0))
    called = g != 1
    return (a1 * called).sum(1) / (2 * called.sum(1))


def mutation_class(seq: np.ndarray, pos: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """cpg_transition | transition | transversion of each SNV (genome orientation; 1-based pos)."""
    prev = seq[pos - 2].view("S1").astype(str)
    nxt = seq[pos].view("S1").astype(str)
    ts = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}
    is_ts = np.array([(r, a) in ts for r, a in zip(ref, alt)])
    cpg = ((np.char.upper(ref) == "C") & (np.char.upper(nxt) == "G")) | ((np.char.upper(ref) == "G") &
                                                                          (np.char.upper(prev) == "C"))
    return np.where(is_ts & cpg, "cpg_transition", np.where(is_ts, "transition", "transversion"))


def rare_vs_common(v: np.ndarray, rare: np.ndarray, common: np.ndarray) -> dict:
    """One-sided Mann-Whitney U (rare lower) with its normal-approximation z."""
    a, b = v[rare], v[common]
    if len(a) < 3 or len(b) < 3:
        return {"n_rare": int(len(a)), "n_common": int(len(b))}
    u = mannwhitneyu(a, b, alternative="less")
    mu, sd = len(a) * len(b) / 2, np.sqrt(len(a) * len(b) * (len(a) + len(b) + 1) / 12)
    return {"n_rare": int(len(a)), "n_common": int(len(b)), "median_rare": round(float(np.median(a)), 4),
            "median_common": round(float(np.median(b)), 4), "U": float(u.statistic),
            "z_rare_lower": round(float((mu - u.statistic) / sd), 3), "p_one_sided": float(u.pvalue)}


def stratified(v, rare, common, strata) -> dict:
    """Per-stratum rare-vs-common tests and their Stouffer combination (weights sqrt(n_rare n_common))."""
    out, zs, ws = {}, [], []
    for s in sorted(pd.unique(strata)):
        k = strata == s
        r = rare_vs_common(v, rare & k, common & k)
        out[str(s)] = r
        if "z_rare_lower" in r:
            zs.append(r["z_rare_lower"])
            ws.append(np.sqrt(r["n_rare"] * r["n_common"]))
    z = float(np.dot(ws, zs) / np.sqrt(np.dot(ws, ws)))
    out["combined"] = {"z_rare_lower": round(z, 3), "p_one_sided": float(norm.sf(z))}
    return out


def main() -> dict:
    from locusflow.dnalm.kmer import KmerModel
    from locusflow.dnalm.pretrain import BASELINES, read_tokens
    from locusflow.dnalm.task import score_variants_frame
    from locusflow.dnalm.windows import LUT, windows
    from locusflow.io.fasta import Genome
    bim = pd.read_csv(f"{PREFIX}.bim", sep=r"\s+", header=None, names=["chrom", "id", "cm", "pos", "a1", "a2"])
    n = sum(1 for _ in open(f"{PREFIX}.fam"))
    f1 = bed_a1_freq(PREFIX, n, len(bim))
    maf = np.minimum(f1, 1 - f1)
    # alt = the allele the genome does not carry (score_variants reports the rest as ref_mismatch)
    g = Genome(FASTA)
    seq = g.sequence("20")
    base = seq[bim.pos.to_numpy() - 1].view("S1").astype(str)
    ref = np.where(bim.a2 == base, bim.a2, bim.a1)
    alt = np.where(bim.a2 == base, bim.a1, bim.a2)
    df = pd.DataFrame({"chrom": "20", "pos": bim.pos, "ref": ref, "alt": alt})
    score_variants_frame(df.head(64), fasta=FASTA)                       # load the model once
    t0, c0 = time.perf_counter(), time.process_time()
    sc = score_variants_frame(df, fasta=FASTA, batch_size=256)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ok = (sc.status == "ok").to_numpy()
    rec = {"variants": len(df), "scored": int(ok.sum()), "ref_mismatch": int((sc.status == "ref_mismatch").sum()),
           "cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2), "variants_per_cpu_s": round(len(df) / cpu, 1),
           "load_average": round(__import__("os").getloadavg()[0], 1), "gpu": "not measured"}
    tok, _ = read_tokens(FASTA, "20")
    tok = tok.copy()
    tok[19_999_000:21_001_000] = 4                                        # baselines never see the variants' window
    w = windows(g, "20", df.pos[ok], 128)
    r_t, a_t = LUT[df.ref[ok].str.encode("ascii").str[0].astype(np.uint8)], LUT[df.alt[ok].str.encode("ascii").str[0].astype(np.uint8)]
    llrs = {"model": sc.llr[ok].to_numpy()}
    for name, offs in BASELINES.items():
        lp = KmerModel(offs).fit(tok).logp_both_strands(w, 64)
        llrs[name] = lp[np.arange(len(w)), a_t] - lp[np.arange(len(w)), r_t]
    rare, common = maf[ok] < 0.01, maf[ok] > 0.05
    rec["n_rare"], rec["n_common"] = int(rare.sum()), int(common.sum())
    for name, v in llrs.items():
        u = mannwhitneyu(v[rare], v[common], alternative="less")
        rec[f"{name}_rare_vs_common"] = {"median_rare": round(float(np.median(v[rare])), 4),
                                         "median_common": round(float(np.median(v[common])), 4),
                                         "mean_diff": round(float(v[rare].mean() - v[common].mean()), 4),
                                         "U": float(u.statistic), "p_one_sided": float(u.pvalue)}
    cls = mutation_class(seq, df.pos[ok].to_numpy(), df.ref[ok].to_numpy().astype(str), df.alt[ok].to_numpy().astype(str))
    rec["class_counts"] = {c: {"rare": int((rare & (cls == c)).sum()), "common": int((common & (cls == c)).sum())}
                           for c in ("cpg_transition", "transition", "transversion")}
    quint = pd.qcut(llrs["markov5"], 5, labels=[f"markov5_q{i}" for i in range(1, 6)]).astype(str)
    for name, v in llrs.items():
        rec[f"{name}_by_class"] = stratified(v, rare, common, cls)
        rec[f"{name}_by_markov5_quintile"] = stratified(v, rare, common, quint)
    return rec


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        print("bench/dnalm: torch/transformers not installed (pip install -e '.[gpu]'): not measured")
        sys.exit(0)
    if not FASTA.exists():
        print(f"bench/dnalm: {FASTA} not present: not measured")
        sys.exit(0)
    print(json.dumps(main(), indent=1))
