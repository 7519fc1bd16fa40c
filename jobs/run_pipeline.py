"""spark-submit entry point: ``spark-submit jobs/run_pipeline.py conf/cluster.yaml conf/my_pipeline.yaml``.

Thin by design: merge the configs (later ones override only the keys they name), take the session
spark-submit created, run the pipeline (validated config, lock, atomic stage commits), print the summary.
A bad configuration or input prints one line and exits with status 2 (locusflow.deploy.job_main).
"""
import sys

from locusflow.deploy import job_main


def main(argv) -> int:
    return job_main(list(argv), source="jobs/run_pipeline.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
