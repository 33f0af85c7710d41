/*
 * agent_command.c — commands at the top of an agent's answer (see agent_command.h).
 *
 * The input is read line by line. Within a line, a token is a number sign
 * and what follows it: a known command with its level (a command), letters
 * that are no command (an unknown command), or anything else (text). Lines
 * of commands at the top form the command block; the first text line ends
 * it. The rest is copied as the text, and only checked for commands that
 * were put below the text by mistake.
 */
#include "helpgate/agent_command.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/suggest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORD 32         /* letters of a command word kept for messages */
#define MAX_QUOTED 32       /* characters of a token quoted in a message */
#define MAX_PROBLEM 160     /* one problem's sentence */
#define MAX_ERRORS_SHOWN 5  /* problems listed in the message */
#define MAX_ERROR_TEXT 4096 /* the whole message */

static const char known_commands[] = "Commands, each at the start of a line at the top of the answer: "
                                     "#note (the text becomes an internal note, not sent to the customer), "
                                     "#tier L1, #tier L2 or #tier L3, #pending, #close.";

static const char *const command_words[] = {"note", "tier", "pending", "close"};

/* Words agents may try for a command, for the suggestion only: they are not accepted. */
static const struct {
    const char *word;
    const char *suggestion;
} aliases[] = {
    {"closed", "#close"},
    {"resolve", "#close"},
    {"resolved", "#close"},
    {"solve", "#close"},
    {"solved", "#close"},
    {"done", "#close"},
    {"escalate", "#tier L2 or #tier L3"},
    {"internal", "#note"},
    {"private", "#note"},
    {"comment", "#note"},
    {"wait", "#pending"},
    {"waiting", "#pending"},
    {"hold", "#pending"},
    {"onhold", "#pending"},
    {"l1", "#tier L1"},
    {"l2", "#tier L2"},
    {"l3", "#tier L3"},
};

const char *hg_agent_command_name(enum hg_agent_command_kind kind)
{
    switch (kind) {
    case HG_AGENT_NOTE:
        return "note";
    case HG_AGENT_TIER:
        return "tier";
    case HG_AGENT_PENDING:
        return "pending";
    case HG_AGENT_CLOSE:
        return "close";
    }
    return "?";
}

/* ------------------------------------------------------------ characters */

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool starts_with(const char *p, const char *end, const char *bytes)
{
    size_t n = strlen(bytes);
    return (size_t)(end - p) >= n && memcmp(p, bytes, n) == 0;
}

/* Bytes of a blank at P: ASCII blanks and Unicode spaces; 0 when there is none. */
static size_t space_len(const char *p, const char *end)
{
    unsigned char c = (unsigned char)*p;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
        return 1;
    if (starts_with(p, end, "\xC2\xA0"))
        return 2;
    if (end - p >= 3 && c == 0xE2 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] >= 0x80 &&
        (unsigned char)p[2] <= 0x8A) /* U+2000 to U+200A */
        return 3;
    if (starts_with(p, end, "\xE2\x80\xAF") || starts_with(p, end, "\xE2\x81\x9F") ||
        starts_with(p, end, "\xE3\x80\x80"))
        return 3;
    return 0;
}

