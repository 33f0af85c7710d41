/*
 * retention.h — archive, then purge, what the [retention] settings say is
 * due; shared by helpgated's daily scheduler and `helpgatectl retention run`.
 *
 * Three data classes, each with its own number of days (0 keeps forever):
 *   tickets      closed tickets closed_ticket_days after closing: the whole
 *                ticket (messages, attachments' metadata, outbox rows, chat
 *                sessions, and the raw sources and attachment contents only
 *                it uses) is archived, then deleted. Audit rows stay.
 *   attachments  attachment contents no message younger than
 *                attachment_days uses: archived, then data NULL.
 *   raw          raw sources older than raw_days: archived, then data NULL
 *                (the row stays: messages name it).
 *
 * A run is one transaction. For each class with something due it locks the
 * rows, writes ARCHIVE_DIR/CLASS-YYYYMMDDTHHMMSSZ.jsonl.gz (gzip'd JSON
 * Lines: a header line, one line per archived thing, a trailer line with the
 * count) under a temporary name, fsyncs it, renames it into place and fsyncs
 * the directory, and only then purges those rows; one audit row
 * 'retention.run' with the counts, then COMMIT. A crash or error before the
 * commit purges nothing (an archive file may then hold rows that are still in
 * the database; the next run archives them again); the purge never happens
 * without its archive on disk. At most max_rows things per class per run:
 * `more` in the report says the rest waits for the next run.
 *
 * Several instances: a run takes a transaction-level advisory lock; a second
 * run meanwhile returns HG_RETENTION_BUSY at once. With min_interval, a run
 * that finds a 'retention.run' audit row younger than that returns
 * HG_RETENTION_RECENT (so instances that all schedule a daily run do the
 * work once).
 *
 * A dry run takes no lock, writes no file and changes nothing (no audit
 * row): it reports what a run at NOW would archive and purge.
 *
 * Ownership: hg_retention_report_free() releases what a report holds (it is
 * the caller's struct, filled by hg_retention_run()). Errors: -1 with
 * *error_r set (caller frees); nothing was purged then.
 */
#ifndef HELPGATE_RETENTION_H
#define HELPGATE_RETENTION_H

#include <stdbool.h>
#include <time.h>

struct hg_store;
struct hg_config;

enum hg_retention_class { HG_RETENTION_TICKETS, HG_RETENTION_ATTACHMENTS, HG_RETENTION_RAW };
#define HG_RETENTION_CLASSES 3

struct hg_retention_settings {
    int days[HG_RETENTION_CLASSES]; /* per class; 0 keeps forever */
    const char *archive_dir;        /* created (0700) when missing */
    const char *actor;              /* of the audit row: "system", "ctl:alice"; NULL = "system" */
    int max_rows;                   /* most tickets, contents or raw sources per class and run; 0 = 10000 */
    int min_interval;               /* seconds; 0 = run whenever asked */
};

enum hg_retention_outcome {
    HG_RETENTION_DONE,   /* ran (or, dry, reported) */
    HG_RETENTION_BUSY,   /* another run holds the lock; nothing done */
    HG_RETENTION_RECENT, /* a run finished less than min_interval ago; nothing done */
};

struct hg_retention_class_report {
    bool enabled;           /* days > 0 */
    time_t cutoff;          /* older than this is due */
    long long rows;         /* tickets / contents / raw sources archived and purged (dry: due) */
    long long bytes;        /* raw, attachments: content bytes; tickets: bytes of JSON archived */
    bool more;              /* more was due than max_rows: the next run goes on */
    char *archive_path;     /* the file written, or NULL */
    long long archive_size; /* its size on disk (compressed) */
};

struct hg_retention_report {
    enum hg_retention_outcome outcome;
    bool dry_run;
    struct hg_retention_class_report classes[HG_RETENTION_CLASSES];
    long long db_size_before, db_size_after; /* pg_database_size(), bytes */
    long long audit_id;                      /* the 'retention.run' row (0 when none) */
};

/* The settings [retention] gives (actor "system", max_rows and min_interval 0). */
void hg_retention_settings_from_config(const struct hg_config *cfg, struct hg_retention_settings *settings);

/* "tickets", "attachments", "raw". */
const char *hg_retention_class_name(enum hg_retention_class c);

/*
 * One run at NOW (the clock is the caller's: tests pass their own). Fills
 * *REPORT (release it with hg_retention_report_free() whatever the result).
 * 0 on success (see report->outcome), -1 with *error_r.
 */
int hg_retention_run(struct hg_store *store, const struct hg_retention_settings *settings, bool dry_run,
                     time_t now, struct hg_retention_report *report, char **error_r);

void hg_retention_report_free(struct hg_retention_report *report);

#endif
