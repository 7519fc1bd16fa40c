"""Regenerate the TWAS expected-value fixtures: MetaXcan's and FUSION's outputs on fixed inputs.

    python bench/regen_twas_fixtures.py --metaxcan DIR --fusion DIR

DIR: a ``git archive`` of hakyimlab/MetaXcan (``software/SPrediXcan.py``) and of gusevlab/fusion_twas
(``FUSION.assoc_test.R`` and ``utils/plink_utils.R``); neither is ever copied into this repository.
MetaXcan runs in its own venv (tests/peers/venv.py); FUSION with Debian R (r-base-core, r-cran-optparse,
r-cran-here) and plink1.9 (tests/peers/apt.py installs them when missing and run as root).

Writes, under tests/fixtures/twas/:
  metaxcan/gwas.tsv.gz      the synthetic GWAS given to MetaXcan, one per real GTEx test model database
                            (../shared/realdata/metaxcan_test_models/dbs_3, 44 tissues x 3 genes)
  metaxcan/results.tsv.gz   SPrediXcan.py's output for each (database, GWAS) pair, all columns, full precision
  fusion/*                  FUSION's inputs (3 genes' .wgt.RDat written by R save(), .pos, sumstats) and
                            fusion/results.tsv, FUSION.assoc_test.R's output (format() at 17 digits)
  PROVENANCE.md             peers, commits, commands, checksums of every input
Tests (tests/twas/test_metaxcan_fixtures.py, test_fusion_fixtures.py) compare locusflow's z with these on
every machine; the live-peer tests stay as extras where the peers are installed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "lib"))

from peers.apt import install_debian_peers  # noqa: E402
from peers.venv import build_venv  # noqa: E402
from peers.twas_cases import DRIVER, SAVE_R, mx_args, panel_window, synthetic_gwas as _cases_gwas  # noqa: E402,F401
from peers.twas_cases import make_fusion_inputs as _make_inputs  # noqa: E402

from locusflow.io.plink import BedReader, read_bim  # noqa: E402
from locusflow.io.weights import read_predictdb  # noqa: E402

REALDATA = Path(os.environ.get("LOCUSFLOW_REALDATA", ROOT.parent / "shared" / "realdata"))
MXDATA = REALDATA / "metaxcan_test_models"
OUT = ROOT / "tests" / "fixtures" / "twas"
EXAMPLES = ROOT / "examples"
PREFIX = EXAMPLES / "1000G_EUR_chr20_22"
MX_REQ = ["numpy<2.4", "pandas<3", "scipy"]
# --------------------------------------------------------------------------------------------- MetaXcan


def synthetic_gwas(weights: pd.DataFrame, seed: int) -> pd.DataFrame:
    """tests/peers/twas_cases.synthetic_gwas with MetaXcan's column names (SNP A1 A2 ZSCORE BETA)."""
    return _cases_gwas(weights, seed).rename(columns={"rsid": "SNP", "alt": "A1", "ref": "A2", "z": "ZSCORE",
                                                      "beta": "BETA"})


def covariance_without_first_gene(cov_file: Path, out: Path) -> Path:
    """The first database's covariance file with its first gene removed: MetaXcan reports that gene with
    zscore NA (the fixture test builds the same file)."""
    c = pd.read_csv(cov_file, sep=r"\s+")
    c[c["GENE"] != c["GENE"].iloc[0]].to_csv(out, sep=" ", index=False, compression="gzip")
    return out


def metaxcan_cases(tmp: Path):
    """(case, db, covariance file, GWAS frame) for every fixture case."""
    dbs = sorted((MXDATA / "dbs_3").glob("*.db"))
    for i, db in enumerate(dbs):
        cov = MXDATA / "cov_3" / db.name.replace("_0.5.db", ".txt.gz")
        if i == 0:
            cov = covariance_without_first_gene(cov, tmp / "cov_nogene.txt.gz")
        w = read_predictdb(db)
        if not len(w):          # one real database has no model: MetaXcan crashes on it, nothing to compare
            continue
        yield db.stem, db, cov, synthetic_gwas(w, seed=100 + i)
    gw = pd.read_csv(MXDATA / "GWAS" / "scz2" / "scz2.gwas.results.txt.gz", sep="\t")
    g = pd.DataFrame({"SNP": gw["SNPID"], "A1": gw["A1"], "A2": gw["A2"], "ZSCORE": gw["ZSCORE"], "BETA": gw["BETA"]})
    for tissue in ("TW_Liver", "TW_Lung"):  # real PGC-SCZ2 excerpts: no SNP shared with the models
        yield f"scz2/{tissue}", MXDATA / "dbs_3" / f"{tissue}_0.5.db", MXDATA / "cov_3" / f"{tissue}.txt.gz", g


