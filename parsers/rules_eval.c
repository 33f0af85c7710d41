/*
 * rules_eval.c — evaluates a compiled rule set against one ticket's facts,
 * explains the evaluation for people, and writes the result as JSON (see
 * rules.h for the order and meaning of rules and actions).
 *
 * Evaluation allocates one PCRE2 match block and one bit array: values are read
 * from the input in place, tests were compiled when the file was parsed, and
 * the result points into the rule set and the input. The explanation
 * evaluates every test (no short cut) so that it can show each one.
 */
#include "rules_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"
#include "helpgate/charset.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { MAX_EXPLANATION = 4 * 1024 * 1024 };

struct eval {
    const struct hg_rules *r;
    const struct hg_rules_input *in;
    pcre2_match_data *md;
    struct eval_time time;
    struct hg_buf *trace; /* explaining: every test is evaluated and written here */
    uint64_t *ac_bits;    /* rules->ac_words words: the `contains` tests that hold, per field */
    uint32_t ac_scanned;  /* bit per field: its automaton has run */
    /* Per single-valued field, measured once: its length and whether it is valid UTF-8. */
    uint32_t measured;
    uint32_t valid_utf8;
    size_t length[N_FIELD_IDS];
};

const char *hg_rules_tier_name(enum hg_rules_tier tier)
{
    switch (tier) {
    case HG_TIER_L2:
        return "L2";
    case HG_TIER_L3:
        return "L3";
    default:
        return "L1";
    }
}

/* ------------------------------------------------------------------------ */
/* Field values.                                                           */

