/*
 * fuzz_agent_command.c — libFuzzer target for hg_agent_reply_parse (agent_command.h).
 *
 * Besides crashes, leaks and timeouts (the work must stay linear), it aborts
 * when a result breaks a promise of the header: exactly one of a record and
 * an error message; the message ends with the list of commands; the text is
 * never longer than the input, has no leading or trailing newline and no
 * carriage return at a line end; relay is set exactly when there is text
 * and no #note; a #note always has text; the fields agree with the command
 * list; an input without a number sign has no command and no error; the
 * same input gives the same result; and an answer without commands and
 * NUL bytes reads the same when its text is parsed again.
 * Seeds: tests/fuzz/seeds/agent_command/.
 */
#include "helpgate/agent_command.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char commands_sentence[] = "#pending, #close.";

static bool has_number_sign(const char *s, size_t len)
{
    if (memchr(s, '#', len) != NULL)
        return true;
    for (size_t i = 0; i + 2 < len; i++)
        if (memcmp(s + i, "\xEF\xBC\x83", 3) == 0)
            return true;
    return false;
}

static void check_text(const struct hg_agent_reply *r, size_t input_len)
{
    size_t len = strlen(r->text);
    if (len > input_len)
        abort();
    if (len > 0 && (r->text[0] == '\n' || r->text[len - 1] == '\n' || r->text[len - 1] == '\r'))
        abort();
    if (strstr(r->text, "\r\n") != NULL)
        abort();
    if (r->relay != (!r->note && len > 0))
        abort();
    if (r->note && len == 0)
        abort();
}

static void check_fields(const struct hg_agent_reply *r)
{
    bool note = false;
    unsigned tier = 0;
    enum hg_agent_status status = HG_AGENT_STATUS_UNCHANGED;
    if (r->n_commands > HG_AGENT_MAX_COMMANDS)
        abort();
    for (size_t i = 0; i < r->n_commands; i++) {
        const struct hg_agent_command *c = &r->commands[i];
        if (c->line == 0 || (c->kind == HG_AGENT_TIER) != (c->tier >= 1 && c->tier <= 3))
            abort();
        note = note || c->kind == HG_AGENT_NOTE;
        tier = c->kind == HG_AGENT_TIER ? c->tier : tier;
        if (c->kind == HG_AGENT_PENDING)
            status = HG_AGENT_STATUS_PENDING;
        if (c->kind == HG_AGENT_CLOSE)
            status = HG_AGENT_STATUS_CLOSED;
    }
    if (note != r->note || tier != r->tier || status != r->status)
        abort();
}

static bool same(const struct hg_agent_reply *a, const struct hg_agent_reply *b)
{
    return a->n_commands == b->n_commands &&
           memcmp(a->commands, b->commands, a->n_commands * sizeof a->commands[0]) == 0 &&
           a->note == b->note && a->tier == b->tier && a->status == b->status && a->relay == b->relay &&
           strcmp(a->text, b->text) == 0;
}

/* Parsing the text of an answer without commands again changes nothing. */
static void check_reparse(const struct hg_agent_reply *r)
{
    struct hg_agent_reply *again = NULL;
    char *error = NULL;
    if (hg_agent_reply_parse(r->text, strlen(r->text), &again, &error) != 0)
        abort();
    if (again->n_commands != 0 || strcmp(again->text, r->text) != 0)
        abort();
    hg_agent_reply_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct hg_agent_reply *r = NULL, *r2 = NULL;
    char *error = NULL, *error2 = NULL;
    int rc = hg_agent_reply_parse(text, size, &r, &error);
    int rc2 = hg_agent_reply_parse(text, size, &r2, &error2);
    if (rc != rc2 || (rc == 0) != (r != NULL) || (rc == 0) == (error != NULL))
        abort();
    if (rc != 0) {
        size_t n = strlen(error);
        if (n < sizeof commands_sentence ||
            strcmp(error + n - (sizeof commands_sentence - 1), commands_sentence) ||
            strcmp(error, error2) != 0 || !has_number_sign(text, size))
            abort();
        free(error);
        free(error2);
        return 0;
    }
    check_text(r, size);
    check_fields(r);
    if (!same(r, r2) || (!has_number_sign(text, size) && r->n_commands != 0))
        abort();
    if (r->n_commands == 0 && memchr(text, '\0', size) == NULL)
        check_reparse(r);
    hg_agent_reply_free(&r);
    hg_agent_reply_free(&r2);
    return 0;
}
