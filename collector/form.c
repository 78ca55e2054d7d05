/*
 * form.c — the participant web form, GET and POST /p/<token>.
 *
 * Plain server-rendered HTML built from the instrument definition (and, for
 * a scoring key shipped without item texts, the wording its study supplied,
 * sql/008_item_texts.sql; without that wording the key is not shown): no
 * JavaScript, no inline styles or scripts (the server's CSP forbids them; the
 * one stylesheet is served from /p-assets/form.css), radio buttons with the
 * instrument's own answer labels and large tap targets, "Question n of N" on
 * each item. A POST goes through col_response_submit(), the same path as the
 * API. On a problem the form comes back with a kind, specific message per
 * question ("Please answer question 4.") and every answer given still
 * selected. Each rendered form carries a fresh response id, so pressing
 * Submit twice stores one response. Every page shows the study's support
 * text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "col_int.h"

#define COL_FORM_MAX_DUE 32

/* A growing HTML buffer; on allocation failure it stays failed. */
struct col_html {
    char *buf;
    size_t len, cap;
    int failed;
};

static void col_html_grow(struct col_html *h, size_t more)
{
    size_t cap;
    char *grown;

    if (h->failed || h->len + more + 1 <= h->cap)
        return;
    cap = h->cap ? h->cap : 8192;
    while (cap < h->len + more + 1)
        cap *= 2;
    grown = realloc(h->buf, cap);
    if (grown == NULL) {
        h->failed = 1;
        return;
    }
    h->buf = grown;
    h->cap = cap;
}

static void col_html_raw(struct col_html *h, const char *s)
{
    size_t n = strlen(s);

    col_html_grow(h, n);
    if (h->failed)
        return;
    memcpy(h->buf + h->len, s, n + 1);
    h->len += n;
}

/* Appends text with &, <, >, " and ' escaped. */
static void col_html_text(struct col_html *h, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            col_html_raw(h, "&amp;");
            break;
        case '<':
            col_html_raw(h, "&lt;");
            break;
        case '>':
            col_html_raw(h, "&gt;");
            break;
        case '"':
            col_html_raw(h, "&quot;");
            break;
        case '\'':
            col_html_raw(h, "&#39;");
            break;
        default: {
            char c[2] = {*s, '\0'};
            col_html_raw(h, c);
        }
        }
    }
}

