/*
 * rep_claim.c — reading a claim and checking it against one candidate
 * number (see rep_claim.h for the rules).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep_claim.h"

#define REP_MAX_TOKENS 200

enum rep_tok_kind {
    TOK_NUM,
    TOK_WORD,
    TOK_SYM,
};

struct rep_tok {
    enum rep_tok_kind kind;
    char text[48];  /* lower case; numbers without thousands separators */
    int decimals;   /* numbers: digits after the point */
    int is_integer; /* numbers: no decimal point */
};

/* Words, as tables: what each one says about the claim. */
static const char *const rep_down_words[] = {
    "reduction", "reductions", "reduced",  "reduces", "reduce", "decrease",
    "decreased", "decreases",  "drop",     "dropped", "drops",  "fall",
    "fell",      "decline",    "declined", "lower",   "less",   "improvement",
    "improved",  "improves",   "fewer",    "cut",     "down",   "relief",
};
static const char *const rep_up_words[] = {"increase", "increased", "increases", "rise",     "rose",
                                           "higher",   "more",      "worse",     "worsened", "up"};
static const char *const rep_completer_words[] = {"completer", "completers",   "completed",
                                                  "finished",  "per-protocol", "protocol"};
static const char *const rep_itt_words[] = {
    "intention-to-treat", "intention", "itt",     "everyone",  "everybody", "randomised",
    "randomized",         "enrolled",  "started", "enrolment", "enrollment"};
static const char *const rep_share_words[] = {"responder", "responders", "responded",  "response",
                                              "remission", "remitted",   "recovered",  "recovery",
                                              "reliable",  "reliably",   "proportion", "share"};
static const char *const rep_people_after_all[] = {"participants", "patients", "adults", "people",
                                                   "users",        "subjects", "who"};

static int rep_in(const char *w, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, list[i]) == 0)
            return 1;
    return 0;
}

#define IN(w, list) rep_in((w), (list), sizeof(list) / sizeof((list)[0]))

/*
 * Splits text into numbers, words and symbols. A word starts with a letter
 * and runs on through letters, digits and inner hyphens, so "GAD-7" and
 * "intention-to-treat" are one word each and their digits are not numbers;
 * "8-week" is a number, a hyphen and a word.
 */
static int rep_tokenize(const char *s, struct rep_tok *t, size_t *n_out, struct err *e)
{
    size_t n = 0;

    while (*s != '\0') {
        unsigned char c = (unsigned char)*s;
        struct rep_tok *k;
        size_t len = 0;
        if (isspace(c)) {
            s++;
            continue;
        }
        if (n == REP_MAX_TOKENS)
            return err_set(e, REP_EINVAL, "the claim has too many words");
        k = &t[n++];
        memset(k, 0, sizeof *k);
        if (isdigit(c)) {
            k->kind = TOK_NUM;
            k->is_integer = 1;
            while (*s != '\0' && len + 1 < sizeof k->text) {
                if (isdigit((unsigned char)*s)) {
                    k->text[len++] = *s++;
                    if (!k->is_integer)
                        k->decimals++;
                } else if (*s == ',' && k->is_integer && isdigit((unsigned char)s[1]) &&
                           isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) &&
                           !isdigit((unsigned char)s[4])) {
                    s++; /* a thousands separator: 1,200 */
                } else if (*s == '.' && k->is_integer && isdigit((unsigned char)s[1])) {
                    k->text[len++] = *s++;
                    k->is_integer = 0;
                } else {
                    break;
                }
            }
        } else if (isalpha(c)) {
            k->kind = TOK_WORD;
            while (*s != '\0' && len + 1 < sizeof k->text &&
                   (isalnum((unsigned char)*s) || *s == '\'' ||
                    (*s == '-' && isalnum((unsigned char)s[1]) && len > 0)))
                k->text[len++] = (char)tolower((unsigned char)*s++);
            while (isalnum((unsigned char)*s)) /* a very long word: the rest is dropped */
                s++;
        } else {
            k->kind = TOK_SYM;
            k->text[0] = *s++;
        }
        k->text[len > 0 ? len : 1] = '\0';
    }
    *n_out = n;
    return 0;
}

/* The token after i, skipping one joining hyphen ("8-week"). */
static const struct rep_tok *rep_next(const struct rep_tok *t, size_t n, size_t i)
{
    if (i + 1 < n && t[i + 1].kind == TOK_SYM && t[i + 1].text[0] == '-')
        i++;
    return i + 1 < n ? &t[i + 1] : NULL;
}

static int rep_word_is(const struct rep_tok *k, const char *w)
{
    return k != NULL && k->kind == TOK_WORD && strcmp(k->text, w) == 0;
}