/* Bytes of a zero-width character or soft hyphen at P; 0 when there is none. */
static size_t invisible_len(const char *p, const char *end)
{
    if (starts_with(p, end, "\xC2\xAD"))
        return 2;
    if (end - p >= 3 && (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
        (unsigned char)p[2] >= 0x8B && (unsigned char)p[2] <= 0x8D) /* U+200B to U+200D */
        return 3;
    if (starts_with(p, end, "\xE2\x81\xA0") || starts_with(p, end, "\xEF\xBB\xBF"))
        return 3;
    return 0;
}

static const char *skip_invisible(const char *p, const char *end)
{
    size_t n;
    while (p < end && (n = invisible_len(p, end)) > 0)
        p += n;
    return p;
}

static const char *skip_blanks(const char *p, const char *end)
{
    size_t n;
    while (p < end && ((n = space_len(p, end)) > 0 || (n = invisible_len(p, end)) > 0))
        p += n;
    return p;
}

static bool at_blank(const char *p, const char *end)
{
    return p < end && (space_len(p, end) > 0 || invisible_len(p, end) > 0);
}

/* Bytes of a number sign at P: '#' or the fullwidth U+FF03; 0 when there is none. */
static size_t hash_len(const char *p, const char *end)
{
    if (p < end && *p == '#')
        return 1;
    return starts_with(p, end, "\xEF\xBC\x83") ? 3 : 0;
}

static bool is_punctuation(char c)
{
    return c == '.' || c == ',' || c == ':' || c == ';' || c == '!';
}

/* Past trailing punctuation and blanks. */
static const char *skip_punctuation(const char *p, const char *end)
{
    for (;;) {
        p = skip_blanks(p, end);
        if (p == end || !is_punctuation(*p))
            return p;
        p++;
    }
}

/* ------------------------------------------------------------ tokens */

enum token_kind {
    TOK_TEXT,    /* not a command */
    TOK_UNKNOWN, /* '#' and letters that are no command */
    TOK_COMMAND,
    TOK_BAD, /* a known command written wrongly */
};

struct token {
    enum token_kind kind;
    struct hg_agent_command cmd;
    const char *end;               /* after the token and its trailing punctuation */
    char word[MAX_WORD + 1];       /* the letters read, lower-case */
    char quoted[MAX_QUOTED + 4];   /* the token as written, printable ASCII */
    char problem[MAX_PROBLEM + 1]; /* with TOK_BAD */
    bool spaced;                   /* a blank stands between the number sign and the word */
};

/* Up to MAX_QUOTED characters of [P, END) before a blank, as printable ASCII. */
static void quote_token(char *out, const char *p, const char *end)
{
    size_t n = 0;
    for (; p < end && !at_blank(p, end) && n < MAX_QUOTED; p++)
        out[n++] = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7F ? *p : '?';
    if (p < end && !at_blank(p, end))
        memcpy(out + n, "...", 3), n += 3;
    out[n] = '\0';
}

/*
 * Reads ASCII letters at P into WORD (lower-case), skipping zero-width
 * characters between them; *AFTER_FOURTH_R is set past the fourth letter.
 * Returns the position after the last letter.
 */
static const char *read_word(const char *p, const char *end, char *word, const char **after_fourth_r)
{
    size_t n = 0;
    *after_fourth_r = NULL;
    const char *q = p;
    while (q < end && is_letter(*q)) {
        if (n < MAX_WORD)
            word[n++] = lower(*q);
        q++;
        if (n == 4)
            *after_fourth_r = q;
        p = q;
        q = skip_invisible(q, end);
    }
    word[n] = '\0';
    return p;
}

static bool ends_token(const char *p, const char *end)
{
    return p >= end || at_blank(p, end) || is_punctuation(*p) || hash_len(p, end) > 0;
}

/* The level of "#tier" at P ("L3", "l 3", ": L3", "= 3", "3"); fills T. */
static void read_tier_level(const char *p, const char *end, struct token *t)
{
    p = skip_blanks(p, end);
    if (p < end && (*p == ':' || *p == '='))
        p = skip_blanks(p + 1, end);
    const char *arg = p;
    if (p < end && lower(*p) == 'l')
        p = skip_blanks(p + 1, end);
    if (p < end && *p >= '1' && *p <= '3' && ends_token(p + 1, end)) {
        t->kind = TOK_COMMAND;
        t->cmd.tier = (unsigned)(*p - '0');
        t->end = skip_punctuation(p + 1, end);
        return;
    }
    t->kind = TOK_BAD;
    t->end = end;
    if (arg == end || hash_len(arg, end) > 0) {
        snprintf(t->problem, sizeof t->problem, "#tier needs a level: write #tier L1, #tier L2 or #tier L3");
        return;
    }
    char quoted[MAX_QUOTED + 4];
    quote_token(quoted, arg, end);
    snprintf(t->problem, sizeof t->problem, "#tier takes L1, L2 or L3, not \"%s\"", quoted);
}

static enum hg_agent_command_kind command_of(const char *word)
{
    for (size_t i = 0; i < sizeof command_words / sizeof command_words[0]; i++)
        if (strcmp(word, command_words[i]) == 0)
            return (enum hg_agent_command_kind)(HG_AGENT_NOTE + (int)i);
    return 0;
}

/* Reads the token at P (after blanks); see agent_command.h for what is text. */
static struct token read_token(const char *p, const char *end, unsigned line)
{
    struct token t = {.kind = TOK_TEXT, .end = p, .cmd.line = line};
    size_t h = hash_len(p, end);
    if (h == 0)
        return t;
    quote_token(t.quoted, p, end);
    const char *q = skip_invisible(p + h, end);
    t.spaced = at_blank(q, end);
    q = skip_blanks(q, end);
    if (q >= end || !is_letter(*q))
        return t;
    const char *after_fourth;
    const char *after = read_word(q, end, t.word, &after_fourth);
    enum hg_agent_command_kind kind = command_of(t.word);
    bool glued = after < end && is_digit(*after); /* "#tier3", "#tierL3" */
    if (glued && strcmp(t.word, "tierl") == 0)
        kind = HG_AGENT_TIER, after = after_fourth;
    if (kind == 0 || (!ends_token(after, end) && !(kind == HG_AGENT_TIER && glued))) {
        if (glued && strcmp(t.word, "l") == 0) /* "#L3": keep the digit for the suggestion */
            t.word[1] = *after, t.word[2] = '\0';
        t.kind = t.spaced ? TOK_TEXT : TOK_UNKNOWN; /* "# Steps" is a heading, "#steps" a mistyped command */
        return t;
    }
    t.cmd = (struct hg_agent_command){kind, 0, line};
    if (kind == HG_AGENT_TIER) {
        read_tier_level(after, end, &t);
        return t;
    }
    t.kind = TOK_COMMAND;
    t.end = skip_punctuation(after, end);
    return t;
}

/* Whether [P, END) is one or more commands and nothing else. */
static bool only_commands(const char *p, const char *end, unsigned line)
{
    p = skip_blanks(p, end);
    if (p == end)
        return false;
    while (p < end) {
        struct token t = read_token(p, end, line);
        if (t.kind != TOK_COMMAND || t.spaced)
            return false;
        p = skip_blanks(t.end, end);
    }
    return true;
}

/* ------------------------------------------------------------ the parse */

struct parser {
    struct hg_agent_reply *r;
    struct hg_buf errors;
    unsigned n_errors;
    unsigned status_line; /* where #pending or #close was first written */
    unsigned tier_line;
    const char *note_text; /* text on the #note line, or NULL */
    const char *note_text_end;
};

__attribute__((format(printf, 3, 4))) static void problem(struct parser *ps, unsigned line, const char *fmt,
                                                          ...)
{
    char text[MAX_PROBLEM + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (ps->n_errors++ < MAX_ERRORS_SHOWN)
        hg_buf_printf(&ps->errors, "Line %u: %s.\n", line, text);
}

static void unknown_command(struct parser *ps, const struct token *t)
{
    const char *suggestion = NULL;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0] && suggestion == NULL; i++)
        if (strcmp(t->word, aliases[i].word) == 0)
            suggestion = aliases[i].suggestion;
    const char *near = hg_suggest(t->word, command_words, sizeof command_words / sizeof command_words[0]);
    char hint[64] = "";
    if (suggestion != NULL || near != NULL)
        snprintf(hint, sizeof hint, "; did you mean %s%s?", suggestion != NULL ? "" : "#",
                 suggestion != NULL ? suggestion : near);
    problem(ps, t->cmd.line,
            "\"%s\" is not a command%s (an answer that starts with a hashtag needs a line of "
            "text before it)",
            t->quoted, hint);
}

