/*
 * log.c — key=value event lines on stderr (see log.h).
 */
#include "helpgate/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define QUOTE_SLOTS 16
#define QUOTE_VALUE_MAX 256

static enum hg_log_level min_level = HG_LOG_INFO;
static char log_prefix[256];
static int level_from_env_done;

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal", "panic"};

void hg_log_set_level(enum hg_log_level level)
{
    min_level = level;
    level_from_env_done = 1;
}

void hg_log_set_prefix(const char *prefix)
{
    snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

static void level_from_env(void)
{
    if (level_from_env_done)
        return;
    level_from_env_done = 1;
    const char *debug = getenv("HELPGATE_DEBUG");
    if (debug != NULL && debug[0] != '\0' && strcmp(debug, "0") != 0)
        min_level = HG_LOG_DEBUG;
}

void hg_log(enum hg_log_level level, const char *event, const char *fmt, ...)
{
    level_from_env();
    if (level < min_level)
        return;

    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof(line), "level=%s event=%s", level_names[level], event);
    if (log_prefix[0] != '\0' && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %s", log_prefix);
    if (fmt != NULL && fmt[0] != '\0' && n < (int)sizeof(line) - 1) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored;
}

static int needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            return 1;
    }
    return 0;
}

const char *hg_log_quote(const char *value)
{
    static _Thread_local char slots[QUOTE_SLOTS][QUOTE_VALUE_MAX + 8];
    static _Thread_local unsigned next_slot;
    char *out = slots[next_slot++ % QUOTE_SLOTS];

    if (value == NULL)
        return "-";
    if (!needs_quotes(value) && strlen(value) <= QUOTE_VALUE_MAX)
        return value;

    size_t o = 0;
    out[o++] = '"';
    for (const char *s = value; *s && o < QUOTE_VALUE_MAX; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out[o++] = '\\';
            out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < ' ' || c == 0x7f) {
            out[o++] = '?';
        } else {
            out[o++] = (char)c;
        }
        if (s[1] != '\0' && o >= QUOTE_VALUE_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}
