/*
 * rules_file.h — load the rules file named by the configuration.
 *
 * hg_rules_load() reads PATH (at most 4 MiB), list files it names (relative
 * paths are relative to PATH's directory) and time zones (from $TZDIR or
 * /usr/share/zoneinfo), and parses them with hg_rules_parse(). Errors are
 * collected in ERRORS (the caller owns them, see rules.h); a file that cannot
 * be read is one error with line 0.
 *
 * hg_rules_load_configured() is what helpgated and helpgatectl do with the
 * configured path: when it is the default path and that file does not exist,
 * there are no rules (every ticket goes to L1) and *MISSING_R says so; any
 * other missing file is an error.
 *
 * Ownership: the returned rule set is the caller's (hg_rules_free()).
 */
#ifndef HELPGATE_RULES_FILE_H
#define HELPGATE_RULES_FILE_H

#include "helpgate/rules.h"

#include <stdbool.h>

struct hg_rules *hg_rules_load(const char *path, struct hg_rules_errors *errors);

/* Returns 0 (with *RULES_R, NULL when the default file is missing) or -1 with ERRORS filled in. */
int hg_rules_load_configured(const char *path, struct hg_rules **rules_r, bool *missing_r,
                             struct hg_rules_errors *errors);

/* The path helpgate uses when rules_file is not set. */
const char *hg_rules_default_path(void);

#endif
