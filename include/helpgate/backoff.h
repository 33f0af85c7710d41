/*
 * backoff.h — exponential backoff with jitter for reconnect loops.
 *
 * Delay for attempt n (starting at 0) is a random value in [d/2, d] where
 * d = min(max_ms, base_ms * 2^n): the "equal jitter" scheme, so a herd of
 * instances that lost the same server spreads out but never retries at 0 ms.
 * Pure: the caller sleeps; the random source is a seeded xorshift, so tests
 * are repeatable. No allocation; the struct is the caller's.
 */
#ifndef HELPGATE_BACKOFF_H
#define HELPGATE_BACKOFF_H

#include <stdint.h>

struct hg_backoff {
    unsigned base_ms;
    unsigned max_ms;
    unsigned attempt;
    uint64_t rng;
};

void hg_backoff_init(struct hg_backoff *b, unsigned base_ms, unsigned max_ms, uint64_t seed);
/* The delay before the next try; counts an attempt. */
unsigned hg_backoff_next_ms(struct hg_backoff *b);
/* After a success: the next failure starts again from base_ms. */
void hg_backoff_reset(struct hg_backoff *b);

#endif
