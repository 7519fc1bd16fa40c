# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: SNP fine-mapping (SuSiE / FINEMAP)
# MAGIC Posterior inclusion probabilities and credible sets in every LD block with a genome-wide signal.
# MAGIC Setup (Databricks or plain Python, `LOCUSFLOW_CONFIG`, `LOCUSFLOW_OUT`): notebooks/README.md.

# COMMAND ----------

import locusflow as lf
from locusflow.deploy import notebook_session, run_stage_job
from locusflow.layout import dataset_path

cfg, show = notebook_session(globals())

# COMMAND ----------

summary = run_stage_job(cfg, "finemap", wait_lock=600)["finemap"]
print(summary)

# COMMAND ----------

cs = lf.read_dataset(dataset_path(cfg, "finemap_cs"), "finemap_cs")
snp = lf.read_dataset(dataset_path(cfg, "finemap_snp"), "finemap_snp")
top = snp.nlargest(10, "pip")[["block_id", "variant_id", "rsid", "z", "pip", "cs"]]
show(top)
show(cs.head(20))
