"""Association from individual-level genotypes (linear, logistic with Firth fallback) and genotype PCA."""
