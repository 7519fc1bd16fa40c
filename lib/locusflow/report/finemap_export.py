"""Fine-mapping results in FINEMAP 1.4 and susieR layouts, with the inputs that reproduce them.

Per fine-mapped block ``<b>`` (``chrom_start-stop``) under ``<to>/finemap/``:

================  ==========================================================================================
file              content
================  ==========================================================================================
``<b>.z``         FINEMAP input: rsid chromosome position allele1 allele2 maf beta se of the fitted SNPs
                  (allele1 = alt = effect; beta = z * se so that beta / se is the z the run fine-mapped)
``<b>.ld``        FINEMAP input: their LD (the ld stage's stored r, float32 printed exactly, ``.z`` order)
``master``        FINEMAP ``--in-files``: one line per block; FINEMAP's own outputs go to ``<b>.finemap.*``
``<b>.snp``       FINEMAP 1.4.2 ``.snp``: index (row of ``.z``) rsid ... z prob log10bf mean sd mean_incl
                  sd_incl, by decreasing prob (SuSiE runs: SuSiE's PIPs in the same layout)
``<b>.config``    FINEMAP 1.4.2 ``.config`` (FINEMAP-SSS runs): rank config prob log10bf odds k prob_norm_k
                  h2 h2_0.95CI mean sd (the last four NA: not estimated)
``<b>.cred<k>``   FINEMAP 1.4.2 ``.cred<k>`` (FINEMAP-SSS runs), one per number of causal SNPs k with sets;
                  ``<b>.cred`` in the same layout for SuSiE runs (one column pair per effect with a set)
``susie_vars.tsv`` susieR ``summary(fit)$vars`` of every block (block_id first, variant_id last)
``susie_cs.tsv``  susieR ``summary(fit)$cs`` (block_id first, variant_ids last)
================  ==========================================================================================

``mean``, ``sd`` are the run's posterior effect moments (finemap_snp ``post_mean``, ``post_sd``: locusflow's
scale, see that schema, not FINEMAP's per-allele one); ``mean_incl`` and ``sd_incl`` are the moments given inclusion, exact for both methods because an
effect is exactly 0 with probability 1 - PIP: ``mean_incl = mean / prob`` and
``sd_incl^2 = (sd^2 + mean^2) / prob - mean_incl^2``. ``prob_norm_k = prob / p(k | z)`` with
``p(k | z)`` the summed posterior of the kept configurations with k SNPs (also the ``Post-Pr`` line of the
``.cred<k>`` header). SNPs removed before fine-mapping (z-vs-LD check) are not in these files; a run
with several ``run_id`` values writes each under ``finemap/<run_id>/``.

References
----------
Benner C et al. (2016) FINEMAP: efficient variable selection using summary data from genome-wide
association studies. Bioinformatics 32:1493-1501 (FINEMAP 1.4 input and output files, www.christianbenner.com).
Wang G et al. (2020) J R Stat Soc B 82:1273-1300; Zou Y et al. (2022) PLoS Genet 18:e1010299 (susieR
``summary.susie``, ``susie_rss``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..ld.matrix import read_block_ld, read_ld_index

SNP_COLUMNS = ["index", "rsid", "chromosome", "position", "allele1", "allele2", "maf", "beta", "se", "z", "prob",
               "log10bf", "mean", "sd", "mean_incl", "sd_incl"]
CONFIG_COLUMNS = ["rank", "config", "prob", "log10bf", "odds", "k", "prob_norm_k", "h2", "h2_0.95CI", "mean", "sd"]
MASTER_HEADER = "z;ld;snp;config;cred;log;n_samples"


def safe_name(name: str) -> str:
    """``name`` with characters other than letters, digits and ``._-`` replaced by ``_`` (a file stem).

    Parameters
    ----------
    name : str
        A block id (``20:18972204-20959711``), tissue or run id.

    Returns
    -------
    str
        E.g. ``20_18972204-20959711``.
    """
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in str(name))


def _sumstats_lookup(s: pd.DataFrame | None) -> pd.DataFrame:
    """af and se by variant_id, also under the allele-swapped id (af then 1 - af)."""
    if s is None:
        return pd.DataFrame(columns=["af", "se"])
    a = s.set_index("variant_id")[["af", "se"]].astype(float)
    sw = s["chrom"].astype(str) + ":" + s["pos"].astype(str) + ":" + s["alt"] + ":" + s["ref"]
    b = pd.DataFrame({"af": 1 - s["af"].astype(float).to_numpy(), "se": s["se"].astype(float).to_numpy()},
                     index=sw.to_numpy())
    out = pd.concat([a, b])
    return out[~out.index.duplicated()]


def _names(g: pd.DataFrame) -> pd.Series:
    """SNP names for FINEMAP: rsid when present and unique within the block, else variant_id."""
    rs = g["rsid"].where(g["rsid"].notna() & (g["rsid"] != ""), g["variant_id"])
    dup = rs.duplicated(keep=False)
    return rs.where(~dup, g["variant_id"])


def fitted_blocks(snp: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(run_id, block_id, fitted SNPs in fit order) per fine-mapped block.

    Parameters
    ----------
    snp : pandas.DataFrame
        The finemap_snp dataset.

    Returns
    -------
    list of tuple
        The fitted rows (``pip`` not null) of each block, sorted by position as the finemap stage fits them,
        with ``name`` (FINEMAP SNP name, :func:`_names`) and ``variable`` (1-based row) added.
    """
    out = []
    fit = snp[snp["pip"].notna()]
    for (run_id, block), g in fit.groupby(["run_id", "block_id"], sort=True):
        g = g.sort_values("pos", kind="stable").reset_index(drop=True)
        g["name"] = _names(g)
        g["variable"] = np.arange(1, len(g) + 1)
        out.append((str(run_id), str(block), g))
    return out


