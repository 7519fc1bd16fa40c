"""Write tests/peers/<name>.lock: every package of a peer's environment pinned ``==`` with its sha256.

    python bench/regen_peer_lock.py pyfocus "pyfocus==0.802" "numpy<1.24" "pandas<2" "sqlalchemy<2" \\
        --pin numpy==1.23.5 --pin pandas==1.5.3 --pin sqlalchemy==1.4.54 --pin scipy==1.10.1 \\
        --pin matplotlib==3.7.5 --pin seaborn==0.12.2 --pin opencv-python==4.8.1.78

The requirements are what the test asks ``peer_venv(name, requirements)`` for (the lock's first line
records them; peer_venv uses the lock only when they match). ``--pin`` steers pip's resolver past
versions that would make it backtrack (pyfocus: opencv-python, matplotlib, scipy releases that need
numpy >= 1.24); pins are recorded in the lock's header. pip resolves once here (``install --dry-run
--report`` in a scratch venv of the same Python); tests then install with ``--no-deps --require-hashes``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LOCKS = Path(__file__).resolve().parents[1] / "tests" / "peers"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name")
    ap.add_argument("requirements", nargs="+")
    ap.add_argument("--pin", action="append", default=[], help="extra == pin for the resolver (recorded)")
    ap.add_argument("--python", default="python3.11")
    a = ap.parse_args()
    exe = shutil.which(a.python) or sys.exit(f"no {a.python}")
    with tempfile.TemporaryDirectory() as t:
        subprocess.run([exe, "-m", "venv", f"{t}/v"], check=True)
        report = Path(t) / "report.json"
        subprocess.run([f"{t}/v/bin/python", "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                        "--report", str(report), *a.requirements, *a.pin], check=True)
        pyver = subprocess.run([f"{t}/v/bin/python", "-c", "import sys; print(sys.version.split()[0])"],
                               capture_output=True, text=True).stdout.strip()
        pipver = subprocess.run([f"{t}/v/bin/python", "-m", "pip", "--version"], capture_output=True,
                                text=True).stdout.split()[1]
        install = json.loads(report.read_text())["install"]
    lines = [f"# requirements: {' '.join(a.requirements)}",
             f"# resolved by bench/regen_peer_lock.py with pip {pipver} on Python {pyver} (manylinux x86_64 wheels)",
             f"# resolver pins: {' '.join(a.pin) or '(none)'}",
             "# installed by tests/peers/venv.py: pip install --no-deps --require-hashes -r this file"]
    for i in sorted(install, key=lambda i: i["metadata"]["name"].lower()):
        m, h = i["metadata"], i["download_info"]["archive_info"]["hashes"]["sha256"]
        lines.append(f"{m['name']}=={m['version']} \\\n    --hash=sha256:{h}")
    out = LOCKS / f"{a.name}.lock"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out} ({len(install)} packages)")


if __name__ == "__main__":
    main()
