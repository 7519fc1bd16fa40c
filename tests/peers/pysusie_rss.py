"""Fallback peer: PyPI pysusie (a port of susieR 0.12.35) run in its own virtual environment with the
same directory protocol as tests/susier_rss.R. Used by the tests only when Rscript/susieR is absent."""
import sys
from pathlib import Path

import numpy as np
import pysusie

d = Path(sys.argv[1])
opt = dict(line.split("\t", 1) for line in (d / "opts.txt").read_text().splitlines())
p = int(opt["p"])
z = np.fromfile(d / "z.bin", "<f8")
R = np.fromfile(d / "R.bin", "<f8").reshape(p, p).T.copy()
n = None if opt["n"] == "NA" else float(opt["n"])
if opt["mode"] == "kriging":
    k = pysusie.kriging_rss(z, R, n=n)["conditional_dist"]
    s = pysusie.estimate_s_rss(z, R, n=n)
    np.concatenate([[s], k["condmean"], k["condvar"], k["z_std_diff"], k["logLR"]]).astype("<f8").tofile(d / "kriging.bin")
    sys.exit(0)
kw = dict(L=int(opt["L"]), tol=float(opt["tol"]), max_iter=int(opt["max_iter"]),
          estimate_residual_variance=opt["estimate_residual_variance"] == "TRUE",
          estimate_prior_method=opt["estimate_prior_method"], null_weight=float(opt["null_weight"]),
          n_purity=int(opt["n_purity"]))
if (d / "prior_weights.bin").exists():
    kw["prior_weights"] = np.fromfile(d / "prior_weights.bin", "<f8")
import time  # noqa: E402
t0 = time.process_time()
if (d / "bhat.bin").exists():
    kw.update(bhat=np.fromfile(d / "bhat.bin", "<f8"), shat=np.fromfile(d / "shat.bin", "<f8"),
              var_y=float(opt["var_y"]))
    z = None
fit = pysusie.susie_rss(z=z, R=R, n=n, **kw)
elapsed = time.process_time() - t0
np.asarray(fit["pip"], "<f8").tofile(d / "pip.bin")
np.asarray(fit["alpha"], "<f8").tofile(d / "alpha.bin")
np.asarray(fit["V"], "<f8").tofile(d / "V.bin")
np.asarray(fit["elbo"], "<f8").tofile(d / "elbo.bin")
np.array([fit["alpha"].shape[0], fit["niter"], float(fit["converged"]), fit["sigma2"], elapsed], "<f8").tofile(d / "info.bin")
sets, lines = fit["sets"], []
if sets.get("cs") is not None:
    pur = sets["purity"]
    for i, cs in enumerate(sets["cs"]):
        lines.append("\t".join([sets["cs_names"][i], repr(float(sets["coverage"][i])),
                                *(repr(float(pur[k][i])) for k in ("min.abs.corr", "mean.abs.corr", "median.abs.corr")),
                                ",".join(str(int(j) + 1) for j in cs)]))
(d / "cs.txt").write_text("".join(x + "\n" for x in lines))