/* printf into the page; arguments must be escaped already (or be numbers). */
static void col_html_printf(struct col_html *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void col_html_printf(struct col_html *h, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    col_html_grow(h, (size_t)n);
    if (h->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(h->buf + h->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    h->len += (size_t)n;
}

static void col_html_head(struct col_html *h, const char *title)
{
    col_html_raw(h, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<meta name=\"robots\" content=\"noindex\">"
                    "<link rel=\"stylesheet\" href=\"/p-assets/form.css\"><title>");
    col_html_text(h, title);
    col_html_raw(h, "</title></head><body><main>");
}

static void col_html_foot(struct col_html *h, const char *support_text)
{
    col_html_raw(h, "</main><footer><h2>Support</h2><p>");
    col_html_text(h, support_text && *support_text ? support_text : col_default_support_text);
    col_html_raw(h, "</p></footer></body></html>");
}

static void col_html_reply(struct col_html *h, struct http_reply *rep, int status)
{
    if (h->failed || h->buf == NULL) {
        free(h->buf);
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    http_reply_take(rep, status, "text/html; charset=utf-8", h->buf, h->len);
    h->buf = NULL;
}

/* A short page: a heading and a paragraph. */
static void col_form_message(struct http_reply *rep, int status, const char *title,
                             const char *text, const char *support)
{
    struct col_html h = {0};

    col_html_head(&h, title);
    col_html_raw(&h, "<h1>");
    col_html_text(&h, title);
    col_html_raw(&h, "</h1><p>");
    col_html_text(&h, text);
    col_html_raw(&h, "</p>");
    col_html_foot(&h, support);
    col_html_reply(&h, rep, status);
}

/* What the participant has to answer now, from the schedule statuses. */
struct col_due {
    char instrument[64];
    char version[33];
    int week;
    int late;
};

struct col_form_ctx {
    struct col_participant p;
    char support[2048];
    char title[256];
    int allow_late; /* the study's late rule */
    struct col_due due[COL_FORM_MAX_DUE];
    size_t n_due;
    int64_t next_open; /* earliest upcoming window, 0 when none */
};

/*
 * Loads the participant (the access module has checked the token in the
 * path), the study's support text and what is due. Returns 1, 0 when the
 * request is not a participant's, or a negative db_status.
 */
static int col_form_load(struct http_request *req, struct col_form_ctx *c, struct err *e)
{
    struct col_app *app = col_app_of(req);
    PGconn *conn;
    PGresult *res = NULL;
    const char *param;
    char pid[24];
    int rc;

    memset(c, 0, sizeof *c);
    rc = col_participant_of(req, &c->p, e);
    if (rc != 1)
        return rc;
    conn = db_pool_acquire(app->pool, 5000, e);
    if (conn == NULL)
        return e->code ? e->code : DB_EUNAVAILABLE;
    param = c->p.study;
    rc = db_query(conn, "col_study_select", 1, &param, &res, e);
    if (rc == 1) {
        snprintf(c->title, sizeof c->title, "%s", PQgetvalue(res, 0, 1));
        c->allow_late = PQgetvalue(res, 0, 4)[0] == 't';
        snprintf(c->support, sizeof c->support, "%s",
                 PQgetisnull(res, 0, 5) ? col_default_support_text : PQgetvalue(res, 0, 5));
    }
    PQclear(res);
    res = NULL;
    snprintf(pid, sizeof pid, "%lld", c->p.id);
    param = pid;
    if (rc >= 0)
        rc = db_query(conn, "col_participant_schedule", 1, &param, &res, e);
    db_pool_release(app->pool, conn);
    if (rc < 0) {
        PQclear(res);
        return rc;
    }
    /* Due: every open window, and — when the study takes late answers — the
     * latest opened week of an instrument whose window closed unanswered.
     * Rows come in week order; walking them backwards, the first opened row
     * of an instrument decides it (older weeks cannot be answered any more). */
    {
        char decided[COL_FORM_MAX_DUE][64];
        size_t n_decided = 0;
        for (int r = PQntuples(res) - 1; r >= 0; r--) {
            const char *status = PQgetvalue(res, r, 5);
            const char *instrument = PQgetvalue(res, r, 0);
            int64_t opens = strtoll(PQgetvalue(res, r, 3), NULL, 10);
            int seen = 0;
            if (strcmp(status, "upcoming") == 0) {
                if (c->next_open == 0 || opens < c->next_open)
                    c->next_open = opens;
                continue;
            }
            for (size_t k = 0; k < n_decided; k++)
                seen |= strcmp(decided[k], instrument) == 0;
            if (seen || n_decided == COL_FORM_MAX_DUE)
                continue;
            snprintf(decided[n_decided++], sizeof decided[0], "%s", instrument);
            if (strcmp(status, "open") == 0 || (strcmp(status, "missed") == 0 && c->allow_late)) {
                struct col_due *d = &c->due[c->n_due++];
                snprintf(d->instrument, sizeof d->instrument, "%s", instrument);
                snprintf(d->version, sizeof d->version, "%s", PQgetvalue(res, r, 1));
                d->week = atoi(PQgetvalue(res, r, 2));
                d->late = strcmp(status, "missed") == 0;
            }
        }
    }
    PQclear(res);
    /* Earliest week first. */
    for (size_t a = 0; a < c->n_due / 2; a++) {
        struct col_due t = c->due[a];
        c->due[a] = c->due[c->n_due - 1 - a];
        c->due[c->n_due - 1 - a] = t;
    }
    return 1;
}

/* The message shown beside a question, from the engine's problem message. */
static void col_form_render(struct http_reply *rep, int status, struct col_app *app,
                            const char *token, const struct col_form_ctx *c, size_t which,
                            const struct ins_definition *def, const struct ins_texts_file *texts,
                            const char *rid, const struct http_request *posted,
                            const struct col_item_error *errs, size_t n_errors)
{
    struct col_html h = {0};
    char heading[320];

    (void)app;
    snprintf(heading, sizeof heading, "%s", def->title);
    col_html_head(&h, heading);
    col_html_raw(&h, "<p class=\"study\">");
    col_html_text(&h, c->title);
    col_html_raw(&h, "</p><h1>");
    col_html_text(&h, def->title);
    col_html_raw(&h, "</h1>");
    if (c->n_due > 1)
        col_html_printf(&h, "<p class=\"progress\">Questionnaire %zu of %zu due now.</p>",
                        which + 1, c->n_due);
    if (c->due[which].late)
        col_html_raw(&h, "<p class=\"note\">This questionnaire is late. You can still answer "
                         "it; it will be marked as late.</p>");
    if (n_errors > 0) {
        col_html_raw(&h, "<div class=\"errors\" role=\"alert\"><h2>Some answers are missing"
                         "</h2><ul>");
        for (size_t i = 0; i < def->n_items; i++) {
            if (!errs[i].has)
                continue;
            col_html_printf(&h, "<li><a href=\"#q%zu\">", i + 1);
            col_html_text(&h, errs[i].text);
            col_html_raw(&h, "</a></li>");
        }
        col_html_raw(&h, "</ul></div>");
    }
    if (def->instructions) {
        col_html_raw(&h, "<p class=\"instructions\">");
        col_html_text(&h, def->instructions);
        col_html_raw(&h, "</p>");
    }
    col_html_raw(&h, "<form method=\"post\" action=\"/p/");
    col_html_text(&h, token);
    col_html_raw(&h, "\"><input type=\"hidden\" name=\"instrument\" value=\"");
    col_html_text(&h, def->id);
    col_html_raw(&h, "\"><input type=\"hidden\" name=\"rid\" value=\"");
    col_html_text(&h, rid);
    col_html_raw(&h, "\">");
    for (size_t i = 0; i < def->n_items; i++) {
        const struct ins_item *it = &def->items[i];
        const char *given = posted ? http_form(posted, it->id) : NULL;
        if (it->section != NULL) {
            col_html_raw(&h, "<h2 class=\"section\">");
            col_html_text(&h, it->section);
            col_html_raw(&h, "</h2>");
        }
        col_html_printf(&h,
                        "<fieldset id=\"q%zu\"%s><legend><span class=\"num\">Question %zu "
                        "of %zu</span> ",
                        i + 1, errs && errs[i].has ? " class=\"invalid\"" : "", i + 1,
                        def->n_items);
        if (texts != NULL && strcmp(ins_texts_language(texts), "en") != 0) {
            /* The page speaks English; the study's wording may not. */
            col_html_raw(&h, "<span lang=\"");
            col_html_text(&h, ins_texts_language(texts));
            col_html_raw(&h, "\">");
            col_html_text(&h, ins_item_text(def, texts, i));
            col_html_raw(&h, "</span>");
        } else {
            col_html_text(&h, ins_item_text(def, texts, i));
        }
        col_html_raw(&h, "</legend>");
        if (it->note != NULL) {
            col_html_raw(&h, "<p class=\"hint\">");
            col_html_text(&h, it->note);
            col_html_raw(&h, "</p>");
        }
        if (errs && errs[i].has) {
            col_html_raw(&h, "<p class=\"error\">");
            col_html_text(&h, errs[i].text);
            col_html_raw(&h, "</p>");
        }
        if (it->type != INS_ITEM_CHOICE) {
            /* A number: the keyboard for numbers, the definition's range. */
            col_html_printf(&h,
                            "<label class=\"number\">Your answer (%g to %g) <input "
                            "type=\"number\" inputmode=\"decimal\" min=\"%g\" max=\"%g\" "
                            "step=\"%s\" name=\"",
                            it->min, it->max, it->min, it->max,
                            it->type == INS_ITEM_INTEGER ? "1" : "any");
            col_html_text(&h, it->id);
            col_html_raw(&h, "\" value=\"");
            col_html_text(&h, given ? given : "");
            col_html_raw(&h, "\"></label></fieldset>");
            continue;
        }
        for (size_t j = 0; j < it->options->n_options; j++) {
            const struct ins_option *o = &it->options->options[j];
            char val[40];
            snprintf(val, sizeof val, "%g", o->value);
            col_html_printf(&h, "<label class=\"option\"><input type=\"radio\" name=\"");
            col_html_text(&h, it->id);
            col_html_printf(&h, "\" value=\"%s\"%s> <span>", val,
                            given && strcmp(given, val) == 0 ? " checked" : "");
            col_html_text(&h, o->label);
            col_html_raw(&h, "</span></label>");
        }
        col_html_raw(&h, "</fieldset>");
    }
    col_html_raw(&h, "<button type=\"submit\">Submit my answers</button></form>");
    if (def->licence) {
        col_html_raw(&h, "<p class=\"notice\">");
        col_html_text(&h, def->licence);
        col_html_raw(&h, "</p>");
    }
    if (texts != NULL) {
        /* The permission under which the study shows the wording. */
        col_html_raw(&h, "<p class=\"notice permission\">");
        col_html_text(&h, ins_texts_permission(texts));
        col_html_raw(&h, "</p>");
    }
    col_html_foot(&h, c->support);
    col_html_reply(&h, rep, status);
}

/* Whether the form insists on item i: required, or counted in a score. */
static int col_item_asked(const struct ins_definition *def, size_t i)
{
    if (def->items[i].required)
        return 1;
    for (size_t s = 0; s < def->n_scores; s++)
        for (size_t k = 0; k < def->scores[s].n_items; k++)
            if (def->scores[s].items[k] == i)
                return 1;
    return 0;
}

size_t col_form_answers(const struct http_request *req, const struct ins_definition *def,
                        json_t *answers, struct col_item_error *errs)
{
    size_t n_errors = 0;

    /* The form asks for every question that counts towards a score (the
     * participant is right there; the missing-item rule is for data that
     * arrive incomplete); values are passed to the engine as given, so it
     * judges them. */
    for (size_t i = 0; i < def->n_items; i++) {
        const char *v = http_form(req, def->items[i].id);
        char *end;
        double x;
        if ((v == NULL || *v == '\0') && !col_item_asked(def, i))
            continue;
        if (v == NULL || *v == '\0') {
            errs[i].has = 1;
            errs[i].text = arena_printf(req->arena, "Please answer question %zu.", i + 1);
            n_errors++;
            continue;
        }
        x = strtod(v, &end);
        if (*end != '\0' || end == v) {
            errs[i].has = 1;
            errs[i].text = arena_printf(req->arena,
                                        "Please choose one of the answers to "
                                        "question %zu.",
                                        i + 1);
            n_errors++;
            continue;
        }
        json_object_set_new(answers, def->items[i].id, json_real(x));
    }
    return n_errors;
}

static void col_uuid_new(char out[37])
{
    unsigned char b[16];
    char hex[33];

    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    sodium_bin2hex(hex, sizeof hex, b, sizeof b);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* The definition of due entry `i` and the study's item texts for it (*texts,
 * NULL when the definition brings its own), or NULL (and a message page) when
 * it cannot be shown. */
static const struct ins_definition *col_form_def(struct col_app *app, const struct col_form_ctx *c,
                                                 size_t i, const struct ins_texts_file **texts,
                                                 struct http_reply *rep)
{
    const struct ins_definition *def = NULL;
    struct err e;
    PGconn *conn;
    int rc;

    *texts = NULL;
    err_clear(&e);
    conn = db_pool_acquire(app->pool, 5000, &e);
    if (conn == NULL) {
        col_form_message(rep, 503, "Please try again in a minute",
                         "We cannot load your questionnaire right now.", c->support);
        http_reply_header(rep, "Retry-After", "5");
        return NULL;
    }
    rc =
        col_defs_get(app->defs, app->pool, conn, c->due[i].instrument, c->due[i].version, &def, &e);
    if (rc == 1)
        rc = col_texts_get(app->defs, app->pool, conn, c->p.study, def, texts, &e);
    db_pool_release(app->pool, conn);
    if (rc < 0 || (rc == 0 && def == NULL)) {
        col_form_message(rep, rc < 0 ? 503 : 500, "Please try again in a minute",
                         "We cannot load your questionnaire right now.", c->support);
        if (rc < 0)
            http_reply_header(rep, "Retry-After", "5");
        return NULL;
    }
    /* A licensed instrument shipped without item texts is only shown with
     * the wording the study supplied (sql/008_item_texts.sql). */
    if (ins_definition_renderable(def, *texts, &e) != 0) {
        col_form_message(rep, 409, "This questionnaire cannot be shown here",
                         "The study has not supplied the wording of this questionnaire. Please "
                         "contact the study team.",
                         c->support);
        return NULL;
    }
    return def;
}

static void col_form_nothing_due(struct http_reply *rep, const struct col_form_ctx *c, int thanks)
{
    char text[512], when[COL_TIME_MAX];

    if (c->next_open > 0) {
        col_time_format(c->next_open, when);
        snprintf(text, sizeof text,
                 "%sThere is nothing to answer right now. The next questionnaire opens on "
                 "%.10s at %.5s (UTC). You can come back to this page then.",
                 thanks ? "Your answers have been saved. " : "", when, when + 11);
    } else {
        snprintf(text, sizeof text, "%sThere is nothing to answer right now.",
                 thanks ? "Your answers have been saved. " : "");
    }
    col_form_message(rep, 200, thanks ? "Thank you" : "Nothing to answer now", text, c->support);
}

static int col_form_begin(struct http_request *req, struct http_reply *rep, struct col_form_ctx *c)
{
    struct err e;
    int rc;

    err_clear(&e);
    memset(c, 0, sizeof *c);
    rc = col_form_load(req, c, &e);
    if (rc < 0) {
        col_form_message(rep, 503, "Please try again in a minute",
                         "We cannot reach the study's database right now. Nothing you entered "
                         "has been lost if you go back and submit again in a minute.",
                         NULL);
        http_reply_header(rep, "Retry-After", "5");
        return -1;
    }
    if (rc == 0) {
        col_form_message(rep, 404, "This link does not work",
                         "This personal link is not valid any more. Please contact the study "
                         "team for a new one.",
                         NULL);
        return -1;
    }
    if (strcmp(c->p.status, "withdrawn") == 0) {
        col_form_message(rep, 403, "You have left the study",
                         "You have withdrawn from this study, so there is nothing more to "
                         "answer. Thank you for your time.",
                         c->support);
        return -1;
    }
    return 0;
}

static void col_form_get(struct http_request *req, struct http_reply *rep)
{
    struct col_form_ctx *c = arena_alloc(req->arena, sizeof *c);
    const struct ins_definition *def;
    const struct ins_texts_file *texts;
    const char *want = http_query(req, "q");
    size_t which = 0;
    char rid[37];

    if (c == NULL || col_form_begin(req, rep, c) != 0) {
        if (c == NULL)
            http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    if (c->n_due == 0) {
        col_form_nothing_due(rep, c, 0);
        return;
    }
    for (size_t i = 0; want && i < c->n_due; i++)
        if (strcmp(c->due[i].instrument, want) == 0)
            which = i;
    /* Unless one was asked for, the first due questionnaire that can be
     * shown: a scoring key whose wording the study has not supplied (409)
     * must not hide the others. */
    def = NULL;
    for (size_t k = 0; def == NULL && k < c->n_due; k++) {
        size_t i = (which + k) % c->n_due;
        if (k > 0)
            http_reply_clear(rep); /* the 409 page of the one before */
        def = col_form_def(col_app_of(req), c, i, &texts, rep);
        if (def != NULL)
            which = i;
        else if (want != NULL || rep->status != 409)
            return;
    }
    if (def == NULL)
        return;
    col_uuid_new(rid);
    col_form_render(rep, 200, col_app_of(req), http_path_param(req, "token"), c, which, def, texts,
                    rid, NULL, NULL, 0);
}

static void col_form_post(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = col_app_of(req);
    struct col_form_ctx *c = arena_alloc(req->arena, sizeof *c);
    const char *instrument = http_form(req, "instrument");
    const char *rid = http_form(req, "rid");
    const struct ins_definition *def;
    const struct ins_texts_file *texts;
    struct col_item_error *errs = NULL;
    struct col_submit s;
    json_t *body = NULL, *answers;
    size_t which = SIZE_MAX, n_errors = 0;
    char completed[COL_TIME_MAX];
    struct err e;

    memset(&s, 0, sizeof s);
    if (c == NULL || col_form_begin(req, rep, c) != 0) {
        if (c == NULL)
            http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    for (size_t i = 0; instrument && i < c->n_due; i++)
        if (strcmp(c->due[i].instrument, instrument) == 0)
            which = i;
    if (which == SIZE_MAX || rid == NULL || !col_uuid_ok(rid)) {
        col_form_message(rep, 409, "This questionnaire is not due any more",
                         "It may have been answered already, or its time has passed. Open your "
                         "personal link again to see what is due now.",
                         c->support);
        return;
    }
    if ((def = col_form_def(app, c, which, &texts, rep)) == NULL)
        return;
    errs = arena_calloc(req->arena, def->n_items, sizeof *errs);
    answers = json_object();
    if (errs == NULL || answers == NULL) {
        json_decref(answers);
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    n_errors = col_form_answers(req, def, answers, errs);
    col_time_format(col_time_now(), completed);
    body = json_pack("{s:s, s:s, s:o, s:s}", "id", rid, "instrument", def->id, "answers", answers,
                     "completed_at", completed);
    if (n_errors > 0) {
        col_form_render(rep, 422, app, http_path_param(req, "token"), c, which, def, texts, rid,
                        req, errs, n_errors);
        goto out;
    }
    err_clear(&e);
    col_response_submit_via(app->defs, app->batcher, app->pool, &c->p, body, "form", col_time_now(),
                            &s);
    if (s.status == 200 || s.status == 201) {
        /* Reload what is due: the next questionnaire, or the thanks page. */
        struct col_form_ctx *next = arena_alloc(req->arena, sizeof *next);
        if (next != NULL && col_form_load(req, next, &e) == 1 && next->n_due > 0) {
            struct col_html h = {0};
            col_html_head(&h, "Thank you");
            col_html_raw(&h, "<h1>Thank you</h1><p class=\"confirm\" role=\"status\">Your answers "
                             "to ");
            col_html_text(&h, def->title);
            col_html_raw(&h, " have been saved.</p><p>There is more to answer now:</p>"
                             "<p><a class=\"button\" href=\"/p/");
            col_html_text(&h, http_path_param(req, "token"));
            col_html_raw(&h, "\">Continue</a></p>");
            col_html_foot(&h, c->support);
            col_html_reply(&h, rep, s.status);
        } else {
            col_form_nothing_due(rep, next ? next : c, 1);
            rep->status = s.status;
        }
    } else if (s.status == 422) {
        /* Map the engine's problems back to questions. */
        size_t i;
        json_t *pe;
        json_array_foreach(s.errors, i, pe)
        {
            const char *ptr = json_string_value(json_object_get(pe, "pointer"));
            int idx = ptr && strncmp(ptr, "/answers/", 9) == 0 ? col_item_index(def, ptr + 9) : -1;
            if (idx >= 0 && !errs[idx].has) {
                errs[idx].has = 1;
                errs[idx].text = arena_printf(
                    req->arena, "Please choose one of the answers to question %d.", idx + 1);
                n_errors++;
            }
        }
        if (n_errors > 0)
            col_form_render(rep, 422, app, http_path_param(req, "token"), c, which, def, texts, rid,
                            req, errs, n_errors);
        else
            col_form_message(rep, 422, "This questionnaire cannot be saved now", s.detail,
                             c->support);
    } else if (s.status == 409) {
        col_form_message(rep, 409, "Already answered",
                         "You have already answered this questionnaire for this week. Thank "
                         "you! Open your personal link again to see what is due now.",
                         c->support);
    } else if (s.status == 503) {
        col_form_render(rep, 503, app, http_path_param(req, "token"), c, which, def, texts, rid,
                        req, errs, 0);
        http_reply_header(rep, "Retry-After", "5");
    } else {
        col_form_message(rep, s.status ? s.status : 500, "Something went wrong",
                         "Your answers could not be saved. Please try again later.", c->support);
    }
out:
    json_decref(body);
    col_submit_clear(&s);
}

static const char col_form_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:18px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "color:#1b1b1b;background:#f6f6f4}"
    "main,footer{max-width:40rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}"
    "h2{font-size:1.1rem}"
    ".study,.progress,.notice{color:#555;font-size:.9rem}"
    ".instructions{font-weight:600}"
    "fieldset{border:1px solid #ccc;border-radius:.5rem;margin:0 0 1rem;padding:.75rem;"
    "background:#fff}"
    "fieldset.invalid{border:2px solid #b00020}"
    "legend{font-weight:600;padding:0 .25rem}"
    ".num{display:block;font-weight:400;color:#555;font-size:.85rem}"
    ".option{display:flex;align-items:center;gap:.75rem;min-height:48px;padding:.5rem;"
    "border-radius:.375rem;cursor:pointer}"
    ".option:hover{background:#eef3f8}"
    ".option input{width:1.5rem;height:1.5rem;flex:none;margin:0}"
    ".error{color:#b00020;font-weight:600;margin:.25rem 0}"
    ".hint{color:#555;font-size:.9rem;margin:.25rem 0}"
    ".number{display:block;padding:.5rem}"
    ".number input{display:block;width:100%;min-height:48px;font-size:1.1rem;margin-top:.25rem}"
    ".errors{border:2px solid #b00020;border-radius:.5rem;padding:.5rem 1rem;background:#fff;"
    "margin-bottom:1rem}"
    ".errors a{color:#b00020}"
    ".note{background:#fff7e0;padding:.5rem;border-radius:.375rem}"
    ".confirm{font-size:1.1rem}"
    "button,.button{display:block;width:100%;min-height:56px;font-size:1.1rem;border:0;"
    "border-radius:.5rem;background:#1d5fa7;color:#fff;text-align:center;text-decoration:none;"
    "padding:1rem;cursor:pointer}"
    "button:focus,.button:focus,.option input:focus{outline:3px solid #f0b400}"
    "footer{font-size:.9rem;color:#444;border-top:1px solid #ddd;margin-top:1rem}";

static void col_form_stylesheet(struct http_request *req, struct http_reply *rep)
{
    (void)req;
    http_reply_bytes(rep, 200, "text/css; charset=utf-8", col_form_css, sizeof col_form_css - 1);
    http_reply_header(rep, "Cache-Control", "public, max-age=3600");
}

const struct http_route col_form_routes[] = {
    {"GET", "/p-assets/form.css", 0, HTTP_BODY_NONE, 0, col_form_stylesheet,
     "the participant form's stylesheet"},
    {"GET", "/p/{token}", ACC_PARTICIPANT | ACC_PAGE, HTTP_BODY_NONE, 0, col_form_get,
     "the participant's form: what is due now"},
    {"POST", "/p/{token}", ACC_PARTICIPANT | ACC_PAGE, HTTP_BODY_FORM, 64 * 1024, col_form_post,
     "submit the participant's form"},
};
const size_t col_form_routes_count = sizeof col_form_routes / sizeof col_form_routes[0];