def finemap_inputs(g: pd.DataFrame, look: pd.DataFrame, r: np.ndarray | None, stem: Path) -> list[Path]:
    """Write ``<stem>.z`` (and ``<stem>.ld`` when ``r`` is given) for one block's fitted SNPs ``g``.

    Parameters
    ----------
    g : pandas.DataFrame
        One block of :func:`fitted_blocks`.
    look : pandas.DataFrame
        af and se by variant_id (:func:`_sumstats_lookup`).
    r : numpy.ndarray or None
        LD of ``g``'s SNPs in their order.
    stem : Path
        Output path without suffix.

    Returns
    -------
    list of Path
        The files written.
    """
    af = look["af"].reindex(g["variant_id"]).to_numpy(float)
    se = look["se"].reindex(g["variant_id"]).to_numpy(float)
    se = np.where(np.isfinite(se) & (se > 0), se, 1.0)
    z = g["z"].to_numpy(float)
    pd.DataFrame({"rsid": g["name"], "chromosome": g["chrom"], "position": g["pos"], "allele1": g["alt"],
                  "allele2": g["ref"], "maf": np.minimum(af, 1 - af), "beta": z * se, "se": se}).to_csv(
        f"{stem}.z", sep=" ", index=False, na_rep="NA")     # shortest repr: beta / se gives z back exactly
    out = [Path(f"{stem}.z")]
    if r is not None:
        np.savetxt(f"{stem}.ld", np.asarray(r, dtype=np.float32), fmt="%.9g", delimiter=" ")
        out.append(Path(f"{stem}.ld"))
    return out


