/*
 * test-template.c — unit tests of the mail templates (parsers/template.c).
 *
 * Data-driven: tests/data/templates/render/NAME.tmpl is compiled with the
 * daemon's variable names (plus those NAME.vars names), rendered with the
 * sample values below as changed by NAME.vars, and compared with NAME.ref
 * ("Subject: ...", a "Flags: ..." line when a flag is set, a blank line, the
 * body byte for byte); the same file with CRLF line ends must render the
 * same. NAME.vars holds "name=value" lines (\n, \r, \t, \\ and \xHH are
 * escapes) and "name" lines, which remove the variable.
 * tests/data/templates/errors/NAME.tmpl beside NAME.ref: every error as
 * `FILE:LINE:COL: message` and its hint. The shipped templates in
 * contrib/templates/ must compile with the daemon's variables, and the man
 * page must name every variable and show default.tmpl and notify.tmpl.
 * Table-driven: rendering, errors, choosing a file, limits and hostile
 * input. The source tree is found through $top_srcdir.
 */
#include "helpgate/template.h"

#include "helpgate/charset.h"

#include "tap.h"
#include "testdata.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* The names helpgated provides (template.h, helpgate.templates(5)). */
static const char *const daemon_vars[] = {
    "ticket",  "ticket_tag", "subject",         "customer.name", "customer.email", "customer.tier",
    "tier",    "priority",   "queue",           "response_time", "reason",         "notes",
    "message", "channel",    "support_address", "sla.event",     "sla.target",     "sla.due",
};
#define N_DAEMON_VARS (sizeof daemon_vars / sizeof daemon_vars[0])

static const struct hg_template_var sample_vars[] = {
    {"ticket", "1234"},
    {"ticket_tag", "[#1234]"},
    {"subject", "Printer on fire"},
    {"customer.name", "Ann Example"},
    {"customer.email", "ann@example.com"},
    {"customer.tier", "vip"},
    {"tier", "L2"},
    {"priority", "high"},
    {"queue", "hardware"},
    {"response_time", "4 hours"},
    {"reason", "Custom code goes to L2"},
    {"notes", "Uses the 2019 API; ask Bob."},
    {"message", "Hello,\nthe printer in room 12 is on fire.\n\nAnn"},
    {"channel", "email"},
    {"support_address", "support@helpdesk.example"},
};
#define N_SAMPLE_VARS (sizeof sample_vars / sizeof sample_vars[0])

static char *source_path(const char *sub)
{
    const char *top = getenv("top_srcdir");
    size_t len = strlen(top != NULL ? top : ".") + strlen(sub) + 2;
    char *path = malloc(len);
    snprintf(path, len, "%s/%s", top != NULL ? top : ".", sub);
    return path;
}

/* ------------------------------------------------------------------------ */
/* Variables.                                                              */

enum { MAX_VARS = 64 };

/* A set of variables the test owns; a NULL value is "no value". */
struct varset {
    char *names[MAX_VARS];
    char *values[MAX_VARS];
    size_t n;
    struct hg_template_var items[MAX_VARS];
};

static void vs_set(struct varset *v, const char *name, const char *value)
{
    size_t i = 0;
    while (i < v->n && strcmp(v->names[i], name) != 0)
        i++;
    if (i == v->n) {
        if (v->n == MAX_VARS)
            return;
        v->names[v->n++] = strdup(name);
        v->values[i] = NULL;
    }
    free(v->values[i]);
    v->values[i] = value != NULL ? strdup(value) : NULL;
}

static void vs_init(struct varset *v, bool with_sample)
{
    memset(v, 0, sizeof(*v));
    for (size_t i = 0; with_sample && i < N_SAMPLE_VARS; i++)
        vs_set(v, sample_vars[i].name, sample_vars[i].value);
}

static const struct hg_template_var *vs_items(struct varset *v)
{
    for (size_t i = 0; i < v->n; i++)
        v->items[i] = (struct hg_template_var){v->names[i], v->values[i]};
    return v->items;
}

static void vs_free(struct varset *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->names[i]);
        free(v->values[i]);
    }
    v->n = 0;
}

static int hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Applies "name=value" / "name" lines (escapes: \n \r \t \\ \xHH) to V. */
static void vs_parse(struct varset *v, const char *spec)
{
    while (spec != NULL && *spec != '\0') {
        const char *eol = strchr(spec, '\n');
        size_t n = eol != NULL ? (size_t)(eol - spec) : strlen(spec);
        char *line = strndup(spec, n);
        spec = eol != NULL ? eol + 1 : NULL;
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            if (line[0] != '\0')
                vs_set(v, line, NULL);
            free(line);
            continue;
        }
        *eq = '\0';
        char *value = malloc(strlen(eq + 1) + 1), *o = value;
        for (const char *s = eq + 1; *s != '\0'; s++) {
            if (*s != '\\' || s[1] == '\0') {
                *o++ = *s;
                continue;
            }
            s++;
            if (*s == 'n')
                *o++ = '\n';
            else if (*s == 'r')
                *o++ = '\r';
            else if (*s == 't')
                *o++ = '\t';
            else if (*s == 'x' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
                *o++ = (char)(hex(s[1]) * 16 + hex(s[2]));
                s += 2;
            } else
                *o++ = *s;
        }
        *o = '\0';
        vs_set(v, line, value);
        free(value);
        free(line);
    }
}

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                */

/* All errors, formatted and joined with newlines ("" when there is none). */
static char *format_errors(const struct hg_template_errors *errors, const char *filename)
{
    size_t len = 0;
    char *all = calloc(1, 1);
    for (size_t i = 0; i < errors->count; i++) {
        char *line = hg_template_error_format(errors, i, filename);
        all = realloc(all, len + strlen(line) + 2);
        len += (size_t)sprintf(all + len, "%s\n", line);
        free(line);
    }
    return all;
}

static char *errors_of(const char *text, size_t len, const char *filename,
                       const struct hg_template_limits *lim)
{
    struct hg_template_errors errors;
    hg_template_errors_init(&errors);
    struct hg_template *t = hg_template_compile(text, len, daemon_vars, N_DAEMON_VARS, lim, &errors);
    char *all = format_errors(&errors, filename);
    if ((t == NULL) != (errors.count > 0)) {
        free(all);
        all = strdup("(a template and errors, or neither)");
    }
    hg_template_free(&t);
    hg_template_errors_free(&errors);
    return all;
}

static char *flags_text(unsigned flags)
{
    char buf[128] = "";
    if (flags & HG_TEMPLATE_SUBJECT_CUT)
        strcat(buf, " subject-cut");
    if (flags & HG_TEMPLATE_BODY_CUT)
        strcat(buf, " body-cut");
    if (flags & HG_TEMPLATE_REPAIRED)
        strcat(buf, " repaired");
    return strdup(buf[0] != '\0' ? buf + 1 : "");
}

