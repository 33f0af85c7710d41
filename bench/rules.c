/*
 * rules.c — benchmark of the routing rules evaluator (a benchmark, not a test).
 *
 *   rules DIR [--tickets N] [--repeat R] [--seed S]
 *                         normalize every DIR/ *.eml once with hg_mail_parse(), generate a rules file of
 *                         100 and one of 1,000 rules in memory, then evaluate N tickets (default 100,000,
 *                         cycling through the messages) against each and against two baselines, R times
 *                         (default 3), and print the medians: µs per ticket, tickets/s, the ratios to the
 *                         baselines and whether the target (< 20 µs per ticket with 100 rules) is met
 *   rules DIR --by-kind [--tickets N] [--repeat R] [--seed S]
 *                         where the time goes: every rule of the 100-rule file alone (same head and lists),
 *                         evaluated over N tickets (default 20,000), minus the empty rule set; summed by
 *                         kind of rule, and the costliest rules
 *   rules DIR --show-rules [--seed S]
 *                         print the generated files' head (time zone, calendars, shared lists) and one
 *                         rule of each kind
 *   rules DIR --write OUTDIR [--seed S]
 *                         write rules-100.conf, rules-1000.conf and their list files into OUTDIR, for
 *                         `helpgatectl rules check` and `helpgatectl rules test`
 *
 * DIR is a corpus of ../shared/bench/gen_corpus.py (e.g. `--count 2000 --out /tmp/corpus`). Each message
 * becomes one struct hg_rules_input: subject, body, reply, sender, recipient, the message's header fields
 * (hg_mail.headers), its attachments and its auto kind from the struct hg_mail; the customer facts are drawn
 * from the seed (5% vip, 15% premium, 3% custom code, 0-5 open tickets, 15% new senders) and the arrival time
 * is spread over the week of Monday 2026-11-23 in Berlin. Rules apply to new tickets only; here every message
 * counts as one.
 *
 * The rules are generated from the seed and the corpus's sender domains: domain lists with `in` (50 to
 * 500 entries, the long ones as list files served by the loader), subject/reply/body `contains` with
 * keyword lists, `matches` regexes, header and attachment tests, customer facts, business hours in
 * Europe/Berlin (read from /usr/share/zoneinfo), combinations with and/or/not, and every kind of action;
 * `stop` on about 1% of the rules, with rare conditions, so that nearly every ticket runs every rule.
 * The 1,000-rule file begins with the 100 rules of the small one.
 *
 * Baselines, in the same process and interleaved with the measured runs: "touch" reads every text field
 * of the input once (strlen), the cost of looking at the data; "empty" is hg_rules_evaluate(NULL, ...),
 * the cost of the call, its result and its match block. The heap in use (mallinfo2 uordblks) is read
 * before and after each timed loop; it must not grow. The peak RSS is the process's (getrusage).
 */
#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/mail.h"
#include "helpgate/rules.h"
#include "helpgate/tz.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

enum {
    SMALL_SET = 100,
    LARGE_SET = 1000,
    MAX_TEXT = 64 * 1024 * 1024, /* bytes of a generated file */
    WEEK = 7 * 24 * 3600,
};

/* Monday 2026-11-23 00:00 in Berlin (23:00 UTC the day before). */
static const int64_t week_start = INT64_C(1795388400);
static const char *const zoneinfo_dir = "/usr/share/zoneinfo";

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: small, fast and the same on every machine. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

static uint64_t seed_state(uint64_t seed, uint64_t stream)
{
    uint64_t s = (seed ^ (stream * UINT64_C(0x9E3779B97F4A7C15))) | 1;
    for (int i = 0; i < 4; i++)
        next_random(&s);
    return s;
}

static unsigned below(uint64_t *state, unsigned n)
{
    return (unsigned)(next_random(state) % n);
}

static bool percent(uint64_t *state, unsigned p)
{
    return below(state, 100) < p;
}

static char *read_whole_file(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        fclose(f);
        return NULL;
    }
    char *data = hg_xmalloc((size_t)st.st_size + 1);
    size_t n = fread(data, 1, (size_t)st.st_size, f);
    fclose(f);
    data[n] = '\0';
    *len_r = n;
    return data;
}

static int write_whole_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "rules: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || n != len) {
        fprintf(stderr, "rules: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ tickets */

struct ticket {
    struct hg_mail *mail;
    struct hg_rules_header *headers;
    struct hg_rules_attachment *attachments;
    char *company;
};

struct corpus {
    struct ticket *tickets;
    struct hg_rules_input *inputs;
    size_t count;
    size_t bytes;
    double parse_seconds;
    char **domains; /* the distinct sender domains, sorted */
    size_t n_domains;
};

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **eml_names(const char *dir, size_t *count_r)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "rules: cannot open %s: %s\n", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t n = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".eml") == 0) {
            names = hg_xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = hg_xstrdup(e->d_name);
        }
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), compare_strings);
    *count_r = n;
    return names;
}

static const char *domain_of(const char *address)
{
    const char *at = address != NULL ? strrchr(address, '@') : NULL;
    return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

static void collect_domains(struct corpus *c)
{
    c->domains = hg_xcalloc(c->count + 1, sizeof(*c->domains));
    size_t n = 0;
    for (size_t i = 0; i < c->count; i++) {
        const char *d = domain_of(c->inputs[i].from_email);
        if (d != NULL)
            c->domains[n++] = hg_xstrdup(d);
    }
    qsort(c->domains, n, sizeof(*c->domains), compare_strings);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && strcmp(c->domains[kept - 1], c->domains[i]) == 0)
            free(c->domains[i]);
        else
            c->domains[kept++] = c->domains[i];
    }
    c->n_domains = kept;
}

/* The facts of one ticket: what the message says, and a customer drawn from the seed. */
static void make_input(struct ticket *t, struct hg_rules_input *in, uint64_t *rng)
{
    static const char *const notes[] = {
        "custom SSO connector (SAML), owner: integrations team",
        "patched export module v2, see wiki page CC-114",
        "on-premise build with a custom invoice layout",
    };
    const struct hg_mail *m = t->mail;
    t->headers = hg_xcalloc(m->n_headers + 1, sizeof(*t->headers));
    for (size_t i = 0; i < m->n_headers; i++)
        t->headers[i] = (struct hg_rules_header){m->headers[i].name, m->headers[i].value};
    t->attachments = hg_xcalloc(m->n_attachments + 1, sizeof(*t->attachments));
    for (size_t i = 0; i < m->n_attachments; i++)
        t->attachments[i] =
            (struct hg_rules_attachment){m->attachments[i].filename, m->attachments[i].content_type};

    bool known = !percent(rng, 15);
    int64_t now = week_start + (int64_t)below(rng, WEEK);
    *in = (struct hg_rules_input){
        .channel = "email",
        .from_email = m->from != NULL ? m->from->email : NULL,
        .from_name = m->from != NULL ? m->from->name : NULL,
        .recipient = m->delivered_to != NULL ? m->delivered_to
                     : m->to.count > 0       ? m->to.items[0].email
                                             : NULL,
        .subject = m->subject,
        .body = m->body_text,
        .reply = m->reply_text,
        .headers = t->headers,
        .n_headers = m->n_headers,
        .attachments = t->attachments,
        .n_attachments = m->n_attachments,
        .auto_kind = hg_mail_auto_name(m->auto_kind),
        .customer_known = known,
        .now = now,
    };
    if (!in->customer_known)
        return;
    unsigned tier = below(rng, 100);
    in->customer_tier = tier < 5 ? "vip" : tier < 20 ? "premium" : "standard";
    in->customer_custom_code = percent(rng, 3);
    if (in->customer_custom_code)
        in->customer_custom_code_notes = notes[below(rng, 3)];
    in->customer_open_tickets = (long)below(rng, 6);
    const char *domain = domain_of(in->from_email);
    if (domain != NULL) {
        const char *dot = strchr(domain, '.');
        t->company = hg_xstrndup(domain, dot != NULL ? (size_t)(dot - domain) : strlen(domain));
        in->customer_company = t->company;
    }
}

