# Databricks notebook source
# MAGIC %md
# MAGIC # locusflow: LD blocks and LD matrices
# MAGIC Approximately independent LD blocks and one LD matrix per block from the reference panel.
# MAGIC Setup (Databricks or plain Python, `LOCUSFLOW_CONFIG`, `LOCUSFLOW_OUT`): notebooks/README.md.

# COMMAND ----------

import locusflow as lf
from locusflow.deploy import notebook_session, run_stage_job
from locusflow.layout import dataset_path

cfg, show = notebook_session(globals())

# COMMAND ----------

summary = run_stage_job(cfg, "ld", wait_lock=600)["ld"]
print(summary)

# COMMAND ----------

blocks = lf.read_dataset(dataset_path(cfg, "ld_blocks"), "ld_blocks")
largest = blocks.nlargest(5, "n_variants")[["block_id", "chrom", "start", "stop", "n_variants"]]
show(largest)
variants, R = lf.read_block_ld(dataset_path(cfg, "ld_matrices"), largest["block_id"].iloc[0])
print(f"largest block: {len(variants)} variants, LD matrix {R.shape}, mean r^2 {float((R ** 2).mean()):.4f}")
