/*
 * testdata.h — helpers for data-driven unit tests: read a case file, list the
 * cases of a directory, and make CRLF variants. Header-only (static), for
 * tests/unit/ programs; everything returned is the caller's to free().
 */
#ifndef HELPGATE_TESTS_TESTDATA_H
#define HELPGATE_TESTS_TESTDATA_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text {
    char *data;
    size_t len;
};

__attribute__((unused)) static struct text read_file(const char *path)
{
    struct text t = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return t;
    size_t cap = 4096;
    t.data = malloc(cap);
    size_t n;
    while (t.data != NULL && (n = fread(t.data + t.len, 1, cap - t.len, f)) > 0) {
        t.len += n;
        if (t.len == cap)
            t.data = realloc(t.data, cap *= 2);
    }
    fclose(f);
    if (t.data != NULL)
        t.data[t.len] = '\0';
    return t;
}

/* DIR/NAME+EXT in a new string. */
__attribute__((unused)) static char *file_path(const char *dir, const char *name, const char *ext)
{
    size_t len = strlen(dir) + 1 + strlen(name) + strlen(ext) + 1;
    char *path = malloc(len);
    snprintf(path, len, "%s/%s%s", dir, name, ext);
    return path;
}

__attribute__((unused)) static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAMEs of DIR/NAME.EXT, sorted; *COUNT set. */
__attribute__((unused)) static char **list_cases(const char *dir, const char *ext, size_t *count)
{
    char **names = NULL;
    size_t n = 0, ext_len = strlen(ext);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= ext_len || strcmp(e->d_name + len - ext_len, ext) != 0)
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strndup(e->d_name, len - ext_len);
    }
    if (d != NULL)
        closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, compare_names);
    *count = n;
    return names;
}

__attribute__((unused)) static char *strip_trailing_newlines(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

__attribute__((unused)) static struct text to_crlf(const struct text in)
{
    struct text out = {malloc(2 * in.len + 1), 0};
    for (size_t i = 0; i < in.len; i++) {
        if (in.data[i] == '\n')
            out.data[out.len++] = '\r';
        out.data[out.len++] = in.data[i];
    }
    out.data[out.len] = '\0';
    return out;
}

#endif
