"""Stage `popgen`: Fst between populations per variant, in windows and genome-wide.

Config section ``popgen``::

    popgen:
      populations: pops.tsv     # two columns with a header: sample id, population
      pops: [CEU, YRI, CHB]     # populations to compare pairwise [every label present]
      window: 100000            # window length (bp) for windowed Fst
      step: 50000               # window stride [window]
      scan_population: null     # a phased store: iHS and nSL of this population [no scan]
      scan_reference: null      # and XP-EHH against this one
      scan_bins: null           # alt-count bins of the iHS/nSL standardisation [max count // 2]

Writes ``<out>/popgen/fst`` (dataset fst_variants: Hudson and Weir-Cockerham per variant and pair),
``<out>/popgen/fst_windows`` (dataset fst_windows), ``<out>/popgen/frequencies`` (dataset
pop_allele_freq: alt frequency per population) and, with ``scan_population``, ``<out>/popgen/selection``
(dataset selection_scan: :func:`locusflow.popgen.ehh.run_selection_scan`, written by its tasks in two
passes). Each task writes its chunk's rows of fst and
frequencies and returns its per-pair sums (the genome-wide Fst adds them up); the windows are a second
pass, one task per chromosome over that chromosome's fragments (:func:`locusflow.popgen.fst.run_window_fst`).
CLI: ``locusflow popgen --populations FILE --out ROOT``.
EHH scans (iHS, nSL, XP-EHH) need phased haplotypes: :mod:`locusflow.popgen.ehh`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config_schema import Key
from ..errors import InputError
from ..layout import section_store
from ..pipeline import Context, Stage, register

CONFIG = {
    "populations": Key("file", None, "table with a header: sample id, population", required=True),
    "pops": Key("list", None, "populations to compare pairwise [every label present]", item=Key("str")),
    "window": Key("int", 100000, "window length in bp for windowed Fst", min=1),
    "step": Key("int", None, "window stride in bp [window]", min=1),
    "chunk": Key("int", None, "variants per work unit [the store's chunk]", min=1),
    "store": Key("path", None, "genotype store [this run's genotypes]"),
    "scan_population": Key("str", None, "phased store: population of the iHS/nSL scan [no scan]"),
    "scan_reference": Key("str", None, "XP-EHH reference population of the scan [no XP-EHH]"),
    "scan_bins": Key("int", None, "alt-count bins of the iHS/nSL standardisation [max count // 2]", min=1),
}


def _store(cfg) -> Path:
    return Path(section_store(cfg, "popgen"))


def read_populations(path) -> pd.Series:
    """Population label per sample id from a two-column table with a header.

    Parameters
    ----------
    path : str or Path
        Delimited text table with a header (delimiter sniffed): sample id, population; further columns
        are ignored.

    Returns
    -------
    pandas.Series
        Population label (str) per sample id (index, str).

    Raises
    ------
    InputError
        When the table has fewer than two columns.

    References
    ----------
    plink2 ``--pheno`` categorical column as used by ``--fst``.
    """
    t = pd.read_csv(path, sep=None, engine="python", dtype=str)
    if t.shape[1] < 2:
        raise InputError(path, "two columns: sample id, population", row=0, value=list(t.columns))
    return pd.Series(t.iloc[:, 1].to_numpy(), index=t.iloc[:, 0].to_numpy())


def _run(ctx: Context) -> dict:
    from ..io.dataset import finish_fragments
    from .fst import genome_fst_from_index, run_fst, run_window_fst

    sec = ctx.section("popgen")
    pops = read_populations(sec["populations"])
    kw = {"pops": sec.get("pops"), "chunk": sec.get("chunk"), **ctx.runner_kwargs()}
    where = {name: str(ctx.path(name)) for name in ("pop_allele_freq", "fst_variants", "fst_windows")}
    # the tasks write every dataset (executors write, issue 19); the driver sums their per-chunk stats
    freq = run_fst(_store(ctx.cfg), pops, what="freq", write_to=where["pop_allele_freq"], **kw)
    finish_fragments(where["pop_allele_freq"], "pop_allele_freq", freq)
    per = run_fst(_store(ctx.cfg), pops, write_to=where["fst_variants"], **kw)
    finish_fragments(where["fst_variants"], "fst_variants", per)
    names = per.attrs["names"]
    win = run_window_fst(where["fst_variants"], per, int(sec.get("window", 100000)), sec.get("step"), names=names,
                         write_to=where["fst_windows"], **ctx.runner_kwargs())
    finish_fragments(where["fst_windows"], "fst_windows", win)
    gw = genome_fst_from_index(per, names)
    variants = int(per["stat_variants"].sum()) if "stat_variants" in per.columns else 0
    summary = {"pairs": int(len(gw)), "variants": variants, "windows": int(win["rows"].sum()) if len(win) else 0,
               "genome_fst": {f"{a}-{b}": {"hudson": round(float(h), 5), "wc": round(float(w), 5)}
                              for a, b, h, w in gw[["pop1", "pop2", "hudson_fst", "wc_fst"]].itertuples(index=False)}}
    if sec.get("scan_population"):
        summary["selection_scan"] = _scan(ctx, sec, pops)
    return summary


def _scan(ctx: Context, sec: dict, pops: pd.Series) -> dict:
    """The optional EHH scan: two distributed passes, the tasks write (module :mod:`locusflow.popgen.ehh`)."""
    from ..io.dataset import finish_fragments
    from .ehh import run_selection_scan
    where = str(ctx.path("selection_scan"))
    index = run_selection_scan(_store(ctx.cfg), pops, str(sec["scan_population"]), sec.get("scan_reference"),
                               n_bins=sec.get("scan_bins"), write_to=where, **ctx.runner_kwargs())
    finish_fragments(where, "selection_scan", index, manifest={"standardise": index.attrs["standardise"]})
    tot = {c[len("stat_"):]: int(index[c].fillna(0).sum()) for c in index.columns if c.startswith("stat_")}
    return {"population": str(sec["scan_population"]), "reference": sec.get("scan_reference"),
            "variants": int(index["rows"].sum()), **tot}


register(Stage("popgen", _run, inputs=lambda cfg: [_store(cfg)], config=CONFIG))
