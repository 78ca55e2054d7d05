/*
 * test_intake.c — the collector's pure intake code without a database:
 * RFC 3339 times, uuids, submission shapes and content hashes, event batch
 * validation (every bad event named by index and field), protocol parsing,
 * and the scoring seam (missing-item rule, bands, flags).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "intake.h"
#include "scoring.h"
#include "tap.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (v == NULL)
        printf("# bad test JSON: %s\n", e.text);
    return v;
}

/* The errors' pointers joined by spaces, sorted as given. */
static const char *ptrs(json_t *errors)
{
    static char buf[1024];
    size_t i, used = 0;
    json_t *e;

    buf[0] = '\0';
    json_array_foreach(errors, i, e)
    {
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? " " : "",
                                 json_string_value(json_object_get(e, "pointer")));
        if (used >= sizeof buf)
            break;
    }
    return buf;
}

static void test_times(void)
{
    int64_t t;
    char buf[COL_TIME_MAX];

    ok(col_time_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0, "epoch parses to 0");
    ok(col_time_parse("2026-03-01T11:00:00.5+01:00", &t) == 0 && t == 1772359200500000LL,
       "offset and fraction");
    col_time_format(t, buf);
    is_str(buf, "2026-03-01T10:00:00.500000Z", "formatted back in UTC");
    ok(col_time_parse("2024-02-29T23:59:59-00:30", &t) == 0, "leap day");
    ok(col_time_parse("2023-02-29T00:00:00Z", &t) != 0, "no 29 February in 2023");
    ok(col_time_parse("2026-03-01 10:00:00Z", &t) != 0, "a space instead of T is refused");
    ok(col_time_parse("2026-03-01T10:00Z", &t) != 0, "seconds are required");
    ok(col_time_parse("2026-03-01T10:00:00", &t) != 0, "a zone is required");
    ok(col_time_parse("2026-03-01T24:00:00Z", &t) != 0, "hour 24 is refused");
    ok(col_time_parse("2026-03-01T10:00:00.Z", &t) != 0, "an empty fraction is refused");
    ok(col_time_parse("2026-03-01T10:00:00Zjunk", &t) != 0, "trailing text is refused");
    ok(col_uuid_ok("123e4567-e89b-12d3-a456-426614174000"), "a uuid");
    ok(col_uuid_ok("123E4567-E89B-12D3-A456-426614174000"), "an upper-case uuid");
    ok(!col_uuid_ok("123e4567e89b12d3a456426614174000"), "no dashes is refused");
    ok(!col_uuid_ok("123e4567-e89b-12d3-a456-42661417400g"), "a non-hex digit is refused");
}

