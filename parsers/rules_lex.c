/*
 * rules_lex.c — cuts a rules file into tokens (see rules_internal.h).
 *
 * Newlines are white space, except that every token knows whether it starts
 * its line (the parser uses that to end an action). A bad character, an
 * unterminated string or regular expression becomes a TOK_ERROR token with a
 * message; the lexer always moves forward, so the parser can go on.
 */
#include "rules_internal.h"

#include "helpgate/alloc.h"

#include <stdio.h>
#include <string.h>

static bool is_word_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* After the first character a word may hold '/', '+' and '@' too: application/pdf, ann@example.com. */
static bool is_word_char(char c)
{
    return is_word_start(c) || is_digit(c) || c == '.' || c == '-' || c == '/' || c == '+' || c == '@';
}

static bool is_name_char(char c)
{
    return is_word_start(c) || is_digit(c) || c == '.' || c == '-';
}

/* Keeps TEXT (LEN bytes) as the text of token slot SLOT. */
static void set_text(struct lexer *lx, int slot, const char *text, size_t len)
{
    if (len + 1 > lx->cap[slot]) {
        lx->cap[slot] = len + 64;
        lx->buf[slot] = hg_xrealloc(lx->buf[slot], lx->cap[slot]);
    }
    memcpy(lx->buf[slot], text, len);
    lx->buf[slot][len] = '\0';
    lx->tok[slot].text = lx->buf[slot];
    lx->tok[slot].len = len;
}

static void set_error(struct lexer *lx, int slot, const char *message)
{
    lx->tok[slot].type = TOK_ERROR;
    set_text(lx, slot, message, strlen(message));
}

/* Skips blanks, line ends and comments. */
static void skip_space(struct lexer *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->line_begin = ++lx->p;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lx->p++;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else {
            break;
        }
    }
}

/* A quoted string: "\"" and "\\" are the only escapes; other backslashes stay. */
static void lex_string(struct lexer *lx, int slot)
{
    const char *p = lx->p + 1;
    size_t cap = 64, len = 0;
    char *out = hg_xmalloc(cap);
    while (p < lx->end && *p != '"' && *p != '\n') {
        char c = *p++;
        if (c == '\\' && p < lx->end && (*p == '"' || *p == '\\'))
            c = *p++;
        if (len + 1 >= cap)
            out = hg_xrealloc(out, cap *= 2);
        out[len++] = c;
    }
    if (p >= lx->end || *p != '"') {
        set_error(lx, slot, "this string has no closing quote on its line");
        lx->p = p;
    } else {
        lx->tok[slot].type = TOK_STRING;
        set_text(lx, slot, out, len);
        lx->p = p + 1;
    }
    free(out);
}

/* A regular expression /.../flags: "\/" is a slash, every other escape stays for PCRE2. */
static void lex_regex(struct lexer *lx, int slot)
{
    const char *p = lx->p + 1;
    size_t cap = 64, len = 0;
    char *out = hg_xmalloc(cap);
    while (p < lx->end && *p != '/' && *p != '\n') {
        if (len + 2 >= cap)
            out = hg_xrealloc(out, cap *= 2);
        if (*p == '\\' && p + 1 < lx->end && p[1] == '/') {
            out[len++] = '/';
            p += 2;
            continue;
        }
        if (*p == '\\' && p + 1 < lx->end && p[1] != '\n')
            out[len++] = *p++;
        out[len++] = *p++;
    }
    if (p >= lx->end || *p != '/') {
        set_error(lx, slot, "this regular expression has no closing / on its line");
        lx->p = p;
        free(out);
        return;
    }
    p++;
    size_t n_flags = 0;
    while (p < lx->end && is_word_start(*p)) {
        if (strchr("imsx", *p) == NULL || n_flags + 1 >= sizeof(lx->tok[slot].flags)) {
            char message[96];
            snprintf(message, sizeof message, "unknown regular expression flag '%c' (use i, m, s or x)", *p);
            set_error(lx, slot, message);
            lx->p = p + 1;
            free(out);
            return;
        }
        lx->tok[slot].flags[n_flags++] = *p++;
    }
    lx->tok[slot].flags[n_flags] = '\0';
    lx->tok[slot].type = TOK_REGEX;
    set_text(lx, slot, out, len);
    lx->p = p;
    free(out);
}

static void lex_operator(struct lexer *lx, int slot)
{
    const char *p = lx->p;
    size_t len = p + 1 < lx->end && p[1] == '=' && *p != '=' ? 2 : 1;
    if (*p == '!' && len == 1) {
        set_error(lx, slot, "a lone '!' (write != or not)");
        lx->p++;
        return;
    }
    lx->tok[slot].type = TOK_OP;
    set_text(lx, slot, p, len);
    lx->p += len;
}

static void lex_run(struct lexer *lx, int slot, enum token_type type, bool (*accept)(char), size_t skip)
{
    const char *p = lx->p + skip;
    while (p < lx->end && accept(*p))
        p++;
    lx->tok[slot].type = type;
    set_text(lx, slot, lx->p + skip, (size_t)(p - lx->p) - skip);
    lx->p = p;
}

static bool is_number_char(char c)
{
    return is_digit(c) || c == ':' || c == '.' || c == '-';
}

