/*
 * ctl.h — what the files of helpgatectl share: the command context, loading
 * the configuration and connecting to PostgreSQL with errors explained to
 * the operator, the database session of a command, and the commands
 * implemented outside helpgatectl.c.
 * Exit status convention: 0 done, 1 failed (database, files), 2 bad usage or
 * invalid input (an unknown ticket, agent or customer included).
 */
#ifndef HELPGATE_DAEMON_CTL_H
#define HELPGATE_DAEMON_CTL_H

#include "helpgate/config.h"
#include "helpgate/store.h"
#include "store_pg.h"

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define EXIT_USAGE 2

struct ctl {
    const char *config_path; /* --config, or NULL for the default */
};

/* Prints every error (and warnings when asked); NULL when the file is invalid. The caller frees. */
struct hg_config *load_config_or_explain(const char *path, bool show_warnings);
/* Prints why and a hint when it fails. The caller frees. */
struct hg_store *connect_or_explain(const struct hg_config *cfg);

/*
 * ctl_session.c — the database session of one command: the configuration,
 * the connection (client encoding UTF-8) and who runs it. Every change is
 * one parameterized statement that also writes its audit row with the
 * session's actor, so a change without its audit row cannot happen.
 */
struct ctl_session {
    struct hg_config *cfg;
    struct hg_store *store;
    char user[96];   /* the operator: the sudo user when there is one */
    char actor[128]; /* "ctl:USER", the audit log's actor */
};

/* 0, or the exit status after saying why (2: configuration invalid, 1: no connection). */
int ctl_session_open(struct ctl *ctl, struct ctl_session *s);
void ctl_session_close(struct ctl_session *s);

/*
 * Runs SQL with text parameters; the result (the caller PQclear()s), or NULL
 * after printing the server's message, with *rc_r set to the exit status:
 * EXIT_USAGE when the database refused the input (see ctl_exit_status), else 1.
 */
PGresult *ctl_query(struct ctl_session *s, const char *sql, int n, const char *const *params, int *rc_r);
/*
 * Runs SQL that returns one row per thing changed; prints WHAT_DONE when it
 * changed something, NOT_FOUND (exit 2) when nothing, DUPLICATE (exit 2, or
 * the server's message when NULL) on a unique violation.
 */
int ctl_change(struct ctl_session *s, const char *sql, int n, const char *const *params,
               const char *what_done, const char *not_found, const char *duplicate);
/* The exit status for a failed statement's SQLSTATE: 2 when the input was wrong
 * (no_data_found, data exceptions, integrity violations), else 1. */
int ctl_exit_status(const char *sqlstate);

/* The operator's text argument, or standard input for "-" (at most MAX bytes,
 * trailing newlines removed). NULL after saying why; the caller frees. */
char *ctl_text_arg(const char *command, const char *arg, size_t max);

bool ctl_valid_address(const char *s);
bool ctl_valid_team(const char *s); /* L1, L2, L3 */

/* ctl_people.c */
int cmd_agent(struct ctl *ctl, int argc, char **argv);
int cmd_customer(struct ctl *ctl, int argc, char **argv);

/* ctl_tickets.c */
int cmd_ticket(struct ctl *ctl, int argc, char **argv);

/* ctl_sla.c */
int cmd_sla(struct ctl *ctl, int argc, char **argv);

/* helpgatectl.c: "2026-11-23T10:00:00Z", "...+01:00", "2026-11-23 10:00" (UTC) or "now"; false when
 * malformed. */
bool ctl_parse_when(const char *text, int64_t *epoch_r);

#endif
