/*
 * template.c — compiles and renders the mail templates (see template.h, the
 * format in helpgate.templates(5)).
 *
 * Compiling first checks the bytes (size, UTF-8, control characters) and
 * makes a copy with LF line ends, then reads the header part, then turns the
 * subject and the text each into a flat list of operations: literal text, a
 * variable, a conditional jump. Blocks become jumps at compile time, so
 * rendering is one loop with no recursion, however deep the nesting, and
 * every jump goes forward.
 */
#include "helpgate/template.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/located.h"
#include "helpgate/charset.h"
#include "helpgate/suggest.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    DEFAULT_MAX_TEMPLATE = 256 * 1024,
    DEFAULT_MAX_SUBJECT = 1000,
    DEFAULT_MAX_BODY = 1024 * 1024,
    DEFAULT_MAX_DEPTH = 16,
    MAX_ERRORS = 100,
    MAX_NAME = HG_SUGGEST_MAX_LEN, /* variable names */
    MAX_TEMPLATE_NAME = 128,
    MAX_LANGUAGE = 35, /* bytes of a language tag */
    MAX_LANGUAGES = 32,
    MAX_HINT_NAMES = 300, /* bytes of the list of known names in a hint */
    MAX_FOUND = 24,       /* bytes of what was found, quoted in a message */
    MAX_VARIABLES = 256,  /* different variable names in one template */
};

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

enum op_type {
    OP_TEXT, /* write text */
    OP_VAR,  /* write the value of variable var, or text (the default) when it is blank */
    OP_IF,   /* go on when the condition on var holds (or fails, with negate), else go to jump */
    OP_ELSE, /* go to jump (the end of the block) */
};

struct op {
    enum op_type type;
    char *text; /* OP_TEXT: the text; OP_VAR: the default, or NULL */
    size_t len; /* bytes of text */
    size_t var; /* OP_VAR, OP_IF: index in the template's names */
    bool negate;
    size_t jump; /* OP_IF, OP_ELSE: index of the next operation when jumping */
};

struct ops {
    struct op *items;
    size_t count;
    size_t cap;
};

struct hg_template {
    struct ops subject;
    struct ops body;
    char **names; /* the different variable names used, each once (ASCII case ignored) */
    size_t n_names;
    struct hg_template_limits lim;
};

struct parser {
    const char *text; /* the template without a byte order mark, LF line ends */
    size_t len;
    struct hg_template_errors *errors;
    size_t first_error; /* errors->count before this compilation */
    const char *const *known;
    size_t n_known;
    struct hg_template_limits lim;
    bool gave_up;    /* too many errors */
    bool many_names; /* more than MAX_VARIABLES was reported */
    /* Turns offsets into lines: a cursor that moves forward, reset when asked about an earlier offset. */
    size_t cur_off;
    int cur_line;
    size_t cur_line_start;
};

/* ------------------------------------------------------------------------ */
/* Errors.                                                                 */

void hg_template_errors_init(struct hg_template_errors *errors)
{
    errors->items = NULL;
    errors->count = 0;
}

void hg_template_errors_free(struct hg_template_errors *errors)
{
    for (size_t i = 0; i < errors->count; i++) {
        free(errors->items[i].message);
        free(errors->items[i].hint);
    }
    free(errors->items);
    hg_template_errors_init(errors);
}

char *hg_template_error_format(const struct hg_template_errors *errors, size_t i, const char *filename)
{
    const struct hg_template_error *e = &errors->items[i];
    return hg_located_error_format(filename, e->line, e->col, e->message, e->hint);
}