static int load_corpus(const char *dir, uint64_t seed, struct corpus *c)
{
    memset(c, 0, sizeof(*c));
    size_t n = 0;
    char **names = eml_names(dir, &n);
    if (names == NULL)
        return -1;
    if (n == 0) {
        fprintf(stderr, "rules: no .eml files in %s (python3 ../shared/bench/gen_corpus.py --out %s)\n", dir,
                dir);
        free(names);
        return -1;
    }
    c->tickets = hg_xcalloc(n, sizeof(*c->tickets));
    c->inputs = hg_xcalloc(n, sizeof(*c->inputs));
    uint64_t rng = seed_state(seed, 1);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        char *raw = read_whole_file(path, &len);
        free(names[i]);
        if (raw == NULL) {
            fprintf(stderr, "rules: cannot read %s: %s\n", path, strerror(errno));
            continue;
        }
        double t0 = wall_clock();
        struct ticket *t = &c->tickets[c->count];
        t->mail = hg_mail_parse(raw, len, NULL);
        c->parse_seconds += wall_clock() - t0;
        c->bytes += len;
        free(raw);
        make_input(t, &c->inputs[c->count], &rng);
        c->count++;
    }
    free(names);
    collect_domains(c);
    return c->count > 0 ? 0 : -1;
}

static void free_corpus(struct corpus *c)
{
    for (size_t i = 0; i < c->count; i++) {
        hg_mail_free(&c->tickets[i].mail);
        free(c->tickets[i].headers);
        free(c->tickets[i].attachments);
        free(c->tickets[i].company);
    }
    for (size_t i = 0; i < c->n_domains; i++)
        free(c->domains[i]);
    free(c->domains);
    free(c->tickets);
    free(c->inputs);
}

/* ------------------------------------------------------------ generated rules */

enum rule_kind {
    KIND_AUTO,       /* the first rule: automatic mail, stop */
    KIND_DOMAIN,     /* from.domain in @list of 50-500 domains */
    KIND_SENDER,     /* from, from.name, recipient */
    KIND_SUBJECT,    /* subject contains [keywords] */
    KIND_REPLY,      /* reply contains [keywords] or @list */
    KIND_BODY,       /* body contains [keywords] */
    KIND_REGEX,      /* subject/reply/body matches /.../i */
    KIND_HEADER,     /* header.NAME */
    KIND_ATTACHMENT, /* attachment.type/name/count */
    KIND_CUSTOMER,   /* customer.tier/custom-code/open-tickets/new/company */
    KIND_HOURS,      /* hours.business, time.* */
    KIND_COMBINED,   /* several kinds with and/or/not */
    KIND_STOP,       /* rare: a vip outage, stop */
    N_KINDS
};

static const char *const kind_names[N_KINDS] = {
    "automatic mail, stop", "sender domain in a list", "sender, recipient",    "subject contains",
    "reply contains",       "body contains",           "matches a regex",      "header test",
    "attachment test",      "customer facts",          "business hours, time", "and/or/not of several",
    "rare condition, stop",
};

/* Per 100 rules after the first; KIND_STOP is added on top (1%). */
static const unsigned kind_weights[N_KINDS] = {
    [KIND_DOMAIN] = 16,   [KIND_SENDER] = 5, [KIND_SUBJECT] = 16,  [KIND_REPLY] = 12,
    [KIND_BODY] = 5,      [KIND_REGEX] = 6,  [KIND_HEADER] = 7,    [KIND_ATTACHMENT] = 8,
    [KIND_CUSTOMER] = 10, [KIND_HOURS] = 5,  [KIND_COMBINED] = 10,
};

/* Words and phrases of support mail: first the N_CORPUS_KEYWORDS that the corpus's mail uses (or nearly),
 * then others, some in other languages. */
/* clang-format off */
static const char *const keywords[] = {
    "invoice", "refund", "password", "log in", "locked", "two-factor", "crash", "error 500", "export",
    "sync", "upload", "slow", "dashboard", "migration", "dark mode", "csv", "api", "rate limit", "shipment",
    "tracking", "parcel", "wrong item", "cancel", "subscription", "charged", "second user", "documentation",
    "roadmap", "workaround", "warehouse", "vat number", "annual billing", "single sign-on", "browser cache",
    "gdpr", "warranty", "chargeback", "phishing", "outage", "downtime", "saml", "ldap", "webhook", "quota",
    "license", "renewal", "discount", "quote", "purchase order", "onboarding", "training", "security",
    "breach", "audit", "contract", "escalate", "complaint", "lawyer", "data loss", "backup", "restore",
    "certificate", "dns", "timeout", "latency", "rechnung", "rückerstattung", "facture", "remboursement",
    "contraseña", "factura", "пароль", "ログイン", "überweisung", "problème", "dringend",
    "kündigung", "störung",
};
/* clang-format on */
#define N_KEYWORDS (sizeof keywords / sizeof keywords[0])
#define N_CORPUS_KEYWORDS 34

static const char *const tags[] = {
    "billing",     "login",          "bug",          "feature",     "shipping", "howto",    "legal",
    "security",    "churn-risk",     "key-account",  "screenshot",  "logs",     "pdf",      "weekend",
    "after-hours", "repeat-contact", "new-customer", "german",      "french",   "spanish",  "api",
    "mobile",      "export",         "sync",         "performance", "contract", "training", "data-protection",
};
#define N_TAGS (sizeof tags / sizeof tags[0])

static const char *const queues[] = {"billing",      "tech",  "shipping",    "accounts", "onboarding",
                                     "integrations", "legal", "custom-code", "priority", "dach"};
static const char *const templates[] = {"default", "vip",    "after-hours", "billing",
                                        "german",  "french", "shipping",    "security"};
static const char *const slas[] = {"gold", "silver", "bronze", "vip", "enterprise"};
static const char *const priorities[] = {"low", "normal", "high", "urgent"};

