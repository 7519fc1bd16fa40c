"""Executors write (issue 19): the tasks write every stage's variant-level output, the driver only commits.

1. On the code path: every ``run_worklist`` call in lib/locusflow either passes ``write_to`` (its tasks
   write their fragments) or is on an explicit allow-list that says why the rows may come back: an
   in-memory API function (the caller asked for a frame; its stage calls it with ``write_to``, checked
   here too) or an output bounded by genes or blocks. No module calls ``.toPandas()``, ``.collect()``
   or ``.toArrow()`` but the runner (the fragment index; the rows of the allow-listed work lists) and the
   Glow reader (a user's DataFrame).
2. Behaviour: on Spark the fragment files of gwas, Fst (and its windows pass) and the selection scan
   (both passes) are written by Python worker processes, not the driver, and the datasets equal the
   local engine's exactly; the popgen stage gives the same datasets and summary on both engines.
"""
from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import EXAMPLES

LIB = Path(__file__).resolve().parents[2] / "lib" / "locusflow"

# (module, enclosing function, dataset) -> why its rows may come back to the caller
IN_MEMORY_API = "in-memory API: returns the rows its caller asked for; the stage calls it with write_to"
ALLOWED = {
    ("gwas/task.py", "run_gwas", "gwas_chunk"): IN_MEMORY_API,
    ("popgen/fst.py", "run_fst", None): IN_MEMORY_API,
    ("popgen/ehh.py", "run_selection_scan", "selection_scan"): IN_MEMORY_API,
    ("dnalm/stage.py", "score_variants", "variant_scores"): IN_MEMORY_API,
    ("dnalm/priors.py", "gpnxld_blocks", "gpnxld"): IN_MEMORY_API,
    ("ld/stage.py", "_ldsplit_blocks", "ld_blocks"): "one row per LD block (bounded by blocks, not variants)",
    ("twas/train/run.py", "train_weights", "weights_models"): "one row per gene (a model summary)",
    ("twas/train/eqtl_stage.py", "_run", "eqtl_genes"): "one row per gene (gene-level eQTL)",
    ("twas/train/eqtl_fdr.py", "run_pairs_with_qvalues", None): "one row per p-value bucket (~70: the smallest "
                                                                "m p / rank of each, for the BH pass)",
}
# stages that call an allow-listed API: each call in the stage passes write_to
STAGE_CALLS = [("gwas/stage.py", "run_gwas"), ("popgen/stage.py", "run_fst"), ("popgen/stage.py", "run_selection_scan"),
               ("dnalm/stage.py", "score_variants"), ("dnalm/gpnxld_stage.py", "gpnxld_blocks")]


def _name(func) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _calls(path: Path, name: str):
    """(enclosing function, call node) of every call of ``name`` in a module."""
    tree = ast.parse(path.read_text())
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and _name(node.func) == name:
                    yield fn.name, node


def _worklist_calls():
    seen = {}
    for f in sorted(LIB.rglob("*.py")):
        rel = f.relative_to(LIB).as_posix()
        if rel == "engine/runner.py":
            continue
        for fn, call in _calls(f, "run_worklist"):
            ds = call.args[2].value if len(call.args) > 2 and isinstance(call.args[2], ast.Constant) else None
            seen.setdefault((rel, fn, ds, call.lineno), any(k.arg == "write_to" for k in call.keywords))
    return seen


def test_every_variant_level_work_list_is_written_by_its_tasks():
    calls = _worklist_calls()
    assert len(calls) >= 20, sorted(calls)           # the parser sees the work lists (not a vacuous pass)
    returned = {(m, fn, ds) for (m, fn, ds, _), writes in calls.items() if not writes}
    assert returned <= set(ALLOWED), f"work lists whose rows come back to the driver: {sorted(returned - set(ALLOWED))}"
    assert set(ALLOWED) <= returned, f"stale allow-list entries: {sorted(set(ALLOWED) - returned)}"
    written = {ds for (m, fn, ds, _), w in calls.items() if w}
    for ds in ("gwas_assoc", "fst_windows", "selection_scan", "variant_scores", "variant_annotation", "gpnxld",
               "tss_features", "personal_features", "eqtl_pairs", "ld_index", "twas_results", "focus_results"):
        assert ds in written, ds
    for mod, api in STAGE_CALLS:
        uses = list(_calls(LIB / mod, api))
        assert uses and all(any(k.arg == "write_to" for k in c.keywords) for _, c in uses), (mod, api)


def test_no_module_collects_stage_outputs_to_the_driver():
    allowed = {"engine/runner.py": 2,      # the fragment index, and the rows of the allow-listed work lists above
               "io/glow.py": 3}            # a user's Glow DataFrame: its sample ids and variant keys, no genotypes
    found = {}
    for f in LIB.rglob("*.py"):
        rel = f.relative_to(LIB).as_posix()
        n = len(re.findall(r"\.(?:toPandas|collect|toArrow)\(\)", f.read_text()))
        if n:
            found[rel] = n
    assert found == allowed
    runner = (LIB / "engine" / "runner.py").read_text()
    assert 'mapInPandas(write_task, "record string").collect()' in runner
    assert runner.count(".toArrow()") == 1 and "if sink is not None:" in runner


# ---------------------------------------------------------------------------------------------- behaviour

@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from locusflow.io.genotypes import ingest_plink
    return ingest_plink(EXAMPLES / "1000G_EUR_chr20_22", tmp_path_factory.mktemp("xw") / "g.vcz", variants_chunk=700)


def _pops(store) -> pd.Series:
    return pd.Series(np.array(["A", "B", "C"])[np.arange(len(store.samples)) % 3], index=store.samples)


