/*
 * fuzz_mime.c — libFuzzer target for the mail normalizer (hg_mail_parse and hg_mail_to_json).
 *
 * Every input must yield a record whose strings are valid UTF-8 without
 * NUL, whose JSON form parses, and that frees cleanly; anything else aborts.
 * One input in four is parsed under tiny limits so that the cap paths
 * (depth, parts, header, part and body sizes) are fuzzed too.
 * Seeds: tests/fuzz/seeds/mime/, a copy of the .eml files of tests/data/mail/.
 */
#include "helpgate/charset.h"
#include "helpgate/mail.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond)
        abort();
}

static void require_text(const char *s)
{
    if (s != NULL)
        require(hg_utf8_valid(s, strlen(s)));
}

static void require_address(const struct hg_mail_address *a)
{
    if (a == NULL)
        return;
    require(a->email != NULL);
    require_text(a->name);
    require_text(a->email);
}

static void check_record(const struct hg_mail *m)
{
    require(m->message_id != NULL && m->subject != NULL && m->body_text != NULL && m->reply_text != NULL);
    require_text(m->message_id);
    require_text(m->subject);
    require_text(m->reply_text);
    require(strlen(m->body_text) == m->body_text_len && hg_utf8_valid(m->body_text, m->body_text_len));
    if (m->body_html != NULL)
        require(strlen(m->body_html) == m->body_html_len && hg_utf8_valid(m->body_html, m->body_html_len));
    require_address(m->from);
    require_address(m->sender);
    const struct hg_mail_address_list *lists[] = {&m->to, &m->cc, &m->reply_to};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < lists[l]->count; i++)
            require_address(&lists[l]->items[i]);
    for (size_t i = 0; i < m->n_references; i++)
        require_text(m->references[i]);
    for (size_t i = 0; i < m->n_attachments; i++) {
        require_text(m->attachments[i].filename);
        require_text(m->attachments[i].content_type);
        require(strlen(m->attachments[i].sha256) == 64);
    }
    for (size_t i = 0; i < m->n_warnings; i++)
        require_text(m->warnings[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hg_mail_limits lim;
    memset(&lim, 0, sizeof lim);
    if (size > 0 && data[0] % 4 == 0) {
        lim.max_depth = 3;
        lim.max_parts = 8;
        lim.max_header_size = 512;
        lim.max_part_size = 256;
        lim.max_body_size = 128;
        lim.support_address = "support@example.com";
        lim.ticket_tag_prefix = "HD #";
    }
    struct hg_mail *m = hg_mail_parse((const char *)data, size, &lim);
    check_record(m);
    char *json = hg_mail_to_json(m, size % 2 == 0);
    require(json != NULL && hg_utf8_valid(json, strlen(json)));
    json_t *parsed = json_loads(json, 0, NULL);
    require(parsed != NULL && json_is_object(parsed));
    json_decref(parsed);
    free(json);
    hg_mail_free(&m);
    require(m == NULL);
    return 0;
}
