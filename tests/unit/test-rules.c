/*
 * test-rules.c — unit tests of the rules language (parsers/rules_*.c).
 *
 * Data-driven: tests/data/rules/errors/NAME.rules beside NAME.ref (every
 * error message and hint, as `helpgatectl rules check` prints them);
 * tests/data/rules/eval/NAME.rules beside NAME.json (cases: the facts of a
 * ticket and the fields of the result JSON they must give); the example file
 * of helpgate.rules(5) must parse, and the man page must hold it verbatim.
 * Table-driven: operators, actions, the order of evaluation, explanations,
 * limits and hostile input. The data directory is found through $top_srcdir.
 */
#include "helpgate/rules.h"

#include "tap.h"
#include "testdata.h"
#include "rules_testlib.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

static struct hg_rules *parse_text(const char *text, struct hg_rules_errors *errors, const char *dir)
{
    struct hg_rules_loader loader = {test_load, (void *)dir};
    return hg_rules_parse(text, strlen(text), "t.rules", &loader, NULL, errors);
}

/* ------------------------------------------------------------------------ */
/* Cases from files.                                                       */

static int64_t parse_iso(const char *s)
{
    struct tm tm = {0};
    if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
        return 1795000000; /* 2026-11-19 */
    return (int64_t)timegm(&tm);
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Fills IN from the case's "input" object; arrays are allocated into HEADERS and ATTACHMENTS. */
static void input_from_json(json_t *j, struct hg_rules_input *in, struct hg_rules_header **headers,
                            struct hg_rules_attachment **attachments)
{
    memset(in, 0, sizeof(*in));
    in->channel = jstr(j, "channel") != NULL ? jstr(j, "channel") : "email";
    in->from_email = jstr(j, "from");
    in->subject = jstr(j, "subject");
    in->body = jstr(j, "body") != NULL ? jstr(j, "body") : jstr(j, "reply");
    in->reply = jstr(j, "reply");
    in->auto_kind = jstr(j, "auto");
    in->customer_known = !json_is_true(json_object_get(j, "new_customer"));
    in->customer_tier = jstr(j, "customer_tier");
    in->customer_custom_code = json_is_true(json_object_get(j, "custom_code"));
    in->customer_custom_code_notes = jstr(j, "notes");
    in->customer_company = jstr(j, "company");
    in->customer_open_tickets = (long)json_integer_value(json_object_get(j, "open_tickets"));
    in->now = parse_iso(jstr(j, "now"));
    json_t *h = json_object_get(j, "headers"), *a = json_object_get(j, "attachments");
    *headers = calloc(json_array_size(h) + 1, sizeof(**headers));
    for (size_t i = 0; i < json_array_size(h); i++)
        (*headers)[i] = (struct hg_rules_header){json_string_value(json_array_get(json_array_get(h, i), 0)),
                                                 json_string_value(json_array_get(json_array_get(h, i), 1))};
    *attachments = calloc(json_array_size(a) + 1, sizeof(**attachments));
    for (size_t i = 0; i < json_array_size(a); i++)
        (*attachments)[i] =
            (struct hg_rules_attachment){json_string_value(json_array_get(json_array_get(a, i), 0)),
                                         json_string_value(json_array_get(json_array_get(a, i), 1))};
    in->headers = *headers;
    in->n_headers = json_array_size(h);
    in->attachments = *attachments;
    in->n_attachments = json_array_size(a);
}

static void check_case(const struct hg_rules *rules, json_t *c, const char *file)
{
    struct hg_rules_input in;
    struct hg_rules_header *headers;
    struct hg_rules_attachment *attachments;
    input_from_json(json_object_get(c, "input"), &in, &headers, &attachments);
    struct hg_rules_result result;
    hg_rules_evaluate(rules, &in, &result);
    char *text = hg_rules_result_json(rules, &result);
    json_t *got = json_loads(text, 0, NULL);
    if (result.notes != NULL)
        json_object_set_new(got, "notes", json_string(result.notes));
    const char *key;
    json_t *want;
    json_object_foreach(json_object_get(c, "expect"), key, want)
    {
        json_t *have = json_object_get(got, key);
        int same = have != NULL ? json_equal(have, want) : json_is_null(want);
        ok(same, "%s: %s: %s", file, jstr(c, "name"), key);
        if (!same) {
            char *h = have != NULL ? json_dumps(have, JSON_ENCODE_ANY) : strdup("(absent)");
            char *w = json_dumps(want, JSON_ENCODE_ANY);
            printf("#   got:  %s\n#   want: %s\n", h, w);
            free(h);
            free(w);
        }
    }
    /* The explanation reaches the same tier. */
    char *explained = hg_rules_explain(rules, &in);
    char tier_line[32];
    snprintf(tier_line, sizeof tier_line, "tier          %s", hg_rules_tier_name(result.tier));
    ok(strstr(explained, tier_line) != NULL, "%s: %s: explanation shows %s", file, jstr(c, "name"),
       tier_line);
    free(explained);
    json_decref(got);
    free(text);
    free(headers);
    free(attachments);
}

static void test_eval_files(void)
{
    char *dir = data_dir("eval");
    size_t n;
    char **names = list_cases(dir, ".rules", &n);
    ok(n >= 2, "found %zu evaluation files", n);
    for (size_t i = 0; i < n; i++) {
        char *path = file_path(dir, names[i], ".rules"), *cases_path = file_path(dir, names[i], ".json");
        struct text src = read_file(path);
        struct hg_rules_errors errors;
        hg_rules_errors_init(&errors);
        struct hg_rules_loader loader = {test_load, dir};
        struct hg_rules *rules = hg_rules_parse(src.data, src.len, names[i], &loader, NULL, &errors);
        ok(rules != NULL, "%s.rules parses", names[i]);
        for (size_t k = 0; k < errors.count; k++) {
            char *e = hg_rules_error_format(&errors, k, names[i]);
            printf("# %s\n", e);
            free(e);
        }
        json_error_t jerr;
        json_t *cases = json_load_file(cases_path, 0, &jerr);
        ok(json_is_array(cases), "%s.json loads (%s)", names[i], cases != NULL ? "ok" : jerr.text);
        for (size_t k = 0; rules != NULL && k < json_array_size(cases); k++)
            check_case(rules, json_array_get(cases, k), names[i]);
        json_decref(cases);
        hg_rules_free(&rules);
        hg_rules_errors_free(&errors);
        free(src.data);
        free(path);
        free(cases_path);
        free(names[i]);
    }
    free(names);
    free(dir);
}

/* The man page's example is the file tests/data/rules/example.conf, and it is valid. */
static void test_documented_example(void)
{
    char *dir = data_dir("");
    char *path = file_path(dir, "example", ".conf");
    struct text example = read_file(path);
    ok(example.data != NULL, "tests/data/rules/example.conf exists");
    char *errors =
        rules_errors_of(example.data != NULL ? example.data : "", example.len, "example.conf", dir);
    is_str(errors, "", "the documented example parses without errors");
    free(errors);
    const char *top = getenv("top_srcdir");
    char man_path[4096];
    snprintf(man_path, sizeof man_path, "%s/daemon/helpgate.rules.5", top != NULL ? top : ".");
    struct text man = read_file(man_path);
    ok(man.data != NULL, "daemon/helpgate.rules.5 exists");
    /* Every rule name of the example appears in the man page. */
    size_t checked = 0, missing = 0;
    for (const char *p = example.data; p != NULL && (p = strstr(p, "rule \"")) != NULL; p++) {
        const char *end = strchr(p + 6, '"');
        if (end == NULL)
            break;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(end - p - 6 < 255 ? end - p - 6 : 255), p + 6);
        checked++;
        if (man.data == NULL || strstr(man.data, name) == NULL) {
            missing++;
            printf("# rule \"%s\" of example.conf is not in helpgate.rules.5\n", name);
        }
    }
    ok(checked >= 5 && missing == 0, "the man page shows the example's %zu rules", checked);
    free(man.data);
    free(example.data);
    free(path);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* Table-driven.                                                           */

/* TEXT on one line, for a TAP label (a static buffer). */
static const char *one_line(const char *text)
{
    static char label[160];
    size_t n = 0;
    for (; *text != '\0' && n + 1 < sizeof label; text++)
        label[n++] = *text == '\n' ? ' ' : *text;
    label[n] = '\0';
    return label;
}

/* The tier, tags and acknowledgement RULES give for a message with SUBJECT from FROM. */
static char *route(const char *rules_text, const char *from, const char *subject)
{
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    struct hg_rules *r = parse_text(rules_text, &errors, ".");
    if (r == NULL) {
        char *e = errors.count > 0 ? hg_rules_error_format(&errors, 0, "t.rules") : strdup("?");
        hg_rules_errors_free(&errors);
        return e;
    }
    struct hg_rules_input in = {
        .from_email = from, .subject = subject, .body = "", .reply = "", .now = 1795000000};
    struct hg_rules_result res;
    hg_rules_evaluate(r, &in, &res);
    char out[512];
    size_t n = (size_t)snprintf(out, sizeof out, "%s ack=%s", hg_rules_tier_name(res.tier),
                                res.acknowledge != NULL ? res.acknowledge : "none");
    for (size_t i = 0; i < res.n_tags && n < sizeof out; i++)
        n += (size_t)snprintf(out + n, sizeof out - n, " #%s", res.tags[i]);
    hg_rules_free(&r);
    hg_rules_errors_free(&errors);
    return strdup(out);
}

static void test_operators(void)
{
    static const struct {
        const char *when;
        const char *subject;
        bool holds;
    } cases[] = {
        {"subject is \"hello\"", "HELLO", true},
        {"subject is \"hello\"", "hello there", false},
        {"subject = hello", "Hello", true},
        {"subject is not hello", "Hello", false},
        {"subject != hello", "bye", true},
        {"subject contains \"ell\"", "HELLO", true},
        {"subject contains [\"x\", \"LL\"]", "hello", true},
        {"subject starts with \"he\"", "Hello", true},
        {"subject starts with \"lo\"", "Hello", false},
        {"subject ends with \"LO\"", "hello", true},
        {"subject ends with \"hel\"", "hello", false},
        {"subject matches /^h.l+o$/", "hello", true},
        {"subject matches /^H/", "hello", false},
        {"subject matches /^H/i", "hello", true},
        {"subject matches \"l{2}\"", "hello", true},
        {"subject in [\"a\", \"hello\"]", "Hello", true},
        {"subject in [\"a\", \"hell\"]", "Hello", false},
        {"subject not in [\"a\", \"b\"]", "hello", true},
        {"subject in []", "hello", false},
        {"subject not in []", "hello", true},
        {"subject exists", "hello", true},
        {"subject exists", "", false},
        {"subject contains \"a.b\"", "axb", false},
        {"subject contains \"a.b\"", "a.b", true},
        {"subject contains \"(\"", "(x", true},
        {"subject contains \"\\\\\"", "a\\b", true},
        {"subject is \"straße\"", "STRASSE", false},
        {"subject is \"ÉTÉ\"", "été", true},
        {"not subject is a", "b", true},
        {"not not subject is a", "a", true},
        {"subject is a or subject is b and subject is c", "a", true},
        {"(subject is a or subject is b) and subject is c", "a", false},
        {"subject is a and not (subject is b or subject is c)", "a", true},
        {"from.domain is example.com", "x", true},
        {"from is JOE@EXAMPLE.COM", "x", true},
        {"from.name exists", "x", false},
        {"from.name is not \"x\"", "x", true},
        {"customer.tier is standard", "x", true},
        {"customer.new is yes", "x", true},
        {"customer.new", "x", true},
        {"customer.custom-code is false", "x", true},
        {"customer.custom-code is not yes", "x", true},
        {"auto is none", "x", true},
        {"channel is email", "x", true},
        {"attachment.count = 0", "x", true},
        {"attachment.count > 0", "x", false},
        {"customer.open-tickets is not 1", "x", true},
        {"header.X-Anything exists", "x", false},
        {"header.X-Anything is not \"a\"", "x", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "rule \"r\" when %s then route L2 end\n", cases[i].when);
        char *got = route(text, "joe@example.com", cases[i].subject);
        char label[600];
        snprintf(label, sizeof label, "%s on \"%s\"", cases[i].when, cases[i].subject);
        is_str(got, cases[i].holds ? "L2 ack=default" : "L1 ack=default", label);
        free(got);
    }
}

static void test_order_and_actions(void)
{
    static const struct {
        const char *rules;
        const char *want;
    } cases[] = {
        {"", "L1 ack=default"},
        {"rule \"a\" then route L3 end rule \"b\" then route L2 end", "L2 ack=default"},
        {"rule \"a\" then route L3, stop end rule \"b\" then route L2 end", "L3 ack=default"},
        {"rule \"a\" then route L3 end rule \"b\" then route at least L2 end", "L3 ack=default"},
        {"rule \"a\" then route at least L2 end", "L2 ack=default"},
        {"rule \"a\" then route at least L1 end", "L1 ack=default"},
        {"rule \"a\" then tag x y, tag \"z w\", tag x end", "L1 ack=default #x #y #z w"},
        {"rule \"a\" then acknowledge none end", "L1 ack=none"},
        {"rule \"a\" then acknowledge none end rule \"b\" then acknowledge vip end", "L1 ack=vip"},
        {"rule \"a\"\n then route L2\n stop\n tag never\nend", "?"},
        {"rule \"a\" when subject is nothing then route L3 end", "L1 ack=default"},
        {"rule \"a\" then\n  route L2\n  tag one\nend\nrule \"b\" then tag two end",
         "L2 ack=default #one #two"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = route(cases[i].rules, "joe@example.com", "hello");
        if (strcmp(cases[i].want, "?") == 0) {
            /* "stop" then more actions on later lines: stop applies after the rule's other actions. */
            is_str(got, "L2 ack=default #never", "actions after stop in the same rule still apply");
        } else {
            is_str(got, cases[i].want, one_line(cases[i].rules));
        }
        free(got);
    }
}

static void test_result_details(void)
{
    const char *text =
        "rule \"VIP\"\n"
        "    when customer.tier is vip\n"
        "    then route L2, priority high, queue vip, assign \"ann@support.example\", sla gold\n"
        "         notify team with notes, notify \"lead@support.example\", notify team L2\n"
        "end\n";
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    struct hg_rules *r = parse_text(text, &errors, ".");
    ok(r != NULL && hg_rules_count(r) == 1, "a rule with every action parses");
    struct hg_rules_input in = {.customer_tier = "vip", .customer_custom_code_notes = "notes here"};
    struct hg_rules_result res;
    hg_rules_evaluate(r, &in, &res);
    is_str(res.priority, "high", "priority");
    is_str(res.queue, "vip", "queue");
    is_str(res.assign, "ann@support.example", "assign");
    is_str(res.sla, "gold", "sla");
    is_int((long long)res.n_notify, 2,
           "notify team (final tier L2) and notify team L2 are one, plus the lead");
    ok(res.notify[0].team == HG_TIER_L2 && res.notify[0].with_notes,
       "notify team resolves to the final tier, with notes");
    is_str(res.notify[1].address, "lead@support.example", "notify an address");
    is_str(res.notes, "notes here", "the notes are carried");
    is_int(res.tier_origin.line, 1, "the tier's rule line");
    char *json = hg_rules_result_json(r, &res);
    ok(strstr(json, "\"rule\":\"VIP\",\"file\":\"t.rules\",\"line\":1") != NULL,
       "JSON names rule, file, line: %s", json);
    free(json);
    char *explained = hg_rules_explain(r, &in);
    ok(strstr(explained, "t.rules:1 rule \"VIP\"") != NULL, "explanation names the rule");
    ok(strstr(explained, "yes customer.tier is vip   [\"vip\"]") != NULL,
       "explanation shows the test and value");
    ok(strstr(explained, "matched: route L2, priority high, queue vip") != NULL,
       "explanation lists the actions");
    free(explained);
    hg_rules_free(&r);
    hg_rules_errors_free(&errors);

    /* No rules at all: the default. */
    hg_rules_evaluate(NULL, &in, &res);
    ok(res.tier == HG_TIER_L1 && strcmp(res.tier_origin.rule, "default") == 0 && strcmp(res.sla, "L1") == 0,
       "without rules every ticket goes to L1 by default");
    explained = hg_rules_explain(NULL, &in);
    ok(strstr(explained, "the default") != NULL, "explaining no rules says the default applied");
    free(explained);
}

static void test_errors_inline(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"rule \"a\" when subjekt is x then stop end",
         "t.rules:1:15: unknown field \"subjekt\"\n  hint: did you mean "
         "\"subject\"?\n"},
        {"rule \"a\" when header.X-A is x then stop end\nrule \"a\" then stop end",
         "t.rules:2:6: a second rule named \"a\"\n  hint: the first is on line 1; give each rule its own "
         "name\n"},
        {"rule \"a\" then stp end", "t.rules:1:15: unknown action \"stp\"\n  hint: did you mean \"stop\"?\n"},
        {"rule \"a\" when subject matches /a(b/ then stop end",
         "t.rules:1:35: regular expression: missing closing parenthesis\n  hint: the syntax is PCRE2's, see "
         "pcre2pattern(3)\n"},
        {"list a = x\nlist a = y\n", "t.rules:2:6: a second list named \"a\"\n"},
        {"rule \"a\" then route L2",
         "t.rules:1: rule \"a\" has no \"end\"\n  hint: close every rule with \"end\"\n"},
        {"timezone \"Mars/Olympus\"\n", "t.rules:1:10: unknown time zone \"Mars/Olympus\": no such file\n  "
                                        "hint: time zones are the names in "
                                        "/usr/share/zoneinfo (package tzdata)\n"},
        {"timezone \"../etc/passwd\"\n",
         "t.rules:1:10: \"../etc/passwd\" is not a time zone name\n  hint: write an "
         "IANA name such as \"Europe/Berlin\" or \"UTC\"\n"},
        {"list l = file \"no-such-file.txt\"\n",
         "t.rules:1:15: list file \"no-such-file.txt\": no such file\n"},
        {"rule \"a\" when subject is \"\xff\" then stop end",
         "t.rules:1:27: this is not UTF-8\n  hint: save the file as "
         "UTF-8 text\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = rules_errors_of(cases[i].text, strlen(cases[i].text), "t.rules", ".");
        is_str(got, cases[i].want, one_line(cases[i].text));
        free(got);
    }
}

static void test_limits_and_hostile_input(void)
{
    /* Deep nesting is refused, not a stack overflow. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 64);
    size_t n = (size_t)sprintf(deep, "rule \"a\" when ");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '(';
    strcpy(deep + n, "subject is a then stop end");
    char *got = rules_errors_of(deep, strlen(deep), "t.rules", ".");
    ok(strstr(got, "nested more than 64 deep") != NULL, "100,000 parentheses: one clear error");
    free(got);
    n = (size_t)sprintf(deep, "rule \"a\" when ");
    for (size_t i = 0; i < 70; i++)
        n += (size_t)sprintf(deep + n, "not ");
    strcpy(deep + n, "subject is a then stop end");
    got = rules_errors_of(deep, strlen(deep), "t.rules", ".");
    ok(strstr(got, "nested more than 64 deep") != NULL, "70 nots: nested too deep");
    free(got);
    free(deep);

    /* Too many errors stop at a hundred and say so. */
    char *many = malloc(200 * 48);
    n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(many + n, "rule \"r%d\"\n  then bogus\nend\n", i);
    got = rules_errors_of(many, strlen(many), "t.rules", ".");
    ok(strstr(got, "too many errors") != NULL, "200 bad lines: stops after 100 errors");
    free(got);
    free(many);

    /* A list of 20,000 domains uses a sorted set; 2,000 keywords compile into one pattern. */
    size_t cap = 20000 * 32 + 4096;
    char *big = malloc(cap);
    n = (size_t)sprintf(big, "list d = ");
    for (int i = 0; i < 20000; i++)
        n += (size_t)sprintf(big + n, "%s\"d%05d.example\"", i ? ", " : "", i);
    n += (size_t)sprintf(big + n, "\nlist k = ");
    for (int i = 0; i < 2000; i++)
        n += (size_t)sprintf(big + n, "%s\"word%d\"", i ? ", " : "", i);
    sprintf(big + n, "\nrule \"a\" when from.domain in @d then tag domain end\n"
                     "rule \"b\" when subject contains @k then tag word end\n");
    char *r1 = route(big, "x@D19999.example", "about word1999 today");
    is_str(r1, "L1 ack=default #domain #word", "20,000 domains and 2,000 keywords");
    free(r1);
    free(big);

    /* Arbitrary bytes never crash the parser; the lexer always moves on. */
    unsigned seed = 12345;
    size_t parsed = 0;
    for (int round = 0; round < 2000; round++) {
        char buf[256];
        size_t len = (size_t)(rand_r(&seed) % 255);
        static const char alphabet[] =
            "rule \"x\" when then end ()[],@/=!<>subject is contains not and or L2 \n#\\";
        for (size_t i = 0; i < len; i++)
            buf[i] =
                round % 2 ? (char)(rand_r(&seed) & 0xff) : alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        struct hg_rules_errors errors;
        hg_rules_errors_init(&errors);
        struct hg_rules *r = hg_rules_parse(buf, len, "fuzz", NULL, NULL, &errors);
        if (r != NULL) {
            parsed++;
            struct hg_rules_input in = {.subject = "x"};
            struct hg_rules_result res;
            hg_rules_evaluate(r, &in, &res);
        }
        hg_rules_free(&r);
        hg_rules_errors_free(&errors);
    }
    ok(true, "2,000 random inputs parsed without a crash (%zu were valid)", parsed);

    struct hg_rules_limits lim = {.max_file_size = 10};
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    struct hg_rules *r = hg_rules_parse("rule \"a\" then stop end", 22, "t.rules", NULL, &lim, &errors);
    ok(r == NULL && errors.count == 1 && strstr(errors.items[0].message, "larger than 10 bytes") != NULL,
       "a file over max_file_size is refused");
    hg_rules_errors_free(&errors);
}

/* Naive ASCII case-insensitive substring search: the reference for the keyword automaton. */
static bool naive_contains(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; *p != '\0'; p++)
        if (strncasecmp(p, word, n) == 0)
            return true;
    return false;
}