def regen_metaxcan(mx: Path, tmp: Path) -> dict:
    py = build_venv("metaxcan-venv", MX_REQ)
    script = mx / "software" / "SPrediXcan.py"
    cases, jobs, gwas = [], [], []
    for k, (case, db, cov, g) in enumerate(metaxcan_cases(tmp)):
        gf, out = tmp / f"gwas{k}.txt", tmp / f"mx{k}.csv"
        g.to_csv(gf, sep="\t", index=False, float_format="%.17g")
        jobs.append(mx_args(db, cov, gf, out))
        cases.append((case, db, cov, out))
        gwas.append(g.assign(case=case))
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    r = subprocess.run([str(py), "-c", DRIVER, str(tmp / "jobs.json"), str(script.parent)], capture_output=True,
                       text=True)
    if r.returncode:
        sys.exit(r.stderr[-3000:])
    res = []
    for case, db, cov, out in cases:
        m = pd.read_csv(out, dtype=str, keep_default_na=False)     # as written: no re-rounding
        res.append(m.assign(case=case))
    d = OUT / "metaxcan"
    d.mkdir(parents=True, exist_ok=True)
    g = pd.concat(gwas, ignore_index=True)
    g[["case", "SNP", "A1", "A2", "ZSCORE", "BETA"]].to_csv(d / "gwas.tsv.gz", sep="\t", index=False,
                                                             float_format="%.17g", compression={"method": "gzip", "mtime": 0})
    r = pd.concat(res, ignore_index=True)
    r[["case"] + [c for c in r.columns if c != "case"]].to_csv(d / "results.tsv.gz", sep="\t", index=False,
                                                               compression={"method": "gzip", "mtime": 0})
    pip = subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True, text=True).stdout.split()
    command = ("<metaxcan-venv>/bin/python -c DRIVER jobs.json <MetaXcan>/software  # DRIVER: runpy SPrediXcan.py once per job, argv: "
               + " ".join(mx_args("<db>", "<cov>", "<gwas>", "<out>")))
    inputs = sorted(str(f) for sub, pat in (("dbs_3", "*.db"), ("cov_3", "*.txt.gz")) for f in (MXDATA / sub).glob(pat))
    return {"command": command, "venv": pip, "inputs": inputs, "cases": [c[0] for c in cases]}


def regen_stage(mx: Path, tmp: Path) -> dict:
    """MetaXcan on the twas stage test's inputs (tests/twas/twas_stage_inputs.make_inputs: simulated weights
    over the bundled panel, the bundled BOLT sumstats): ``metaxcan/stage_results.tsv`` and the digest of the
    content it read (``metaxcan/stage_inputs.sha256``), so the stage test compares on every machine."""
    sys.path.append(str(ROOT / "tests" / "twas"))     # after tests/: its conftest is the top one
    from twas_stage_inputs import inputs_digest, make_inputs, write_mx_gwas
    py = build_venv("metaxcan-venv", MX_REQ)
    inputs = make_inputs(tmp, store=False)
    gf, out = write_mx_gwas(inputs["sumstats"], tmp / "gwas.txt"), tmp / "mx.csv"
    (tmp / "jobs.json").write_text(json.dumps([mx_args(inputs["db"], inputs["cov"], gf, out)]))
    r = subprocess.run([str(py), "-c", DRIVER, str(tmp / "jobs.json"), str(mx / "software")], capture_output=True,
                       text=True)
    if r.returncode:
        sys.exit(r.stderr[-3000:])
    d = OUT / "metaxcan"
    d.mkdir(parents=True, exist_ok=True)
    (d / "stage_results.tsv").write_text(pd.read_csv(out, dtype=str, keep_default_na=False).to_csv(sep="\t", index=False))
    (d / "stage_inputs.sha256").write_text(inputs_digest(inputs, gf) + "\n")
    return {"files": ["stage_results.tsv", "stage_inputs.sha256"]}