static const char *const regexes[] = {
    "/\\b(order|invoice|bestellung|rechnung|factura)\\s*(no\\.?|number|nr\\.?|#)?\\s*[0-9]{5,}/i",
    "/\\berror\\s*[45][0-9]{2}\\b/i",
    "/(site|service|server|api|system|app) (is|was|went) (down|offline)/i",
    "/\\bv?[0-9]+\\.[0-9]+\\.[0-9]+\\b/",
    "/(charged|billed) (twice|two times|double)/i",
    "/\\b(asap|urgent|immediately|dringend|urgente)\\b/i",
    "/^(re|aw|fw|fwd|wg):/i",
    "/[0-9]+ ?(mb|gb|kb)\\b/i",
    "/\\b(cancel|terminate|close) (my|our|the) (account|subscription|contract)/i",
    "/\\b(lawyer|legal action|attorney|anwalt|avocat)\\b/i",
};
#define N_REGEXES (sizeof regexes / sizeof regexes[0])

static const char *const domain_heads[] = {"blue",   "north", "alpha",  "terra", "nova",
                                           "silver", "green", "bright", "prime", "metro"};
static const char *const domain_mids[] = {"peak", "field", "soft", "works", "data",
                                          "labs", "tech",  "line", "point", "gate"};
static const char *const domain_tails[] = {"systems",    "group",  "gmbh",    "logistics", "media",
                                           "consulting", "health", "finance", "retail",    "energy"};
static const char *const tlds[] = {"com", "de",  "fr", "co.uk", "nl", "io",
                                   "net", "org", "es", "it",    "ch", "at"};

static const char *const public_tlds[] = {"gov", "gouv.fr", "bund.de", "ac.uk", "edu", "admin.ch"};

#define PICK(g, array) ((array)[below(&(g)->rng, (unsigned)(sizeof(array) / sizeof((array)[0])))])

struct list_file {
    char *name;
    char *text;
    size_t len;
};

struct rule_set_text {
    char *text; /* the whole rules file */
    size_t len;
    unsigned rules, lists, list_entries, list_files, regexes, stops;
};

struct gen {
    uint64_t rng;
    char *const *domains; /* the corpus's sender domains */
    size_t n_domains;
    struct hg_buf lists; /* list definitions made by rules */
    struct hg_buf rules;
    struct list_file *files;
    size_t n_files;
    unsigned n_rules, n_lists, n_list_entries, n_regexes, n_stops;
    unsigned n_domain_lists;
    char *example[N_KINDS]; /* the first rule of each kind */
    char **texts;           /* every rule's text, and its kind */
    enum rule_kind *kinds;
    char *example_list; /* the definition of the first domain list (shortened) */
};

static const char head_text[] =
    "# Generated by bench/rules: a support desk's routing rules.\n"
    "timezone \"Europe/Berlin\"\n"
    "\n"
    "hours business\n"
    "    mon-fri 08:00-18:00\n"
    "    sat 10:00-14:00\n"
    "    holiday 2026-01-01, 2026-04-03, 2026-04-06, 2026-05-01, 2026-05-14, 2026-05-25\n"
    "    holiday 2026-10-03, 2026-12-24, 2026-12-25, 2026-12-26, 2026-12-31, 2027-01-01\n"
    "end\n"
    "\n"
    "hours late\n"
    "    mon-fri 18:00-22:00\n"
    "    sat 14:00-18:00\n"
    "end\n"
    "\n"
    "list outage_words = \"outage\", \"down\", \"crash\", \"not working\", \"error 500\",\n"
    "    \"unreachable\", \"offline\", \"data loss\", \"störung\", \"panne\", \"caída\",\n"
    "    \"ausfall\", \"timeout\", \"502\", \"503\"\n"
    "list billing_words = \"invoice\", \"refund\", \"charged\", \"payment\", \"billing\",\n"
    "    \"vat\", \"credit note\", \"rechnung\", \"facture\", \"factura\", \"gutschrift\",\n"
    "    \"remboursement\", \"reembolso\"\n"
    "list legal_words = \"lawyer\", \"attorney\", \"legal action\", \"gdpr\", \"court\",\n"
    "    \"data protection\", \"anwalt\", \"datenschutz\", \"avocat\", \"abogado\",\n"
    "    \"chargeback\", \"fraud\"\n"
    "list agents_l2 = \"anna.l2@support.example\", \"ben.l2@support.example\",\n"
    "    \"carla.l2@support.example\"\n"
    "\n";

/* What goes before the Ith entry of a list written PER_LINE entries a line (NEWLINE: comma, line end,
 * indent). */
static const char *separator(unsigned i, unsigned per_line, const char *newline)
{
    return i == 0 ? "" : i % per_line != 0 ? ", " : newline;
}

/* 30% of the entries are words of the corpus's mail (the first N_CORPUS_KEYWORDS). */
static const char *keyword(struct gen *g)
{
    if (percent(&g->rng, 30))
        return keywords[below(&g->rng, N_CORPUS_KEYWORDS)];
    return keywords[N_CORPUS_KEYWORDS + below(&g->rng, (unsigned)(N_KEYWORDS - N_CORPUS_KEYWORDS))];
}

static void keyword_list(struct gen *g, struct hg_buf *b, unsigned min, unsigned max)
{
    unsigned n = min + below(&g->rng, max - min + 1);
    hg_buf_append_char(b, '[');
    for (unsigned i = 0; i < n; i++)
        hg_buf_printf(b, "%s\"%s\"", separator(i, 6, ",\n        "), keyword(g));
    hg_buf_append_char(b, ']');
}

static void synthetic_domain(struct gen *g, char *out, size_t size)
{
    const char *head = PICK(g, domain_heads), *mid = PICK(g, domain_mids), *tail = PICK(g, domain_tails);
    unsigned n = below(&g->rng, 1000);
    snprintf(out, size, "%s%s-%s%u.%s", head, mid, tail, n, PICK(g, tlds));
}

/* A new list of 50-500 sender domains (about one of the corpus's among them); returns its number. */
static unsigned new_domain_list(struct gen *g)
{
    unsigned k = ++g->n_domain_lists;
    unsigned size = 50 + below(&g->rng, 451);
    bool as_file = size > 120;
    struct hg_buf items;
    hg_buf_init(&items, MAX_TEXT);
    for (unsigned i = 0; i < size; i++) {
        char domain[128];
        if (g->n_domains > 0 && below(&g->rng, size) == 0)
            snprintf(domain, sizeof domain, "%s", g->domains[below(&g->rng, (unsigned)g->n_domains)]);
        else
            synthetic_domain(g, domain, sizeof domain);
        if (as_file)
            hg_buf_printf(&items, "%s\n", domain);
        else
            hg_buf_printf(&items, "%s\"%s\"%s", separator(i, 4, ",\n    "), domain,
                          i + 1 == size ? "\n" : "");
    }
    size_t from = g->lists.len;
    if (as_file) {
        char name[64];
        snprintf(name, sizeof name, "domains-%u.txt", k);
        g->files = hg_xrealloc(g->files, (g->n_files + 1) * sizeof(*g->files));
        struct list_file *f = &g->files[g->n_files++];
        f->name = hg_xstrdup(name);
        f->len = items.len;
        f->text = hg_buf_steal(&items);
        hg_buf_printf(&g->lists, "list domains_%u = file \"%s\"   # %u domains\n", k, name, size);
    } else {
        hg_buf_printf(&g->lists, "list domains_%u = %s", k, hg_buf_str(&items));
    }
    if (g->example_list == NULL) {
        size_t len = g->lists.len - from;
        g->example_list = len > 300 ? hg_xasprintf("%.300s ...\n", hg_buf_str(&g->lists) + from)
                                    : hg_xstrdup(hg_buf_str(&g->lists) + from);
    }
    hg_buf_free(&items);
    g->n_lists++;
    g->n_list_entries += size;
    return k;
}

