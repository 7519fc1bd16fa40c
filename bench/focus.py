"""FOCUS benchmark: locusflow vs pyfocus 0.802 (``focus finemap``) on the same semi-synthetic genome, in one run.

    PYTHONPATH=lib python bench/focus.py [--work DIR] [--blocks 1700] [--genes-per-block 5] [--peer-every 1]

1. Genome-wide: ``--blocks`` FOCUS blocks (bench/focus_data.py: real 1000G EUR genotypes, real block and
   GENCODE positions, simulated weights and trait; at most ``--genes-per-block`` gene models per block).
   locusflow runs all of them in process (``lf.focus``, local engine, one core, one BLAS thread); pyfocus
   runs the same blocks (its equivalent inclusive rows, tests/peers/pyfocus.py) per chromosome, every
   ``--peer-every``-th block (1 = all; otherwise its time is extrapolated, and said so). CPU seconds
   (process + children user + system) and wall seconds; PIPs and TWAS z of the shared blocks compared.
2. Calibration: over the fine-mapped blocks, how often the simulated causal gene is in the 90% credible set.
3. A 700-gene-model block (70 genes x 10 tissues on one real window): exhaustive vs stochastic search
   and the cost model's choice.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "tests"), str(ROOT / "bench")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def cpu(children=False) -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peer_python():
    from conftest import peer_venv
    from peers import pyfocus as fh
    return peer_venv("pyfocus", fh.PYFOCUS_REQ)


def run_ours(work: Path, blocks: pd.DataFrame):
    """lf.focus on ``blocks`` in this process: (wall s, CPU s, results)."""
    from locusflow.focus import focus
    t, c = time.perf_counter(), cpu()
    res = focus(work / "sumstats", work / "panel.vcz", work / "weights.db", blocks=blocks)
    return time.perf_counter() - t, cpu() - c, res


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
    """pyfocus on ``sub`` (ld_blocks intervals) one chromosome at a time. Returns (measured wall s, CPU s,
    wall s extrapolated to ``every`` times as many blocks: per-chromosome start-up counted once, block work
    times ``every``), results with block_id."""
    from peers import pyfocus as fh
    split_by_chrom(work, list(dict.fromkeys(sub["chrom"])))
    total, extrap, outs = 0.0, 0.0, []
    c0 = cpu(children=True)
    for c, blocks in sub.groupby("chrom", sort=False):  # loop over chromosomes
        fh.write_peer_blocks(blocks, work / f"blocks_peer.chr{c}.bed")
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
    return total, cpu(children=True) - c0, extrap, fh.with_block_id(pd.concat(outs, ignore_index=True))


def calibration(res: pd.DataFrame, truth: pd.DataFrame, level=0.9) -> dict:
    r = res[res["model_id"] != "NULL.MODEL"]
    fm = truth[truth["block_id"].isin(set(res["block_id"]))]
    hit = fm.merge(r[["block_id", "ens_gene_id", "in_cred_set", "pip"]], left_on=["block_id", "gene"],
                   right_on=["block_id", "ens_gene_id"], how="left")
    cov = float((hit["in_cred_set"] == 1).mean())
    size = res.groupby("block_id")["in_cred_set"].sum().mean()
    return {"replicates": len(fm), "coverage": cov, "nominal": level, "mean_set_size_incl_null": float(size),
            "mean_pip_true_gene": float(hit["pip"].fillna(0).mean())}


SSS_ITER = 1000


def big_block(n_genes=70, n_tissues=10, seed=7):
    """One window (1000G chr22:20-21 Mb, all SNPs) with 700 gene models: kernel time by search."""
    from locusflow.focus.align import PopulationSpan
    from locusflow.focus.model import focus_block
    from locusflow.focus.search import search_costs
    from locusflow.io.plink import BedReader
    from focus_data import WIN
    rng = np.random.default_rng(seed)
    prefix = WIN / "1000G.subset.22"
    bim = pd.read_csv(f"{prefix}.bim", sep=r"\s+", header=None, names=["chrom", "snp", "cm", "pos", "a1", "a2"],
                      dtype={"chrom": str})
    g = BedReader(prefix).read(0, len(bim)).astype(np.float32)
    g[g < 0] = np.nan
    panel = pd.DataFrame({"chrom": "22", "pos": bim["pos"], "ref": bim["a2"], "alt": bim["a1"],
                          "store_index": np.arange(len(bim))})
    x = np.nan_to_num(g - np.nanmean(g, 1, keepdims=True))
    z = x @ rng.normal(size=x.shape[1]) / np.sqrt(x.shape[1]) / (x.std(1) + 1e-9) / 3
    z[1500] += 8
    gwas = panel[["chrom", "pos", "ref", "alt"]].assign(z=z)
    rows, models = [], []
    for j in range(n_genes * n_tissues):  # loop over gene models
        gene, tissue = j % n_genes, j // n_genes
        centre = int(len(bim) * (gene + 0.5) / n_genes)
        pick = np.unique(np.clip(centre + rng.integers(-150, 150, 10), 0, len(bim) - 1))
        mid = f"G{gene}@t{tissue}@enet@sim"
        rows.append(pd.DataFrame({"model_id": mid, "pos": bim["pos"].to_numpy()[pick],
                                  "effect_allele": bim["a1"].to_numpy()[pick],
                                  "other_allele": bim["a2"].to_numpy()[pick], "weight": rng.normal(size=len(pick))}))
        models.append({"model_id": mid, "gene": f"G{gene}", "gene_name": f"G{gene}", "tissue": f"t{tissue}",
                       "method": "enet", "ref_name": "sim", "gene_type": "protein_coding", "ens_tx_id": None,
                       "tx_start": int(bim["pos"].iloc[centre]), "tx_stop": int(bim["pos"].iloc[centre]) + 1000,
                       "cv_r2": 0.1, "cv_pval": 1e-3})
    w = pd.concat(rows, ignore_index=True).sort_values("pos", kind="stable")
    sp = PopulationSpan(gwas, panel, w, pd.DataFrame(models), lambda idx: g[idx])
    d = sp.block(0, 10**9, 0.1)
    out = {}
    for search, iters in (("exhaustive", 20000), ("sss", SSS_ITER)):  # the search: SSS_ITER of its 20000 iterations
        t = time.process_time()
        fit = focus_block([d["z"]], [d["W"]], [d["V"]], prior_prob=1 / 700, search=search, sss_iter=iters)
        out[search] = (time.process_time() - t, fit)
    m = d["W"].shape[1]
    t_ex, t_sss, n_sets = search_costs(m, 3)
    choice = "exhaustive" if t_ex <= t_sss else "sss"
    return m, n_sets, out, (t_ex, t_sss, choice)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=None, help="inputs folder [/tmp/locusflow_focus_bench_g<genes>]")
    ap.add_argument("--blocks", type=int, default=1700)
    ap.add_argument("--genes-per-block", type=int, default=5)
    ap.add_argument("--peer-every", type=int, default=1)
    ap.add_argument("--no-peer", action="store_true", help="locusflow only (profiling)")
    ap.add_argument("--no-big", action="store_true", help="skip the 700-model block")
    a = ap.parse_args(argv)
    work = Path(a.work or f"/tmp/locusflow_focus_bench_g{a.genes_per_block}")
    py = peer_python()
    from focus_data import build
    t = time.perf_counter()
    info = build(work, n_blocks=a.blocks, pyfocus_py=py, genes_per_block=a.genes_per_block)
    print(f"inputs: {info} (built in {time.perf_counter() - t:.0f} s)")
    from locusflow.focus.inputs import gencode_map
    from locusflow.ld.blocks import resolve_blocks
    blocks = resolve_blocks(work / "blocks.bed")
    # pyfocus aborts its whole run at the first block no GENCODE v38 gene overlaps (we go on, with prior
    # 1e-3): its subset leaves those blocks out so that it runs to the end; ours runs the same subset
    gm = gencode_map("gencode38")
    has_gene = np.array([((gm["chrom"] == b.chrom) & (np.minimum(gm["stop"], b.stop - 1)
                                                      - np.maximum(gm["start"], b.start) > 0)).any()
                         for b in blocks.itertuples()])  # loop over blocks (set-up, not timed)
    sub = blocks[has_gene].iloc[:: a.peer_every].reset_index(drop=True)
    print(f"{len(blocks) - has_gene.sum()} blocks overlap no GENCODE v38 gene (left out of the compared set)")
    w_sub, c_sub, ours_sub = run_ours(work, sub)     # first: cold, nothing cached in this process
    print(f"locusflow, the compared {len(sub)} blocks (cold): {w_sub:.2f} s wall, {c_sub:.2f} s CPU")
    w_all, c_all, ours = run_ours(work, blocks)
    print(f"locusflow, all {len(blocks)} blocks ({ours['block_id'].nunique()} fine-mapped; per-chromosome "
          f"inputs cached by the run before): {w_all:.2f} s wall, {c_all:.2f} s CPU")
    if not a.no_peer:
        t_peer, c_peer, est, peer = run_peer(py, work, sub, a.peer_every)
        m = ours_sub.merge(peer, on=["block_id", "ens_gene_id"])
        d_pip = float(np.abs(m["pip"] - m["pips_pop1"]).max())
        d_z = float(np.abs(m["twas_z"] - m["twas_z_pop1"]).max())
        same = ours_sub["block_id"].nunique() == peer["block_id"].nunique() and len(m) == len(peer)
        print(f"pyfocus, the same {len(sub)} blocks ({peer['block_id'].nunique()} fine-mapped): {t_peer:.1f} s wall, "
              f"{c_peer:.1f} s CPU")
        print(f"RATIO pyfocus / locusflow: {t_peer / w_sub:.1f}x wall, {c_peer / c_sub:.1f}x CPU")
        if a.peer_every != 1:
            print(f"(pyfocus EXTRAPOLATED to all blocks: {est:.1f} s wall; ratio {est / w_all:.1f}x)")
        print(f"agreement on {len(m)} shared rows (same blocks and rows: {same}): max |dPIP| {d_pip:.2e}, "
              f"max |dz| {d_z:.2e}")
    cal = calibration(ours, pd.read_csv(work / "truth.tsv", sep="\t"))
    print(f"calibration: {cal}")
    if not a.no_big:
        m, n_sets, out, (t_ex, t_sss, choice) = big_block()
        d = np.abs(out["exhaustive"][1]["pip"][0] - out["sss"][1]["pip"][0]).max()
        t_s = out["sss"][0]
        print(f"{m}-gene-model block, {n_sets} sets: exhaustive {out['exhaustive'][0]:.1f} s CPU; stochastic "
              f"search {t_s:.1f} s CPU for {SSS_ITER} iterations (x{20000 // SSS_ITER} = {t_s * 20000 / SSS_ITER:.0f} s "
              f"EXTRAPOLATED for its default 20000; max |dPIP| vs exhaustive {d:.1e}); cost model estimates "
              f"{t_ex:.1f} s vs {t_sss:.1f} s -> {choice}")


if __name__ == "__main__":
    main()
