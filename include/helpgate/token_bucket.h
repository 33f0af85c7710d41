/*
 * token_bucket.h — a token bucket: on average RATE events a second, BURST at
 * once.
 *
 * The chat allows each connection a few frames a second with short bursts
 * ([chat] rate and burst); the daemon keeps one bucket per connection and
 * takes a token per frame. Pure: time is passed in as seconds on a
 * monotonic clock (any origin, as a double), nothing here reads a clock.
 * The bucket starts full. Time that goes backwards counts as no time: the
 * bucket keeps the latest time it has seen, so a clock that steps back and
 * forth never refills it twice; a NaN or infinite NOW counts as no time.
 * No allocation; the struct is the caller's and may be copied.
 */
#ifndef HELPGATE_TOKEN_BUCKET_H
#define HELPGATE_TOKEN_BUCKET_H

#include <stdbool.h>

struct hg_token_bucket {
    double tokens; /* available now, 0 .. burst */
    double rate;   /* tokens added per second, >= 0 */
    double burst;  /* most tokens held, >= 1 */
    double last;   /* the latest time seen */
};

/* A full bucket at time NOW. A RATE not above 0 (or NaN) is 0: no refill; a BURST below 1 (or NaN) is 1. */
void hg_token_bucket_init(struct hg_token_bucket *b, double rate, double burst, double now);

/* Refills for the time since the last call and takes one token: true when there was one. */
bool hg_token_bucket_take(struct hg_token_bucket *b, double now);

/* Seconds from NOW until a token will be there: 0 when there is one, INFINITY when the rate is 0. */
double hg_token_bucket_wait(const struct hg_token_bucket *b, double now);

#endif
