"""spark-submit / Databricks task entry point for ONE stage:
``spark-submit jobs/run_stage.py conf/cluster.yaml conf/my.yaml --stage twas [--wait-lock 3600]``.

Thin by design: merge the configs (later ones override only the keys they name), take the session
spark-submit (or Databricks) created, run the one stage (skipped when its inputs, configuration and code
are unchanged), waiting for the results root's lock when a sibling task holds it. A bad configuration or
input prints one line and exits with status 2. `locusflow deploy databricks` writes a job of such tasks.
"""
import argparse
import sys

from locusflow.deploy import job_main


def main(argv) -> int:
    ap = argparse.ArgumentParser(prog="run_stage.py", description=__doc__.split("\n")[0])
    ap.add_argument("config", nargs="+")
    ap.add_argument("--stage", required=True)
    ap.add_argument("--wait-lock", type=float, default=0.0, help="seconds to wait for another run's lock")
    args = ap.parse_args(argv)
    return job_main(args.config, args.stage, args.wait_lock, source="jobs/run_stage.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
