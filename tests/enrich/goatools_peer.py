"""Run goatools' GOEnrichmentStudy on files written by tests/enrich/test_enrich.py (run in the goatools venv).

argv: obo, assoc TSV (entrez_id<TAB>GO;GO;...), population file, study file, alternative (two-sided|greater),
output TSV (go_id, study_count, study_n, pop_count, pop_n, p_uncorrected, p_fdr_bh).
"""
import sys

from goatools.go_enrichment import GOEnrichmentStudy
from goatools.obo_parser import GODag
from scipy import stats

obo, assoc_file, pop_file, study_file, alternative, out = sys.argv[1:7]
dag = GODag(obo, prt=None)
assoc = {}
for line in open(assoc_file):
    gene, gos = line.rstrip("\n").split("\t")
    assoc[gene] = set(gos.split(";"))
pop = [x.strip() for x in open(pop_file) if x.strip()]
study = [x.strip() for x in open(study_file) if x.strip()]
goea = GOEnrichmentStudy(pop, assoc, dag, propagate_counts=True, alpha=0.05, methods=["fdr_bh"], log=None)
if alternative == "greater":
    goea.pval_obj.pval_fnc = lambda table: stats.fisher_exact(table, alternative="greater")
res = goea.run_study(study, log=None)
with open(out, "w") as fh:
    fh.write("go_id\tstudy_count\tstudy_n\tpop_count\tpop_n\tp_uncorrected\tp_fdr_bh\n")
    for r in res:
        fh.write(f"{r.GO}\t{r.ratio_in_study[0]}\t{r.ratio_in_study[1]}\t{r.ratio_in_pop[0]}\t{r.ratio_in_pop[1]}"
                 f"\t{float(r.p_uncorrected)!r}\t{float(r.p_fdr_bh)!r}\n")
