"""Runs in MetaXcan's venv: read a folder of S-PrediXcan result CSVs with MetaXcan's own reader
(``metax.metaxcan.MetaXcanResultsManager.build_manager``, what SMulTiXcan.py uses for --metaxcan_folder) and
print {gene: {tissue: zscore}} as JSON. Usage: python metaxcan_results_peer.py METAXCAN_SOFTWARE_DIR FOLDER"""
import json
import sys

sys.path.insert(0, sys.argv[1])
from metax.metaxcan import MetaXcanResultsManager  # noqa: E402

m = MetaXcanResultsManager.build_manager(sys.argv[2], filters=[".*csv"], file_name_pattern=r"(.*)\.csv")
out = {}
for gene in sorted(m.get_genes()):
    z, labels = m.results_for_gene(gene)
    out[gene] = dict(zip(labels, [float(v) for v in z]))
print(json.dumps({"models": sorted(m.get_model_labels()), "z": out}))