static void add_error_v(struct parser *p, int line, int col, const char *hint, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void add_error_v(struct parser *p, int line, int col, const char *hint, const char *fmt, va_list ap)
{
    p->errors->items = hg_xrealloc(p->errors->items, (p->errors->count + 1) * sizeof(*p->errors->items));
    struct hg_template_error *e = &p->errors->items[p->errors->count++];
    e->message = hg_xvasprintf(fmt, ap);
    e->line = line;
    e->col = col;
    e->hint = hint != NULL ? hg_xstrdup(hint) : NULL;
}

/* Counts one more error; false (and a last "too many errors") once there are MAX_ERRORS. */
static bool room_for_error(struct parser *p)
{
    if (p->gave_up)
        return false;
    if (p->errors->count - p->first_error < MAX_ERRORS)
        return true;
    p->gave_up = true;
    p->errors->items = hg_xrealloc(p->errors->items, (p->errors->count + 1) * sizeof(*p->errors->items));
    p->errors->items[p->errors->count++] =
        (struct hg_template_error){0, 0, hg_xstrdup("too many errors; stopped here"), NULL};
    return false;
}

/* Line and column (1-based, bytes) of offset OFF of the text. */
static void position(struct parser *p, size_t off, int *line_r, int *col_r)
{
    if (off < p->cur_off) {
        p->cur_off = 0;
        p->cur_line = 1;
        p->cur_line_start = 0;
    }
    const char *s = p->text + p->cur_off, *end = p->text + off, *nl;
    while (s < end && (nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
        p->cur_line++;
        p->cur_line_start = (size_t)(nl - p->text) + 1;
        s = nl + 1;
    }
    p->cur_off = off;
    *line_r = p->cur_line;
    *col_r = (int)(off - p->cur_line_start) + 1;
}

static int line_of(struct parser *p, size_t off)
{
    int line, col;
    position(p, off, &line, &col);
    return line;
}

/* An error at offset OFF of the text. */
__attribute__((format(printf, 4, 5))) static void error_at(struct parser *p, size_t off, const char *hint,
                                                           const char *fmt, ...)
{
    if (!room_for_error(p))
        return;
    int line, col;
    position(p, off, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    add_error_v(p, line, col, hint, fmt, ap);
    va_end(ap);
}

/* An error at a known line and column (0 for the whole file). */
__attribute__((format(printf, 5, 6))) static void error_line(struct parser *p, int line, int col,
                                                             const char *hint, const char *fmt, ...)
{
    if (!room_for_error(p))
        return;
    va_list ap;
    va_start(ap, fmt);
    add_error_v(p, line, col, hint, fmt, ap);
    va_end(ap);
}

static int compare_errors(const void *a, const void *b)
{
    const struct hg_template_error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/* ------------------------------------------------------------------------ */
/* Characters.                                                             */

/* Length of the valid UTF-8 sequence at S (AVAIL bytes there), or 0. */
static size_t utf8_len(const char *s, size_t avail)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (n == 0 || n > avail || !hg_utf8_valid(s, n))
        return 0;
    return n;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
    return is_letter(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
}

/* Blank: absent, empty, or only spaces, tabs and line ends. */
static bool is_blank(const char *v)
{
    if (v == NULL)
        return true;
    for (; *v != '\0'; v++)
        if (*v != ' ' && *v != '\t' && *v != '\r' && *v != '\n')
            return false;
    return true;
}

/* A condition holds for a value that is not blank and not "0", "false" or "no". */
static bool truthy(const char *v)
{
    if (is_blank(v))
        return false;
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    static const char *const falsy[] = {"0", "false", "no"};
    for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++)
        if (n == strlen(falsy[i]) && strncasecmp(v, falsy[i], n) == 0)
            return false;
    return true;
}

/* What starts at S (N bytes before the end of the tag), quoted, for "found ..." in messages. */
static void describe(const char *s, size_t n, char *out, size_t size)
{
    if (n == 0) {
        snprintf(out, size, "the end of the tag");
        return;
    }
    size_t k = 0;
    if (is_name_char(s[0]))
        while (k < n && is_name_char(s[k]))
            k++;
    else
        k = utf8_len(s, n) > 0 ? utf8_len(s, n) : 1;
    if (k > MAX_FOUND)
        k = hg_utf8_cut(s, k, MAX_FOUND);
    snprintf(out, size, "\"%.*s\"", (int)k, s);
}

/* ------------------------------------------------------------------------ */
/* The bytes of the file.                                                  */

/* Reports the first byte that has no place in a template; false when there is one. */
static bool check_bytes(struct parser *p, const char *s, size_t len)
{
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            line++;
            line_start = ++i;
            continue;
        }
        if ((c >= 0x20 && c < 0x7f) || c == '\t' || (c == '\r' && i + 1 < len && s[i + 1] == '\n')) {
            i++;
            continue;
        }
        size_t n = c >= 0x80 ? utf8_len(s + i, len - i) : 0;
        if (n > 0) {
            i += n;
            continue;
        }
        int col = (int)(i - line_start) + 1;
        if (c == '\r')
            error_line(p, line, col, "save the file with LF or CRLF line ends",
                       "a carriage return (CR) that does not end a line");
        else if (c == 0)
            error_line(p, line, col, "save the file as UTF-8 text", "a NUL byte in the file");
        else if (c < 0x80)
            error_line(p, line, col, "remove it: a template is plain text", "control character 0x%02X", c);
        else
            error_line(p, line, col, "save the file as UTF-8 text", "this is not UTF-8");
        return false;
    }
    return true;
}

/* A copy of S without the CR of each CRLF (the only CRs left after check_bytes()). */
static char *lf_copy(const char *s, size_t len, size_t *len_r)
{
    char *copy = hg_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] != '\r')
            copy[n++] = s[i];
    copy[n] = '\0';
    *len_r = n;
    return copy;
}

/* ------------------------------------------------------------------------ */
/* Operations.                                                             */

static struct op *add_op(struct ops *ops, enum op_type type)
{
    if (ops->count == ops->cap) {
        ops->cap = ops->cap ? ops->cap * 2 : 16;
        ops->items = hg_xrealloc(ops->items, ops->cap * sizeof(*ops->items));
    }
    struct op *op = &ops->items[ops->count++];
    *op = (struct op){.type = type};
    op->jump = ops->count;
    return op;
}

static void add_text(struct ops *ops, const char *s, size_t len)
{
    if (len == 0)
        return;
    struct op *op = add_op(ops, OP_TEXT);
    op->text = hg_xstrndup(s, len);
    op->len = len;
}

static void free_ops(struct ops *ops)
{
    for (size_t i = 0; i < ops->count; i++)
        free(ops->items[i].text);
    free(ops->items);
    ops->items = NULL;
    ops->count = ops->cap = 0;
}

/* ------------------------------------------------------------------------ */
/* Tags.                                                                   */

enum tag_kind { TAG_VAR, TAG_TEXT, TAG_IF, TAG_ELSE, TAG_END };

struct tag {
    enum tag_kind kind;
    size_t end;  /* offset just after "}}" */
    char *name;  /* TAG_VAR, TAG_IF: new */
    char *value; /* TAG_VAR: the default; TAG_TEXT: the text; new or NULL */
    size_t value_len;
    bool negate; /* TAG_IF: {{#if not NAME}} */
};

static const char braces_hint[] = "to write two braces as text, write {{\"{{\"}}";

/* Offset of the next "{{" in [FROM, END), or END. */
static size_t find_open(const struct parser *p, size_t from, size_t end)
{
    while (from + 1 < end) {
        const char *b = memchr(p->text + from, '{', end - from - 1);
        if (b == NULL)
            break;
        size_t at = (size_t)(b - p->text);
        if (p->text[at + 1] == '{')
            return at;
        from = at + 1;
    }
    return end;
}

/*
 * Finds the "}}" that closes the tag at AT on its line (outside quoted text);
 * its offset, or SIZE_MAX after an error, with *RESUME_R where to go on.
 */