static void test_events(void)
{
    const int64_t now = 1772362800000000LL, enrolled = now - 86400LL * 1000000 * 10;
    json_t *errors = json_array(), *rows = NULL, *types = NULL, *batch;
    char *text = NULL;
    size_t n;

    batch = J("[{\"id\":\"00000000-0000-0000-0000-000000000001\",\"type\":\"app_open\","
              "\"at\":\"2026-03-01T09:00:00Z\"},"
              "{\"id\":\"00000000-0000-0000-0000-00000000000A\",\"type\":\"session_end\","
              "\"at\":\"2026-03-01T10:00:00+01:00\",\"duration_s\":12.5,\"props\":{\"x\":1}},"
              "{\"id\":\"00000000-0000-0000-0000-000000000001\",\"type\":\"app_open\","
              "\"at\":\"2026-03-01T09:00:00Z\"}]");
    n = col_events_check(batch, now, enrolled, errors, &text, &types);
    is_int(n, 0, "a good batch has no problem");
    rows = text ? json_loads(text, 0, NULL) : NULL;
    ok(rows != NULL, "the rows are JSON text");
    free(text);
    text = NULL;
    is_int(json_array_size(rows), 3, "three rows (an in-batch repeat is absorbed later)");
    is_str(json_string_value(json_object_get(json_array_get(rows, 1), "id")),
           "00000000-0000-0000-0000-00000000000a", "ids are lower-cased");
    is_str(json_string_value(json_object_get(json_array_get(rows, 1), "at")),
           "2026-03-01T09:00:00.000000Z", "times are normalised to UTC");
    is_int(json_array_size(types), 2, "distinct types collected");
    json_decref(rows);
    json_decref(types);
    json_decref(batch);

    batch = J("[{\"id\":\"00000000-0000-0000-0000-000000000001\",\"type\":\"app_open\","
              "\"at\":\"2026-03-01T09:00:00Z\"},"
              "{\"id\":\"nope\",\"type\":\"App Open\",\"at\":\"2026-03-01\",\"duration_s\":-2,"
              "\"props\":[],\"colour\":1},"
              "{\"id\":\"00000000-0000-0000-0000-000000000003\",\"type\":\"x\","
              "\"at\":\"2026-03-02T11:00:00Z\"},"
              "{\"id\":\"00000000-0000-0000-0000-000000000004\",\"type\":\"x\","
              "\"at\":\"2026-01-01T00:00:00Z\"},"
              "{\"id\":\"00000000-0000-0000-0000-000000000001\",\"type\":\"app_open\","
              "\"at\":\"2026-03-01T09:00:01Z\"},"
              "{\"type\":\"x\",\"at\":\"2026-03-01T09:00:00Z\",\"duration_s\":\"long\"},"
              "7]");
    types = NULL;
    n = col_events_check(batch, now, enrolled, errors, &text, &types);
    ok(n == 12 && text == NULL, "every problem counted, no rows on failure");
    is_str(ptrs(errors),
           "/1/colour /1/id /1/type /1/at /1/duration_s /1/props /2/at /3/at /4/id /5/id "
           "/5/duration_s /6",
           "each bad event and field named");
    json_decref(batch);
    json_array_clear(errors);

    batch = json_array();
    for (int i = 0; i < COL_EVENTS_MAX + 1; i++)
        json_array_append_new(batch, json_object());
    n = col_events_check(batch, now, enrolled, errors, &text, &types);
    ok(n == 1 && strstr(json_string_value(json_object_get(json_array_get(errors, 0), "message")),
                        "at most 1000") != NULL,
       "1,001 events are refused as a whole");
    json_decref(batch);
    json_array_clear(errors);
    batch = J("{\"events\":[]}");
    is_int(col_events_check(batch, now, enrolled, errors, &text, &types), 1,
           "an object is not a batch");
    json_decref(batch);
    json_array_clear(errors);
    batch = J("[]");
    is_int(col_events_check(batch, now, enrolled, errors, &text, &types), 1,
           "an empty batch is refused");
    json_decref(batch);
    json_decref(errors);
    ok(col_event_type_ok("breathing_exercise") && !col_event_type_ok("Breathing") &&
           !col_event_type_ok("9lives") && !col_event_type_ok(""),
       "event type names");
}

static void test_submission(void)
{
    const int64_t now = 1772362800000000LL;
    json_t *errors = json_array(), *body;
    struct col_submission s;
    const char *ids[3] = {"a", "b", "c"};
    double v1[3] = {1, 2, NAN}, v2[3] = {1, 2, NAN}, v3[3] = {1, 2, 0};
    unsigned char h1[32], h2[32], h3[32];

    body = J("{\"id\":\"00000000-0000-0000-0000-000000000001\",\"instrument\":\"gad7\","
             "\"answers\":{\"gad7_1\":1},\"completed_at\":\"2026-03-01T09:00:00Z\"}");
    is_int(col_submission_parse(body, now, &s, errors), 0, "a good submission");
    is_str(s.instrument, "gad7", "instrument read");
    json_decref(body);
    body = J("{\"id\":5,\"instrument\":\"GAD 7\",\"answers\":[],\"completed_at\":"
             "\"2026-03-02T09:00:00Z\",\"x\":1}");
    is_int(col_submission_parse(body, now, &s, errors), 5, "five problems");
    is_str(ptrs(errors), "/x /id /instrument /answers /completed_at", "each named");
    json_decref(body);
    json_array_clear(errors);
    body = J("[1]");
    is_int(col_submission_parse(body, now, &s, errors), 1, "an array is not a submission");
    json_decref(body);
    json_decref(errors);

    col_submission_hash("gad7", "1", 5, ids, v1, 3, h1);
    col_submission_hash("gad7", "1", 5, ids, v2, 3, h2);
    col_submission_hash("gad7", "1", 5, ids, v3, 3, h3);
    ok(memcmp(h1, h2, 32) == 0, "the same content hashes the same");
    ok(memcmp(h1, h3, 32) != 0, "a missing item differs from a 0");
    col_submission_hash("gad7", "1", 6, ids, v1, 3, h3);
    ok(memcmp(h1, h3, 32) != 0, "another completion time differs");

    /* Stored hashes must not change: the text hashed is exactly the one of
     * the first version (every value through "%.17g"). */
    {
        static const char *const many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
        const double vals[] = {3, 0, -0.0, -2, 2.5, 1e15, 1e16 + 2, NAN, 123456789, 1.0 / 3.0};
        crypto_hash_sha256_state st;
        unsigned char want[32], got[32];
        char buf[128];
        int len =
            snprintf(buf, sizeof buf, "attune-response-v1\n%s\n%s\n%lld\n", "x", "2", 1234567LL);
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, (const unsigned char *)buf, (unsigned long long)len);
        for (size_t i = 0; i < 10; i++) {
            len = isnan(vals[i]) ? snprintf(buf, sizeof buf, "%s=\n", many[i])
                                 : snprintf(buf, sizeof buf, "%s=%.17g\n", many[i], vals[i]);
            crypto_hash_sha256_update(&st, (const unsigned char *)buf, (unsigned long long)len);
        }
        crypto_hash_sha256_final(&st, want);
        col_submission_hash("x", "2", 1234567, many, vals, 10, got);
        ok(memcmp(want, got, 32) == 0,
           "the content hash is the one of every value written with %%.17g");
    }
}

