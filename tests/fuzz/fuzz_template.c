/*
 * fuzz_template.c — libFuzzer target for the mail templates (parsers/template.c).
 *
 * Compiles the input twice: with the daemon's variable names (so the
 * unknown-name errors and their suggestions run) and with any name accepted
 * (so more inputs compile). Formats every error, renders what compiles with
 * a fixed set of hostile values (CR/LF, control characters, bytes that are
 * not UTF-8, a value longer than the limits) under small limits, and aborts
 * when a promise of template.h is broken: a template comes back exactly when
 * there is no error; the subject is one trimmed line of UTF-8 without
 * control characters or double spaces, within max_subject; the body is UTF-8
 * without CR, within max_body. The input's first line is also tried as
 * "NAME LANG" with hg_template_choose(), which must return one of the files
 * or NULL, and NULL for a name that is not valid.
 * Seeds: tests/fuzz/seeds/template/, contrib/templates/, tests/data/templates/.
 */
#include "helpgate/charset.h"
#include "helpgate/template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_SUBJECT = 80, MAX_BODY = 4096 };

static const char *const known[] = {
    "ticket",        "ticket_tag", "subject",  "customer.name", "customer.email",
    "customer.tier", "tier",       "priority", "queue",         "response_time",
    "reason",        "notes",      "message",  "channel",       "support_address",
};

static char long_value[MAX_BODY + 100];

static void check_subject(const struct hg_template_output *out)
{
    const unsigned char *s = (const unsigned char *)out->subject;
    size_t n = out->subject_len;
    if (n > MAX_SUBJECT || strlen(out->subject) != n || !hg_utf8_valid(s, n))
        abort();
    if (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f || (s[i] == ' ' && i + 1 < n && s[i + 1] == ' '))
            abort();
        if (s[i] == 0xC2 && i + 1 < n && s[i + 1] < 0xA0) /* C1 controls */
            abort();
        if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))
            abort();
    }
    /* Cut only at the limit: at most a character (3 bytes) and the space before it are lost. */
    if ((out->flags & HG_TEMPLATE_SUBJECT_CUT) && n + 4 < MAX_SUBJECT)
        abort();
}

static void check_body(const struct hg_template_output *out)
{
    if (out->body_len > MAX_BODY || strlen(out->body) != out->body_len ||
        !hg_utf8_valid(out->body, out->body_len) || memchr(out->body, '\r', out->body_len) != NULL)
        abort();
    if ((out->flags & HG_TEMPLATE_BODY_CUT) && out->body_len + 3 < MAX_BODY)
        abort(); /* at most a character is lost */
}

static void render(const struct hg_template *t)
{
    struct hg_template_var vars[] = {
        {"ticket", "1234"},
        {"ticket_tag", "[#1234]\r\nBcc: x@example.com"},
        {"subject", "Re: \xff\xfe \t\x01 \xc2\x85\xe2\x80\xa8 end  "},
        {"customer.name", "Ann\r\nExample \xed\xa0\x80"},
        {"customer.tier", "false"},
        {"tier", "L2"},
        {"queue", "  "},
        {"notes", "0"},
        {"message", long_value},
        {"channel", "email"},
        {"Support_Address", "support@example.com"},
        {"a", "yes"},
        {"b", ""},
    };
    struct hg_template_output out;
    hg_template_render(t, vars, sizeof vars / sizeof vars[0], &out);
    check_subject(&out);
    check_body(&out);
    hg_template_output_free(&out);
    hg_template_render(t, NULL, 0, &out);
    check_subject(&out);
    check_body(&out);
    hg_template_output_free(&out);
}

static void compile(const uint8_t *data, size_t size, const char *const *names, size_t n_names)
{
    struct hg_template_errors errors;
    hg_template_errors_init(&errors);
    struct hg_template_limits limits = {.max_subject = MAX_SUBJECT, .max_body = MAX_BODY, .max_depth = 8};
    struct hg_template *t = hg_template_compile((const char *)data, size, names, n_names, &limits, &errors);
    if ((t == NULL) != (errors.count > 0) || errors.count > 101)
        abort();
    for (size_t i = 0; i < errors.count; i++) {
        char *e = hg_template_error_format(&errors, i, "fuzz.tmpl");
        if (!hg_utf8_valid(e, strlen(e)))
            abort();
        free(e);
    }
    if (t != NULL)
        render(t);
    hg_template_free(&t);
    if (t != NULL)
        abort();
    hg_template_errors_free(&errors);
}

static void choose(const uint8_t *data, size_t size)
{
    static const char *const files[] = {"default.tmpl", "default.de.tmpl", "default.de-CH.tmpl",
                                        "vip.tmpl",     "x.y.tmpl",        "a.b.c.tmpl",
                                        ".tmpl",        "..tmpl"};
    char line[128];
    size_t n = 0;
    while (n < size && n < sizeof line - 1 && data[n] != '\n')
        n++;
    memcpy(line, data, n);
    line[n] = '\0';
    if (strlen(line) != n)
        return;
    char *space = strchr(line, ' ');
    const char *langs[2] = {NULL, "de"};
    if (space != NULL) {
        *space = '\0';
        langs[0] = space + 1;
    }
    const char *got = hg_template_choose(line, langs, 2, files, sizeof files / sizeof files[0]);
    if (got == NULL)
        return;
    bool found = false;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        found = found || got == files[i];
    if (!found || !hg_template_name_valid(line) || strncmp(got, line, strlen(line)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (long_value[0] == '\0') {
        for (size_t i = 0; i + 3 < sizeof long_value; i += 3)
            memcpy(long_value + i, i % 300 == 0 ? "\r\n " : "\xe2\x82\xac", 3);
    }
    compile(data, size, known, sizeof known / sizeof known[0]);
    compile(data, size, NULL, 0);
    choose(data, size);
    return 0;
}
