# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: gene fine-mapping (FOCUS)
# MAGIC Gene-level posterior probabilities and credible gene sets over the TWAS signals of each LD block.
# MAGIC
# MAGIC On Databricks the notebook uses the cluster's active Spark session (engine `spark`); run locally as
# MAGIC `python notebooks/05_focus.py` it is plain Python (cells are separated by `# COMMAND` lines). Set
# MAGIC `LOCUSFLOW_CONFIG` (default `conf/example.yaml`) and `LOCUSFLOW_OUT` (default `out/notebook`); the
# MAGIC stages before this one must have run into the same `out` (their notebooks, or `locusflow run`).

# COMMAND ----------

import os

CONFIG = os.environ.get("LOCUSFLOW_CONFIG", "conf/example.yaml")
OUT = os.environ.get("LOCUSFLOW_OUT", "out/notebook")
show = globals().get("display", print)          # Databricks renders tables with display()

# COMMAND ----------

import locusflow as lf
from locusflow.deploy import run_stage_job
from locusflow.layout import dataset_path

on_spark = "spark" in globals()                 # Databricks: the notebook's session (conf/databricks.yaml)
cfg = lf.load_config(CONFIG, {"out": OUT, **({"engine": "spark", "spark": {"use_active_session": True, "master": None}}
                                            if on_spark else {})})

# COMMAND ----------

summary = run_stage_job(cfg, "focus", wait_lock=600)["focus"]
print(summary)

# COMMAND ----------

focus = lf.read_dataset(dataset_path(cfg, "focus_results"), "focus_results")
top = focus[focus["model_id"] != "NULL.MODEL"].nlargest(10, "pip")[["block_id", "mol_name", "tissue", "twas_z", "pip", "in_cred_set"]]
show(top)
