/*
 * outmail.h — compose the exact bytes of one outgoing message (RFC 5322 + MIME).
 *
 * helpgate sends three kinds of mail: acknowledgements to customers,
 * notifications to agents and agents' answers relayed to customers. The
 * outbox sender builds each one with hg_outmail_compose() and hands the
 * result to libcurl's SMTP upload unchanged.
 *
 * What comes out: CRLF line ends, 7-bit ASCII only, no line longer than 998
 * octets, header fields folded at 78 columns wherever there is a place to fold.
 * Display names, the subject and extra header values that hold non-ASCII
 * text are RFC 2047 encoded words (UTF-8, B or Q, whichever is shorter, each
 * at most 75 characters, never splitting a UTF-8 sequence); whitespace runs
 * in them become one space and they are trimmed. Bodies are
 * text/plain; charset=utf-8 (with a text/html alternative in
 * multipart/alternative when body_html is set), sent 7bit when every line is
 * printable ASCII of at most 78 octets, quoted-printable otherwise. The MIME
 * boundary is derived from the content (no randomness), so equal input gives
 * equal bytes.
 *
 * Header injection: never sanitized, always refused. Any header input (name,
 * address, subject, message id, extra header name or value) holding CR, LF
 * or another control character (TAB is allowed where blanks are) is an
 * error; so are invalid UTF-8, addresses without '@' or with characters
 * outside printable ASCII, malformed message ids, and extra headers that
 * would duplicate one composed here (Date, From, Sender, Reply-To, To, Cc,
 * Bcc, Subject, Message-ID, In-Reply-To, References, MIME-Version,
 * Auto-Submitted, Return-Path, Content-*). Bodies may hold any valid UTF-8:
 * LF, CRLF and a lone CR are line ends to readers, other controls are sent
 * quoted-printable encoded.
 *
 * SMTP transparency: a line starting with "." is left as it is. libcurl's SMTP
 * upload dot-stuffs the data itself: lib/smtp.c (Curl_smtp_escape_eob in 7.x,
 * the "cr-smtp-eob" reader in 8.x) doubles a "." that starts a line and
 * appends the CRLF.CRLF terminator, and libcurl 7.88.1 was seen sending
 * ".x" as "..x" and "." as ".." to a test server. So the caller must not
 * stuff again. The stuffing looks for CRLF, which is why every line ends in
 * CRLF here; the result always ends with CRLF.
 *
 * Ownership: the caller owns all input (only read during the call) and every
 * string returned (free()). Errors: -1 with *error_r, a one-line message
 * naming the field (quoted values are cut and made printable); nothing is
 * returned in the other out-parameters then. Pure: no I/O, clock or global
 * state; thread-safe.
 */
#ifndef HELPGATE_OUTMAIL_H
#define HELPGATE_OUTMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hg_outmail_address {
    const char *name;  /* display name (UTF-8), or NULL / "" for none */
    const char *email; /* addr-spec, ASCII: "ann@example.com" or "\"odd..\"@example.com" */
};

struct hg_outmail_header {
    const char *name;  /* printable ASCII without ':' ("X-Helpgate-Ticket") */
    const char *value; /* UTF-8 text ("1234"); non-ASCII words become encoded words */
};

struct hg_outmail {
    struct hg_outmail_address from; /* required */
    const struct hg_outmail_address *to;
    size_t n_to; /* at least 1 */
    const struct hg_outmail_address *cc;
    size_t n_cc;
    const struct hg_outmail_address *reply_to;
    size_t n_reply_to;
    const char *subject;           /* UTF-8, or NULL for an empty subject */
    int64_t date;                  /* seconds since 1970 UTC; written in "+0000", years up to 9999 */
    const char *message_id;        /* required, without <> (see hg_outmail_message_id()) */
    const char *in_reply_to;       /* without <>, or NULL */
    const char *const *references; /* without <>, oldest first */
    size_t n_references;
    const char *auto_submitted;              /* NULL, "auto-replied" or "auto-generated" (RFC 3834) */
    const struct hg_outmail_header *headers; /* extra fields, written in order after the others */
    size_t n_headers;
    const char *body_text; /* UTF-8, LF (or CRLF) line ends; NULL means "" */
    const char *body_html; /* UTF-8, or NULL for a text/plain message */
};

/* The size limit used when hg_outmail_compose() is given 0. */
#define HG_OUTMAIL_DEFAULT_MAX_SIZE ((size_t)10 << 20)

/*
 * Composes M into *DATA_R (NUL-terminated, *LEN_R bytes without the NUL).
 * MAX_SIZE bounds the result (0: HG_OUTMAIL_DEFAULT_MAX_SIZE); a bigger
 * message is an error. Headers are written in this order: Date, From,
 * Reply-To, To, Cc, Subject, Message-ID, In-Reply-To, References,
 * Auto-Submitted, the extra ones, MIME-Version, Content-Type,
 * Content-Transfer-Encoding.
 */
int hg_outmail_compose(const struct hg_outmail *m, size_t max_size, char **data_r, size_t *len_r,
                       char **error_r);

/*
 * 0 when EMAIL is an addr-spec hg_outmail_compose() accepts (also fit for an
 * SMTP envelope), else -1 with *error_r saying why.
 */
int hg_outmail_check_address(const char *email, char **error_r);

/*
 * True when ID (without <>) may be written as a message id: 1 to 250
 * printable ASCII characters, none of them '<', '>', '"', '\\', '(', ')' or
 * blank, with one '@' not at either end. Use it to drop odd ids that came in
 * with customers' mail before passing them as references.
 */
bool hg_outmail_msgid_valid(const char *id);

/*
 * "TOKEN@DOMAIN" (no brackets) into *ID_R. TOKEN is the caller's unique or
 * random part, made of letters, digits and "!#$%&'*+-/=?^_`{|}~." (no dot
 * at either end, no two dots in a row); DOMAIN is a host name. -1 with
 * *error_r when either is unfit or the id would pass 250 characters.
 */
int hg_outmail_message_id(const char *token, const char *domain, char **id_r, char **error_r);

/*
 * The subject of a reply to SUBJECT about ticket TICKET: "Re: [#1234] rest".
 * Reply and forward prefixes in front (Re:, RE[2]:, AW:, SV:, Fwd:, WG:,
 * TR:, RV:, 回复:, ...) are dropped however many there are, and so are copies
 * of this ticket's tag among them; "Re: " is put in front once. The tag
 * "[" TAG_PREFIX TICKET "]" (TAG_PREFIX NULL or "" means "#") is kept where
 * it is when it is already the first ticket tag of the rest, otherwise it is
 * put in front and later copies are removed, so that a reader taking the
 * first tag finds this ticket. TICKET 0 adds no tag. Control characters in
 * SUBJECT become spaces, blank runs one space (SUBJECT usually comes from a
 * customer's mail). -1 with *error_r when TICKET is negative or TAG_PREFIX
 * holds brackets, blanks, controls or more than 32 bytes.
 */
int hg_outmail_reply_subject(const char *subject, const char *tag_prefix, int64_t ticket, char **subject_r,
                             char **error_r);

#endif
