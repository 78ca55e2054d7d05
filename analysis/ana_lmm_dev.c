/*
 * ana_lmm_dev.c — the hot path of the mixed-model fit: one evaluation of
 * the penalised least-squares problem at a relative covariance factor θ,
 * participant block by participant block.
 *
 * Bates et al. (2015, J Stat Softw 67(1), section 3) factor
 *   [ΛᵀZᵀZΛ + I   ΛᵀZᵀX]   [L_θ    0  ] [L_θᵀ  R_ZX]
 *   [XᵀZΛ         XᵀX  ] = [R_ZXᵀ R_Xᵀ] [0     R_X ]
 * With one grouping factor ΛᵀZᵀZΛ + I is block diagonal, one q×q block
 * M_i = TᵀZ_iᵀZ_iT + I per participant (T the q×q factor θ fills), so L_θ
 * is block diagonal too and every product with it stays inside a block:
 *   L_i = chol(M_i),  c_i = L_i⁻¹TᵀZ_iᵀy,  R_i = L_i⁻¹TᵀZ_iᵀX,
 *   R_XᵀR_X = XᵀX − Σ R_iᵀR_i,  R_XᵀR_X β = Xᵀy − Σ R_iᵀc_i,
 *   r² = yᵀy − Σ|c_i|² − βᵀ(Xᵀy − Σ R_iᵀc_i)   (the penalised RSS),
 *   log|L_θ|² = Σ log det M_i,  log|R_X|² = 2 Σ log diag R_X.
 * One evaluation costs O(J(q²p + qp²) + p³) for J participants.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_math.h>

#include "ana_lmm_int.h"

/*
 * Σ log det M_i without a logarithm per participant: det M_i ≥ 1, so a
 * running product only grows; it is logged and reset before it can overflow.
 */
struct logsum {
    double sum, prod;
};

static inline void logsum_add(struct logsum *ls, double det)
{
    if (det > 1e100) {
        ls->sum += log(det);
        return;
    }
    ls->prod *= det;
    if (ls->prod > 1e200) {
        ls->sum += log(ls->prod);
        ls->prod = 1.0;
    }
}

/*
 * The passes are written for any p and inlined into a switch on p, so that
 * the usual small designs (2 to 6 columns) get loops the compiler unrolls:
 * the pass is the whole cost of a fit.
 */
#define ALWAYS_INLINE inline __attribute__((always_inline))

/*
 * Only products R_iᵀR_i, R_iᵀc_i and c_iᵀc_i of the factors are needed, and
 * with u_i = TᵀZ_iᵀy and W_i = TᵀZ_iᵀX they are quadratic forms in M_i⁻¹:
 *   c_iᵀc_i = u_iᵀM_i⁻¹u_i = tr(M_i⁻¹u_iu_iᵀ),
 *   R_iᵀc_i = W_iᵀM_i⁻¹u_i,  R_iᵀR_i = W_iᵀM_i⁻¹W_i.
 * A q×q inverse by cofactors costs one division and no square root (M_i has
 * eigenvalues ≥ 1, so the explicit inverse loses nothing). And for the n_k
 * participants of a pattern, who share M and W, the sums over them need
 * only Σu_i = TᵀΣZ_iᵀy and Σu_iu_iᵀ = Tᵀ(ΣZ_iᵀy y_iᵀZ_i)T.
 */

/* Adds n·log det for a pattern: the running product for single participants. */
static inline void logsum_add_n(struct logsum *ls, double det, double n)
{
    if (n == 1.0)
        logsum_add(ls, det);
    else
        ls->sum += n * log(det);
}

/* The q = 1 patterns: M = θ²Σ1 + 1 is a number. */
static ALWAYS_INLINE int blocks_pass_q1(struct ana_lmm_blocks *b, const double *theta, double *r,
                                        struct logsum *ld, double *cc, const size_t p)
{
    const double a = theta[0];
    double *s = b->s, *t = b->t;

    for (size_t i = 0; i < b->P; i++) {
        const double *zx = b->zx + i * p;
        const double m = a * a * b->zz[i] + 1.0, im = 1.0 / m, n = b->cnt[i];
        const double v = a * b->zy[i] * im;

        logsum_add_n(ld, m, n);
        *cc += a * a * b->zyy[i] * im;
        for (size_t j = 0; j < p; j++)
            r[j] = a * zx[j];
        for (size_t j = 0; j < p; j++) {
            double rj = n * im * r[j];
            t[j] -= r[j] * v;
            for (size_t k = 0; k <= j; k++)
                s[j * p + k] -= rj * r[k];
        }
    }
    return 0;
}