static void test_protocol(void)
{
    json_t *errors = json_array(), *root;
    struct col_protocol *p = NULL;

    root = J("{\"id\":\"s1\",\"title\":\"T\",\"weeks\":8,\"arms\":[\"app\",{\"id\":\"wl\","
             "\"label\":\"Waitlist\"}],\"schedule\":[{\"instrument\":\"gad7\",\"version\":\"1\","
             "\"weeks\":[0,4,8],\"window_days\":3}]}");
    is_int(col_protocol_parse(root, "Europe/London", &p, errors), 0, "a good protocol");
    ok(p != NULL && p->n_arms == 2 && p->schedule[0].n_weeks == 3 &&
           p->schedule[0].window_days == 3 && strcmp(p->timezone, "Europe/London") == 0 &&
           p->allow_late == 1,
       "its fields, with the default zone and late answers allowed");
    is_str(p ? p->arm_labels[1] : NULL, "Waitlist", "an arm's label");
    col_protocol_free(p);
    json_decref(root);
    root = J("{\"id\":\"S 1\",\"weeks\":0,\"arms\":[\"a\",\"a\"],\"allow_late\":1,"
             "\"schedule\":[{\"instrument\":\"gad7\",\"weeks\":[9,-1,2,2],\"window_days\":0},"
             "{\"instrument\":\"gad7\",\"version\":\"1\",\"weeks\":[0]}],\"x\":1}");
    p = NULL;
    ok(col_protocol_parse(root, "UTC", &p, errors) > 0 && p == NULL, "a bad protocol");
    is_str(ptrs(errors),
           "/x /id /title /weeks /allow_late /arms/1 /schedule/0/version /schedule/0/weeks/0 "
           "/schedule/0/weeks/1 /schedule/0/weeks/3 /schedule/0/window_days "
           "/schedule/1/instrument",
           "every problem named");
    json_decref(root);

    /* A schedule entry may name the study's item texts file. */
    json_array_clear(errors);
    root = J("{\"id\":\"s2\",\"title\":\"T\",\"arms\":[\"a\"],\"schedule\":["
             "{\"instrument\":\"pss10\",\"version\":\"1\",\"weeks\":[0],"
             "\"item_texts\":\"texts/pss10-en.json\"},"
             "{\"instrument\":\"gad7\",\"version\":\"1\",\"weeks\":[0]}]}");
    p = NULL;
    is_int(col_protocol_parse(root, "UTC", &p, errors), 0, "a protocol with item texts");
    is_str(p ? p->schedule[0].item_texts : NULL, "texts/pss10-en.json", "the texts path is kept");
    ok(p != NULL && p->schedule[1].item_texts == NULL, "an entry without texts has none");
    col_protocol_free(p);
    json_decref(root);
    root = J("{\"id\":\"s2\",\"title\":\"T\",\"arms\":[\"a\"],\"schedule\":["
             "{\"instrument\":\"pss10\",\"version\":\"1\",\"weeks\":[0],\"item_texts\":\"\"},"
             "{\"instrument\":\"ecrr\",\"version\":\"1\",\"weeks\":[0],\"item_texts\":7}]}");
    p = NULL;
    ok(col_protocol_parse(root, "UTC", &p, errors) == 2 && p == NULL, "bad texts paths");
    is_str(ptrs(errors), "/schedule/0/item_texts /schedule/1/item_texts", "each named");
    json_decref(root);
    json_decref(errors);
}

