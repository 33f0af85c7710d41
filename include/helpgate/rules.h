/*
 * rules.h — the routing rules: parse a rules file once, then decide for each
 * new ticket its tier (L1, L2, L3), priority, queue, tags, assignee,
 * acknowledgement template, notifications and SLA policy, with the reason.
 *
 * The language is described for people in helpgate.rules(5). In short:
 *
 *     timezone "Europe/Berlin"
 *     hours business
 *         mon-fri 08:00-18:00
 *         holiday 2026-12-25, 2026-12-26
 *     end
 *     list vip_domains = "bigcorp.example", "acme.example"
 *     list outage_words = file "outage-words.txt"
 *
 *     rule "Outages go to L3"
 *         when subject contains @outage_words or reply contains @outage_words
 *         then route L3, priority urgent, tag outage, notify team L3, stop
 *     end
 *
 * Rules are evaluated in file order. Every rule whose condition holds applies
 * its actions in order: a later route/priority/queue/assign/acknowledge/sla
 * replaces an earlier one, tags and notifications add up, and `stop` ends the
 * evaluation after the rule's other actions. When no rule routed the ticket,
 * it goes to L1 (the final default); the acknowledgement template is
 * "default" unless a rule said otherwise, the SLA policy is the tier's name.
 * The policies themselves (`sla NAME ... end` in the same file) and the due
 * times they give are in sla.h.
 *
 * Pure: hg_rules_parse() never opens a file itself; list files and time-zone
 * data are read through the loader the caller passes. Evaluation has no clock
 * (the time is an input), no I/O and no global state; a parsed rule set is
 * read-only and may be evaluated from several threads at once.
 *
 * Ownership: hg_rules_parse() returns a new rule set released with
 * hg_rules_free(&r). Errors go into a struct hg_rules_errors the caller owns
 * (hg_rules_errors_free()). A struct hg_rules_result is filled in by
 * hg_rules_evaluate(); its strings point into the rule set or into the input
 * and stay valid as long as both do. Strings returned by the *_json and
 * explain functions are new; the caller frees them with free().
 */
#ifndef HELPGATE_RULES_H
#define HELPGATE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_rules;

/* ------------------------------------------------------------ parsing */

enum hg_rules_load_kind {
    HG_RULES_LOAD_LIST,     /* `list NAME = file "PATH"`: the file's bytes */
    HG_RULES_LOAD_TIMEZONE, /* `timezone "NAME"`: TZif data of that zone */
};

/*
 * Reads what the rules name. Returns 0 with *data_r (a new buffer the rules
 * module frees) and *len_r, or -1 with *error_r (new, freed by the rules
 * module) saying why. PATH is as written in the file: the loader resolves it
 * (relative to the rules file, or the zoneinfo directory).
 */
struct hg_rules_loader {
    int (*load)(void *ctx, enum hg_rules_load_kind kind, const char *name, unsigned char **data_r,
                size_t *len_r, char **error_r);
    void *ctx;
};

struct hg_rules_error {
    int line;      /* 1-based; 0 when the error is about the whole file */
    int col;       /* 1-based column in bytes; 0 when unknown */
    char *message; /* what was found and what was expected */
    char *hint;    /* how to fix it, or NULL */
};

struct hg_rules_errors {
    struct hg_rules_error *items;
    size_t count;
};

/* Every field 0 means the default shown. */
struct hg_rules_limits {
    size_t max_file_size; /* bytes of the rules file (4 MiB) */
    size_t max_list_size; /* bytes of one list file (16 MiB) */
    unsigned max_rules;   /* 10,000 */
    unsigned max_depth;   /* nesting of parentheses and `not` (64) */
};

/*
 * Parses TEXT (LEN bytes, need not be NUL-terminated), naming FILENAME in
 * errors and in the result's rule locations. LOADER may be NULL when the
 * file names no list file and no time zone (else those are errors). Collects
 * every error it can rather than stopping at the first. Returns the rule set,
 * or NULL with ERRORS filled in.
 */
struct hg_rules *hg_rules_parse(const char *text, size_t len, const char *filename,
                                const struct hg_rules_loader *loader, const struct hg_rules_limits *limits,
                                struct hg_rules_errors *errors);
void hg_rules_free(struct hg_rules **rules);

void hg_rules_errors_init(struct hg_rules_errors *errors);
void hg_rules_errors_free(struct hg_rules_errors *errors);
/* "FILE:LINE:COL: message" plus "\n  hint: ..." when there is one. Caller frees. */
char *hg_rules_error_format(const struct hg_rules_errors *errors, size_t i, const char *filename);

