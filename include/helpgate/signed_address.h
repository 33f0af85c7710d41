/*
 * signed_address.h — the signed Reply-To that lets agents answer from their mail client.
 *
 * A notification to an agent carries Reply-To: a plus-address of the support
 * address that names the ticket and carries an HMAC, so that the answer is
 * tied to the ticket (and, when given, the agent) without trusting From:
 *
 *     support+a1234.mfrggzdfmztwq2lk@example.com
 *     support+a1234-17.b5xq2m7kfa3ne6pd@example.com     (agent 17)
 *
 * The detail after '+' is: a purpose letter, the ticket number in decimal,
 * optionally "-" and an agent number, ".", and 16 characters of lower-case
 * base32 (RFC 4648 alphabet "a-z2-7") holding the first 80 bits of
 *
 *     HMAC-SHA256(secret, "helpgate-signed-address-v1" NUL
 *                 lower(support addr-spec) NUL purpose NUL ticket NUL agent)
 *
 * with the numbers in decimal (agent "0" when there is none). Everything is
 * lower-case, since some MTAs lower-case local parts; reading ignores case in
 * the token, the support local part and the domain. Numbers have no leading
 * zeros, so each token has one spelling. The purpose letters are never 't'
 * and never digits: the normalizer's plain plus-address tags ("support+1234@",
 * "support+t1234.x@", see parsers/mail_auto.c) do not match a signed token, so
 * a signed address yields a ticket only through hg_signed_address_verify().
 * With the longest numbers the detail is 1 + 18 + 1 + 18 + 1 + 16 = 55
 * characters; hg_signed_address_make() refuses a result whose local part
 * passes 64 characters (RFC 5321 4.5.3.1.1).
 *
 * The plus separator is '+', the support address an addr-spec with a
 * dot-atom local part without '+', optionally written "Name <addr-spec>".
 * Secrets are at least 16 bytes (use 32 random bytes).
 *
 * Ownership: the caller's inputs are only read; *address_r and *error_r are
 * the caller's to free(). Errors: -1 with *error_r for unusable secrets,
 * support addresses or numbers (configuration problems); a candidate address
 * is never an error, its verdict is in the result. MACs are compared in
 * constant time. Pure, thread-safe, no allocation kept.
 */
#ifndef HELPGATE_SIGNED_ADDRESS_H
#define HELPGATE_SIGNED_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

#define HG_SIGNED_MIN_SECRET 16
#define HG_SIGNED_MAX_NUMBER 999999999999999999ULL /* 18 digits, as ticket tags are read */

enum hg_signed_purpose {
    HG_SIGNED_AGENT = 'a',    /* an agent answers a notification: the answer goes to the customer */
    HG_SIGNED_CUSTOMER = 'c', /* a customer answers an acknowledgement: never agent rights */
};

enum hg_signed_status {
    HG_SIGNED_NOT_OURS = 0, /* not the support address nor one of its plus-addresses */
    HG_SIGNED_NO_TOKEN,     /* the support address, plain or with a detail that is no token */
    HG_SIGNED_BAD,          /* shaped like a token, but the MAC (or purpose, or a number) is wrong */
    HG_SIGNED_VALID,        /* signed with this secret for this support address */
};

struct hg_signed_result {
    enum hg_signed_status status;
    /* Set only when status is HG_SIGNED_VALID (else 0), so an unverified number is never at hand. */
    enum hg_signed_purpose purpose;
    uint64_t ticket;
    uint64_t agent; /* 0 when the token names no agent */
};

/*
 * The signed address for TICKET (1 .. HG_SIGNED_MAX_NUMBER) and AGENT (0 for
 * none, else up to HG_SIGNED_MAX_NUMBER) in *ADDRESS_R, as
 * "local+detail@domain" with the support address's local part and domain
 * lower-cased.
 */
int hg_signed_address_make(const unsigned char *secret, size_t secret_len, const char *support_address,
                           enum hg_signed_purpose purpose, uint64_t ticket, uint64_t agent, char **address_r,
                           char **error_r);

/*
 * Reads CANDIDATE (an addr-spec, blanks and one pair of <> around it
 * allowed) against SUPPORT_ADDRESS and SECRET into *RESULT. Returns 0, or -1
 * with *error_r when SECRET or SUPPORT_ADDRESS is unusable (then *RESULT
 * says HG_SIGNED_NOT_OURS). Treat anything but HG_SIGNED_VALID with the
 * purpose you expect as a message of unknown origin.
 */
int hg_signed_address_verify(const unsigned char *secret, size_t secret_len, const char *support_address,
                             const char *candidate, struct hg_signed_result *result, char **error_r);

/* "not-ours", "no-token", "bad", "valid": for logs and audit rows. */
const char *hg_signed_status_name(enum hg_signed_status status);

#endif
