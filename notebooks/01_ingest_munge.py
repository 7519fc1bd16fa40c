# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: genotypes and summary statistics
# MAGIC Genotypes (PLINK/VCF) into the VCF Zarr store; GWAS summary statistics munged and harmonised to it.
# MAGIC Setup (Databricks or plain Python, `LOCUSFLOW_CONFIG`, `LOCUSFLOW_OUT`): notebooks/README.md.

# COMMAND ----------

import locusflow as lf
from locusflow.deploy import notebook_session, run_stage_job
from locusflow.layout import dataset_path

cfg, show = notebook_session(globals())

# COMMAND ----------

summaries = {stage: run_stage_job(cfg, stage, wait_lock=600)[stage] for stage in ("ingest", "munge")}
print(summaries)

# COMMAND ----------

sumstats = lf.read_dataset(dataset_path(cfg, "sumstats"), "sumstats")
top = sumstats.nsmallest(10, "p")[["variant_id", "rsid", "z", "p", "n"]]
show(top)
