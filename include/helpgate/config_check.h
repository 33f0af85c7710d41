/*
 * config_check.h — load helpgate.conf from disk and check what the pure parser
 * cannot: that the files it names exist and can be read (secrets, rules,
 * templates, TLS certificates).
 *
 * Ownership: returns a config the caller frees with hg_config_free(), or NULL
 * when there were errors. ERRORS and WARNINGS are the caller's
 * (hg_config_errors_init before, hg_config_errors_free after); format them
 * with hg_config_error_format(). A file that cannot be read at all is one
 * error with line 0.
 */
#ifndef HELPGATE_CONFIG_CHECK_H
#define HELPGATE_CONFIG_CHECK_H

#include "helpgate/config.h"

/* The config path: PATH if given, else $HELPGATE_CONFIG, else HG_SYSCONFDIR/helpgate.conf. */
const char *hg_config_default_path(const char *path);

struct hg_config *hg_config_load(const char *path, struct hg_config_errors *errors,
                                 struct hg_config_errors *warnings);

#endif
