/*
 * rules_holder.c — a reference-counted, replaceable rule set (see rules_holder.h).
 */
#include "helpgate/rules_holder.h"

#include "helpgate/alloc.h"

#include <pthread.h>
#include <stdlib.h>

struct hg_rules_ref {
    struct hg_rules *rules;
    unsigned refs; /* the holder's own reference while current, plus one per user */
};

struct hg_rules_holder {
    pthread_mutex_t lock;
    struct hg_rules_ref *current;
};

static struct hg_rules_ref *new_ref(struct hg_rules *rules)
{
    struct hg_rules_ref *ref = hg_xcalloc(1, sizeof(*ref));
    ref->rules = rules;
    ref->refs = 1;
    return ref;
}

/* Drops one reference; the caller holds the lock. */
static void drop(struct hg_rules_ref *ref)
{
    if (--ref->refs > 0)
        return;
    hg_rules_free(&ref->rules);
    free(ref);
}

struct hg_rules_holder *hg_rules_holder_new(struct hg_rules *rules)
{
    struct hg_rules_holder *h = hg_xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    h->current = new_ref(rules);
    return h;
}

void hg_rules_holder_free(struct hg_rules_holder **holder)
{
    struct hg_rules_holder *h = *holder;
    if (h == NULL)
        return;
    drop(h->current);
    pthread_mutex_destroy(&h->lock);
    free(h);
    *holder = NULL;
}

void hg_rules_holder_replace(struct hg_rules_holder *h, struct hg_rules *rules)
{
    struct hg_rules_ref *fresh = new_ref(rules);
    pthread_mutex_lock(&h->lock);
    struct hg_rules_ref *old = h->current;
    h->current = fresh;
    drop(old);
    pthread_mutex_unlock(&h->lock);
}

const struct hg_rules *hg_rules_holder_acquire(struct hg_rules_holder *h, struct hg_rules_ref **ref_r)
{
    pthread_mutex_lock(&h->lock);
    struct hg_rules_ref *ref = h->current;
    ref->refs++;
    pthread_mutex_unlock(&h->lock);
    *ref_r = ref;
    return ref->rules;
}

void hg_rules_holder_release(struct hg_rules_holder *h, struct hg_rules_ref **ref)
{
    if (*ref == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    drop(*ref);
    pthread_mutex_unlock(&h->lock);
    *ref = NULL;
}
