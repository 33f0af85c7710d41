/*
 * mail_internal.h — what the files of the mail normalizer share; not a public API.
 *
 * The normalizer is split by concern: mail.c walks the MIME structure and
 * builds the record, mail_header.c splits header blocks and decodes RFC 2047
 * words and RFC 2045/2231 parameters, mail_address.c reads addresses and
 * message ids, mail_date.c dates, mail_decode.c transfer encodings and text
 * clean-up, mail_auto.c the auto-submitted verdict and the ticket tag,
 * mail_json.c the JSON form. Everything here is pure; strings handed back
 * are new allocations the caller frees unless said otherwise.
 */
#ifndef HELPGATE_MAIL_INTERNAL_H
#define HELPGATE_MAIL_INTERNAL_H

#include "helpgate/mail.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ warnings */

#define HG_MAIL_MAX_WARNINGS 64

struct mail_warnings {
    char **items;
    size_t count;
    size_t dropped; /* warnings beyond HG_MAIL_MAX_WARNINGS */
};

/* Adds "CODE: detail" unless the same text is already there. */
void hg_mail_warn(struct mail_warnings *w, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies untrusted bytes for a warning: printable ASCII only, at most 40 characters. */
void hg_mail_quote(char *out, size_t size, const char *s, size_t len);
/* The value of one hex digit (either case), or -1 (QP, RFC 2047 Q, RFC 2231 %XX). */
int hg_mail_hex_value(char c);

/* ------------------------------------------------------------ header blocks */

struct mail_header {
    const char *name; /* points into the message; not NUL-terminated */
    size_t name_len;
    const char *value; /* raw value, still folded, leading blanks skipped */
    size_t value_len;
};

struct mail_headers {
    struct mail_header *items;
    size_t count;
    size_t cap;
};

enum mail_header_issue {
    HDR_NO_BLANK_LINE = 1 << 0, /* the block ended at a line that is no header */
    HDR_TRUNCATED = 1 << 1,     /* the block passed the size or field limit */
    HDR_MBOX_FROM = 1 << 2,     /* an mbox "From " line was skipped */
    HDR_BAD_FOLDING = 1 << 3,   /* a continuation line without leading blank was joined */
    HDR_GARBAGE = 1 << 4,       /* lines that are no header were skipped */
};

/*
 * Splits the header block at the start of P (LEN bytes) into HEADERS (which
 * the caller initialises to zero and frees with hg_mail_headers_free()).
 * Returns the offset of the body. ISSUES_R collects enum mail_header_issue bits.
 */
size_t hg_mail_headers_parse(const char *p, size_t len, size_t max_bytes, struct mail_headers *headers,
                             unsigned *issues_r);
void hg_mail_headers_free(struct mail_headers *headers);
/* The first header named NAME (case-insensitive), or NULL. */
const struct mail_header *hg_mail_header_get(const struct mail_headers *headers, const char *name);
/* The value of H unfolded (CR and LF removed) as a new string; "" for NULL. */
char *hg_mail_header_unfold(const struct mail_header *h);

/* ------------------------------------------------------------ encoded words */

/*
 * Decodes RFC 2047 encoded words in S (LEN bytes), joining adjacent ones and
 * repairing broken ones; raw 8-bit text is taken as UTF-8 when valid, else
 * read in FALLBACK_CHARSET (NULL: windows-1252). Returns UTF-8; warnings name
 * WHERE ("subject", "from", ...).
 */
char *hg_mail_decode_words(const char *s, size_t len, const char *fallback_charset, struct mail_warnings *w,
                           const char *where);
/* Replaces control characters with spaces, collapses blank runs into one space and trims, in place. */
void hg_mail_collapse_spaces(char *s);
/*
 * If S (LEN bytes) holds an encoded word starting at offset I, its end offset;
 * else 0. *CACHE starts as (size_t)-1 and is kept between calls on one S with
 * growing I, which keeps a scan over many "=?" linear.
 */
size_t hg_mail_encoded_word_end(const char *s, size_t len, size_t i, size_t *cache);

/* ------------------------------------------------------------ MIME parameters */

struct mail_param {
    char *name;  /* lower-case, without RFC 2231 "*N*" */
    char *value; /* unquoted bytes as written (RFC 2231 sections joined and %XX decoded) */
    size_t value_len;
    char *charset; /* RFC 2231 charset, or NULL */
};

struct mail_content {
    char *type;    /* lower-case: "text", or "" when it could not be read */
    char *subtype; /* lower-case: "plain" */
    struct mail_param *params;
    size_t n_params;
};

/*
 * Reads a Content-Type (or, with DISPOSITION true, a Content-Disposition,
 * whose single token lands in type) value, forgiving missing semicolons and
 * quotes. Returns false when not even a type could be read.
 */
bool hg_mail_content_parse(const char *value, size_t len, bool disposition, struct mail_content *c,
                           struct mail_warnings *w, const char *where);
void hg_mail_content_free(struct mail_content *c);
const struct mail_param *hg_mail_param_get(const struct mail_content *c, const char *name);
/* A parameter as decoded UTF-8 text (RFC 2231 charset or RFC 2047 words), or NULL when absent. */
char *hg_mail_param_text(const struct mail_content *c, const char *name, const char *fallback_charset,
                         struct mail_warnings *w, const char *where);

/* ------------------------------------------------------------ addresses and ids */

#define HG_MAIL_MAX_ADDRESSES 1000
#define HG_MAIL_MAX_REFERENCES 500

/* Appends the addresses of a From/To/Cc-style VALUE to LIST. */
void hg_mail_parse_addresses(const char *value, size_t len, const char *fallback_charset,
                             struct hg_mail_address_list *list, struct mail_warnings *w, const char *where);
void hg_mail_address_list_free(struct hg_mail_address_list *list);
void hg_mail_address_free(struct hg_mail_address *a);

/* The first message id of VALUE without <>, or NULL. */
char *hg_mail_first_msgid(const char *value, size_t len);
/* Every message id of VALUE, in order, without duplicates; returns the count. */
size_t hg_mail_msgids(const char *value, size_t len, char ***ids_r, struct mail_warnings *w);

/* ------------------------------------------------------------ dates */

/* Parses an RFC 5322 (or sloppier) date; *ZONE_GUESSED_R is set when it had no readable time zone. */
bool hg_mail_parse_date(const char *value, size_t len, int64_t *epoch_r, bool *zone_guessed_r);
/* "YYYY-MM-DDTHH:MM:SSZ" */
void hg_mail_format_date(int64_t epoch, char out[32]);

/* ------------------------------------------------------------ transfer encodings and text */

enum mail_encoding {
    ENC_7BIT,
    ENC_8BIT,
    ENC_BINARY,
    ENC_BASE64,
    ENC_QP,
    ENC_UUENCODE,
};

/* Reads a Content-Transfer-Encoding value; *KNOWN_R is false for a value it had to guess. */
enum mail_encoding hg_mail_encoding_parse(const char *value, size_t len, bool *known_r);

struct decoded {
    unsigned char *data; /* new buffer, NUL-terminated */
    size_t len;
    bool truncated; /* MAX was reached */
    size_t bad;     /* characters that were not valid in the encoding */
};

/* Removes the transfer encoding of IN, keeping at most MAX bytes. */
void hg_mail_decode_transfer(enum mail_encoding enc, const char *in, size_t len, size_t max,
                             struct decoded *out);
/* Decodes one RFC 2047 "B" payload; bytes go to OUT (which needs len*3/4+3 bytes); returns their count. */
size_t hg_mail_base64_decode_into(const char *in, size_t len, unsigned char *out, size_t *bad_r);

/*
 * Cleans decoded UTF-8 text: CRLF and lone CR become LF, NUL is dropped,
 * format=flowed lines are joined (FLOWED, DELSP; RFC 3676), trailing blank
 * space at the end is trimmed. Returns a new string of *LEN_R bytes.
 */
char *hg_mail_clean_text(const char *text, size_t len, bool flowed, bool delsp, size_t *len_r);

/* ------------------------------------------------------------ auto-submitted and ticket tag */

struct mail_auto_input {
    const struct mail_headers *headers;
    const struct hg_mail *mail;  /* from, subject already filled in */
    bool delivery_status_report; /* multipart/report; report-type=delivery-status or a delivery-status part */
    bool disposition_notification;
    bool feedback_report; /* ARF: report-type=feedback-report or a message/feedback-report part */
};

/* Sets mail->auto_kind and mail->auto_reason. */
void hg_mail_classify_auto(const struct mail_auto_input *in, struct hg_mail *mail);

/* The ticket number tagged in SUBJECT ("[#1234]", "[Ticket#1234]", "[PREFIX1234]"), or NULL. */
char *hg_mail_ticket_from_subject(const char *subject, const char *prefix);
/* The ticket number in the plus part of EMAIL ("support+1234@", "support+t1234.sig@"), or NULL. */
char *hg_mail_ticket_from_address(const char *email, const char *support_address);

/* ------------------------------------------------------------ winmail.dat (mail_tnef.c) */

struct tnef_file {
    char *title;               /* attAttachTitle as UTF-8, or NULL */
    char *long_name;           /* PR_ATTACH_LONG_FILENAME, or NULL */
    char *mime_tag;            /* PR_ATTACH_MIME_TAG, or NULL */
    const unsigned char *data; /* inside the TNEF stream */
    size_t len;
};

struct tnef {
    struct tnef_file *files;
    size_t n_files;
    const unsigned char *body; /* attBody (plain text in the OEM code page), or NULL */
    size_t body_len;
    uint32_t codepage; /* attOemCodepage, 0 when absent */
    bool capped;       /* more files than allowed */
    bool malformed;    /* the stream ended early or was inconsistent */
};

/* Unpacks a TNEF stream; true when it held a file or a body. Free T with hg_mail_tnef_free() either way. */
bool hg_mail_tnef_decode(const unsigned char *data, size_t len, size_t max_files, struct tnef *t);
void hg_mail_tnef_free(struct tnef *t);

/* ------------------------------------------------------------ the parse in progress */

enum part_kind {
    PART_LEAF,
    PART_MULTIPART,
    PART_MESSAGE, /* the top-level message/rfc822 wrapper whose one child is the inner message */
};

struct mail_part {
    int parent, first_child, next_sibling; /* indexes into ctx->parts, -1 for none */
    unsigned depth;
    unsigned number; /* 1-based position among its siblings */
    enum part_kind kind;
    char *type, *subtype;     /* lower-case, never NULL */
    struct mail_content ct;   /* Content-Type parameters */
    char *disposition;        /* "inline", "attachment", ... or NULL */
    struct mail_content disp; /* Content-Disposition parameters */
    enum mail_encoding encoding;
    char *content_id; /* without <>, or NULL */
    const char *body; /* raw body, inside the input */
    size_t body_len;
    bool used; /* taken as (part of) the main body */
};

struct mail_ctx {
    struct hg_mail_limits lim; /* every field set */
    struct hg_mail *mail;
    struct mail_warnings warnings;
    struct mail_part *parts;
    size_t n_parts, cap_parts;
    bool parts_capped;
    const char *fallback_charset; /* the top-level charset, for raw 8-bit headers; or NULL */
    bool delivery_status;         /* a delivery-status report was seen */
    bool disposition_notification;
    bool feedback_report;
    /*
     * When bare CR line ends were repaired, the parts point into a copy of the
     * input with each lone CR turned into LF (same length); ORIGINAL is the
     * input as given, so that a binary part can take its bytes unchanged.
     */
    const char *original, *repaired;
};

/* mail_mime.c: parses the entity at P (LEN bytes) and everything inside it into ctx->parts. */
void hg_mail_walk(struct mail_ctx *c, const char *p, size_t len, const struct mail_headers *root_headers,
                  size_t root_body);
/* "part 1.2" or "message", for warnings. */
void hg_mail_part_name(const struct mail_ctx *c, int idx, char *out, size_t size);
void hg_mail_parts_free(struct mail_ctx *c);

/* mail_body.c: chooses and decodes the main body, then makes every other part an attachment. */
void hg_mail_extract_body(struct mail_ctx *c);
void hg_mail_extract_attachments(struct mail_ctx *c);

#endif