/* A domain list made earlier, or a new one. */
static unsigned some_domain_list(struct gen *g)
{
    if (g->n_domain_lists > 0 && percent(&g->rng, 70))
        return 1 + below(&g->rng, g->n_domain_lists);
    return new_domain_list(g);
}

static const char *text_field(struct gen *g)
{
    static const char *const fields[] = {"subject", "reply", "reply", "body"};
    return PICK(g, fields);
}

static void regex_test(struct gen *g, struct hg_buf *b, const char *field)
{
    hg_buf_printf(b, "%s matches %s", field, regexes[below(&g->rng, N_REGEXES)]);
    g->n_regexes++;
}

/* The condition of a rule of KIND (without "when"). */
static void condition(struct gen *g, struct hg_buf *b, enum rule_kind kind)
{
    switch (kind) {
    case KIND_AUTO:
        hg_buf_append_str(b, "auto is not none");
        break;
    case KIND_DOMAIN: {
        unsigned k = new_domain_list(g);
        if (percent(&g->rng, 75))
            hg_buf_printf(b, "from.domain in @domains_%u", k);
        else
            hg_buf_printf(b, "from.domain in @domains_%u\n      or from.domain ends with \".%s\"", k,
                          PICK(g, public_tlds));
        break;
    }
    case KIND_SENDER:
        switch (below(&g->rng, 5)) {
        case 0: {
            unsigned n = 3 + below(&g->rng, 20);
            hg_buf_append_str(b, "from in [");
            for (unsigned i = 0; i < n; i++) { /* one random draw per statement: a fixed order */
                char domain[128];
                synthetic_domain(g, domain, sizeof domain);
                const char *first = PICK(g, domain_heads);
                const char *last = PICK(g, tags);
                if (i % 4 == 0 && g->n_domains > 0)
                    snprintf(domain, sizeof domain, "%s", g->domains[below(&g->rng, (unsigned)g->n_domains)]);
                hg_buf_printf(b, "%s\"%s.%s@%s\"", separator(i, 3, ",\n        "), first, last, domain);
            }
            hg_buf_append_char(b, ']');
            break;
        }
        case 1:
            hg_buf_append_str(b,
                              "from.name contains [\"GmbH\", \"Ltd\", \"S.A.\", \"Inc.\", \"AG\", \"B.V.\"]");
            break;
        case 2:
            hg_buf_printf(b, "recipient is \"%s@bench.example\"", PICK(g, queues));
            break;
        case 3:
            hg_buf_append_str(b, "from ends with [\".gov\", \".edu\", \".mil\", \".gouv.fr\", \".bund.de\"]");
            break;
        default:
            hg_buf_append_str(b, "from in @agents_l2 or from.domain is \"support.example\"");
            break;
        }
        break;
    case KIND_SUBJECT:
        hg_buf_append_str(b, "subject contains ");
        keyword_list(g, b, 2, 8);
        break;
    case KIND_REPLY:
        if (percent(&g->rng, 25)) {
            static const char *const lists[] = {"outage_words", "billing_words", "legal_words"};
            hg_buf_printf(b, "reply contains @%s", PICK(g, lists));
        } else {
            hg_buf_append_str(b, "reply contains ");
            keyword_list(g, b, 3, 12);
        }
        break;
    case KIND_BODY:
        hg_buf_append_str(b, "body contains ");
        keyword_list(g, b, 2, 6);
        break;
    case KIND_REGEX:
        regex_test(g, b, text_field(g));
        break;
    case KIND_HEADER:
        switch (below(&g->rng, 6)) {
        case 0:
            hg_buf_append_str(b, "header.User-Agent contains [\"Outlook\", \"Thunderbird\"]");
            break;
        case 1:
            hg_buf_append_str(b, "header.List-Id exists");
            break;
        case 2:
            hg_buf_append_str(b, "header.X-Priority in [\"1\", \"2\"] or header.Importance is high");
            break;
        case 3:
            hg_buf_append_str(b, "header.X-Mailer matches /PHPMailer|SendGrid|Mailchimp/i");
            break;
        case 4:
            hg_buf_append_str(b, "header.User-Agent starts with \"Roundcube\"");
            break;
        default:
            hg_buf_printf(b, "header.Organization contains \"%s\"", PICK(g, domain_tails));
            break;
        }
        break;
    case KIND_ATTACHMENT:
        switch (below(&g->rng, 6)) {
        case 0:
            hg_buf_append_str(b, "attachment.type is \"application/pdf\"");
            break;
        case 1:
            hg_buf_append_str(b, "attachment.type in [\"image/png\", \"image/jpeg\", \"image/gif\"]");
            break;
        case 2:
            hg_buf_append_str(b, "attachment.name ends with [\".log\", \".txt\", \".har\"]");
            break;
        case 3:
            hg_buf_append_str(b, "attachment.count > 0 and subject contains ");
            keyword_list(g, b, 2, 5);
            break;
        case 4:
            hg_buf_append_str(b, "attachment.name matches /(invoice|rechnung|factura)[-_ ]?[0-9]+/i");
            g->n_regexes++;
            break;
        default:
            hg_buf_append_str(b, "attachment.type in [\"application/zip\", \"application/x-msdownload\"]");
            break;
        }
        break;
    case KIND_CUSTOMER:
        switch (below(&g->rng, 6)) {
        case 0:
            hg_buf_append_str(b, "customer.tier is vip");
            break;
        case 1:
            hg_buf_append_str(b, "customer.custom-code");
            break;
        case 2:
            hg_buf_printf(b, "customer.open-tickets >= %u", 2 + below(&g->rng, 4));
            break;
        case 3:
            hg_buf_append_str(b, "customer.new and subject contains ");
            keyword_list(g, b, 2, 5);
            break;
        case 4: {
            const char *domain =
                g->n_domains > 0 ? g->domains[below(&g->rng, (unsigned)g->n_domains)] : "acme";
            hg_buf_printf(b, "customer.company is \"%.*s\"", (int)strcspn(domain, "."), domain);
            break;
        }
        default:
            hg_buf_printf(b, "customer.tier in [\"premium\", \"vip\"] and customer.open-tickets > %u",
                          below(&g->rng, 4));
            break;
        }
        break;
    case KIND_HOURS:
        switch (below(&g->rng, 5)) {
        case 0:
            hg_buf_append_str(b, "not hours.business");
            break;
        case 1:
            hg_buf_append_str(b, "hours.late and customer.tier in [\"premium\", \"vip\"]");
            break;
        case 2:
            hg_buf_append_str(b, "time.weekday in [\"sat\", \"sun\"]");
            break;
        case 3:
            hg_buf_append_str(b, "time.hour < 7 or time.hour >= 20");
            break;
        default:
            hg_buf_append_str(b, "hours.business and time.weekday is fri and time.hour >= 16");
            break;
        }
        break;
    case KIND_COMBINED:
        switch (below(&g->rng, 5)) {
        case 0:
            hg_buf_append_str(b, "(subject contains ");
            keyword_list(g, b, 2, 5);
            hg_buf_append_str(b, " or reply contains ");
            keyword_list(g, b, 2, 5);
            hg_buf_printf(b, ")\n      and not from.domain in @domains_%u", some_domain_list(g));
            break;
        case 1:
            hg_buf_append_str(b,
                              "from.domain ends with [\".de\", \".at\", \".ch\"]\n      and (body contains ");
            keyword_list(g, b, 2, 5);
            hg_buf_append_str(b, " or ");
            regex_test(g, b, "subject");
            hg_buf_append_char(b, ')');
            break;
        case 2:
            hg_buf_printf(b, "not customer.new and customer.open-tickets > %u\n      and reply contains ",
                          1 + below(&g->rng, 3));
            keyword_list(g, b, 2, 6);
            break;
        case 3:
            hg_buf_append_str(b, "customer.tier is premium and attachment.count > 0 and not hours.business");
            break;
        default:
            hg_buf_append_str(b, "auto is none and channel is email\n      and (subject contains ");
            keyword_list(g, b, 2, 5);
            hg_buf_append_str(b, " or header.User-Agent contains \"Outlook\")");
            break;
        }
        break;
    case KIND_STOP:
        hg_buf_append_str(b, "customer.tier is vip\n      and (subject contains @outage_words or ");
        regex_test(g, b, "reply");
        hg_buf_append_char(b, ')');
        break;
    case N_KINDS:
        break;
    }
}