/* The q = 2 patterns, T = [a 0; b c] (lme4's θ order: a, b, c). */
static ALWAYS_INLINE int blocks_pass_q2(struct ana_lmm_blocks *b, const double *theta, double *r,
                                        struct logsum *ld, double *cc, const size_t p)
{
    const double a = theta[0], bt = theta[1], c = theta[2];
    double *s = b->s, *t = b->t, *w1 = r, *w2 = r + p;

    for (size_t i = 0; i < b->P; i++) {
        const double *zz = b->zz + 3 * i, *zy = b->zy + 2 * i, *yy = b->zyy + 3 * i;
        const double *zx1 = b->zx + 2 * p * i, *zx2 = zx1 + p;
        const double n = b->cnt[i];
        /* M = TᵀZᵀZT + I */
        double m11 = a * a * zz[0] + 2.0 * a * bt * zz[1] + bt * bt * zz[2] + 1.0;
        double m12 = c * (a * zz[1] + bt * zz[2]);
        double m22 = c * c * zz[2] + 1.0;
        double det = m11 * m22 - m12 * m12, id, i11, i12, i22;
        /* Σu = TᵀΣZᵀy, Σuuᵀ = TᵀYT, v = M⁻¹Σu */
        double u1 = a * zy[0] + bt * zy[1], u2 = c * zy[1], v1, v2;
        double q11 = a * a * yy[0] + 2.0 * a * bt * yy[1] + bt * bt * yy[2];
        double q12 = c * (a * yy[1] + bt * yy[2]), q22 = c * c * yy[2];

        if (!(det > 0.0))
            return -1;
        id = 1.0 / det;
        logsum_add_n(ld, det, n);
        /* M⁻¹ = [m22 −m12; −m12 m11] / det */
        i11 = m22 * id;
        i12 = -m12 * id;
        i22 = m11 * id;
        *cc += i11 * q11 + 2.0 * i12 * q12 + i22 * q22;
        v1 = i11 * u1 + i12 * u2;
        v2 = i12 * u1 + i22 * u2;
        for (size_t j = 0; j < p; j++) {
            w1[j] = a * zx1[j] + bt * zx2[j];
            w2[j] = c * zx2[j];
        }
        for (size_t j = 0; j < p; j++) {
            /* n times row j of WᵀM⁻¹ */
            double x1 = n * (i11 * w1[j] + i12 * w2[j]), x2 = n * (i12 * w1[j] + i22 * w2[j]);
            t[j] -= w1[j] * v1 + w2[j] * v2;
            for (size_t k = 0; k <= j; k++)
                s[j * p + k] -= x1 * w1[k] + x2 * w2[k];
        }
    }
    return 0;
}

static int blocks_pass(struct ana_lmm_blocks *b, const double *theta, double *r, struct logsum *ld,
                       double *cc)
{
#define PASS_P(P)                                                                                  \
    case P:                                                                                        \
        return b->q == 1 ? blocks_pass_q1(b, theta, r, ld, cc, P)                                  \
                         : blocks_pass_q2(b, theta, r, ld, cc, P)
    switch (b->p) {
        PASS_P(2);
        PASS_P(3);
        PASS_P(4);
        PASS_P(5);
        PASS_P(6);
    default:
        return b->q == 1 ? blocks_pass_q1(b, theta, r, ld, cc, b->p)
                         : blocks_pass_q2(b, theta, r, ld, cc, b->p);
    }
#undef PASS_P
}

int ana_lmm_blocks_eval(struct ana_lmm_blocks *b, const double *theta)
{
    const size_t p = b->p;
    double r[2 * ANA_LMM_MAX_FIXED];
    struct logsum ld = {0.0, 1.0};
    double cc = 0.0, tb = 0.0, ldrx = 0.0;
    gsl_matrix_view sv = gsl_matrix_view_array(b->s, p, p);
    gsl_vector_view tv = gsl_vector_view_array(b->t, p);
    gsl_vector_view bv = gsl_vector_view_array(b->beta, p);
    int rc;

    b->n_eval++;
    memcpy(b->s, b->xx, p * p * sizeof *b->s);
    memcpy(b->t, b->xy, p * sizeof *b->t);
    if ((rc = blocks_pass(b, theta, r, &ld, &cc)) != 0)
        return -1;
    if (gsl_linalg_cholesky_decomp1(&sv.matrix) != GSL_SUCCESS)
        return -1;
    if (gsl_linalg_cholesky_solve(&sv.matrix, &tv.vector, &bv.vector) != GSL_SUCCESS)
        return -1;
    for (size_t j = 0; j < p; j++) {
        ldrx += log(b->s[j * p + j]);
        tb += b->t[j] * b->beta[j];
    }
    b->ldL2 = ld.sum + log(ld.prod);
    b->ldRX2 = 2.0 * ldrx;
    b->r2 = b->yy - cc - tb;
    if (!(b->r2 > 0.0) || !isfinite(b->r2) || !isfinite(b->ldL2) || !isfinite(b->ldRX2))
        return -1;
    return 0;
}

