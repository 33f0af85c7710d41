/*
 * suggest.h — "did you mean …?": the nearest known word to a mistyped one.
 *
 * Used by the config and rules parsers for unknown keys, fields, lists and
 * actions. Pure; nothing is allocated.
 */
#ifndef HELPGATE_SUGGEST_H
#define HELPGATE_SUGGEST_H

#include <stddef.h>

/* Words longer than this get no suggestion (and never match one). */
#define HG_SUGGEST_MAX_LEN 64

/* Most edits at which TYPED still gets a suggestion: max(2, length / 3). */
size_t hg_suggestion_limit(const char *typed);

/*
 * Optimal-string-alignment distance (Levenshtein plus swaps of neighbours),
 * ASCII case folded; SIZE_MAX when it is surely above LIMIT or either word
 * is longer than HG_SUGGEST_MAX_LEN.
 */
size_t hg_edit_distance(const char *a, const char *b, size_t limit);

/*
 * The entry of CANDIDATES (COUNT strings, NULL entries skipped) nearest to
 * TYPED within hg_suggestion_limit(TYPED), or NULL.
 */
const char *hg_suggest(const char *typed, const char *const *candidates, size_t count);

#endif