/* Whether `arm` occurs in the lower-cased text as a whole word. */
static int rep_has_word(const char *lower, const char *arm)
{
    size_t len = strlen(arm);

    if (len == 0)
        return 0;
    for (const char *p = strstr(lower, arm); p != NULL; p = strstr(p + 1, arm)) {
        int before = p == lower || !isalnum((unsigned char)p[-1]);
        int after = !isalnum((unsigned char)p[len]);
        if (before && after)
            return 1;
    }
    return 0;
}

int rep_claim_parse(const char *text, const char *const *arms, size_t n_arms, struct rep_claim *out,
                    struct err *e)
{
    struct rep_tok *t;
    struct rep_claim c;
    char lower[REP_CLAIM_MAX + 1];
    size_t n = 0, len;
    int have_value = 0, rc;

    if (text == NULL || (len = strlen(text)) == 0)
        return err_set(e, REP_EINVAL, "the claim is empty");
    if (len > REP_CLAIM_MAX) {
        err_set(e, REP_EINVAL, "the claim is too long");
        err_detail(e, "It has %zu characters; at most %d are read.", len, REP_CLAIM_MAX);
        return REP_EINVAL;
    }
    t = malloc(REP_MAX_TOKENS * sizeof *t);
    if (t == NULL)
        return err_set(e, REP_EINVAL, "out of memory");
    if ((rc = rep_tokenize(text, t, &n, e)) != 0) {
        free(t);
        return rc;
    }
    memset(&c, 0, sizeof c);
    snprintf(c.text, sizeof c.text, "%s", text);
    for (size_t i = 0; i <= len; i++)
        lower[i] = (char)tolower((unsigned char)text[i]);

    for (size_t i = 0; i < n; i++) {
        const struct rep_tok *k = &t[i], *nx = rep_next(t, n, i);
        const struct rep_tok *prev = i > 0 ? &t[i - 1] : NULL;
        if (k->kind == TOK_WORD) {
            if (IN(k->text, rep_share_words))
                c.kind = REP_KIND_SHARE;
            if (c.direction == REP_DIR_UNSAID && IN(k->text, rep_down_words))
                c.direction = REP_DIR_DOWN;
            else if (c.direction == REP_DIR_UNSAID && IN(k->text, rep_up_words))
                c.direction = REP_DIR_UP;
            if (c.scope == REP_SCOPE_ANY && IN(k->text, rep_completer_words)) {
                c.scope = REP_SCOPE_COMPLETERS;
                snprintf(c.scope_word, sizeof c.scope_word, "%s", k->text);
            } else if (c.scope == REP_SCOPE_ANY &&
                       (IN(k->text, rep_itt_words) ||
                        (strcmp(k->text, "all") == 0 && nx != NULL && nx->kind == TOK_WORD &&
                         IN(nx->text, rep_people_after_all)))) {
                c.scope = REP_SCOPE_ITT;
                snprintf(c.scope_word, sizeof c.scope_word, "%s", k->text);
            }
            continue;
        }
        if (k->kind != TOK_NUM)
            continue;
        if (nx != NULL &&
            ((nx->kind == TOK_SYM && nx->text[0] == '%') || rep_word_is(nx, "percent") ||
             (rep_word_is(nx, "per") && i + 2 < n && rep_word_is(&t[i + 2], "cent")))) {
            if (!have_value) {
                const struct rep_tok *after = &t[i + 1];
                c.value = strtod(k->text, NULL);
                c.decimals = k->decimals;
                c.unit = REP_UNIT_PERCENT;
                have_value = 1;
                /* "50% of users": the word after the percent sign or "percent". */
                if (after->kind == TOK_WORD && strcmp(after->text, "per") == 0 && i + 3 < n)
                    after = &t[i + 3];
                else if (i + 2 < n)
                    after = &t[i + 2];
                if (rep_word_is(after, "of"))
                    c.kind = REP_KIND_SHARE;
            }
        } else if (rep_word_is(nx, "point") || rep_word_is(nx, "points") || rep_word_is(nx, "pt") ||
                   rep_word_is(nx, "pts")) {
            if (!have_value) {
                c.value = strtod(k->text, NULL);
                c.decimals = k->decimals;
                c.unit = REP_UNIT_POINTS;
                have_value = 1;
            }
        } else if (rep_word_is(nx, "week") || rep_word_is(nx, "weeks") || rep_word_is(nx, "wk") ||
                   rep_word_is(nx, "wks")) {
            if (!c.has_weeks) {
                c.has_weeks = 1;
                c.weeks = strtod(k->text, NULL);
            }
        } else if (k->is_integer && !c.has_n &&
                   ((prev != NULL && prev->kind == TOK_SYM && prev->text[0] == '=' && i >= 2 &&
                     rep_word_is(&t[i - 2], "n")) ||
                    (nx != NULL && nx->kind == TOK_WORD))) {
            c.has_n = 1;
            c.n = strtol(k->text, NULL, 10);
            if (nx != NULL && nx->kind == TOK_WORD)
                snprintf(c.population_noun, sizeof c.population_noun, "%s", nx->text);
        }
    }
    free(t);
    if (!have_value) {
        err_set(e, REP_EINVAL, "the claim states no figure");
        err_detail(e,
                   "No number followed by \"%%\", \"percent\" or \"points\" was found in "
                   "\"%s\".",
                   text);
        err_hint(e, "Write it as, for example, \"43%% reduction in anxiety among 280 adults over "
                    "8 weeks\".");
        return REP_EINVAL;
    }
    c.tolerance = 0.5 * pow(10.0, -c.decimals);
    if (c.kind == REP_KIND_ANY && c.direction != REP_DIR_UNSAID)
        c.kind = REP_KIND_REDUCTION;
    for (size_t a = 0; a < n_arms; a++) {
        char arm[64];
        size_t k;
        for (k = 0; arms[a][k] != '\0' && k + 1 < sizeof arm; k++)
            arm[k] = (char)tolower((unsigned char)arms[a][k]);
        arm[k] = '\0';
        if (rep_has_word(lower, arm)) {
            c.has_arm = 1;
            snprintf(c.arm, sizeof c.arm, "%s", arms[a]);
            break;
        }
    }
    *out = c;
    return 0;
}

