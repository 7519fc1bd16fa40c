# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: TWAS (S-PrediXcan / FUSION)
# MAGIC Gene-trait association z-scores from expression weights and the GWAS.
# MAGIC
# MAGIC On Databricks the notebook uses the cluster's active Spark session (engine `spark`); run locally as
# MAGIC `python notebooks/03_twas.py` it is plain Python (cells are separated by `# COMMAND` lines). Set
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

summary = run_stage_job(cfg, "twas", wait_lock=600)["twas"]
print(summary)

# COMMAND ----------

twas = lf.read_dataset(dataset_path(cfg, "twas_results"), "twas_results")
top = twas.reindex(twas["zscore"].abs().sort_values(ascending=False).index).head(10)
show(top[["gene", "gene_name", "tissue", "zscore", "pvalue", "n_snps_used"]])
