/*
 * pcache.c — the participant cache (see col_int.h). The access module checks
 * every request's token (acc_authorize()); what the collector then needs of
 * the participant and their study — enrolment time, the study's zone and
 * late rule — never changes, so it is kept here by participant id instead of
 * being read again for every request. Status is not cached: the write
 * statements check it. A direct-mapped table; a newer entry replaces an
 * older one; one mutex guards it, held only to copy an entry in or out.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "col_int.h"

struct col_participant_slot {
    int used;
    struct col_participant p;
};

struct col_participant_cache {
    pthread_mutex_t lock;
    size_t n;
    struct col_participant_slot *slots;
};

int col_participant_cache_new(size_t slots, struct col_participant_cache **out)
{
    struct col_participant_cache *c = calloc(1, sizeof *c);

    if (c == NULL || slots == 0 || (c->slots = calloc(slots, sizeof *c->slots)) == NULL) {
        free(c);
        return -1;
    }
    c->n = slots;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void col_participant_cache_free(struct col_participant_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

int col_participant_cache_get(struct col_participant_cache *c, long long id,
                              struct col_participant *out)
{
    struct col_participant_slot *s;
    int hit;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->lock);
    s = &c->slots[(unsigned long long)id % c->n];
    hit = s->used && s->p.id == id;
    if (hit)
        *out = s->p;
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void col_participant_cache_put(struct col_participant_cache *c, const struct col_participant *p)
{
    struct col_participant_slot *s;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    s = &c->slots[(unsigned long long)p->id % c->n];
    s->used = 1;
    s->p = *p;
    pthread_mutex_unlock(&c->lock);
}
