/*
 * signed_address.c — make and verify signed plus-addresses (see signed_address.h).
 *
 * The MAC is nettle's HMAC-SHA256, truncated to 80 bits and written in
 * lower-case base32. Verification parses the candidate strictly, computes
 * the MAC of what it names and compares the two with nettle's memeql_sec(),
 * whose time does not depend on where they differ. Key material left on the
 * stack (the HMAC context, digests) is wiped before returning.
 */
#include "helpgate/signed_address.h"

#include "helpgate/alloc.h"

#include <nettle/hmac.h>
#include <nettle/memops.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_BYTES 10 /* 80 bits */
#define MAC_CHARS 16 /* base32 of MAC_BYTES */
#define MAX_LOCAL 64 /* RFC 5321 4.5.3.1.1 */
#define MAX_DOMAIN 253
#define MAX_CANDIDATE 512 /* longer input is not ours without further reading */
#define MAX_DIGITS 18
#define DOMAIN_SEPARATION "helpgate-signed-address-v1"

/* The support address, lower-cased and split. */
struct support {
    char local[MAX_LOCAL + 1];
    char domain[MAX_DOMAIN + 1];
};

static int fail(char **error_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **error_r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *error_r = hg_xvasprintf(fmt, ap);
    va_end(ap);
    return -1;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 5322 atext without '+', which separates the detail. */
static bool local_char(char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*-/=?^_`{|}~", c) != NULL);
}

/* Copies the addr-spec of S ("a@b" or "Name <a@b>", blanks around) into OUT; false when it does not fit. */
static bool addr_spec(const char *s, char *out, size_t size)
{
    const char *lt = strchr(s, '<');
    if (lt != NULL)
        s = lt + 1;
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    if (lt != NULL) {
        const char *gt = strchr(s, '>');
        if (gt == NULL || gt[1 + strspn(gt + 1, " \t")] != '\0')
            return false;
        n = (size_t)(gt - s);
    }
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    if (n >= size)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

static int read_support(const char *support_address, struct support *sup, char **error_r)
{
    char spec[MAX_LOCAL + 1 + MAX_DOMAIN + 1];
    const char *hint = "write an addr-spec such as support@example.com";
    if (support_address == NULL || !addr_spec(support_address, spec, sizeof spec))
        return fail(error_r, "support address is missing or too long; %s", hint);
    char shown[sizeof spec]; /* for messages: one printable line */
    for (size_t i = 0; i < sizeof spec; i++) {
        shown[i] = (unsigned char)spec[i] < 0x20 || (unsigned char)spec[i] >= 0x7F ? '?' : spec[i];
        if (spec[i] == '\0') {
            shown[i] = '\0';
            break;
        }
    }
    char *at = strrchr(spec, '@');
    if (at == NULL || at == spec || (size_t)(at - spec) > MAX_LOCAL || at[1] == '\0')
        return fail(error_r, "support address \"%s\" is not local@domain; %s", shown, hint);
    size_t local_len = (size_t)(at - spec);
    for (size_t i = 0; i < local_len; i++) {
        char c = spec[i];
        bool dot_ok = c == '.' && i > 0 && i + 1 < local_len && spec[i + 1] != '.';
        if (!local_char(c) && !dot_ok)
            return fail(error_r,
                        "support address \"%s\": the local part may hold letters, digits, dots and "
                        "!#$%%&'*-/=?^_`{|}~ (no '+', which starts the signed detail)",
                        shown);
        sup->local[i] = lower(c);
    }
    sup->local[local_len] = '\0';
    const char *d = at + 1;
    size_t dn = strlen(d);
    if (dn > MAX_DOMAIN || d[0] == '.' || d[0] == '-' || d[dn - 1] == '.' || d[dn - 1] == '-')
        return fail(error_r, "support address \"%s\" has no valid domain; %s", shown, hint);
    for (size_t i = 0; i < dn; i++) {
        if (!is_alnum(d[i]) && d[i] != '-' && d[i] != '_' && !(d[i] == '.' && d[i + 1] != '.'))
            return fail(error_r, "support address \"%s\" has no valid domain; %s", shown, hint);
        sup->domain[i] = lower(d[i]);
    }
    sup->domain[dn] = '\0';
    return 0;
}

