# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: LD blocks and LD matrices
# MAGIC Approximately independent LD blocks and one LD matrix per block from the reference panel.
# MAGIC
# MAGIC On Databricks the notebook uses the cluster's active Spark session (engine `spark`); run locally as
# MAGIC `python notebooks/02_ld.py` it is plain Python (cells are separated by `# COMMAND` lines). Set
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

summary = run_stage_job(cfg, "ld", wait_lock=600)["ld"]
print(summary)

# COMMAND ----------

blocks = lf.read_dataset(dataset_path(cfg, "ld_blocks"), "ld_blocks")
largest = blocks.nlargest(5, "n_variants")[["block_id", "chrom", "start", "stop", "n_variants"]]
show(largest)
variants, R = lf.read_block_ld(dataset_path(cfg, "ld_matrices"), largest["block_id"].iloc[0])
print(f"largest block: {len(variants)} variants, LD matrix {R.shape}, mean r^2 {float((R ** 2).mean()):.4f}")
