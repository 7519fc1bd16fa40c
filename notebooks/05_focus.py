# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: gene fine-mapping (FOCUS)
# MAGIC Gene-level posterior probabilities and credible gene sets over the TWAS signals of each LD block.
# MAGIC Setup (Databricks or plain Python, `LOCUSFLOW_CONFIG`, `LOCUSFLOW_OUT`): notebooks/README.md.

# COMMAND ----------

import locusflow as lf
from locusflow.deploy import notebook_session, run_stage_job
from locusflow.layout import dataset_path

cfg, show = notebook_session(globals())

# COMMAND ----------

summary = run_stage_job(cfg, "focus", wait_lock=600)["focus"]
print(summary)

# COMMAND ----------

focus = lf.read_dataset(dataset_path(cfg, "focus_results"), "focus_results")
top = focus[focus["model_id"] != "NULL.MODEL"].nlargest(10, "pip")[["block_id", "mol_name", "tissue", "twas_z", "pip", "in_cred_set"]]
show(top)
