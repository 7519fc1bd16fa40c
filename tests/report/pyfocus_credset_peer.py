"""Runs in pyfocus 0.802's venv: read an exported pyfocus TSV, drop its in_cred_set column and recompute it per
block with pyfocus's own ``pyfocus.finemap.add_credible_set`` (what ``focus finemap`` calls on each region's
table); print {block: {ens_gene_id: in_cred_set}} as JSON. Usage: python pyfocus_credset_peer.py TSV LEVEL"""
import json
import sys

import pandas as pd
from pyfocus.finemap import add_credible_set

df = pd.read_csv(sys.argv[1], sep="\t")
out = {}
for block, g in df.groupby("block"):
    g = add_credible_set(g.drop(columns=["in_cred_set_pop1"]), credible_set=float(sys.argv[2]))
    out[block] = dict(zip(g["ens_gene_id"], [int(v) for v in g["in_cred_set_pop1"]]))
print(json.dumps({"columns": list(df.columns), "sets": out}))
