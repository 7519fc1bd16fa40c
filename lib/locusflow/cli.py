"""The one ``locusflow`` command. ``locusflow run CONFIG`` runs the pipeline; every stage also has its
own subcommand (``locusflow ingest``, ``locusflow munge``, ...) registered by its stage module.

Errors in the input print one line naming file, row and column and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__, get_logger
from .config import deep_merge, load_config, parse_override
from .errors import LocusflowError
from .pipeline import load_stages, run_pipeline

log = get_logger()


def _cmd_run(args) -> int:
    overrides: dict = {}
    for s in args.set or []:
        overrides = deep_merge(overrides, parse_override(s))
    if args.engine:
        overrides["engine"] = args.engine
    if args.out:
        overrides["out"] = args.out
    cfg = load_config(args.config, overrides)
    summaries = run_pipeline(cfg, force=args.force)
    for name, s in summaries.items():
        print(f"{name}: {s if s == 'skipped' else {k: v for k, v in s.items() if k != 'seconds'}}")
    print(f"results in {cfg['out']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="locusflow", description="Causal variants and genes behind GWAS "
                                "associations: `locusflow run CONFIG` runs the pipeline; each stage has its own subcommand.")
    p.add_argument("--version", action="version", version=f"locusflow {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the configured pipeline stages")
    r.add_argument("config", help="pipeline YAML (e.g. conf/example.yaml)")
    r.add_argument("--engine", choices=["local", "dask", "spark"], help="override the config's engine")
    r.add_argument("--out", help="override the results root")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override any config key (a.b=1)")
    r.add_argument("--force", action="store_true", help="rerun stages even when unchanged")
    r.set_defaults(func=_cmd_run)
    for stage in load_stages().values():
        if stage.add_cli is not None:
            stage.add_cli(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LocusflowError as exc:
        print(f"locusflow: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
