/*
 * analyze_facts.c — instrument facts for the analyses (see analyze_facts.h).
 *
 * Until instruments/ can be asked, the only facts known are GAD-7's
 * published values, each with its source:
 *   - remission: a score below 5 ("minimal anxiety", 0-4; Spitzer, Kroenke,
 *     Williams & Löwe 2006, Arch Intern Med 166:1092-1097)
 *   - minimal clinically important difference: 4 points (Toussaint et al.
 *     2020, J Affect Disord 265:395-401)
 *   - reliability: Cronbach's alpha 0.92 (Spitzer et al. 2006; their
 *     test-retest intraclass correlation was 0.83, which gives a wider
 *     reliable-change interval — pass --reliability 0.83 to use it)
 *   - general-population mean 2.95 and SD 3.41 for Jacobson-Truax criterion
 *     c (Löwe et al. 2008, Med Care 46:266-274)
 *   - lower is better.
 */
#include <string.h>

#include "analyze_facts.h"

struct cli_known_facts {
    const char *instrument;
    const char *source;
    double remission_below, mcid, reliability, norm_mean, norm_sd;
};

static const struct cli_known_facts cli_known[] = {
    {"gad7",
     "built-in GAD-7 values: remission < 5 and alpha 0.92 (Spitzer et al. 2006), MCID 4 "
     "(Toussaint et al. 2020), norms 2.95/3.41 (Lowe et al. 2008)",
     5.0, 4.0, 0.92, 2.95, 3.41},
};

int cli_facts_for_instrument(const struct cfg *cfg, const char *instrument, struct ana_facts *f,
                             const char **source)
{
    (void)cfg; /* the instruments folder, once definitions can be read */
    ana_facts_init(f);
    *source = NULL;
    if (instrument == NULL)
        return 0;
    for (size_t i = 0; i < sizeof cli_known / sizeof cli_known[0]; i++) {
        const struct cli_known_facts *k = &cli_known[i];
        if (strcmp(k->instrument, instrument) != 0)
            continue;
        f->higher_is_better = 0;
        f->has_remission = 1;
        f->remission_cutoff = k->remission_below;
        f->has_mcid = 1;
        f->mcid = k->mcid;
        f->has_reliability = 1;
        f->reliability = k->reliability;
        f->has_norms = 1;
        f->norm_mean = k->norm_mean;
        f->norm_sd = k->norm_sd;
        *source = k->source;
        return 1;
    }
    return 0;
}

int cli_items_for_instrument(const struct cfg *cfg, const char *instrument, char ***reverse,
                             size_t *n_reverse, double *scale_min, double *scale_max)
{
    (void)cfg;
    (void)instrument;
    *reverse = NULL;
    *n_reverse = 0;
    *scale_min = *scale_max = 0;
    return 0;
}
