# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: TWAS (S-PrediXcan / FUSION)
# MAGIC Gene-trait association z-scores from expression weights and the GWAS.
# MAGIC Setup (Databricks or plain Python, `LOCUSFLOW_CONFIG`, `LOCUSFLOW_OUT`): notebooks/README.md.

# COMMAND ----------

import locusflow as lf
from locusflow.deploy import notebook_session, run_stage_job
from locusflow.layout import dataset_path

cfg, show = notebook_session(globals())

# COMMAND ----------

summary = run_stage_job(cfg, "twas", wait_lock=600)["twas"]
print(summary)

# COMMAND ----------

twas = lf.read_dataset(dataset_path(cfg, "twas_results"), "twas_results")
top = twas.reindex(twas["zscore"].abs().sort_values(ascending=False).index).head(10)
show(top[["gene", "gene_name", "tissue", "zscore", "pvalue", "n_snps_used"]])