static size_t find_close(struct parser *p, size_t at, size_t end, size_t *resume_r)
{
    const char *t = p->text;
    size_t j = at + 2;
    for (; j < end && t[j] != '\n'; j++) {
        if (t[j] == '"') {
            size_t quote = j++;
            while (j < end && t[j] != '"' && t[j] != '\n')
                j += t[j] == '\\' && j + 1 < end && t[j + 1] != '\n' ? 2 : 1;
            if (j >= end || t[j] == '\n') {
                error_at(p, quote, "end it with \" on the same line; write \\\" for a quote inside it",
                         "the quoted text is not closed");
                *resume_r = j;
                return SIZE_MAX;
            }
        } else if (t[j] == '}' && j + 1 < end && t[j + 1] == '}') {
            return j;
        } else if (t[j] == '{' && j + 1 < end && t[j + 1] == '{') {
            error_at(p, at, braces_hint, "\"{{\" is not closed before the next \"{{\"");
            *resume_r = j;
            return SIZE_MAX;
        }
    }
    error_at(p, at, "end the tag with \"}}\" on the same line; to write two braces as text, write {{\"{{\"}}",
             "\"{{\" is not closed on this line");
    *resume_r = j;
    return SIZE_MAX;
}

static size_t skip_spaces(const char *t, size_t i, size_t end)
{
    while (i < end && is_space(t[i]))
        i++;
    return i;
}

/* The quoted text at I (a '"' before END, closed before END): a new string; *NEXT_R after it. */
static char *read_string(const char *t, size_t i, size_t end, size_t *len_r, size_t *next_r)
{
    struct hg_buf b;
    hg_buf_init(&b, end - i);
    for (i++; i < end && t[i] != '"'; i++) {
        if (t[i] == '\\' && i + 1 < end && (t[i + 1] == '"' || t[i + 1] == '\\'))
            i++;
        hg_buf_append_char(&b, t[i]);
    }
    *len_r = b.len;
    *next_r = i + 1;
    return hg_buf_steal(&b);
}

/* The known names, for a hint: "the variables are: a, b, c". */
static void known_list(const struct parser *p, char *out, size_t size)
{
    struct hg_buf b;
    hg_buf_init(&b, MAX_HINT_NAMES);
    bool first = true, cut = false;
    for (size_t i = 0; i < p->n_known && !cut; i++) {
        if (p->known[i] == NULL)
            continue;
        cut = hg_buf_printf(&b, "%s%s", first ? "" : ", ", p->known[i]) < 0;
        first = false;
    }
    snprintf(out, size, "the variables are: %s%s", hg_buf_str(&b), cut ? ", ..." : "");
    hg_buf_free(&b);
}

/* Checks the variable name of LEN bytes at AT: true when it may be used. */
static bool check_name(struct parser *p, size_t at, size_t len)
{
    const char *s = p->text + at;
    bool ok = len <= MAX_NAME;
    for (size_t i = 0; ok && i < len; i++) /* words of letters, digits, '_' and '-', joined by dots */
        if ((i == 0 || s[i - 1] == '.') && !is_letter(s[i]) && s[i] != '_')
            ok = false;
    if (!ok || s[len - 1] == '.') {
        if (len > MAX_NAME)
            error_at(p, at, NULL, "a variable name longer than %d characters", MAX_NAME);
        else
            error_at(p, at,
                     "a name is words of letters, digits, '_' and '-' joined by dots, "
                     "as in customer.name",
                     "\"%.*s\" is not a variable name", (int)len, s);
        return false;
    }
    if (p->known == NULL)
        return true;
    char name[MAX_NAME + 1];
    memcpy(name, s, len);
    name[len] = '\0';
    for (size_t i = 0; i < p->n_known; i++)
        if (p->known[i] != NULL && strcasecmp(p->known[i], name) == 0)
            return true;
    char hint[MAX_HINT_NAMES + 128];
    const char *near = hg_suggest(name, p->known, p->n_known);
    static const char *const closers[] = {"end", "endif", "end-if", "end_if", "fi"};
    bool closer = false;
    for (size_t i = 0; i < sizeof closers / sizeof closers[0]; i++)
        closer = closer || strcasecmp(name, closers[i]) == 0;
    if (near != NULL)
        snprintf(hint, sizeof hint, "did you mean \"%s\"?", near);
    else if (closer)
        snprintf(hint, sizeof hint, "close a condition with {{/if}}");
    else
        known_list(p, hint, sizeof hint);
    error_at(p, at, hint, "unknown variable \"%s\"", name);
    return false;
}

/* "}}" must follow at I (after spaces); else an error. */
static bool expect_close(struct parser *p, size_t i, size_t close, const char *what)
{
    i = skip_spaces(p->text, i, close);
    if (i == close)
        return true;
    char found[MAX_FOUND + 8];
    describe(p->text + i, close - i, found, sizeof found);
    error_at(p, i, NULL, "expected \"}}\" after %s, found %s", what, found);
    return false;
}

/* The variable name at I: its length (0 after an error). */
static size_t read_name(struct parser *p, size_t i, size_t close, const char *after)
{
    size_t n = 0;
    while (i + n < close && is_name_char(p->text[i + n]))
        n++;
    if (n == 0) {
        char found[MAX_FOUND + 8];
        describe(p->text + i, close - i, found, sizeof found);
        error_at(p, i, p->text[i] == '!' ? "write {{#if not NAME}}" : NULL,
                 "expected a variable name after %s, found %s", after, found);
        return 0;
    }
    return check_name(p, i, n) ? n : 0;
}

