"""Stage `popgen`: Fst between populations per variant, in windows and genome-wide.

Config section ``popgen``::

    popgen:
      populations: pops.tsv     # two columns with a header: sample id, population
      pops: [CEU, YRI, CHB]     # populations to compare pairwise [every label present]
      window: 100000            # window length (bp) for windowed Fst
      step: 50000               # window stride [window]

Writes ``<out>/popgen/fst`` (dataset fst_variants: Hudson and Weir-Cockerham per variant and pair),
``<out>/popgen/fst_windows`` (dataset fst_windows) and ``<out>/popgen/frequencies`` (dataset
pop_allele_freq: alt frequency per population). CLI: ``locusflow popgen --populations FILE --out ROOT``.
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
    from ..io.dataset import write_dataset
    from .fst import genome_fst, run_fst, window_fst

    sec = ctx.section("popgen")
    per = run_fst(_store(ctx.cfg), read_populations(sec["populations"]), pops=sec.get("pops"),
                  chunk=sec.get("chunk"), **ctx.runner_kwargs())
    win = window_fst(per, int(sec.get("window", 100000)), sec.get("step"))
    freq = run_fst(_store(ctx.cfg), read_populations(sec["populations"]), pops=sec.get("pops"),
                   chunk=sec.get("chunk"), what="freq", **ctx.runner_kwargs())
    write_dataset(freq, ctx.path("pop_allele_freq"), "pop_allele_freq", mode="overwrite")
    write_dataset(per, ctx.path("fst_variants"), "fst_variants", mode="overwrite")
    write_dataset(win, ctx.path("fst_windows"), "fst_windows", mode="overwrite")
    gw = genome_fst(per)
    return {"pairs": int(len(gw)), "variants": int(per["variant_id"].nunique()), "windows": int(len(win)),
            "genome_fst": {f"{a}-{b}": {"hudson": round(float(h), 5), "wc": round(float(w), 5)}
                           for a, b, h, w in gw[["pop1", "pop2", "hudson_fst", "wc_fst"]].itertuples(index=False)}}


register(Stage("popgen", _run, inputs=lambda cfg: [_store(cfg)], config=CONFIG))
