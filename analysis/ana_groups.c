/*
 * ana_groups.c — quantile groups and per-group summaries (see ana_groups.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ana_groups.h"

static int ana_groups_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double ana_quantile_sorted(const double *sorted, size_t n, double p)
{
    double h = (double)(n - 1) * p, lo = floor(h);
    size_t j = (size_t)lo;

    if (j + 1 >= n)
        return sorted[n - 1];
    return sorted[j] + (h - lo) * (sorted[j + 1] - sorted[j]);
}

int ana_quantile_groups(const double *x, size_t n, unsigned k, double *cuts, unsigned *group,
                        struct err *e)
{
    double *s;

    if (k < 2 || k > ANA_GROUPS_MAX)
        return err_set(e, ANA_EINVAL, "invalid number of groups %u", k);
    if (n == 0)
        return err_set(e, ANA_ETOOFEW, "no values to group");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return err_set(e, ANA_EINVAL, "value %zu is not a finite number", i + 1);
    s = malloc(n * sizeof *s);
    if (s == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, ana_groups_cmp);
    for (unsigned j = 1; j < k; j++)
        cuts[j - 1] = ana_quantile_sorted(s, n, (double)j / k);
    free(s);
    for (size_t i = 0; i < n; i++) {
        unsigned g = 0;
        while (g + 1 < k && x[i] > cuts[g])
            g++;
        group[i] = g;
    }
    return 0;
}

int ana_group_summaries(const double *x, const double *y, const unsigned *group, size_t n,
                        unsigned k, double level, struct ana_group_summary *out, struct err *e)
{
    double *buf = NULL;
    int rc = ANA_EINVAL;

    if (k < 1 || k > ANA_GROUPS_MAX || !(level > 0 && level < 1))
        return err_set(e, ANA_EINVAL, "invalid number of groups %u or level %g", k, level);
    for (size_t i = 0; i < n; i++) {
        if (group[i] >= k)
            return err_set(e, ANA_EINVAL, "group %u of value %zu is not below %u", group[i], i + 1,
                           k);
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return err_set(e, ANA_EINVAL, "value %zu is not a finite number", i + 1);
    }
    buf = malloc((n ? n : 1) * sizeof *buf);
    if (buf == NULL)
        return err_set(e, ANA_ENOMEM, "out of memory");
    for (unsigned g = 0; g < k; g++) {
        struct ana_group_summary *s = &out[g];
        size_t m = 0;
        s->x_min = s->x_max = NAN;
        for (size_t i = 0; i < n; i++) {
            if (group[i] != g)
                continue;
            buf[m++] = y[i];
            s->x_min = m == 1 ? x[i] : fmin(s->x_min, x[i]);
            s->x_max = m == 1 ? x[i] : fmax(s->x_max, x[i]);
        }
        s->n = m;
        s->mean = s->sd = s->se = s->median = s->ci.lo = s->ci.hi = NAN;
        if (m == 1) {
            s->mean = s->median = buf[0];
        } else if (m >= 2) {
            struct ana_describe d;
            double t;
            if ((rc = ana_describe(buf, m, &d, e)) != 0)
                goto out;
            t = ana_t_crit(level, (double)m - 1);
            s->mean = d.mean;
            s->sd = d.sd;
            s->se = d.se;
            s->median = d.median;
            s->ci.lo = d.mean - t * d.se;
            s->ci.hi = d.mean + t * d.se;
        }
    }
    rc = 0;
out:
    free(buf);
    return rc;
}
