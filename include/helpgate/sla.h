/*
 * sla.h — SLA policies of the rules file, and time counted in business hours.
 *
 * A rules file (helpgate.rules(5)) may define SLA policies:
 *
 *     sla vip
 *         first response within 1h
 *         resolution within 8h
 *         hours business        # count only inside this calendar (default: around the clock)
 *         warn 15m before       # default: no warning
 *         on breach notify lead # default: escalate
 *     end
 *
 * A rule's `sla NAME` action, or by default the ticket's tier name ("L1",
 * "L2", "L3"), names the policy of a ticket (hg_rules_result.sla);
 * hg_rules_sla() finds it. A tier name with no policy of that name means: no
 * SLA. Once a file defines any policy, `rules check` refuses an `sla` action
 * naming an undefined one; a file without policies keeps the names as plain
 * labels, as before policies existed.
 *
 * Counted time. Without a calendar every second counts. With one, a second
 * counts when the wall clock of the rules' time zone shows a time inside the
 * calendar's spans for that weekday, on a day that is not one of its
 * holidays: exactly what `hours.NAME` in a condition says at that instant.
 * So the hour skipped when clocks go forward is never counted, and the hour
 * repeated when they go back counts twice if it is open (a 00:00-24:00
 * calendar has 23 and 25 hour days then). Durations in a policy are counted
 * time; `d` means 24 counted hours and is accepted only in a policy without
 * a calendar (a "business day" has no fixed length).
 *
 * A warning comes when the policy's warn time of counted time is left before
 * a due time: "warn 30m before" a due time of Monday 08:10 in an 08:00-18:00
 * calendar warns on Friday at 17:40. When that moment is a closing time the
 * warning waits for the next opening, when someone can act on it: with a
 * due time of Monday 08:30 it comes on Monday at 08:00, not Friday at 18:00.
 *
 * Cost: the arithmetic walks local days (two time-zone lookups per day, a few
 * more on a day the clocks change), never minutes. Due times are searched up
 * to 100 years ahead; `rules check` refuses a policy whose targets take more
 * than 10 years in its calendar (ignoring holidays), so only a file whose
 * holidays close a calendar for decades reaches the limit (HG_SLA_NEVER).
 * Offsets of a time zone are assumed to change at most once within a local
 * day, as in every zone of the tz database.
 *
 * Instants are seconds since 1970 UTC, taken within the years 1 to 9999
 * (HG_TZ_EPOCH_MIN..HG_TZ_EPOCH_MAX) where a calendar is counted.
 *
 * Pure: no clock, no I/O, no global state; a rule set is read-only, so any
 * number of threads may compute at once. Ownership: a policy belongs to the
 * rule set it came from and lives as long as it; pass it only with that rule
 * set. Nothing here fails: an impossible answer is HG_SLA_NEVER.
 */
#ifndef HELPGATE_SLA_H
#define HELPGATE_SLA_H

#include "helpgate/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A due time that never comes (the search gave up, or it lies past the year 9999). */
#define HG_SLA_NEVER INT64_MAX

/* The longest target or warning a policy may have: 366 days of counted time. */
#define HG_SLA_MAX_SECS (INT64_C(366) * 24 * 3600)

enum hg_sla_breach {
    HG_SLA_ESCALATE = 1,    /* one tier up: L1 -> L2 -> L3; an L3 ticket: notify the L3 lead(s) */
    HG_SLA_NOTIFY_LEAD = 2, /* the lead(s) of the ticket's tier; the tier stays */
};

struct hg_sla_policy {
    const char *name;
    int line; /* of the `sla` statement */
    int64_t first_response_secs;
    int64_t resolution_secs; /* >= first_response_secs */
    int64_t warn_secs;       /* 0: no warning; else < first_response_secs */
    enum hg_sla_breach on_breach;
    const char *calendar; /* the calendar counted in, or NULL: around the clock */
};

/* The policy called NAME (compared exactly), or NULL when RULES (may be NULL) has none. */
const struct hg_sla_policy *hg_rules_sla(const struct hg_rules *rules, const char *name);
/* The policies in file order, for listing: I < hg_rules_sla_count(). */
size_t hg_rules_sla_count(const struct hg_rules *rules);
const struct hg_sla_policy *hg_rules_sla_at(const struct hg_rules *rules, size_t i);

/*
 * The instant (seconds since 1970 UTC) at which COUNTED_SECS of P's counted
 * time have passed after START. 0 (or less) gives START itself; a target
 * reached exactly at the end of an open span gives that end (Friday 17:00 +
 * 1h in an 08:00-18:00 calendar is Friday 18:00, not Monday 08:00).
 * HG_SLA_NEVER when the search gives up.
 */
int64_t hg_sla_due(const struct hg_rules *rules, const struct hg_sla_policy *p, int64_t start_epoch,
                   int64_t counted_secs);

/*
 * The seconds of P's counted time between FROM and TO (0 when TO <= FROM):
 * "time to first response in business hours". hg_sla_counted(r, p, s,
 * hg_sla_due(r, p, s, n)) == n. Takes time linear in the days between.
 */
int64_t hg_sla_counted(const struct hg_rules *rules, const struct hg_sla_policy *p, int64_t from, int64_t to);

/* A ticket's due times under its policy. */
struct hg_sla_times {
    int64_t first_response_due;
    int64_t resolution_due;
    /* The first counted instant with only the warn time left; HG_SLA_NEVER without a warning. */
    int64_t first_response_warn;
    int64_t resolution_warn;
};

/* The due and warning times of a ticket opened at START under P. */
void hg_sla_times_at(const struct hg_rules *rules, const struct hg_sla_policy *p, int64_t start,
                     struct hg_sla_times *out);

/* "escalate" or "notify lead". */
const char *hg_sla_breach_name(enum hg_sla_breach breach);

/*
 * What a breach does to a ticket in TIER under P: the tier it goes to, and
 * *NOTIFY_LEAD_R whether the lead(s) of that tier are to be told. Escalate:
 * L1 -> L2, L2 -> L3 (no lead), L3 stays L3 and its lead is told. Notify
 * lead: the tier stays and its lead is told.
 */
enum hg_rules_tier hg_sla_breach_tier(const struct hg_sla_policy *p, enum hg_rules_tier tier,
                                      bool *notify_lead_r);

#endif