/* The collector's call into the instruments engine, on the shipped PHQ-9. */
static void test_scoring(void)
{
    json_t *errors = json_array(), *answers;
    struct ins_definition *def = NULL;
    struct col_scored sc;
    struct err e;

    err_clear(&e);
    is_int(ins_definition_load(ATTUNE_SOURCE_ROOT "/instruments/definitions/phq9-1.json", &def, &e),
           0, "the shipped PHQ-9 loads");
    if (def == NULL)
        return;
    answers = J("{\"phq9_1\":1,\"phq9_2\":1,\"phq9_3\":1,\"phq9_4\":1,\"phq9_5\":1,\"phq9_6\":1,"
                "\"phq9_7\":1,\"phq9_8\":1,\"phq9_9\":2}");
    is_int(col_answers_score(def, answers, "/answers", errors, &sc), 0, "complete answers");
    ok(sc.total == 10 && strcmp(sc.severity, "moderate") == 0 && !sc.prorated && !sc.voided,
       "total 10, band moderate");
    ok(sc.n_flags == 1, "item 9 above 0 raises a safety flag");
    ok(json_real_value(json_object_get(sc.subscales, "phq8")) == 8, "the PHQ-8 subscale is 8");
    ok(sc.values[8] == 2 && isnan(sc.values[9]) && sc.answered == 9 && sc.missing == 1,
       "values in item order; the unscored difficulty item may stay empty");
    col_scored_clear(&sc);
    json_decref(answers);
    answers = J("{\"phq9_3\":2,\"phq9_4\":2,\"phq9_5\":2,\"phq9_6\":2,\"phq9_7\":2,\"phq9_8\":2,"
                "\"phq9_9\":0}");
    is_int(col_answers_score(def, answers, "/answers", errors, &sc), 0, "two items missing");
    ok(fabs(sc.total - (12 + 2 * 12.0 / 7)) < 1e-9 && sc.prorated && isnan(sc.values[0]),
       "two missing items take the mean of the others: 12 + 2 x 12/7");
    ok(json_is_null(json_object_get(sc.subscales, "phq8")), "the PHQ-8 subscale is void");
    col_scored_clear(&sc);
    json_decref(answers);
    answers = J("{\"phq9_1\":4,\"phq9_2\":\"often\",\"phq9_99\":1,\"phq9_4\":1}");
    ok(col_answers_score(def, answers, "/answers", errors, &sc) >= 3, "bad answers");
    ok(strstr(ptrs(errors), "/answers/phq9_1") && strstr(ptrs(errors), "/answers/phq9_2") &&
           strstr(ptrs(errors), "/answers/phq9_99"),
       "each named under /answers");
    col_scored_clear(&sc);
    json_decref(answers);

    /* Regression (found by tests/fuzz/fuzz_submission.c): an unknown item
     * with a long name of multi-byte characters. The problem's message
     * quotes the name, cut to fit its buffer inside a character; the text was
     * not UTF-8, jansson refused it, the whole list of problems was lost — and
     * with no problem left the answers were taken as valid, unscored (over
     * HTTP a later encoding failure then gave 500; test_hostile.py). Two
     * names, so that one of them is cut mid-character whatever the buffer's
     * size. */
    {
        char body[2048];
        size_t used = (size_t)snprintf(body, sizeof body, "{\"phq9_1\":1,\"x");
        size_t before = json_array_size(errors);
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < 300; i++)
                used += (size_t)snprintf(body + used, sizeof body - used, "\xc3\xa9");
            used += (size_t)snprintf(body + used, sizeof body - used, "%s",
                                     k == 0 ? "\":1,\"xy" : "\":2}");
        }
        answers = J(body);
        ok(col_answers_score(def, answers, "/answers", errors, &sc) >= 2,
           "unknown items with long multi-byte names are still refused");
        ok(json_array_size(errors) >= before + 2 &&
               json_string_value(json_object_get(json_array_get(errors, before), "pointer")) &&
               json_string_value(json_object_get(json_array_get(errors, before), "message")),
           "and their problems are listed with pointers and messages");
        col_scored_clear(&sc);
        json_decref(answers);
    }
    {
        char key[200], body[300];
        struct col_submission sub;
        size_t before = json_array_size(errors);
        memset(key, 'k', sizeof key);
        memcpy(key + 99, "\xc3\xa9", 3); /* the field name is quoted cut to 100 bytes */
        snprintf(body, sizeof body, "{\"%s\":1}", key);
        answers = J(body);
        ok(col_submission_parse(answers, 1772362800000000LL, &sub, errors) >= 5 &&
               json_array_size(errors) >= before + 5,
           "an unknown field with a long multi-byte name is named, with the four missing");
        json_decref(answers);
    }
    ins_definition_free(def);
    json_decref(errors);
}

