/*
 * template.h — the acknowledgement and notification mail templates: compile a
 * template file once, then render it for each ticket into a subject line and
 * a body text.
 *
 * The format is described for the people who write templates in
 * helpgate.templates(5). In short:
 *
 *     # vip.tmpl — comment lines, only in the header part
 *     Subject: Re: {{subject | "your message"}} {{ticket_tag}}
 *
 *     Dear {{customer.name | "customer"}},
 *
 *     we opened ticket {{ticket_tag}} for your message.
 *     {{#if response_time}}
 *     You will hear from us within {{response_time}}.
 *     {{else}}
 *     We will answer as soon as we can.
 *     {{/if}}
 *
 * A header part (comment lines, then exactly one `Subject:` line), one blank
 * line, then the text. Tags: {{name}}, {{name | "default"}} (the default is
 * used when the variable has no value or only spaces), {{#if name}},
 * {{#if not name}}, {{else}}, {{/if}} (nested at most max_depth deep), and
 * {{"text"}}, which writes the text as it is: {{"{{"}} writes two braces.
 * A tag ends on the line where it starts. A template uses at most 256
 * different variable names.
 * A line holding nothing but one of #if, else or /if (and spaces) is left
 * out of the text entirely. Variable names are words joined by dots, ASCII
 * case does not matter. A condition holds when the variable has a value that
 * is not empty, not only spaces, and not "0", "false" or "no".
 *
 * The variables helpgated provides (the caller passes its own list of known
 * names to hg_template_compile(); nothing is hard-coded here):
 *     ticket            the ticket number, "1234"
 *     ticket_tag        the subject tag replies are threaded by, "[#1234]"
 *                       (made with ticket_tag_prefix of helpgate.conf)
 *     subject           the subject of the customer's message
 *     customer.name     the customer's name, or empty when unknown
 *     customer.email    the customer's address
 *     customer.tier     "standard", "premium" or "vip"
 *     tier              the support tier the ticket went to: L1, L2, L3
 *     priority          "low", "normal", "high", "urgent"
 *     queue             the ticket's queue, or empty
 *     response_time     the promised first response, "4 hours"
 *     reason            the rule that routed the ticket
 *     notes             the customer's custom-code notes (notifications)
 *     message           the customer's words (notifications)
 *     channel           "email" or "chat"
 *     support_address   the support address the customer wrote to
 *
 * Output: the subject is one line: every control character (CR and LF
 * included), U+0085, U+2028 and U+2029 of the template or of a value becomes
 * a space, runs of spaces become one, and the ends are trimmed, so no value
 * can ever add a header line. The body is UTF-8 with LF line ends: values
 * are inserted as they are, except that CRLF and CR become LF and bytes that
 * are not UTF-8 become U+FFFD. Both are cut (at a character boundary) at
 * their limit, and the output's flags say so.
 *
 * Pure: no I/O (the caller reads the file and passes its bytes), no global
 * state. A compiled template is read-only and may be rendered from several
 * threads at once. Allocation failure aborts.
 *
 * Ownership: hg_template_compile() returns a new template released with
 * hg_template_free(&t). Errors go into a struct hg_template_errors the caller
 * owns (hg_template_errors_free()). hg_template_render() fills a struct
 * hg_template_output whose strings are new, released with
 * hg_template_output_free(). hg_template_error_format() returns a new string
 * (free()). hg_template_choose() returns one of the strings it was given.
 */
#ifndef HELPGATE_TEMPLATE_H
#define HELPGATE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

struct hg_template;

/* ------------------------------------------------------------ compiling */

struct hg_template_error {
    int line;      /* 1-based; 0 when the error is about the whole file */
    int col;       /* 1-based column in bytes; 0 when unknown */
    char *message; /* what was found and what was expected */
    char *hint;    /* how to fix it, or NULL */
};

struct hg_template_errors {
    struct hg_template_error *items;
    size_t count;
};

