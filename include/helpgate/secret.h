/*
 * secret.h — read a secret (password, token, HMAC key) from its file.
 *
 * The file must be a regular file of at most 64 KiB; one trailing newline
 * (LF or CRLF) is removed. A file that others can read is accepted but
 * reported through *warning_r so check-config can say so.
 *
 * Ownership: *value_r is the caller's; release it with hg_secret_free(),
 * which wipes it before freeing. *error_r and *warning_r are the caller's
 * (free()). Returns 0, or -1 with *error_r set (never containing the value).
 */
#ifndef HELPGATE_SECRET_H
#define HELPGATE_SECRET_H

int hg_secret_read_file(const char *path, char **value_r, char **warning_r, char **error_r);
void hg_secret_free(char **value);

#endif
