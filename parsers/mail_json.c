/*
 * mail_json.c — the normalized record as one JSON object (see mail.h for the fields).
 *
 * Every string in the record is already valid UTF-8, so jansson accepts it;
 * should it ever refuse one, the field becomes "" rather than the output
 * becoming invalid or empty.
 */
#include "mail_internal.h"

#include "helpgate/alloc.h"

#include <jansson.h>

#include <string.h>
#include <stdlib.h>

static json_t *string_or_null(const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *j = json_string(s);
    return j != NULL ? j : json_string("");
}

static json_t *text(const char *s, size_t len)
{
    if (s == NULL)
        return json_null();
    json_t *j = json_stringn(s, len);
    return j != NULL ? j : json_string("");
}

static json_t *address(const struct hg_mail_address *a)
{
    if (a == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "name", string_or_null(a->name));
    json_object_set_new(o, "email", string_or_null(a->email));
    return o;
}

static json_t *address_list(const struct hg_mail_address_list *list)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(arr, address(&list->items[i]));
    return arr;
}

static json_t *string_array(char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, string_or_null(items[i]));
    return arr;
}

static json_t *attachments(const struct hg_mail *m)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < m->n_attachments; i++) {
        const struct hg_mail_attachment *a = &m->attachments[i];
        json_t *o = json_object();
        json_object_set_new(o, "filename", string_or_null(a->filename));
        json_object_set_new(o, "content_type", string_or_null(a->content_type));
        json_object_set_new(o, "size", json_integer((json_int_t)a->size));
        json_object_set_new(o, "content_id", string_or_null(a->content_id));
        json_object_set_new(o, "inline", json_boolean(a->is_inline));
        json_object_set_new(o, "sha256", string_or_null(a->sha256));
        json_object_set_new(o, "truncated", json_boolean(a->truncated));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *auto_verdict(const struct hg_mail *m)
{
    const char *kind = hg_mail_auto_name(m->auto_kind);
    if (kind == NULL)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "reason", string_or_null(m->auto_reason));
    return o;
}

char *hg_mail_to_json(const struct hg_mail *m, bool pretty)
{
    json_t *o = json_object();
    json_object_set_new(o, "message_id", string_or_null(m->message_id));
    json_object_set_new(o, "message_id_generated", json_boolean(m->message_id_generated));
    json_object_set_new(o, "date", string_or_null(m->date));
    json_object_set_new(o, "in_reply_to", string_or_null(m->in_reply_to));
    json_object_set_new(o, "references", string_array(m->references, m->n_references));
    json_object_set_new(o, "from", address(m->from));
    json_object_set_new(o, "sender", address(m->sender));
    json_object_set_new(o, "reply_to", address_list(&m->reply_to));
    json_object_set_new(o, "to", address_list(&m->to));
    json_object_set_new(o, "cc", address_list(&m->cc));
    json_object_set_new(o, "delivered_to", string_or_null(m->delivered_to));
    json_object_set_new(o, "subject", string_or_null(m->subject));
    json_object_set_new(o, "content_type", string_or_null(m->content_type));
    json_object_set_new(o, "body_text", text(m->body_text, m->body_text_len));
    json_object_set_new(o, "body_html", text(m->body_html, m->body_html_len));
    json_object_set_new(o, "reply_text", string_or_null(m->reply_text));
    json_object_set_new(o, "attachments", attachments(m));
    json_object_set_new(o, "ticket_tag", string_or_null(m->ticket_tag));
    json_object_set_new(o, "auto", auto_verdict(m));
    json_object_set_new(o, "warnings", string_array(m->warnings, m->n_warnings));

    size_t flags = JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
    char *out = json_dumps(o, flags);
    json_decref(o);
    /* jansson allocates with malloc() unless json_set_alloc_funcs() says otherwise; helpgate never does */
    return out != NULL ? out : hg_xstrdup("{}");
}
