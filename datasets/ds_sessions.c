/*
 * ds_sessions.c — the pure part of engagement: event kinds, the order of
 * events, session pairing by the rule in ds_engage.h, and the measures of
 * one participant's events. No database here (ds_engage.c reads the rows).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ds_engage.h"

/* Event types with a meaning for engagement; every other type is DS_EV_OTHER. */
static const struct {
    const char *type;
    enum ds_event_kind kind;
} ds_event_kinds[] = {
    {"session_start", DS_EV_SESSION_START}, {"session_end", DS_EV_SESSION_END},
    {"exercise_completed", DS_EV_EXERCISE}, {"breathing_exercise", DS_EV_EXERCISE},
    {"grounding_exercise", DS_EV_EXERCISE}, {"trigger_log_entry", DS_EV_TRIGGER_LOG},
};

enum ds_event_kind ds_event_kind_of(const char *type)
{
    for (size_t i = 0; i < sizeof ds_event_kinds / sizeof ds_event_kinds[0]; i++)
        if (strcmp(ds_event_kinds[i].type, type) == 0)
            return ds_event_kinds[i].kind;
    return DS_EV_OTHER;
}

static const char *const ds_eng_metric_names[DS_ENG_COUNT] = {
    [DS_ENG_ACTIVE_DAYS] = "active_days",   [DS_ENG_SESSIONS] = "sessions",
    [DS_ENG_MINUTES] = "minutes",           [DS_ENG_EXERCISES] = "exercises",
    [DS_ENG_TRIGGER_LOGS] = "trigger_logs",
};

const char *ds_eng_metric_name(enum ds_eng_metric m)
{
    return (unsigned)m < DS_ENG_COUNT ? ds_eng_metric_names[m] : "unknown";
}

int ds_eng_metric_parse(const char *name, enum ds_eng_metric *out)
{
    for (unsigned i = 0; i < DS_ENG_COUNT; i++) {
        if (strcmp(name, ds_eng_metric_names[i]) == 0) {
            *out = (enum ds_eng_metric)i;
            return 0;
        }
    }
    return -1;
}

/* Rule 1: at one instant, ends first (they close the session before), then
 * starts, then everything else (it belongs to the session just started). */
static int ds_event_rank(enum ds_event_kind k)
{
    return k == DS_EV_SESSION_END ? 0 : k == DS_EV_SESSION_START ? 1 : 2;
}

static int ds_event_cmp(const void *a, const void *b)
{
    const struct ds_event *x = a, *y = b;

    if (x->at_us != y->at_us)
        return x->at_us < y->at_us ? -1 : 1;
    return ds_event_rank(x->kind) - ds_event_rank(y->kind);
}

void ds_events_sort(struct ds_event *ev, size_t n)
{
    qsort(ev, n, sizeof *ev, ds_event_cmp);
}

int ds_sessions_pair(const struct ds_event *ev, size_t n, int64_t cap_us, struct ds_session *out,
                     size_t *n_out, struct ds_session_counts *c, struct err *e)
{
    size_t k = 0;
    int open = 0;
    int64_t start = 0, last = 0;
    int32_t week = 0;

    if (cap_us <= 0)
        return err_set(e, DS_EFORMAT, "the session cap must be positive");
    for (size_t i = 1; i < n; i++)
        if (ds_event_cmp(&ev[i - 1], &ev[i]) > 0)
            return err_set(e, DS_EFORMAT, "events are not in time order (event %zu)", i + 1);
            /* Rule 3: an unpaired start lasts until its last other event in the cap. */
#define CLOSE_UNPAIRED()                                                                           \
    do {                                                                                           \
        out[k++] = (struct ds_session){start, last, week, 0};                                      \
        c->unpaired_start++;                                                                       \
        open = 0;                                                                                  \
    } while (0)
    for (size_t i = 0; i < n; i++) {
        const struct ds_event *x = &ev[i];
        switch (x->kind) {
        case DS_EV_SESSION_START:
            if (open)
                CLOSE_UNPAIRED();
            open = 1;
            start = last = x->at_us;
            week = x->week;
            break;
        case DS_EV_SESSION_END:
            if (open && x->at_us - start <= cap_us) {
                out[k++] = (struct ds_session){start, x->at_us, week, 1};
                c->paired++;
                open = 0;
            } else {
                /* Rule 4: dropped. An end after the cap also closes the session by rule 3. */
                if (open) {
                    CLOSE_UNPAIRED();
                    c->over_cap++;
                }
                c->unpaired_end++;
            }
            break;
        default:
            if (open && x->at_us - start <= cap_us)
                last = x->at_us;
            break;
        }
    }
    if (open)
        CLOSE_UNPAIRED();
#undef CLOSE_UNPAIRED
    c->sessions += k;
    *n_out = k;
    return 0;
}