# ----------------------------------------------------------------------------------------------- FUSION


def make_fusion_inputs(tmp: Path, seed=3):
    """tests/peers/twas_cases.make_fusion_inputs; returns the gene names (the inputs are in ``tmp``)."""
    _make_inputs(tmp, seed)
    return ["GENE_A", "GENE_B", "GENE_C"]

FORMAT17 = ("format <- function(x, ...) { a <- list(...); a$digits <- 17; do.call(base::format, c(list(x), a)) };"
            "source('{script}')")


def regen_fusion(fu: Path, tmp: Path) -> dict:
    install_debian_peers(("r-cran-optparse", "r-cran-here"))
    genes = make_fusion_inputs(tmp)
    script = fu / "FUSION.assoc_test.R"
    args = ["--sumstats", str(tmp / "gwas.sumstats"), "--weights", str(tmp / "sim.pos"), "--weights_dir", str(tmp),
            "--ref_ld_chr", str(tmp / "ref."), "--chr", "22", "--out", str(tmp / "fusion.out")]
    r = subprocess.run(["Rscript", "-e", FORMAT17.replace("{script}", str(script)), *args], cwd=fu,
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr[-3000:] + r.stdout[-3000:])
    d = OUT / "fusion"
    d.mkdir(parents=True, exist_ok=True)
    for f in [f"{g}.wgt.RDat" for g in genes] + ["sim.pos", "gwas.sumstats"]:
        (d / f).write_bytes((tmp / f).read_bytes())
    out = pd.read_csv(tmp / "fusion.out", sep="\t", dtype=str).apply(lambda c: c.str.strip())
    out["FILE"] = out["FILE"].map(lambda f: Path(f).name)      # not the temporary directory
    out.to_csv(d / "results.tsv", sep="\t", index=False)
    rv = subprocess.run(["Rscript", "--version"], capture_output=True, text=True)
    pk = subprocess.run(["dpkg-query", "-W", "r-base-core", "r-cran-optparse", "r-cran-here", "plink1.9"],
                        capture_output=True, text=True).stdout.split("\n")
    return {"command": f"cd <fusion_twas> && Rscript -e \"{FORMAT17.replace('{script}', 'FUSION.assoc_test.R')}\" "
                       "--sumstats gwas.sumstats --weights sim.pos --weights_dir <dir> --ref_ld_chr <dir>/ref. "
                       "--chr 22 --out fusion.out",
            "R": (rv.stdout or rv.stderr).splitlines()[0], "debian": [p for p in pk if p]}


# ------------------------------------------------------------------------------------------ provenance