static void add_command(struct parser *ps, const struct hg_agent_command *cmd)
{
    struct hg_agent_reply *r = ps->r;
    for (size_t i = 0; i < r->n_commands; i++)
        if (r->commands[i].kind == cmd->kind && r->commands[i].tier == cmd->tier)
            return; /* written twice: once is enough */
    if (cmd->kind == HG_AGENT_TIER && r->tier != 0) {
        problem(ps, cmd->line, "#tier L%u contradicts #tier L%u on line %u", cmd->tier, r->tier,
                ps->tier_line);
        return;
    }
    bool status = cmd->kind == HG_AGENT_PENDING || cmd->kind == HG_AGENT_CLOSE;
    if (status && r->status != HG_AGENT_STATUS_UNCHANGED) {
        problem(ps, cmd->line, "#%s contradicts #%s on line %u", hg_agent_command_name(cmd->kind),
                r->status == HG_AGENT_STATUS_PENDING ? "pending" : "close", ps->status_line);
        return;
    }
    if (r->n_commands < HG_AGENT_MAX_COMMANDS)
        r->commands[r->n_commands++] = *cmd;
    if (cmd->kind == HG_AGENT_NOTE)
        r->note = true;
    if (cmd->kind == HG_AGENT_TIER)
        r->tier = cmd->tier, ps->tier_line = cmd->line;
    if (status) {
        r->status = cmd->kind == HG_AGENT_PENDING ? HG_AGENT_STATUS_PENDING : HG_AGENT_STATUS_CLOSED;
        ps->status_line = cmd->line;
    }
}