static int check_secret(const unsigned char *secret, size_t secret_len, char **error_r)
{
    if (secret == NULL || secret_len < HG_SIGNED_MIN_SECRET)
        return fail(error_r,
                    "HMAC secret is %zu bytes, fewer than %d; put at least 32 random bytes in the secret "
                    "file, e.g. head -c 32 /dev/urandom | base64",
                    secret != NULL ? secret_len : 0, HG_SIGNED_MIN_SECRET);
    return 0;
}

static bool purpose_known(int p)
{
    return p == HG_SIGNED_AGENT || p == HG_SIGNED_CUSTOMER;
}

/* The MAC of (support, purpose, ticket, agent) as MAC_CHARS base32 characters and a NUL. */
static void compute_mac(const unsigned char *secret, size_t secret_len, const struct support *sup,
                        char purpose, uint64_t ticket, uint64_t agent, char out[MAC_CHARS + 1])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    char ticket_text[24], agent_text[24];
    snprintf(ticket_text, sizeof ticket_text, "%llu", (unsigned long long)ticket);
    snprintf(agent_text, sizeof agent_text, "%llu", (unsigned long long)agent);
    const uint8_t purpose_field[2] = {(uint8_t)purpose, 0};
    struct hmac_sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, secret_len, secret);
    hmac_sha256_update(&ctx, sizeof DOMAIN_SEPARATION, (const uint8_t *)DOMAIN_SEPARATION); /* with its NUL */
    hmac_sha256_update(&ctx, strlen(sup->local), (const uint8_t *)sup->local);
    hmac_sha256_update(&ctx, 1, (const uint8_t *)"@");
    hmac_sha256_update(&ctx, strlen(sup->domain) + 1, (const uint8_t *)sup->domain);
    hmac_sha256_update(&ctx, sizeof purpose_field, purpose_field);
    hmac_sha256_update(&ctx, strlen(ticket_text) + 1, (const uint8_t *)ticket_text);
    hmac_sha256_update(&ctx, strlen(agent_text), (const uint8_t *)agent_text);
    hmac_sha256_digest(&ctx, sizeof digest, digest);
    /* 10 bytes are 80 bits: two groups of 40 bits, 8 characters each */
    for (size_t g = 0; g < 2; g++) {
        uint64_t v = 0;
        for (size_t i = 0; i < 5; i++)
            v = (v << 8) | digest[g * 5 + i];
        for (size_t i = 0; i < 8; i++)
            out[g * 8 + i] = alphabet[(v >> (35 - 5 * i)) & 31];
    }
    out[MAC_CHARS] = '\0';
    explicit_bzero(&ctx, sizeof ctx);
    explicit_bzero(digest, sizeof digest);
}

int hg_signed_address_make(const unsigned char *secret, size_t secret_len, const char *support_address,
                           enum hg_signed_purpose purpose, uint64_t ticket, uint64_t agent, char **address_r,
                           char **error_r)
{
    struct support sup;
    if (check_secret(secret, secret_len, error_r) < 0 || read_support(support_address, &sup, error_r) < 0)
        return -1;
    if (!purpose_known((int)purpose))
        return fail(error_r,
                    "signed address purpose %d is unknown; use HG_SIGNED_AGENT or HG_SIGNED_CUSTOMER",
                    (int)purpose);
    if (ticket == 0 || ticket > HG_SIGNED_MAX_NUMBER)
        return fail(error_r, "ticket number %llu is outside 1 .. %llu", (unsigned long long)ticket,
                    HG_SIGNED_MAX_NUMBER);
    if (agent > HG_SIGNED_MAX_NUMBER)
        return fail(error_r, "agent number %llu is above %llu", (unsigned long long)agent,
                    HG_SIGNED_MAX_NUMBER);
    char mac[MAC_CHARS + 1];
    compute_mac(secret, secret_len, &sup, (char)purpose, ticket, agent, mac);
    char detail[80];
    if (agent != 0)
        snprintf(detail, sizeof detail, "%c%llu-%llu.%s", (char)purpose, (unsigned long long)ticket,
                 (unsigned long long)agent, mac);
    else
        snprintf(detail, sizeof detail, "%c%llu.%s", (char)purpose, (unsigned long long)ticket, mac);
    if (strlen(sup.local) + 1 + strlen(detail) > MAX_LOCAL)
        return fail(error_r,
                    "signed address %s+%s@%s would have a local part longer than %d characters; use a "
                    "shorter support local part",
                    sup.local, detail, sup.domain, MAX_LOCAL);
    *address_r = hg_xasprintf("%s+%s@%s", sup.local, detail, sup.domain);
    return 0;
}