def sha(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def provenance(mx: dict, fu: dict, args, st: dict | None = None) -> None:
    L = ["# TWAS expected-value fixtures: provenance", "",
         "Peers' outputs on fixed inputs (their data, never their code). Regenerate with",
         "`python bench/regen_twas_fixtures.py --metaxcan DIR --fusion DIR --metaxcan-ref REF --fusion-ref REF`",
         "(DIR: `git archive` of the peer's repository at REF).", ""]
    if mx:
        L += ["## MetaXcan (`metaxcan/`)", "",
              f"- peer: hakyimlab/MetaXcan `software/SPrediXcan.py` at {args.metaxcan_ref}",
              f"- venv (`pip freeze`): {' '.join(mx['venv'])}",
              f"- command, per case: `{mx['command']}`",
              "- inputs: the real GTEx-v6p test models and covariances of ../shared/realdata/metaxcan_test_models "
              "(below); GWAS: `metaxcan/gwas.tsv.gz` (column `case`), drawn by `synthetic_gwas(read_predictdb(db), "
              "seed=100+i)` for the i-th database in sorted order (the first database's covariance without its "
              "first gene), and the real PGC-SCZ2 excerpt `GWAS/scz2/scz2.gwas.results.txt.gz` for cases scz2/*",
              f"- cases: {len(mx['cases'])}", ""]
        L += [f"  - `{Path(p).relative_to(REALDATA)}` sha256 {sha(p)}" for p in mx["inputs"]]
        scz = MXDATA / "GWAS" / "scz2" / "scz2.gwas.results.txt.gz"
        L += [f"  - `{scz.relative_to(REALDATA)}` sha256 {sha(scz)}", ""]
        L += [f"- `metaxcan/{f}` sha256 {sha(OUT / 'metaxcan' / f)}" for f in ("gwas.tsv.gz", "results.tsv.gz")]
        L += [""]
    if fu:
        L += ["## FUSION (`fusion/`)", "",
              f"- peer: gusevlab/fusion_twas `FUSION.assoc_test.R` (+ `utils/plink_utils.R`) at {args.fusion_ref}",
              f"- {fu['R']}; Debian packages: {', '.join(fu['debian'])}",
              f"- command: `{fu['command']}` (format() forced to 17 digits so z compares at 1e-6)",
              "- inputs: weights drawn by `make_fusion_inputs(seed=3)` and saved by R `save()` as .wgt.RDat; the "
              "LD reference `ref.22` is the bundled `examples/1000G_EUR_chr20_22` restricted (plink1.9 --extract) to "
              "`panel_window()`'s SNPs (not committed: the test rebuilds the window from the bundled panel)", ""]
        L += [f"- `fusion/{f.name}` sha256 {sha(f)}" for f in sorted((OUT / "fusion").iterdir())]
        L += [f"- `examples/{f.name}` sha256 {sha(f)}" for f in sorted(EXAMPLES.glob("1000G_EUR_chr20_22.*"))]
        L += [""]
    if st:
        L += ["## MetaXcan on the twas stage test inputs (`metaxcan/stage_*`)", "",
              f"- peer: hakyimlab/MetaXcan `software/SPrediXcan.py` at {args.metaxcan_ref}, same venv and command",
              "- inputs: `tests/twas/twas_stage_inputs.make_inputs` (24 simulated PredictDB models over the bundled "
              "1000G EUR chr20/22 panel, numpy default_rng(5); the bundled BOLT sumstats as MetaXcan's GWAS text); "
              "`stage_inputs.sha256` is the digest of the content MetaXcan read (`inputs_digest`)", ""]
        L += [f"- `metaxcan/{f}` sha256 {sha(OUT / 'metaxcan' / f)}" for f in st["files"]]
        L += [""]
    old = (OUT / "PROVENANCE.md").read_text() if (OUT / "PROVENANCE.md").exists() else ""
    keep = {"## MetaXcan (": not mx, "## MetaXcan on the twas stage": not st, "## FUSION": not fu}
    for head, k in keep.items():     # a partial run keeps the other peer's section
        if k and head in old:
            sect = old[old.index(head):]
            nxt = sect.find("\n## ", 1)
            L += (sect if nxt < 0 else sect[:nxt + 1]).splitlines() + [""]
    (OUT / "PROVENANCE.md").write_text("\n".join(L).rstrip() + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--metaxcan", type=Path, help="git archive of hakyimlab/MetaXcan")
    ap.add_argument("--fusion", type=Path, help="git archive of gusevlab/fusion_twas")
    ap.add_argument("--stage", action="store_true", help="with --metaxcan: only the twas stage test's case")
    ap.add_argument("--metaxcan-ref", default="(unrecorded)")
    ap.add_argument("--fusion-ref", default="(unrecorded)")
    args = ap.parse_args()
    mx = fu = st = {}
    with tempfile.TemporaryDirectory() as t:
        if args.metaxcan:
            (Path(t) / "st").mkdir()
            st = regen_stage(args.metaxcan.resolve(), Path(t) / "st")
        if args.metaxcan and not args.stage:
            (Path(t) / "mx").mkdir()
            mx = regen_metaxcan(args.metaxcan.resolve(), Path(t) / "mx")
        if args.fusion:
            (Path(t) / "fu").mkdir()
            fu = regen_fusion(args.fusion.resolve(), Path(t) / "fu")
    provenance(mx, fu, args, st)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