/* "Subject: S\n[Flags: F\n]\nBODY" */
static char *output_text(const struct hg_template_output *out)
{
    char *flags = flags_text(out->flags);
    size_t len = out->subject_len + out->body_len + strlen(flags) + 32;
    char *s = malloc(len);
    int n = snprintf(s, len, "Subject: %s\n", out->subject);
    if (flags[0] != '\0')
        n += snprintf(s + n, len - (size_t)n, "Flags: %s\n", flags);
    snprintf(s + n, len - (size_t)n, "\n%s", out->body);
    free(flags);
    return s;
}

/* Compiles TEXT with KNOWN (NULL: any name) and renders it with V; the output text or the errors. */
static char *render_text(const char *text, size_t len, const char *const *known, size_t n_known,
                         struct varset *v, const struct hg_template_limits *lim)
{
    struct hg_template_errors errors;
    hg_template_errors_init(&errors);
    struct hg_template *t = hg_template_compile(text, len, known, n_known, lim, &errors);
    char *result;
    if (t == NULL) {
        result = format_errors(&errors, "t.tmpl");
    } else {
        struct hg_template_output out;
        hg_template_render(t, vs_items(v), v->n, &out);
        result = output_text(&out);
        hg_template_output_free(&out);
    }
    hg_template_free(&t);
    hg_template_errors_free(&errors);
    return result;
}

/* True when S (LEN bytes) is a subject as promised: UTF-8, no control characters, trimmed. */
static bool subject_clean(const char *s, size_t len)
{
    if (!hg_utf8_valid(s, len) || strlen(s) != len)
        return false;
    if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] < 0xA0) ||
            (c == ' ' && i + 1 < len && s[i + 1] == ' ') ||
            (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
             ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)))
            return false;
    }
    return true;
}

static bool body_clean(const char *s, size_t len)
{
    return hg_utf8_valid(s, len) && strlen(s) == len && memchr(s, '\r', len) == NULL;
}

/* TEXT on one line, for a TAP label (a static buffer). */
static const char *one_line(const char *text)
{
    static char label[120];
    size_t n = 0;
    for (; *text != '\0' && n + 4 < sizeof label; text++)
        if (*text == '\n') {
            label[n++] = '\\';
            label[n++] = 'n';
        } else {
            label[n++] = (unsigned char)*text < 0x20 ? '?' : *text;
        }
    label[n] = '\0';
    return label;
}

/* ------------------------------------------------------------------------ */
/* Cases from files.                                                       */

static void test_render_files(void)
{
    char *dir = source_path("tests/data/templates/render");
    size_t n;
    char **names = list_cases(dir, ".tmpl", &n);
    ok(n >= 10, "found %zu render cases in %s", n, dir);
    for (size_t i = 0; i < n; i++) {
        char *path = file_path(dir, names[i], ".tmpl"), *ref_path = file_path(dir, names[i], ".ref"),
             *vars_path = file_path(dir, names[i], ".vars");
        struct text src = read_file(path), ref = read_file(ref_path), vars = read_file(vars_path);
        struct varset v;
        vs_init(&v, true);
        vs_parse(&v, vars.data);
        /* Known: the daemon's names and those of the .vars file. */
        const char *known[N_DAEMON_VARS + MAX_VARS];
        size_t n_known = 0;
        for (size_t k = 0; k < N_DAEMON_VARS; k++)
            known[n_known++] = daemon_vars[k];
        for (size_t k = N_SAMPLE_VARS; k < v.n; k++)
            known[n_known++] = v.names[k];
        char *got = render_text(src.data != NULL ? src.data : "", src.len, known, n_known, &v, NULL);
        char label[300];
        snprintf(label, sizeof label, "rendering of %s.tmpl", names[i]);
        is_str(got, ref.data != NULL ? ref.data : "(missing .ref)", label);
        struct text crlf = to_crlf(src);
        char *got_crlf = render_text(crlf.data, crlf.len, known, n_known, &v, NULL);
        snprintf(label, sizeof label, "%s.tmpl with CRLF line ends renders the same", names[i]);
        is_str(got_crlf, got, label);
        free(got_crlf);
        free(crlf.data);
        free(got);
        vs_free(&v);
        free(src.data);
        free(ref.data);
        free(vars.data);
        free(path);
        free(ref_path);
        free(vars_path);
        free(names[i]);
    }
    free(names);
    free(dir);
}

static void test_error_files(void)
{
    char *dir = source_path("tests/data/templates/errors");
    size_t n;
    char **names = list_cases(dir, ".tmpl", &n);
    ok(n >= 10, "found %zu error cases in %s", n, dir);
    for (size_t i = 0; i < n; i++) {
        char *path = file_path(dir, names[i], ".tmpl"), *ref_path = file_path(dir, names[i], ".ref");
        struct text src = read_file(path), ref = read_file(ref_path);
        char filename[256], label[300];
        snprintf(filename, sizeof filename, "%s.tmpl", names[i]);
        char *got = errors_of(src.data != NULL ? src.data : "", src.len, filename, NULL);
        snprintf(label, sizeof label, "errors of %s", filename);
        is_str(got, ref.data != NULL ? ref.data : "(missing .ref)", label);
        /* Every prefix fails or compiles, without a crash, and a template comes back exactly without errors.
         */
        bool consistent = true;
        for (size_t len = 0; len < src.len; len++) {
            char *e = errors_of(src.data, len, filename, NULL);
            consistent = consistent && strncmp(e, "(a template", 11) != 0;
            free(e);
        }
        ok(consistent, "every prefix of %s compiles or fails cleanly", filename);
        free(got);
        free(src.data);
        free(ref.data);
        free(path);
        free(ref_path);
        free(names[i]);
    }
    free(names);
    free(dir);
}

