# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow on Databricks
# MAGIC Runs the configured locusflow stages with the notebook's active Spark session. Locally the same
# MAGIC file runs as a script (`python notebooks/locusflow_pipeline.py`): cells are plain Python.

# COMMAND ----------

from locusflow.deploy import notebook_session
from locusflow.pipeline import run_pipeline
from locusflow.summary import print_summary

cfg, show = notebook_session(globals())

# COMMAND ----------

summaries = run_pipeline(cfg)
print_summary(cfg, summaries)

# COMMAND ----------

from locusflow.io.dataset import read_dataset
from locusflow.layout import dataset_path

if dataset_path(cfg, "sumstats").exists():
    print(read_dataset(dataset_path(cfg, "sumstats"), "sumstats").head())
