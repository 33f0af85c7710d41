/*
 * readfile.h — read a whole (small) file into memory with a size limit.
 *
 * For files helpgate reads at start or reload (configuration, rules, lists,
 * time zones). Returns 0 with *DATA_R (a new NUL-terminated buffer the caller
 * frees; the NUL is not counted in *LEN_R), or -1 with *ERROR_R (new, caller
 * frees) naming the path and the reason: cannot open, cannot read, larger
 * than MAX bytes.
 */
#ifndef HELPGATE_READFILE_H
#define HELPGATE_READFILE_H

#include <stddef.h>

int hg_read_file(const char *path, size_t max, char **data_r, size_t *len_r, char **error_r);

#endif
