"""Every failure a user can cause ends in one line naming the file, key, row or column and what was
expected, exit status 2, no traceback, nothing published. The same table is in docs/reliability.md
(the `reliab` rows for sumstats, genotypes, weights and BED contents live in tests/io/)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipeline_helpers import EXAMPLES, ROOT, STAGES, run_cli

from locusflow.cli import main           # imported here: its log handler binds to pytest's global capture
from locusflow.lock import OutputLock

SS = EXAMPLES / "bolt_chr20_22.sumstats.gz"
BASE = f"stages: [munge]\nmunge:\n  sumstats: {SS}\n  n: 337000\n"

# (case, config text (None: BASE), extra command-line arguments, the one line expected on stderr)
CASES = [
    ("unknown top-level key", BASE + "stagez: [munge]\n", [], "cfg.yaml: stagez: unknown key; did you mean 'stages'?"),
    ("typo in a section key", BASE.replace("n: 337000", "min_inf: 0.5"), [],
     "cfg.yaml: munge.min_inf: unknown key; did you mean 'min_info'?"),
    ("typo in --set", None, ["--set", "finemap.methd=finemap"],
     "--set finemap.methd=finemap: finemap.methd: unknown key; did you mean 'method'?"),
    ("wrong type, nested key", BASE + "finemap:\n  susie: {L: ten}\n", [],
     "cfg.yaml: finemap.susie.L: expected a positive integer, found 'ten'"),
    ("wrong type, number", BASE + "ld: {maf: high}\n", [], "cfg.yaml: ld.maf: expected a number in [0, 0.5], found 'high'"),
    ("value out of range", BASE + "ld: {maf: 0.7}\n", [], "cfg.yaml: ld.maf: expected a number in [0, 0.5], found 0.7"),
    ("value not a choice", BASE + "engine: sparkle\n", [], "cfg.yaml: engine: expected one of local, dask, spark, found 'sparkle'"),
    ("bad value in a list", BASE + "  ambiguous_window: [0.4, high]\n", [],
     "cfg.yaml: munge.ambiguous_window[1]: expected a number in [0, 1], found 'high'"),
    ("stages not a list", BASE.replace("[munge]", "munge"), [], "cfg.yaml: stages: expected a list of strings, found 'munge'"),
    ("empty stage list", BASE.replace("[munge]", "[]"), [], "stages: expected a non-empty list of stages"),
    ("no stages at all", BASE.replace("stages: [munge]\n", ""), [], "stages: expected a non-empty list of stages"),
    ("unknown stage", BASE.replace("[munge]", "[mung]"), [], "cfg.yaml: stages: unknown stage 'mung'"),
    ("YAML syntax error", "stages: [munge\n", [], "cfg.yaml, row 2: valid YAML"),
    ("config file missing", "", ["--config-missing"], "absent.yaml: configuration file not found"),
    ("--set without =", None, ["--set", "engine"], "--set: expected KEY=VALUE"),
    ("sumstats file missing", BASE.replace(str(SS), "/nonexistent/gwas.tsv.gz"), [],
     "cfg.yaml: munge.sumstats: expected an existing file, found '/nonexistent/gwas.tsv.gz' (no such file)"),
    ("weights file missing", BASE + "twas:\n  weights: [{predictdb: /nonexistent/w.db}]\n", [],
     "cfg.yaml: twas.weights[0].predictdb: expected an existing file, found '/nonexistent/w.db'"),
    ("finemap BED missing", BASE + "finemap:\n  blocks: {bed: /nonexistent/b.bed}\n", [],
     "cfg.yaml: finemap.blocks.bed: expected an existing file, found '/nonexistent/b.bed'"),
    ("unknown dataset in paths", BASE + "paths: {sumstat: /x}\n", [], "cfg.yaml: paths.sumstat: unknown dataset"),
    ("paths names an output of a running stage", BASE + "paths: {sumstats: /x}\n", [],
     "cfg.yaml: paths.sumstats: stage munge writes this dataset in this run"),
    ("truncated .gz input", "TRUNCATED", [], "trunc.gz: a complete, readable file (OSError: Truncated compressed stream)"),
    ("PLINK fileset missing", "stages: [ingest]\ningest: {plink: /nonexistent/geno}\n", [],
     "/nonexistent/geno.bed: file not found (ingest.plink names the PLINK prefix)"),
    ("results root is a file", None, ["--out", "FILE"], "a results directory that can be created"),
    ("results root cannot be created", None, ["--out", "/proc/locusflow/out"], "a results directory that can be created"),
    ("results root in use", None, ["LOCKED"], "in use by another locusflow run (pid"),
]


def _published(out: Path) -> list:
    return [s for s in STAGES if (out / s).exists() or (out / s).is_symlink()]


@pytest.mark.parametrize("case,text,extra,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, text, extra, expected, tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    out = tmp_path / "out"
    if text == "TRUNCATED":
        (tmp_path / "trunc.gz").write_bytes(SS.read_bytes()[:20000])
        text = BASE.replace(str(SS), str(tmp_path / "trunc.gz"))
    cfg.write_text(BASE if text is None else text)
    args = ["run", str(cfg), "--out", str(out)]
    lock = None
    if extra == ["--config-missing"]:
        args[1] = str(tmp_path / "absent.yaml")
    elif extra == ["--out", "FILE"]:
        out = tmp_path / "a_file"
        out.write_text("")
        args[-1] = str(out)
    elif extra == ["LOCKED"]:
        lock = OutputLock(out).acquire()
    else:
        args += extra
        if "--out" in extra:
            args = args[:2] + extra
            out = Path(extra[-1])
    try:
        rc = main(args)
    finally:
        if lock is not None:
            lock.release()
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    assert len(err) == 1 and err[0].startswith("locusflow: error: "), err
    assert expected in err[0], err[0]
    if lock is not None:
        assert f"pid {os.getpid()}" in err[0]
    if out.is_dir():
        assert _published(out) == []
        assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == []
        assert list((out / ".locusflow" / "versions").glob("*/*")) == []     # a failed stage's staging is gone


def test_debug_shows_the_traceback(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(BASE + "ld: {maf: high}\n")
    plain = run_cli("run", cfg, "--out", tmp_path / "o")
    debug = run_cli("--debug", "run", cfg, "--out", tmp_path / "o")
    assert plain.returncode == debug.returncode == 2
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert plain.stderr.strip().splitlines()[-1] == debug.stderr.strip().splitlines()[-1]


def test_docs_have_the_same_table():
    doc = (ROOT / "docs" / "reliability.md").read_text()
    missing = [c for c, _, _, e in CASES if f"| {c} |" not in doc or e.replace("|", "\\|") not in doc]
    assert missing == []


def test_help_imports_no_stage():
    import subprocess
    code = ("import sys; from locusflow.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('locusflow.') and m.count('.') > 1 or "
            "m in ('pandas', 'numpy', 'pyarrow', 'zarr')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "lib")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
    assert all(s in r.stdout for s in STAGES)


def test_overlay_overrides_only_what_it_names(tmp_path):
    from locusflow.config import load_config
    from locusflow.pipeline import resolve_config
    over = tmp_path / "over.yaml"
    over.write_text("out: elsewhere\nspark: {master: 'local[2]'}\n")
    cfg = resolve_config(load_config([ROOT / "conf" / "example.yaml", over]), check_files=False)
    example = load_config(ROOT / "conf" / "example.yaml")["stages"]
    assert cfg["out"] == "elsewhere" and cfg["stages"] == example and "finemap" in example
    assert cfg["finemap"]["susie"]["L"] == 10 and cfg["spark"]["master"] == "local[2]"
    assert cfg["munge"]["min_info"] == 0.9          # a default filled from the schema


def test_config_explain_documents_every_section():
    r = run_cli("config", "--explain")
    assert r.returncode == 0
    for line in ("finemap:", "  method: str ['susie', 'finemap', 'susie_inf', 'finemap_inf'] = 'susie'", "munge:",
                 "  min_info: float",
                 "ld:", "twas:", "focus:", "ingest:", "engine: str ['local', 'dask', 'spark'] = 'local'"):
        assert line in r.stdout, line
