"""Regenerate the fixtures of the trained-weights export test: MetaXcan's output on a database we export.

    python bench/regen_weights_fixtures.py --metaxcan DIR [--metaxcan-ref REF]

DIR: a ``git archive`` of hakyimlab/MetaXcan (``software/SPrediXcan.py``), never copied into this
repository; it runs in its own venv (tests/peers/venv.py, as bench/regen_twas_fixtures.py).

1. trains the weights_train stage's models on the test inputs (tests/twas/weights_inputs.py: expression
   simulated at 6 GENCODE genes over the bundled 1000G EUR panel, window 20 kb) and keeps every model row
   as ``tests/fixtures/twas/trained/models.parquet`` (schema weights_models, our own output);
2. exports those rows with our PredictDB writer (``io.weights_export``) and runs SPrediXcan.py on the
   database, its covariance file and the bundled BOLT-LMM sumstats (tests/twas/twas_stage_inputs);
3. writes ``metaxcan_results.tsv`` (MetaXcan's output as written), ``inputs.sha256`` (digest of the content
   MetaXcan read: weights and extra tables, decompressed covariance, GWAS text) and ``PROVENANCE.md``.

tests/twas/test_weights_export.py re-exports models.parquet on every machine, checks the digest, and
compares our S-PrediXcan z with MetaXcan's at 1e-6.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.append(str(ROOT / "tests" / "twas"))          # after tests/: its conftest is the top one
sys.path.insert(0, str(ROOT / "lib"))

from peers.twas_cases import DRIVER, mx_args  # noqa: E402
from peers.venv import build_venv  # noqa: E402

from locusflow.io.dataset import read_dataset  # noqa: E402
from locusflow.io.genotypes import ingest_plink  # noqa: E402
from locusflow.twas.train.run import train_weights  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "twas" / "trained"
PREFIX = ROOT / "examples" / "1000G_EUR_chr20_22"
MX_REQ = ["numpy<2.4", "pandas<3", "scipy"]
WINDOW = 20_000


def train(tmp: Path) -> pd.DataFrame:
    """The weights_train models of the test inputs (all rows, schema weights_models)."""
    from weights_inputs import write_inputs
    inp = write_inputs(PREFIX, tmp / "in", window=WINDOW)
    store = ingest_plink(PREFIX, tmp / "g.vcz")
    train_weights(tmp / "out", progress=False, store=str(store.path), expression=str(inp["expression"]),
                  genes=str(inp["genes"]), covariates=str(inp["covariates"]), window=WINDOW, tissue="Sim")
    return read_dataset(tmp / "out" / "models", "weights_models")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--metaxcan", type=Path, required=True, help="git archive of hakyimlab/MetaXcan")
    ap.add_argument("--metaxcan-ref", default="(unrecorded)")
    args = ap.parse_args()
    from weights_inputs import export, inputs_digest
    from twas_stage_inputs import sumstats_frame, write_mx_gwas
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        models = train(tmp)
        models.to_parquet(OUT / "models.parquet", index=False)
        db, cov = export(pd.read_parquet(OUT / "models.parquet"), tmp)
        gwas = write_mx_gwas(sumstats_frame(), tmp / "gwas.txt")
        py = build_venv("metaxcan-venv", MX_REQ)
        out = tmp / "mx.csv"
        (tmp / "jobs.json").write_text(json.dumps([mx_args(db, cov, gwas, out)]))
        r = subprocess.run([str(py), "-c", DRIVER, str(tmp / "jobs.json"), str(args.metaxcan.resolve() / "software")],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit(r.stderr[-3000:])
        res = pd.read_csv(out, dtype=str, keep_default_na=False)
        res.to_csv(OUT / "metaxcan_results.tsv", sep="\t", index=False)
        (OUT / "inputs.sha256").write_text(inputs_digest(db, cov, gwas) + "\n")
        pip = subprocess.run([str(py), "-m", "pip", "freeze"], capture_output=True, text=True).stdout.split()
    sha = {f: hashlib.sha256((OUT / f).read_bytes()).hexdigest()
           for f in ("models.parquet", "metaxcan_results.tsv", "inputs.sha256")}
    lines = ["# Trained-weights export fixtures: provenance", "",
             "Regenerate with `python bench/regen_weights_fixtures.py --metaxcan DIR --metaxcan-ref REF` (DIR: "
             "`git archive` of hakyimlab/MetaXcan at REF).", "",
             "- `models.parquet`: locusflow's own output: `train_weights` (stage weights_train) on "
             "`tests/twas/weights_inputs.write_inputs(window=20000)` over `examples/1000G_EUR_chr20_22`, tissue Sim "
             f"({len(models)} genes, {int(models['keep'].sum())} kept)",
             f"- peer: hakyimlab/MetaXcan `software/SPrediXcan.py` at {args.metaxcan_ref}",
             f"- venv (`pip freeze`): {' '.join(pip)}",
             "- command: `<metaxcan-venv>/bin/python -c DRIVER jobs.json <MetaXcan>/software` (tests/peers/twas_cases.py), "
             "argv: " + " ".join(mx_args("<exported db>", "<exported covariance>", "<gwas>", "<out>")),
             "- inputs MetaXcan read: the database and covariance file `io.weights_export` writes from "
             "`models.parquet` (tests/twas/weights_inputs.export), and the bundled BOLT-LMM sumstats as "
             "GWAS text (tests/twas/twas_stage_inputs: `write_mx_gwas(sumstats_frame())`); `inputs.sha256` is "
             "the digest of that content (`inputs_digest`)", ""]
    lines += [f"- `{f}` sha256 {h}" for f, h in sha.items()]
    (OUT / "PROVENANCE.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}: {len(res)} MetaXcan rows")


if __name__ == "__main__":
    main()
