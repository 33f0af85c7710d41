/*
 * suggest.c — nearest-word suggestions for error messages (see suggest.h).
 */
#include "helpgate/suggest.h"

#include <stdint.h>
#include <string.h>

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

size_t hg_suggestion_limit(const char *typed)
{
    size_t len = strlen(typed);
    return len / 3 > 2 ? len / 3 : 2;
}

size_t hg_edit_distance(const char *a, const char *b, size_t limit)
{
    size_t n = strlen(a), m = strlen(b);
    size_t before[HG_SUGGEST_MAX_LEN + 1] = {0}, previous[HG_SUGGEST_MAX_LEN + 1],
                                       current[HG_SUGGEST_MAX_LEN + 1];
    if (n > HG_SUGGEST_MAX_LEN || m > HG_SUGGEST_MAX_LEN || (n > m ? n - m : m - n) > limit)
        return SIZE_MAX;
    for (size_t j = 0; j <= m; j++)
        previous[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t row_min = current[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = fold(a[i - 1]) != fold(b[j - 1]);
            size_t best = min_size(min_size(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) && fold(a[i - 2]) == fold(b[j - 1]))
                best = min_size(best, before[j - 2] + 1);
            current[j] = best;
            row_min = min_size(row_min, best);
        }
        if (row_min > limit)
            return SIZE_MAX; /* every later row is at least this far */
        memcpy(before, previous, (m + 1) * sizeof previous[0]);
        memcpy(previous, current, (m + 1) * sizeof current[0]);
    }
    return previous[m];
}

const char *hg_suggest(const char *typed, const char *const *candidates, size_t count)
{
    size_t limit = hg_suggestion_limit(typed), best_distance = SIZE_MAX;
    const char *best = NULL;
    for (size_t i = 0; i < count; i++) {
        if (candidates[i] == NULL)
            continue;
        size_t d = hg_edit_distance(typed, candidates[i], limit);
        if (d < best_distance) {
            best = candidates[i];
            best_distance = d;
        }
    }
    return best_distance <= limit ? best : NULL;
}
