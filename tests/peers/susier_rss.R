# Runs susieR::susie_rss (or kriging_rss) on inputs written by tests/test_susie.py and bench/finemap_susie.py.
# Usage: Rscript susier_rss.R DIR   (DIR/opts.txt: key<TAB>value lines; DIR/*.bin: little-endian float64)
suppressMessages(library(susieR))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
kv <- read.table(file.path(dir, "opts.txt"), sep = "\t", stringsAsFactors = FALSE, col.names = c("k", "v"))
opt <- setNames(as.list(kv$v), kv$k)
rd <- function(name, n) readBin(file.path(dir, name), "double", n, endian = "little")
wr <- function(x, name) writeBin(as.double(x), file.path(dir, name), endian = "little")
p <- as.integer(opt$p)
z <- rd("z.bin", p)
R <- matrix(rd("R.bin", p * p), p, p)
n <- as.numeric(opt$n)
if (opt$mode == "kriging") {
  t0 <- proc.time()[["elapsed"]]
  k <- if (is.na(n)) kriging_rss(z, R) else kriging_rss(z, R, n = n)
  s <- if (is.na(n)) estimate_s_rss(z, R) else estimate_s_rss(z, R, n = n)
  d <- k$conditional_dist
  wr(c(s, d$condmean, d$condvar, d$z_std_diff, d$logLR), "kriging.bin")
  quit(save = "no")
}
a <- list(z = z, R = R, L = as.integer(opt$L), tol = as.numeric(opt$tol), max_iter = as.integer(opt$max_iter),
          estimate_residual_variance = as.logical(opt$estimate_residual_variance),
          estimate_prior_method = opt$estimate_prior_method, null_weight = as.numeric(opt$null_weight),
          n_purity = as.integer(opt$n_purity))
if (!is.na(n)) a$n <- n
if (file.exists(file.path(dir, "bhat.bin"))) {
  a$z <- NULL
  a$bhat <- rd("bhat.bin", p)
  a$shat <- rd("shat.bin", p)
  a$var_y <- as.numeric(opt$var_y)
}
if (file.exists(file.path(dir, "prior_weights.bin"))) a$prior_weights <- rd("prior_weights.bin", p)
t0 <- proc.time()[["elapsed"]]
fit <- do.call(susie_rss, a)
elapsed <- proc.time()[["elapsed"]] - t0
wr(fit$pip, "pip.bin")
wr(t(fit$alpha), "alpha.bin")
wr(fit$V, "V.bin")
wr(fit$elbo, "elbo.bin")
wr(c(nrow(fit$alpha), fit$niter, as.numeric(fit$converged), fit$sigma2, elapsed), "info.bin")
out <- file(file.path(dir, "cs.txt"), "w")
if (!is.null(fit$sets$cs)) {
  for (i in seq_along(fit$sets$cs)) {
    pu <- fit$sets$purity[i, ]
    writeLines(paste(names(fit$sets$cs)[i], fit$sets$coverage[i], pu[[1]], pu[[2]], pu[[3]],
                     paste(fit$sets$cs[[i]], collapse = ","), sep = "\t"), out)
  }
}
close(out)
