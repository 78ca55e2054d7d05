/*
 * tokens.c — the participant token cache (see col_int.h). A direct-mapped
 * table: a token's slot is chosen by the first bytes of its SHA-256 hash, a
 * newer entry replaces an older one, and one mutex guards the table (an
 * entry is copied in or out under it; nothing is held across a query).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "col_int.h"

struct col_token_slot {
    int used;
    unsigned char hash[32];
    struct col_participant p;
};

struct col_token_cache {
    pthread_mutex_t lock;
    size_t n;
    struct col_token_slot *slots;
};

int col_token_cache_new(size_t slots, struct col_token_cache **out)
{
    struct col_token_cache *c = calloc(1, sizeof *c);

    if (c == NULL || slots == 0 || (c->slots = calloc(slots, sizeof *c->slots)) == NULL) {
        free(c);
        return -1;
    }
    c->n = slots;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void col_token_cache_free(struct col_token_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

static struct col_token_slot *col_token_slot(struct col_token_cache *c, const unsigned char h[32])
{
    size_t i;

    memcpy(&i, h, sizeof i); /* the hash is uniform: its first bytes pick the slot */
    return &c->slots[i % c->n];
}

int col_token_cache_get(struct col_token_cache *c, const unsigned char hash[32],
                        struct col_participant *out)
{
    struct col_token_slot *s;
    int hit;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->lock);
    s = col_token_slot(c, hash);
    hit = s->used && memcmp(s->hash, hash, 32) == 0;
    if (hit)
        *out = s->p;
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void col_token_cache_put(struct col_token_cache *c, const unsigned char hash[32],
                         const struct col_participant *p)
{
    struct col_token_slot *s;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    s = col_token_slot(c, hash);
    s->used = 1;
    memcpy(s->hash, hash, 32);
    s->p = *p;
    pthread_mutex_unlock(&c->lock);
}

void col_token_cache_drop(struct col_token_cache *c, const unsigned char hash[32])
{
    struct col_token_slot *s;

    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    s = col_token_slot(c, hash);
    if (s->used && memcmp(s->hash, hash, 32) == 0)
        s->used = 0;
    pthread_mutex_unlock(&c->lock);
}