/* col_jt_*: the texts written without jansson must read as jansson writes
 * them (the 201 record) or read back exactly (the batch's input). */
static void test_jtext(void)
{
    static const double reals[] = {0.0,
                                   9.0,
                                   -3.0,
                                   0.5,
                                   1.0 / 3.0,
                                   2.0 / 3.0,
                                   9.25,
                                   1e20,
                                   1.5e-7,
                                   -2.5e100,
                                   123456789012345678.0,
                                   4.9e-324,
                                   0.1,
                                   1e15,
                                   1e17,
                                   52.0,
                                   13.0 / 7.0};
    static const char *const strings[] = {
        "gad7",        "a\"b\\c", "tab\there\nline",  "\x01\x1f end",
        "caf\xc3\xa9", "",        "moderately severe"};
    char buf[256];
    struct col_jtext t;
    int all = 1;

    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        json_t *v = json_real(reals[i]);
        char *want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
        t = (struct col_jtext){buf, 0, sizeof buf, 0};
        col_jt_real(&t, reals[i]);
        if (want == NULL || t.failed || strcmp(buf, want) != 0) {
            all = 0;
            printf("#   %.17g: got %s, jansson %s\n", reals[i], buf, want ? want : "?");
        }
        free(want);
        json_decref(v);
        t = (struct col_jtext){buf, 0, sizeof buf, 0};
        col_jt_num(&t, reals[i]);
        if (t.failed || strtod(buf, NULL) != reals[i]) {
            all = 0;
            printf("#   %.17g: col_jt_num wrote %s\n", reals[i], buf);
        }
    }
    ok(all, "col_jt_real writes reals as jansson does; col_jt_num reads back exactly");
    all = 1;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        json_t *v = json_string(strings[i]);
        char *want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        t = (struct col_jtext){buf, 0, sizeof buf, 0};
        col_jt_str(&t, strings[i]);
        if (want == NULL || t.failed || strcmp(buf, want) != 0) {
            all = 0;
            printf("#   string %zu: got %s, jansson %s\n", i, buf, want ? want : "?");
        }
        free(want);
        json_decref(v);
    }
    ok(all, "col_jt_str escapes as jansson does");
    t = (struct col_jtext){buf, 0, sizeof buf, 0};
    COL_JT_LIT(&t, "{\"a\":");
    col_jt_str(&t, NULL);
    col_jt_key(&t, "b");
    col_jt_num(&t, 7);
    COL_JT_LIT(&t, "}");
    is_str(buf, "{\"a\":null,\"b\":7}", "null, keys and whole numbers");
    t = (struct col_jtext){buf, 0, 8, 0};
    COL_JT_LIT(&t, "12345");
    COL_JT_LIT(&t, "678");
    COL_JT_LIT(&t, "9");
    ok(t.failed && strcmp(buf, "12345") == 0, "a text that does not fit fails and stays failed");
}

int main(void)
{
    test_jtext();
    test_times();
    test_events();
    test_submission();
    test_protocol();
    test_scoring();
    return tap_done();
}
