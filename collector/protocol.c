/*
 * protocol.c — parsing a study's protocol file (see intake.h; the format is
 * in docs/collector.md). Pure: the database side is in study.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"

const char col_default_support_text[] =
    "This study is not a crisis or emergency service, and nobody reads your answers "
    "straight away. If you are in danger or thinking about harming yourself, call your "
    "local emergency number (999 in the UK, 112 in the EU, 911 in the US) or go to the "
    "nearest emergency department. You can contact the study team about the study itself.";

void col_protocol_free(struct col_protocol *p)
{
    if (p == NULL)
        return;
    json_decref(p->root);
    free(p);
}

static int col_proto_key_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '_' || c == '-'))))
            return 0;
    }
    return 1;
}

/* A required or optional string member; appends a problem when wrong. */
static const char *col_proto_string(json_t *obj, const char *name, const char *pointer,
                                    int required, size_t max_len, json_t *errors)
{
    json_t *v = json_object_get(obj, name);
    char ptr[128];

    snprintf(ptr, sizeof ptr, "%s/%s", pointer, name);
    if (v == NULL) {
        if (required)
            col_error_add(errors, ptr, "\"%s\" is required", name);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max_len) {
        col_error_add(errors, ptr, "\"%s\" must be a string of 1 to %zu characters", name, max_len);
        return NULL;
    }
    return json_string_value(v);
}

static void col_proto_unknown(json_t *obj, const char *pointer, const char *const *known,
                              json_t *errors)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        char ptr[160];
        for (const char *const *k = known; *k; k++)
            ok |= strcmp(*k, key) == 0;
        if (!ok) {
            snprintf(ptr, sizeof ptr, "%s/%.60s", pointer, key);
            col_error_add(errors, ptr, "unknown field \"%.60s\"", key);
        }
    }
}

static void col_proto_schedule(json_t *sched, struct col_protocol *p, json_t *errors)
{
    static const char *const known[] = {"instrument",  "version",    "weeks",
                                        "window_days", "item_texts", NULL};
    size_t i, j;
    json_t *entry, *w;

    if (!json_is_array(sched) || json_array_size(sched) == 0 ||
        json_array_size(sched) > COL_PROTOCOL_MAX_SCHEDULE) {
        col_error_add(errors, "/schedule", "\"schedule\" must be an array of 1 to %d entries",
                      COL_PROTOCOL_MAX_SCHEDULE);
        return;
    }
    json_array_foreach(sched, i, entry)
    {
        struct col_protocol_entry *e = &p->schedule[p->n_schedule];
        char base[64], ptr[96];
        json_t *weeks, *window;

        snprintf(base, sizeof base, "/schedule/%zu", i);
        if (!json_is_object(entry)) {
            col_error_add(errors, base, "a schedule entry must be an object");
            continue;
        }
        col_proto_unknown(entry, base, known, errors);
        e->instrument = col_proto_string(entry, "instrument", base, 1, 63, errors);
        if (e->instrument != NULL && !col_proto_key_ok(e->instrument)) {
            snprintf(ptr, sizeof ptr, "%s/instrument", base);
            col_error_add(errors, ptr, "\"%s\" is not an instrument id", e->instrument);
        }
        e->version = col_proto_string(entry, "version", base, 1, 32, errors);
        /* A path, relative to the protocol file; read and checked against the
         * definition by col_study_create(). */
        e->item_texts =
            col_proto_string(entry, "item_texts", base, 0, COL_PROTOCOL_MAX_PATH, errors);
        weeks = json_object_get(entry, "weeks");
        snprintf(ptr, sizeof ptr, "%s/weeks", base);
        e->n_weeks = 0;
        if (!json_is_array(weeks) || json_array_size(weeks) == 0 || json_array_size(weeks) > 105) {
            col_error_add(errors, ptr, "\"weeks\" must be an array of study weeks");
        } else {
            json_array_foreach(weeks, j, w)
            {
                char wptr[128];
                json_int_t n = json_is_integer(w) ? json_integer_value(w) : -1;
                snprintf(wptr, sizeof wptr, "%s/%zu", ptr, j);
                if (n < 0 || n > p->weeks) {
                    col_error_add(errors, wptr, "a week must be an integer from 0 to %d", p->weeks);
                    continue;
                }
                for (size_t k = 0; k < e->n_weeks; k++)
                    if (e->weeks[k] == (int)n) {
                        col_error_add(errors, wptr, "week %d is listed twice", (int)n);
                        n = -1;
                        break;
                    }
                if (n >= 0)
                    e->weeks[e->n_weeks++] = (int)n;
            }
        }
        window = json_object_get(entry, "window_days");
        e->window_days = 7;
        if (window != NULL) {
            snprintf(ptr, sizeof ptr, "%s/window_days", base);
            if (!json_is_integer(window) || json_integer_value(window) < 1 ||
                json_integer_value(window) > 365)
                col_error_add(errors, ptr, "\"window_days\" must be an integer from 1 to 365");
            else
                e->window_days = (int)json_integer_value(window);
        }
        for (size_t k = 0; k < p->n_schedule && e->instrument; k++) {
            if (p->schedule[k].instrument &&
                strcmp(p->schedule[k].instrument, e->instrument) == 0) {
                snprintf(ptr, sizeof ptr, "%s/instrument", base);
                col_error_add(errors, ptr,
                              "\"%s\" is scheduled twice; list all its weeks in one entry",
                              e->instrument);
            }
        }
        p->n_schedule++;
    }
}

