/*
 * backoff.c — exponential backoff with equal jitter (see backoff.h).
 */
#include "helpgate/backoff.h"

void hg_backoff_init(struct hg_backoff *b, unsigned base_ms, unsigned max_ms, uint64_t seed)
{
    b->base_ms = base_ms ? base_ms : 1;
    b->max_ms = max_ms >= b->base_ms ? max_ms : b->base_ms;
    b->attempt = 0;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static uint64_t next_random(struct hg_backoff *b)
{
    uint64_t x = b->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

unsigned hg_backoff_next_ms(struct hg_backoff *b)
{
    uint64_t ceiling = b->base_ms;
    for (unsigned i = 0; i < b->attempt && ceiling < b->max_ms; i++)
        ceiling *= 2;
    if (ceiling > b->max_ms)
        ceiling = b->max_ms;
    if (b->attempt < 64)
        b->attempt++;
    uint64_t half = ceiling / 2;
    return (unsigned)(half + next_random(b) % (ceiling - half + 1));
}

void hg_backoff_reset(struct hg_backoff *b)
{
    b->attempt = 0;
}
