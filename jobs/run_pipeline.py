"""spark-submit entry point: ``spark-submit jobs/run_pipeline.py conf/cluster.yaml conf/my_pipeline.yaml``.

Thin by design: parse the configs (later ones override earlier), take the session spark-submit
created, run the pipeline.
"""
import sys

from locusflow.config import deep_merge, load_config
from locusflow.pipeline import run_pipeline


def main(argv):
    cfg = load_config()
    for path in argv:
        cfg = deep_merge(cfg, load_config(path))
    cfg["engine"] = "spark"
    cfg.setdefault("spark", {})["use_active_session"] = True
    print(run_pipeline(cfg))


if __name__ == "__main__":
    main(sys.argv[1:])
