/*
 * fuzz_rules.c — libFuzzer target for the rules language (parsers/rules_*.c).
 *
 * Parses the input as a rules file (list files are a fixed small list, time
 * zones are refused), formats every error, and when the file is valid
 * evaluates and explains it on a message that touches every field, so the
 * compiled tests and the evaluator run too. A rule set comes back exactly
 * when there is no error. The first SLA policies get their due and warning
 * times, which must be in order, and the counted time up to a due time must
 * be its target. Seeds: tests/data/rules/ (sla/ too) and
 * tests/fuzz/seeds/rules/.
 */
#include "helpgate/rules.h"
#include "helpgate/sla.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_load(void *ctx, enum hg_rules_load_kind kind, const char *name, unsigned char **data_r,
                     size_t *len_r, char **error_r)
{
    (void)ctx;
    (void)name;
    if (kind == HG_RULES_LOAD_TIMEZONE) {
        *error_r = strdup("no time zones while fuzzing");
        return -1;
    }
    static const char list[] = "alpha\n# comment\n  beta  \n\ngamma.example\n";
    *data_r = malloc(sizeof list);
    memcpy(*data_r, list, sizeof list);
    *len_r = sizeof list - 1;
    return 0;
}

static void run(const struct hg_rules *rules)
{
    static const struct hg_rules_header headers[] = {
        {"X-Priority", "1"}, {"List-Id", "<a.b>"}, {"x-priority", "2"}};
    static const struct hg_rules_attachment attachments[] = {{"a.pdf", "application/pdf"},
                                                             {NULL, "image/png"}};
    struct hg_rules_input in = {
        .channel = "email",
        .from_email = "Ann@Alpha.example",
        .from_name = "Ann",
        .recipient = "support@example.com",
        .subject = "Outage: server is DOWN [#1234]",
        .body = "Hello,\nthe server is down.\n> quoted 503\n",
        .reply = "Hello,\nthe server is down.",
        .headers = headers,
        .n_headers = 3,
        .attachments = attachments,
        .n_attachments = 2,
        .customer_known = true,
        .customer_tier = "vip",
        .customer_custom_code = true,
        .customer_custom_code_notes = "notes",
        .customer_company = "Alpha",
        .customer_open_tickets = 3,
        .now = 1795000000,
    };
    struct hg_rules_result result;
    hg_rules_evaluate(rules, &in, &result);
    if (result.tier < HG_TIER_L1 || result.tier > HG_TIER_L3 || result.sla == NULL)
        abort();
    free(hg_rules_result_json(rules, &result));
    free(hg_rules_explain(rules, &in));
    for (size_t i = 0; i < hg_rules_sla_count(rules) && i < 8; i++) {
        const struct hg_sla_policy *p = hg_rules_sla_at(rules, i);
        struct hg_sla_times t;
        hg_sla_times_at(rules, p, in.now, &t);
        if (t.first_response_due < in.now || t.resolution_due < t.first_response_due ||
            (p->warn_secs > 0 && t.first_response_warn > t.first_response_due) ||
            (p->warn_secs == 0 && t.first_response_warn != HG_SLA_NEVER))
            abort();
        if (t.first_response_due != HG_SLA_NEVER &&
            hg_sla_counted(rules, p, in.now, t.first_response_due) != p->first_response_secs)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hg_rules_errors errors;
    hg_rules_errors_init(&errors);
    struct hg_rules_loader loader = {fuzz_load, NULL};
    struct hg_rules_limits limits = {.max_file_size = 1 << 20};
    struct hg_rules *rules =
        hg_rules_parse((const char *)data, size, "fuzz.rules", &loader, &limits, &errors);
    if ((rules == NULL) != (errors.count > 0))
        abort();
    for (size_t i = 0; i < errors.count; i++)
        free(hg_rules_error_format(&errors, i, "fuzz.rules"));
    if (rules != NULL)
        run(rules);
    hg_rules_free(&rules);
    hg_rules_errors_free(&errors);
    return 0;
}
