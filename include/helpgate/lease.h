/*
 * lease.h — who polls which mailbox, when several helpgated share a database.
 *
 * A lease is a session-level PostgreSQL advisory lock keyed by the mailbox
 * name, held on one connection per helpgated that does nothing else. When
 * the instance dies, PostgreSQL drops its connection and with it every lease,
 * and another instance takes the mailboxes over on its next try. The holder's
 * name is also written to mailbox_state for operators to see.
 *
 * If the lease connection breaks, every lease of this instance is lost at
 * once: hg_lease_held() notices (it pings at most once a second) and
 * answers false, and the pollers stop and try again. Thread-safe.
 *
 * Ownership: hg_leases_new() copies its arguments; hg_leases_free(&l) closes
 * the connection, releasing every lease. Errors: -1 with *error_r (caller frees).
 */
#ifndef HELPGATE_LEASE_H
#define HELPGATE_LEASE_H

#include "helpgate/store.h"

#include <stdbool.h>
#include <stdint.h>

struct hg_leases;

struct hg_leases *hg_leases_new(const struct hg_store_params *params, const char *instance);
void hg_leases_free(struct hg_leases **leases);

/*
 * Tries to take MAILBOX's lease. *held_r is true when this instance holds it
 * now (taken now or before); *token_r identifies this holding for
 * hg_lease_held(). -1 when the database cannot be reached.
 */
int hg_lease_try(struct hg_leases *leases, const char *mailbox, bool *held_r, uint64_t *token_r,
                 char **error_r);
/* Still held since hg_lease_try() gave TOKEN? */
bool hg_lease_held(struct hg_leases *leases, uint64_t token);
void hg_lease_release(struct hg_leases *leases, const char *mailbox);

#endif
