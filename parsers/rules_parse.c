/*
 * rules_parse.c — reads a rules file into a compiled rule set (see rules.h,
 * the language in helpgate.rules(5)).
 *
 * Two passes. The first reads statements in file order into rules, lists,
 * calendars and SLA policies; a statement with an error is reported and
 * skipped up to the next line that starts a statement, so one run reports
 * every error it can. The second resolves what may be defined later in the
 * file (lists, calendars, policies) and compiles every test once: text tests
 * become PCRE2 patterns (literals escaped, caseless, UTF), large ASCII lists
 * for `in` become sorted sets.
 */
#include "rules_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/located.h"
#include "helpgate/charset.h"
#include "helpgate/suggest.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    DEFAULT_MAX_FILE = 4 * 1024 * 1024,
    DEFAULT_MAX_LIST = 16 * 1024 * 1024,
    DEFAULT_MAX_RULES = 10000,
    DEFAULT_MAX_DEPTH = 64,
    MAX_ERRORS = 100,
    MAX_NAME = 200, /* rule names */
    MAX_WORD = 128, /* tags, queues, templates, SLA names, list and calendar names */
    MAX_LIST_ITEMS = 1000000,
    SET_THRESHOLD = 16,            /* `in` lists longer than this (all ASCII) use a sorted set */
    MAX_PATTERN = 8 * 1024 * 1024, /* bytes of a pattern built from a list */
};

/* The keywords of one field's `contains` tests, gathered while compiling. */
struct ac_builder {
    struct rules_ac_keyword *keywords; /* text owned */
    size_t count;
    uint32_t slots;
};

struct parser {
    struct lexer lx;
    struct ac_builder ac[N_FIELD_IDS];
    const char *text;
    const char *filename;
    struct hg_rules *r;
    struct hg_rules_errors *errors;
    const struct hg_rules_loader *loader;
    struct hg_rules_limits lim;
    unsigned depth;
    bool gave_up; /* too many errors */
};

/* ------------------------------------------------------------------------ */
/* Errors.                                                                 */

void hg_rules_errors_init(struct hg_rules_errors *errors)
{
    errors->items = NULL;
    errors->count = 0;
}

void hg_rules_errors_free(struct hg_rules_errors *errors)
{
    for (size_t i = 0; i < errors->count; i++) {
        free(errors->items[i].message);
        free(errors->items[i].hint);
    }
    free(errors->items);
    hg_rules_errors_init(errors);
}

char *hg_rules_error_format(const struct hg_rules_errors *errors, size_t i, const char *filename)
{
    const struct hg_rules_error *e = &errors->items[i];
    return hg_located_error_format(filename, e->line, e->col, e->message, e->hint);
}

__attribute__((format(printf, 5, 6))) static void add_error(struct parser *p, int line, int col,
                                                            const char *hint, const char *fmt, ...)
{
    if (p->gave_up)
        return;
    if (p->errors->count == MAX_ERRORS) {
        p->gave_up = true;
        line = col = 0;
        hint = NULL;
        fmt = "too many errors; stopped here";
    }
    p->errors->items = hg_xrealloc(p->errors->items, (p->errors->count + 1) * sizeof(*p->errors->items));
    struct hg_rules_error *e = &p->errors->items[p->errors->count++];
    va_list ap;
    va_start(ap, fmt);
    e->message = hg_xvasprintf(fmt, ap);
    va_end(ap);
    e->line = line;
    e->col = col;
    e->hint = hint != NULL ? hg_xstrdup(hint) : NULL;
}

static const struct token *cur(struct parser *p)
{
    return rules_peek(&p->lx, 0);
}

static const struct token *next(struct parser *p)
{
    return rules_peek(&p->lx, 1);
}

static void advance(struct parser *p)
{
    rules_advance(&p->lx);
}

/* "expected WHAT, found TOKEN" at the current token. */
static void expected(struct parser *p, const char *what, const char *hint)
{
    const struct token *t = cur(p);
    if (t->type == TOK_ERROR) {
        add_error(p, t->line, t->col, NULL, "%s", t->text);
        return;
    }
    char found[96];
    rules_describe_token(t, found, sizeof found);
    add_error(p, t->line, t->col, hint, "expected %s, found %s", what, found);
}

static bool is_word(const struct token *t, const char *word)
{
    return t->type == TOK_WORD && strcmp(t->text, word) == 0;
}

static bool accept_word(struct parser *p, const char *word)
{
    if (!is_word(cur(p), word))
        return false;
    advance(p);
    return true;
}

static const char *const statement_words[] = {"rule", "list", "hours", "sla", "timezone"};
#define N_STATEMENT_WORDS (sizeof statement_words / sizeof statement_words[0])

/* The words that start a line inside an `sla` block. */
static const char *const sla_line_words[] = {"first", "resolution", "hours", "warn", "on"};
#define N_SLA_LINE_WORDS (sizeof sla_line_words / sizeof sla_line_words[0])

static bool starts_sla_line(const struct token *t)
{
    if (t->type != TOK_WORD || !t->line_start)
        return false;
    for (size_t i = 0; i < N_SLA_LINE_WORDS; i++)
        if (strcmp(t->text, sla_line_words[i]) == 0)
            return true;
    return false;
}

/*
 * The current token starts a statement: a statement word first on its line.
 * "sla NAME" on a line of its own is also the action of a rule written one per
 * line; it is the statement when a policy line (first response ...) follows.
 */
static bool starts_statement(struct parser *p)
{
    const struct token *t = cur(p);
    if (t->type != TOK_WORD || !t->line_start)
        return false;
    if (strcmp(t->text, "sla") == 0)
        return !next(p)->line_start && starts_sla_line(rules_peek(&p->lx, 2));
    for (size_t i = 0; i < N_STATEMENT_WORDS; i++)
        if (strcmp(t->text, statement_words[i]) == 0)
            return true;
    return false;
}

/*
 * After an error: skip to the next line that starts a statement, or past the
 * next line that is "end" (the end of the broken rule or calendar), or to the
 * end of the file.
 */
static void recover(struct parser *p)
{
    if (cur(p)->type != TOK_EOF && !(is_word(cur(p), "end") && cur(p)->line_start))
        advance(p);
    while (cur(p)->type != TOK_EOF && !starts_statement(p)) {
        bool end_line = is_word(cur(p), "end") && cur(p)->line_start;
        advance(p);
        if (end_line)
            return;
    }
}

/* ------------------------------------------------------------------------ */
/* Small values.                                                           */

