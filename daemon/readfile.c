/*
 * readfile.c — whole small files into memory, bounded (see readfile.h).
 */
#include "helpgate/readfile.h"

#include "helpgate/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hg_read_file(const char *path, size_t max, char **data_r, size_t *len_r, char **error_r)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *error_r = hg_xasprintf("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = max < 65536 ? max + 1 : 65536, len = 0;
    char *data = hg_xmalloc(cap + 1);
    for (;;) {
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (len > max || n == 0)
            break;
        if (len == cap) {
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            data = hg_xrealloc(data, cap + 1);
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed || len > max) {
        *error_r = failed ? hg_xasprintf("cannot read %s", path)
                          : hg_xasprintf("%s is larger than %zu bytes", path, max);
        free(data);
        return -1;
    }
    data[len] = '\0';
    *data_r = data;
    *len_r = len;
    return 0;
}
