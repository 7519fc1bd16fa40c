"""The one ``locusflow`` command. ``locusflow run CONFIG`` runs the pipeline; every stage also has its
own subcommand (``locusflow ingest``, ``locusflow munge``, ...), built from its config section.

``locusflow --help`` lists the stages from :data:`locusflow.layout.STAGES` without importing any of
them; ``locusflow <stage> ...`` imports that stage only. Every failure the user can cause (bad config,
bad input file, permissions, a locked results root) prints one line and exits with status 2; ``--debug``
adds the traceback.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from .logs import get_logger
from .version import __version__
from .cli_stage import add_common, add_stage_command
from .errors import LocusflowError
from .layout import STAGES

log = get_logger()


def _cmd_run(args) -> int:
    from .config import load_config
    from .pipeline import run_pipeline
    from .summary import print_summary
    over = {k: getattr(args, k) for k in ("out", "engine", "genome_build") if getattr(args, k)}
    cfg = load_config(args.config, over, sets=args.set or ())
    summaries = run_pipeline(cfg, force=args.force)
    print_summary(cfg, summaries)
    return 0


def _cmd_config(args) -> int:
    from .config import load_config
    from .config_schema import explain
    from .pipeline import resolve_config, sections
    if args.explain or not args.config:
        print(explain(sections()))
        return 0
    import yaml
    cfg = resolve_config(load_config(args.config, sets=args.set or ()))
    print(yaml.safe_dump(dict(cfg), sort_keys=False), end="")
    return 0


def _cmd_serve(args) -> int:
    from .report.server import serve
    serve(args.results, host=args.host, port=args.port)
    return 0


def _cmd_export(args) -> int:
    from .report.export import export
    done = export(args.results, args.to, args.format or None)
    for why in done.pop("skipped", []):
        print(f"skipped: {why}")
    for f, paths in done.items():
        print(f"{f}: {len(paths)} file(s) under {args.to}")
    return 0


def _cmd_history(args) -> int:
    import time
    from .commit import Versions
    from .layout import stage_names
    from .storage import redact
    v = Versions(args.results)
    stages = args.stage or stage_names()
    found = False
    for s in stages:
        hist = v.history(s)
        if not hist:
            continue
        found = True
        print(f"{s}:")
        for m in hist:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(m.get("published_at") or 0))
            inc = (m.get("summary") or {}).get("incremental")
            what = (f"incremental: {inc['units_recomputed']} unit(s) recomputed (chromosomes "
                    f"{', '.join(inc['chroms_recomputed']) or 'none'}), {inc['units_reused']} reused"
                    if inc else "full run")
            print(f"  {'*' if m['current'] else ' '} {m['version']}  {when}  {m.get('seconds', '?')} s  {what}")
    if not found:
        print(f"{redact(args.results)}: no published version of {', '.join(stages)}")
    return 0


def _cmd_deploy(args) -> int:
    import json

    from .config import load_config
    from .deploy import cron_line, databricks_job, systemd_units
    if args.target == "databricks":
        text = json.dumps(databricks_job(load_config(args.config), args.config, git_url=args.git_url), indent=2)
        files = {args.to: text + "\n"} if args.to else {}
    elif args.target == "cron":
        text = cron_line(args.config, repo=args.repo)
        files = {args.to: text + "\n"} if args.to else {}
    else:
        units = systemd_units(args.config, repo=args.repo)
        text = "\n".join(f"# {k}\n{v}" for k, v in units.items())
        files = {str(Path(args.to) / k): v for k, v in units.items()} if args.to else {}
    if not files:
        print(text)
    for path, t in files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(t)
        print(f"wrote {path}")
    return 0


def build_parser(loaded=None) -> argparse.ArgumentParser:
    """The parser; ``loaded`` maps stage names to registered stages whose full subcommand is wanted.

    Subcommands ``run``, ``config``, ``serve``, ``history``, ``export`` and ``deploy``, then one per stage of
    :data:`locusflow.layout.STAGES`: a stage not in ``loaded`` gets a placeholder subparser (its help
    line only, nothing imported); a loaded one its full subcommand (its own ``add_cli`` in the older API,
    else :func:`locusflow.cli_stage.add_stage_command`).

    Parameters
    ----------
    loaded : dict, optional
        Stage name -> :class:`locusflow.pipeline.Stage`.

    Returns
    -------
    argparse.ArgumentParser
        The ``locusflow`` parser; each subcommand sets ``func(args) -> int``.
    """
    loaded = loaded or {}
    p = argparse.ArgumentParser(prog="locusflow", description="Causal variants and genes behind GWAS "
                                "associations: `locusflow run CONFIG` runs the pipeline; each stage has its own "
                                "subcommand. --out is always a results root: stage S writes <out>/S/.")
    p.add_argument("--version", action="version", version=f"locusflow {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    r = sub.add_parser("run", help="run the configured pipeline stages (skipping unchanged ones)")
    r.add_argument("config", nargs="+", help="pipeline YAML(s), e.g. conf/example.yaml; later ones override")
    add_common(r, config_flag=False)
    r.set_defaults(func=_cmd_run)
    c = sub.add_parser("config", help="check a configuration, or print the documented schema")
    c.add_argument("config", nargs="*", help="YAML file(s) to check; prints the resolved configuration")
    c.add_argument("--explain", action="store_true", help="print every section and key: type, default, meaning")
    c.add_argument("--set", action="append", metavar="KEY=VALUE")
    c.set_defaults(func=_cmd_config)
    v = sub.add_parser("serve", help="a local web app over a run's results: search, locus view, tables")
    v.add_argument("results", help="results root (--out of a run)")
    v.add_argument("--host", default="127.0.0.1", help="interface to bind (default: this machine only)")
    v.add_argument("--port", type=int, default=8000, help="TCP port (0: any free one)")
    v.set_defaults(func=_cmd_serve)
    h = sub.add_parser("history", help="the kept versions of each stage of a results root (* = published)")
    h.add_argument("results", help="results root (a path or a URI)")
    h.add_argument("stage", nargs="*", help="only these stages")
    h.set_defaults(func=_cmd_history)
    e = sub.add_parser("export", help="results in other tools' formats (MetaXcan, FINEMAP, susieR, pyfocus, "
                       "LDSC, GWAS-SSF, LD .ld/.npz)")
    e.add_argument("results", help="results root (--out of a run)")
    e.add_argument("--to", required=True, help="output directory")
    e.add_argument("--format", action="append", choices=["metaxcan", "finemap", "susie", "pyfocus", "ldsc",
                                                          "gwas_ssf", "ld"], help="repeatable; default all")
    e.set_defaults(func=_cmd_export)
    d = sub.add_parser("deploy", help="a nightly job from configuration(s): Databricks Jobs JSON (one task per "
                       "stage), a crontab line or systemd units for spark-submit")
    d.add_argument("target", choices=["databricks", "cron", "systemd"])
    d.add_argument("config", nargs="+", help="pipeline YAML(s), as the job will pass them")
    d.add_argument("--to", help="output file (databricks, cron) or directory (systemd); default: print")
    d.add_argument("--repo", default=".", help="checkout holding jobs/ on the cluster (cron, systemd)")
    d.add_argument("--git-url", help="databricks: run jobs/ from this repository (git_source)")
    d.set_defaults(func=_cmd_deploy)
    groups: dict = {}
    for info in STAGES:
        st = loaded.get(info.name)
        words = info.words
        if len(words) > 1 and words[0] not in groups:      # a command group: `locusflow dnalm pretrain`
            members = [i.words[1] for i in STAGES if len(i.words) > 1 and i.words[0] == words[0]]
            g = sub.add_parser(words[0], help=f"{words[0]} commands: {', '.join(members)}")
            groups[words[0]] = g.add_subparsers(dest=f"{words[0]}_command", required=True, metavar="COMMAND")
        where, name = (groups[words[0]], words[1]) if len(words) > 1 else (sub, words[0])
        if st is None:
            where.add_parser(name, help=info.help, add_help=False)
        elif st.add_cli is not None:                  # older API: the stage builds its own subcommand
            st.add_cli(sub)
        else:
            add_stage_command(where, st, name=name)
        if info.name != name:                         # the stage's own name stays a (hidden) alias
            if st is None or st.add_cli is not None:
                sub.add_parser(info.name, add_help=False)
            else:
                add_stage_command(sub, st, hidden=True)
    return p


def stage_of(argv) -> str | None:
    """The stage a command line runs: its first words as typed (``score-variants``, ``dnalm pretrain``)
    or the stage's name (``score_variants``); None for ``run``, ``config``, ... and unknown words.

    Parameters
    ----------
    argv : list of str
        Arguments without the program name.

    Returns
    -------
    str or None
        A name of :data:`locusflow.layout.STAGES`.
    """
    words = [a for a in argv if not a.startswith("-")][:2]
    for info in STAGES:
        if words[:1] == [info.name] or tuple(words[:len(info.words)]) == info.words:
            return info.name
    return None


def main(argv=None) -> int:
    """Entry point of the ``locusflow`` command: parse ``argv``, run the chosen subcommand.

    Only the named stage's module is imported. A :class:`~locusflow.errors.LocusflowError` (bad config,
    bad input, locked results root ...) or an ``OSError`` is printed as one line
    ``locusflow: error: ...`` on stderr (with the traceback under ``--debug``), not raised.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: the subcommand's (0 on success), 2 for a user-caused error or ``OSError``,
        130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        loaded = {}
        cmd = stage_of(argv)
        if cmd is not None:
            from .pipeline import load_stage
            loaded[cmd] = load_stage(cmd)
        args = build_parser(loaded).parse_args(argv)
        return int(args.func(args) or 0)
    except LocusflowError as exc:
        if debug:
            traceback.print_exc()
        print(f"locusflow: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("locusflow: interrupted; nothing was published by the stage that was running", file=sys.stderr)
        return 130
    except OSError as exc:                   # permissions, disk full, a file vanishing under us
        if debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"locusflow: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
