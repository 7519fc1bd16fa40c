"""FOCUS benchmark: locusflow vs pyfocus 0.802 (``focus finemap``) on the same semi-synthetic genome, in one run.

    PYTHONPATH=lib python bench/focus.py [--work DIR] [--blocks 1700] [--peer-every 10]

1. Genome-wide: ``--blocks`` FOCUS blocks (bench/focus_data.py: real 1000G EUR genotypes, real block and
   GENCODE positions, simulated weights and trait). locusflow runs all of them (local engine, one core);
   pyfocus runs every ``--peer-every``-th block (its time is extrapolated to all blocks, said so in the
   output) unless ``--peer-every 1``. PIPs of the shared blocks are compared.
2. Calibration: over the fine-mapped blocks, how often the simulated causal gene is in the 90% credible set.
3. A 700-gene-model block (70 genes x 10 tissues on one real window): locusflow's wall time.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "tests"), str(ROOT / "bench")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def peer_python():
    from conftest import peer_venv
    import focus_helpers as fh
    return peer_venv("pyfocus", fh.PYFOCUS_REQ)


def run_ours(work: Path, blocks_bed: Path, out: Path):
    from locusflow.finemap.focus_stage import run_focus
    cfg = {"out": str(out), "focus": {"out": str(out), "blocks": str(blocks_bed), "populations": [
        {"name": "pop1", "store": str(work / "panel.vcz"), "sumstats": str(work / "sumstats"),
         "weights": str(work / "weights.db")}]}}
    t = time.perf_counter()
    summary = run_focus(cfg, {"engine": "local", "progress": False})
    return time.perf_counter() - t, summary


def split_by_chrom(work: Path, chroms) -> None:
    """Per-chromosome PLINK panel and GWAS for pyfocus, as FOCUS's documentation runs it (``--chr``): its
    PLINK reader (pandas_plink) hashes the whole memory-mapped .bed once per chunk, which does not finish
    on an 800k-SNP genome-wide file."""
    bim = pd.read_csv(work / "panel.bim", sep="\t", header=None, dtype={0: str})
    n = len(pd.read_csv(work / "panel.fam", sep=" ", header=None))
    row = (n + 3) // 4
    bed = np.memmap(work / "panel.bed", np.uint8, "r", offset=3).reshape(len(bim), row)
    gwas = None
    for c in chroms:  # loop over chromosomes
        if (work / f"gwas.chr{c}.tsv.gz").exists():
            continue
        gwas = pd.read_csv(work / "gwas.tsv.gz", sep="\t", dtype={"CHR": str}) if gwas is None else gwas
        idx = np.flatnonzero(bim[0].to_numpy() == c)
        bim.iloc[idx].to_csv(work / f"panel.chr{c}.bim", sep="\t", header=False, index=False)
        (work / f"panel.chr{c}.bed").write_bytes(bytes([0x6C, 0x1B, 0x01]) + bed[idx].tobytes())
        (work / f"panel.chr{c}.fam").write_bytes((work / "panel.fam").read_bytes())
        gwas[gwas["CHR"] == c].to_csv(work / f"gwas.chr{c}.tsv.gz", sep="\t", index=False, float_format="%.17g")


def _stamp(line: str) -> float:
    return pd.Timestamp(line[1:20]).timestamp()


def run_peer(py, work: Path, sub: pd.DataFrame, every: int):
    """pyfocus on ``sub`` one chromosome at a time. Returns (measured s, extrapolated s for ``every`` times
    as many blocks: per-chromosome start-up counted once, block work times ``every``), results."""
    import focus_helpers as fh
    split_by_chrom(work, list(dict.fromkeys(sub["chrom"])))
    total, extrap, outs = 0.0, 0.0, []
    for c, blocks in sub.groupby("chrom", sort=False):  # loop over chromosomes
        blocks.to_csv(work / f"blocks_peer.chr{c}.bed", sep=" ", index=False)
        t = time.perf_counter()
        fh.run_pyfocus(py, ["finemap", work / f"gwas.chr{c}.tsv.gz", work / f"panel.chr{c}", work / "weights.db",
                            "--locations", work / f"blocks_peer.chr{c}.bed", "--chr", c, "-o", work / f"peer.chr{c}",
                            "-q"], pd.DataFrame(columns=["gene", "name", "chrom", "start", "end"]), work)
        dt = time.perf_counter() - t
        log = (work / f"peer.chr{c}.log").read_text().splitlines()
        stamps = [ln for ln in log if ln.startswith("[20")]
        first = next(ln for ln in stamps if "Preparing data at region" in ln)
        blocks_s = _stamp(stamps[-1]) - _stamp(first)
        total += dt
        extrap += (dt - blocks_s) + every * blocks_s
        tsv = work / f"peer.chr{c}.focus.tsv"
        if tsv.exists() and tsv.stat().st_size:
            outs.append(pd.read_csv(tsv, sep="\t", dtype={"chrom": str}))
        if any("ERROR" in ln for ln in stamps):
            print(f"pyfocus chr{c}: " + next(ln for ln in stamps if "ERROR" in ln))
    return total, extrap, pd.concat(outs, ignore_index=True)


def calibration(res: pd.DataFrame, truth: pd.DataFrame, level=0.9) -> dict:
    r = res[res["model_id"] != "NULL.MODEL"]
    fm = truth[truth["block"].isin(set(res["block"]))]
    hit = fm.merge(r[["block", "ens_gene_id", "in_cred_set", "pip"]], left_on=["block", "gene"],
                   right_on=["block", "ens_gene_id"], how="left")
    cov = float((hit["in_cred_set"] == 1).mean())
    size = res.groupby("block")["in_cred_set"].sum().mean()
    return {"replicates": len(fm), "coverage": cov, "nominal": level, "mean_set_size_incl_null": float(size),
            "mean_pip_true_gene": float(hit["pip"].fillna(0).mean())}


def big_block(work: Path, n_genes=70, n_tissues=10, seed=7):
    """One window (1000G chr22:20-21 Mb, all SNPs) with 700 gene models; locusflow end-to-end time."""
    from locusflow.finemap.focus import focus_block
    from locusflow.io.plink import BedReader
    from focus_data import WIN
    rng = np.random.default_rng(seed)
    prefix = WIN / "1000G.subset.22"
    bim = pd.read_csv(f"{prefix}.bim", sep=r"\s+", header=None, names=["chrom", "snp", "cm", "pos", "a1", "a2"],
                      dtype={"chrom": str})
    g = BedReader(prefix).read(0, len(bim)).astype(np.float32)
    g[g < 0] = np.nan
    panel = pd.DataFrame({"chrom": "22", "pos": bim["pos"], "ref": bim["a2"], "alt": bim["a1"], "rsid": bim["snp"],
                          "store_index": np.arange(len(bim))})
    x = np.nan_to_num(g - np.nanmean(g, 1, keepdims=True))
    z = x @ rng.normal(size=x.shape[1]) / np.sqrt(x.shape[1]) / (x.std(1) + 1e-9) / 3
    z[1500] += 8
    gwas = panel[["chrom", "pos", "ref", "alt", "rsid"]].assign(z=z)
    rows, models = [], []
    for j in range(n_genes * n_tissues):  # loop over gene models
        gene, tissue = j % n_genes, j // n_genes
        centre = int(len(bim) * (gene + 0.5) / n_genes)
        pick = np.unique(np.clip(centre + rng.integers(-150, 150, 10), 0, len(bim) - 1))
        mid = f"G{gene}@t{tissue}@enet@sim"
        rows.append(pd.DataFrame({"model_id": mid, "pos": bim["pos"].to_numpy()[pick], "effect_allele": bim["a1"].to_numpy()[pick],
                                  "other_allele": bim["a2"].to_numpy()[pick], "weight": rng.normal(size=len(pick))}))
        models.append({"model_id": mid, "gene": f"G{gene}", "gene_name": f"G{gene}", "tissue": f"t{tissue}",
                       "method": "enet", "ref_name": "sim", "gene_type": "protein_coding", "ens_tx_id": None,
                       "tx_start": int(bim["pos"].iloc[centre]), "tx_stop": int(bim["pos"].iloc[centre]) + 1000,
                       "cv_r2": 0.1, "cv_pval": 1e-3})
    pop = {"gwas": gwas, "panel": panel, "weights": pd.concat(rows, ignore_index=True),
           "models": pd.DataFrame(models), "geno": lambda idx: g[idx], "name": "pop1"}
    t = time.perf_counter()
    res = focus_block({"chrom": "22", "start": 20_000_000, "stop": 21_000_000}, [pop], prior_prob=1 / 700,
                      p_threshold=1.0)
    return time.perf_counter() - t, res


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/locusflow_focus_bench")
    ap.add_argument("--blocks", type=int, default=1700)
    ap.add_argument("--peer-every", type=int, default=10)
    a = ap.parse_args(argv)
    work = Path(a.work)
    py = peer_python()
    from focus_data import build
    t = time.perf_counter()
    info = build(work, n_blocks=a.blocks, pyfocus_py=py)
    print(f"inputs: {info} (built in {time.perf_counter() - t:.0f} s)")
    blocks = pd.read_csv(work / "blocks.bed", sep=r"\s+", dtype={"chrom": str})
    # pyfocus aborts its whole run at the first block no GENCODE v38 gene overlaps (we go on, with prior
    # 1e-3): its subset skips those blocks so that it runs to the end
    from locusflow.finemap.focus_io import gencode_map
    gm = gencode_map("gencode38")
    has_gene = [((gm["chrom"] == b.chrom) & (gm["start"] < b.stop) & (gm["stop"] > b.start)).any()
                for b in blocks.itertuples()]
    sub = blocks[has_gene].iloc[:: a.peer_every]
    print(f"{len(blocks) - sum(has_gene)} blocks overlap no GENCODE v38 gene (left out of pyfocus's subset)")
    sub.to_csv(work / "blocks_peer.bed", sep=" ", index=False)
    t_ours, summary = run_ours(work, work / "blocks.bed", work / "ours_all")
    print(f"locusflow: {len(blocks)} blocks ({summary['blocks_fine_mapped']} fine-mapped) in {t_ours:.1f} s")
    t_ours_sub, _ = run_ours(work, work / "blocks_peer.bed", work / "ours_sub")
    print(f"locusflow on pyfocus's {len(sub)} blocks: {t_ours_sub:.1f} s")
    t_peer, est, peer = run_peer(py, work, sub, a.peer_every)
    from locusflow.io.dataset import read_dataset
    ours = read_dataset(work / "ours_all" / "results", "focus_results")
    m = ours.merge(peer, on=["block", "ens_gene_id"])
    d_pip = float(np.abs(m["pip"] - m["pips_pop1"]).max())
    d_z = float(np.abs(m["twas_z"] - m["twas_z_pop1"]).max())
    print(f"pyfocus: {len(sub)} blocks ({peer['block'].nunique()} fine-mapped) in {t_peer:.1f} s; "
          f"locusflow on the same blocks: {t_ours_sub:.1f} s; ratio {t_peer / t_ours_sub:.1f}x")
    note = "" if a.peer_every == 1 else (f" (pyfocus EXTRAPOLATED from {len(sub)} of {len(blocks)} blocks: "
                                         f"per-chromosome start-up once, block time x{a.peer_every})")
    print(f"genome-wide: locusflow {t_ours:.1f} s, pyfocus {est:.1f} s{note}; ratio {est / t_ours:.1f}x")
    print(f"agreement on {len(m)} shared rows: max |dPIP| {d_pip:.2e}, max |dz| {d_z:.2e}")
    cal = calibration(ours, pd.read_csv(work / "truth.tsv", sep="\t"))
    print(f"calibration: {cal}")
    t_big, res = big_block(work)
    print(f"700-gene-model block: {t_big:.1f} s ({res['search'].iloc[0]}, "
          f"{(res['model_id'] != 'NULL.MODEL').sum()} models)")


if __name__ == "__main__":
    main()
