/*
 * rep_claim.h — a headline claim written as text ("43% reduction in
 * anxiety among 280 adults over 8 weeks"), read into its parts and checked
 * against every number the report computed.
 *
 * Reading is deliberately plain, word by word, with no guessing beyond
 * what docs/report.md lists:
 *   - the size: the first number followed by "%", "percent" or "per cent"
 *     (a percentage), or by "point(s)"/"-point" (a change in score points);
 *   - the weeks: a number followed by "week(s)" or "-week";
 *   - the n: any other whole number followed by a word (280 adults), or
 *     after "n =" / "N=";
 *   - the direction: reduction, decrease, drop, fall, decline, lower, less,
 *     improvement, improved, fewer (down); increase, rise, higher, more,
 *     worse (up);
 *   - the population: completer(s), completed, finished, per-protocol
 *     (completers); intention-to-treat, ITT, everyone, all participants,
 *     randomised/randomized, enrolled, started (intention to treat); any
 *     other wording leaves it open;
 *   - an arm: one of the study's arm names as a whole word;
 *   - the kind: a share of participants when the figure is followed by "of"
 *     ("50% of users") or the claim speaks of responders, response,
 *     remission, recovery or reliable change; otherwise a change of the
 *     score when it has a direction word; otherwise not said.
 *
 * Checking is a pure function of the claim and one candidate number. A
 * candidate reproduces the claim when its value rounds to the claim's
 * figure at the claim's own precision ("43%" is 42.5 <= x < 43.5; "43.0%"
 * is 42.95 <= x < 43.05), it is the claim's kind of number (a percentage or
 * points), and each part the claim states agrees: the n is the
 * candidate's n, the weeks are the candidate's follow-up, the population
 * word fits, the arm is the candidate's, and a reduction of the score is
 * not matched by a share of participants (nor the reverse).
 */
#ifndef ATTUNE_REP_CLAIM_H
#define ATTUNE_REP_CLAIM_H

#include <stddef.h>

#include "err.h"

enum {
    REP_EINVAL = -1, /* an empty, too long or unreadable claim */
};

#define REP_CLAIM_MAX 500 /* characters of claim text */

enum rep_unit {
    REP_UNIT_PERCENT = 0,
    REP_UNIT_POINTS,
};

enum rep_direction {
    REP_DIR_UNSAID = 0,
    REP_DIR_DOWN, /* a reduction: the score went down */
    REP_DIR_UP,
};

/* What the figure is a percentage of. */
enum rep_kind {
    REP_KIND_ANY = 0,   /* not said */
    REP_KIND_REDUCTION, /* a change of the score ("a 43% reduction in anxiety") */
    REP_KIND_SHARE,     /* a share of participants ("50% of users improved", "remission") */
};

enum rep_scope {
    REP_SCOPE_ANY = 0,    /* no population word */
    REP_SCOPE_COMPLETERS, /* those who finished */
    REP_SCOPE_ITT,        /* everyone who started */
};

struct rep_claim {
    char text[REP_CLAIM_MAX + 1];
    double value;     /* the figure: 43 */
    int decimals;     /* as written: 0 for "43%", 1 for "43.0%" */
    double tolerance; /* half a unit of the last digit written: 0.5 */
    enum rep_unit unit;
    int has_n;
    long n;
    int has_weeks;
    double weeks;
    enum rep_direction direction;
    enum rep_kind kind;
    enum rep_scope scope;
    char scope_word[48];      /* the word that set the scope */
    char population_noun[48]; /* the word after n ("adults"), for the report's wording */
    int has_arm;
    char arm[64];
};

/*
 * Reads a claim. `arms` are the study's arm names (may be NULL when
 * n_arms is 0). REP_EINVAL when the text is empty, longer than
 * REP_CLAIM_MAX, or has no figure (no percentage and no points).
 */
int rep_claim_parse(const char *text, const char *const *arms, size_t n_arms, struct rep_claim *out,
                    struct err *e);

/* A number the claim might be: one definition of reduction in one population and arm. */
struct rep_candidate {
    const char *definition; /* "group_mean_pct", ... */
    enum rep_unit unit;
    enum rep_kind kind; /* REP_KIND_REDUCTION or REP_KIND_SHARE */
    double value;       /* a reduction is positive */
    double ci_lo, ci_hi;
    long n;
    double weeks;         /* follow-up: post - pre */
    enum rep_scope scope; /* REP_SCOPE_COMPLETERS or REP_SCOPE_ITT (mixed model: ITT) */
    const char *arm;      /* NULL: every arm together */
};

enum rep_verdict {
    REP_REPRODUCES = 0, /* the value and everything the claim states agree */
    REP_VALUE_ONLY,     /* the value agrees, something else the claim states does not */
    REP_WITHIN_CI,      /* the value does not round to the claim, but the claim is inside its CI */
    REP_NO,
};

struct rep_match {
    enum rep_verdict verdict;
    int value_ok, unit_ok, kind_ok, n_ok, weeks_ok, scope_ok, arm_ok, in_ci;
    char why[400]; /* what disagrees, in words; empty when it reproduces */
};

void rep_claim_match(const struct rep_claim *c, const struct rep_candidate *x,
                     struct rep_match *out);

/* "reproduces", "value only", "within CI", "no". */
const char *rep_verdict_name(enum rep_verdict v);

#endif
