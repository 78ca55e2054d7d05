/*
 * ana_lmm_int.h — the internals of the mixed-model fit shared by its files:
 * the per-participant blocks and the deviance evaluation (ana_lmm_dev.c),
 * and Richardson-extrapolated numerical derivatives (ana_lmm_deriv.c).
 * Not part of the analysis/ contract: include ana_lmm.h instead.
 */
#ifndef ATTUNE_ANA_LMM_INT_H
#define ATTUNE_ANA_LMM_INT_H

#include <stddef.h>

#include "ana_lmm.h"

/*
 * The sufficient statistics of the model, accumulated once from the rows:
 * for each of the J participants Z_iᵀZ_i (q×q, packed), Z_iᵀX_i (q×p) and
 * Z_iᵀy_i (q); and overall XᵀX, Xᵀy, yᵀy. y is centred on its mean (the
 * intercept absorbs the shift; it keeps yᵀy small against the residual sum
 * of squares, whose subtraction would otherwise lose digits).
 *
 * ana_lmm_blocks_compress() then merges participants whose Z_iᵀZ_i and
 * Z_iᵀX_i are identical (the same weeks observed, the same arm): everything
 * an evaluation needs from them is a sum over the group, Σ Z_iᵀy_i and
 * Σ Z_iᵀy_i y_iᵀZ_i (see ana_lmm_dev.c). The arrays below then hold one
 * entry per pattern, P ≤ J of them.
 */
struct ana_lmm_blocks {
    size_t n, p, q, J;
    size_t P; /* entries in the arrays below: J before compression, patterns after */
    int reml;
    double *zz;  /* [P][q(q+1)/2]: q=1 Σ1; q=2 Σ1, Σt, Σt² */
    double *zx;  /* [P][q][p] */
    double *zy;  /* [P][q] Z_iᵀy summed over the pattern's participants */
    double *zyy; /* [P][q(q+1)/2] Σ (Z_iᵀy)(Z_iᵀy)ᵀ, packed as zz (after compression) */
    double *cnt; /* [P] participants of the pattern (after compression) */
    double *xx;  /* [p*p], both triangles */
    double *xy;  /* [p] */
    double yy;
    double y_mean;

    /* Scratch for one evaluation, and what it leaves behind. */
    double *s;    /* [p*p] XᵀX − R_ZXᵀR_ZX, then its Cholesky factor (lower) */
    double *t;    /* [p] Xᵀy − R_ZXᵀc_u */
    double *beta; /* [p] conditional estimates at θ (centred intercept) */
    double ldL2;  /* log |L_θ|² */
    double ldRX2; /* log |R_X|² */
    double r2;    /* penalised residual sum of squares */
    unsigned n_eval;
};

/*
 * Merges participants with identical design blocks into patterns (see
 * above). Called once after the per-participant arrays are filled; the
 * evaluation requires it. Returns 0, or -1 when out of memory.
 */
int ana_lmm_blocks_compress(struct ana_lmm_blocks *b);

/*
 * Evaluates the penalised least-squares problem at θ (any sign: the
 * derivatives step across the boundary) and leaves ldL2, ldRX2, r2, beta
 * and the Cholesky factor of R_XᵀR_X in b. Returns 0, or -1 when a matrix is
 * not positive definite or r2 is not positive.
 */
int ana_lmm_blocks_eval(struct ana_lmm_blocks *b, const double *theta);

/* The profiled deviance (REML criterion or −2 log L) of the last evaluation. */
double ana_lmm_blocks_profiled(const struct ana_lmm_blocks *b);

/* (R_XᵀR_X)⁻¹ of the last evaluation into out[p*p]. Returns 0 or -1. */
int ana_lmm_blocks_unscaled_vcov(const struct ana_lmm_blocks *b, double *out);

void ana_lmm_blocks_free(struct ana_lmm_blocks *b);

/*
 * A vector function for the derivatives: writes m values at x (length k).
 * Returns 0, or -1 to abandon the derivative.
 */
typedef int (*ana_lmm_vecfn)(const double *x, double *f, void *ctx);

/*
 * numDeriv's Richardson extrapolation (Gilbert & Varadhan, R package
 * numDeriv, functions genD and jacobian), reproduced step for step so that
 * Satterthwaite's df agree with lmerTest's, which uses them:
 * ana_lmm_hessian — gradient g[k] and Hessian h[k*k] of a scalar function
 *   (genD: d = 0.1, eps = 1e-4, r = 4, v = 2; 2k(k+1)·r/2 + 1 evaluations);
 * ana_lmm_jacobian — j[m*k] (row-major, m outputs × k inputs) of a vector
 *   function (d = 1e-4, the same eps, r and v).
 * Return 0, or -1 when an evaluation fails.
 */
int ana_lmm_hessian(ana_lmm_vecfn fn, void *ctx, const double *x, size_t k, double *g, double *h);
int ana_lmm_jacobian(ana_lmm_vecfn fn, void *ctx, const double *x, size_t k, size_t m, double *j);

#endif
