/*
 * analyze_facts.h — where the facts an analysis needs about an instrument
 * (remission cut-off, MCID, reliability, normative values, direction) come
 * from.
 *
 * cli_facts_for_instrument() is the one function that knows where instrument
 * facts live: the instrument definitions (instruments/). Reverse keys and
 * the answer range come the same way through cli_items_for_instrument().
 * Command-line options (--reliability, --remission-below, --mcid,
 * --responder-pct, --norm-mean, --norm-sd, ...) always override them.
 */
#ifndef ATTUNE_CLI_ANALYZE_FACTS_H
#define ATTUNE_CLI_ANALYZE_FACTS_H

#include <stddef.h>

#include "ana_common.h"
#include "cfg.h"

/*
 * Fills `f` with what is known about `instrument` (f is first reset with
 * ana_facts_init). *source receives a short citation of where the values
 * come from (borrowed, a static buffer: valid until the next call), or NULL
 * when nothing is known. Returns 1
 * when the instrument is known, 0 when not (f then holds only defaults).
 * cfg may be NULL (no instruments folder to look in).
 */
int cli_facts_for_instrument(const struct cfg *cfg, const char *instrument, struct ana_facts *f,
                             const char **source);

/*
 * The reverse-keyed items and the answer range of an instrument's items, for
 * Cronbach's alpha, from its definition: *reverse is a malloc'd list of
 * malloc'd item ids (the caller's). Returns 1 when known, 0 when there is no
 * definition or its items do not share one answer range (then --reverse,
 * --scale-min and --scale-max must say).
 */
int cli_items_for_instrument(const struct cfg *cfg, const char *instrument, char ***reverse,
                             size_t *n_reverse, double *scale_min, double *scale_max);

#endif