/* {{#WORD ...}}: only #if. I is just after '#'. */
static bool read_block(struct parser *p, size_t i, size_t close, struct tag *tag)
{
    const char *t = p->text;
    i = skip_spaces(t, i, close);
    size_t w = i;
    while (i < close && is_letter(t[i]))
        i++;
    if (i - w == 2 && strncmp(t + w, "if", 2) == 0 && (i == close || is_space(t[i]))) {
        tag->kind = TAG_IF; /* from here on, an error still opens a block (one error, not two) */
        i = skip_spaces(t, i, close);
        size_t n = 0;
        while (i + n < close && is_name_char(t[i + n]))
            n++;
        if (n == 3 && strncmp(t + i, "not", 3) == 0 && (i + n == close || is_space(t[i + n]))) {
            tag->negate = true;
            i = skip_spaces(t, i + n, close);
        }
        n = read_name(p, i, close, tag->negate ? "\"{{#if not\"" : "\"{{#if\"");
        if (n == 0 || !expect_close(p, i + n, close, "the condition"))
            return false;
        tag->name = hg_xstrndup(t + i, n);
        return true;
    }
    char word[32];
    snprintf(word, sizeof word, "%.*s", (int)(i - w < 16 ? i - w : 16), t + w);
    const char *hint = "a condition is {{#if NAME}} ... {{else}} ... {{/if}}";
    static const char *const loops[] = {"each", "for", "foreach", "loop", "while", "with", "repeat"};
    for (size_t k = 0; k < sizeof loops / sizeof loops[0]; k++)
        if (strcasecmp(word, loops[k]) == 0)
            hint = "templates have no loops; a condition is {{#if NAME}} ... {{/if}}";
    if (strcasecmp(word, "unless") == 0)
        hint = "write {{#if not NAME}}";
    else if (strcasecmp(word, "else") == 0)
        hint = "write {{else}}, without '#'";
    else if (strncasecmp(word, "if", 2) == 0 && word[2] != '\0')
        hint = "put a space between \"if\" and the name: {{#if NAME}}";
    else if (strcasecmp(word, "if") == 0 || hg_edit_distance(word, "if", 1) <= 1)
        hint = "write {{#if NAME}}, with the name of a variable";
    if (w == i)
        error_at(p, w, hint, "expected \"if\" after \"{{#\"");
    else
        error_at(p, w, hint, "unknown block \"{{#%s\"", word);
    return false;
}

/*
 * Reads the tag at AT ("{{") in [AT, END) into TAG. False after an error,
 * with TAG->end where to go on; TAG->kind is then TAG_IF, TAG_ELSE or TAG_END
 * when the tag was recognisably one of those, so that the blocks still match.
 */
static bool read_tag(struct parser *p, size_t at, size_t end, struct tag *tag)
{
    const char *t = p->text;
    *tag = (struct tag){.kind = TAG_VAR};
    size_t close = find_close(p, at, end, &tag->end);
    if (close == SIZE_MAX)
        return false;
    tag->end = close + 2;
    size_t i = skip_spaces(t, at + 2, close);
    if (i == close) {
        error_at(p, at, "write a variable name between the braces, as in {{ticket}}", "an empty tag");
        return false;
    }
    char c = t[i];
    if (c == '#')
        return read_block(p, i + 1, close, tag);
    if (c == '/') {
        tag->kind = TAG_END;
        size_t w = skip_spaces(t, i + 1, close), e = w;
        while (e < close && is_letter(t[e]))
            e++;
        if (e - w != 2 || strncmp(t + w, "if", 2) != 0) {
            char found[MAX_FOUND + 8];
            describe(t + w, close - w, found, sizeof found);
            error_at(p, w, "close a condition with {{/if}}", "expected \"if\" after \"{{/\", found %s",
                     found);
            return false;
        }
        return expect_close(p, e, close, "\"{{/if\"");
    }
    if (c == '"') {
        size_t next;
        tag->kind = TAG_TEXT;
        tag->value = read_string(t, i, close, &tag->value_len, &next);
        return expect_close(p, next, close, "the quoted text");
    }
    if (is_name_char(c)) {
        size_t n = 0;
        while (i + n < close && is_name_char(t[i + n]))
            n++;
        if (n == 4 && strncmp(t + i, "else", 4) == 0) {
            tag->kind = TAG_ELSE;
            size_t j = skip_spaces(t, i + n, close);
            if (j + 2 <= close && strncmp(t + j, "if", 2) == 0 && (j + 2 == close || is_space(t[j + 2]))) {
                error_at(p, j,
                         "put a new condition inside the {{else}}: {{else}}{{#if NAME}}...{{/if}}{{/if}}",
                         "there is no \"else if\"");
                return false;
            }
            return expect_close(p, i + n, close, "\"{{else\"");
        }
        if (n == 2 && strncmp(t + i, "if", 2) == 0 && i + n < close && is_space(t[i + n])) {
            error_at(p, i, "a condition starts with '#': {{#if NAME}}", "\"{{if\" without '#'");
            return false;
        }
        if (!check_name(p, i, n))
            return false;
        tag->name = hg_xstrndup(t + i, n);
        size_t j = skip_spaces(t, i + n, close);
        if (j == close)
            return true;
        if (t[j] != '|') {
            char found[MAX_FOUND + 8];
            describe(t + j, close - j, found, sizeof found);
            error_at(p, j, "a default text follows '|', as in {{customer.name | \"customer\"}}",
                     "expected \"}}\" or \"|\" after the variable name, found %s", found);
            return false;
        }
        j = skip_spaces(t, j + 1, close);
        if (j == close || t[j] != '"') {
            char found[MAX_FOUND + 8], hint[MAX_NAME + 80];
            describe(t + j, close - j, found, sizeof found);
            snprintf(hint, sizeof hint, "write {{%s | \"text\"}}; there are no filters", tag->name);
            error_at(p, j, hint, "expected a quoted default text after \"|\", found %s", found);
            return false;
        }
        size_t next;
        tag->value = read_string(t, j, close, &tag->value_len, &next);
        return expect_close(p, next, close, "the default text");
    }
    char found[MAX_FOUND + 8];
    describe(t + i, close - i, found, sizeof found);
    error_at(p, i,
             c == '{' ? "a tag has two braces on each side, as in {{ticket}}; to write two braces as text, "
                        "write {{\"{{\"}}"
                      : "a tag holds a variable name, as in {{customer.name}}; to write two braces as text, "
                        "write {{\"{{\"}}",
             "unexpected %s in a tag", found);
    return false;
}