enum line_kind {
    LINE_BLANK,
    LINE_TEXT,
    LINE_COMMANDS,
};

/* A line of the command block: its commands, problems and same-line note text. */
static enum line_kind read_command_line(struct parser *ps, const char *p, const char *end, unsigned line)
{
    p = skip_blanks(p, end);
    if (p == end)
        return LINE_BLANK;
    struct token t = read_token(p, end, line);
    if (t.kind == TOK_TEXT || (t.spaced && t.kind == TOK_BAD))
        return LINE_TEXT;
    if (t.spaced) {
        const char *rest = skip_blanks(t.end, end);
        if (rest != end && !only_commands(rest, end, line))
            return LINE_TEXT; /* "# close the lid first" */
        problem(ps, line, "write #%s without a blank after the number sign",
                hg_agent_command_name(t.cmd.kind));
        return LINE_COMMANDS;
    }
    bool note = false, rest_checked = false;
    const char *last = NULL;
    for (;;) {
        if (t.kind == TOK_UNKNOWN) {
            unknown_command(ps, &t);
            break;
        }
        if (t.kind == TOK_BAD) {
            problem(ps, line, "%s", t.problem);
            break;
        }
        add_command(ps, &t.cmd);
        note = note || t.cmd.kind == HG_AGENT_NOTE;
        last = hg_agent_command_name(t.cmd.kind);
        p = skip_blanks(t.end, end);
        if (p == end)
            break;
        if (note && !rest_checked) { /* after #note: more commands, or the start of the note */
            if (!only_commands(p, end, line)) {
                if (ps->note_text != NULL)
                    problem(ps, line, "a second #note with text; write the whole note below one #note");
                ps->note_text = p, ps->note_text_end = end;
                break;
            }
            rest_checked = true;
        }
        t = read_token(p, end, line);
        if (t.kind == TOK_TEXT || t.spaced) {
            problem(ps, line,
                    "text follows #%s on the same line; start the answer on the next line, or write "
                    "#note to keep it internal",
                    last);
            break;
        }
    }
    return LINE_COMMANDS;
}

/* After the text began: a line that starts with a command the agent meant to apply. */
static void check_misplaced(struct parser *ps, const char *p, const char *end, unsigned line)
{
    p = skip_blanks(p, end);
    struct token t = read_token(p, end, line);
    if (t.kind != TOK_COMMAND || t.spaced)
        return;
    bool note_line = t.cmd.kind == HG_AGENT_NOTE;
    if (note_line || only_commands(p, end, line))
        problem(ps, line,
                "#%s comes after the text; commands are read only at the top of the answer, "
                "before any text",
                hg_agent_command_name(t.cmd.kind));
}

