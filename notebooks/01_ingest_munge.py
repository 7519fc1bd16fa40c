# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: genotypes and summary statistics
# MAGIC Genotypes (PLINK/VCF) into the VCF Zarr store; GWAS summary statistics munged and harmonised to it.
# MAGIC
# MAGIC On Databricks the notebook uses the cluster's active Spark session (engine `spark`); run locally as
# MAGIC `python notebooks/01_ingest_munge.py` it is plain Python (cells are separated by `# COMMAND` lines). Set
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

summaries = {stage: run_stage_job(cfg, stage, wait_lock=600)[stage] for stage in ("ingest", "munge")}
print(summaries)

# COMMAND ----------

sumstats = lf.read_dataset(dataset_path(cfg, "sumstats"), "sumstats")
top = sumstats.nsmallest(10, "p")[["variant_id", "rsid", "z", "p", "n"]]
show(top)
