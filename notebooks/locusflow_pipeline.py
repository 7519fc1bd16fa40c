# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow on Databricks
# MAGIC Runs the configured locusflow stages with the notebook's active Spark session. Locally the same
# MAGIC file runs as a script (`python notebooks/locusflow_pipeline.py`): cells are plain Python.

# COMMAND ----------

import os
import sys

CONFIG = os.environ.get("LOCUSFLOW_CONFIG", "conf/example.yaml")
OUT = os.environ.get("LOCUSFLOW_OUT", "out/notebook")

# COMMAND ----------

from locusflow.config import deep_merge, load_config
from locusflow.pipeline import run_pipeline

cfg = load_config(CONFIG, {"out": OUT})
# On Databricks the `spark` object exists: use it (conf/databricks.yaml does the same)
if "spark" in globals():
    cfg = deep_merge(cfg, load_config("conf/databricks.yaml"))

# COMMAND ----------

summaries = run_pipeline(cfg)
for stage, summary in summaries.items():
    print(stage, summary)

# COMMAND ----------

from locusflow.io.dataset import read_dataset

if os.path.exists(os.path.join(OUT, "sumstats")):
    print(read_dataset(os.path.join(OUT, "sumstats"), "sumstats").head())