/* The N decimal digits at P into *V; false for none, more than MAX_DIGITS, or a leading zero. */
static bool read_number(const char *p, size_t n, uint64_t *v)
{
    if (n == 0 || n > MAX_DIGITS || p[0] == '0')
        return false;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = *v * 10 + (uint64_t)(p[i] - '0');
    return true;
}

static bool base32_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

int hg_signed_address_verify(const unsigned char *secret, size_t secret_len, const char *support_address,
                             const char *candidate, struct hg_signed_result *result, char **error_r)
{
    memset(result, 0, sizeof *result);
    result->status = HG_SIGNED_NOT_OURS;
    struct support sup;
    if (check_secret(secret, secret_len, error_r) < 0 || read_support(support_address, &sup, error_r) < 0)
        return -1;
    if (candidate == NULL)
        return 0;
    /* lower-cased copy, without blanks and one pair of <> around it */
    while (is_blank(*candidate))
        candidate++;
    size_t n = strnlen(candidate, MAX_CANDIDATE + 1);
    if (n > MAX_CANDIDATE)
        return 0;
    while (n > 0 && is_blank(candidate[n - 1]))
        n--;
    if (n >= 2 && candidate[0] == '<' && candidate[n - 1] == '>') {
        candidate++;
        n -= 2;
    }
    char addr[MAX_CANDIDATE + 1];
    for (size_t i = 0; i < n; i++)
        addr[i] = lower(candidate[i]);
    addr[n] = '\0';
    char *at = strrchr(addr, '@');
    if (at == NULL || strcmp(at + 1, sup.domain) != 0)
        return 0;
    *at = '\0';
    size_t local_len = strlen(sup.local);
    if (strcmp(addr, sup.local) == 0) {
        result->status = HG_SIGNED_NO_TOKEN;
        return 0;
    }
    if (strncmp(addr, sup.local, local_len) != 0 || addr[local_len] != '+')
        return 0;
    result->status = HG_SIGNED_NO_TOKEN;
    /* the detail: PURPOSE DIGITS [ "-" DIGITS ] "." MAC */
    const char *d = addr + local_len + 1;
    if (!(d[0] >= 'a' && d[0] <= 'z'))
        return 0;
    char purpose = d[0];
    const char *p = d + 1;
    const char *ticket_start = p;
    while (is_digit(*p))
        p++;
    size_t ticket_len = (size_t)(p - ticket_start);
    const char *agent_start = NULL;
    size_t agent_len = 0;
    if (*p == '-') {
        agent_start = ++p;
        while (is_digit(*p))
            p++;
        agent_len = (size_t)(p - agent_start);
        if (agent_len == 0)
            return 0;
    }
    if (ticket_len == 0 || *p != '.')
        return 0;
    const char *given = p + 1;
    if (strlen(given) != MAC_CHARS)
        return 0;
    for (size_t i = 0; i < MAC_CHARS; i++)
        if (!base32_char(given[i]))
            return 0;
    /* token-shaped from here: anything wrong is a bad token */
    result->status = HG_SIGNED_BAD;
    uint64_t ticket, agent = 0;
    if (!purpose_known(purpose) || !read_number(ticket_start, ticket_len, &ticket) ||
        (agent_start != NULL && !read_number(agent_start, agent_len, &agent)))
        return 0;
    char mac[MAC_CHARS + 1];
    compute_mac(secret, secret_len, &sup, purpose, ticket, agent, mac);
    bool same = memeql_sec(mac, given, MAC_CHARS) != 0;
    explicit_bzero(mac, sizeof mac);
    if (!same)
        return 0;
    result->status = HG_SIGNED_VALID;
    result->purpose = (enum hg_signed_purpose)purpose;
    result->ticket = ticket;
    result->agent = agent;
    return 0;
}

const char *hg_signed_status_name(enum hg_signed_status status)
{
    switch (status) {
    case HG_SIGNED_NOT_OURS:
        return "not-ours";
    case HG_SIGNED_NO_TOKEN:
        return "no-token";
    case HG_SIGNED_BAD:
        return "bad";
    case HG_SIGNED_VALID:
        return "valid";
    }
    return "unknown";
}
