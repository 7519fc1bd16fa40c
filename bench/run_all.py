"""Run every benchmark in bench/ (each prints its own figures and the ratio to its peer).

``python bench/run_all.py`` runs the whole-genome scale bench at 5 % of the genome (about 2 minutes);
``--full`` runs it at full size as docs/benchmarks.md reports it (about 16 minutes, plus 3 to build its input).
"""
import subprocess
import sys
from pathlib import Path

QUICK = {"scale.py": ["--scale", "0.05"]}      # full size only with --full

here = Path(__file__).parent
full = "--full" in sys.argv[1:]
failed = []
for script in sorted(here.glob("*.py")):
    if script.name == Path(__file__).name or script.name.startswith(("_", "regen_")):
        continue
    args = [] if full else QUICK.get(script.name, [])
    print(f"== {script.name} {' '.join(args)}".rstrip(), flush=True)
    if subprocess.run([sys.executable, str(script), *args]).returncode != 0:
        failed.append(script.name)
if failed:
    sys.exit(f"failed: {failed}")