static void random_action(struct gen *g, char *out, size_t size)
{
    switch (below(&g->rng, 10)) {
    case 0:
    case 1:
        snprintf(out, size, "tag %s", PICK(g, tags));
        break;
    case 2:
        snprintf(out, size, "priority %s", PICK(g, priorities));
        break;
    case 3:
        snprintf(out, size, "queue %s", PICK(g, queues));
        break;
    case 4:
        snprintf(out, size, "assign \"agent%02u@support.example\"", below(&g->rng, 40));
        break;
    case 5:
        if (percent(&g->rng, 50))
            snprintf(out, size, "notify team L%u", 2 + below(&g->rng, 2));
        else
            snprintf(out, size, "notify \"agent%02u@support.example\"", below(&g->rng, 40));
        break;
    case 6:
        snprintf(out, size, "sla %s", PICK(g, slas));
        break;
    case 7:
        snprintf(out, size, "acknowledge %s", PICK(g, templates));
        break;
    case 8: {
        unsigned r = below(&g->rng, 10); /* L1 60%, L2 30%, L3 10% */
        snprintf(out, size, "route L%u", r < 6 ? 1 : r < 9 ? 2 : 3);
        break;
    }
    default:
        snprintf(out, size, "route at least L%u", percent(&g->rng, 85) ? 2 : 3);
        break;
    }
}

/* The actions of a rule of KIND: one that fits it, then 0-2 others. */
static size_t actions(struct gen *g, enum rule_kind kind, char out[][96])
{
    size_t n = 0;
    switch (kind) {
    case KIND_AUTO:
        snprintf(out[n++], 96, "acknowledge none");
        snprintf(out[n++], 96, "tag automatic");
        snprintf(out[n++], 96, "stop");
        return n;
    case KIND_STOP:
        snprintf(out[n++], 96, "route L3");
        snprintf(out[n++], 96, "priority urgent");
        snprintf(out[n++], 96, "notify team L3");
        snprintf(out[n++], 96, "tag outage vip");
        snprintf(out[n++], 96, "stop");
        return n;
    case KIND_DOMAIN:
        snprintf(out[n++], 96, "route at least L2");
        snprintf(out[n++], 96, "tag key-account");
        break;
    case KIND_CUSTOMER:
        snprintf(out[n++], 96, "%s", percent(&g->rng, 50) ? "notify team L2 with notes" : "sla vip");
        break;
    case KIND_HOURS:
        snprintf(out[n++], 96, "acknowledge after-hours");
        break;
    default:
        snprintf(out[n++], 96, "tag %s", PICK(g, tags));
        break;
    }
    unsigned extra = below(&g->rng, 3);
    for (unsigned i = 0; i < extra; i++)
        random_action(g, out[n++], 96);
    return n;
}

static enum rule_kind pick_kind(struct gen *g)
{
    if (g->n_rules == 0)
        return KIND_AUTO;
    if (percent(&g->rng, 1))
        return KIND_STOP;
    unsigned total = 0;
    for (int k = 0; k < N_KINDS; k++)
        total += kind_weights[k];
    unsigned r = below(&g->rng, total);
    for (int k = 0; k < N_KINDS; k++) {
        if (r < kind_weights[k])
            return (enum rule_kind)k;
        r -= kind_weights[k];
    }
    return KIND_SUBJECT;
}

static void add_rule(struct gen *g)
{
    enum rule_kind kind = pick_kind(g);
    struct hg_buf r;
    hg_buf_init(&r, MAX_TEXT);
    hg_buf_printf(&r, "rule \"R%04u %s\"\n    when ", g->n_rules + 1, kind_names[kind]);
    condition(g, &r, kind);
    char acts[8][96];
    size_t n = actions(g, kind, acts);
    bool one_line = percent(&g->rng, 30);
    hg_buf_printf(&r, "\n    then %s", acts[0]);
    for (size_t i = 1; i < n; i++)
        hg_buf_printf(&r, one_line ? ", %s" : "\n         %s", acts[i]);
    hg_buf_append_str(&r, "\nend\n\n");
    if (strcmp(acts[n - 1], "stop") == 0)
        g->n_stops++;
    hg_buf_append_str(&g->rules, hg_buf_str(&r));
    if (g->example[kind] == NULL)
        g->example[kind] = hg_xstrdup(hg_buf_str(&r));
    g->texts = hg_xrealloc(g->texts, (g->n_rules + 1) * sizeof(*g->texts));
    g->kinds = hg_xrealloc(g->kinds, (g->n_rules + 1) * sizeof(*g->kinds));
    g->texts[g->n_rules] = hg_buf_steal(&r);
    g->kinds[g->n_rules] = kind;
    g->n_rules++;
}