/* `contains` with ASCII keywords runs on an Aho-Corasick automaton: it must agree with a naive search. */
static void test_keyword_automaton(void)
{
    unsigned seed = 4242;
    static const char *const alphabet[] = {"a", "b", "A", "B", ".", "-", "(", " ", "\xc3\xa4"};
    size_t disagreements = 0, holds = 0;
    for (int round = 0; round < 300; round++) {
        char words[4][8], text[64];
        char rules[512];
        size_t n = (size_t)sprintf(rules, "rule \"k\" when subject contains [");
        for (int w = 0; w < 4; w++) {
            int len = 1 + rand_r(&seed) % 4;
            for (int i = 0; i < len; i++)
                words[w][i] = "abAB.-("[rand_r(&seed) % 7];
            words[w][len] = '\0';
            if (w == 3 && round % 3 == 0)
                strcpy(words[w],
                       "\xc3\xa4"); /* a non-ASCII keyword: the list is split between automaton and regex */
            n += (size_t)sprintf(rules + n, "%s\"%s\"", w ? ", " : "", words[w]);
        }
        sprintf(rules + n, "] then route L2 end\nrule \"k2\" when reply contains \"%s\" then tag r end\n",
                words[0]);
        int pieces = rand_r(&seed) % 30;
        text[0] = '\0';
        for (int i = 0; i < pieces; i++)
            strcat(text, alphabet[rand_r(&seed) % (sizeof alphabet / sizeof alphabet[0])]);
        bool want = false;
        for (int w = 0; w < 4; w++)
            want = want || naive_contains(text, words[w]);
        char *got = route(rules, "x@example.com", text);
        bool have = strncmp(got, "L2", 2) == 0;
        holds += have;
        if (have != want) {
            disagreements++;
            printf("# automaton says %d, naive search %d: text \"%s\" in %s", have, want, text, rules);
        }
        free(got);
    }
    ok(disagreements == 0 && holds > 20 && holds < 280,
       "the keyword automaton agrees with a naive search on 300 random cases (%zu held)", holds);
}

int main(void)
{
    check_error_files("errors", 2);
    test_eval_files();
    test_documented_example();
    test_operators();
    test_order_and_actions();
    test_result_details();
    test_errors_inline();
    test_limits_and_hostile_input();
    test_keyword_automaton();
    return tap_done();
}
