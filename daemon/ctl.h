/*
 * ctl.h — what the files of helpgatectl share: the command context, loading
 * the configuration and connecting to PostgreSQL with errors explained to
 * the operator, and the commands implemented outside helpgatectl.c.
 * Exit status convention: 0 done, 1 failed (database, files), 2 bad usage or
 * invalid input.
 */
#ifndef HELPGATE_DAEMON_CTL_H
#define HELPGATE_DAEMON_CTL_H

#include "helpgate/config.h"
#include "helpgate/store.h"

#include <stdbool.h>

#define EXIT_USAGE 2

struct ctl {
    const char *config_path; /* --config, or NULL for the default */
};

/* Prints every error (and warnings when asked); NULL when the file is invalid. The caller frees. */
struct hg_config *load_config_or_explain(const char *path, bool show_warnings);
/* Prints why and a hint when it fails. The caller frees. */
struct hg_store *connect_or_explain(const struct hg_config *cfg);

/* ctl_people.c */
int cmd_agent(struct ctl *ctl, int argc, char **argv);
int cmd_customer(struct ctl *ctl, int argc, char **argv);

#endif