static void gen_init(struct gen *g, uint64_t seed, const struct corpus *c)
{
    memset(g, 0, sizeof(*g));
    g->rng = seed_state(seed, 2);
    g->domains = c->domains;
    g->n_domains = c->n_domains;
    hg_buf_init(&g->lists, MAX_TEXT);
    hg_buf_init(&g->rules, MAX_TEXT);
}

/* Adds rules up to COUNT and returns the whole file as it stands. */
static struct rule_set_text gen_file(struct gen *g, unsigned count)
{
    while (g->n_rules < count)
        add_rule(g);
    struct hg_buf f;
    hg_buf_init(&f, MAX_TEXT);
    hg_buf_append_str(&f, head_text);
    hg_buf_append_str(&f, hg_buf_str(&g->lists));
    hg_buf_append_str(&f, "\n");
    hg_buf_append_str(&f, hg_buf_str(&g->rules));
    struct rule_set_text t = {
        .len = f.len,
        .rules = g->n_rules,
        .lists = g->n_lists + 4,
        .list_entries = g->n_list_entries,
        .list_files = (unsigned)g->n_files,
        .regexes = g->n_regexes,
        .stops = g->n_stops,
    };
    t.text = hg_buf_steal(&f);
    return t;
}

static void gen_free(struct gen *g)
{
    hg_buf_free(&g->lists);
    hg_buf_free(&g->rules);
    for (size_t i = 0; i < g->n_files; i++) {
        free(g->files[i].name);
        free(g->files[i].text);
    }
    free(g->files);
    for (int k = 0; k < N_KINDS; k++)
        free(g->example[k]);
    for (unsigned i = 0; i < g->n_rules; i++)
        free(g->texts[i]);
    free(g->texts);
    free(g->kinds);
    free(g->example_list);
}

/* ------------------------------------------------------------ loading the rules */

/* The loader: list files from the generator's memory, time zones from the zoneinfo directory. */
static int load(void *ctx, enum hg_rules_load_kind kind, const char *name, unsigned char **data_r,
                size_t *len_r, char **error_r)
{
    const struct gen *g = ctx;
    if (kind == HG_RULES_LOAD_LIST) {
        for (size_t i = 0; i < g->n_files; i++) {
            if (strcmp(g->files[i].name, name) == 0) {
                *data_r = (unsigned char *)hg_xstrndup(g->files[i].text, g->files[i].len);
                *len_r = g->files[i].len;
                return 0;
            }
        }
        *error_r = hg_xasprintf("no generated list file \"%s\"", name);
        return -1;
    }
    if (!hg_tz_name_valid(name)) {
        *error_r = hg_xasprintf("not a time zone name");
        return -1;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", zoneinfo_dir, name);
    size_t len = 0;
    char *data = read_whole_file(path, &len);
    if (data == NULL) {
        *error_r = hg_xasprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    *data_r = (unsigned char *)data;
    *len_r = len;
    return 0;
}

struct rule_set {
    struct rule_set_text text;
    struct hg_rules *rules;
    double parse_seconds;
    long heap_bytes; /* mallinfo2 uordblks held by the parsed set (not PCRE2's JIT code) */
};

static long heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)mi.uordblks + (long)mi.hblkhd;
}

static int parse_set(struct gen *g, unsigned count, struct rule_set *s)
{
    s->text = gen_file(g, count);
    char filename[64];
    snprintf(filename, sizeof filename, "rules-%u.conf", count);
    struct hg_rules_loader loader = {load, g};
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    long heap0 = heap_in_use();
    double t0 = wall_clock();
    s->rules = hg_rules_parse(s->text.text, s->text.len, filename, &loader, NULL, &errors);
    s->parse_seconds = wall_clock() - t0;
    s->heap_bytes = heap_in_use() - heap0;
    if (s->rules == NULL) {
        fprintf(stderr, "rules: the generated %s does not parse (a bug of bench/rules.c):\n", filename);
        for (size_t i = 0; i < errors.count && i < 20; i++) {
            char *e = hg_rules_error_format(&errors, i, filename);
            fprintf(stderr, "%s\n", e);
            free(e);
        }
        hg_rules_errors_free(&errors);
        return -1;
    }
    hg_rules_errors_free(&errors);
    return 0;
}

/* ------------------------------------------------------------ the timed loops */

enum variant { V_TOUCH, V_EMPTY, V_SMALL, V_LARGE, N_VARIANTS };

static const char *const variant_names[N_VARIANTS] = {
    "touch: strlen of every text field",
    "empty rule set: evaluate(NULL)",
    "100 rules",
    "1,000 rules",
};

static size_t sink; /* keeps the work from being optimised away */

static size_t length(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

static size_t touch(const struct hg_rules_input *in)
{
    size_t n = length(in->channel) + length(in->from_email) + length(in->from_name) + length(in->recipient) +
               length(in->subject) + length(in->body) + length(in->reply) + length(in->auto_kind) +
               length(in->customer_tier) + length(in->customer_company);
    for (size_t i = 0; i < in->n_headers; i++)
        n += length(in->headers[i].name) + length(in->headers[i].value);
    for (size_t i = 0; i < in->n_attachments; i++)
        n += length(in->attachments[i].filename) + length(in->attachments[i].content_type);
    return n;
}

struct sample {
    double wall, cpu; /* seconds */
    long heap_delta;  /* bytes */
};

static struct sample run_pass(const struct corpus *c, enum variant v, const struct hg_rules *rules,
                              size_t tickets)
{
    struct hg_rules_result out;
    long heap0 = heap_in_use();
    double w0 = wall_clock(), c0 = cpu_clock();
    for (size_t i = 0, k = 0; i < tickets; i++, k = k + 1 == c->count ? 0 : k + 1) {
        const struct hg_rules_input *in = &c->inputs[k];
        if (v == V_TOUCH) {
            sink += touch(in);
        } else {
            hg_rules_evaluate(rules, in, &out);
            sink += out.tier + out.n_tags + out.n_matched;
        }
    }
    struct sample s = {wall_clock() - w0, cpu_clock() - c0, 0};
    s.heap_delta = heap_in_use() - heap0;
    return s;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *values, size_t n)
{
    double *sorted = hg_xcalloc(n, sizeof(*sorted));
    memcpy(sorted, values, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), compare_doubles);
    double m = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    free(sorted);
    return m;
}

/* What the rules decided over the corpus, once (not timed). */
static void print_outcomes(const struct corpus *c, const struct rule_set *s)
{
    size_t stopped = 0, capped = 0, matched = 0, tiers[4] = {0}, tagged = 0;
    for (size_t i = 0; i < c->count; i++) {
        struct hg_rules_result out;
        hg_rules_evaluate(s->rules, &c->inputs[i], &out);
        stopped += out.stopped;
        capped += out.n_matched == HG_RULES_MAX_MATCHED;
        matched += out.n_matched;
        tiers[out.tier & 3]++;
        tagged += out.n_tags;
    }
    double n = (double)c->count;
    printf(
        "  %-5u rules: %.1f rules matched per ticket%s, %.1f tags; stopped early %.1f%% (the rest ran every "
        "rule); tier L1/L2/L3 %.0f/%.0f/%.0f%%\n",
        s->text.rules, (double)matched / n, capped > 0 ? " (at least: the result keeps 64)" : "",
        (double)tagged / n, 100.0 * (double)stopped / n, 100.0 * (double)tiers[1] / n,
        100.0 * (double)tiers[2] / n, 100.0 * (double)tiers[3] / n);
}

