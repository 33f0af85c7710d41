/*
 * rules_internal.h — what the files of the rules module share; not a public API.
 *
 * rules_lex.c cuts the file into tokens, rules_parse.c builds and checks the
 * compiled rule set (conditions as trees of compiled tests, actions as a flat
 * list, calendars, SLA policies), rules_eval.c evaluates it, explains it and
 * writes the JSON form, sla.c counts business time in calendars (sla.h).
 * A compiled rule set is read-only after parsing.
 */
#ifndef HELPGATE_RULES_INTERNAL_H
#define HELPGATE_RULES_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include "helpgate/rules.h"
#include "helpgate/sla.h"
#include "helpgate/tz.h"

#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ tokens */

enum token_type {
    TOK_EOF,
    TOK_WORD,   /* [A-Za-z_][A-Za-z0-9_.+/@-]* */
    TOK_NUMBER, /* [0-9][0-9:.-]*: numbers, dates, times, spans */
    TOK_STRING, /* "..." (text holds the decoded value) */
    TOK_REGEX,  /* /.../flags (text holds the pattern, flags the letters) */
    TOK_LIST,   /* @name (text holds the name) */
    TOK_OP,     /* = != < <= > >= */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
    TOK_ERROR, /* text holds the message */
};

struct token {
    enum token_type type;
    char *text; /* NUL-terminated; owned by the lexer, valid until the next call */
    size_t len;
    char flags[8]; /* regex flags */
    int line, col;
    size_t offset, end; /* where it starts and ends in the text */
    bool line_start;    /* first token on its line */
};

/* Tokens the parser can see: the current one and two after it (`sla NAME` then a policy line). */
#define RULES_LOOKAHEAD 3

struct lexer {
    const char *p, *end, *start;
    int line;
    const char *line_begin;
    struct token tok[RULES_LOOKAHEAD]; /* current, next, the one after */
    char *buf[RULES_LOOKAHEAD];        /* text storage of each slot */
    size_t cap[RULES_LOOKAHEAD];
};

void rules_lexer_init(struct lexer *lx, const char *text, size_t len);
void rules_lexer_free(struct lexer *lx);
/* The current token; peek(1) is the one after it, peek(2) the one after that. */
const struct token *rules_peek(const struct lexer *lx, int ahead);
void rules_advance(struct lexer *lx);
/* "end of file", "\"word\"", "string \"...\"" … for error messages (static buffer per call site). */
void rules_describe_token(const struct token *t, char *out, size_t size);

/* ------------------------------------------------------------ compiled rules */

enum field_kind { KIND_TEXT, KIND_NUMBER, KIND_BOOL };

enum field_id {
    F_CHANNEL,
    F_FROM,
    F_FROM_DOMAIN,
    F_FROM_NAME,
    F_RECIPIENT,
    F_SUBJECT,
    F_BODY,
    F_REPLY,
    F_HEADER, /* header.NAME */
    F_ATTACHMENT_COUNT,
    F_ATTACHMENT_TYPE,
    F_ATTACHMENT_NAME,
    F_AUTO,
    F_CUSTOMER_TIER,
    F_CUSTOMER_CUSTOM_CODE,
    F_CUSTOMER_COMPANY,
    F_CUSTOMER_OPEN_TICKETS,
    F_CUSTOMER_NEW,
    F_TIME_WEEKDAY,
    F_TIME_HOUR,
    F_TIME_DATE,
    F_HOURS, /* hours.NAME */
};

struct field_info {
    const char *name; /* "header." and "hours." take a suffix */
    enum field_id id;
    enum field_kind kind;
    bool several; /* may have several values */
    bool time;    /* needs the local time */
};

const struct field_info *rules_fields(size_t *count_r);

enum op {
    OP_IS,
    OP_IS_NOT,
    OP_CONTAINS,
    OP_STARTS,
    OP_ENDS,
    OP_MATCHES,
    OP_IN,
    OP_NOT_IN,
    OP_EXISTS,
    OP_EQ, /* numbers */
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_TRUE, /* a yes/no field alone */
};

/* A set of strings compared case-insensitively (ASCII entries only), sorted for bsearch. */
struct string_set {
    char **items; /* lower-cased */
    size_t count;
};

/* Aho–Corasick automaton of the keyword lists of `contains` tests on one field (rules_ac.c). */
struct rules_ac {
    uint32_t n_states;
    unsigned n_classes;
    uint8_t byte_class[256];
    uint32_t *next;      /* n_states × n_classes transitions */
    uint32_t *out_first; /* per state: first output, or UINT32_MAX */
    uint32_t *out_next;  /* per output: the next one of the same state */
    uint32_t *out_slot;  /* per output: the test slot it sets */
    uint32_t *dict;      /* per state: nearest state with outputs on the failure chain, 0 for none */
    size_t n_slots;      /* tests using this automaton */
};

struct rules_ac_keyword {
    const char *text; /* ASCII */
    uint32_t slot;
};

void rules_ac_init(struct rules_ac *ac);
void rules_ac_build(struct rules_ac *ac, const struct rules_ac_keyword *keywords, size_t n, size_t n_slots);
void rules_ac_free(struct rules_ac *ac);
/* Sets the bit of every slot whose keyword occurs in TEXT (NUL-terminated). */
void rules_ac_scan(const struct rules_ac *ac, const char *text, uint64_t *bits);