/* The shipped templates compile with the daemon's variables and render sensibly. */
static void test_contrib_templates(void)
{
    char *dir = source_path("contrib/templates");
    size_t n;
    char **names = list_cases(dir, ".tmpl", &n);
    static const char *const expected[] = {"after-hours", "chat", "default", "default.de",
                                           "notify",      "sla",  "vip"};
    const char *files[16];
    ok(n == sizeof expected / sizeof expected[0], "contrib/templates holds %zu templates", n);
    static const struct {
        const char *file;
        const char *subject;
        const char *in_body;
    } checks[] = {
        {"default", "Re: Printer on fire [#1234]", "Dear Ann Example,\n\nthank you for your message."},
        {"default", NULL, "\nYou will hear from us within 4 hours.\n\nIf you have"},
        {"default.de", "Re: Printer on fire [#1234]", "Guten Tag Ann Example,\n\nvielen Dank"},
        {"default.de", NULL, "innerhalb von 4 hours von uns.\n"},
        {"vip", "Re: Printer on fire [#1234]", "member of our\nL2 support team"},
        {"chat", "Re: Printer on fire [#1234]",
         "Hello Ann Example, thanks for your message! Your ticket number is [#1234]. We will answer "
         "within 4 hours.\n"},
        {"after-hours", "Re: Printer on fire [#1234]", "day, within 4 hours of our opening time.\n"},
        {"notify", "[L2] [#1234] Printer on fire", "New high ticket [#1234] for L2, queue hardware.\n"},
        {"notify", NULL, "From:      Ann Example <ann@example.com>\n"},
        {"notify", NULL, "Notes on the customer's custom code:\nUses the 2019 API; ask Bob.\n"},
        {"notify", NULL, "---\nHello,\nthe printer in room 12 is on fire.\n\nAnn\n---"},
    };
    for (size_t i = 0; i < n; i++) {
        ok(i < sizeof expected / sizeof expected[0] && strcmp(names[i], expected[i]) == 0, "%s.tmpl ships",
           names[i]);
        char *path = file_path(dir, names[i], ".tmpl");
        struct text src = read_file(path);
        char filename[256];
        snprintf(filename, sizeof filename, "%s.tmpl", names[i]);
        char *errors = errors_of(src.data != NULL ? src.data : "", src.len, filename, NULL);
        char label[300];
        snprintf(label, sizeof label, "%s compiles with the daemon's variables", filename);
        is_str(errors, "", label);
        free(errors);
        struct hg_template_errors errs;
        hg_template_errors_init(&errs);
        struct hg_template *t =
            hg_template_compile(src.data, src.len, daemon_vars, N_DAEMON_VARS, NULL, &errs);
        for (int pass = 0; t != NULL && pass < 2; pass++) {
            /* Pass 0: every variable set; pass 1: only the ticket (a new customer, nothing known). */
            struct varset v;
            vs_init(&v, pass == 0);
            if (pass == 1)
                vs_parse(&v, "ticket=7\nticket_tag=[#7]");
            struct hg_template_output out;
            hg_template_render(t, vs_items(&v), v.n, &out);
            ok(out.flags == 0 && out.subject_len > 0 && subject_clean(out.subject, out.subject_len) &&
                   body_clean(out.body, out.body_len) && out.body_len > 40 &&
                   out.body[out.body_len - 1] == '\n' && strstr(out.body, "{{") == NULL &&
                   strstr(out.body, "\n\n\n") == NULL,
               "%s renders%s: clean, no tags left, no double blank lines", filename,
               pass ? " with nothing known" : "");
            for (size_t k = 0; pass == 0 && k < sizeof checks / sizeof checks[0]; k++) {
                if (strcmp(checks[k].file, names[i]) != 0)
                    continue;
                if (checks[k].subject != NULL)
                    is_str(out.subject, checks[k].subject, "  its subject");
                ok(strstr(out.body, checks[k].in_body) != NULL, "  its text holds \"%s\"",
                   one_line(checks[k].in_body));
                if (strstr(out.body, checks[k].in_body) == NULL)
                    printf("# body:\n%s\n", out.body);
            }
            if (pass == 1 && strcmp(names[i], "default") == 0)
                ok(strstr(out.body, "Dear customer,\n") != NULL &&
                       strstr(out.body, "as soon as possible") != NULL,
                   "  default.tmpl falls back to its defaults");
            hg_template_output_free(&out);
            vs_free(&v);
        }
        hg_template_free(&t);
        hg_template_errors_free(&errs);
        if (i < sizeof files / sizeof files[0])
            files[i] = strdup(filename);
        free(src.data);
        free(path);
        free(names[i]);
    }
    /* Choosing among the shipped files. */
    size_t n_files = n < sizeof files / sizeof files[0] ? n : sizeof files / sizeof files[0];
    const char *de_at[] = {"de-AT", "en"}, *fr[] = {"fr"};
    is_str(hg_template_choose("default", de_at, 2, files, n_files), "default.de.tmpl",
           "de-AT gets default.de.tmpl");
    is_str(hg_template_choose("default", fr, 1, files, n_files), "default.tmpl", "fr gets default.tmpl");
    is_str(hg_template_choose("vip", de_at, 2, files, n_files), "vip.tmpl",
           "vip in German falls back to vip.tmpl");
    for (size_t i = 0; i < n_files; i++)
        free((char *)files[i]);
    free(names);
    free(dir);
}