double ana_lmm_blocks_profiled(const struct ana_lmm_blocks *b)
{
    double n = (double)b->n, k = b->reml ? n - (double)b->p : n;
    double dev = b->ldL2 + k * (1.0 + log(2.0 * M_PI * b->r2 / k));

    return b->reml ? dev + b->ldRX2 : dev;
}

int ana_lmm_blocks_unscaled_vcov(const struct ana_lmm_blocks *b, double *out)
{
    gsl_matrix_view ov = gsl_matrix_view_array(out, b->p, b->p);

    memcpy(out, b->s, b->p * b->p * sizeof *out);
    return gsl_linalg_cholesky_invert(&ov.matrix) == GSL_SUCCESS ? 0 : -1;
}

/* FNV-1a over the bytes of a pattern's key: its ZᵀZ and ZᵀX, exactly. */
static uint64_t key_hash(const double *a, size_t na, const double *b, size_t nb)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)a;

    for (size_t i = 0; i < na * sizeof *a; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    p = (const unsigned char *)b;
    for (size_t i = 0; i < nb * sizeof *b; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

int ana_lmm_blocks_compress(struct ana_lmm_blocks *b)
{
    const size_t q = b->q, p = b->p, nzz = q == 1 ? 1 : 3, nzx = q * p, J = b->J;
    size_t n_slots = 16, P = 0;
    size_t *slot = NULL;
    double *zz = NULL, *zx = NULL, *zy = NULL, *zyy = NULL, *cnt = NULL;
    int rc = -1;

    while (n_slots < 2 * J)
        n_slots *= 2;
    slot = malloc(n_slots * sizeof *slot);
    zz = malloc(J * nzz * sizeof *zz);
    zx = malloc(J * nzx * sizeof *zx);
    zy = calloc(J * q, sizeof *zy);
    zyy = calloc(J * nzz, sizeof *zyy);
    cnt = calloc(J, sizeof *cnt);
    if (!slot || !zz || !zx || !zy || !zyy || !cnt)
        goto out;
    for (size_t i = 0; i < n_slots; i++)
        slot[i] = SIZE_MAX;
    for (size_t g = 0; g < J; g++) {
        const double *gz = b->zz + g * nzz, *gx = b->zx + g * nzx, *gy = b->zy + g * q;
        size_t at = key_hash(gz, nzz, gx, nzx) & (n_slots - 1), k;

        while ((k = slot[at]) != SIZE_MAX && (memcmp(zz + k * nzz, gz, nzz * sizeof *gz) != 0 ||
                                              memcmp(zx + k * nzx, gx, nzx * sizeof *gx) != 0))
            at = (at + 1) & (n_slots - 1);
        if (k == SIZE_MAX) {
            k = slot[at] = P++;
            memcpy(zz + k * nzz, gz, nzz * sizeof *gz);
            memcpy(zx + k * nzx, gx, nzx * sizeof *gx);
        }
        cnt[k] += 1.0;
        if (q == 1) {
            zy[k] += gy[0];
            zyy[k] += gy[0] * gy[0];
        } else {
            zy[2 * k] += gy[0];
            zy[2 * k + 1] += gy[1];
            zyy[3 * k] += gy[0] * gy[0];
            zyy[3 * k + 1] += gy[0] * gy[1];
            zyy[3 * k + 2] += gy[1] * gy[1];
        }
    }
    free(b->zz);
    free(b->zx);
    free(b->zy);
    free(b->zyy);
    free(b->cnt);
    b->zz = zz;
    b->zx = zx;
    b->zy = zy;
    b->zyy = zyy;
    b->cnt = cnt;
    zz = zx = zy = zyy = cnt = NULL;
    b->P = P;
    rc = 0;
out:
    free(slot);
    free(zz);
    free(zx);
    free(zy);
    free(zyy);
    free(cnt);
    return rc;
}

void ana_lmm_blocks_free(struct ana_lmm_blocks *b)
{
    if (b == NULL)
        return;
    free(b->zz);
    free(b->zx);
    free(b->zy);
    free(b->zyy);
    free(b->cnt);
    free(b->xx);
    free(b->xy);
    free(b->s);
    free(b->t);
    free(b->beta);
    memset(b, 0, sizeof *b);
}