double ds_engagement_value(const struct ds_engagement *g, size_t s, int week, enum ds_eng_metric m)
{
    if (week < 0)
        return g->total[s * DS_ENG_COUNT + m];
    return g->week_value[(s * (size_t)g->n_weeks + (size_t)week) * DS_ENG_COUNT + m];
}

int ds_engagement_new(size_t n_subjects, int n_weeks, int64_t cap_us, struct ds_engagement **out,
                      struct err *e)
{
    struct ds_engagement *g = calloc(1, sizeof *g);
    size_t cells = n_subjects * (size_t)(n_weeks > 0 ? n_weeks : 1);

    if (n_weeks < 1 || n_weeks > 1000) {
        free(g);
        return err_set(e, DS_EFORMAT, "invalid number of study weeks %d", n_weeks);
    }
    if (g == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    g->n_subjects = n_subjects;
    g->n_weeks = n_weeks;
    g->cap_us = cap_us > 0 ? cap_us : 60LL * 60 * 1000000;
    g->week_value = calloc(cells * DS_ENG_COUNT + 1, sizeof *g->week_value);
    g->total = calloc(n_subjects * DS_ENG_COUNT + 1, sizeof *g->total);
    g->exposed = malloc(cells + 1);
    g->full = malloc(n_subjects + 1);
    if (g->week_value == NULL || g->total == NULL || g->exposed == NULL || g->full == NULL) {
        ds_engagement_free(g);
        return err_set(e, DS_ENOMEM, "out of memory");
    }
    memset(g->exposed, 1, cells);
    memset(g->full, 1, n_subjects);
    *out = g;
    return 0;
}

void ds_engagement_free(struct ds_engagement *g)
{
    if (g == NULL)
        return;
    free(g->week_value);
    free(g->total);
    free(g->exposed);
    free(g->full);
    free(g);
}

int ds_engagement_add(struct ds_engagement *g, size_t s, const struct ds_event *ev, size_t n,
                      struct err *e)
{
    struct ds_session *sessions = NULL;
    size_t n_starts = 0, n_sessions = 0;
    int32_t last_day = INT32_MIN, last_week_day = INT32_MIN, last_week = -1;
    double *total = &g->total[s * DS_ENG_COUNT];
    int rc;

    if (s >= g->n_subjects)
        return err_set(e, DS_EFORMAT, "no participant %zu", s);
    for (size_t i = 0; i < n; i++)
        n_starts += ev[i].kind == DS_EV_SESSION_START;
    sessions = malloc((n_starts ? n_starts : 1) * sizeof *sessions);
    if (sessions == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    if ((rc = ds_sessions_pair(ev, n, g->cap_us, sessions, &n_sessions, &g->sessions, e)) != 0)
        goto out;
    g->n_events += n;
    for (size_t i = 0; i < n; i++) {
        const struct ds_event *x = &ev[i];
        double *wv;
        if (x->week < 0 || x->week >= g->n_weeks) {
            g->n_outside++;
            continue;
        }
        wv = &g->week_value[(s * (size_t)g->n_weeks + (size_t)x->week) * DS_ENG_COUNT];
        /* Days only move forward in time order: a new day is a change of day. A
         * calendar day can span two study weeks (weeks start at the enrolment
         * hour), so each week counts its own days and the total its own. */
        if (x->day != last_day) {
            total[DS_ENG_ACTIVE_DAYS]++;
            last_day = x->day;
        }
        if (x->week != last_week || x->day != last_week_day) {
            wv[DS_ENG_ACTIVE_DAYS]++;
            last_week = x->week;
            last_week_day = x->day;
        }
        if (x->kind == DS_EV_EXERCISE) {
            wv[DS_ENG_EXERCISES]++;
            total[DS_ENG_EXERCISES]++;
        } else if (x->kind == DS_EV_TRIGGER_LOG) {
            wv[DS_ENG_TRIGGER_LOGS]++;
            total[DS_ENG_TRIGGER_LOGS]++;
        }
    }
    for (size_t k = 0; k < n_sessions; k++) {
        const struct ds_session *x = &sessions[k];
        double minutes = (double)(x->end_us - x->start_us) / 60e6;
        double *wv;
        if (x->week < 0 || x->week >= g->n_weeks)
            continue;
        wv = &g->week_value[(s * (size_t)g->n_weeks + (size_t)x->week) * DS_ENG_COUNT];
        wv[DS_ENG_SESSIONS]++;
        wv[DS_ENG_MINUTES] += minutes;
        total[DS_ENG_SESSIONS]++;
        total[DS_ENG_MINUTES] += minutes;
    }
    rc = 0;
out:
    free(sessions);
    return rc;
}
