/*
 * csv.c — one CSV field, quoted as RFC 4180 says and defused for spreadsheets (see csv.h).
 */
#include "helpgate/csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number as a spreadsheet reads one: optional sign, digits, optional fraction. */
static bool is_number(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    bool digits = false;
    while (*s >= '0' && *s <= '9') {
        s++;
        digits = true;
    }
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            digits = true;
    return digits && *s == '\0';
}

static bool may_run_as_formula(const char *s)
{
    return s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL && !is_number(s);
}

int hg_csv_append_field(struct hg_buf *out, const char *s)
{
    if (s == NULL)
        s = "";
    const char *guard = may_run_as_formula(s) ? "'" : "";
    if (strpbrk(s, ",\"\r\n") == NULL)
        return hg_buf_printf(out, "%s%s", guard, s);
    int rc = hg_buf_append_char(out, '"');
    if (rc == 0)
        rc = hg_buf_append_str(out, guard);
    for (; *s != '\0' && rc == 0; s++)
        rc = *s == '"' ? hg_buf_append_str(out, "\"\"") : hg_buf_append_char(out, *s);
    return rc == 0 ? hg_buf_append_char(out, '"') : rc;
}