static enum token_type punctuation(char c)
{
    switch (c) {
    case '(':
        return TOK_LPAREN;
    case ')':
        return TOK_RPAREN;
    case '[':
        return TOK_LBRACKET;
    case ']':
        return TOK_RBRACKET;
    case ',':
        return TOK_COMMA;
    default:
        return TOK_EOF;
    }
}

static void lex_token(struct lexer *lx, int slot);

/* Reads the next token into slot SLOT. */
static void lex_one(struct lexer *lx, int slot)
{
    struct token *t = &lx->tok[slot];
    skip_space(lx);
    /* line_start: nothing but blanks before it on its line */
    t->line_start = true;
    for (const char *q = lx->line_begin; q < lx->p; q++)
        if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\f' && *q != '\v') {
            t->line_start = false;
            break;
        }
    t->line = lx->line;
    t->col = (int)(lx->p - lx->line_begin) + 1;
    t->flags[0] = '\0';
    t->offset = (size_t)(lx->p - lx->start);
    lex_token(lx, slot);
    t->end = (size_t)(lx->p - lx->start);
}

/* The token at lx->p, white space already skipped. */
static void lex_token(struct lexer *lx, int slot)
{
    struct token *t = &lx->tok[slot];
    if (lx->p >= lx->end) {
        t->type = TOK_EOF;
        set_text(lx, slot, "", 0);
        return;
    }
    char c = *lx->p;
    enum token_type punct = punctuation(c);
    if (punct != TOK_EOF) {
        t->type = punct;
        set_text(lx, slot, lx->p++, 1);
    } else if (is_word_start(c)) {
        lex_run(lx, slot, TOK_WORD, is_word_char, 0);
    } else if (is_digit(c)) {
        lex_run(lx, slot, TOK_NUMBER, is_number_char, 0);
    } else if (c == '@') {
        lex_run(lx, slot, TOK_LIST, is_name_char, 1);
        if (t->len == 0)
            set_error(lx, slot, "'@' must be followed by the name of a list");
    } else if (c == '"') {
        lex_string(lx, slot);
    } else if (c == '/') {
        lex_regex(lx, slot);
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
        lex_operator(lx, slot);
    } else {
        char message[96];
        if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
            snprintf(message, sizeof message, "unexpected character '%c'", c);
        else
            snprintf(message, sizeof message, "unexpected byte 0x%02x outside a string", (unsigned char)c);
        set_error(lx, slot, message);
        lx->p++;
    }
}

void rules_lexer_init(struct lexer *lx, const char *text, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->p = lx->start = lx->line_begin = text;
    lx->end = text + len;
    lx->line = 1;
    for (int slot = 0; slot < RULES_LOOKAHEAD; slot++)
        lex_one(lx, slot);
}

void rules_lexer_free(struct lexer *lx)
{
    for (int slot = 0; slot < RULES_LOOKAHEAD; slot++)
        free(lx->buf[slot]);
    memset(lx, 0, sizeof(*lx));
}

const struct token *rules_peek(const struct lexer *lx, int ahead)
{
    return &lx->tok[ahead <= 0 ? 0 : ahead < RULES_LOOKAHEAD ? ahead : RULES_LOOKAHEAD - 1];
}

void rules_advance(struct lexer *lx)
{
    /* Rotate the slots so that the next token becomes the current one without copying text. */
    struct token first = lx->tok[0];
    char *buf = lx->buf[0];
    size_t cap = lx->cap[0];
    for (int slot = 0; slot + 1 < RULES_LOOKAHEAD; slot++) {
        lx->tok[slot] = lx->tok[slot + 1];
        lx->buf[slot] = lx->buf[slot + 1];
        lx->cap[slot] = lx->cap[slot + 1];
    }
    int last = RULES_LOOKAHEAD - 1;
    lx->tok[last] = first;
    lx->buf[last] = buf;
    lx->cap[last] = cap;
    lx->tok[last].text = buf;
    /* At the end every slot after the current one is the end too (lex_one keeps saying so). */
    lex_one(lx, last);
}

void rules_describe_token(const struct token *t, char *out, size_t size)
{
    char shown[48];
    size_t n = 0;
    for (size_t i = 0; i < t->len && n + 4 < sizeof shown; i++) {
        unsigned char c = (unsigned char)t->text[i];
        shown[n++] = c >= 0x20 && c != 0x7f ? (char)c : '?';
    }
    if (n < t->len) { /* do not cut a UTF-8 sequence in two */
        while (n > 0 && ((unsigned char)shown[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0 && (unsigned char)shown[n - 1] >= 0xC0)
            n--;
    }
    shown[n] = '\0';
    const char *more = n < t->len ? "..." : "";
    switch (t->type) {
    case TOK_EOF:
        snprintf(out, size, "the end of the file");
        break;
    case TOK_STRING:
        snprintf(out, size, "the string \"%s%s\"", shown, more);
        break;
    case TOK_REGEX:
        snprintf(out, size, "the regular expression /%s%s/", shown, more);
        break;
    case TOK_LIST:
        snprintf(out, size, "the list @%s%s", shown, more);
        break;
    default:
        snprintf(out, size, "\"%s%s\"", shown, more);
        break;
    }
}