def snp_table(g: pd.DataFrame, look: pd.DataFrame) -> pd.DataFrame:
    """FINEMAP 1.4.2 ``.snp`` rows of one block (:data:`SNP_COLUMNS`), by decreasing prob.

    Parameters
    ----------
    g : pandas.DataFrame
        One block of :func:`fitted_blocks`.
    look : pandas.DataFrame
        af and se by variant_id.

    Returns
    -------
    pandas.DataFrame
        One row per SNP of ``g``; ``beta = z * se`` as in the ``.z`` file.
    """
    af = look["af"].reindex(g["variant_id"]).to_numpy(float)
    se = look["se"].reindex(g["variant_id"]).to_numpy(float)
    se = np.where(np.isfinite(se) & (se > 0), se, 1.0)
    pip, mean, sd = (g[c].to_numpy(float) for c in ("pip", "post_mean", "post_sd"))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_incl = np.where(pip > 0, mean / pip, np.nan)
        sd_incl = np.sqrt(np.maximum((sd ** 2 + mean ** 2) / pip - mean_incl ** 2, 0.0))
    z = g["z"].to_numpy(float)
    t = pd.DataFrame({"index": g["variable"], "rsid": g["name"], "chromosome": g["chrom"], "position": g["pos"],
                      "allele1": g["alt"], "allele2": g["ref"], "maf": np.minimum(af, 1 - af), "beta": z * se,
                      "se": se, "z": z, "prob": pip, "log10bf": g["log10bf"], "mean": mean, "sd": sd,
                      "mean_incl": mean_incl, "sd_incl": np.where(pip > 0, sd_incl, np.nan)})
    return t.sort_values("prob", ascending=False, kind="stable")[SNP_COLUMNS]