/* Appends the line [P, END) to B without NUL bytes and trailing CRs; *CONTENT_R is the length after
 * the last line that was not blank. */
static void append_line(struct hg_buf *b, const char *p, const char *end, size_t *content_r)
{
    while (end > p && (end[-1] == '\r' || end[-1] == '\0'))
        end--;
    if (b->len > 0)
        hg_buf_append_char(b, '\n');
    for (const char *q = p; q < end;) {
        const char *nul = memchr(q, '\0', (size_t)(end - q));
        const char *stop = nul != NULL ? nul : end;
        hg_buf_append(b, q, (size_t)(stop - q));
        q = stop + (nul != NULL);
    }
    const char *v = skip_blanks(p, end);
    while (v < end && *v == '\0')
        v = skip_blanks(v + 1, end);
    if (v < end)
        *content_r = b->len;
}

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl != NULL ? nl : end;
}

/*
 * The text: same-line note text, then every line from BODY on, trailing
 * blank lines cut. It is never longer than the input (MAX): each newline
 * written stands for at least one newline read.
 */
static char *collect_text(const struct parser *ps, const char *body, const char *end, size_t max)
{
    struct hg_buf b;
    hg_buf_init(&b, max);
    size_t content = 0;
    if (ps->note_text != NULL)
        append_line(&b, ps->note_text, ps->note_text_end, &content);
    for (const char *p = body; p != NULL && p < end;) {
        const char *e = line_end(p, end);
        append_line(&b, p, e, &content);
        p = e + 1;
    }
    char *text = hg_buf_steal(&b);
    text[content] = '\0';
    return text;
}

static void read_lines(struct parser *ps, const char *text, const char *end, const char **body_r)
{
    unsigned line = 0;
    *body_r = NULL;
    for (const char *p = text; p < end;) {
        const char *e = line_end(p, end);
        line++;
        if (*body_r != NULL)
            check_misplaced(ps, p, e, line);
        else if (read_command_line(ps, p, e, line) == LINE_TEXT)
            *body_r = p;
        p = e + 1;
    }
}

static void check_empty_note(struct parser *ps)
{
    struct hg_agent_reply *r = ps->r;
    if (!r->note || r->text[0] != '\0')
        return;
    unsigned line = 0;
    for (size_t i = 0; i < r->n_commands; i++)
        if (r->commands[i].kind == HG_AGENT_NOTE)
            line = r->commands[i].line;
    problem(ps, line, "#note has no note; write it after #note or on the lines below");
}

int hg_agent_reply_parse(const char *text, size_t len, struct hg_agent_reply **reply_r, char **error_r)
{
    struct parser ps = {.r = hg_xcalloc(1, sizeof(struct hg_agent_reply))};
    hg_buf_init(&ps.errors, MAX_ERROR_TEXT);
    const char *end = text != NULL ? text + len : NULL, *body;
    read_lines(&ps, text, end, &body);
    ps.r->text = collect_text(&ps, body, end, len);
    check_empty_note(&ps);
    ps.r->relay = !ps.r->note && ps.r->text[0] != '\0';
    if (ps.n_errors > 0) {
        if (ps.n_errors > MAX_ERRORS_SHOWN)
            hg_buf_printf(&ps.errors, "And %u more problems.\n", ps.n_errors - MAX_ERRORS_SHOWN);
        hg_buf_append_str(&ps.errors, known_commands);
        *error_r = hg_buf_steal(&ps.errors);
        *reply_r = NULL;
        hg_agent_reply_free(&ps.r);
        return -1;
    }
    hg_buf_free(&ps.errors);
    *reply_r = ps.r;
    return 0;
}

void hg_agent_reply_free(struct hg_agent_reply **reply)
{
    if (*reply == NULL)
        return;
    free((*reply)->text);
    free(*reply);
    *reply = NULL;
}