#define N_FIELD_IDS (F_HOURS + 1)

struct test {
    enum field_id field;
    enum field_kind kind;
    char *field_arg; /* header name, or calendar name */
    size_t calendar; /* index for F_HOURS */
    enum op op;
    pcre2_code *re;        /* text tests, unless set is used */
    struct string_set set; /* OP_IN / OP_NOT_IN / OP_IS against a large ASCII list */
    bool use_set;
    bool never;       /* an empty list: no value can match */
    bool use_ac;      /* a `contains` test answered by its field's automaton */
    uint32_t ac_slot; /* its bit among the field's slots */
    long number;
    char *source; /* the test as written, for explanations */

    /* What the parser read, compiled once every list is known (then freed). */
    char **items; /* inline values */
    size_t n_items;
    char *list_name; /* @name, or NULL */
    char *pattern;   /* matches */
    char flags[8];
    int line, col;             /* of the field */
    int value_line, value_col; /* of the value */
};

enum node_type { NODE_TEST, NODE_AND, NODE_OR, NODE_NOT };

struct node {
    enum node_type type;
    struct node *left, *right; /* NODE_NOT uses left */
    struct test *test;
};

enum action_type {
    ACT_ROUTE,
    ACT_ROUTE_AT_LEAST,
    ACT_PRIORITY,
    ACT_QUEUE,
    ACT_TAG,
    ACT_ASSIGN,
    ACT_ACKNOWLEDGE, /* text NULL = none */
    ACT_NOTIFY,
    ACT_SLA,
    ACT_STOP,
};

struct action {
    enum action_type type;
    enum hg_rules_tier tier; /* route, notify team (0 = the final tier) */
    char *text;              /* priority, queue, tag, assign, template, notify address, sla */
    bool with_notes;
    int line, col; /* of the value (sla: the policy's name, checked once the file is read) */
};

struct rule {
    char *name;
    int line;
    struct node *when; /* NULL: always */
    struct action *actions;
    size_t n_actions;
};

struct span {
    unsigned days;  /* bit 0 = Monday … bit 6 = Sunday */
    int start, end; /* minutes of the day, [start, end) */
};

/* Open seconds of a local day, [start, end), 0 to 86400. */
struct open_interval {
    int32_t start, end;
};

struct calendar {
    char *name;
    int line;
    struct span *spans;
    size_t n_spans;
    int *holidays; /* YYYYMMDD, sorted */
    size_t n_holidays;
    /* Made by rules_calendar_prepare(): per weekday (0 = Monday) the spans merged, sorted, disjoint. */
    struct open_interval *open[7];
    size_t n_open[7];
    int64_t week_secs; /* open seconds in a week without holidays or clock changes */
};

/* Where a line of an `sla` block was written (line 0: it was not). */
struct sla_where {
    int line, col;
};

struct sla_policy {
    struct hg_sla_policy pub; /* first: hg_rules_sla() hands out &pub and sla.c casts back */
    char *name;
    char *calendar_name; /* or NULL: around the clock */
    size_t calendar;     /* index into hg_rules.calendars once checked */
    struct sla_where at, first_response, resolution, warn, hours, on_breach;
    struct sla_where in_days; /* the first duration written in days */
};

struct named_list {
    char *name;
    int line;
    char **items;
    size_t count;
    bool used;
};

struct hg_rules {
    char *filename;
    struct hg_tz *tz; /* NULL: UTC */
    char *tz_name;
    struct calendar *calendars;
    size_t n_calendars;
    struct named_list *lists;
    size_t n_lists;
    struct rule *rules;
    size_t n_rules;
    struct sla_policy *slas;
    size_t n_slas;
    bool uses_time;
    struct rules_ac ac[N_FIELD_IDS]; /* per field: its `contains` tests' keywords */
    size_t ac_word[N_FIELD_IDS];     /* where the field's bits start in an evaluation's bit array */
    size_t ac_words;                 /* 64-bit words for all fields */
};

/* ------------------------------------------------------------ evaluation helpers */

/* Local time facts of one evaluation (filled when the rules use time). */
struct eval_time {
    int weekday; /* 0 = Monday */
    int hour, minute;
    int date; /* YYYYMMDD */
    char weekday_name[4];
    char date_text[32];
};

void rules_free_node(struct node *n);

/* ------------------------------------------------------------ calendars and SLA policies (sla.c) */

struct hg_buf;

/* Fills C's open[], n_open[] and week_secs from its spans. */
void rules_calendar_prepare(struct calendar *c);
void rules_calendar_release(struct calendar *c);

/* "HhMm" for a duration in seconds ("4h", "1h30m", "45m", "3d" when whole days and DAYS). */
void rules_sla_duration_text(int64_t secs, bool days, char *out, size_t size);

/* The lines of `rules test` about the SLA policy NAME for a ticket that arrived at NOW. */
void rules_sla_explain(const struct hg_rules *rules, const char *name, int64_t now, struct hg_buf *b);

#endif
