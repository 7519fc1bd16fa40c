"""Regenerate tests/fixtures/finemap/susie_inf_n3.npz: outputs of the reference SuSiE-inf implementation.

The peer is ``susieinf/susieinf.py`` of GitHub FinucaneLab/fine-mapping-inf (Cui et al., Nat Genet 2024);
its code is never copied here: give the path of a checkout and this script imports it from there.
Inputs: N3finemapping (../shared/realdata/susier_data, real GTEx genotypes 574 x 1,001, both simulated
responses), z from univariate OLS, in-sample LD = cor(X), n = 574, meansq = 1, L = 10, the reference's
defaults (est_ssq, ssq in (0, 1), method-of-moments and MLE variance components, PIP_tol 1e-3, maxiter
100); credible sets with its ``cred(coverage=0.95, purity=0.5)``. Stored per (response, method): the
aggregated PIP 1 - prod_l (1 - PIP_l), per-effect PIPs, sigma^2, tau^2, the infinitesimal effects
alpha, the number of credible sets and their members.

    python bench/regen_susie_inf_fixtures.py /path/to/fine-mapping-inf [--realdata ../shared/realdata]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "finemap" / "susie_inf_n3.npz"


def univariate_z(x, y):
    xc, yc = x - x.mean(0), y - y.mean()
    ss = (xc * xc).sum(0)
    b = xc.T @ yc / ss
    return b / np.sqrt(((yc[:, None] - xc * b) ** 2).sum(0) / (len(y) - 2) / ss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkout", help="a checkout of github.com/FinucaneLab/fine-mapping-inf")
    ap.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata"))
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.checkout) / "susieinf"))
    import susieinf  # noqa: E402  (the peer, from the given checkout)
    d = np.load(Path(args.realdata) / "susier_data" / "N3finemapping.npz")
    x, ld = d["X"], np.corrcoef(d["X"].T)
    out = {}
    for resp in (1, 2):
        z = univariate_z(x, d["Y"][:, resp - 1])
        for method in ("moments", "MLE"):
            fit = susieinf.susie(z, 1.0, len(x), 10, LD=ld, method=method, verbose=False)
            sets = susieinf.cred(fit["PIP"], coverage=0.95, purity=0.5, LD=ld)
            key = f"r{resp}_{method}"
            out[f"{key}_pip"] = 1 - (1 - fit["PIP"]).prod(axis=1)
            out[f"{key}_alpha_l"] = fit["PIP"].T
            out[f"{key}_sigmasq"] = np.array(fit["sigmasq"])
            out[f"{key}_tausq"] = np.array(fit["tausq"])
            out[f"{key}_infinitesimal"] = fit["alpha"]
            out[f"{key}_sets"] = np.array(json.dumps([[int(i) for i in s] for s in sets]))
    save(out, args.checkout, "susieinf.susie + cred", OUT)


def save(out: dict, checkout, what: str, path: Path) -> None:
    """Write the fixture ``path`` with a provenance entry naming the peer's commit and this script."""
    commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    out["provenance"] = np.array(f"FinucaneLab/fine-mapping-inf {commit.stdout.strip() or 'unknown commit'}, "
                                 f"{what}, N3finemapping (susieR 0.12.35 data), "
                                 f"bench/regen_{path.stem.replace('_n3', '')}_fixtures.py")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