size_t hg_rules_count(const struct hg_rules *rules);
const char *hg_rules_filename(const struct hg_rules *rules);

/* ------------------------------------------------------------ evaluation */

struct hg_rules_header {
    const char *name;  /* as written, compared case-insensitively */
    const char *value; /* decoded, unfolded */
};

struct hg_rules_attachment {
    const char *filename;     /* or NULL */
    const char *content_type; /* lower-case type/subtype */
};

/*
 * One ticket's facts. Strings are UTF-8 (a value that is not matches no
 * regular expression and no non-ASCII keyword); NULL means absent.
 */
struct hg_rules_input {
    const char *channel; /* "email" or "chat" */
    const char *from_email;
    const char *from_name;
    const char *recipient; /* the support address it was sent to */
    const char *subject;
    const char *body;  /* the whole text */
    const char *reply; /* the new words (quoted history and signature removed) */
    const struct hg_rules_header *headers;
    size_t n_headers;
    const struct hg_rules_attachment *attachments;
    size_t n_attachments;
    const char *auto_kind; /* NULL (a person), "autoreply", "bounce", "list", "bulk" */

    bool customer_known;       /* false: the sender is new (then the customer fields are defaults) */
    const char *customer_tier; /* "standard", "premium", "vip" (NULL = "standard") */
    bool customer_custom_code;
    const char *customer_custom_code_notes; /* or NULL */
    const char *customer_company;           /* or NULL */
    long customer_open_tickets;             /* open tickets before this one */

    int64_t now; /* seconds since 1970 UTC: the time the message arrived */
};

enum hg_rules_tier { HG_TIER_L1 = 1, HG_TIER_L2 = 2, HG_TIER_L3 = 3 };

#define HG_RULES_MAX_TAGS 32
#define HG_RULES_MAX_NOTIFY 16
#define HG_RULES_MAX_MATCHED 64

struct hg_rules_notify {
    enum hg_rules_tier team; /* when address is NULL: that tier's team (0 = the ticket's final tier) */
    const char *address;     /* an agent's address, or NULL */
    bool with_notes;         /* carry the customer's custom-code notes */
};

/* Where an action or rule comes from. */
struct hg_rules_origin {
    const char *rule; /* rule name; "default" for the final default */
    int line;         /* line of the `rule` keyword; 0 for the default */
};

struct hg_rules_result {
    enum hg_rules_tier tier;
    struct hg_rules_origin tier_origin; /* the rule that decided the tier */
    const char *priority;               /* "low", "normal" (default), "high", "urgent" */
    const char *queue;                  /* or NULL */
    const char *assign;                 /* an agent's address, or NULL */
    const char *acknowledge;            /* template name; NULL = do not acknowledge */
    const char *sla;                    /* SLA policy name; default the tier's name */
    const char *notes;                  /* the customer's custom-code notes when a notify asked for them */
    const char *tags[HG_RULES_MAX_TAGS];
    size_t n_tags;
    struct hg_rules_notify notify[HG_RULES_MAX_NOTIFY];
    size_t n_notify;
    struct hg_rules_origin matched[HG_RULES_MAX_MATCHED]; /* every rule that matched, in order */
    size_t n_matched;
    bool stopped; /* a rule said stop */
};

/*
 * Evaluates RULES (NULL: no rules, only the default) against IN. Never fails;
 * allocates nothing but one PCRE2 match block and one bit array per call.
 */
void hg_rules_evaluate(const struct hg_rules *rules, const struct hg_rules_input *in,
                       struct hg_rules_result *out);

/* "L1", "L2", "L3". */
const char *hg_rules_tier_name(enum hg_rules_tier tier);

/*
 * The result as a JSON object for tickets.route_actions and the audit log:
 * {"tier", "rule", "file", "line", "priority", "queue", "assign",
 *  "acknowledge", "sla", "tags", "notify", "matched", "stopped"}, and "notes"
 * (the custom-code notes) when a notification asked for them.
 */
char *hg_rules_result_json(const struct hg_rules *rules, const struct hg_rules_result *result);

/*
 * A readable trace for `helpgatectl rules test`: every rule in order, whether
 * it matched, each condition with the value it saw (shortened) and its
 * outcome, then the resulting actions.
 */
char *hg_rules_explain(const struct hg_rules *rules, const struct hg_rules_input *in);

#endif
