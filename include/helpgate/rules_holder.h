/*
 * rules_holder.h — the rule set in force, shared by the intake threads and
 * replaced on reload without stopping them.
 *
 * A thread takes a reference for the message it routes
 * (hg_rules_holder_acquire) and gives it back after (hg_rules_holder_release);
 * hg_rules_holder_replace() swaps in a new rule set, and the old one is freed
 * when its last reference is given back. A holder may hold no rules (NULL):
 * every ticket then takes the default route.
 *
 * Ownership: the holder owns every rule set given to it; hg_rules_holder_free()
 * must be called when no thread uses it any more.
 */
#ifndef HELPGATE_RULES_HOLDER_H
#define HELPGATE_RULES_HOLDER_H

#include "helpgate/rules.h"

struct hg_rules_holder;
struct hg_rules_ref;

struct hg_rules_holder *hg_rules_holder_new(struct hg_rules *rules);
void hg_rules_holder_free(struct hg_rules_holder **holder);
void hg_rules_holder_replace(struct hg_rules_holder *holder, struct hg_rules *rules);

/* The current rule set (NULL when there are no rules) and *REF_R to give back. */
const struct hg_rules *hg_rules_holder_acquire(struct hg_rules_holder *holder, struct hg_rules_ref **ref_r);
void hg_rules_holder_release(struct hg_rules_holder *holder, struct hg_rules_ref **ref);

#endif
