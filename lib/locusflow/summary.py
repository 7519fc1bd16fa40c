"""The short report at the end of ``locusflow run``: per stage its rows, blocks with signal and top hits.

Read from the published datasets (so a skipped stage is summarised too): top TWAS genes by |z|, credible
sets with their lead variant and its PIP, top FOCUS genes by PIP.
"""
from __future__ import annotations


from . import storage
from .layout import dataset_path

TOP_N = 5


def _read(cfg, name, schema, columns=None, filters=None):
    from .io.dataset import read_dataset
    path = dataset_path(cfg, name)
    if not (path / "_SUCCESS").exists():
        return None
    return read_dataset(path, schema, columns=columns, filters=filters)


def _rows(cfg, name):
    """Rows of a published dataset, from its manifest (no data file opened); None when absent."""
    from .io.dataset import read_manifest
    path = dataset_path(cfg, name)
    if not (path / "_SUCCESS").exists():
        return None
    rows = (read_manifest(path) or {}).get("rows")
    return None if rows is None else int(rows)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def stage_lines(cfg: dict, name: str, summary) -> list[str]:
    """Lines for one stage (its own summary dict plus its top hits).

    A skipped stage is summarised from its published manifest. ingest, munge and ld list counts from
    their summary; twas, finemap and focus read their published datasets for the top hits (twas: genes
    by |z|; finemap: credible sets with their lead variant's PIP; focus: genes by PIP); any other stage
    lists up to six scalar summary entries. A stage rerun incrementally (:mod:`locusflow.engine.reuse`)
    gets a line saying which chromosomes' work units it recomputed and how many it reused.

    Parameters
    ----------
    cfg : dict
        The pipeline configuration (``out``, ``paths``).
    name : str
        Stage name.
    summary : dict or str
        The stage's summary dict, or ``'skipped'``.

    Returns
    -------
    list of str
        A head line ``<name> (ran|skipped: unchanged)``, then indented detail lines.
    """
    s = summary if isinstance(summary, dict) else {}
    if summary == "skipped":
        from .commit import Versions
        s = (Versions(cfg["out"]).manifest(name) or {}).get("summary") or {}
    head = f"{name} ({'skipped: unchanged' if summary == 'skipped' else 'ran'})"
    lines = []
    if name == "ingest":
        lines.append(_kv(s, ("variants", "samples")))
    elif name == "munge":
        lines.append(_kv(s, ("format", "rows_in_file", "kept")) + (
            "; dropped " + ", ".join(f"{k} {v}" for k, v in s["dropped"].items()) if s.get("dropped") else ""))
    elif name == "ld":
        lines.append(_kv(s, ("blocks", "source", "ld_variants", "largest_block")))
    elif name == "twas":
        t = _read(cfg, "twas_results", "twas_results", ["gene_name", "gene", "tissue", "zscore", "pvalue"])
        if t is not None:
            t = t[t["zscore"].notna()]
            lines.append(f"{len(t)} gene models tested")
            top = t.reindex(t["zscore"].abs().sort_values(ascending=False).index).head(TOP_N)
            lines += [f"  {r.gene_name or r.gene} ({r.tissue}): z {r.zscore:+.2f}, p {_fmt(r.pvalue)}"
                      for r in top.itertuples()]
    elif name == "finemap":
        n_blocks = _rows(cfg, "finemap_blocks")
        cs = _read(cfg, "finemap_cs", "finemap_cs")
        shown = cs.head(TOP_N * 2) if cs is not None else None
        leads = sorted(set(shown["lead_variant"].dropna())) if shown is not None else []
        chroms = sorted(set(shown["chrom"].astype(str))) if shown is not None else []
        # only the shown lead variants' rows, from their chromosomes' partitions (a genome's finemap_snp has a
        # row per variant of every block)
        snp = _read(cfg, "finemap_snp", "finemap_snp", ["variant_id", "pip"],
                    filters=[("chrom", "in", chroms), ("variant_id", "in", leads)] if leads else None)
        if cs is not None and snp is not None:
            pip = dict(zip(snp["variant_id"], snp["pip"]))
            lines.append(f"{n_blocks if n_blocks is not None else '?'} blocks with signal fine-mapped, "
                         f"{len(cs)} credible sets")
            lines += [f"  {r.cs}: lead {r.lead_variant} (PIP {pip.get(r.lead_variant, float('nan')):.3f}), "
                      f"{r.n_variants} variants" for r in shown.itertuples()]
    elif name == "focus":
        f = _read(cfg, "focus_results", "focus_results", ["block_id", "mol_name", "tissue", "pip", "in_cred_set"])
        if f is not None:
            f = f[f["mol_name"].notna() & (f["mol_name"] != "NULL")]
            lines.append(f"{f['block_id'].nunique()} blocks with signal, {int(f['in_cred_set'].sum())} genes in credible sets")
            top = f.sort_values("pip", ascending=False).head(TOP_N)
            lines += [f"  {r.mol_name} ({r.tissue}): PIP {r.pip:.3f}" for r in top.itertuples()]
    else:
        lines.append(_kv(s, tuple(k for k, v in s.items() if isinstance(v, (int, float, str)))[:6]))
    inc = s.get("incremental") if summary != "skipped" else None
    if inc:
        lines.append(f"incremental: recomputed {inc['units_recomputed']} work unit(s) (chromosomes "
                     f"{', '.join(inc['chroms_recomputed']) or 'none'}), reused {inc['units_reused']} unchanged "
                     f"(chromosomes {', '.join(inc['chroms_reused']) or 'none'})")
    return [head] + ["  " + x for x in lines if x]


def _kv(s: dict, keys) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {s[k]}" for k in keys if k in s)


def print_summary(cfg: dict, summaries: dict, file=None) -> None:
    """Print the end-of-run summary of ``summaries`` (stage -> summary or 'skipped').

    A stage whose summary cannot be built gets a ``(no summary: ...)`` line instead (never an error);
    then the HTML report's path, when one is published, and the results root.

    Parameters
    ----------
    cfg : dict
        The pipeline configuration.
    summaries : dict
        Stage name -> summary dict or ``'skipped'`` (as :func:`locusflow.pipeline.run_pipeline` returns).
    file : file-like, optional
        Where to print; default ``sys.stdout``.

    Returns
    -------
    None
    """
    import sys
    file = file or sys.stdout
    for name, s in summaries.items():
        try:
            lines = stage_lines(cfg, name, s)
        except Exception as exc:      # a summary must never turn a finished run into a failure
            lines = [name, f"  (no summary: {exc.__class__.__name__}: {exc})"]
        print("\n".join(lines), file=file)
    from .layout import DATASETS
    for ds, (_, rel) in DATASETS.items():          # the HTML report, once a stage publishes one
        if rel.endswith(".html") and dataset_path(cfg, ds).exists():
            print(f"report: {dataset_path(cfg, ds)}", file=file)
    print(f"results in {storage.redact(storage.uri(cfg['out']))}", file=file)