static void print_loadavg(const char *when)
{
    char text[128] = "unknown";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fgets(text, sizeof text, f) == NULL)
            snprintf(text, sizeof text, "unknown");
        fclose(f);
    }
    text[strcspn(text, "\n")] = '\0';
    printf("load average %s: %s\n", when, text);
}

static int bench(const struct corpus *c, struct gen *g, size_t tickets, int repeat)
{
    struct rule_set sets[2];
    memset(sets, 0, sizeof sets);
    if (parse_set(g, SMALL_SET, &sets[0]) != 0 || parse_set(g, LARGE_SET, &sets[1]) != 0)
        return 1;
    print_loadavg("at start");
    size_t subject = 0, reply = 0, body = 0, headers = 0, attachments = 0;
    for (size_t i = 0; i < c->count; i++) {
        subject += length(c->inputs[i].subject);
        reply += length(c->inputs[i].reply);
        body += length(c->inputs[i].body);
        headers += c->inputs[i].n_headers;
        attachments += c->inputs[i].n_attachments;
    }
    printf(
        "corpus: %zu messages, %.1f MB, normalized once with hg_mail_parse in %.2f s, %zu sender domains;\n"
        "  per ticket: subject %zu B, reply %zu B, body %zu B, %.1f headers, %.2f attachments\n",
        c->count, (double)c->bytes / 1e6, c->parse_seconds, c->n_domains, subject / c->count,
        reply / c->count, body / c->count, (double)headers / (double)c->count,
        (double)attachments / (double)c->count);
    for (int i = 0; i < 2; i++) {
        const struct rule_set *s = &sets[i];
        printf(
            "rule set: %5u rules, %3u lists (%u domains; %u list files), %3u regexes, %2u rules with stop; "
            "%.0f KB of text, parsed in %.1f ms, %.0f KB of heap (PCRE2 JIT code not counted)\n",
            s->text.rules, s->text.lists, s->text.list_entries, s->text.list_files, s->text.regexes,
            s->text.stops, (double)s->text.len / 1e3, s->parse_seconds * 1e3, (double)s->heap_bytes / 1e3);
    }
    printf("what the rules decided (each message once):\n");
    print_outcomes(c, &sets[0]);
    print_outcomes(c, &sets[1]);

    const struct hg_rules *rules_of[N_VARIANTS] = {NULL, NULL, sets[0].rules, sets[1].rules};
    for (int v = 0; v < N_VARIANTS; v++) /* warm-up: one pass over the corpus */
        run_pass(c, (enum variant)v, rules_of[v], c->count);
    double *wall[N_VARIANTS], *cpu[N_VARIANTS];
    long heap_max[N_VARIANTS] = {0};
    for (int v = 0; v < N_VARIANTS; v++) {
        wall[v] = hg_xcalloc((size_t)repeat, sizeof(double));
        cpu[v] = hg_xcalloc((size_t)repeat, sizeof(double));
    }
    for (int r = 0; r < repeat; r++) { /* interleaved, so that a busy moment hits every variant alike */
        for (int v = 0; v < N_VARIANTS; v++) {
            struct sample s = run_pass(c, (enum variant)v, rules_of[v], tickets);
            wall[v][r] = s.wall;
            cpu[v][r] = s.cpu;
            long d = s.heap_delta < 0 ? -s.heap_delta : s.heap_delta;
            if (d > heap_max[v])
                heap_max[v] = d;
        }
    }
    double us[N_VARIANTS], cpu_us[N_VARIANTS];
    for (int v = 0; v < N_VARIANTS; v++) {
        us[v] = median(wall[v], (size_t)repeat) / (double)tickets * 1e6;
        cpu_us[v] = median(cpu[v], (size_t)repeat) / (double)tickets * 1e6;
    }

    printf("\n%zu tickets per pass, median of %d passes (after a warm-up pass):\n", tickets, repeat);
    printf("%-36s %10s %10s %12s %9s %9s %11s\n", "", "us/ticket", "cpu us", "tickets/s", "x touch",
           "x empty", "heap delta");
    for (int v = 0; v < N_VARIANTS; v++)
        printf("%-36s %10.3f %10.3f %12.0f %9.1f %9.1f %9ld B\n", variant_names[v], us[v], cpu_us[v],
               1e6 / us[v], us[v] / us[V_TOUCH], us[v] / us[V_EMPTY], heap_max[v]);
    printf("per rule: %.1f ns (100 rules), %.1f ns (1,000 rules), %.1f ns (rules 101-1,000)\n",
           (us[V_SMALL] - us[V_EMPTY]) * 1e3 / SMALL_SET, (us[V_LARGE] - us[V_EMPTY]) * 1e3 / LARGE_SET,
           (us[V_LARGE] - us[V_SMALL]) * 1e3 / (LARGE_SET - SMALL_SET));
    printf("target < 20 us per ticket with 100 rules: %s (%.2f us)\n", us[V_SMALL] < 20.0 ? "met" : "MISSED",
           us[V_SMALL]);
    printf("runs (us/ticket, wall):\n");
    for (int v = 0; v < N_VARIANTS; v++) {
        printf("  %-34s", variant_names[v]);
        for (int r = 0; r < repeat; r++)
            printf(" %8.3f", wall[v][r] / (double)tickets * 1e6);
        printf("\n");
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.1f MiB (corpus records and both rule sets included)\n", (double)ru.ru_maxrss / 1024);
    print_loadavg("at the end");

    for (int v = 0; v < N_VARIANTS; v++) {
        free(wall[v]);
        free(cpu[v]);
    }
    for (int i = 0; i < 2; i++) {
        hg_rules_free(&sets[i].rules);
        free(sets[i].text.text);
    }
    return 0;
}

/* ------------------------------------------------------------ the cost of each kind of rule */

/* The condition of a rule's text on one line, at most SIZE - 1 bytes. */
static void condition_of(const char *rule, char *out, size_t size)
{
    const char *p = strstr(rule, "when ");
    const char *end = p != NULL ? strstr(p, "\n    then") : NULL;
    size_t n = 0;
    for (p = p != NULL ? p + 5 : ""; p < end && n + 1 < size; p++) {
        if (*p == '\n') {
            while (p[1] == ' ')
                p++;
            out[n++] = ' ';
        } else {
            out[n++] = *p;
        }
    }
    if (n + 1 == size && size > 4)
        memcpy(out + size - 4, "...", 3);
    out[n] = '\0';
}

/* Every rule of the 100-rule set alone: a file of the same head and lists and that one rule, evaluated
 * over TICKETS tickets, minus the empty rule set; summed by kind, and the costliest rules. */
static int by_kind(const struct corpus *c, struct gen *g, size_t tickets, int repeat)
{
    struct rule_set_text all = gen_file(g, SMALL_SET);
    free(all.text);
    double *samples = hg_xcalloc((size_t)repeat, sizeof(double));
    for (int r = 0; r < repeat; r++)
        samples[r] = run_pass(c, V_EMPTY, NULL, tickets).wall;
    double empty = median(samples, (size_t)repeat) / (double)tickets * 1e6;
    double cost[SMALL_SET], kind_cost[N_KINDS] = {0}, total = 0;
    unsigned kind_rules[N_KINDS] = {0};
    struct hg_rules_loader loader = {load, g};
    print_loadavg("at start");
    for (unsigned i = 0; i < SMALL_SET; i++) {
        struct hg_buf f;
        hg_buf_init(&f, MAX_TEXT);
        hg_buf_append_str(&f, head_text);
        hg_buf_append_str(&f, hg_buf_str(&g->lists));
        hg_buf_append_str(&f, g->texts[i]);
        struct hg_rules_errors errors;
        hg_rules_errors_init(&errors);
        struct hg_rules *rules =
            hg_rules_parse(hg_buf_str(&f), f.len, "one-rule.conf", &loader, NULL, &errors);
        hg_rules_errors_free(&errors);
        hg_buf_free(&f);
        if (rules == NULL) {
            fprintf(stderr, "rules: rule %u alone does not parse (a bug of bench/rules.c)\n", i + 1);
            free(samples);
            return 1;
        }
        run_pass(c, V_SMALL, rules, c->count);
        for (int r = 0; r < repeat; r++)
            samples[r] = run_pass(c, V_SMALL, rules, tickets).wall;
        cost[i] = median(samples, (size_t)repeat) / (double)tickets * 1e6 - empty;
        kind_cost[g->kinds[i]] += cost[i];
        kind_rules[g->kinds[i]]++;
        total += cost[i];
        hg_rules_free(&rules);
    }
    printf("each of the %u rules alone, %zu tickets, median of %d passes, minus the empty set (%.3f us):\n",
           SMALL_SET, tickets, repeat, empty);
    printf("%-26s %6s %12s %14s %7s\n", "kind", "rules", "us/ticket", "ns/rule/ticket", "share");
    for (int k = 0; k < N_KINDS; k++)
        if (kind_rules[k] > 0)
            printf("%-26s %6u %12.3f %14.1f %6.1f%%\n", kind_names[k], kind_rules[k], kind_cost[k],
                   kind_cost[k] * 1e3 / kind_rules[k], 100.0 * kind_cost[k] / total);
    printf("%-26s %6u %12.3f\n", "sum", SMALL_SET, total);
    printf("the costliest rules (us/ticket, condition):\n");
    bool shown[SMALL_SET] = {false};
    for (int n = 0; n < 12; n++) {
        unsigned best = 0;
        for (unsigned i = 0; i < SMALL_SET; i++)
            if (!shown[i] && (shown[best] || cost[i] > cost[best]))
                best = i;
        shown[best] = true;
        char cond[100];
        condition_of(g->texts[best], cond, sizeof cond);
        printf("  %7.3f  R%04u %s\n", cost[best], best + 1, cond);
    }
    print_loadavg("at the end");
    free(samples);
    return 0;
}

/* ------------------------------------------------------------ showing and writing the rules */

static int show_rules(struct gen *g)
{
    struct rule_set_text t = gen_file(g, LARGE_SET);
    fputs(head_text, stdout);
    printf("# the first domain list of the generated files:\n%s\n", g->example_list);
    for (int k = 0; k < N_KINDS; k++) {
        if (g->example[k] != NULL)
            fputs(g->example[k], stdout);
        else
            printf("# (no rule of kind \"%s\" among the first %u)\n\n", kind_names[k], LARGE_SET);
    }
    printf("# %u rules, %u lists (%u domains, %u list files), %u regexes, %u rules with stop\n", t.rules,
           t.lists, t.list_entries, t.list_files, t.regexes, t.stops);
    free(t.text);
    return 0;
}

static int write_rules(struct gen *g, const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "rules: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    const unsigned counts[] = {SMALL_SET, LARGE_SET};
    for (size_t i = 0; i < 2; i++) {
        struct rule_set_text t = gen_file(g, counts[i]);
        char path[4096];
        snprintf(path, sizeof path, "%s/rules-%u.conf", dir, counts[i]);
        int rc = write_whole_file(path, t.text, t.len);
        free(t.text);
        if (rc != 0)
            return 1;
    }
    for (size_t i = 0; i < g->n_files; i++) { /* the 1,000-rule file's lists include the 100-rule file's */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, g->files[i].name);
        if (write_whole_file(path, g->files[i].text, g->files[i].len) != 0)
            return 1;
    }
    printf("wrote %s/rules-%u.conf, %s/rules-%u.conf and %zu list files\n", dir, SMALL_SET, dir, LARGE_SET,
           g->n_files);
    return 0;
}

