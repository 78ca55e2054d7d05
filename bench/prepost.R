# prepost.R — the analysis `attune analyze prepost` does, in R, for the
# benchmark (bench/analysis_prepost.sh): read the long CSV, keep completers,
# then paired t, d_z with effectsize's noncentral-t CI, d_av, d_rm, g_av,
# Glass's delta, Wilcoxon and the rank-biserial (effectsize), percentage
# reductions, responders, reliable change, and boot() with 2000 resamples
# with percentile and BCa intervals.
#
#   Rscript prepost.R FILE.csv [RESAMPLES]
#
# Prints one line: "compute_seconds=<s>" — the time from reading the file to
# the last interval (R's start-up is not in it; the shell times the whole).
# For BCa the jackknife influence values are computed in closed form (the
# leave-one-out means), as attune does: boot's default regression estimate
# would need an n x R frequency array and its jackknife n re-evaluations,
# neither of which fits a million participants.
suppressPackageStartupMessages({
  library(effectsize)
  library(boot)
})
args <- commandArgs(trailingOnly = TRUE)
R <- if (length(args) > 1) as.integer(args[2]) else 2000L
t0 <- proc.time()[["elapsed"]]
d <- read.csv(args[1])
pre <- d[d$week == 0, c("participant", "gad7")]
post <- d[d$week == 8, c("participant", "gad7")]
m <- merge(pre, post, by = "participant", suffixes = c("_pre", "_post"))
x <- m$gad7_pre
y <- m$gad7_post
n <- length(x)
dif <- x - y

tt <- t.test(x, y, paired = TRUE)
dz <- cohens_d(x, y, paired = TRUE)
r <- cor(x, y)
d_av <- mean(dif) / ((sd(x) + sd(y)) / 2)
d_rm <- mean(dif) / sd(dif) * sqrt(2 * (1 - r))
g_av <- d_av * (1 - 3 / (4 * (n - 1) - 1))
delta <- mean(dif) / sd(x)
w <- wilcox.test(x, y, paired = TRUE, exact = FALSE, correct = TRUE)
rb <- rank_biserial(dif)
pct_means <- 100 * (mean(x) - mean(y)) / mean(x)
ok <- x > 0
ind <- 100 * (x[ok] - y[ok]) / x[ok]
ind_mean <- mean(ind)
ind_median <- median(ind)
responders <- prop.test(sum(ind >= 50), sum(ok), correct = FALSE)$conf.int
se_diff <- sd(x) * sqrt(2) * sqrt(1 - 0.92)
rci <- (y - x) / se_diff
counts <- c(sum(rci < -1.96), sum(abs(rci) <= 1.96), sum(rci > 1.96))

stat <- function(data, i) 100 * (mean(data$x[i]) - mean(data$y[i])) / mean(data$x[i])
set.seed(1)
b <- boot(data.frame(x = x, y = y), stat, R = R)
sx <- sum(x); sy <- sum(y)
jack <- 100 * ((sx - x) - (sy - y)) / (sx - x)
L <- (n - 1) * (b$t0 - jack)
ci <- boot.ci(b, type = "perc")
bca <- boot.ci(b, type = "bca", L = L)
cat(sprintf("compute_seconds=%.3f\n", proc.time()[["elapsed"]] - t0))
