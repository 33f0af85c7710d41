/*
 * test-backoff.c — delays grow, stay within [ceiling/2, ceiling], cap, and reset.
 */
#include "helpgate/backoff.h"

#include "tap.h"

static void test_growth_and_bounds(void)
{
    struct hg_backoff b;
    hg_backoff_init(&b, 100, 5000, 42);
    unsigned ceiling = 100;
    int in_bounds = 1;
    for (int i = 0; i < 20; i++) {
        unsigned d = hg_backoff_next_ms(&b);
        if (d < ceiling / 2 || d > ceiling)
            in_bounds = 0;
        ceiling = ceiling * 2 > 5000 ? 5000 : ceiling * 2;
    }
    ok(in_bounds, "every delay lies in [ceiling/2, ceiling] with the ceiling doubling up to the cap");
    unsigned late = hg_backoff_next_ms(&b);
    ok(late >= 2500 && late <= 5000, "after many attempts the delay stays under the cap (%u)", late);
}

static void test_reset(void)
{
    struct hg_backoff b;
    hg_backoff_init(&b, 200, 60000, 7);
    for (int i = 0; i < 10; i++)
        hg_backoff_next_ms(&b);
    hg_backoff_reset(&b);
    unsigned d = hg_backoff_next_ms(&b);
    ok(d >= 100 && d <= 200, "after reset the first delay is back near the base (%u)", d);
}

static void test_jitter_spreads(void)
{
    struct hg_backoff a, b;
    hg_backoff_init(&a, 1000, 1000, 1);
    hg_backoff_init(&b, 1000, 1000, 2);
    int differ = 0;
    for (int i = 0; i < 10; i++)
        differ += hg_backoff_next_ms(&a) != hg_backoff_next_ms(&b);
    ok(differ >= 8, "two instances with different seeds retry at different moments (%d/10)", differ);
}

int main(void)
{
    test_growth_and_bounds();
    test_reset();
    test_jitter_spreads();
    return tap_done();
}