def _committed(index, where, schema):
    from locusflow.io.dataset import finish_fragments, read_dataset
    finish_fragments(where, schema, index)
    return read_dataset(where, schema)


def test_spark_tasks_write_popgen_and_gwas(store, spark, tmp_path):
    from locusflow.gwas.task import run_gwas
    from locusflow.popgen.ehh import run_selection_scan
    from locusflow.popgen.fst import genome_fst, genome_fst_from_index, run_fst, run_window_fst, window_fst
    from peers.plink_glm import simulate

    pops, me = _pops(store), os.getpid()
    sim = simulate(EXAMPLES / "1000G_EUR_chr20_22", tmp_path)
    got = {}
    for e in ("local", "spark"):
        kw = {"engine": e, "spark": spark if e == "spark" else None}
        d = tmp_path / e
        fst = run_fst(store.path, pops, write_to=d / "fst", **kw)
        win = run_window_fst(d / "fst", fst, 200000, 50000, names=fst.attrs["names"], write_to=d / "win", **kw)
        scan = run_selection_scan(store.path, pops, "A", "B", write_to=d / "scan", **kw)
        gw, _ = run_gwas(store.path, sim["pheno"], sim["covar"], traits=["q1"], chunk=1400,
                         write_to={"gwas_assoc": (str(d / "assoc"), "gwas_assoc"),
                                   "gwas_sumstats": (str(d / "ss"), "sumstats")}, **kw)
        if e == "spark":         # every fragment file was written by a Python worker, not by this driver
            for index in (fst, win, scan, gw):
                assert len(index) and me not in set(index["pid"]) and (index["pid"] > 0).all()
            assert len(fst) == 8 and len(win) == 2 and len(scan) == 2     # 5481 variants / 700; chr20, chr22
        got[e] = {"fst": _committed(fst, d / "fst", "fst_variants"), "win": _committed(win, d / "win", "fst_windows"),
                  "scan": _committed(scan, d / "scan", "selection_scan"),
                  "assoc": _committed(gw[gw["dataset"] == "gwas_assoc"], d / "assoc", "gwas_assoc"),
                  "genome": genome_fst_from_index(fst, fst.attrs["names"]), "std": scan.attrs["standardise"]}
        assert not (d / "scan" / "_unstd").exists()
    for k in ("fst", "win", "scan", "assoc", "genome"):
        pd.testing.assert_frame_equal(got["local"][k], got["spark"][k])
    assert got["local"]["std"] == got["spark"]["std"]
    # and they are the in-memory API's rows (known truth for the distributed passes)
    ref = run_fst(store.path, pops)
    loc = got["local"]
    assert len(loc["fst"]) == 3 * 5481
    key = ["chrom", "pos", "pop1", "pop2"]
    pd.testing.assert_frame_equal(loc["fst"].sort_values(key, kind="stable").reset_index(drop=True),
                                  ref.astype(loc["fst"].dtypes.to_dict()).sort_values(key, kind="stable")
                                  .reset_index(drop=True))
    wref = window_fst(ref, 200000, 50000)
    wkey = ["chrom", "start", "pop1", "pop2"]
    pd.testing.assert_frame_equal(loc["win"].sort_values(wkey).reset_index(drop=True),
                                  wref.astype(loc["win"].dtypes.to_dict()).sort_values(wkey).reset_index(drop=True))
    g = genome_fst(ref)
    np.testing.assert_allclose(loc["genome"][["hudson_fst", "wc_fst"]], g[["hudson_fst", "wc_fst"]], rtol=1e-12)
    sref = run_selection_scan(store.path, pops, "A", "B")
    assert len(loc["scan"]) == len(sref) == 5481
    for c in ("ihs_unstd", "nsl_unstd", "xpehh_unstd", "alt_count"):
        np.testing.assert_array_equal(loc["scan"][c].to_numpy(), sref[c].to_numpy())
    for c in ("ihs", "nsl", "xpehh"):        # bin means and sds merged from per-chromosome moments
        np.testing.assert_allclose(loc["scan"][c], sref[c], rtol=1e-9, atol=1e-12, equal_nan=True)
        assert np.isfinite(loc["scan"][c]).sum() > 1000


def test_popgen_stage_same_on_spark_and_local(store, spark, tmp_path):
    from locusflow.cli import main
    from locusflow.io.dataset import read_dataset
    pd.DataFrame({"IID": store.samples, "pop": _pops(store).to_numpy()}).to_csv(tmp_path / "p.tsv", sep="\t",
                                                                                 index=False)
    res = {}
    for e in ("local", "spark"):
        out = tmp_path / e
        assert main(["popgen", "--store", str(store.path), "--populations", str(tmp_path / "p.tsv"), "--window",
                     "200000", "--step", "50000", "--engine", e, "--out", str(out)]) == 0
        res[e] = {n: read_dataset(out / "popgen" / d, n) for n, d in
                  (("fst_variants", "fst"), ("fst_windows", "fst_windows"), ("pop_allele_freq", "frequencies"))}
        res[e]["summary"] = json.loads((out / "popgen" / "_stage.json").read_text())["summary"]
    for n in ("fst_variants", "fst_windows", "pop_allele_freq"):
        pd.testing.assert_frame_equal(res["local"][n], res["spark"][n])
    s = res["local"]["summary"]
    assert s == res["spark"]["summary"]
    assert s["pairs"] == 3 and s["variants"] == 5481 and s["windows"] == len(res["local"]["fst_windows"])
    assert len(res["local"]["fst_variants"]) == 3 * 5481 and len(res["local"]["pop_allele_freq"]) == 3 * 5481