/*
 * A block tag alone on its line (with spaces) in the text: the line is left
 * out. True with *TEXT_END_R (the start of the line) and *AFTER_R (after its
 * line end).
 */
static bool standalone(const struct parser *p, size_t start, size_t end, size_t at, size_t tag_end,
                       size_t *text_end_r, size_t *after_r)
{
    const char *t = p->text;
    size_t a = at;
    while (a > start && is_space(t[a - 1]))
        a--;
    if (a > start && t[a - 1] != '\n')
        return false;
    size_t e = skip_spaces(t, tag_end, end);
    if (e < end && t[e] != '\n')
        return false;
    *text_end_r = a;
    *after_r = e < end ? e + 1 : end;
    return true;
}

struct block {
    size_t if_op;   /* index of the OP_IF */
    size_t else_op; /* index of the OP_ELSE, or SIZE_MAX */
    size_t at;      /* offset of the "{{#if" */
    size_t else_at; /* offset of its "{{else" */
    int line;
    size_t var; /* the condition's variable */
    bool negate;
    bool broken; /* the tag had an error (reported): no "not closed" */
};

/* The index of variable NAME (taken over) in T's names; SIZE_MAX after an error (at AT). */
static size_t intern(struct parser *p, struct hg_template *t, char *name, size_t at)
{
    if (name == NULL)
        return SIZE_MAX;
    for (size_t i = 0; i < t->n_names; i++)
        if (strcasecmp(t->names[i], name) == 0) {
            free(name);
            return i;
        }
    if (t->n_names == MAX_VARIABLES) {
        if (!p->many_names)
            error_at(p, at, "helpgate.templates(5) lists the variables helpgate provides",
                     "more than %d different variables in one template", MAX_VARIABLES);
        p->many_names = true;
        free(name);
        return SIZE_MAX;
    }
    t->names = hg_xrealloc(t->names, (t->n_names + 1) * sizeof(*t->names));
    t->names[t->n_names] = name;
    return t->n_names++;
}

/* Compiles [START, END) of the text into OPS of T; BODY: the text (not the subject line). */
static void compile_part(struct parser *p, struct hg_template *t, size_t start, size_t end, bool body,
                         struct ops *ops)
{
    struct block *stack = NULL;
    size_t depth = 0, cap = 0, ignored = 0; /* ignored: #if nested too deep, still open */
    size_t lit = start, i = start;
    while (i < end && !p->gave_up) {
        size_t at = find_open(p, i, end);
        if (at == end)
            break;
        struct tag tag;
        bool good = read_tag(p, at, end, &tag);
        if (!good && (tag.kind == TAG_VAR || tag.kind == TAG_TEXT)) {
            free(tag.name);
            free(tag.value);
            i = tag.end;
            continue;
        }
        i = tag.end;
        if (good) {
            size_t text_end = at, after = tag.end;
            if (body && tag.kind != TAG_VAR && tag.kind != TAG_TEXT)
                standalone(p, start, end, at, tag.end, &text_end, &after);
            add_text(ops, p->text + lit, text_end - lit);
            lit = i = after;
        }
        struct block *b = depth > 0 ? &stack[depth - 1] : NULL;
        struct op *op;
        switch (tag.kind) {
        case TAG_VAR:
            op = add_op(ops, OP_VAR);
            op->var = intern(p, t, tag.name, at);
            op->text = tag.value;
            op->len = tag.value_len;
            break;
        case TAG_TEXT:
            op = add_op(ops, OP_TEXT);
            op->text = tag.value;
            op->len = tag.value_len;
            break;
        case TAG_IF:
            if (depth == p->lim.max_depth || ignored > 0) {
                if (ignored++ == 0)
                    error_at(p, at, "split the template, or write the conditions more simply",
                             "conditions nested more than %u deep", p->lim.max_depth);
                free(tag.name);
                break;
            }
            if (depth == cap) {
                cap = cap ? cap * 2 : 8;
                stack = hg_xrealloc(stack, cap * sizeof(*stack));
            }
            op = add_op(ops, OP_IF);
            op->var = intern(p, t, tag.name, at);
            op->negate = tag.negate;
            stack[depth++] =
                (struct block){ops->count - 1, SIZE_MAX, at, 0, line_of(p, at), op->var, op->negate, !good};
            break;
        case TAG_ELSE:
            if (ignored > 0)
                break;
            if (b == NULL) {
                error_at(p, at, "{{else}} belongs between {{#if NAME}} and {{/if}}",
                         "{{else}} without {{#if}}");
            } else if (b->else_op != SIZE_MAX) {
                char hint[64];
                snprintf(hint, sizeof hint, "the first {{else}} of that {{#if}} is on line %d",
                         line_of(p, b->else_at));
                error_at(p, at, hint, "a second {{else}} for the {{#if}} of line %d", b->line);
            } else {
                add_op(ops, OP_ELSE);
                b->else_op = ops->count - 1;
                b->else_at = at;
                ops->items[b->if_op].jump = ops->count;
            }
            break;
        case TAG_END:
            if (ignored > 0) {
                ignored--;
            } else if (b == NULL) {
                error_at(p, at, "every {{/if}} closes one {{#if NAME}} before it", "{{/if}} without {{#if}}");
            } else {
                ops->items[b->else_op != SIZE_MAX ? b->else_op : b->if_op].jump = ops->count;
                depth--;
            }
            break;
        }
    }
    add_text(ops, p->text + lit, end - lit);
    for (size_t k = depth; k-- > 0;)
        if (!stack[k].broken && stack[k].var != SIZE_MAX)
            error_at(p, stack[k].at,
                     body ? "end it with {{/if}}"
                          : "a condition in the subject ends on the Subject: line, with {{/if}}",
                     "{{#if %s%s}} is not closed%s", stack[k].negate ? "not " : "", t->names[stack[k].var],
                     body ? "" : " in the subject");
    free(stack);
}