/* ------------------------------------------------------------ main */

static int usage(void)
{
    fprintf(stderr, "usage: rules DIR [--tickets N] [--repeat R] [--seed S]\n"
                    "       rules DIR --by-kind [--tickets N] [--repeat R] [--seed S]\n"
                    "       rules DIR --show-rules [--seed S]\n"
                    "       rules DIR --write OUTDIR [--seed S]\n");
    return 2;
}

static bool number_arg(const char *s, unsigned long long min, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-')
        return usage();
    const char *dir = argv[1], *write_dir = NULL;
    unsigned long long tickets = 100000, repeat = 3, seed = 20261122;
    bool show = false, kinds = false, tickets_given = false;
    for (int i = 2; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--tickets") == 0 && has_value) {
            if (!number_arg(argv[++i], 1, 1000000000, &tickets))
                return usage();
            tickets_given = true;
        } else if (strcmp(argv[i], "--repeat") == 0 && has_value) {
            if (!number_arg(argv[++i], 1, 1000, &repeat))
                return usage();
        } else if (strcmp(argv[i], "--seed") == 0 && has_value) {
            if (!number_arg(argv[++i], 0, UINT64_MAX, &seed))
                return usage();
        } else if (strcmp(argv[i], "--write") == 0 && has_value) {
            write_dir = argv[++i];
        } else if (strcmp(argv[i], "--show-rules") == 0) {
            show = true;
        } else if (strcmp(argv[i], "--by-kind") == 0) {
            kinds = true;
        } else {
            return usage();
        }
    }
    struct corpus c;
    if (load_corpus(dir, seed, &c) != 0)
        return 1;
    struct gen g;
    gen_init(&g, seed, &c);
    int rc;
    if (show)
        rc = show_rules(&g);
    else if (write_dir != NULL)
        rc = write_rules(&g, write_dir);
    else if (kinds)
        rc = by_kind(&c, &g, tickets_given ? (size_t)tickets : 20000, (int)repeat);
    else
        rc = bench(&c, &g, (size_t)tickets, (int)repeat);
    gen_free(&g);
    free_corpus(&c);
    return rc;
}