def config_table(cfg: pd.DataFrame, names: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """FINEMAP 1.4.2 ``.config`` rows of one block and ``p(k | z)`` per k.

    Parameters
    ----------
    cfg : pandas.DataFrame
        The block's rows of the finemap_config dataset.
    names : pandas.Series
        FINEMAP SNP name by variant_id.

    Returns
    -------
    table : pandas.DataFrame
        :data:`CONFIG_COLUMNS`, by rank; ``config`` names the SNPs as the ``.z`` file does.
    post_k : pandas.Series
        Summed ``prob`` of the configurations with k SNPs, indexed by k.
    """
    cfg = cfg.sort_values("rank")
    post_k = cfg.groupby("k")["prob"].sum()
    nm = names.to_dict()
    conf = [",".join(nm.get(v, v) for v in c.split(",")) if c else "" for c in cfg["config"].astype(str)]
    t = pd.DataFrame({"rank": cfg["rank"].to_numpy(), "config": conf, "prob": cfg["prob"].to_numpy(),
                      "log10bf": cfg["log10bf"].to_numpy(), "odds": cfg["odds"].to_numpy(), "k": cfg["k"].to_numpy(),
                      "prob_norm_k": cfg["prob"].to_numpy() / post_k.reindex(cfg["k"]).to_numpy(),
                      "h2": np.nan, "h2_0.95CI": np.nan, "mean": np.nan, "sd": np.nan})
    return t[CONFIG_COLUMNS], post_k


def cred_text(sets: pd.DataFrame, names: pd.Series, post_k: float | None, head: str | None = None) -> str:
    """A FINEMAP 1.4.2 ``.cred`` file: header lines, then index cred1 prob1 cred2 prob2 ...

    Parameters
    ----------
    sets : pandas.DataFrame
        finemap_cs rows of one block and k (FINEMAP) or all its effects (SuSiE), in column order.
    names : pandas.Series
        FINEMAP SNP name by variant_id.
    post_k : float or None
        ``p(k | z)`` for the first header line (None: NA).
    head : str, optional
        First header line instead of FINEMAP's ``# Post-Pr(# of causal SNPs is k) = ...``.

    Returns
    -------
    str
        The file's text: each column lists a set's SNPs by decreasing probability, NA below its end.
    """
    def num(v):
        return "NA" if v is None or not np.isfinite(float(v)) else f"{float(v):.6g}"
    k = len(sets)
    lines = [head or f"# Post-Pr(# of causal SNPs is {k}) = {num(post_k)}"]
    for label, col in (("#log10bf", "log10bf"), ("#min(|ld|)", "min_abs_corr"), ("#mean(|ld|)", "mean_abs_corr"),
                       ("#median(|ld|)", "median_abs_corr")):
        lines.append(label + "".join(f" {num(v)} NA" for v in sets[col].to_numpy(dtype=float, na_value=np.nan)))
    cols = []
    for vs, ps in zip(sets["variants"], sets["probs"]):
        o = np.argsort(-np.asarray(ps, dtype=float), kind="stable")
        cols.append([(str(names.get(vs[i], vs[i])), f"{float(ps[i]):.6g}") for i in o])
    lines.append("index " + " ".join(f"cred{j} prob{j}" for j in range(1, k + 1)))
    for i in range(max((len(c) for c in cols), default=0)):
        lines.append(f"{i + 1} " + " ".join(" ".join(c[i]) if i < len(c) else "NA NA" for c in cols))
    return "\n".join(lines) + "\n"


def susie_summary(g: pd.DataFrame, cs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """susieR ``summary(fit)`` of one block: (vars, cs) frames.

    Parameters
    ----------
    g : pandas.DataFrame
        One block of :func:`fitted_blocks`.
    cs : pandas.DataFrame
        The block's finemap_cs rows, in rank order (susieR's order of sets).

    Returns
    -------
    vars : pandas.DataFrame
        variable (1-based row of the block's ``.z``), variable_prob, cs (effect of the last set in rank order
        holding the variable, -1 for none, as susieR assigns it), variant_id; by decreasing variable_prob when
        there are sets, as susieR.
    cs : pandas.DataFrame
        cs (effect), cs_log10bf, cs_avg_r2 (mean |r| squared), cs_min_r2, variable (row numbers ascending,
        comma-separated), variant_ids.
    """
    row = pd.Series(g["variable"].to_numpy(), index=g["variant_id"].to_numpy())
    v = pd.DataFrame({"variable": g["variable"].to_numpy(), "variable_prob": g["pip"].to_numpy(float),
                      "cs": -1, "variant_id": g["variant_id"].to_numpy()})
    rows = []
    for c in cs.itertuples():
        idx = np.sort(row.reindex(list(c.variants)).dropna().astype(int).to_numpy())
        eff = int(c.effect) if pd.notna(c.effect) else int(str(c.cs).rsplit(".", 1)[-1])   # FINEMAP: k<k>.<j>
        v.loc[v["variable"].isin(idx), "cs"] = eff
        rows.append({"cs": eff, "cs_log10bf": c.log10bf, "cs_avg_r2": c.mean_abs_corr ** 2,
                     "cs_min_r2": c.min_abs_corr ** 2, "variable": ",".join(map(str, idx)),
                     "variant_ids": ",".join(g["variant_id"].to_numpy()[idx - 1])})
    if rows:
        v = v.sort_values("variable_prob", ascending=False, kind="stable")
    cols = ["cs", "cs_log10bf", "cs_avg_r2", "cs_min_r2", "variable", "variant_ids"]
    return v, pd.DataFrame(rows, columns=cols)


def block_ld(ld_dir: Path, block: str, variant_ids) -> np.ndarray | None:
    """The stored LD of ``variant_ids`` (in that order) from block ``block``, or None when any is missing.

    Parameters
    ----------
    ld_dir : Path
        The ld stage's matrices.
    block : str
        Block id.
    variant_ids : sequence of str
        The SNPs, in output order.

    Returns
    -------
    numpy.ndarray or None
    """
    if not (ld_dir / "index").exists() or block not in set(read_ld_index(ld_dir)["block_id"]):
        return None
    var, r = read_block_ld(ld_dir, block)
    pos = pd.Index(var["variant_id"]).get_indexer(list(variant_ids))
    if (pos < 0).any():
        return None
    return r[np.ix_(pos, pos)]


def export_finemap_tables(snp: pd.DataFrame, cs: pd.DataFrame | None, config: pd.DataFrame | None,
                          sumstats: pd.DataFrame | None, ld_dir: Path, to: Path, *, susie: bool = True,
                          finemap: bool = True) -> list[Path]:
    """Write the files of the module docstring for every block of a run.

    Parameters
    ----------
    snp, cs, config : pandas.DataFrame
        The finemap_snp, finemap_cs and finemap_config datasets (cs, config may be None).
    sumstats : pandas.DataFrame or None
        The run's sumstats (maf and se of the ``.z`` file; NA and 1 without them).
    ld_dir : Path
        The ld stage's matrices (``.ld`` files and ``master`` only when every fitted SNP is in them).
    to : Path
        Export directory; files go under ``to/finemap/`` (created).
    susie, finemap : bool
        Write the susieR tables / the FINEMAP files.

    Returns
    -------
    list of Path
        Every file written.
    """
    look = _sumstats_lookup(sumstats)
    blocks = fitted_blocks(snp)
    multi = len({b[0] for b in blocks}) > 1
    out: list[Path] = []
    master: dict[Path, list[str]] = {}
    vars_, sets_ = {}, {}
    for run_id, block, g in blocks:
        d = to / "finemap" / (safe_name(run_id) if multi else "")
        d.mkdir(parents=True, exist_ok=True)
        stem = d / safe_name(block)
        names = pd.Series(g["name"].to_numpy(), index=g["variant_id"].to_numpy())
        bcs = (cs[(cs["run_id"] == run_id) & (cs["block_id"] == block)].sort_values("rank")
               if cs is not None else pd.DataFrame())
        if finemap:
            r = block_ld(ld_dir, block, g["variant_id"])
            out += finemap_inputs(g, look, r, stem)
            if r is not None:
                n = g["n"].astype(float).median()
                master.setdefault(d, []).append(";".join(
                    [f"{stem.name}.z", f"{stem.name}.ld"] + [f"{stem.name}.finemap.{x}" for x in ("snp", "config", "cred", "log")]
                    + [str(int(round(n))) if np.isfinite(n) else "NA"]))
            snp_table(g, look).to_csv(f"{stem}.snp", sep=" ", index=False, na_rep="NA", float_format="%.6g")
            out.append(Path(f"{stem}.snp"))
            post_k = pd.Series(dtype=float)
            if config is not None and len(config):
                bc = config[(config["run_id"] == run_id) & (config["block_id"] == block)]
                if len(bc):
                    tab, post_k = config_table(bc, names)
                    tab.to_csv(f"{stem}.config", sep=" ", index=False, na_rep="NA", float_format="%.6g")
                    out.append(Path(f"{stem}.config"))
            if len(bcs) and bcs["k"].notna().any():
                for k, sets in bcs[bcs["k"].notna()].groupby("k"):
                    sets = sets.sort_values("cs", key=lambda c: c.str.rsplit(".", n=1).str[-1].astype(int))
                    p = Path(f"{stem}.cred{int(k)}")
                    p.write_text(cred_text(sets, names, post_k.get(k)))
                    out.append(p)
            elif len(bcs):
                p = Path(f"{stem}.cred")
                p.write_text(cred_text(bcs.sort_values("effect"), names, None,
                                       head=f"# {bcs['method'].iloc[0]} credible sets, one column pair per effect "
                                            f"with a set (FINEMAP .cred layout; no Post-Pr(k))"))
                out.append(p)
        if susie:       # FINEMAP runs: the sets of the most probable k (those named in finemap_snp's cs)
            sets = bcs[bcs["cs"].isin(set(g["cs"].dropna()))] if len(bcs) and bcs["k"].notna().any() else bcs
            v, c = susie_summary(g, sets)
            vars_.setdefault(d, []).append(v.assign(block_id=block))
            sets_.setdefault(d, []).append(c.assign(block_id=block))
    for d, lines in master.items():
        (d / "master").write_text(MASTER_HEADER + "\n" + "\n".join(lines) + "\n")
        out.append(d / "master")
    for d, parts in vars_.items():
        d.mkdir(parents=True, exist_ok=True)
        v = pd.concat(parts, ignore_index=True)
        v[["block_id"] + [c for c in v.columns if c != "block_id"]].to_csv(d / "susie_vars.tsv", sep="\t", index=False)
        c = pd.concat(sets_.get(d, []), ignore_index=True) if sets_.get(d) else pd.DataFrame(columns=["block_id"])
        c[["block_id"] + [x for x in c.columns if x != "block_id"]].to_csv(d / "susie_cs.tsv", sep="\t", index=False,
                                                                            na_rep="NA")
        out += [d / "susie_vars.tsv", d / "susie_cs.tsv"]
    return out
