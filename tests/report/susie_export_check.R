# Reads locusflow's susieR export (finemap/susie_vars.tsv, susie_cs.tsv) and the block's FINEMAP inputs
# (.z, .ld, master) in R, refits the block with susieR::susie_rss on exactly those files, and compares
# summary(fit) with the exported tables. Used by tests/report/test_export.py.
# Usage: Rscript susie_export_check.R EXPORT_DIR BLOCK_ID L COVERAGE MIN_ABS_CORR
suppressMessages(library(susieR))
a <- commandArgs(trailingOnly = TRUE)
d <- file.path(a[1], "finemap")
block <- a[2]
stem <- gsub("[^A-Za-z0-9._-]", "_", block)
vars <- read.delim(file.path(d, "susie_vars.tsv"), stringsAsFactors = FALSE)
cs <- read.delim(file.path(d, "susie_cs.tsv"), stringsAsFactors = FALSE, colClasses = c(variable = "character"))
vars <- vars[vars$block_id == block, ]
cs <- cs[cs$block_id == block, ]
zt <- read.table(file.path(d, paste0(stem, ".z")), header = TRUE, stringsAsFactors = FALSE)
z <- zt$beta / zt$se
p <- nrow(zt)
R <- matrix(scan(file.path(d, paste0(stem, ".ld")), quiet = TRUE), p, p, byrow = TRUE)
m <- read.table(file.path(d, "master"), header = TRUE, sep = ";", stringsAsFactors = FALSE)
n <- m$n_samples[m$z == paste0(stem, ".z")]
fit <- susie_rss(z = z, R = R, n = n, L = as.integer(a[3]), coverage = as.numeric(a[4]),
                 min_abs_corr = as.numeric(a[5]), estimate_residual_variance = FALSE)
s <- summary(fit)
ours <- vars$variable_prob[order(vars$variable)]
theirs <- s$vars$variable_prob[order(s$vars$variable)]
key <- function(t) sort(paste(t$cs, t$variable))
cat("columns_vars", paste(setdiff(names(vars), c("block_id", "variant_id")), collapse = ","), "\n")
cat("columns_susier_vars", paste(names(s$vars), collapse = ","), "\n")
cat("columns_cs", paste(setdiff(names(cs), c("block_id", "variant_ids")), collapse = ","), "\n")
cat("columns_susier_cs", paste(names(s$cs), collapse = ","), "\n")
cat("n_vars", nrow(vars), p, "\n")
cat("max_pip_diff", max(abs(ours - theirs)), "\n")
cat("same_sets", identical(key(cs), key(s$cs)), "\n")
cat("same_var_cs", identical(vars$cs[order(vars$variable)], as.integer(s$vars$cs[order(s$vars$variable)])), "\n")
o <- match(s$cs$cs, cs$cs)
cat("max_log10bf_diff", max(abs(cs$cs_log10bf[o] - s$cs$cs_log10bf)), "\n")
cat("max_r2_diff", max(abs(cs$cs_avg_r2[o] - s$cs$cs_avg_r2), abs(cs$cs_min_r2[o] - s$cs$cs_min_r2)), "\n")
