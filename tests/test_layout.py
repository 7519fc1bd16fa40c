"""The package's shape (issue 10): no import circles, no private names across modules, no import
from a higher layer back down, and a public API reachable from ``import locusflow as lf``."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lib" / "locusflow"
TOOL = ROOT.parent / "shared" / "tools" / "import_cycles.py"

# Layers, lowest first. A module imports from its own package and from lower layers (the
# foundation modules of layer 0 also from each other); never from a higher layer or a sibling stage.
# A stage module (stage.py, *_stage.py) also imports pipeline/config, to register itself.
LAYERS = [
    {"errors", "logs", "version", "schema", "checksum", "data", "schemas", "config_schema", "layout", "storage"},
    {"config", "commit", "lock"},
    {"io"},
    {"engine"},
    {"pipeline"},
    {"ld"},
    {"twas", "finemap", "gwas", "popgen", "dnalm"},
    {"focus"},
    {"breed", "enrich"},
    {"plots"},
    {"report"},
    {"summary"},
    {"deploy"},
    {"cli_stage"},
    {"cli", "api", "__init__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "locusflow" else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    rel = path.relative_to(PKG.parent).with_suffix("")
    pkg_parts = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    if rel.name == "__init__":
        pkg_parts = list(rel.parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "locusflow" or (node.level and not node.module):
                out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, mod))
    return out


def test_no_import_cycles_or_private_names():
    if not TOOL.exists():
        pytest.skip(f"{TOOL} not present")
    r = subprocess.run([sys.executable, str(TOOL), str(PKG)], capture_output=True, text=True)
    findings = [line for line in r.stdout.splitlines() if line.startswith(("circle", "private name"))]
    assert r.returncode == 0 and not findings, r.stdout + r.stderr


def test_no_import_from_a_higher_layer():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        me = rel.parts[0].removesuffix(".py")
        if me not in RANK:
            bad.append(f"{rel}: package '{me}' has no layer in tests/test_layout.py")
            continue
        is_stage = path.name == "stage.py" or path.name.endswith("_stage.py")
        for line, mod in _imports(path):
            other = _top(mod)
            if not other or other == me or (is_stage and other in ("pipeline", "config")):
                continue
            if other not in RANK:
                bad.append(f"{rel}:{line} imports {mod}: no layer for '{other}'")
            elif RANK[other] > RANK[me] or (RANK[other] == RANK[me] and RANK[me] > 0 and me != "__init__"):
                bad.append(f"{rel}:{line} imports {mod} (layer {RANK[other]} above {me}'s {RANK[me]})")
    assert not bad, "\n".join(bad)
