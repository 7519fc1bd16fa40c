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

from locusflow.config import load_config
from locusflow.pipeline import run_pipeline
from locusflow.summary import print_summary

# On Databricks the `spark` object exists: use it (as conf/databricks.yaml: engine spark, the active session)
on_spark = "spark" in globals()
cfg = load_config(CONFIG, {"out": OUT, **({"engine": "spark", "spark": {"use_active_session": True, "master": None}}
                                          if on_spark else {})})

# COMMAND ----------

summaries = run_pipeline(cfg)
print_summary(cfg, summaries)

# COMMAND ----------

from locusflow.io.dataset import read_dataset
from locusflow.layout import dataset_path

if dataset_path(cfg, "sumstats").exists():
    print(read_dataset(dataset_path(cfg, "sumstats"), "sumstats").head())