size_t col_protocol_parse(json_t *root, const char *default_tz, struct col_protocol **out,
                          json_t *errors)
{
    static const char *const known[] = {"id",          "title",        "weeks", "timezone",
                                        "allow_late",  "support_text", "arms",  "schedule",
                                        "event_types", "description",  NULL};
    size_t before = json_array_size(errors), i;
    struct col_protocol *p;
    json_t *v, *arm;

    if (!json_is_object(root)) {
        col_error_add(errors, "", "a protocol is a JSON object");
        return 1;
    }
    if ((p = calloc(1, sizeof *p)) == NULL) {
        col_error_add(errors, "", "out of memory");
        return 1;
    }
    p->root = json_incref(root);
    col_proto_unknown(root, "", known, errors);
    p->id = col_proto_string(root, "id", "", 1, 63, errors);
    if (p->id != NULL && !col_proto_key_ok(p->id))
        col_error_add(errors, "/id", "the study id must be lower-case letters, digits, - and _");
    p->title = col_proto_string(root, "title", "", 1, 200, errors);
    p->timezone = col_proto_string(root, "timezone", "", 0, 64, errors);
    if (p->timezone == NULL)
        p->timezone = default_tz ? default_tz : "UTC";
    p->support_text = col_proto_string(root, "support_text", "", 0, 2000, errors);
    p->weeks = 8;
    if ((v = json_object_get(root, "weeks")) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 104)
            col_error_add(errors, "/weeks", "\"weeks\" must be an integer from 1 to 104");
        else
            p->weeks = (int)json_integer_value(v);
    }
    p->allow_late = 1;
    if ((v = json_object_get(root, "allow_late")) != NULL) {
        if (!json_is_boolean(v))
            col_error_add(errors, "/allow_late", "\"allow_late\" must be true or false");
        else
            p->allow_late = json_is_true(v);
    }
    v = json_object_get(root, "arms");
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > COL_PROTOCOL_MAX_ARMS) {
        col_error_add(errors, "/arms", "\"arms\" must be an array of 1 to %d arms",
                      COL_PROTOCOL_MAX_ARMS);
    } else {
        json_array_foreach(v, i, arm)
        {
            char base[32];
            const char *id;
            snprintf(base, sizeof base, "/arms/%zu", i);
            if (json_is_string(arm)) {
                id = json_string_value(arm);
                p->arm_labels[p->n_arms] = id;
            } else if (json_is_object(arm)) {
                static const char *const arm_known[] = {"id", "label", NULL};
                col_proto_unknown(arm, base, arm_known, errors);
                id = col_proto_string(arm, "id", base, 1, 63, errors);
                p->arm_labels[p->n_arms] = col_proto_string(arm, "label", base, 0, 200, errors);
                if (p->arm_labels[p->n_arms] == NULL)
                    p->arm_labels[p->n_arms] = id;
            } else {
                col_error_add(errors, base, "an arm is an id or {\"id\", \"label\"}");
                continue;
            }
            if (id == NULL)
                continue;
            if (!col_proto_key_ok(id)) {
                col_error_add(errors, base, "\"%s\" is not a valid arm id", id);
                continue;
            }
            for (size_t k = 0; k < p->n_arms; k++)
                if (strcmp(p->arm_ids[k], id) == 0) {
                    col_error_add(errors, base, "the arm \"%s\" is listed twice", id);
                    id = NULL;
                    break;
                }
            if (id != NULL)
                p->arm_ids[p->n_arms++] = id;
        }
    }
    if (json_object_get(root, "schedule") == NULL)
        col_error_add(errors, "/schedule", "\"schedule\" is required");
    else
        col_proto_schedule(json_object_get(root, "schedule"), p, errors);
    v = json_object_get(root, "event_types");
    if (v != NULL) {
        json_t *et;
        if (!json_is_array(v) || json_array_size(v) > 200) {
            col_error_add(errors, "/event_types", "\"event_types\" must be an array");
        } else {
            json_array_foreach(v, i, et)
            {
                char base[48];
                const char *type;
                snprintf(base, sizeof base, "/event_types/%zu", i);
                if (!json_is_object(et)) {
                    col_error_add(errors, base, "an event type is {\"type\", \"description\"}");
                    continue;
                }
                type = col_proto_string(et, "type", base, 1, 64, errors);
                col_proto_string(et, "description", base, 1, 500, errors);
                if (type != NULL && !col_event_type_ok(type)) {
                    char ptr[64];
                    snprintf(ptr, sizeof ptr, "%s/type", base);
                    col_error_add(errors, ptr, "\"%s\" is not a valid event type name", type);
                }
            }
            p->event_types = v;
        }
    }
    if (json_array_size(errors) > before) {
        col_protocol_free(p);
        return json_array_size(errors) - before;
    }
    *out = p;
    return 0;
}
