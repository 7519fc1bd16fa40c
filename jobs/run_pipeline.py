"""spark-submit entry point: ``spark-submit jobs/run_pipeline.py conf/cluster.yaml conf/my_pipeline.yaml``.

Thin by design: merge the configs (later ones override only the keys they name), take the session
spark-submit created, run the pipeline (validated config, lock, atomic stage commits), print the summary.
A bad configuration or input prints one line and exits with status 2.
"""
import sys

from locusflow.config import load_config
from locusflow.errors import LocusflowError
from locusflow.pipeline import run_pipeline
from locusflow.summary import print_summary


def main(argv) -> int:
    cfg = load_config(argv, {"engine": "spark", "spark": {"use_active_session": True}}, source="jobs/run_pipeline.py")
    try:
        print_summary(cfg, run_pipeline(cfg))
    except LocusflowError as exc:
        print(f"locusflow: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