static const char *domain_of(const char *address)
{
    const char *at = address != NULL ? strrchr(address, '@') : NULL;
    return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

static const char *single_value(const struct eval *e, enum field_id field)
{
    const struct hg_rules_input *in = e->in;
    switch (field) {
    case F_CHANNEL:
        return in->channel != NULL ? in->channel : "email";
    case F_FROM:
        return in->from_email;
    case F_FROM_DOMAIN:
        return domain_of(in->from_email);
    case F_FROM_NAME:
        return in->from_name;
    case F_RECIPIENT:
        return in->recipient;
    case F_SUBJECT:
        return in->subject;
    case F_BODY:
        return in->body;
    case F_REPLY:
        return in->reply;
    case F_AUTO:
        return in->auto_kind != NULL ? in->auto_kind : "none";
    case F_CUSTOMER_TIER:
        return in->customer_tier != NULL ? in->customer_tier : "standard";
    case F_CUSTOMER_COMPANY:
        return in->customer_company;
    case F_TIME_WEEKDAY:
        return e->time.weekday_name;
    case F_TIME_DATE:
        return e->time.date_text;
    default:
        return NULL;
    }
}

/* The next value of T's field at or after *CURSOR, or NULL when there is none left. */
static const char *next_value(const struct eval *e, const struct test *t, size_t *cursor)
{
    const struct hg_rules_input *in = e->in;
    if (t->field == F_HEADER) {
        while (*cursor < in->n_headers) {
            const struct hg_rules_header *h = &in->headers[(*cursor)++];
            if (h->name != NULL && h->value != NULL && strcasecmp(h->name, t->field_arg) == 0)
                return h->value;
        }
        return NULL;
    }
    if (t->field == F_ATTACHMENT_TYPE || t->field == F_ATTACHMENT_NAME) {
        while (*cursor < in->n_attachments) {
            const struct hg_rules_attachment *a = &in->attachments[(*cursor)++];
            const char *v = t->field == F_ATTACHMENT_TYPE ? a->content_type : a->filename;
            if (v != NULL)
                return v;
        }
        return NULL;
    }
    if ((*cursor)++ > 0)
        return NULL;
    return single_value(e, t->field);
}

static long number_value(const struct eval *e, enum field_id field)
{
    switch (field) {
    case F_ATTACHMENT_COUNT:
        return (long)e->in->n_attachments;
    case F_CUSTOMER_OPEN_TICKETS:
        return e->in->customer_open_tickets;
    default:
        return e->time.hour;
    }
}

static int compare_date(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static bool in_calendar(const struct eval *e, const struct calendar *c)
{
    if (c->n_holidays > 0 &&
        bsearch(&e->time.date, c->holidays, c->n_holidays, sizeof(int), compare_date) != NULL)
        return false;
    int minute = e->time.hour * 60 + e->time.minute;
    for (size_t i = 0; i < c->n_spans; i++)
        if ((c->spans[i].days & (1u << e->time.weekday)) && minute >= c->spans[i].start &&
            minute < c->spans[i].end)
            return true;
    return false;
}

static bool bool_value(const struct eval *e, const struct test *t)
{
    switch (t->field) {
    case F_CUSTOMER_CUSTOM_CODE:
        return e->in->customer_custom_code;
    case F_CUSTOMER_NEW:
        return !e->in->customer_known;
    default:
        return in_calendar(e, &e->r->calendars[t->calendar]);
    }
}

/* ------------------------------------------------------------------------ */
/* Tests.                                                                  */

static int compare_folded(const void *key, const void *item)
{
    return strcmp((const char *)key, *(char *const *)item);
}

/* V equals an entry of SET, ASCII case folded. */
static bool set_contains(const struct string_set *set, const char *v)
{
    char folded[512];
    size_t n = 0;
    for (; v[n] != '\0'; n++) {
        if (n + 1 >= sizeof folded || (unsigned char)v[n] >= 0x80)
            return false; /* longer than any entry worth keeping, or not ASCII: no ASCII entry equals it */
        folded[n] = v[n] >= 'A' && v[n] <= 'Z' ? (char)(v[n] - 'A' + 'a') : v[n];
    }
    folded[n] = '\0';
    return bsearch(folded, set->items, set->count, sizeof(*set->items), compare_folded) != NULL;
}

static bool several_values(enum field_id field)
{
    return field == F_HEADER || field == F_ATTACHMENT_TYPE || field == F_ATTACHMENT_NAME;
}

/*
 * V's length and UTF-8 validity: measured once per evaluation for a field
 * with one value (the body can be megabytes, and many tests read it).
 */
static size_t measure(const struct eval *ev, const struct test *t, const char *v, bool *valid_r)
{
    struct eval *e = (struct eval *)ev; /* a cache of this evaluation */
    uint32_t bit = UINT32_C(1) << t->field;
    if (several_values(t->field)) {
        size_t len = strlen(v);
        *valid_r = hg_utf8_valid(v, len);
        return len;
    }
    if (!(e->measured & bit)) {
        e->measured |= bit;
        e->length[t->field] = strlen(v);
        if (hg_utf8_valid(v, e->length[t->field]))
            e->valid_utf8 |= bit;
    }
    *valid_r = (e->valid_utf8 & bit) != 0;
    return e->length[t->field];
}

/*
 * The positive form of a text test (is, contains, starts, ends, matches, in)
 * on one value. Patterns are compiled for UTF-8 and matched without PCRE2's
 * own check (the value was checked once); a value that is not UTF-8 (never
 * from the mail normalizer) matches no pattern.
 */
static bool text_holds(const struct eval *e, const struct test *t, const char *v)
{
    if (t->never)
        return false;
    if (t->use_set)
        return set_contains(&t->set, v);
    if (t->re == NULL)
        return false;
    bool valid;
    size_t len = measure(e, t, v, &valid);
    return valid && pcre2_match(t->re, (PCRE2_SPTR)v, len, 0, PCRE2_NO_UTF_CHECK, e->md, NULL) >= 0;
}

static bool negative(enum op op)
{
    return op == OP_IS_NOT || op == OP_NOT_IN;
}

/* A `contains` test by the field's automaton: the field is scanned once, at the first such test. */
static bool ac_holds(const struct eval *ev, const struct test *t)
{
    struct eval *e = (struct eval *)ev; /* the scan is a cache of this evaluation */
    uint64_t *bits = e->ac_bits + e->r->ac_word[t->field];
    if (!(e->ac_scanned & (UINT32_C(1) << t->field))) {
        e->ac_scanned |= UINT32_C(1) << t->field;
        rules_ac_scan(&e->r->ac[t->field], single_value(e, t->field), bits);
    }
    return (bits[t->ac_slot / 64] >> (t->ac_slot % 64)) & 1;
}

static bool run_text_test(const struct eval *e, const struct test *t)
{
    if (t->use_ac && ac_holds(e, t))
        return true;
    if (t->use_ac && t->re == NULL)
        return false; /* every keyword was ASCII; otherwise the regex below holds the others */
    size_t cursor = 0;
    bool any = false;
    const char *v;
    while (!any && (v = next_value(e, t, &cursor)) != NULL)
        any = t->op == OP_EXISTS ? *v != '\0' : text_holds(e, t, v);
    return negative(t->op) ? !any : any;
}

static bool run_test(const struct eval *e, const struct test *t)
{
    if (t->kind == KIND_BOOL)
        return bool_value(e, t);
    if (t->kind == KIND_TEXT)
        return run_text_test(e, t);
    long v = number_value(e, t->field);
    switch (t->op) {
    case OP_NE:
        return v != t->number;
    case OP_LT:
        return v < t->number;
    case OP_LE:
        return v <= t->number;
    case OP_GT:
        return v > t->number;
    case OP_GE:
        return v >= t->number;
    default:
        return v == t->number;
    }
}

/* ------------------------------------------------------------------------ */
/* Explanations of single tests.                                           */

/* Appends V quoted, at most about 60 characters, line ends shown as \n. */
static void append_shown(struct hg_buf *b, const char *v)
{
    size_t len = strlen(v);
    size_t keep = hg_utf8_cut(v, len, 60);
    hg_buf_append_char(b, '"');
    for (size_t i = 0; i < keep; i++) {
        char c = v[i];
        if (c == '\n')
            hg_buf_append_str(b, "\\n");
        else if (c == '"' || c == '\\')
            hg_buf_printf(b, "\\%c", c);
        else if ((unsigned char)c < 0x20)
            hg_buf_append_char(b, ' ');
        else
            hg_buf_append_char(b, c);
    }
    hg_buf_append_str(b, keep < len ? "...\"" : "\"");
}

static void explain_value(const struct eval *e, const struct test *t, struct hg_buf *b)
{
    if (t->kind == KIND_BOOL) {
        hg_buf_append_str(b, bool_value(e, t) ? "yes" : "no");
        return;
    }
    if (t->kind == KIND_NUMBER) {
        hg_buf_printf(b, "%ld", number_value(e, t->field));
        return;
    }
    size_t cursor = 0, n = 0;
    const char *v;
    while ((v = next_value(e, t, &cursor)) != NULL && n < 5) {
        if (n++ > 0)
            hg_buf_append_str(b, ", ");
        append_shown(b, v);
    }
    if (n == 0)
        hg_buf_append_str(b, "(none)");
    else if (v != NULL)
        hg_buf_append_str(b, ", ...");
}

static bool eval_node(const struct eval *e, const struct node *n);

/* A test, or `not` over a test: one line of the explanation ("yes not hours.business [no]"). */
static bool eval_test(const struct eval *e, const struct test *t, bool negated)
{
    bool result = run_test(e, t) != negated;
    if (e->trace != NULL) {
        hg_buf_printf(e->trace, "    %-3s %s%s   [", result ? "yes" : "no", negated ? "not " : "", t->source);
        explain_value(e, t, e->trace);
        hg_buf_append_str(e->trace, "]\n");
    }
    return result;
}

static bool eval_node(const struct eval *e, const struct node *n)
{
    switch (n->type) {
    case NODE_TEST:
        return eval_test(e, n->test, false);
    case NODE_NOT:
        if (n->left->type == NODE_TEST)
            return eval_test(e, n->left->test, true);
        return !eval_node(e, n->left);
    case NODE_AND:
        if (e->trace != NULL) {
            bool left = eval_node(e, n->left);
            return eval_node(e, n->right) && left;
        }
        return eval_node(e, n->left) && eval_node(e, n->right);
    default:
        if (e->trace != NULL) {
            bool left = eval_node(e, n->left);
            return eval_node(e, n->right) || left;
        }
        return eval_node(e, n->left) || eval_node(e, n->right);
    }
}

/* ------------------------------------------------------------------------ */
/* Actions.                                                                */

static void add_tag(struct hg_rules_result *out, const char *tag)
{
    for (size_t i = 0; i < out->n_tags; i++)
        if (strcmp(out->tags[i], tag) == 0)
            return;
    if (out->n_tags < HG_RULES_MAX_TAGS)
        out->tags[out->n_tags++] = tag;
}

static void add_notify(struct hg_rules_result *out, const struct action *a)
{
    for (size_t i = 0; i < out->n_notify; i++) {
        struct hg_rules_notify *n = &out->notify[i];
        bool same = n->team == a->tier &&
                    ((n->address == NULL && a->text == NULL) ||
                     (n->address != NULL && a->text != NULL && strcmp(n->address, a->text) == 0));
        if (same) {
            n->with_notes = n->with_notes || a->with_notes;
            return;
        }
    }
    if (out->n_notify < HG_RULES_MAX_NOTIFY)
        out->notify[out->n_notify++] =
            (struct hg_rules_notify){.team = a->tier, .address = a->text, .with_notes = a->with_notes};
}

static void apply(struct hg_rules_result *out, const struct rule *r, const struct action *a)
{
    struct hg_rules_origin origin = {.rule = r->name, .line = r->line};
    switch (a->type) {
    case ACT_ROUTE:
        out->tier = a->tier;
        out->tier_origin = origin;
        break;
    case ACT_ROUTE_AT_LEAST:
        if (out->tier == 0 || out->tier < a->tier) {
            out->tier = out->tier > a->tier ? out->tier : a->tier;
            out->tier_origin = origin;
        }
        break;
    case ACT_PRIORITY:
        out->priority = a->text;
        break;
    case ACT_QUEUE:
        out->queue = a->text;
        break;
    case ACT_TAG:
        add_tag(out, a->text);
        break;
    case ACT_ASSIGN:
        out->assign = a->text;
        break;
    case ACT_ACKNOWLEDGE:
        out->acknowledge = a->text;
        break;
    case ACT_NOTIFY:
        add_notify(out, a);
        break;
    case ACT_SLA:
        out->sla = a->text;
        break;
    case ACT_STOP:
        out->stopped = true;
        break;
    }
}

static void action_text(const struct action *a, struct hg_buf *b)
{
    switch (a->type) {
    case ACT_ROUTE:
        hg_buf_printf(b, "route %s", hg_rules_tier_name(a->tier));
        break;
    case ACT_ROUTE_AT_LEAST:
        hg_buf_printf(b, "route at least %s", hg_rules_tier_name(a->tier));
        break;
    case ACT_PRIORITY:
        hg_buf_printf(b, "priority %s", a->text);
        break;
    case ACT_QUEUE:
        hg_buf_printf(b, "queue %s", a->text);
        break;
    case ACT_TAG:
        hg_buf_printf(b, "tag %s", a->text);
        break;
    case ACT_ASSIGN:
        hg_buf_printf(b, "assign \"%s\"", a->text);
        break;
    case ACT_ACKNOWLEDGE:
        hg_buf_printf(b, "acknowledge %s", a->text != NULL ? a->text : "none");
        break;
    case ACT_NOTIFY:
        if (a->text != NULL)
            hg_buf_printf(b, "notify \"%s\"", a->text);
        else if (a->tier != 0)
            hg_buf_printf(b, "notify team %s", hg_rules_tier_name(a->tier));
        else
            hg_buf_append_str(b, "notify team");
        if (a->with_notes)
            hg_buf_append_str(b, " with notes");
        break;
    case ACT_SLA:
        hg_buf_printf(b, "sla %s", a->text);
        break;
    case ACT_STOP:
        hg_buf_append_str(b, "stop");
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Evaluation.                                                             */

static void fill_time(struct eval *e)
{
    static const char *const names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    struct hg_tz_local local;
    hg_tz_local(e->r->tz, e->in->now, &local);
    e->time.weekday = local.weekday;
    e->time.hour = local.hour;
    e->time.minute = local.minute;
    e->time.date = local.year * 10000 + local.month * 100 + local.day;
    memcpy(e->time.weekday_name, names[local.weekday % 7], 4);
    snprintf(e->time.date_text, sizeof e->time.date_text, "%04d-%02d-%02d", local.year % 10000, local.month,
             local.day);
}

/* "notify team" becomes the final tier's team; then the same team named twice is notified once. */
static void resolve_notify(struct hg_rules_result *out)
{
    size_t kept = 0;
    for (size_t i = 0; i < out->n_notify; i++) {
        struct hg_rules_notify n = out->notify[i];
        if (n.address == NULL && n.team == 0)
            n.team = out->tier;
        size_t k = 0;
        while (k < kept &&
               !(n.address == NULL && out->notify[k].address == NULL && out->notify[k].team == n.team))
            k++;
        if (k < kept)
            out->notify[k].with_notes = out->notify[k].with_notes || n.with_notes;
        else
            out->notify[kept++] = n;
    }
    out->n_notify = kept;
}

static void finish(const struct hg_rules_input *in, struct hg_rules_result *out)
{
    if (out->tier == 0) {
        out->tier = HG_TIER_L1;
        out->tier_origin = (struct hg_rules_origin){.rule = "default", .line = 0};
    }
    if (out->sla == NULL)
        out->sla = hg_rules_tier_name(out->tier);
    resolve_notify(out);
    for (size_t i = 0; i < out->n_notify; i++)
        if (out->notify[i].with_notes && in->customer_custom_code_notes != NULL &&
            in->customer_custom_code_notes[0] != '\0')
            out->notes = in->customer_custom_code_notes;
}

static void run(struct eval *e, struct hg_rules_result *out)
{
    memset(out, 0, sizeof(*out));
    out->priority = "normal";
    out->acknowledge = "default";
    const struct hg_rules *r = e->r;
    for (size_t i = 0; r != NULL && i < r->n_rules && !out->stopped; i++) {
        const struct rule *rule = &r->rules[i];
        if (e->trace != NULL)
            hg_buf_printf(e->trace, "%s:%d rule \"%s\"\n", r->filename, rule->line, rule->name);
        bool matched = rule->when == NULL || eval_node(e, rule->when);
        if (e->trace != NULL)
            hg_buf_append_str(e->trace, matched ? "  matched: " : "  not matched\n");
        if (!matched)
            continue;
        if (out->n_matched < HG_RULES_MAX_MATCHED)
            out->matched[out->n_matched++] = (struct hg_rules_origin){.rule = rule->name, .line = rule->line};
        for (size_t k = 0; k < rule->n_actions; k++) {
            apply(out, rule, &rule->actions[k]);
            if (e->trace != NULL) {
                if (k > 0)
                    hg_buf_append_str(e->trace, ", ");
                action_text(&rule->actions[k], e->trace);
            }
        }
        if (e->trace != NULL)
            hg_buf_append_str(e->trace, out->stopped ? "\n  (stop: no later rule is evaluated)\n" : "\n");
    }
    finish(e->in, out);
}

static void eval_init(struct eval *e, const struct hg_rules *rules, const struct hg_rules_input *in)
{
    memset(e, 0, sizeof(*e));
    e->r = rules;
    e->in = in;
    e->md = pcre2_match_data_create(1, NULL);
    if (e->md == NULL)
        hg_out_of_memory(sizeof(PCRE2_SIZE) * 2);
    if (rules != NULL && rules->uses_time)
        fill_time(e);
    if (rules != NULL && rules->ac_words > 0)
        e->ac_bits = hg_xcalloc(rules->ac_words, sizeof(*e->ac_bits));
}

static void eval_done(struct eval *e)
{
    pcre2_match_data_free(e->md);
    free(e->ac_bits);
}

void hg_rules_evaluate(const struct hg_rules *rules, const struct hg_rules_input *in,
                       struct hg_rules_result *out)
{
    struct eval e;
    eval_init(&e, rules, in);
    run(&e, out);
    eval_done(&e);
}

/* ------------------------------------------------------------------------ */
/* Explanation and JSON.                                                   */

static void explain_result(const struct hg_rules *rules, const struct hg_rules_result *out, int64_t now,
                           struct hg_buf *b)
{
    hg_buf_printf(b, "result:\n  tier          %s", hg_rules_tier_name(out->tier));
    if (out->tier_origin.line > 0)
        hg_buf_printf(b, "   (rule \"%s\", %s:%d)\n", out->tier_origin.rule, rules->filename,
                      out->tier_origin.line);
    else
        hg_buf_append_str(b, "   (the default: no rule routed it)\n");
    hg_buf_printf(b, "  priority      %s\n", out->priority);
    hg_buf_printf(b, "  queue         %s\n", out->queue != NULL ? out->queue : "-");
    hg_buf_printf(b, "  assign        %s\n", out->assign != NULL ? out->assign : "-");
    hg_buf_printf(b, "  acknowledge   %s\n", out->acknowledge != NULL ? out->acknowledge : "none");
    rules_sla_explain(rules, out->sla, now, b);
    hg_buf_append_str(b, "  tags          ");
    for (size_t i = 0; i < out->n_tags; i++)
        hg_buf_printf(b, "%s%s", i > 0 ? ", " : "", out->tags[i]);
    hg_buf_append_str(b, out->n_tags == 0 ? "-\n" : "\n");
    hg_buf_append_str(b, "  notify        ");
    for (size_t i = 0; i < out->n_notify; i++) {
        const struct hg_rules_notify *n = &out->notify[i];
        if (n->address != NULL)
            hg_buf_printf(b, "%s%s", i > 0 ? ", " : "", n->address);
        else
            hg_buf_printf(b, "%steam %s", i > 0 ? ", " : "", hg_rules_tier_name(n->team));
        if (n->with_notes)
            hg_buf_append_str(b, " (with notes)");
    }
    hg_buf_append_str(b, out->n_notify == 0 ? "-\n" : "\n");
    if (out->notes != NULL) {
        hg_buf_append_str(b, "  notes         ");
        append_shown(b, out->notes);
        hg_buf_append_char(b, '\n');
    }
}

char *hg_rules_explain(const struct hg_rules *rules, const struct hg_rules_input *in)
{
    struct hg_buf b;
    hg_buf_init(&b, MAX_EXPLANATION);
    struct eval e;
    eval_init(&e, rules, in);
    e.trace = &b;
    if (rules != NULL && rules->uses_time)
        hg_buf_printf(&b, "time: %s %s %02d:%02d (%s)\n", e.time.weekday_name, e.time.date_text, e.time.hour,
                      e.time.minute, rules->tz_name != NULL ? rules->tz_name : "UTC");
    struct hg_rules_result out;
    run(&e, &out);
    eval_done(&e);
    static const struct hg_rules none = {.filename = "(no rules)"};
    explain_result(rules != NULL ? rules : &none, &out, in->now, &b);
    return hg_buf_steal(&b);
}

static json_t *string_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

char *hg_rules_result_json(const struct hg_rules *rules, const struct hg_rules_result *result)
{
    json_t *o = json_object();
    json_object_set_new(o, "tier", json_string(hg_rules_tier_name(result->tier)));
    json_object_set_new(o, "rule", json_string(result->tier_origin.rule));
    json_object_set_new(o, "file", string_or_null(rules != NULL ? rules->filename : NULL));
    json_object_set_new(o, "line", json_integer(result->tier_origin.line));
    json_object_set_new(o, "priority", json_string(result->priority));
    json_object_set_new(o, "queue", string_or_null(result->queue));
    json_object_set_new(o, "assign", string_or_null(result->assign));
    json_object_set_new(o, "acknowledge", string_or_null(result->acknowledge));
    json_object_set_new(o, "sla", json_string(result->sla));
    json_t *tags = json_array();
    for (size_t i = 0; i < result->n_tags; i++)
        json_array_append_new(tags, json_string(result->tags[i]));
    json_object_set_new(o, "tags", tags);
    json_t *notify = json_array();
    for (size_t i = 0; i < result->n_notify; i++) {
        const struct hg_rules_notify *n = &result->notify[i];
        json_t *item = json_object();
        if (n->address != NULL)
            json_object_set_new(item, "address", json_string(n->address));
        else
            json_object_set_new(item, "team", json_string(hg_rules_tier_name(n->team)));
        json_object_set_new(item, "notes", json_boolean(n->with_notes));
        json_array_append_new(notify, item);
    }
    json_object_set_new(o, "notify", notify);
    json_t *matched = json_array();
    for (size_t i = 0; i < result->n_matched; i++) {
        json_t *item = json_object();
        json_object_set_new(item, "rule", json_string(result->matched[i].rule));
        json_object_set_new(item, "line", json_integer(result->matched[i].line));
        json_array_append_new(matched, item);
    }
    json_object_set_new(o, "matched", matched);
    json_object_set_new(o, "stopped", json_boolean(result->stopped));
    if (result->notes != NULL)
        json_object_set_new(o, "notes", json_string(result->notes));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}