const char *rep_verdict_name(enum rep_verdict v)
{
    static const char *const names[] = {"reproduces", "value only", "within CI", "no"};
    return (unsigned)v < 4 ? names[v] : "unknown";
}

/* Appends "; words" to why. */
static void rep_why(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rep_why(char *why, size_t size, const char *fmt, ...)
{
    size_t used = strlen(why);
    va_list ap;

    if (used > 0 && used + 2 < size) {
        memcpy(why + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(why + used, size - used, fmt, ap);
    va_end(ap);
}

void rep_claim_match(const struct rep_claim *c, const struct rep_candidate *x, struct rep_match *m)
{
    /* A claimed increase is a negative reduction. */
    double sign = c->direction == REP_DIR_UP ? -1.0 : 1.0;
    double v = sign * x->value, lo = sign * (sign > 0 ? x->ci_lo : x->ci_hi),
           hi = sign * (sign > 0 ? x->ci_hi : x->ci_lo);
    static const char *const scopes[] = {"any", "completers", "everyone who started"};

    memset(m, 0, sizeof *m);
    m->unit_ok = c->unit == x->unit;
    m->value_ok =
        m->unit_ok && isfinite(v) && v >= c->value - c->tolerance && v < c->value + c->tolerance;
    m->in_ci = m->unit_ok && isfinite(lo) && isfinite(hi) && lo <= c->value && c->value <= hi;
    m->n_ok = !c->has_n || x->n == c->n;
    m->weeks_ok = !c->has_weeks || fabs(c->weeks - x->weeks) < 1e-9;
    m->scope_ok = c->scope == REP_SCOPE_ANY || c->scope == x->scope;
    m->arm_ok = !c->has_arm || (x->arm != NULL && strcmp(x->arm, c->arm) == 0);
    m->kind_ok = c->kind == REP_KIND_ANY || c->kind == x->kind;
    if (!m->unit_ok)
        rep_why(m->why, sizeof m->why, "the claim is in %s, this is in %s",
                c->unit == REP_UNIT_PERCENT ? "percent" : "points",
                x->unit == REP_UNIT_PERCENT ? "percent" : "points");
    else if (!m->value_ok)
        rep_why(m->why, sizeof m->why, "%.*f does not round to %.*f", c->decimals + 1, v,
                c->decimals, c->value);
    if (!m->kind_ok)
        rep_why(m->why, sizeof m->why, "the claim is %s, this is %s",
                c->kind == REP_KIND_SHARE ? "a share of participants" : "a change of the score",
                x->kind == REP_KIND_SHARE ? "a share of participants" : "a change of the score");
    if (!m->n_ok)
        rep_why(m->why, sizeof m->why, "n is %ld, the claim says %ld", x->n, c->n);
    if (!m->weeks_ok)
        rep_why(m->why, sizeof m->why, "the follow-up is %g weeks, the claim says %g", x->weeks,
                c->weeks);
    if (!m->scope_ok)
        rep_why(m->why, sizeof m->why, "the claim says %s (\"%s\"), this population is %s",
                scopes[c->scope], c->scope_word, scopes[x->scope]);
    if (!m->arm_ok)
        rep_why(m->why, sizeof m->why, "the claim names arm %s, this is %s", c->arm,
                x->arm ? x->arm : "every arm together");
    if (m->value_ok && m->kind_ok && m->n_ok && m->weeks_ok && m->scope_ok && m->arm_ok)
        m->verdict = REP_REPRODUCES;
    else if (m->value_ok)
        m->verdict = REP_VALUE_ONLY;
    else if (m->in_ci && m->kind_ok && m->n_ok && m->weeks_ok && m->scope_ok && m->arm_ok)
        m->verdict = REP_WITHIN_CI;
    else
        m->verdict = REP_NO;
}
