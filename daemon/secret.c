/*
 * secret.c — read secrets from files, never echo them (see secret.h).
 */
#include "helpgate/secret.h"

#include "helpgate/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX 65536

int hg_secret_read_file(const char *path, char **value_r, char **warning_r, char **error_r)
{
    *value_r = NULL;
    if (warning_r)
        *warning_r = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *error_r = hg_xasprintf("cannot open secret file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *error_r = hg_xasprintf("secret file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_size > SECRET_MAX) {
        *error_r = hg_xasprintf("secret file %s is larger than %d bytes", path, SECRET_MAX);
        close(fd);
        return -1;
    }
    char *value = hg_xmalloc((size_t)st.st_size + 1);
    size_t len = 0;
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, value + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    value[len] = '\0';
    if (len > 0 && value[len - 1] == '\n')
        value[--len] = '\0';
    if (len > 0 && value[len - 1] == '\r')
        value[--len] = '\0';
    if (len == 0) {
        hg_secret_free(&value);
        *error_r = hg_xasprintf("secret file %s is empty", path);
        return -1;
    }
    if (warning_r && (st.st_mode & 0077) != 0)
        *warning_r = hg_xasprintf("secret file %s can be read by other users (mode %03o); run chmod 600 %s",
                                  path, (unsigned)(st.st_mode & 0777), path);
    *value_r = value;
    return 0;
}

void hg_secret_free(char **value)
{
    if (*value == NULL)
        return;
    explicit_bzero(*value, strlen(*value));
    free(*value);
    *value = NULL;
}
