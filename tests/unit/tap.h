/*
 * tap.h — a tiny Test Anything Protocol emitter for unit tests.
 *
 * Tests run under automake's tap-driver.sh, which counts each "ok"/"not ok"
 * line. Use:   ok(cond, "what it checks %d", n);   is_str(got, want, "name");
 * and end main() with  return tap_done();  which prints the plan.
 */
#ifndef HELPGATE_TESTS_TAP_H
#define HELPGATE_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    tap_count++;
    printf("%sok %d - ", cond ? "" : "not ", tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    fflush(stdout);
    return cond;
}

__attribute__((unused)) static int is_str(const char *got, const char *want, const char *name)
{
    int same = (got == NULL && want == NULL) || (got != NULL && want != NULL && strcmp(got, want) == 0);
    ok(same, "%s", name);
    if (!same)
        printf("#   got:  %s%s%s\n#   want: %s%s%s\n", got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
               want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
    return same;
}

__attribute__((unused)) static int is_int(long long got, long long want, const char *name)
{
    int same = got == want;
    ok(same, "%s", name);
    if (!same)
        printf("#   got:  %lld\n#   want: %lld\n", got, want);
    return same;
}

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