/* Reads roff text as plain text: \- \e \& \(dq \(aq. */
static char *unroff(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    while (*s != '\0') {
        if (strncmp(s, "\\-", 2) == 0) {
            *o++ = '-';
            s += 2;
        } else if (strncmp(s, "\\e", 2) == 0) {
            *o++ = '\\';
            s += 2;
        } else if (strncmp(s, "\\&", 2) == 0) {
            s += 2;
        } else if (strncmp(s, "\\(dq", 4) == 0) {
            *o++ = '"';
            s += 4;
        } else if (strncmp(s, "\\(aq", 4) == 0) {
            *o++ = '\'';
            s += 4;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

static void test_man_page(void)
{
    char *path = source_path("daemon/helpgate.templates.5");
    struct text man = read_file(path);
    ok(man.data != NULL, "daemon/helpgate.templates.5 exists");
    char *text = unroff(man.data != NULL ? man.data : "");
    size_t missing = 0;
    for (size_t i = 0; i < N_DAEMON_VARS; i++) {
        char item[96];
        snprintf(item, sizeof item, ".B %s\n", daemon_vars[i]);
        if (strstr(text, item) == NULL) {
            missing++;
            printf("# variable %s has no \".B %s\" item in helpgate.templates.5\n", daemon_vars[i],
                   daemon_vars[i]);
        }
    }
    ok(missing == 0, "the man page describes all %zu variables", N_DAEMON_VARS);
    static const char *const shown[] = {"contrib/templates/default.tmpl", "contrib/templates/notify.tmpl"};
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
        char *tpath = source_path(shown[k]);
        struct text tmpl = read_file(tpath);
        size_t lines = 0, absent = 0;
        for (char *line = tmpl.data; line != NULL && *line != '\0';) {
            char *eol = strchr(line, '\n');
            if (eol != NULL)
                *eol = '\0';
            char wanted[512];
            snprintf(wanted, sizeof wanted, "\n%s\n", line);
            if (line[0] != '\0') {
                lines++;
                if (strstr(text, wanted) == NULL) {
                    absent++;
                    printf("# not in the man page: %s\n", line);
                }
            }
            line = eol != NULL ? eol + 1 : NULL;
        }
        ok(lines > 10 && absent == 0, "the man page shows %s (%zu lines)", shown[k], lines);
        free(tmpl.data);
        free(tpath);
    }
    free(text);
    free(man.data);
    free(path);
}

/* ------------------------------------------------------------------------ */
/* Table-driven.                                                           */

static void test_render_table(void)
{
    static const struct {
        const char *tmpl; /* after "Subject: " */
        const char *vars;
        const char *want; /* output_text() */
    } cases[] = {
        {"{{a}}\n\n{{a}}\n", "a=x", "Subject: x\n\nx\n"},
        {"s\n\n{{a}}|{{a | \"d\"}}|{{b | \"d\"}}|{{c | \"d\"}}|\n", "a=\nb= \t\nc=v",
         "Subject: s\n\n|d|d|v|\n"},
        {"s\n\n[{{a}}]\n", "a= \t ", "Subject: s\n\n[ \t ]\n"},
        {"s\n\n{{A}}{{a}}\n", "a=1\nA=2", "Subject: s\n\n11\n"},
        {"   a   {{b}}   c  \n\nx", "b=", "Subject: a c\n\nx"},
        {"a\t\tb\n\nx", "", "Subject: a b\n\nx"},
        {"{{a}}\n\nx", "a=x\\r\\nBcc: y@example.com", "Subject: x Bcc: y@example.com\n\nx"},
        {"{{a}}\n\nx", "a=\\r\\n\\t \\x0b\\x0c\\x1b\\x7f", "Subject: \n\nx"},
        {"<{{a}}>\n\nx", "a=\\r\\n", "Subject: < >\n\nx"},
        {"{{a}}\n\nx", "a=1\\xc2\\x852\\xe2\\x80\\xa83\\xe2\\x80\\xa94\\xc2\\x9f5\\xc2\\xa06",
         "Subject: 1 2 3 4 5\xc2\xa0"
         "6\n\nx"},
        {"s\n\n{{a}}\n", "a=1\\r\\n2\\r3\\n4\\r\\r\\n5", "Subject: s\n\n1\n2\n3\n4\n\n5\n"},
        {"s\n\n{{a}}\n", "a=\\xff", "Subject: s\nFlags: repaired\n\n\xef\xbf\xbd\n"},
        {"{{a}}\n\nx", "a=\\xc3", "Subject: \xef\xbf\xbd\nFlags: repaired\n\nx"},
        {"s\n\n{{a}}\n", "a=\\xe0\\x80\\x80",
         "Subject: s\nFlags: repaired\n\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n"},
        {"s\n\n{{#if a}}y{{else}}n{{/if}}", "a=yes", "Subject: s\n\ny"},
        {"s\n\n{{#if a}}y{{else}}n{{/if}}", "a=No", "Subject: s\n\nn"},
        {"s\n\n{{#if a}}y{{else}}n{{/if}}", "a=00", "Subject: s\n\ny"},
        {"s\n\n{{#if a}}y{{else}}n{{/if}}", "a=\\n0\\n", "Subject: s\n\nn"},
        {"s\n\n{{#if a}}y{{else}}n{{/if}}", "a=f", "Subject: s\n\ny"},
        {"s\n\n{{#if a}}y{{else}}n{{/if}}", "a=false", "Subject: s\n\nn"},
        {"s\n\n{{#if a}}y{{else}}n{{/if}}", "a=no way", "Subject: s\n\ny"},
        {"s\n\n{{#if a}}y{{else}}n{{/if}}", "", "Subject: s\n\nn"},
        {"s\n\n{{#if not a}}y{{else}}n{{/if}}", "", "Subject: s\n\ny"},
        {"s\n\n{{#if not a}}y{{/if}}", "a=1", "Subject: s\n\n"},
        {"s\n\n{{#if a}}{{#if b}}ab{{else}}a{{/if}}{{else}}{{#if b}}b{{else}}-{{/if}}{{/if}}", "b=1",
         "Subject: s\n\nb"},
        {"s\n\n{{#if a}}{{#if b}}ab{{else}}a{{/if}}{{else}}{{#if b}}b{{else}}-{{/if}}{{/if}}", "a=1",
         "Subject: s\n\na"},
        {"s\n\n{{#if a}}{{/if}}{{#if a}}{{else}}{{/if}}.", "", "Subject: s\n\n."},
        {"{{#if a}}[{{a}}] {{/if}}s {{#if not b}}(no b){{/if}}\n\n.", "a=1", "Subject: [1] s (no b)\n\n."},
        {"s\n\n{{\"\"}}{{\"{{\"}}{{ \"}}\" }}{{\"a\\\"b\\\\c\\d\"}}", "", "Subject: s\n\n{{}}a\"b\\c\\d"},
        {"s\n\n{not a tag} { {a} } {{a}}}", "a=1", "Subject: s\n\n{not a tag} { {a} } 1}"},
        {"s\n\n{{#if a}}\nA\n{{/if}}\nB\n", "", "Subject: s\n\nB\n"},
        {"s\n\n  {{#if a}}  \nA\n  {{else}}\nC\n  {{/if}}\nB\n", "a=1", "Subject: s\n\nA\nB\n"},
        {"s\n\nx {{#if a}}\nA\n{{/if}} y\n", "a=1", "Subject: s\n\nx \nA\n y\n"},
        {"s\n\n{{a}}\n", "a=\xc3\xa9\xf0\x9f\x98\x80", "Subject: s\n\n\xc3\xa9\xf0\x9f\x98\x80\n"},
        {"s\n\n{{customer.name}} {{x-y_z.a1}}", "customer.name=N\nx-y_z.a1=V", "Subject: s\n\nN V"},
        {"s\n\n{{a}}", "a=a {{b}} c\nb=no", "Subject: s\n\na {{b}} c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "Subject: %s", cases[i].tmpl);
        struct varset v;
        vs_init(&v, false);
        vs_parse(&v, cases[i].vars);
        char *got = render_text(text, strlen(text), NULL, 0, &v, NULL);
        is_str(got, cases[i].want, one_line(text));
        free(got);
        vs_free(&v);
    }

    /* The first entry of a name wins; a NULL value or name is no entry; names ignore case. */
    struct hg_template_errors errors;
    hg_template_errors_init(&errors);
    const char *tmpl = "Subject: {{a}}\n\n{{A}}{{b | \"d\"}}";
    struct hg_template *t = hg_template_compile(tmpl, strlen(tmpl), NULL, 0, NULL, &errors);
    struct hg_template_var vars[] = {{NULL, "x"}, {"b", NULL}, {"A", "1"}, {"a", "2"}};
    struct hg_template_output out;
    hg_template_render(t, vars, 4, &out);
    ok(strcmp(out.subject, "1") == 0 && strcmp(out.body, "1d") == 0, "first entry wins, NULLs skipped: %s|%s",
       out.subject, out.body);
    hg_template_output_free(&out);
    hg_template_render(t, NULL, 0, &out);
    ok(strcmp(out.subject, "") == 0 && strcmp(out.body, "d") == 0 && out.flags == 0, "no variables at all");
    hg_template_output_free(&out);
    hg_template_free(&t);
    ok(t == NULL, "hg_template_free() sets the pointer to NULL");
    hg_template_free(&t);
    hg_template_errors_free(&errors);
}

static void test_errors_table(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"Subject: {{subjet}}\n\nx",
         "t.tmpl:1:12: unknown variable \"subjet\"\n  hint: did you mean \"subject\"?\n"},
        {"Subject: x\n\n{{Customer.Nmae}}",
         "t.tmpl:3:3: unknown variable \"Customer.Nmae\"\n  hint: did you mean "
         "\"customer.name\"?\n"},
        {"Subject: x\n\n{{customer}}",
         "t.tmpl:3:3: unknown variable \"customer\"\n  hint: the variables are: ticket, ticket_tag, subject, "
         "customer.name, customer.email, customer.tier, tier, priority, queue, response_time, reason, notes, "
         "message, channel, support_address, sla.event, sla.target, sla.due\n"},
        {"Subject: x\n\n{{#if x}}",
         "t.tmpl:3:7: unknown variable \"x\"\n  hint: the variables are: ticket, "
         "ticket_tag, subject, customer.name, customer.email, customer.tier, tier, "
         "priority, queue, response_time, reason, notes, message, channel, "
         "support_address, sla.event, sla.target, sla.due\n"},
        {"Subject: x\n\n{{#if}}",
         "t.tmpl:3:6: expected a variable name after \"{{#if\", found the end of the "
         "tag\n"},
        {"Subject: x\n\n{{#if not}}",
         "t.tmpl:3:10: expected a variable name after \"{{#if not\", found the end of the tag\n"},
        {"Subject: x\n\n{{#if notes queue}}{{/if}}",
         "t.tmpl:3:13: expected \"}}\" after the condition, found \"queue\"\n"},
        {"Subject: x\n\n{{#fi notes}}",
         "t.tmpl:3:4: unknown block \"{{#fi\"\n  hint: write {{#if NAME}}, with "
         "the name of a variable\n"},
        {"Subject: x\n\n{{#ifnotes}}",
         "t.tmpl:3:4: unknown block \"{{#ifnotes\"\n  hint: put a space between "
         "\"if\" and the name: {{#if NAME}}\n"},
        {"Subject: x\n\n{{#}}", "t.tmpl:3:4: expected \"if\" after \"{{#\"\n  hint: a condition is {{#if "
                                "NAME}} ... {{else}} ... {{/if}}\n"},
        {"Subject: x\n\n{{#else}}", "t.tmpl:3:4: unknown block \"{{#else\"\n  hint: write {{else}}, without "
                                    "'#'\n"},
        {"Subject: x\n\n{{else}}{{/if}}",
         "t.tmpl:3:1: {{else}} without {{#if}}\n  hint: {{else}} belongs between "
         "{{#if NAME}} and {{/if}}\nt.tmpl:3:9: {{/if}} without {{#if}}\n  hint: "
         "every {{/if}} closes one {{#if NAME}} before it\n"},
        {"Subject: x\n\n{{else x}}",
         "t.tmpl:3:1: {{else}} without {{#if}}\n  hint: {{else}} belongs between "
         "{{#if NAME}} and {{/if}}\nt.tmpl:3:8: expected \"}}\" after \"{{else\", "
         "found \"x\"\n"},
        {"Subject: x\n\n{{ticket | \"a\" \"b\"}}",
         "t.tmpl:3:16: expected \"}}\" after the default text, found \"\"\"\n"},
        {"Subject: x\n\n{{\"a\" ticket}}",
         "t.tmpl:3:7: expected \"}}\" after the quoted text, found \"ticket\"\n"},
        {"Subject: x\n\n{{ticket |}}",
         "t.tmpl:3:11: expected a quoted default text after \"|\", found the end "
         "of the tag\n  hint: write {{ticket | \"text\"}}; there are no filters\n"},
        {"Subject: x\n\n{{ticket}",
         "t.tmpl:3:1: \"{{\" is not closed on this line\n  hint: end the tag with "
         "\"}}\" on the same line; to write two braces as text, write {{\"{{\"}}\n"},
        {"Subject: x\n\n{{ticket\n}}",
         "t.tmpl:3:1: \"{{\" is not closed on this line\n  hint: end the tag with "
         "\"}}\" on the same line; to write two braces as text, write "
         "{{\"{{\"}}\n"},
        {"Subject: x\n\n{{-x}}", "t.tmpl:3:3: \"-x\" is not a variable name\n  hint: a name is words of "
                                 "letters, digits, '_' and '-' joined by dots, as in customer.name\n"},
        {"Subject: x\n\n{{a.}}",
         "t.tmpl:3:3: \"a.\" is not a variable name\n  hint: a name is words of letters, "
         "digits, '_' and '-' joined by dots, as in customer.name\n"},
        {"Subject: x\n\n{{\xc3\xa9t\xc3\xa9}}",
         "t.tmpl:3:3: unexpected \"\xc3\xa9\" in a tag\n  hint: a tag holds a variable name, as in "
         "{{customer.name}}; to write two braces as text, write {{\"{{\"}}\n"},
        {"Subject: "
         "x\n\n{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}",
         "t.tmpl:3:3: a variable name longer than 64 characters\n"},
        {"Subject: {{#if notes}}x\n\ny",
         "t.tmpl:1:10: {{#if notes}} is not closed in the subject\n  hint: a "
         "condition in the subject ends on the Subject: line, with {{/if}}\n"},
        {"Subject: {{#if not notes}}x\n\n{{/if}}", "t.tmpl:1:10: {{#if not notes}} is not closed in the "
                                                   "subject\n  hint: a condition in the subject ends "
                                                   "on the Subject: line, with {{/if}}\nt.tmpl:3:1: {{/if}} "
                                                   "without {{#if}}\n  hint: every {{/if}} closes "
                                                   "one {{#if NAME}} before it\n"},
        {"subject : x\n\nok", ""},
        {"SUBJECT:x\n\nok", ""},
        {"Subject: x\nText right away",
         "t.tmpl:2:1: expected a blank line after the Subject: line, found "
         "\"Text\"\n  hint: leave one empty line between the Subject: line and the "
         "text\n"},
        {"Subject: x",
         "t.tmpl:1: the template has no text\n  hint: after the Subject: line, leave one blank line "
         "and write the text\n"},
        {"Subject: x\n\n \t\n\n",
         "t.tmpl:3: the template has no text\n  hint: after the Subject: line, leave one "
         "blank line and write the text\n"},
        {"Subjcet: x\n\ny", "t.tmpl:1:1: unknown header \"Subjcet\"\n  hint: did you mean \"Subject\"?\n"},
        {"Title: x\n\ny",
         "t.tmpl: the template has no Subject: line\n  hint: start the file with a line such as "
         "Subject: Re: {{subject}} {{ticket_tag}}, then a blank line, then the text\nt.tmpl:1:1: "
         "unknown header \"Title\"\n  hint: the only header of a template is Subject:; the text "
         "starts after the first blank line\n"},
        {"Content-Language: de\nSubject: x\n\ny",
         "t.tmpl:1:1: unknown header \"Content-Language\"\n  hint: the language is part of the file name: "
         "NAME.LANG.tmpl, as in default.de.tmpl\n"},
        {"Subject: x\nFrom: a@example.com\n\ny", "t.tmpl:2:1: unknown header \"From\"\n  hint: helpgate "
                                                 "writes the addresses and the other headers itself; "
                                                 "a template sets only the Subject\n"},
        {"Subject: x\n\n\x7f",
         "t.tmpl:3:1: control character 0x7F\n  hint: remove it: a template is plain text\n"},
        {"Subject: x\n\n\xc0\x80", "t.tmpl:3:1: this is not UTF-8\n  hint: save the file as UTF-8 text\n"},
        {"Subject: x\n\nab\xed\xa0\x80",
         "t.tmpl:3:3: this is not UTF-8\n  hint: save the file as UTF-8 text\n"},
        {"Subject: x\n\n\xf5\x80\x80\x80",
         "t.tmpl:3:1: this is not UTF-8\n  hint: save the file as UTF-8 text\n"},
        {"Subject: x\n\nend \xe2\x82",
         "t.tmpl:3:5: this is not UTF-8\n  hint: save the file as UTF-8 text\n"},
        {"\xef\xbb\xbf\xef\xbb\xbfSubject: x\n\ny",
         "t.tmpl:1:1: expected the Subject: line, found \"\xef\xbb\xbf\"\n  hint: a template starts with a "
         "line "
         "such as Subject: Re: {{subject}} {{ticket_tag}}, then a blank line, then the text\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = errors_of(cases[i].text, strlen(cases[i].text), "t.tmpl", NULL);
        is_str(got, cases[i].want, one_line(cases[i].text));
        free(got);
    }

    /* Without a list of known names, any well-formed name is accepted. */
    struct hg_template_errors errors;
    hg_template_errors_init(&errors);
    const char *text = "Subject: {{anything.at_all}}\n\n{{#if whatever}}{{x-1}}{{/if}}";
    struct hg_template *t = hg_template_compile(text, strlen(text), NULL, 0, NULL, &errors);
    ok(t != NULL && errors.count == 0, "without known names every name is accepted");
    hg_template_free(&t);
    /* Errors are added to those already there. */
    t = hg_template_compile("x", 1, NULL, 0, NULL, &errors);
    t = hg_template_compile("y", 1, NULL, 0, NULL, &errors);
    ok(t == NULL && errors.count == 2, "errors of two compilations add up (%zu)", errors.count);
    char *e = hg_template_error_format(&errors, 0, "f.tmpl");
    is_str(
        e,
        "f.tmpl:1:1: expected the Subject: line, found \"x\"\n  hint: a template starts with a line such as "
        "Subject: Re: {{subject}} {{ticket_tag}}, then a blank line, then the text",
        "the format of one error");
    free(e);
    hg_template_errors_free(&errors);
    ok(errors.count == 0 && errors.items == NULL, "hg_template_errors_free() empties the list");
    t = hg_template_compile(NULL, 5, NULL, 0, NULL, &errors);
    ok(t == NULL && errors.count == 1, "NULL text is an empty template: no Subject");
    hg_template_errors_free(&errors);
}

static void test_choose(void)
{
    static const char *const files[] = {
        "default.tmpl",
        "default.de.tmpl",
        "default.de-CH.tmpl",
        "default.EN-gb.tmpl",
        "vip.tmpl",
        "vip.fr.tmpl",
        "chat.tmpl",
        "x.y.tmpl",
        "README",
        ".hidden.tmpl",
        NULL,
        "default.tmpl~",
        "default.de.tmpl.bak",
        "Default.tmpl",
        "only.pt.tmpl",
    };
    size_t n_files = sizeof files / sizeof files[0];
    static const struct {
        const char *name;
        const char *langs; /* comma-separated */
        const char *want;
    } cases[] = {
        {"default", "de-AT", "default.de.tmpl"},
        {"default", "de-CH", "default.de-CH.tmpl"},
        {"default", "de_ch", "default.de-CH.tmpl"},
        {"default", "DE-ch-1996", "default.de-CH.tmpl"},
        {"default", "fr,de", "default.de.tmpl"},
        {"default", "fr,it", "default.tmpl"},
        {"default", "", "default.tmpl"},
        {"default", "en-GB", "default.EN-gb.tmpl"},
        {"default", "en", "default.tmpl"},
        {"default", "de-AT-x-foo", "default.de.tmpl"},
        {"default", "*,de", "default.de.tmpl"},
        {"default", "12,de", "default.de.tmpl"},
        {"default", "de/../x,de-", "default.tmpl"},
        {"default", "de-toolongsubtag", "default.tmpl"},
        {"Default", "de", "Default.tmpl"},
        {"vip", "de", "vip.tmpl"},
        {"vip", "fr-CA", "vip.fr.tmpl"},
        {"chat", "fr", "chat.tmpl"},
        {"only", "de", NULL},
        {"only", "pt-BR", "only.pt.tmpl"},
        {"missing", "de", NULL},
        {"x.y", "", "x.y.tmpl"},
        {"x", "y", "x.y.tmpl"},
        {"../etc/passwd", "", NULL},
        {".hidden", "", NULL},
        {"", "", NULL},
        {"a/b", "", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", cases[i].langs);
        const char *langs[8];
        size_t n = 0;
        for (char *save, *tok = strtok_r(buf, ",", &save); tok != NULL && n < 8;
             tok = strtok_r(NULL, ",", &save))
            langs[n++] = tok;
        char label[200];
        snprintf(label, sizeof label, "choose %s for [%s]", cases[i].name, cases[i].langs);
        is_str(hg_template_choose(cases[i].name, langs, n, files, n_files), cases[i].want, label);
    }
    /* At most 32 languages are tried. */
    const char *many[40];
    for (size_t i = 0; i < 40; i++)
        many[i] = "it";
    many[31] = "de";
    is_str(hg_template_choose("default", many, 40, files, n_files), "default.de.tmpl",
           "the 32nd language is tried");
    many[31] = "it";
    many[32] = "de";
    is_str(hg_template_choose("default", many, 40, files, n_files), "default.tmpl", "the 33rd is not");
    is_str(hg_template_choose("default", NULL, 3, files, n_files), "default.tmpl", "no languages");
    is_str(hg_template_choose("default", NULL, 0, NULL, 0), NULL, "no files");

    static const struct {
        const char *name;
        bool valid;
    } names[] = {
        {"default", true}, {"after-hours", true}, {"a.b_c-1", true},      {"9", true},
        {"", false},       {".x", false},         {"..", false},          {"../x", false},
        {"a/b", false},    {"a b", false},        {"caf\xc3\xa9", false}, {"a\\b", false},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ok(hg_template_name_valid(names[i].name) == names[i].valid, "template name \"%s\" is %svalid",
           names[i].name, names[i].valid ? "" : "not ");
    char long_name[200];
    memset(long_name, 'a', sizeof long_name);
    long_name[128] = '\0';
    ok(hg_template_name_valid(long_name), "a name of 128 characters is valid");
    long_name[128] = 'a';
    long_name[129] = '\0';
    ok(!hg_template_name_valid(long_name), "a name of 129 is not");
    ok(!hg_template_name_valid(NULL), "NULL is not a name");
}

/* ------------------------------------------------------------------------ */
/* Limits and hostile input.                                               */

static char *repeat(const char *head, const char *piece, size_t times, const char *tail)
{
    size_t hl = strlen(head), pl = strlen(piece), tl = strlen(tail);
    char *s = malloc(hl + pl * times + tl + 1), *o = s;
    memcpy(o, head, hl);
    o += hl;
    for (size_t i = 0; i < times; i++, o += pl)
        memcpy(o, piece, pl);
    memcpy(o, tail, tl + 1);
    return s;
}

static size_t count_errors(const char *text, size_t len, const struct hg_template_limits *lim, char **first_r,
                           char **last_r)
{
    struct hg_template_errors errors;
    hg_template_errors_init(&errors);
    struct hg_template *t = hg_template_compile(text, len, NULL, 0, lim, &errors);
    size_t n = errors.count;
    if (first_r != NULL)
        *first_r = n > 0 ? hg_template_error_format(&errors, 0, "t.tmpl") : strdup("");
    if (last_r != NULL)
        *last_r = n > 0 ? hg_template_error_format(&errors, n - 1, "t.tmpl") : strdup("");
    hg_template_free(&t);
    hg_template_errors_free(&errors);
    return n;
}

static void test_limits(void)
{
    char *first, *last;
    clock_t start = clock();

    /* 100,000 nested conditions, closed: one error, no recursion. */
    struct hg_template_limits roomy = {.max_template_size = 4 * 1024 * 1024};
    char *deep = repeat("Subject: x\n\n", "{{#if a}}", 100000, "");
    char *closed = repeat(deep, "{{/if}}", 100000, "");
    size_t n = count_errors(closed, strlen(closed), &roomy, &first, NULL);
    ok(n == 1 && strstr(first, "t.tmpl:3:145: conditions nested more than 16 deep") != NULL,
       "100,000 nested conditions: one error (%s)", first);
    free(first);
    free(closed);
    /* Not closed: the nesting error and each open condition. */
    n = count_errors(deep, strlen(deep), &roomy, &first, &last);
    ok(n == 17 && strstr(first, "t.tmpl:3:1: {{#if a}} is not closed") != NULL &&
           strstr(last, "nested more than 16 deep") != NULL,
       "100,000 open conditions: 17 errors (%zu)", n);
    free(first);
    free(last);
    free(deep);
    /* Exactly at the limit is fine; the limit can be set. */
    deep = repeat("Subject: x\n\n", "{{#if a}}", 16, "");
    closed = repeat(deep, "{{/if}}", 16, "");
    ok(count_errors(closed, strlen(closed), NULL, NULL, NULL) == 0, "16 nested conditions are fine");
    struct hg_template_limits lim = {.max_depth = 3};
    n = count_errors(closed, strlen(closed), &lim, &first, NULL);
    ok(n == 1 && strstr(first, "nested more than 3 deep") != NULL, "max_depth 3: %s", first);
    free(first);
    free(closed);
    free(deep);

    /* Size. */
    char *big = repeat("Subject: x\n\n", "0123456789abcdef", 16385, "");
    n = count_errors(big, strlen(big), NULL, &first, NULL);
    is_str(first,
           "t.tmpl: the template is larger than 262144 bytes\n  hint: keep templates short: they are read "
           "by people",
           "a template over 256 KiB is refused");
    free(first);
    big[256 * 1024] = '\0';
    ok(count_errors(big, 256 * 1024, NULL, NULL, NULL) == 0, "256 KiB exactly is fine");
    lim = (struct hg_template_limits){.max_template_size = 10};
    ok(count_errors(big, 11, &lim, NULL, NULL) == 1, "max_template_size 10 refuses 11 bytes");
    free(big);

    /* Many errors stop at 100, and say so last. */
    char *many = repeat("Subject: x\n\n", "{{\n", 500, "");
    n = count_errors(many, strlen(many), NULL, &first, &last);
    ok(n == 101 && strcmp(last, "t.tmpl: too many errors; stopped here") == 0 &&
           strncmp(first, "t.tmpl:3:1: ", 12) == 0,
       "500 broken tags: 100 errors and \"too many errors\" (%zu)", n);
    free(first);
    free(last);
    free(many);

    /* A big template full of tags, all on one line, compiles and renders quickly. */
    char *wide = repeat("Subject: x\n\n", "{{#if a}} {{b}} {{else}}{{c|\"d\"}}{{/if}} ", 6000, "\n");
    struct hg_template_errors errors;
    hg_template_errors_init(&errors);
    struct hg_template *t = hg_template_compile(wide, strlen(wide), NULL, 0, NULL, &errors);
    struct hg_template_var vars[] = {{"a", "1"}, {"b", "bee"}};
    struct hg_template_output out;
    hg_template_render(t, vars, 2, &out);
    ok(t != NULL && out.body_len == 6000 * 6 + 1, "%zu bytes of tags on one line (%zu bytes out)",
       strlen(wide), out.body_len);
    hg_template_output_free(&out);
    hg_template_free(&t);
    hg_template_errors_free(&errors);
    free(wide);

    /* At most 256 different variables; the same name again (in any case) is not a new one. */
    struct hg_buf_like {
        char *s;
        size_t n;
    } names = {malloc(300 * 24 + 64), 0};
    names.n = (size_t)sprintf(names.s, "Subject: x\n\n");
    for (int i = 0; i < 257; i++)
        names.n += (size_t)sprintf(names.s + names.n, "{{v%d}}{{V%d}}", i, i);
    n = count_errors(names.s, names.n, NULL, &first, NULL);
    ok(n == 1 && strstr(first, "t.tmpl:3:3877: more than 256 different variables in one template") != NULL,
       "257 different variables: %s", first);
    free(first);
    names.s[names.n - 16] = '\0';
    ok(count_errors(names.s, names.n - 16, NULL, NULL, NULL) == 0, "256 are fine");
    free(names.s);

    /* Rendering looks at each value once: 10,000 conditions on a 1 MiB value of spaces. */
    char *conds = repeat("Subject: x\n\n", "{{#if message}}x{{else}}{{message | \"-\"}}{{/if}}", 5000, "");
    char *spaces = repeat("", " ", 1024 * 1024, "");
    hg_template_errors_init(&errors);
    t = hg_template_compile(conds, strlen(conds), NULL, 0, NULL, &errors);
    struct hg_template_var space_vars[] = {{"message", spaces}};
    clock_t render_start = clock();
    hg_template_render(t, space_vars, 1, &out);
    double render_seconds = (double)(clock() - render_start) / CLOCKS_PER_SEC;
    ok(t != NULL && out.body_len == 5000 && render_seconds < 1,
       "10,000 tags on a 1 MiB value render in %.3f s", render_seconds);
    hg_template_output_free(&out);
    hg_template_free(&t);
    hg_template_errors_free(&errors);
    free(conds);
    free(spaces);

    /* The body is cut at max_body, at a character boundary. */
    const char *tmpl = "Subject: {{subject}}\n\nStart\n{{message}}\nEnd\n";
    hg_template_errors_init(&errors);
    t = hg_template_compile(tmpl, strlen(tmpl), NULL, 0, NULL, &errors);
    char *huge = repeat("", "\xe2\x82\xac", 1000000, ""); /* 3 MB of euro signs */
    char *long_subject = repeat("", "\xc3\xa9 ", 5000, "");
    struct hg_template_var big_vars[] = {{"message", huge}, {"subject", long_subject}};
    hg_template_render(t, big_vars, 2, &out);
    ok(out.body_len <= 1024 * 1024 && out.body_len > 1024 * 1024 - 3 && body_clean(out.body, out.body_len) &&
           (out.flags & HG_TEMPLATE_BODY_CUT),
       "a 3 MB value: the body is cut to %zu bytes, valid UTF-8, flagged", out.body_len);
    ok(out.subject_len <= 1000 && out.subject_len > 990 && subject_clean(out.subject, out.subject_len) &&
           (out.flags & HG_TEMPLATE_SUBJECT_CUT),
       "a long subject is cut to %zu bytes, valid UTF-8, no trailing space, flagged", out.subject_len);
    hg_template_output_free(&out);
    hg_template_free(&t);
    lim = (struct hg_template_limits){.max_body = 10, .max_subject = 4};
    t = hg_template_compile(tmpl, strlen(tmpl), NULL, 0, &lim, &errors);
    struct hg_template_var small_vars[] = {{"message", "\xe2\x82\xac\xe2\x82\xac"},
                                           {"subject", "ab \xc3\xa9"}};
    hg_template_render(t, small_vars, 2, &out);
    ok(strcmp(out.body, "Start\n\xe2\x82\xac") == 0 && strcmp(out.subject, "ab") == 0 &&
           out.flags == (HG_TEMPLATE_BODY_CUT | HG_TEMPLATE_SUBJECT_CUT),
       "max_body 10, max_subject 4: \"%s\" / \"%s\"", one_line(out.body), out.subject);
    hg_template_output_free(&out);
    hg_template_free(&t);
    hg_template_errors_free(&errors);
    free(huge);
    free(long_subject);

    /* No byte of a value can add a header line. */
    tmpl = "Subject: [{{subject}}] {{ticket_tag}}\n\n.";
    hg_template_errors_init(&errors);
    t = hg_template_compile(tmpl, strlen(tmpl), NULL, 0, NULL, &errors);
    bool clean = true;
    for (int c = 1; c < 256; c++) {
        char value[8] = {'a', (char)c, '\n', 'B', 'c', 'c', ':', '\0'};
        struct hg_template_var v[] = {{"subject", value}, {"ticket_tag", value + 1}};
        hg_template_render(t, v, 2, &out);
        clean = clean && subject_clean(out.subject, out.subject_len) && out.subject[0] == '[';
        hg_template_output_free(&out);
    }
    ok(clean, "every byte 1..255 in the subject's values: one clean line");
    hg_template_free(&t);
    hg_template_errors_free(&errors);

    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    ok(seconds < 20, "the limit tests ran in %.2f s", seconds);
}

/*
 * Random input never crashes, and what compiles renders within the promises.
 * Half the rounds put together pieces of templates (most of them compile),
 * the other half random characters and bytes.
 */
static void test_random_input(void)
{
    static const char alphabet[] = "{{}}{}#if not /if else | \"\\ab.c_-\n\n\tSubject: X: \r\xc3\xa9\xff";
    static const char *const pieces[] = {
        "{{a}}",      "{{b}}", "{{#if a}}", "{{#if not b}}", "{{else}}", "{{/if}}",  "{{b | \"d\"}}",
        "{{\"{{\"}}", "text ", "\n",        "\n\n",          " ",        "\xc3\xa9", "\xe2\x80\xa8",
        "{{",         "}}",    "{",         "\r\n",          "\t",       "# x\n",    "{{ab.c_-}}",
    };
    unsigned seed = 2026;
    size_t compiled = 0, rounds = 20000;
    bool promises = true;
    struct hg_template_var vars[] = {
        {"a", "1"}, {"b", "x\r\ny\xe2\x80\xa8"}, {"ab.c_-", "\xff\n"}, {"if", "0"}};
    for (size_t round = 0; round < rounds; round++) {
        char buf[1024];
        size_t len = round % 4 != 3 ? (size_t)snprintf(buf, sizeof buf, "Subject: ") : 0;
        size_t extra = (size_t)(rand_r(&seed) % 40);
        for (size_t i = 0; i < extra; i++) {
            if (round % 2 == 0) {
                const char *piece = pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])];
                memcpy(buf + len, piece, strlen(piece));
                len += strlen(piece);
            } else {
                buf[len++] = round % 5 == 1 ? (char)(rand_r(&seed) & 0xff)
                                            : alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
            }
            if (i == 2 && round % 4 != 3) { /* end the subject early, mostly */
                buf[len++] = '\n';
                buf[len++] = '\n';
            }
        }
        struct hg_template_errors errors;
        hg_template_errors_init(&errors);
        struct hg_template *t = hg_template_compile(buf, len, NULL, 0, NULL, &errors);
        promises = promises && (t == NULL) == (errors.count > 0) && errors.count <= MAX_VARS * 2;
        for (size_t i = 0; i < errors.count; i++) {
            char *e = hg_template_error_format(&errors, i, "r");
            promises = promises && hg_utf8_valid(e, strlen(e));
            free(e);
        }
        if (t != NULL) {
            compiled++;
            struct hg_template_output out;
            hg_template_render(t, vars, 4, &out);
            promises =
                promises && subject_clean(out.subject, out.subject_len) && body_clean(out.body, out.body_len);
            hg_template_output_free(&out);
        }
        hg_template_free(&t);
        hg_template_errors_free(&errors);
    }
    ok(promises, "%zu random inputs: no crash, errors exactly when no template, clean output (%zu compiled)",
       rounds, compiled);
}

int main(void)
{
    test_render_files();
    test_error_files();
    test_contrib_templates();
    test_man_page();
    test_render_table();
    test_errors_table();
    test_choose();
    test_limits();
    test_random_input();
    return tap_done();
}
