/*
 * token_bucket.c — a token bucket with the time passed in (see token_bucket.h).
 *
 * Tokens are fractional: a refill adds elapsed * rate, capped at burst. A
 * take needs one whole token, give or take EPSILON, so that waiting exactly
 * 1/rate seconds is always enough despite rounding in the time arithmetic.
 */
#include "helpgate/token_bucket.h"

#include <math.h>

#define EPSILON 1e-9

/* The tokens B holds at NOW (B itself unchanged). */
static double tokens_at(const struct hg_token_bucket *b, double now)
{
    double elapsed = now - b->last;
    if (!isfinite(now) || !(elapsed > 0) || b->rate <= 0) /* no time, time backwards, or no refill */
        return b->tokens;
    double t = b->tokens + elapsed * b->rate;
    return t < b->burst ? t : b->burst;
}

void hg_token_bucket_init(struct hg_token_bucket *b, double rate, double burst, double now)
{
    b->rate = rate > 0 ? rate : 0; /* NaN compares false */
    b->burst = burst >= 1 ? burst : 1;
    b->tokens = b->burst;
    b->last = isfinite(now) ? now : 0;
}

bool hg_token_bucket_take(struct hg_token_bucket *b, double now)
{
    b->tokens = tokens_at(b, now);
    if (isfinite(now) && now > b->last)
        b->last = now;
    if (b->tokens < 1 - EPSILON)
        return false;
    b->tokens = b->tokens >= 1 ? b->tokens - 1 : 0;
    return true;
}

double hg_token_bucket_wait(const struct hg_token_bucket *b, double now)
{
    double t = tokens_at(b, now);
    if (t >= 1 - EPSILON)
        return 0;
    if (b->rate <= 0)
        return INFINITY;
    return (1 - t) / b->rate;
}