/* ------------------------------------------------------------------------ */
/* The header part.                                                        */

/* Only spaces and tabs (and line ends, with LINES). */
static bool is_blank_text(const char *s, size_t n, bool lines)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i]) && !(lines && s[i] == '\n'))
            return false;
    return true;
}

/* Reports an unknown header; true when the hint was "did you mean Subject". */
static bool unknown_header(struct parser *p, size_t at, size_t n)
{
    char name[40];
    snprintf(name, sizeof name, "%.*s", (int)(n < 32 ? n : 32), p->text + at);
    static const char *const languages[] = {"Language", "Lang", "Content-Language"};
    static const char *const mail[] = {
        "From",       "To",           "Cc",           "Bcc",        "Reply-To",
        "Sender",     "Return-Path",  "Message-ID",   "Date",       "In-Reply-To",
        "References", "Content-Type", "MIME-Version", "Precedence", "Auto-Submitted"};
    const char *hint = NULL;
    for (size_t i = 0; i < sizeof languages / sizeof languages[0]; i++)
        if (strcasecmp(name, languages[i]) == 0)
            hint = "the language is part of the file name: NAME.LANG.tmpl, as in default.de.tmpl";
    for (size_t i = 0; i < sizeof mail / sizeof mail[0]; i++)
        if (strcasecmp(name, mail[i]) == 0)
            hint = "helpgate writes the addresses and the other headers itself; a template sets only the "
                   "Subject";
    const char *const subject[] = {"Subject"};
    bool subject_meant = hint == NULL && hg_suggest(name, subject, 1) != NULL;
    if (subject_meant)
        hint = "did you mean \"Subject\"?";
    if (hint == NULL)
        hint = "the only header of a template is Subject:; the text starts after the first blank line";
    error_at(p, at, hint, "unknown header \"%s\"", name);
    return subject_meant;
}

struct parts {
    size_t subject_start, subject_end; /* SIZE_MAX when there is none */
    size_t body_start;                 /* SIZE_MAX when there is none */
};

/*
 * Reads the header part: comment lines and blank lines, then the Subject:
 * line (and comment lines), then a blank line. Finds where the subject and
 * the text are.
 */
static void read_headers(struct parser *p, struct parts *parts)
{
    const char *t = p->text;
    size_t pos = 0;
    bool seen_header = false, misplaced = false, subject_meant = false;
    int subject_line = 0;
    parts->subject_start = parts->subject_end = parts->body_start = SIZE_MAX;
    while (pos < p->len) {
        const char *nl = memchr(t + pos, '\n', p->len - pos);
        size_t eol = nl != NULL ? (size_t)(nl - t) : p->len, next = nl != NULL ? eol + 1 : p->len;
        if (is_blank_text(t + pos, eol - pos, false)) {
            if (seen_header) {
                parts->body_start = next;
                break;
            }
            pos = next;
            continue;
        }
        if (t[pos] == '#') {
            pos = next;
            continue;
        }
        size_t k = pos;
        while (k < eol && (is_letter(t[k]) || is_digit(t[k]) || t[k] == '-'))
            k++;
        size_t colon = skip_spaces(t, k, eol); /* "Subject :" is forgiven */
        if (k == pos || colon == eol || t[colon] != ':') {
            char found[MAX_FOUND + 8];
            describe(t + pos, eol - pos, found, sizeof found);
            if (is_space(t[pos])) {
                error_at(p, pos, "write the header on one line, from its first column",
                         "a header line cannot start with a space");
                pos = next;
                continue;
            }
            if (seen_header)
                error_at(p, pos, "leave one empty line between the Subject: line and the text",
                         "expected a blank line after the Subject: line, found %s", found);
            else
                error_at(p, pos,
                         "a template starts with a line such as Subject: Re: {{subject}} {{ticket_tag}}, "
                         "then a blank line, then the text",
                         "expected the Subject: line, found %s", found);
            misplaced = true;
            parts->body_start = pos; /* read on as text, for more errors */
            break;
        }
        seen_header = true;
        if (k - pos == 7 && strncasecmp(t + pos, "Subject", 7) == 0) {
            size_t v = skip_spaces(t, colon + 1, eol), e = eol;
            while (e > v && is_space(t[e - 1]))
                e--;
            if (subject_line > 0) {
                char hint[64];
                snprintf(hint, sizeof hint, "the first is on line %d; keep one", subject_line);
                error_at(p, pos, hint, "a second Subject: line");
            } else if (v == e) {
                subject_line = line_of(p, pos);
                error_at(p, colon + 1, "write the subject after \"Subject:\", as in Subject: Re: {{subject}}",
                         "the Subject: line is empty");
            } else {
                subject_line = line_of(p, pos);
                parts->subject_start = v;
                parts->subject_end = e;
            }
        } else {
            subject_meant = unknown_header(p, pos, k - pos) || subject_meant;
        }
        pos = next;
    }
    if (subject_line == 0 && !misplaced && !subject_meant)
        error_line(p, 0, 0,
                   "start the file with a line such as Subject: Re: {{subject}} {{ticket_tag}}, then a "
                   "blank line, then the text",
                   "the template has no Subject: line");
    if (seen_header && !misplaced &&
        (parts->body_start == SIZE_MAX ||
         is_blank_text(t + parts->body_start, p->len - parts->body_start, true))) {
        size_t at = parts->body_start != SIZE_MAX ? parts->body_start : p->len;
        int line, col;
        position(p, at, &line, &col);
        error_line(p, line, 0, "after the Subject: line, leave one blank line and write the text",
                   "the template has no text");
        parts->body_start = SIZE_MAX;
    }
}

