/*
 * mail.h — normalize one email message into the record the rest of helpgate trusts.
 *
 * hg_mail_parse() takes the raw bytes of a message as it came from IMAP (CRLF
 * or LF, any client, any charset, possibly broken) and returns one struct
 * hg_mail: threading ids, decoded addresses and subject, the main body as
 * UTF-8 text (HTML rendered to text as well), the new words of a reply,
 * every other part as an attachment with its decoded bytes and SHA-256, a
 * ticket tag, an auto-submitted/bounce/list/bulk verdict, and the list of
 * repairs that were needed.
 *
 * Errors: there are none. Every input, including an empty one, yields a
 * record; what had to be repaired or was cut by a limit is listed in
 * warnings, each "code: detail" (codes are stable, details are for people).
 * Limits keep the time and memory of any input bounded.
 *
 * Strings: every char * in the record is valid UTF-8, NUL-terminated and
 * holds no NUL, or is NULL where documented. Text uses LF line ends.
 *
 * Ownership: the record and everything it points to (strings, arrays,
 * attachment bytes) belong to it; hg_mail_free(&m) releases all of it and
 * sets m to NULL. Treat the record as read-only. hg_mail_to_json() returns a
 * new string the caller frees with free(). The raw input is not referenced
 * after hg_mail_parse() returns.
 *
 * Pure: no I/O, no clock, no logging, no global state; safe to call from
 * several threads at once.
 */
#ifndef HELPGATE_MAIL_H
#define HELPGATE_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every field 0 (or NULL) means the default shown. */
struct hg_mail_limits {
    size_t max_message_size;       /* bytes of input examined; the rest is ignored (64 MiB) */
    unsigned max_depth;            /* nesting of multipart and message/rfc822 parts (20, at most 100) */
    unsigned max_parts;            /* MIME parts examined (500) */
    size_t max_header_size;        /* bytes of one header block (256 KiB) */
    size_t max_part_size;          /* decoded bytes kept of one part (32 MiB) */
    size_t max_body_size;          /* bytes of body_text and of body_html (4 MiB) */
    const char *ticket_tag_prefix; /* what stands between "[" and the number: "#" gives [#1234] */
    const char *support_address;   /* "support@example.com": only its plus-addresses give a tag
                                      (NULL: a plus-address of any recipient does) */
};

struct hg_mail_address {
    char *name;  /* decoded display name, or NULL when there is none */
    char *email; /* addr-spec as written, domain lower-cased ("" when the header had none) */
};

struct hg_mail_address_list {
    struct hg_mail_address *items;
    size_t count;
};

struct hg_mail_attachment {
    char *filename;      /* decoded, without directories, or NULL */
    char *content_type;  /* lower-case "type/subtype" */
    char *content_id;    /* without the angle brackets, or NULL */
    bool is_inline;      /* Content-Disposition: inline, or referenced by Content-ID */
    bool truncated;      /* max_part_size was reached: data holds the first bytes only */
    unsigned char *data; /* the decoded bytes (transfer encoding removed) */
    size_t size;         /* bytes in data */
    char sha256[65];     /* hex SHA-256 of data */
};

struct hg_mail_header {
    char *name;  /* as written (printable ASCII) */
    char *value; /* unfolded, RFC 2047 words decoded, blanks collapsed */
};

/* At most this many header fields are kept in struct hg_mail.headers (the first ones). */
#define HG_MAIL_MAX_HEADERS 200

enum hg_mail_auto {
    HG_MAIL_AUTO_NONE = 0, /* written by a person, as far as the headers tell */
    HG_MAIL_AUTO_AUTOREPLY,
    HG_MAIL_AUTO_BOUNCE,
    HG_MAIL_AUTO_LIST,
    HG_MAIL_AUTO_BULK,
};

struct hg_mail {
    char *message_id;          /* without <>; never NULL: made from a hash when missing */
    bool message_id_generated; /* true when message_id was made up */
    char *date;                /* "2024-06-03T08:15:00Z" (UTC), or NULL */
    int64_t date_epoch;        /* seconds since 1970 UTC, valid when date != NULL */
    char *in_reply_to;         /* without <>, or NULL */
    char **references;         /* without <>, oldest first */
    size_t n_references;

    struct hg_mail_address *from;   /* or NULL */
    struct hg_mail_address *sender; /* Sender:, or NULL */
    struct hg_mail_address_list reply_to;
    struct hg_mail_address_list to;
    struct hg_mail_address_list cc;
    char *delivered_to;             /* Delivered-To / X-Original-To / Envelope-To address, or NULL */
    struct hg_mail_header *headers; /* the message's own header fields, in order (not in JSON) */
    size_t n_headers;

    char *subject;      /* decoded, whitespace collapsed; "" when absent */
    char *content_type; /* "text/plain" or "text/html": the part chosen as main body; NULL if none */
    char *body_text;    /* UTF-8 text of the main body (HTML rendered); "" when none */
    size_t body_text_len;
    char *body_html; /* the HTML body as UTF-8, or NULL */
    size_t body_html_len;
    char *reply_text; /* body_text without quoted history and signature */

    struct hg_mail_attachment *attachments;
    size_t n_attachments;

    char *ticket_tag; /* digits of a ticket number from the subject or a plus-address, or NULL */
    enum hg_mail_auto auto_kind;
    char *auto_reason; /* the header or sign that decided auto_kind, or NULL */

    char **warnings; /* "code: detail" */
    size_t n_warnings;
};

/*
 * Parses RAW (LEN bytes, need not be NUL-terminated; NULL with LEN 0 is an
 * empty message). LIMITS may be NULL for all defaults. Never returns NULL.
 */
struct hg_mail *hg_mail_parse(const char *raw, size_t len, const struct hg_mail_limits *limits);

void hg_mail_free(struct hg_mail **m);

/* "autoreply", "bounce", "list", "bulk", or NULL for HG_MAIL_AUTO_NONE. */
const char *hg_mail_auto_name(enum hg_mail_auto kind);

/*
 * The record as one JSON object (UTF-8, no trailing newline); PRETTY indents
 * it by two spaces. Fields: message_id, message_id_generated, date,
 * in_reply_to, references[], from, sender, reply_to[], to[], cc[],
 * delivered_to, subject, content_type, body_text, body_html, reply_text,
 * attachments[] {filename, content_type, size, content_id, inline, sha256,
 * truncated}, ticket_tag, auto {kind, reason} or null, warnings[]. Addresses
 * are {name, email}; absent values are null. The caller frees the string.
 */
char *hg_mail_to_json(const struct hg_mail *m, bool pretty);

#endif
