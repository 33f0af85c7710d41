/*
 * rules_ac.c — Aho–Corasick matching of keyword lists (see rules_internal.h).
 *
 * Most rules test a text field against keyword lists (`reply contains
 * @outage_words`). Compiled as one regular expression per test, every test
 * rescans the field; here all `contains` tests on one field share one
 * automaton, so the field is read once per ticket whatever the number of
 * rules, and each test is one bit.
 *
 * The automaton is a complete DFA over byte classes: ASCII letters fold to
 * one class per letter (case-insensitive), the other bytes that occur in
 * keywords get a class each, all remaining bytes share class 0. Only ASCII
 * keywords are taken (the parser keeps PCRE2 for the others), so folding
 * ASCII letters gives the same answers as PCRE2's caseless matching except
 * for the two Unicode characters that fold onto ASCII letters (KELVIN SIGN,
 * LATIN SMALL LETTER LONG S), which match only their own kind here.
 */
#include "rules_internal.h"

#include "helpgate/alloc.h"

#include <stdlib.h>
#include <string.h>

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

void rules_ac_init(struct rules_ac *ac)
{
    memset(ac, 0, sizeof(*ac));
}

/* Assigns byte classes from every keyword's bytes. */
static void assign_classes(struct rules_ac *ac, const struct rules_ac_keyword *kw, size_t n)
{
    unsigned char seen[256] = {0};
    for (size_t i = 0; i < n; i++)
        for (const char *p = kw[i].text; *p != '\0'; p++)
            seen[fold((unsigned char)*p)] = 1;
    ac->n_classes = 1;
    for (int c = 0; c < 256; c++)
        if (seen[c])
            ac->byte_class[c] = (uint8_t)ac->n_classes++;
    for (int c = 'A'; c <= 'Z'; c++)
        ac->byte_class[c] = ac->byte_class[c - 'A' + 'a'];
}

static uint32_t add_state(struct rules_ac *ac, size_t *cap)
{
    if (ac->n_states == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        ac->next = hg_xrealloc(ac->next, *cap * ac->n_classes * sizeof(*ac->next));
        ac->out_first = hg_xrealloc(ac->out_first, *cap * sizeof(*ac->out_first));
        ac->dict = hg_xrealloc(ac->dict, *cap * sizeof(*ac->dict));
    }
    uint32_t s = ac->n_states++;
    memset(ac->next + (size_t)s * ac->n_classes, 0, ac->n_classes * sizeof(*ac->next));
    ac->out_first[s] = UINT32_MAX;
    ac->dict[s] = 0;
    return s;
}

/* The trie of the keywords; outputs are chained per state through out_next. */
static void build_trie(struct rules_ac *ac, const struct rules_ac_keyword *kw, size_t n)
{
    size_t cap = 0;
    add_state(ac, &cap); /* the root, state 0 */
    ac->out_slot = hg_xcalloc(n ? n : 1, sizeof(*ac->out_slot));
    ac->out_next = hg_xcalloc(n ? n : 1, sizeof(*ac->out_next));
    for (size_t i = 0; i < n; i++) {
        uint32_t s = 0;
        for (const char *p = kw[i].text; *p != '\0'; p++) {
            uint32_t *edge = &ac->next[(size_t)s * ac->n_classes + ac->byte_class[(unsigned char)*p]];
            if (*edge == 0) {
                uint32_t fresh = add_state(ac, &cap);
                edge = &ac->next[(size_t)s * ac->n_classes + ac->byte_class[(unsigned char)*p]];
                *edge = fresh;
            }
            s = *edge;
        }
        ac->out_slot[i] = kw[i].slot;
        ac->out_next[i] = ac->out_first[s];
        ac->out_first[s] = (uint32_t)i;
    }
}

/*
 * Breadth first: failure links complete the transition table (a missing
 * edge takes the failure state's), and dict[s] is the nearest state on the
 * failure chain that has outputs.
 */
static void complete(struct rules_ac *ac)
{
    uint32_t *queue = hg_xcalloc(ac->n_states, sizeof(*queue));
    uint32_t *fail = hg_xcalloc(ac->n_states, sizeof(*fail));
    size_t head = 0, tail = 0;
    for (unsigned c = 0; c < ac->n_classes; c++)
        if (ac->next[c] != 0)
            queue[tail++] = ac->next[c];
    while (head < tail) {
        uint32_t s = queue[head++];
        uint32_t f = fail[s];
        ac->dict[s] = ac->out_first[f] != UINT32_MAX ? f : ac->dict[f];
        for (unsigned c = 0; c < ac->n_classes; c++) {
            uint32_t *edge = &ac->next[(size_t)s * ac->n_classes + c];
            uint32_t via_fail = ac->next[(size_t)f * ac->n_classes + c];
            if (*edge == 0) {
                *edge = via_fail;
            } else {
                fail[*edge] = via_fail;
                queue[tail++] = *edge;
            }
        }
    }
    free(queue);
    free(fail);
}

void rules_ac_build(struct rules_ac *ac, const struct rules_ac_keyword *keywords, size_t n, size_t n_slots)
{
    rules_ac_init(ac);
    ac->n_slots = n_slots;
    assign_classes(ac, keywords, n);
    build_trie(ac, keywords, n);
    complete(ac);
}

void rules_ac_free(struct rules_ac *ac)
{
    free(ac->next);
    free(ac->out_first);
    free(ac->out_next);
    free(ac->out_slot);
    free(ac->dict);
    rules_ac_init(ac);
}

static void mark(const struct rules_ac *ac, uint32_t s, uint64_t *bits)
{
    for (uint32_t i = ac->out_first[s]; i != UINT32_MAX; i = ac->out_next[i])
        bits[ac->out_slot[i] / 64] |= UINT64_C(1) << (ac->out_slot[i] % 64);
}

void rules_ac_scan(const struct rules_ac *ac, const char *text, uint64_t *bits)
{
    if (ac->n_states == 0 || text == NULL)
        return;
    uint32_t s = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        s = ac->next[(size_t)s * ac->n_classes + ac->byte_class[*p]];
        if (ac->out_first[s] != UINT32_MAX)
            mark(ac, s, bits);
        for (uint32_t t = ac->dict[s]; t != 0; t = ac->dict[t])
            mark(ac, t, bits);
    }
}
