/*
 * test_claim.c — report/rep_claim.c: reading claims (the figure and its
 * precision, percent or points, n, weeks, direction, population words, arm
 * names, instrument names with digits, thousands separators, refusals) and
 * checking a claim against candidate numbers (rounding edges, n, weeks,
 * population, arm, the confidence interval, increases).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rep_claim.h"
#include "tap.h"

static const char *const arms[] = {"app", "waitlist"};

static void test_parse(void)
{
    struct rep_claim c;
    struct err e;
    char big[REP_CLAIM_MAX + 10];

    err_clear(&e);
    ok(rep_claim_parse("43% reduction in anxiety among 280 adults over 8 weeks", arms, 2, &c, &e) ==
           0,
       "the issue's example reads");
    is_double(c.value, 43, 0, "figure 43");
    is_int(c.decimals, 0, "no decimals");
    is_double(c.tolerance, 0.5, 1e-15, "tolerance 0.5");
    is_int(c.unit, REP_UNIT_PERCENT, "a percentage");
    ok(c.has_n && c.n == 280, "n 280");
    is_str(c.population_noun, "adults", "of adults");
    ok(c.has_weeks && c.weeks == 8, "over 8 weeks");
    is_int(c.direction, REP_DIR_DOWN, "a reduction");
    is_int(c.scope, REP_SCOPE_ANY, "no population word");
    is_int(c.kind, REP_KIND_REDUCTION, "a change of the score");
    ok(!c.has_arm, "no arm");

    ok(rep_claim_parse("Completers saw a 43.5 percent drop (n = 187) after an 8-week programme",
                       arms, 2, &c, &e) == 0,
       "a second wording reads");
    is_double(c.value, 43.5, 1e-12, "figure 43.5");
    is_int(c.decimals, 1, "one decimal");
    is_double(c.tolerance, 0.05, 1e-15, "tolerance 0.05");
    ok(c.has_n && c.n == 187, "n = 187");
    ok(c.has_weeks && c.weeks == 8, "8-week");
    is_int(c.scope, REP_SCOPE_COMPLETERS, "completers");
    is_str(c.scope_word, "completers", "said by the word completers");

    ok(rep_claim_parse("GAD-7 fell by 4.2 points in the app arm among all participants", arms, 2,
                       &c, &e) == 0,
       "a change in points reads");
    is_int(c.unit, REP_UNIT_POINTS, "points");
    is_double(c.value, 4.2, 1e-12, "figure 4.2");
    ok(!c.has_n, "the 7 of GAD-7 is not an n");
    ok(c.has_arm && strcmp(c.arm, "app") == 0, "arm app");
    is_int(c.scope, REP_SCOPE_ITT, "all participants: everyone who started");

    ok(rep_claim_parse("Anxiety dropped 38 per cent for 1,200 users of the WAITLIST", arms, 2, &c,
                       &e) == 0 &&
           c.value == 38 && c.has_n && c.n == 1200 && c.has_arm && strcmp(c.arm, "waitlist") == 0,
       "per cent, a thousands separator and an arm in capitals");
    ok(rep_claim_parse("50% of users improved by 8 weeks", arms, 2, &c, &e) == 0 &&
           c.kind == REP_KIND_SHARE && !c.has_n,
       "50%% of users: a share of participants");
    ok(rep_claim_parse("remission in 30 percent", arms, 2, &c, &e) == 0 && c.kind == REP_KIND_SHARE,
       "remission: a share of participants");
    ok(rep_claim_parse("30 per cent of adults responded", arms, 2, &c, &e) == 0 &&
           c.kind == REP_KIND_SHARE,
       "per cent of: a share");
    ok(rep_claim_parse("43%", arms, 2, &c, &e) == 0 && c.kind == REP_KIND_ANY &&
           c.direction == REP_DIR_UNSAID,
       "a bare figure says neither kind nor direction");
    ok(rep_claim_parse("a 12% increase in wellbeing", arms, 2, &c, &e) == 0 &&
           c.direction == REP_DIR_UP,
       "an increase");
    ok(rep_claim_parse("an intention-to-treat reduction of 30%", arms, 2, &c, &e) == 0 &&
           c.scope == REP_SCOPE_ITT && c.value == 30,
       "intention-to-treat is one word, and sets the population");
    ok(rep_claim_parse("approx. 25% lower scores in 3 weeks; apps are great", arms, 2, &c, &e) ==
               0 &&
           !c.has_arm,
       "an arm name inside another word is not the arm");

    is_int(rep_claim_parse("", arms, 2, &c, &e), REP_EINVAL, "an empty claim is refused");
    is_int(rep_claim_parse("anxiety went down a lot among 280 adults", arms, 2, &c, &e), REP_EINVAL,
           "a claim without a figure is refused");
    ok(strstr(e.hint, "43%") != NULL, "with a hint showing the form");
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    is_int(rep_claim_parse(big, arms, 2, &c, &e), REP_EINVAL, "a claim over the cap is refused");
}

static void test_match(void)
{
    struct rep_claim c;
    struct rep_match m;
    struct err e;
    struct rep_candidate x = {"group_mean_pct",
                              REP_UNIT_PERCENT,
                              REP_KIND_REDUCTION,
                              43.2,
                              38.0,
                              48.0,
                              280,
                              8,
                              REP_SCOPE_ITT,
                              NULL};

    err_clear(&e);
    rep_claim_parse("43% reduction in anxiety among 280 adults over 8 weeks", arms, 2, &c, &e);
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_REPRODUCES, "43.2%% of 280 over 8 weeks reproduces it");
    is_str(m.why, "", "with nothing to say against");
    x.value = 42.5;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_REPRODUCES, "42.5 rounds to 43");
    x.value = 43.5;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_WITHIN_CI, "43.5 rounds to 44, but 43 is inside the CI");
    ok(strstr(m.why, "does not round") != NULL, "and it says the value does not round");
    x.value = 42.49;
    x.ci_lo = 30;
    x.ci_hi = 40;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_NO, "42.49 with 43 outside the CI: no");
    x.value = 43.1;
    x.n = 187;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_VALUE_ONLY, "the right value for 187 participants: value only");
    ok(strstr(m.why, "n is 187, the claim says 280") != NULL, "it says why");
    x.n = 280;
    x.weeks = 4;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_VALUE_ONLY, "at week 4: value only");
    ok(strstr(m.why, "4 weeks") != NULL, "it names the follow-up");
    x.weeks = 8;
    x.kind = REP_KIND_SHARE;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_VALUE_ONLY, "a share of participants against a reduction: value only");
    ok(strstr(m.why, "share of participants") != NULL, "it says the kinds differ");
    x.kind = REP_KIND_REDUCTION;
    x.unit = REP_UNIT_POINTS;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_NO, "points never reproduce a percentage");

    rep_claim_parse("Completers: 43% lower", arms, 2, &c, &e);
    x.unit = REP_UNIT_PERCENT;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_VALUE_ONLY, "a completers claim against an ITT number: value only");
    ok(strstr(m.why, "completers") != NULL, "it says the populations differ");
    x.scope = REP_SCOPE_COMPLETERS;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_REPRODUCES, "against a completers number it reproduces");

    rep_claim_parse("43% lower in the app arm", arms, 2, &c, &e);
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_VALUE_ONLY, "an arm claim against every arm together: value only");
    x.arm = "app";
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_REPRODUCES, "against the app arm it reproduces");
    x.arm = "waitlist";
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_VALUE_ONLY, "against the other arm it does not");

    rep_claim_parse("a 12% increase", arms, 2, &c, &e);
    x.arm = NULL;
    x.value = -12.3;
    x.ci_lo = -20;
    x.ci_hi = -5;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_REPRODUCES, "an increase matches a negative reduction");
    x.value = 12.3;
    x.ci_lo = 5;
    x.ci_hi = 20;
    rep_claim_match(&c, &x, &m);
    is_int(m.verdict, REP_NO, "and not a positive one");
    is_str(rep_verdict_name(REP_VALUE_ONLY), "value only", "verdict names");
}

int main(void)
{
    test_parse();
    test_match();
    return tap_done();
}
