"""The one way a stage gets its subcommand: ``locusflow <stage> [flags]`` from its config section.

Every scalar key of the stage's declared section (:class:`locusflow.config_schema.Key`) becomes a flag
(``min_maf`` -> ``--min-maf``; a key of a nested section, ``susie.L`` -> ``--susie-L``); a key with
``cli="positional"`` is a positional argument. Values given on the command line go through the same
schema check as a config file (named ``command line (--flag)`` in messages), and the stage runs through
the same path as ``locusflow run``: validated config, lock, fingerprint, staging, atomic publish.
``--out`` is the results root: the stage writes ``<out>/<stage>/...``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from .config import load_config
from .layout import STAGE_INFO

COMMON_HELP = {
    "--config": "pipeline YAML(s) whose settings this stage reads (later files override earlier); flags override them",
    "--out": "results root: this stage writes <out>/<stage>/ (default: the config's out, else ./out)",
    "--engine": "how work units run: local | dask | spark (same numbers on each)",
    "--set": "override any config key, e.g. --set finemap.susie.L=5 (repeatable)",
    "--force": "run even when nothing the stage reads changed",
    "--genome-build": "genome build of this run's positions and outputs (GRCh37 | GRCh38 | any species' name)",
}


def _flags(keys: dict, prefix: str = ""):
    """(flag, dotted key, Key) for every key that gets a flag."""
    for name, key in keys.items():
        if key.cli is False:
            continue
        kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
        if "section" in kinds and key.keys:
            yield from _flags(key.keys, f"{prefix}{name}.")
            continue
        if set(kinds) & {"map", "section", "any"}:
            continue
        flag = key.cli if isinstance(key.cli, str) else f"--{(prefix + name).replace('.', '-').replace('_', '-')}"
        yield flag, prefix + name, key


def add_common(p: argparse.ArgumentParser, *, config_flag: bool = True) -> None:
    """The flags every command that runs stages shares.

    ``--config`` (repeatable), ``--out``, ``--engine``, ``--genome-build``, ``--set`` (repeatable) and
    ``--force``, with the help texts of :data:`COMMON_HELP`.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The (sub)command parser to add them to.
    config_flag : bool
        Add ``--config`` (``locusflow run`` takes its configs as positional arguments instead).

    Returns
    -------
    None
    """
    if config_flag:
        p.add_argument("--config", action="append", metavar="YAML", help=COMMON_HELP["--config"])
    p.add_argument("--out", metavar="ROOT", help=COMMON_HELP["--out"])
    p.add_argument("--engine", choices=["local", "dask", "spark"], help=COMMON_HELP["--engine"])
    p.add_argument("--genome-build", dest="genome_build", metavar="BUILD", help=COMMON_HELP["--genome-build"])
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help=COMMON_HELP["--set"])
    p.add_argument("--force", action="store_true", help=COMMON_HELP["--force"])


def add_stage_command(sub, stage, name: str | None = None, *, hidden: bool = False) -> argparse.ArgumentParser:
    """Add ``locusflow <name>`` to ``sub`` (argparse subparsers) from the stage's config section.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``locusflow`` (or of a command group such as ``dnalm``).
    stage : locusflow.pipeline.Stage
        A registered stage with ``config``; its optional ``cli_extra(parser)`` adds flags the section does
        not declare and ``cli_config(args) -> dict`` maps them onto the section.
    name : str, optional
        The subcommand's word [``stage.name``].
    hidden : bool
        Not listed in ``--help`` (the stage's name as an alias of its command, e.g. ``score_variants``).

    Returns
    -------
    argparse.ArgumentParser
    """
    info = STAGE_INFO.get(stage.name)
    p = sub.add_parser(name or stage.name, **({} if hidden else {"help": info.help if info else stage.name}),
                       description=(info.help if info else stage.name) + ". Writes " + ", ".join(
                           f"<out>/{stage.name}/{rel} ({ds})" for ds, rel in (info.datasets if info else {}).items()))
    if stage.cli_extra is not None:
        stage.cli_extra(p)
    for flag, dotted, key in _flags(stage.config or {}):
        kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
        text = key.help + (f" (default {key.default})" if key.default is not None else "")
        dest = "opt__" + dotted.replace(".", "__")
        if key.cli == "positional":
            p.add_argument(dest, nargs="?", metavar=dotted.split(".")[-1].upper(), help=text)
        elif kinds == ("bool",):
            p.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif "list" in kinds:
            p.add_argument(flag, dest=dest, nargs="+", metavar="X", help=text)
        else:
            p.add_argument(flag, dest=dest, metavar=flag.lstrip("-").split("-")[-1].upper(),
                           choices=list(key.choices) if key.choices and kinds == ("str",) else None, help=text)
    add_common(p)
    p.set_defaults(func=lambda a: run_stage_command(a, stage))
    return p


def _parse(text: str, key):
    kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
    if set(kinds) <= {"str", "path", "file"}:
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def stage_overrides(a, stage) -> dict:
    """The section values given on the command line, as a nested mapping.

    Values of non-string keys are parsed as YAML (a value that does not parse stays a string); a
    ``file`` key given one existing file is that file, not a list of one. ``stage.cli_config(a)``, when
    the stage has one, is merged on top.

    Parameters
    ----------
    a : argparse.Namespace
        Parsed arguments of the stage's subcommand (flags stored as ``opt__<dotted__key>``).
    stage : locusflow.pipeline.Stage
        The stage whose ``config`` section declares the flags.

    Returns
    -------
    dict
        Key -> value, nested for keys of sub-sections (``susie.L`` -> {"susie": {"L": ...}}); only the
        flags given.
    """
    sec: dict = {}
    for _, dotted, key in _flags(stage.config or {}):
        v = getattr(a, "opt__" + dotted.replace(".", "__"), None)
        if v is None:
            continue
        kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
        if isinstance(v, list) and "file" in kinds and len(v) == 1 and Path(v[0]).is_file():
            v = v[0]                                  # --samples FILE: the file, not a list of one id
        elif isinstance(v, list):
            v = [_parse(x, key.item) if key.item else x for x in v]
        elif not isinstance(v, bool):
            v = _parse(v, key)
        cur = sec
        parts = dotted.split(".")
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = v
    if stage.cli_config is not None:
        sec.update(stage.cli_config(a) or {})
    return sec


def run_stage_command(a, stage) -> int:
    """Run one stage from its subcommand through :func:`locusflow.pipeline.run_pipeline`.

    The command-line section values, ``--out``, ``--engine`` and ``--genome-build`` override the
    ``--config`` files, ``--set`` overrides them all; the run's summary is printed.

    Parameters
    ----------
    a : argparse.Namespace
        Parsed arguments of the stage's subcommand.
    stage : locusflow.pipeline.Stage
        The stage to run (``stages: [stage.name]``).

    Returns
    -------
    int
        0 (errors are raised).

    Raises
    ------
    ConfigError
        When the resulting configuration is invalid (:func:`locusflow.pipeline.resolve_config`) or a
        ``--set`` is malformed.
    InputError
        When a config file is missing or not valid YAML, or the stage rejects an input.
    """
    from .pipeline import run_pipeline
    from .summary import print_summary
    over: dict = {"stages": [stage.name]}
    sec = stage_overrides(a, stage)
    if sec:
        over[stage.name] = sec
    for k in ("out", "engine", "genome_build"):
        if getattr(a, k, None):
            over[k] = getattr(a, k)
    cfg = load_config(a.config, over, sets=a.set or (), source="command line")
    summaries = run_pipeline(cfg, force=a.force)
    print_summary(cfg, summaries)
    return 0