/* ------------------------------------------------------------------------ */
/* Compiling.                                                              */

struct hg_template *hg_template_compile(const char *text, size_t len, const char *const *known,
                                        size_t n_known, const struct hg_template_limits *limits,
                                        struct hg_template_errors *errors)
{
    struct parser p = {.errors = errors, .known = known, .n_known = known != NULL ? n_known : 0};
    if (limits != NULL)
        p.lim = *limits;
    if (p.lim.max_template_size == 0)
        p.lim.max_template_size = DEFAULT_MAX_TEMPLATE;
    if (p.lim.max_subject == 0)
        p.lim.max_subject = DEFAULT_MAX_SUBJECT;
    if (p.lim.max_body == 0)
        p.lim.max_body = DEFAULT_MAX_BODY;
    if (p.lim.max_depth == 0)
        p.lim.max_depth = DEFAULT_MAX_DEPTH;
    p.first_error = errors->count;
    if (text == NULL)
        len = 0;
    if (len > p.lim.max_template_size) {
        error_line(&p, 0, 0, "keep templates short: they are read by people",
                   "the template is larger than %zu bytes", p.lim.max_template_size);
        return NULL;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* byte order mark */
        text += 3;
        len -= 3;
    }
    if (!check_bytes(&p, text, len))
        return NULL;
    char *copy = lf_copy(text, len, &p.len);
    p.text = copy;
    p.cur_off = 0;
    p.cur_line = 1;
    p.cur_line_start = 0;

    struct hg_template *t = hg_xcalloc(1, sizeof(*t));
    t->lim = p.lim;
    struct parts parts;
    read_headers(&p, &parts);
    if (parts.subject_start != SIZE_MAX)
        compile_part(&p, t, parts.subject_start, parts.subject_end, false, &t->subject);
    if (parts.body_start != SIZE_MAX)
        compile_part(&p, t, parts.body_start, p.len, true, &t->body);
    free(copy);
    if (errors->count == p.first_error)
        return t;
    size_t n = errors->count - p.first_error - (p.gave_up ? 1 : 0); /* "too many errors" stays last */
    qsort(errors->items + p.first_error, n, sizeof(*errors->items), compare_errors);
    hg_template_free(&t);
    return NULL;
}

void hg_template_free(struct hg_template **t)
{
    if (*t == NULL)
        return;
    free_ops(&(*t)->subject);
    free_ops(&(*t)->body);
    for (size_t i = 0; i < (*t)->n_names; i++)
        free((*t)->names[i]);
    free((*t)->names);
    free(*t);
    *t = NULL;
}

/* ------------------------------------------------------------------------ */
/* Rendering.                                                              */

struct emitter {
    struct hg_buf b;
    bool subject;
    bool space; /* subject: a space is due before the next character */
    bool full;
    unsigned cut_flag;
    unsigned *flags;
};

/* Appends what fits of S (N bytes), cut at a character boundary. */
static void put(struct emitter *e, const char *s, size_t n)
{
    if (e->full || hg_buf_append(&e->b, s, n) == 0)
        return;
    hg_buf_append(&e->b, s, hg_utf8_cut(s, n, e->b.max - e->b.len));
    e->full = true;
    *e->flags |= e->cut_flag;
}

/* Is the character of N bytes at S a space or a control character in a subject? */
static bool subject_blank(const unsigned char *s, size_t n)
{
    if (n == 1)
        return s[0] <= 0x20 || s[0] == 0x7f;
    if (n == 2) /* C1 controls U+0080..U+009F */
        return s[0] == 0xC2 && s[1] <= 0x9F;
    return n == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9); /* U+2028, U+2029 */
}

static void emit_subject(struct emitter *e, const char *s, size_t len)
{
    for (size_t i = 0; i < len && !e->full;) {
        size_t n = utf8_len(s + i, len - i);
        if (n > 0 && subject_blank((const unsigned char *)s + i, n)) {
            e->space = e->space || e->b.len > 0;
            i += n;
            continue;
        }
        if (e->space)
            put(e, " ", 1);
        e->space = false;
        if (n == 0) {
            *e->flags |= HG_TEMPLATE_REPAIRED;
            put(e, replacement, 3);
            i++;
        } else {
            put(e, s + i, n);
            i += n;
        }
    }
}

static void emit_body(struct emitter *e, const char *s, size_t len)
{
    for (size_t i = 0; i < len && !e->full;) {
        size_t j = i;
        while (j < len && (unsigned char)s[j] < 0x80 && s[j] != '\r')
            j++;
        if (j > i) {
            put(e, s + i, j - i);
            i = j;
            continue;
        }
        if (s[i] == '\r') { /* CRLF and CR alone become LF */
            put(e, "\n", 1);
            i += i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
            continue;
        }
        size_t n = utf8_len(s + i, len - i);
        if (n == 0) {
            *e->flags |= HG_TEMPLATE_REPAIRED;
            put(e, replacement, 3);
            i++;
        } else {
            put(e, s + i, n);
            i += n;
        }
    }
}