static bool valid_name_chars(const char *s)
{
    if (*s == '\0' || *s == '.' || strlen(s) > MAX_WORD)
        return false;
    for (; *s != '\0'; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* A text value without control characters, at most MAX bytes. */
static bool valid_text(const char *s, size_t max)
{
    if (*s == '\0' || strlen(s) > max)
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* A name (word or string) for a queue, template, SLA policy: letters, digits, - _ . */
static char *read_name(struct parser *p, const char *what)
{
    const struct token *t = cur(p);
    if ((t->type == TOK_WORD || t->type == TOK_STRING) && valid_name_chars(t->text)) {
        char *name = hg_xstrdup(t->text);
        advance(p);
        return name;
    }
    char message[64];
    snprintf(message, sizeof message, "a %s name", what);
    expected(p, message, "names are letters, digits, '-', '_' and '.', at most 128, not starting with '.'");
    return NULL;
}

static int read_tier(struct parser *p, const char *after)
{
    const struct token *t = cur(p);
    if (t->type == TOK_WORD && (t->text[0] == 'L' || t->text[0] == 'l') && t->text[1] >= '1' &&
        t->text[1] <= '3' && t->text[2] == '\0') {
        int tier = t->text[1] - '0';
        advance(p);
        return tier;
    }
    char what[64];
    snprintf(what, sizeof what, "L1, L2 or L3 after \"%s\"", after);
    expected(p, what, NULL);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Fields.                                                                 */

static const struct field_info fields[] = {
    {"channel", F_CHANNEL, KIND_TEXT, false, false},
    {"from", F_FROM, KIND_TEXT, false, false},
    {"from.domain", F_FROM_DOMAIN, KIND_TEXT, false, false},
    {"from.name", F_FROM_NAME, KIND_TEXT, false, false},
    {"recipient", F_RECIPIENT, KIND_TEXT, false, false},
    {"subject", F_SUBJECT, KIND_TEXT, false, false},
    {"body", F_BODY, KIND_TEXT, false, false},
    {"reply", F_REPLY, KIND_TEXT, false, false},
    {"header.", F_HEADER, KIND_TEXT, true, false},
    {"attachment.count", F_ATTACHMENT_COUNT, KIND_NUMBER, false, false},
    {"attachment.type", F_ATTACHMENT_TYPE, KIND_TEXT, true, false},
    {"attachment.name", F_ATTACHMENT_NAME, KIND_TEXT, true, false},
    {"auto", F_AUTO, KIND_TEXT, false, false},
    {"customer.tier", F_CUSTOMER_TIER, KIND_TEXT, false, false},
    {"customer.custom-code", F_CUSTOMER_CUSTOM_CODE, KIND_BOOL, false, false},
    {"customer.company", F_CUSTOMER_COMPANY, KIND_TEXT, false, false},
    {"customer.open-tickets", F_CUSTOMER_OPEN_TICKETS, KIND_NUMBER, false, false},
    {"customer.new", F_CUSTOMER_NEW, KIND_BOOL, false, false},
    {"time.weekday", F_TIME_WEEKDAY, KIND_TEXT, false, true},
    {"time.hour", F_TIME_HOUR, KIND_NUMBER, false, true},
    {"time.date", F_TIME_DATE, KIND_TEXT, false, true},
    {"hours.", F_HOURS, KIND_BOOL, false, true},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

const struct field_info *rules_fields(size_t *count_r)
{
    *count_r = N_FIELDS;
    return fields;
}

static const struct field_info *find_field(const char *word, const char **arg_r)
{
    *arg_r = NULL;
    for (size_t i = 0; i < N_FIELDS; i++) {
        size_t n = strlen(fields[i].name);
        if (fields[i].name[n - 1] == '.') {
            if (strncmp(word, fields[i].name, n) == 0 && word[n] != '\0') {
                *arg_r = word + n;
                return &fields[i];
            }
        } else if (strcmp(word, fields[i].name) == 0) {
            return &fields[i];
        }
    }
    return NULL;
}

static void unknown_field(struct parser *p, const struct token *t)
{
    const char *names[N_FIELDS];
    char with_arg[2][32];
    for (size_t i = 0; i < N_FIELDS; i++)
        names[i] = fields[i].name;
    /* "header." and "hours." alone are never right; suggest them with the typed suffix. */
    const char *dot = strchr(t->text, '.');
    snprintf(with_arg[0], sizeof with_arg[0], "header.%s", dot != NULL ? dot + 1 : "");
    snprintf(with_arg[1], sizeof with_arg[1], "hours.%s", dot != NULL ? dot + 1 : "");
    names[8] = dot != NULL ? with_arg[0] : NULL;
    names[N_FIELDS - 1] = dot != NULL ? with_arg[1] : NULL;
    const char *near = hg_suggest(t->text, names, N_FIELDS);
    char hint[160];
    if (near != NULL)
        snprintf(hint, sizeof hint, "did you mean \"%s\"?", near);
    else
        snprintf(hint, sizeof hint,
                 "fields are listed in helpgate.rules(5), e.g. subject, from.domain, "
                 "customer.tier, header.NAME");
    char found[96];
    rules_describe_token(t, found, sizeof found);
    add_error(p, t->line, t->col, hint, "unknown field %s", found);
}

/* ------------------------------------------------------------------------ */
/* Conditions.                                                             */

static struct node *parse_or(struct parser *p);

static struct node *new_node(enum node_type type, struct node *left, struct node *right)
{
    struct node *n = hg_xcalloc(1, sizeof(*n));
    n->type = type;
    n->left = left;
    n->right = right;
    return n;
}

static void free_test(struct test *t)
{
    if (t == NULL)
        return;
    free(t->field_arg);
    pcre2_code_free(t->re);
    for (size_t i = 0; i < t->set.count; i++)
        free(t->set.items[i]);
    free(t->set.items);
    free(t->source);
    for (size_t i = 0; i < t->n_items; i++)
        free(t->items[i]);
    free(t->items);
    free(t->list_name);
    free(t->pattern);
    free(t);
}

void rules_free_node(struct node *n)
{
    if (n == NULL)
        return;
    rules_free_node(n->left);
    rules_free_node(n->right);
    free_test(n->test);
    free(n);
}

/* Reads an operator for a text field into T; false after an error. */
static bool read_text_operator(struct parser *p, struct test *t)
{
    const struct token *k = cur(p);
    if (k->type == TOK_OP && (strcmp(k->text, "=") == 0 || strcmp(k->text, "!=") == 0)) {
        t->op = k->text[0] == '=' ? OP_IS : OP_IS_NOT;
    } else if (is_word(k, "is")) {
        t->op = is_word(next(p), "not") ? OP_IS_NOT : OP_IS;
        if (t->op == OP_IS_NOT)
            advance(p);
    } else if (is_word(k, "contains")) {
        t->op = OP_CONTAINS;
    } else if (is_word(k, "starts") || is_word(k, "ends")) {
        t->op = k->text[0] == 's' ? OP_STARTS : OP_ENDS;
        if (!is_word(next(p), "with")) {
            advance(p);
            expected(p, "\"with\"", NULL);
            return false;
        }
        advance(p);
    } else if (is_word(k, "matches")) {
        t->op = OP_MATCHES;
    } else if (is_word(k, "in")) {
        t->op = OP_IN;
    } else if (is_word(k, "not") && is_word(next(p), "in")) {
        t->op = OP_NOT_IN;
        advance(p);
    } else if (is_word(k, "exists")) {
        t->op = OP_EXISTS;
    } else {
        if (k->type == TOK_OP)
            add_error(p, k->line, k->col, "use is, is not, contains, starts with, ends with, matches, in",
                      "\"%s\" compares numbers, and this field is text", k->text);
        else
            expected(
                p, "an operator (is, is not, contains, starts with, ends with, matches, in, not in, exists)",
                NULL);
        return false;
    }
    advance(p);
    return true;
}

static bool read_number_operator(struct parser *p, struct test *t)
{
    const struct token *k = cur(p);
    static const struct {
        const char *text;
        enum op op;
    } ops[] = {{"=", OP_EQ}, {"!=", OP_NE}, {"<", OP_LT}, {"<=", OP_LE}, {">", OP_GT}, {">=", OP_GE}};
    if (k->type == TOK_OP) {
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (strcmp(k->text, ops[i].text) == 0)
                t->op = ops[i].op;
        advance(p);
        return true;
    }
    if (is_word(k, "is")) {
        t->op = OP_EQ;
        advance(p);
        if (accept_word(p, "not"))
            t->op = OP_NE;
        return true;
    }
    if (k->type == TOK_WORD && (is_word(k, "contains") || is_word(k, "matches") || is_word(k, "in") ||
                                is_word(k, "starts") || is_word(k, "ends"))) {
        add_error(p, k->line, k->col,
                  "use =, !=, <, <=, >, >=", "\"%s\" works on text, and this field is a number", k->text);
        return false;
    }
    expected(p, "a comparison (=, !=, <, <=, >, >=)", NULL);
    return false;
}

static bool read_number(struct parser *p, long *out)
{
    const struct token *t = cur(p);
    if (t->type == TOK_NUMBER) {
        errno = 0;
        char *end;
        long v = strtol(t->text, &end, 10);
        if (*end == '\0' && errno == 0) {
            *out = v;
            advance(p);
            return true;
        }
    }
    expected(p, "a whole number", NULL);
    return false;
}

static void add_item(char ***items, size_t *count, const char *text)
{
    *items = hg_xrealloc(*items, (*count + 1) * sizeof(**items));
    (*items)[(*count)++] = hg_xstrdup(text);
}

/* A value that is one text: a string, a word or a number. */
static bool is_text_value(const struct token *t)
{
    return t->type == TOK_STRING || t->type == TOK_WORD || t->type == TOK_NUMBER;
}

/* [ "a", "b" ]: into T's items. */
static bool read_inline_list(struct parser *p, struct test *t)
{
    advance(p); /* [ */
    while (cur(p)->type != TOK_RBRACKET) {
        if (!is_text_value(cur(p))) {
            expected(p, "a value or ]", "an inline list looks like [\"a\", \"b\"]");
            return false;
        }
        add_item(&t->items, &t->n_items, cur(p)->text);
        advance(p);
        if (cur(p)->type == TOK_COMMA)
            advance(p);
        else if (cur(p)->type != TOK_RBRACKET) {
            expected(p, "a comma or ]", NULL);
            return false;
        }
    }
    advance(p); /* ] */
    return true;
}

static bool read_text_value(struct parser *p, struct test *t)
{
    const struct token *v = cur(p);
    t->value_line = v->line;
    t->value_col = v->col;
    if (t->op == OP_EXISTS)
        return true;
    if (t->op == OP_MATCHES) {
        if (v->type != TOK_REGEX && v->type != TOK_STRING) {
            expected(p, "a regular expression (/.../ or \"...\") after \"matches\"", NULL);
            return false;
        }
        t->pattern = hg_xstrdup(v->text);
        snprintf(t->flags, sizeof t->flags, "%s", v->flags);
        advance(p);
        return true;
    }
    if (v->type == TOK_LIST) {
        t->list_name = hg_xstrdup(v->text);
        advance(p);
        return true;
    }
    if (v->type == TOK_LBRACKET)
        return read_inline_list(p, t);
    if ((t->op == OP_IN || t->op == OP_NOT_IN)) {
        expected(p, "a list (@name or [\"a\", \"b\"])", "to compare with one value use is or is not");
        return false;
    }
    if (!is_text_value(v)) {
        expected(p, "a value (\"text\", a word, @list or [list])", NULL);
        return false;
    }
    add_item(&t->items, &t->n_items, v->text);
    advance(p);
    return true;
}

/* `customer.custom-code is yes` and friends: true for yes/true, false for no/false. */
static bool read_bool_comparison(struct parser *p, struct test *t, bool *negate_r)
{
    advance(p); /* is */
    bool negate = accept_word(p, "not");
    const struct token *v = cur(p);
    bool yes = is_word(v, "yes") || is_word(v, "true");
    if (!yes && !is_word(v, "no") && !is_word(v, "false")) {
        expected(p, "yes or no",
                 "a yes/no field can also stand alone: customer.custom-code, not hours.business");
        return false;
    }
    advance(p);
    t->op = OP_TRUE;
    *negate_r = negate == yes;
    return true;
}

static char *collapse_source(struct parser *p, size_t from, size_t to)
{
    char *s = hg_xmalloc(to - from + 1);
    size_t n = 0;
    bool space = false;
    for (size_t i = from; i < to; i++) {
        char c = p->text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = n > 0;
            continue;
        }
        if (space)
            s[n++] = ' ';
        space = false;
        s[n++] = c;
    }
    s[n] = '\0';
    return s;
}

static struct node *parse_test(struct parser *p)
{
    const struct token *f = cur(p);
    if (f->type != TOK_WORD) {
        expected(p, "a field (subject, from.domain, customer.tier, ...), \"not\" or \"(\"", NULL);
        return NULL;
    }
    const char *arg;
    const struct field_info *info = find_field(f->text, &arg);
    if (info == NULL) {
        unknown_field(p, f);
        return NULL;
    }
    struct test *t = hg_xcalloc(1, sizeof(*t));
    struct node *n = new_node(NODE_TEST, NULL, NULL);
    n->test = t;
    t->field = info->id;
    t->kind = info->kind;
    t->field_arg = arg != NULL ? hg_xstrdup(arg) : NULL;
    t->line = f->line;
    t->col = f->col;
    size_t start = f->offset, end = f->end;
    if (info->time)
        p->r->uses_time = true;
    advance(p);
    bool ok = true, negate = false;
    if (info->kind == KIND_BOOL) {
        if (is_word(cur(p), "is"))
            ok = read_bool_comparison(p, t, &negate);
        else
            t->op = OP_TRUE;
    } else if (info->kind == KIND_NUMBER) {
        ok = read_number_operator(p, t) && read_number(p, &t->number);
    } else {
        ok = read_text_operator(p, t) && read_text_value(p, t);
    }
    if (!ok) {
        rules_free_node(n);
        return NULL;
    }
    end = rules_peek(&p->lx, 0)->offset > end ? rules_peek(&p->lx, 0)->offset : end;
    t->source = collapse_source(p, start, end);
    return negate ? new_node(NODE_NOT, n, NULL) : n;
}

static bool deeper(struct parser *p)
{
    if (++p->depth > p->lim.max_depth) {
        const struct token *t = cur(p);
        add_error(p, t->line, t->col, "split the rule in two", "conditions nested more than %u deep",
                  p->lim.max_depth);
        return false;
    }
    return true;
}

static struct node *parse_not(struct parser *p)
{
    if (is_word(cur(p), "not")) {
        if (!deeper(p))
            return NULL;
        advance(p);
        struct node *child = parse_not(p);
        p->depth--;
        return child != NULL ? new_node(NODE_NOT, child, NULL) : NULL;
    }
    if (cur(p)->type == TOK_LPAREN) {
        if (!deeper(p))
            return NULL;
        advance(p);
        struct node *inner = parse_or(p);
        p->depth--;
        if (inner == NULL)
            return NULL;
        if (cur(p)->type != TOK_RPAREN) {
            expected(p, "\")\"", "every ( needs its )");
            rules_free_node(inner);
            return NULL;
        }
        advance(p);
        return inner;
    }
    return parse_test(p);
}

static struct node *parse_binary(struct parser *p, const char *word, enum node_type type,
                                 struct node *(*operand)(struct parser *))
{
    struct node *left = operand(p);
    while (left != NULL && is_word(cur(p), word)) {
        advance(p);
        struct node *right = operand(p);
        if (right == NULL) {
            rules_free_node(left);
            return NULL;
        }
        left = new_node(type, left, right);
    }
    return left;
}

static struct node *parse_and(struct parser *p)
{
    return parse_binary(p, "and", NODE_AND, parse_not);
}

static struct node *parse_or(struct parser *p)
{
    return parse_binary(p, "or", NODE_OR, parse_and);
}

/* ------------------------------------------------------------------------ */
/* Actions.                                                                */

static const char *const action_words[] = {"route",       "priority", "queue", "tag", "assign",
                                           "acknowledge", "notify",   "sla",   "stop"};
#define N_ACTION_WORDS (sizeof action_words / sizeof action_words[0])

static struct action *new_action(struct rule *r, enum action_type type)
{
    r->actions = hg_xrealloc(r->actions, (r->n_actions + 1) * sizeof(*r->actions));
    struct action *a = &r->actions[r->n_actions++];
    memset(a, 0, sizeof(*a));
    a->type = type;
    return a;
}

static bool parse_route(struct parser *p, struct rule *r)
{
    enum action_type type = ACT_ROUTE;
    if (is_word(cur(p), "at")) {
        advance(p);
        if (!accept_word(p, "least")) {
            expected(p, "\"least\" (route at least L2)", NULL);
            return false;
        }
        type = ACT_ROUTE_AT_LEAST;
    }
    int tier = read_tier(p, type == ACT_ROUTE ? "route" : "route at least");
    if (tier == 0)
        return false;
    new_action(r, type)->tier = (enum hg_rules_tier)tier;
    return true;
}

static bool parse_priority(struct parser *p, struct rule *r)
{
    static const char *const levels[] = {"low", "normal", "high", "urgent"};
    const struct token *t = cur(p);
    for (size_t i = 0; i < 4; i++)
        if (is_word(t, levels[i])) {
            new_action(r, ACT_PRIORITY)->text = hg_xstrdup(levels[i]);
            advance(p);
            return true;
        }
    expected(p, "low, normal, high or urgent after \"priority\"", NULL);
    return false;
}

static bool parse_named(struct parser *p, struct rule *r, enum action_type type, const char *what)
{
    char *name = read_name(p, what);
    if (name == NULL)
        return false;
    new_action(r, type)->text = name;
    return true;
}

static bool parse_tag(struct parser *p, struct rule *r)
{
    size_t before = r->n_actions;
    do {
        const struct token *t = cur(p);
        if ((t->type != TOK_WORD && t->type != TOK_STRING) || !valid_text(t->text, MAX_WORD)) {
            expected(p, "a tag (a word or a \"string\" of at most 128 bytes)", NULL);
            return false;
        }
        new_action(r, ACT_TAG)->text = hg_xstrdup(t->text);
        advance(p);
    } while (!cur(p)->line_start && (cur(p)->type == TOK_WORD || cur(p)->type == TOK_STRING) &&
             !is_word(cur(p), "end"));
    return r->n_actions > before;
}

static bool is_address(const char *s)
{
    const char *at = strchr(s, '@');
    return at != NULL && at > s && at[1] != '\0' && strchr(at + 1, '@') == NULL && valid_text(s, 254) &&
           strchr(s, ' ') == NULL;
}

static bool parse_assign(struct parser *p, struct rule *r)
{
    const struct token *t = cur(p);
    if (t->type != TOK_STRING || !is_address(t->text)) {
        expected(p, "an agent's address in quotes after \"assign\"", "assign \"ann@example.com\"");
        return false;
    }
    new_action(r, ACT_ASSIGN)->text = hg_xstrdup(t->text);
    advance(p);
    return true;
}

static bool parse_acknowledge(struct parser *p, struct rule *r)
{
    if (accept_word(p, "none")) {
        new_action(r, ACT_ACKNOWLEDGE);
        return true;
    }
    return parse_named(p, r, ACT_ACKNOWLEDGE, "template");
}

static bool parse_notify(struct parser *p, struct rule *r)
{
    struct action a = {.type = ACT_NOTIFY};
    const struct token *t = cur(p);
    if (is_word(t, "team")) {
        bool tier_follows = !next(p)->line_start && next(p)->type == TOK_WORD && !is_word(next(p), "with") &&
                            !is_word(next(p), "end");
        advance(p);
        if (tier_follows && (a.tier = (enum hg_rules_tier)read_tier(p, "notify team")) == 0)
            return false;
    } else if (t->type == TOK_STRING && is_address(t->text)) {
        a.text = hg_xstrdup(t->text);
        advance(p);
    } else {
        expected(p, "\"team\", \"team L2\" or an agent's address in quotes after \"notify\"", NULL);
        return false;
    }
    if (!cur(p)->line_start && is_word(cur(p), "with")) {
        advance(p);
        if (!accept_word(p, "notes")) {
            expected(p, "\"notes\" (notify team L2 with notes)", NULL);
            free(a.text);
            return false;
        }
        a.with_notes = true;
    }
    *new_action(r, ACT_NOTIFY) = a;
    return true;
}

static bool parse_action(struct parser *p, struct rule *r)
{
    const struct token *t = cur(p);
    if (t->type == TOK_WORD) {
        char word[MAX_WORD + 1];
        snprintf(word, sizeof word, "%s", t->text);
        if (strcmp(word, "route") == 0 || strcmp(word, "priority") == 0 || strcmp(word, "queue") == 0 ||
            strcmp(word, "tag") == 0 || strcmp(word, "assign") == 0 || strcmp(word, "acknowledge") == 0 ||
            strcmp(word, "notify") == 0 || strcmp(word, "sla") == 0) {
            advance(p);
            switch (word[0]) {
            case 'r':
                return parse_route(p, r);
            case 'p':
                return parse_priority(p, r);
            case 'q':
                return parse_named(p, r, ACT_QUEUE, "queue");
            case 't':
                return parse_tag(p, r);
            case 'a':
                return word[1] == 's' ? parse_assign(p, r) : parse_acknowledge(p, r);
            case 'n':
                return parse_notify(p, r);
            default: {
                int line = cur(p)->line, col = cur(p)->col;
                if (!parse_named(p, r, ACT_SLA, "SLA policy"))
                    return false;
                r->actions[r->n_actions - 1].line = line;
                r->actions[r->n_actions - 1].col = col;
                return true;
            }
            }
        }
        if (strcmp(word, "stop") == 0) {
            advance(p);
            new_action(r, ACT_STOP);
            return true;
        }
        const char *near = hg_suggest(word, action_words, N_ACTION_WORDS);
        char hint[96];
        snprintf(hint, sizeof hint, "did you mean \"%s\"?", near != NULL ? near : "");
        add_error(p, t->line, t->col,
                  near != NULL
                      ? hint
                      : "actions: route, priority, queue, tag, assign, acknowledge, notify, sla, stop",
                  "unknown action \"%s\"", word);
        return false;
    }
    expected(p, "an action (route, priority, queue, tag, assign, acknowledge, notify, sla, stop)", NULL);
    return false;
}

/* Actions after `then`, up to `end`: one per line, or separated by commas. */
static bool parse_actions(struct parser *p, struct rule *r)
{
    for (;;) {
        if (!parse_action(p, r))
            return false;
        if (cur(p)->type == TOK_COMMA) {
            advance(p);
            continue;
        }
        if (is_word(cur(p), "end")) {
            advance(p);
            return true;
        }
        if (cur(p)->type == TOK_EOF) {
            add_error(p, r->line, 0, "close every rule with \"end\"", "rule \"%s\" has no \"end\"", r->name);
            return false;
        }
        if (!cur(p)->line_start) {
            expected(p, "a comma, a new line or \"end\" after the action", NULL);
            return false;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Statements.                                                             */

static struct rule *find_rule(struct hg_rules *r, const char *name)
{
    for (size_t i = 0; i < r->n_rules; i++)
        if (strcmp(r->rules[i].name, name) == 0)
            return &r->rules[i];
    return NULL;
}

static void free_rule(struct rule *r)
{
    free(r->name);
    rules_free_node(r->when);
    for (size_t i = 0; i < r->n_actions; i++)
        free(r->actions[i].text);
    free(r->actions);
}

static bool parse_rule(struct parser *p)
{
    const struct token *kw = cur(p);
    int line = kw->line;
    advance(p);
    const struct token *t = cur(p);
    if (t->type != TOK_STRING || !valid_text(t->text, MAX_NAME)) {
        expected(p, "the rule's name in quotes", "rule \"VIP customers\"");
        return false;
    }
    if (p->r->n_rules >= p->lim.max_rules) {
        add_error(p, line, 0, NULL, "more than %u rules", p->lim.max_rules);
        p->gave_up = true;
        return false;
    }
    const struct rule *same = find_rule(p->r, t->text);
    if (same != NULL) {
        char hint[64];
        snprintf(hint, sizeof hint, "the first is on line %d; give each rule its own name", same->line);
        add_error(p, t->line, t->col, hint, "a second rule named \"%s\"", t->text);
        return false;
    }
    struct rule r = {.name = hg_xstrdup(t->text), .line = line};
    advance(p);
    bool ok = true;
    if (accept_word(p, "when")) {
        r.when = parse_or(p);
        ok = r.when != NULL;
    }
    if (ok && !accept_word(p, "then")) {
        expected(p,
                 r.when != NULL ? "\"then\", \"and\" or \"or\" after the condition" : "\"when\" or \"then\"",
                 NULL);
        ok = false;
    }
    ok = ok && parse_actions(p, &r);
    if (!ok) {
        free_rule(&r);
        return false;
    }
    p->r->rules = hg_xrealloc(p->r->rules, (p->r->n_rules + 1) * sizeof(*p->r->rules));
    p->r->rules[p->r->n_rules++] = r;
    return true;
}

static struct named_list *find_list(struct hg_rules *r, const char *name)
{
    for (size_t i = 0; i < r->n_lists; i++)
        if (strcmp(r->lists[i].name, name) == 0)
            return &r->lists[i];
    return NULL;
}

static bool valid_utf8(const unsigned char *s, size_t len, size_t *bad_r);

/* The entries of a list file: one per line, blank lines and # comments skipped. */
static bool read_list_file(struct parser *p, struct named_list *l, const char *path, int line, int col)
{
    if (p->loader == NULL || p->loader->load == NULL) {
        add_error(p, line, col, NULL, "list files cannot be read here");
        return false;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    char *error = NULL;
    if (p->loader->load(p->loader->ctx, HG_RULES_LOAD_LIST, path, &data, &len, &error) < 0) {
        add_error(p, line, col, NULL, "list file \"%s\": %s", path, error != NULL ? error : "cannot be read");
        free(error);
        return false;
    }
    size_t bad;
    bool ok = len <= p->lim.max_list_size && valid_utf8(data, len, &bad) && memchr(data, '\0', len) == NULL;
    if (!ok) {
        add_error(p, line, col, NULL, "list file \"%s\" is %s", path,
                  len > p->lim.max_list_size ? "too large" : "not UTF-8 text");
        free(data);
        return false;
    }
    const char *s = (const char *)data, *end = s + len;
    while (s < end && l->count < MAX_LIST_ITEMS) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        if (eol == NULL)
            eol = end;
        const char *a = s, *b = eol;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
            b--;
        if (a < b && *a != '#') {
            char *item = hg_xstrndup(a, (size_t)(b - a));
            add_item(&l->items, &l->count, item);
            free(item);
        }
        s = eol + 1;
    }
    free(data);
    return true;
}

static bool parse_list(struct parser *p)
{
    int line = cur(p)->line;
    advance(p);
    const struct token *t = cur(p);
    if (t->type != TOK_WORD || !valid_name_chars(t->text)) {
        expected(p, "the list's name", "list vip_domains = \"bigcorp.example\", \"acme.example\"");
        return false;
    }
    if (find_list(p->r, t->text) != NULL) {
        add_error(p, t->line, t->col, NULL, "a second list named \"%s\"", t->text);
        return false;
    }
    struct named_list l = {.name = hg_xstrdup(t->text), .line = line};
    advance(p);
    bool ok = true;
    if (cur(p)->type != TOK_OP || strcmp(cur(p)->text, "=") != 0) {
        expected(p, "\"=\" after the list's name", NULL);
        ok = false;
    } else {
        advance(p);
    }
    if (ok && is_word(cur(p), "file") && next(p)->type == TOK_STRING) {
        advance(p);
        ok = read_list_file(p, &l, cur(p)->text, cur(p)->line, cur(p)->col);
        advance(p);
    } else {
        while (ok) {
            if (!is_text_value(cur(p)) || !valid_text(cur(p)->text, 4096)) {
                expected(p, "a value (\"text\" or a word)", NULL);
                ok = false;
                break;
            }
            add_item(&l.items, &l.count, cur(p)->text);
            advance(p);
            if (cur(p)->type != TOK_COMMA)
                break;
            advance(p);
        }
    }
    if (ok && !cur(p)->line_start && cur(p)->type != TOK_EOF) {
        expected(p, "a comma or the end of the line", NULL);
        ok = false;
    }
    if (!ok) {
        for (size_t i = 0; i < l.count; i++)
            free(l.items[i]);
        free(l.items);
        free(l.name);
        return false;
    }
    p->r->lists = hg_xrealloc(p->r->lists, (p->r->n_lists + 1) * sizeof(*p->r->lists));
    p->r->lists[p->r->n_lists++] = l;
    return true;
}

static bool parse_timezone(struct parser *p)
{
    const struct token *kw = cur(p);
    int line = kw->line, col = kw->col;
    advance(p);
    const struct token *t = cur(p);
    if (t->type != TOK_STRING) {
        expected(p, "a time zone name in quotes", "timezone \"Europe/Berlin\"");
        return false;
    }
    if (p->r->tz_name != NULL) {
        add_error(p, line, col, NULL, "a second timezone; there is one per file");
        return false;
    }
    if (!hg_tz_name_valid(t->text)) {
        add_error(p, t->line, t->col, "write an IANA name such as \"Europe/Berlin\" or \"UTC\"",
                  "\"%s\" is not a time zone name", t->text);
        return false;
    }
    if (strcmp(t->text, "UTC") == 0) {
        p->r->tz = hg_tz_fixed(0, "UTC");
    } else if (p->loader == NULL || p->loader->load == NULL) {
        add_error(p, t->line, t->col, NULL, "time zones cannot be read here");
        return false;
    } else {
        unsigned char *data = NULL;
        size_t len = 0;
        char *error = NULL;
        if (p->loader->load(p->loader->ctx, HG_RULES_LOAD_TIMEZONE, t->text, &data, &len, &error) < 0) {
            add_error(p, t->line, t->col, "time zones are the names in /usr/share/zoneinfo (package tzdata)",
                      "unknown time zone \"%s\": %s", t->text, error != NULL ? error : "cannot be read");
            free(error);
            return false;
        }
        p->r->tz = hg_tz_parse(data, len, t->text, &error);
        free(data);
        if (p->r->tz == NULL) {
            add_error(p, t->line, t->col, NULL, "time zone \"%s\": %s", t->text, error);
            free(error);
            return false;
        }
    }
    p->r->tz_name = hg_xstrdup(t->text);
    advance(p);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Calendars.                                                              */

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const long_day_names[] = {"monday", "tuesday",  "wednesday", "thursday",
                                             "friday", "saturday", "sunday"};

static int day_index(const char *s, size_t len)
{
    for (int i = 0; i < 7; i++)
        if ((len == 3 && strncmp(s, day_names[i], 3) == 0) ||
            (len == strlen(long_day_names[i]) && strncmp(s, long_day_names[i], len) == 0))
            return i;
    return -1;
}

/* "mon", "mon-fri", "fri-mon" (wraps), "daily", "weekdays", "weekends": a bit mask, 0 when bad. */
static unsigned parse_days(const char *s)
{
    if (strcmp(s, "daily") == 0)
        return 0x7f;
    if (strcmp(s, "weekdays") == 0)
        return 0x1f;
    if (strcmp(s, "weekends") == 0)
        return 0x60;
    const char *dash = strchr(s, '-');
    if (dash == NULL) {
        int d = day_index(s, strlen(s));
        return d < 0 ? 0 : 1u << d;
    }
    int from = day_index(s, (size_t)(dash - s)), to = day_index(dash + 1, strlen(dash + 1));
    if (from < 0 || to < 0)
        return 0;
    unsigned mask = 0;
    for (int d = from;; d = (d + 1) % 7) {
        mask |= 1u << d;
        if (d == to)
            break;
    }
    return mask;
}

static bool two_digits(const char *s, int *out)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return false;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

/* "HH:MM-HH:MM" into minutes; false when malformed. */
static bool parse_span_text(const char *s, int *start, int *end)
{
    int h1, m1, h2, m2;
    if (strlen(s) != 11 || s[2] != ':' || s[5] != '-' || s[8] != ':' || !two_digits(s, &h1) ||
        !two_digits(s + 3, &m1) || !two_digits(s + 6, &h2) || !two_digits(s + 9, &m2))
        return false;
    if (m1 > 59 || m2 > 59 || h1 > 23 || h2 > 24 || (h2 == 24 && m2 != 0))
        return false;
    *start = h1 * 60 + m1;
    *end = h2 * 60 + m2;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD" into YYYYMMDD, 0 when it is no date. */
static int parse_date(const char *s)
{
    int y1, y2, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !two_digits(s, &y1) || !two_digits(s + 2, &y2) ||
        !two_digits(s + 5, &m) || !two_digits(s + 8, &d))
        return 0;
    int y = y1 * 100 + y2;
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > month_days[m - 1] + (m == 2 && leap(y)))
        return 0;
    return y * 10000 + m * 100 + d;
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static bool parse_holidays(struct parser *p, struct calendar *c)
{
    advance(p); /* holiday */
    do {
        const struct token *t = cur(p);
        int date = t->type == TOK_NUMBER ? parse_date(t->text) : 0;
        if (date == 0) {
            expected(p, "a date YYYY-MM-DD", "holiday 2026-12-25, 2026-12-26");
            return false;
        }
        c->holidays = hg_xrealloc(c->holidays, (c->n_holidays + 1) * sizeof(*c->holidays));
        c->holidays[c->n_holidays++] = date;
        advance(p);
    } while (cur(p)->type == TOK_COMMA && (advance(p), true));
    return true;
}

/* More items follow on the same line after a comma. */
static bool comma_continues(struct parser *p, int line)
{
    if (cur(p)->type != TOK_COMMA || cur(p)->line != line)
        return false;
    advance(p);
    return true;
}

/* One line "mon-fri 08:00-12:00, 13:00-18:00"; days may be a comma list too ("mon, wed 09:00-12:00"). */
static bool parse_span_line(struct parser *p, struct calendar *c)
{
    int line = cur(p)->line;
    unsigned days = 0;
    do {
        unsigned mask = cur(p)->type == TOK_WORD ? parse_days(cur(p)->text) : 0;
        if (mask == 0) {
            expected(p, "days (mon, mon-fri, daily, weekdays, weekends) or holiday", "mon-fri 08:00-18:00");
            return false;
        }
        days |= mask;
        advance(p);
    } while (cur(p)->type == TOK_COMMA && next(p)->type == TOK_WORD && comma_continues(p, line));
    do {
        const struct token *t = cur(p);
        int start, end;
        if (t->type != TOK_NUMBER || t->line != line || !parse_span_text(t->text, &start, &end)) {
            expected(p, "hours HH:MM-HH:MM after the days", "mon-fri 08:00-18:00");
            return false;
        }
        if (start >= end) {
            add_error(p, t->line, t->col, "split it in two: mon-fri 22:00-24:00 and tue-sat 00:00-06:00",
                      "the span %s ends before it starts", t->text);
            return false;
        }
        c->spans = hg_xrealloc(c->spans, (c->n_spans + 1) * sizeof(*c->spans));
        c->spans[c->n_spans++] = (struct span){.days = days, .start = start, .end = end};
        advance(p);
    } while (comma_continues(p, line));
    return true;
}

static struct calendar *find_calendar(struct hg_rules *r, const char *name, size_t *index_r)
{
    for (size_t i = 0; i < r->n_calendars; i++)
        if (strcmp(r->calendars[i].name, name) == 0) {
            if (index_r != NULL)
                *index_r = i;
            return &r->calendars[i];
        }
    return NULL;
}

static bool parse_hours(struct parser *p)
{
    int line = cur(p)->line;
    advance(p);
    const struct token *t = cur(p);
    if (t->type != TOK_WORD || !valid_name_chars(t->text)) {
        expected(p, "the calendar's name", "hours business");
        return false;
    }
    if (find_calendar(p->r, t->text, NULL) != NULL) {
        add_error(p, t->line, t->col, NULL, "a second calendar named \"%s\"", t->text);
        return false;
    }
    struct calendar c = {.name = hg_xstrdup(t->text), .line = line};
    advance(p);
    bool ok = true;
    while (ok && !is_word(cur(p), "end")) {
        if (cur(p)->type == TOK_EOF || starts_statement(p)) {
            add_error(p, line, 0, "close the calendar with \"end\"", "calendar \"%s\" has no \"end\"",
                      c.name);
            ok = false;
        } else if (is_word(cur(p), "holiday") || is_word(cur(p), "holidays")) {
            ok = parse_holidays(p, &c);
        } else {
            ok = parse_span_line(p, &c);
        }
    }
    if (ok && c.n_spans == 0) {
        add_error(p, line, 0, "add a line such as: mon-fri 08:00-18:00", "calendar \"%s\" has no hours",
                  c.name);
        ok = false;
    }
    if (!ok) {
        free(c.name);
        free(c.spans);
        free(c.holidays);
        return false;
    }
    advance(p); /* end */
    if (c.n_holidays > 1)
        qsort(c.holidays, c.n_holidays, sizeof(*c.holidays), compare_int);
    rules_calendar_prepare(&c);
    p->r->calendars = hg_xrealloc(p->r->calendars, (p->r->n_calendars + 1) * sizeof(*p->r->calendars));
    p->r->calendars[p->r->n_calendars++] = c;
    return true;
}

/* ------------------------------------------------------------------------ */
/* SLA policies.                                                           */

enum {
    SLA_REACH_DAYS = 3653, /* a policy's targets must be reached within 10 years of open weeks */
};

static void free_sla(struct sla_policy *s)
{
    free(s->name);
    free(s->calendar_name);
}

static struct sla_policy *find_sla(struct hg_rules *r, const char *name)
{
    for (size_t i = 0; i < r->n_slas; i++)
        if (strcmp(r->slas[i].name, name) == 0)
            return &r->slas[i];
    return NULL;
}

/* After an error in the policy line that starts at offset START: on to the next line. */
static void skip_line(struct parser *p, size_t start)
{
    while (cur(p)->type != TOK_EOF && !(cur(p)->line_start && cur(p)->offset > start))
        advance(p);
}

/* Nothing more on this line; else an error. */
static bool line_ends(struct parser *p, const char *after)
{
    if (cur(p)->line_start || cur(p)->type == TOK_EOF)
        return true;
    char what[96];
    snprintf(what, sizeof what, "the end of the line after %s", after);
    expected(p, what, NULL);
    return false;
}

/*
 * A duration: one or more NUMBER UNIT with units d, h, m in that order, no
 * space inside ("4h", "90m", "1h30m", "2d"). The lexer cuts "1h30m" into a
 * number and a word; their texts are joined while they touch. *DAYS_R is
 * set when a unit is d.
 */
static bool read_duration(struct parser *p, int64_t *secs_r, bool *days_r)
{
    static const char hint[] = "write a number and a unit without a space: 30m, 4h, 1h30m, or 2d "
                               "(24 hours)";
    const struct token *t = cur(p);
    int line = t->line, col = t->col;
    if (t->type != TOK_NUMBER) {
        expected(p, "a duration such as 30m, 4h or 1h30m", hint);
        return false;
    }
    char text[64];
    size_t n = 0, end;
    bool fits = true;
    for (;;) {
        const struct token *c = cur(p);
        if (n + c->len >= sizeof text)
            fits = false;
        else {
            memcpy(text + n, c->text, c->len);
            n += c->len;
        }
        end = c->end;
        advance(p);
        const struct token *d = cur(p);
        if (d->offset != end || (d->type != TOK_WORD && d->type != TOK_NUMBER))
            break;
    }
    text[n] = '\0';
    static const char units[] = "dhm";
    static const int64_t seconds[] = {86400, 3600, 60};
    int64_t total = 0;
    int last_unit = -1; /* index into units */
    const char *s = text;
    bool ok = fits && *s != '\0';
    *days_r = false;
    while (ok && *s != '\0') {
        int64_t v = 0;
        const char *digits = s;
        for (; *s >= '0' && *s <= '9'; s++)
            v = v > HG_SLA_MAX_SECS ? v : v * 10 + (*s - '0');
        const char *unit = *s != '\0' ? strchr(units, *s) : NULL;
        if (s == digits || unit == NULL || (int)(unit - units) <= last_unit) {
            ok = false;
            break;
        }
        last_unit = (int)(unit - units);
        s++;
        if (v > HG_SLA_MAX_SECS / seconds[last_unit]) {
            total = HG_SLA_MAX_SECS + 1;
            break;
        }
        total += v * seconds[last_unit];
        if (last_unit == 0)
            *days_r = true;
    }
    if (!ok) {
        add_error(p, line, col, hint, "\"%s\" is not a duration", fits ? text : "(too long)");
        return false;
    }
    if (total == 0) {
        add_error(p, line, col, "a target of nothing is always missed", "a duration of 0");
        return false;
    }
    if (total > HG_SLA_MAX_SECS) {
        add_error(p, line, col, NULL, "\"%s\" is longer than 366 days", text);
        return false;
    }
    *secs_r = total;
    return true;
}

/* A line given twice: the error names the first. */
static bool once(struct parser *p, const struct sla_where *seen, const char *what)
{
    if (seen->line == 0)
        return true;
    const struct token *t = cur(p);
    char hint[64];
    snprintf(hint, sizeof hint, "the first is on line %d", seen->line);
    add_error(p, t->line, t->col, hint, "a second \"%s\" line in this SLA policy", what);
    return false;
}

static bool read_sla_duration(struct parser *p, struct sla_policy *s, int64_t *secs_r)
{
    int line = cur(p)->line, col = cur(p)->col;
    bool days;
    if (!read_duration(p, secs_r, &days))
        return false;
    if (days && s->in_days.line == 0)
        s->in_days = (struct sla_where){line, col};
    return true;
}

/* One line of an `sla` block; false after an error (the caller skips the line). */
static bool parse_sla_line(struct parser *p, struct sla_policy *s)
{
    const struct token *t = cur(p);
    struct sla_where at = {t->line, t->col};
    if (is_word(t, "first")) {
        if (!once(p, &s->first_response, "first response"))
            return false;
        advance(p);
        if (!accept_word(p, "response") || !accept_word(p, "within")) {
            expected(p, "\"response within\" after \"first\"", "first response within 4h");
            return false;
        }
        if (!read_sla_duration(p, s, &s->pub.first_response_secs) || !line_ends(p, "the duration"))
            return false;
        s->first_response = at;
    } else if (is_word(t, "resolution")) {
        if (!once(p, &s->resolution, "resolution"))
            return false;
        advance(p);
        if (!accept_word(p, "within")) {
            expected(p, "\"within\" after \"resolution\"", "resolution within 3d");
            return false;
        }
        if (!read_sla_duration(p, s, &s->pub.resolution_secs) || !line_ends(p, "the duration"))
            return false;
        s->resolution = at;
    } else if (is_word(t, "hours")) {
        if (!once(p, &s->hours, "hours"))
            return false;
        advance(p);
        const struct token *n = cur(p);
        if (n->type != TOK_WORD || n->line_start || !valid_name_chars(n->text)) {
            expected(p, "the name of a calendar after \"hours\"", "hours business");
            return false;
        }
        s->hours = (struct sla_where){n->line, n->col};
        s->calendar_name = hg_xstrdup(n->text);
        advance(p);
        if (!line_ends(p, "the calendar's name"))
            return false;
    } else if (is_word(t, "warn")) {
        if (!once(p, &s->warn, "warn"))
            return false;
        advance(p);
        if (!read_sla_duration(p, s, &s->pub.warn_secs))
            return false;
        if (!accept_word(p, "before")) {
            expected(p, "\"before\" after the duration", "warn 30m before");
            return false;
        }
        if (!line_ends(p, "\"before\""))
            return false;
        s->warn = at;
    } else if (is_word(t, "on")) {
        if (!once(p, &s->on_breach, "on breach"))
            return false;
        advance(p);
        if (!accept_word(p, "breach")) {
            expected(p, "\"breach\" after \"on\"", "on breach escalate");
            return false;
        }
        if (accept_word(p, "escalate")) {
            s->pub.on_breach = HG_SLA_ESCALATE;
        } else if (is_word(cur(p), "notify") && is_word(next(p), "lead")) {
            advance(p);
            advance(p);
            s->pub.on_breach = HG_SLA_NOTIFY_LEAD;
        } else {
            expected(p, "\"escalate\" or \"notify lead\" after \"on breach\"", NULL);
            return false;
        }
        if (!line_ends(p, "the breach action"))
            return false;
        s->on_breach = at;
    } else {
        const char *near = t->type == TOK_WORD ? hg_suggest(t->text, sla_line_words, N_SLA_LINE_WORDS) : NULL;
        char hint[64];
        snprintf(hint, sizeof hint, "did you mean \"%s\"?", near != NULL ? near : "");
        expected(p, "first response, resolution, hours, warn, on breach or end", near != NULL ? hint : NULL);
        return false;
    }
    return true;
}

/* "hours NAME" followed by a line of days: a calendar (the policy before it has no end). */
static bool starts_calendar(struct parser *p)
{
    const struct token *days = rules_peek(&p->lx, 2);
    return is_word(cur(p), "hours") && cur(p)->line_start && !next(p)->line_start && days->line_start &&
           days->type == TOK_WORD &&
           (parse_days(days->text) != 0 || strcmp(days->text, "holiday") == 0 ||
            strcmp(days->text, "holidays") == 0);
}

/*
 * sla NAME
 *     first response within 4h
 *     resolution within 3d
 *     hours business
 *     warn 30m before
 *     on breach escalate | on breach notify lead
 * end
 *
 * An error in a line is reported and the line skipped, so every line of the
 * block is checked; what needs the whole file (the calendar, the targets
 * against each other) is checked in check_slas().
 */
static bool parse_sla(struct parser *p)
{
    int line = cur(p)->line, col = cur(p)->col;
    advance(p);
    const struct token *t = cur(p);
    if ((t->type != TOK_WORD && t->type != TOK_STRING) || !valid_name_chars(t->text)) {
        expected(p, "the SLA policy's name", "sla vip, or sla \"L1\" for the tier's default");
        return false;
    }
    const struct sla_policy *same = find_sla(p->r, t->text);
    bool ok = true;
    if (same != NULL) {
        char hint[80];
        snprintf(hint, sizeof hint, "the first is on line %d; give each policy its own name", same->at.line);
        add_error(p, t->line, t->col, hint, "a second SLA policy named \"%s\"", t->text);
        ok = false;
    }
    struct sla_policy s = {.name = hg_xstrdup(t->text), .at = {line, col}};
    s.pub.on_breach = HG_SLA_ESCALATE;
    advance(p);
    if (!line_ends(p, "the policy's name")) {
        free_sla(&s);
        return false;
    }
    for (;;) {
        if (is_word(cur(p), "end") && cur(p)->line_start) {
            advance(p);
            break;
        }
        if (cur(p)->type == TOK_EOF || (starts_statement(p) && !starts_sla_line(cur(p))) ||
            starts_calendar(p)) {
            add_error(p, line, 0, "close the policy with \"end\"", "SLA policy \"%s\" has no \"end\"",
                      s.name);
            free_sla(&s);
            return true; /* the next statement is read as it is */
        }
        size_t start = cur(p)->offset;
        if (!parse_sla_line(p, &s)) {
            ok = false;
            skip_line(p, start);
        }
    }
    if (ok && (s.first_response.line == 0 || s.resolution.line == 0)) {
        add_error(p, line, 0,
                  s.first_response.line == 0 ? "add a line such as: first response within 4h"
                                             : "add a line such as: resolution within 3d",
                  "SLA policy \"%s\" has no %s target", s.name,
                  s.first_response.line == 0 ? "first response" : "resolution");
        ok = false;
    }
    if (!ok) {
        free_sla(&s);
        return true; /* errors reported; the block was read to its end */
    }
    p->r->slas = hg_xrealloc(p->r->slas, (p->r->n_slas + 1) * sizeof(*p->r->slas));
    p->r->slas[p->r->n_slas++] = s;
    return true;
}

static void duration_text(int64_t secs, char *out, size_t size)
{
    rules_sla_duration_text(secs, false, out, size);
}

/* What needs the whole file: the calendar, the targets against each other, `sla` actions. */
static void check_sla(struct parser *p, struct sla_policy *s)
{
    char a[32], b[32];
    s->pub.name = s->name;
    s->pub.line = s->at.line;
    if (s->pub.resolution_secs < s->pub.first_response_secs) {
        duration_text(s->pub.resolution_secs, a, sizeof a);
        duration_text(s->pub.first_response_secs, b, sizeof b);
        char hint[128];
        snprintf(hint, sizeof hint, "the first response cannot come after the resolution: make it %s or more",
                 b);
        add_error(p, s->resolution.line, s->resolution.col, hint,
                  "resolution within %s is shorter than first response within %s", a, b);
    }
    if (s->warn.line > 0 && s->pub.warn_secs >= s->pub.first_response_secs) {
        duration_text(s->pub.warn_secs, a, sizeof a);
        duration_text(s->pub.first_response_secs, b, sizeof b);
        char hint[120];
        snprintf(hint, sizeof hint, "a warning comes while time is left: make it shorter than %s", b);
        add_error(p, s->warn.line, s->warn.col, hint,
                  "warn %s before is not shorter than first response within %s", a, b);
    }
    if (s->calendar_name == NULL)
        return;
    const struct calendar *c = find_calendar(p->r, s->calendar_name, &s->calendar);
    if (c == NULL) {
        const char *names[64];
        size_t count = 0;
        for (size_t i = 0; i < p->r->n_calendars && count < 64; i++)
            names[count++] = p->r->calendars[i].name;
        const char *near = hg_suggest(s->calendar_name, names, count);
        char hint[160];
        if (near != NULL)
            snprintf(hint, sizeof hint, "did you mean \"%s\"?", near);
        else
            snprintf(hint, sizeof hint, "define it: hours %s ... end", s->calendar_name);
        add_error(p, s->hours.line, s->hours.col, hint, "unknown calendar \"%s\"", s->calendar_name);
        return;
    }
    s->pub.calendar = c->name;
    if (s->in_days.line > 0) {
        char hint[160];
        snprintf(hint, sizeof hint,
                 "a business day has no fixed length: write hours of calendar \"%s\", e.g. 30h for three "
                 "days of 10 hours",
                 c->name);
        add_error(p, s->in_days.line, s->in_days.col, hint,
                  "a duration in days (24 hours) in a policy counted in hours \"%s\"", c->name);
    }
    /* Bounded: the targets are reached within SLA_REACH_DAYS of ordinary weeks. */
    int64_t weeks = c->week_secs > 0 ? (s->pub.resolution_secs + c->week_secs - 1) / c->week_secs : INT64_MAX;
    if (weeks > SLA_REACH_DAYS / 7) {
        duration_text(s->pub.resolution_secs, a, sizeof a);
        duration_text(c->week_secs, b, sizeof b);
        add_error(
            p, s->hours.line, s->hours.col, "give the calendar more hours, or the policy shorter targets",
            "resolution within %s takes more than 10 years in hours \"%s\" (open %s a week)", a, c->name, b);
    }
}

static void check_slas(struct parser *p)
{
    for (size_t i = 0; i < p->r->n_slas; i++)
        check_sla(p, &p->r->slas[i]);
    /* A file without policies keeps `sla NAME` as a label, as before policies existed. */
    if (p->r->n_slas == 0)
        return;
    const char *names[64];
    size_t count = 0;
    for (size_t i = 0; i < p->r->n_slas && count < 64; i++)
        names[count++] = p->r->slas[i].name;
    for (size_t i = 0; i < p->r->n_rules; i++)
        for (size_t k = 0; k < p->r->rules[i].n_actions; k++) {
            const struct action *a = &p->r->rules[i].actions[k];
            if (a->type != ACT_SLA || find_sla(p->r, a->text) != NULL || strcmp(a->text, "L1") == 0 ||
                strcmp(a->text, "L2") == 0 || strcmp(a->text, "L3") == 0)
                continue;
            const char *near = hg_suggest(a->text, names, count);
            char hint[200];
            if (near != NULL)
                snprintf(hint, sizeof hint, "did you mean \"%s\"?", near);
            else
                snprintf(hint, sizeof hint, "define it: sla %s ... end (see helpgate.rules(5))", a->text);
            add_error(p, a->line, a->col, hint, "unknown SLA policy \"%s\"", a->text);
        }
}

static void parse_statement(struct parser *p)
{
    const struct token *t = cur(p);
    bool ok;
    if (is_word(t, "rule"))
        ok = parse_rule(p);
    else if (is_word(t, "list"))
        ok = parse_list(p);
    else if (is_word(t, "hours"))
        ok = parse_hours(p);
    else if (is_word(t, "timezone"))
        ok = parse_timezone(p);
    else if (is_word(t, "sla"))
        ok = parse_sla(p);
    else {
        const char *near =
            t->type == TOK_WORD ? hg_suggest(t->text, statement_words, N_STATEMENT_WORDS) : NULL;
        char hint[64];
        snprintf(hint, sizeof hint, "did you mean \"%s\"?", near != NULL ? near : "");
        expected(p, "rule, list, hours, sla or timezone", near != NULL ? hint : NULL);
        ok = false;
    }
    if (!ok)
        recover(p);
}

/* ------------------------------------------------------------------------ */
/* Second pass: compile every test.                                        */

/* Appends S to B with every ASCII non-alphanumeric escaped: a PCRE2 literal. */
static void append_literal(struct hg_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            hg_buf_printf(b, "\\x{%02x}", c);
        else if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            hg_buf_printf(b, "\\%c", c);
        else
            hg_buf_append_char(b, (char)c);
    }
}

static pcre2_code *compile_pattern(const char *pattern, uint32_t options, int *error_code,
                                   size_t *error_offset)
{
    PCRE2_SIZE offset = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options | PCRE2_UTF,
                                   error_code, &offset, NULL);
    *error_offset = offset;
    if (re != NULL)
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* an interpreter fallback when JIT is unavailable */
    return re;
}

static bool all_ascii(char *const *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        for (const char *s = items[i]; *s != '\0'; s++)
            if ((unsigned char)*s >= 0x80)
                return false;
    return true;
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void build_set(struct string_set *set, char *const *items, size_t count)
{
    set->items = hg_xcalloc(count ? count : 1, sizeof(*set->items));
    for (size_t i = 0; i < count; i++) {
        char *s = hg_xstrdup(items[i]);
        for (char *c = s; *c != '\0'; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        set->items[i] = s;
    }
    qsort(set->items, count, sizeof(*set->items), compare_str);
    set->count = count;
}

static uint32_t flag_options(const char *flags)
{
    uint32_t options = 0;
    for (; *flags != '\0'; flags++)
        options |= *flags == 'i'   ? PCRE2_CASELESS
                   : *flags == 'm' ? PCRE2_MULTILINE
                   : *flags == 's' ? PCRE2_DOTALL
                                   : PCRE2_EXTENDED;
    return options;
}

static bool fields_info_several(enum field_id id)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (fields[i].id == id)
            return fields[i].several;
    return true;
}

static bool none_empty(char *const *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (items[i][0] == '\0')
            return false;
    return true;
}

/*
 * The test's ASCII keywords join its field's automaton, and the test gets a
 * bit (slot) there. Returns how many keywords were ASCII (0: nothing done).
 */
static size_t add_to_automaton(struct parser *p, struct test *t, char *const *items, size_t count)
{
    struct ac_builder *b = &p->ac[t->field];
    size_t ascii = 0;
    for (size_t i = 0; i < count; i++) {
        if (!all_ascii(&items[i], 1))
            continue;
        if (ascii++ == 0) {
            t->use_ac = true;
            t->ac_slot = b->slots++;
        }
        b->keywords = hg_xrealloc(b->keywords, (b->count + 1) * sizeof(*b->keywords));
        b->keywords[b->count++] = (struct rules_ac_keyword){.text = hg_xstrdup(items[i]), .slot = t->ac_slot};
    }
    return ascii;
}

/* Builds every field's automaton from what compile_test() gathered, and frees the gathering. */
static void build_automata(struct parser *p)
{
    size_t words = 0;
    for (size_t f = 0; f < N_FIELD_IDS; f++) {
        struct ac_builder *b = &p->ac[f];
        rules_ac_init(&p->r->ac[f]);
        p->r->ac_word[f] = words;
        if (b->slots > 0) {
            rules_ac_build(&p->r->ac[f], b->keywords, b->count, b->slots);
            words += (b->slots + 63) / 64;
        }
        for (size_t i = 0; i < b->count; i++)
            free((char *)b->keywords[i].text);
        free(b->keywords);
        memset(b, 0, sizeof(*b));
    }
    p->r->ac_words = words;
}

static void compile_test(struct parser *p, struct test *t)
{
    char *const *items = t->items;
    size_t count = t->n_items;
    if (t->list_name != NULL) {
        struct named_list *l = find_list(p->r, t->list_name);
        if (l == NULL) {
            const char *names[64];
            size_t n = 0;
            for (size_t i = 0; i < p->r->n_lists && n < 64; i++)
                names[n++] = p->r->lists[i].name;
            const char *near = hg_suggest(t->list_name, names, n);
            char hint[160];
            if (near != NULL)
                snprintf(hint, sizeof hint, "did you mean @%s?", near);
            else
                snprintf(hint, sizeof hint, "define it: list %s = \"a\", \"b\"", t->list_name);
            add_error(p, t->value_line, t->value_col, hint, "unknown list @%s", t->list_name);
            return;
        }
        l->used = true;
        items = l->items;
        count = l->count;
    }
    if (t->op == OP_TRUE || t->op == OP_EXISTS || t->kind == KIND_NUMBER)
        return;
    if (t->op != OP_MATCHES && count == 0) {
        t->never = true;
        return;
    }
    bool skip_ascii = false; /* the ASCII entries went to the automaton; the regex takes the others */
    if (t->op == OP_CONTAINS && !fields_info_several(t->field) && none_empty(items, count)) {
        size_t ascii = add_to_automaton(p, t, items, count);
        if (ascii == count)
            return;
        skip_ascii = ascii > 0;
    }
    if ((t->op == OP_IN || t->op == OP_NOT_IN || t->op == OP_IS || t->op == OP_IS_NOT) &&
        count > SET_THRESHOLD && all_ascii(items, count)) {
        build_set(&t->set, items, count);
        t->use_set = true;
        return;
    }
    struct hg_buf b;
    hg_buf_init(&b, MAX_PATTERN);
    uint32_t options = PCRE2_CASELESS;
    if (t->op == OP_MATCHES) {
        hg_buf_append_str(&b, t->pattern);
        options = flag_options(t->flags);
    } else {
        hg_buf_append_str(&b, t->op == OP_STARTS || t->op == OP_IS || t->op == OP_IS_NOT || t->op == OP_IN ||
                                      t->op == OP_NOT_IN
                                  ? "\\A(?:"
                                  : "(?:");
        bool first = true;
        for (size_t i = 0; i < count; i++) {
            if (skip_ascii && all_ascii(&items[i], 1))
                continue;
            if (!first)
                hg_buf_append_char(&b, '|');
            first = false;
            append_literal(&b, items[i]);
        }
        hg_buf_append_str(&b, t->op == OP_CONTAINS || t->op == OP_STARTS ? ")" : ")\\z");
    }
    int code;
    size_t offset;
    t->re = compile_pattern(hg_buf_str(&b), options, &code, &offset);
    if (t->re == NULL) {
        PCRE2_UCHAR message[160];
        pcre2_get_error_message(code, message, sizeof message);
        if (t->op == OP_MATCHES)
            add_error(p, t->value_line, t->value_col + 1 + (int)(offset < 10000 ? offset : 0),
                      "the syntax is PCRE2's, see pcre2pattern(3)", "regular expression: %s",
                      (char *)message);
        else
            add_error(p, t->value_line, t->value_col, "split the list, or use a smaller one",
                      "cannot compile this list (%zu entries): %s", count, (char *)message);
    }
    hg_buf_free(&b);
}

static void compile_node(struct parser *p, struct node *n)
{
    if (n == NULL)
        return;
    compile_node(p, n->left);
    compile_node(p, n->right);
    struct test *t = n->test;
    if (t == NULL)
        return;
    if (t->field == F_HOURS && find_calendar(p->r, t->field_arg, &t->calendar) == NULL) {
        const char *names[64];
        size_t count = 0;
        for (size_t i = 0; i < p->r->n_calendars && count < 64; i++)
            names[count++] = p->r->calendars[i].name;
        const char *near = hg_suggest(t->field_arg, names, count);
        char hint[160];
        if (near != NULL)
            snprintf(hint, sizeof hint, "did you mean hours.%s?", near);
        else
            snprintf(hint, sizeof hint, "define it: hours %s ... end", t->field_arg);
        add_error(p, t->line, t->col, hint, "unknown calendar \"%s\"", t->field_arg);
    }
    compile_test(p, t);
    for (size_t i = 0; i < t->n_items; i++)
        free(t->items[i]);
    free(t->items);
    t->items = NULL;
    t->n_items = 0;
}

/* ------------------------------------------------------------------------ */
/* Entry points.                                                           */

/* Valid UTF-8; otherwise *BAD_R is the offset of the first bad sequence. */
static bool valid_utf8(const unsigned char *s, size_t len, size_t *bad_r)
{
    if (hg_utf8_valid(s, len))
        return true;
    size_t i = 0;
    while (i < len) {
        size_t n = s[i] < 0x80 ? 1 : s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : 2;
        if (i + n > len || !hg_utf8_valid(s + i, n))
            break;
        i += n;
    }
    *bad_r = i;
    return false;
}

static bool check_text(struct parser *p, const char *text, size_t len)
{
    if (len > p->lim.max_file_size) {
        add_error(p, 0, 0, NULL, "the file is larger than %zu bytes", p->lim.max_file_size);
        return false;
    }
    size_t bad = 0;
    const char *nul = memchr(text, '\0', len);
    bool utf8 = valid_utf8((const unsigned char *)text, len, &bad);
    if (nul == NULL && utf8)
        return true;
    size_t at = nul != NULL && (utf8 || (size_t)(nul - text) < bad) ? (size_t)(nul - text) : bad;
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < at; i++)
        if (text[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    add_error(p, line, (int)(at - line_start) + 1, "save the file as UTF-8 text", "%s",
              text[at] == '\0' ? "a NUL byte in the file" : "this is not UTF-8");
    return false;
}

static int compare_errors(const void *a, const void *b)
{
    const struct hg_rules_error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/* Errors of the second pass join those of the first in file order (qsort is not stable: lines differ anyway).
 */
static void sort_errors(struct hg_rules_error *items, size_t count)
{
    if (count > 1)
        qsort(items, count, sizeof(*items), compare_errors);
}

void hg_rules_free(struct hg_rules **rules)
{
    struct hg_rules *r = *rules;
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_rules; i++)
        free_rule(&r->rules[i]);
    free(r->rules);
    for (size_t i = 0; i < r->n_lists; i++) {
        for (size_t k = 0; k < r->lists[i].count; k++)
            free(r->lists[i].items[k]);
        free(r->lists[i].items);
        free(r->lists[i].name);
    }
    free(r->lists);
    for (size_t i = 0; i < r->n_calendars; i++) {
        free(r->calendars[i].name);
        free(r->calendars[i].spans);
        free(r->calendars[i].holidays);
        rules_calendar_release(&r->calendars[i]);
    }
    free(r->calendars);
    for (size_t i = 0; i < r->n_slas; i++)
        free_sla(&r->slas[i]);
    free(r->slas);
    for (size_t f = 0; f < N_FIELD_IDS; f++)
        rules_ac_free(&r->ac[f]);
    hg_tz_free(&r->tz);
    free(r->tz_name);
    free(r->filename);
    free(r);
    *rules = NULL;
}

struct hg_rules *hg_rules_parse(const char *text, size_t len, const char *filename,
                                const struct hg_rules_loader *loader, const struct hg_rules_limits *limits,
                                struct hg_rules_errors *errors)
{
    struct parser p = {.text = text, .filename = filename, .errors = errors, .loader = loader};
    if (limits != NULL)
        p.lim = *limits;
    p.lim.max_file_size = p.lim.max_file_size ? p.lim.max_file_size : DEFAULT_MAX_FILE;
    p.lim.max_list_size = p.lim.max_list_size ? p.lim.max_list_size : DEFAULT_MAX_LIST;
    p.lim.max_rules = p.lim.max_rules ? p.lim.max_rules : DEFAULT_MAX_RULES;
    p.lim.max_depth = p.lim.max_depth ? p.lim.max_depth : DEFAULT_MAX_DEPTH;
    size_t errors_before = errors->count;
    if (!check_text(&p, text, len))
        return NULL;
    p.r = hg_xcalloc(1, sizeof(*p.r));
    p.r->filename = hg_xstrdup(filename != NULL ? filename : "rules");
    rules_lexer_init(&p.lx, text, len);
    while (cur(&p)->type != TOK_EOF && !p.gave_up)
        parse_statement(&p);
    rules_lexer_free(&p.lx);
    for (size_t i = 0; i < p.r->n_rules && !p.gave_up; i++)
        compile_node(&p, p.r->rules[i].when);
    if (!p.gave_up)
        check_slas(&p);
    build_automata(&p);
    if (errors->count > errors_before) {
        sort_errors(errors->items + errors_before, errors->count - errors_before - (p.gave_up ? 1 : 0));
        hg_rules_free(&p.r);
        return NULL;
    }
    if (p.r->tz == NULL)
        p.r->tz = hg_tz_fixed(0, "UTC");
    return p.r;
}

size_t hg_rules_count(const struct hg_rules *rules)
{
    return rules != NULL ? rules->n_rules : 0;
}

const char *hg_rules_filename(const struct hg_rules *rules)
{
    return rules != NULL ? rules->filename : NULL;
}