/* Every field 0 means the default shown. */
struct hg_template_limits {
    size_t max_template_size; /* bytes of the template file (256 KiB) */
    size_t max_subject;       /* bytes of a rendered subject (1,000) */
    size_t max_body;          /* bytes of a rendered body (1 MiB) */
    unsigned max_depth;       /* nesting of {{#if}} (16) */
};

/*
 * Compiles TEXT (LEN bytes, need not be NUL-terminated; CRLF line ends and a
 * leading byte order mark are accepted). When KNOWN is not NULL, a variable
 * that is not one of its N_KNOWN names (NULL entries skipped, ASCII case
 * ignored) is an error with a "did you mean" hint; with KNOWN NULL every
 * name is accepted. LIMITS may be NULL. Collects every error it can rather
 * than stopping at the first (at most 100). Returns the template, or NULL
 * with ERRORS filled in, sorted by line and column.
 */
struct hg_template *hg_template_compile(const char *text, size_t len, const char *const *known,
                                        size_t n_known, const struct hg_template_limits *limits,
                                        struct hg_template_errors *errors);
void hg_template_free(struct hg_template **t);

void hg_template_errors_init(struct hg_template_errors *errors);
void hg_template_errors_free(struct hg_template_errors *errors);
/* "FILE:LINE:COL: message" plus "\n  hint: ..." when there is one. Caller frees. */
char *hg_template_error_format(const struct hg_template_errors *errors, size_t i, const char *filename);

/* ------------------------------------------------------------ rendering */

/* One variable. A NULL value is the same as no entry. */
struct hg_template_var {
    const char *name;  /* compared with the template's names ignoring ASCII case */
    const char *value; /* UTF-8 (invalid bytes are replaced), NUL-terminated */
};

enum hg_template_flag {
    HG_TEMPLATE_SUBJECT_CUT = 1 << 0, /* the subject reached max_subject and was cut */
    HG_TEMPLATE_BODY_CUT = 1 << 1,    /* the body reached max_body and was cut */
    HG_TEMPLATE_REPAIRED = 1 << 2,    /* a value held bytes that are not UTF-8: replaced by U+FFFD */
};

struct hg_template_output {
    char *subject; /* one line, UTF-8, no control characters, trimmed; may be "" */
    size_t subject_len;
    char *body; /* UTF-8, LF line ends */
    size_t body_len;
    unsigned flags; /* enum hg_template_flag bits */
};

/*
 * Renders T with VARS (N_VARS entries; the first entry of a name wins). A
 * name with no entry has no value: it writes its default, or nothing.
 * Never fails: what was cut or repaired is told by out->flags, so the caller
 * can log it.
 */
void hg_template_render(const struct hg_template *t, const struct hg_template_var *vars, size_t n_vars,
                        struct hg_template_output *out);
void hg_template_output_free(struct hg_template_output *out);

/* ------------------------------------------------------------ choosing a file */

/*
 * True when NAME can name a template: 1 to 128 ASCII letters, digits, '-',
 * '_' and '.', not starting with '.' (so never a path, never "..").
 */
bool hg_template_name_valid(const char *name);

/*
 * Which file of a templates directory holds template NAME for a customer who
 * prefers LANGUAGES (N_LANGUAGES language tags, best first, such as "de-AT",
 * "en"; NULL and invalid entries skipped, at most 32 used). FILES are the
 * names of the files present (N_FILES). Each language is tried as written,
 * then shortened one subtag at a time (RFC 4647 lookup: "de-AT" then "de"),
 * as NAME.LANG.tmpl; then NAME.tmpl. Languages match ignoring ASCII case,
 * with '_' and '-' the same. Returns the entry of FILES that matched, or
 * NULL (also when NAME is not valid).
 */
const char *hg_template_choose(const char *name, const char *const *languages, size_t n_languages,
                               const char *const *files, size_t n_files);

#endif
