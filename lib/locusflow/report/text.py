"""What each section of the report means, shown next to it (HTML fragments, trusted text)."""

EXPLAIN = {
    "run": "What ran: the results directory, each stage's inputs with their content identity (file hash, or the "
           "upstream stage's fingerprint), and the configuration sections the stages ran with.",
    "counts": "What each stage kept and dropped, and why (e.g. munge: low INFO, low MAF, strand-ambiguous "
              "SNPs; ld: variants below the MAF filter; twas: model SNPs not in the GWAS; finemap: blocks with a "
              "signal, variants not in the LD matrix).",
    "genome": "Manhattan plots: -log10 p along the genome, lead SNP / gene of each significant locus named; dashed "
              "line: p = 5e-8 (GWAS) or 0.05 / genes tested (TWAS, Bonferroni). QQ plots: observed against expected "
              "-log10 p under the null with a 95% band; lambda_GC = median chi-square / 0.455 measures inflation "
              "(polygenic signal or confounding; a region selected for signal, as in the example, inflates it).",
    "loci": "Loci led by a GWAS SNP with p < 5e-8, at least 500 kb apart (positional clumping, smallest p first). "
            "Click a plot name for its locus plot: GWAS -log10 p coloured by r<sup>2</sup> with the lead SNP (from "
            "the LD stage's stored block matrix; grey: not in the matrix), SNP PIPs coloured by credible set, FOCUS "
            "gene PIPs and the genes of the bundled GENCODE map; with DNA-LM scores, the LLR of each SNP and its GPNxLD "
            "(see DNA language model).",
    "twas": "One row per expression model: the TWAS z of the stage's method (S-PrediXcan: sum_l w_l sigma_l z_l / "
            "sigma_g with the model's covariance, or FUSION), its p-value and how many of the model's SNPs were used.",
    "focus": "FOCUS gene-level fine-mapping: PIP = posterior probability that the gene model is causal in its block; "
             "the credible set holds the genes (and NULL) reaching 90% together. <b>Why FOCUS's z differs from the "
             "TWAS stage's z for the same gene</b>: FOCUS (as pyfocus) recomputes each z inside its own LD block as "
             "w'z / sqrt(w'(R + ridge I)w), with the models' per-allele weights w applied to the reference panel's SNP "
             "<i>correlation</i> R over the block's SNPs found in both the GWAS and the panel, and a ridge (0.1) on "
             "the diagonal. The TWAS stage (S-PrediXcan) scales each weight by its SNP's standard deviation "
             "(sum_l w_l sigma_l z_l / sigma_g), uses the model's covariance (or the panel without a ridge) and its "
             "own SNP set. Measured on INSM1 in the bundled example: TWAS stage 5.12 (20 SNPs, weights x SD); the same "
             "20 SNPs with per-allele weights on the correlation 4.04; FOCUS's own 18 SNPs without the ridge 2.53; "
             "with the ridge 2.29 (the reported FOCUS z). So weight scale and SNP set, more than the ridge, make the "
             "difference. Use the TWAS stage's z for association and FOCUS's PIP for which gene of a block is causal.",
    "cs": "SNP credible sets from fine-mapping (SuSiE: one set per effect, coverage >= 95%, purity min |r| >= 0.5). "
          "A set's variants jointly hold one causal signal; lead = highest posterior probability.",
    "enrich": "GO over-representation: hypergeometric P(X >= k) of k study genes annotated to the term (or a "
              "descendant), n study genes, m of N background genes, where the background is the genes TWAS "
              "tested, not the genome. q: Benjamini-Hochberg over the study's terms. Studies: genes in FOCUS "
              "credible sets and TWAS genes below the Bonferroni threshold (background: the genes TWAS tested); "
              "gpnxld_top: genes within <i>gpnxld_window</i> bp of the <i>gpnxld_top</i> variants with the largest "
              "GPNxLD (background: the genes within that distance of any variant with a GPNxLD, so pop_n differs). "
              "With few genes tested, nothing reaches q &lt; 0.05; read the table as a description, not a finding.",
    "diagnostics": "Consistency of GWAS z with the LD reference (susieR kriging_rss): each SNP's z is compared with "
                   "the value expected from its neighbours through the LD; a large standardised difference, or a "
                   "high likelihood ratio of an allele flip, flags the SNP. ld_s (estimate_s_rss) near 0 means the "
                   "z-scores and the LD matrix agree.",
    "dnalm": "DNA language-model scores (score_variants stage): LLR = log P(alt) - log P(ref) of the model at the "
             "masked site, averaged over both strands (nats, the genome's orientation); negative means the model "
             "finds the alt allele less likely, putatively deleterious. GPNxLD (gpnxld stage) = sum over the LD "
             "block of r<sup>2</sup> with each variant times its score a = max(0, -LLR): large where a SNP tags "
             "many low-LLR variants. The table lists the fine-mapped credible-set SNPs with their scores; "
             "'LLR percentile' ranks the LLR among all scored variants (low = among the most deleterious-looking). "
             "A SNP without a score was not scored (contig not in the FASTA, REF mismatch, or an indel).",
    "twas_here": "TWAS z of each expression model whose gene overlaps this region (the twas stage's method, "
                 "S-PrediXcan or FUSION) and its p-value.",
    "focus_here": "FOCUS PIP: probability that the gene model is the causal one of its LD block; in_cred_set: in "
                  "the 90% credible gene set. 'FOCUS z (ridge-adjusted)' differs from 'TWAS stage z' for the same "
                  "gene: FOCUS recomputes z in its block with per-allele weights on the panel's SNP correlation plus "
                  "a ridge of 0.1, over the SNPs in both the GWAS and the panel, while the TWAS stage scales weights "
                  "by SNP standard deviation and uses the model's covariance (INSM1 in the example: 5.12 vs 2.29). "
                  "Use the TWAS z for association, the FOCUS PIP for which gene is causal; the report's FOCUS "
                  "section gives the measured steps.",
    "timings": "Wall time of each stage in its last run (seconds) and when it finished.",
}