static void emit(struct emitter *e, const char *s, size_t len)
{
    if (e->subject)
        emit_subject(e, s, len);
    else
        emit_body(e, s, len);
}

/* The value of one of the template's variables for one rendering, looked at once. */
struct value {
    const char *s; /* NULL: no value */
    size_t len;
    bool blank;  /* no value, or only spaces and line ends */
    bool truthy; /* a condition on it holds */
};

static void run(const struct ops *ops, const struct value *values, struct emitter *e)
{
    size_t pc = 0;
    while (pc < ops->count && !e->full) {
        const struct op *op = &ops->items[pc];
        switch (op->type) {
        case OP_TEXT:
            emit(e, op->text, op->len);
            pc++;
            break;
        case OP_VAR:
            if (op->text != NULL && values[op->var].blank)
                emit(e, op->text, op->len);
            else if (values[op->var].s != NULL)
                emit(e, values[op->var].s, values[op->var].len);
            pc++;
            break;
        case OP_IF:
            pc = values[op->var].truthy != op->negate ? pc + 1 : op->jump;
            break;
        case OP_ELSE:
            pc = op->jump;
            break;
        }
    }
}

void hg_template_render(const struct hg_template *t, const struct hg_template_var *vars, size_t n_vars,
                        struct hg_template_output *out)
{
    *out = (struct hg_template_output){0};
    struct value values[MAX_VARIABLES];
    for (size_t i = 0; i < t->n_names; i++) {
        const char *v = NULL;
        for (size_t k = 0; k < n_vars && v == NULL; k++)
            if (vars[k].name != NULL && vars[k].value != NULL && strcasecmp(vars[k].name, t->names[i]) == 0)
                v = vars[k].value;
        values[i] = (struct value){v, v != NULL ? strlen(v) : 0, is_blank(v), truthy(v)};
    }

    struct emitter e = {.subject = true, .cut_flag = HG_TEMPLATE_SUBJECT_CUT, .flags = &out->flags};
    hg_buf_init(&e.b, t->lim.max_subject);
    run(&t->subject, values, &e);
    while (e.b.len > 0 && e.b.data[e.b.len - 1] == ' ') /* a space put before a character that was cut */
        e.b.data[--e.b.len] = '\0';
    out->subject_len = e.b.len;
    out->subject = hg_buf_steal(&e.b);

    e = (struct emitter){.cut_flag = HG_TEMPLATE_BODY_CUT, .flags = &out->flags};
    hg_buf_init(&e.b, t->lim.max_body);
    run(&t->body, values, &e);
    out->body_len = e.b.len;
    out->body = hg_buf_steal(&e.b);
}

void hg_template_output_free(struct hg_template_output *out)
{
    free(out->subject);
    free(out->body);
    *out = (struct hg_template_output){0};
}

/* ------------------------------------------------------------------------ */
/* Choosing the file.                                                      */

bool hg_template_name_valid(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.')
        return false;
    size_t n = 0;
    for (; name[n] != '\0'; n++)
        if (n == MAX_TEMPLATE_NAME || !is_name_char(name[n]))
            return false;
    return true;
}

/* A language tag: subtags of 1 to 8 letters and digits, joined by '-' or '_', the first letters only. */
static bool language_valid(const char *lang)
{
    size_t n = 0, sub = 0, subtags = 0;
    for (;; n++) {
        char c = lang[n];
        if (c == '\0' || c == '-' || c == '_') {
            if (sub == 0 || sub > 8)
                return false;
            subtags++;
            sub = 0;
            if (c == '\0')
                break;
            continue;
        }
        if (n == MAX_LANGUAGE || !(is_letter(c) || (is_digit(c) && subtags > 0)))
            return false;
        sub++;
    }
    return n > 0;
}

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c == '_' ? '-' : c;
}

/* Is FILE NAME.tmpl (LANG NULL) or NAME.LANG.tmpl with LANG's first LANG_LEN bytes? */
static bool file_matches(const char *file, const char *name, const char *lang, size_t lang_len)
{
    size_t n = strlen(name);
    if (strncmp(file, name, n) != 0)
        return false;
    file += n;
    if (lang != NULL) {
        if (*file++ != '.')
            return false;
        for (size_t i = 0; i < lang_len; i++)
            if (file[i] == '\0' || fold(file[i]) != fold(lang[i]))
                return false;
        file += lang_len;
    }
    return strcmp(file, ".tmpl") == 0;
}

static const char *find_file(const char *name, const char *lang, size_t lang_len, const char *const *files,
                             size_t n_files)
{
    for (size_t i = 0; i < n_files; i++)
        if (files[i] != NULL && file_matches(files[i], name, lang, lang_len))
            return files[i];
    return NULL;
}

const char *hg_template_choose(const char *name, const char *const *languages, size_t n_languages,
                               const char *const *files, size_t n_files)
{
    if (!hg_template_name_valid(name) || (files == NULL && n_files > 0))
        return NULL;
    size_t used = 0;
    for (size_t i = 0; languages != NULL && i < n_languages && used < MAX_LANGUAGES; i++) {
        const char *lang = languages[i];
        if (lang == NULL || !language_valid(lang))
            continue;
        used++;
        size_t len = strlen(lang);
        for (;;) {
            const char *found = find_file(name, lang, len, files, n_files);
            if (found != NULL)
                return found;
            while (len > 0 && lang[len - 1] != '-' && lang[len - 1] != '_')
                len--;
            if (len == 0)
                break;
            len--; /* the separator */
            if (len >= 2 && (lang[len - 2] == '-' || lang[len - 2] == '_'))
                len -= 2; /* RFC 4647: a single-character subtag such as "x" goes with what follows it */
        }
    }
    return find_file(name, NULL, 0, files, n_files);
}
