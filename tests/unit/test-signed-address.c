/*
 * test-signed-address.c — unit tests of the signed Reply-To (parsers/signed_address.c).
 *
 * Known answers (the MACs were computed independently with Python's hmac
 * module from the token definition in signed_address.h), make/verify round
 * trips, a table of candidates with the verdict each must get (tampered
 * numbers and purposes, other secrets, other domains, case variants, broken
 * shapes), configuration errors, and how the signed address travels: as
 * Reply-To of a composed notification, read back with hg_mail_parse, and
 * not taken by the normalizer as a plain ticket tag.
 */
#include "helpgate/mail.h"
#include "helpgate/outmail.h"
#include "helpgate/signed_address.h"

#include "tap.h"

#include <stdint.h>
#include <stdlib.h>

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN 32
static const unsigned char other_secret[] = "another secret of sixteen+ bytes";
#define SUPPORT "support@example.com"

static bool contains(const char *s, const char *needle)
{
    return s != NULL && strstr(s, needle) != NULL;
}

/* ------------------------------------------------------------ known answers */

static void test_known_answers(void)
{
    static const struct {
        const unsigned char *secret;
        const char *support;
        enum hg_signed_purpose purpose;
        uint64_t ticket, agent;
        const char *want;
    } cases[] = {
        {secret, SUPPORT, HG_SIGNED_AGENT, 1234, 0, "support+a1234.cjk4sd6bgcu2lm2l@example.com"},
        {secret, SUPPORT, HG_SIGNED_AGENT, 1234, 17, "support+a1234-17.vpkq4sx2tibzectb@example.com"},
        {secret, SUPPORT, HG_SIGNED_CUSTOMER, 1, 0, "support+c1.pqmcum4j5gwlqmni@example.com"},
        {secret, "help@mail.example.org", HG_SIGNED_AGENT, 999999999999999999ULL, 999999999999999999ULL,
         "help+a999999999999999999-999999999999999999.qb64cldi3h7bxhlz@mail.example.org"},
        {other_secret, SUPPORT, HG_SIGNED_AGENT, 1234, 0, "support+a1234.jj4dcp3x742kxd7w@example.com"},
        /* the support address is lower-cased and may be written with a display name */
        {secret, "Helpdesk <Support@EXAMPLE.com>", HG_SIGNED_AGENT, 1234, 0,
         "support+a1234.cjk4sd6bgcu2lm2l@example.com"},
        {secret, "  SUPPORT@example.COM ", HG_SIGNED_AGENT, 1234, 0,
         "support+a1234.cjk4sd6bgcu2lm2l@example.com"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *address = NULL, *error = NULL;
        int rc = hg_signed_address_make(cases[i].secret, SECRET_LEN, cases[i].support, cases[i].purpose,
                                        cases[i].ticket, cases[i].agent, &address, &error);
        char label[160];
        snprintf(label, sizeof label, "known answer %zu: %s", i, cases[i].want);
        is_str(rc == 0 ? address : error, cases[i].want, label);
        if (rc == 0) {
            const char *at = strchr(address, '@');
            ok(at - address <= 64, "known answer %zu: local part of %td characters", i, at - address);
            bool lower = true;
            for (const char *p = address; *p; p++)
                lower = lower && !(*p >= 'A' && *p <= 'Z');
            ok(lower, "known answer %zu: lower-case only", i);
        }
        free(address);
        free(error);
    }
}

/* ------------------------------------------------------------ round trips */

static void test_round_trips(void)
{
    static const struct {
        enum hg_signed_purpose purpose;
        uint64_t ticket, agent;
    } cases[] = {
        {HG_SIGNED_AGENT, 1, 0},
        {HG_SIGNED_AGENT, 1234, 0},
        {HG_SIGNED_AGENT, 1234, 1},
        {HG_SIGNED_AGENT, 10, 10},
        {HG_SIGNED_CUSTOMER, 42, 0},
        {HG_SIGNED_CUSTOMER, 42, 7},
        {HG_SIGNED_AGENT, 999999999999999999ULL, 0},
        {HG_SIGNED_AGENT, 4294967296ULL, 4294967297ULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *address = NULL, *error = NULL;
        if (!ok(hg_signed_address_make(secret, SECRET_LEN, SUPPORT, cases[i].purpose, cases[i].ticket,
                                       cases[i].agent, &address, &error) == 0,
                "make %c/%llu/%llu", (char)cases[i].purpose, (unsigned long long)cases[i].ticket,
                (unsigned long long)cases[i].agent)) {
            printf("#   error: %s\n", error);
            free(error);
            continue;
        }
        struct hg_signed_result r;
        int rc = hg_signed_address_verify(secret, SECRET_LEN, SUPPORT, address, &r, &error);
        ok(rc == 0 && r.status == HG_SIGNED_VALID && r.purpose == cases[i].purpose &&
               r.ticket == cases[i].ticket && r.agent == cases[i].agent,
           "verify %s: valid with the same purpose and numbers", address);
        rc = hg_signed_address_verify(other_secret, SECRET_LEN, SUPPORT, address, &r, &error);
        ok(rc == 0 && r.status == HG_SIGNED_BAD && r.ticket == 0 && r.agent == 0 && r.purpose == 0,
           "verify %s with another secret: bad, nothing set", address);
        free(address);
    }
}

/* ------------------------------------------------------------ verdicts */

struct verdict {
    const char *label;
    const char *candidate;
    enum hg_signed_status want;
    uint64_t ticket; /* for valid ones */
};

/* The valid token for agent replies on ticket 1234 is "a1234.cjk4sd6bgcu2lm2l". */
static const struct verdict verdicts[] = {
    {"valid", "support+a1234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_VALID, 1234},
    {"upper-case token and domain", "support+A1234.CJK4SD6BGCU2LM2L@EXAMPLE.COM", HG_SIGNED_VALID, 1234},
    {"upper-case local part", "SUPPORT+a1234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_VALID, 1234},
    {"mixed case", "Support+A1234.Cjk4sd6bgcu2lm2L@Example.Com", HG_SIGNED_VALID, 1234},
    {"in angle brackets with blanks", "  <support+a1234.cjk4sd6bgcu2lm2l@example.com> ", HG_SIGNED_VALID,
     1234},
    {"with agent", "support+a1234-17.vpkq4sx2tibzectb@example.com", HG_SIGNED_VALID, 1234},
    {"tampered ticket number", "support+a1235.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"ticket number with a digit more", "support+a12345.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"leading zero", "support+a01234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"ticket zero", "support+a0.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"19-digit ticket", "support+a1234567890123456789.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"tampered purpose", "support+c1234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"unknown purpose", "support+b1234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"t purpose (the normalizer's plain tag form)", "support+t1234.cjk4sd6bgcu2lm2l@example.com",
     HG_SIGNED_BAD, 0},
    {"agent added", "support+a1234-17.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"agent removed", "support+a1234.vpkq4sx2tibzectb@example.com", HG_SIGNED_BAD, 0},
    {"agent changed", "support+a1234-18.vpkq4sx2tibzectb@example.com", HG_SIGNED_BAD, 0},
    {"agent zero written out", "support+a1234-0.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"last MAC character changed", "support+a1234.cjk4sd6bgcu2lm2m@example.com", HG_SIGNED_BAD, 0},
    {"first MAC character changed", "support+a1234.djk4sd6bgcu2lm2l@example.com", HG_SIGNED_BAD, 0},
    {"all-a MAC", "support+a1234.aaaaaaaaaaaaaaaa@example.com", HG_SIGNED_BAD, 0},
    {"MAC of another secret", "support+a1234.jj4dcp3x742kxd7w@example.com", HG_SIGNED_BAD, 0},
    {"plain support address", "support@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"plain support address, upper-case", "Support@Example.COM", HG_SIGNED_NO_TOKEN, 0},
    {"plain plus tag", "support+1234@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"normalizer's t-form with a short signature", "support+t1234.k7f3a9c2e1@example.com", HG_SIGNED_NO_TOKEN,
     0},
    {"MAC too short", "support+a1234.cjk4sd6bgcu2lm2@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"MAC too long", "support+a1234.cjk4sd6bgcu2lm2ll@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"MAC with a non-base32 digit", "support+a1234.cjk4sd6bgcu2lm21@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"no number", "support+a.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"empty agent", "support+a1234-.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"empty detail", "support+@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"word detail", "support+billing@example.com", HG_SIGNED_NO_TOKEN, 0},
    {"other domain", "support+a1234.cjk4sd6bgcu2lm2l@example.net", HG_SIGNED_NOT_OURS, 0},
    {"subdomain", "support+a1234.cjk4sd6bgcu2lm2l@mail.example.com", HG_SIGNED_NOT_OURS, 0},
    {"domain suffix", "support+a1234.cjk4sd6bgcu2lm2l@example.com.evil.test", HG_SIGNED_NOT_OURS, 0},
    {"other local part", "sales+a1234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_NOT_OURS, 0},
    {"longer local part", "supportx+a1234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_NOT_OURS, 0},
    {"local part prefix", "supportx@example.com", HG_SIGNED_NOT_OURS, 0},
    {"other separator", "support-a1234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_NOT_OURS, 0},
    {"no @", "support+a1234.cjk4sd6bgcu2lm2l", HG_SIGNED_NOT_OURS, 0},
    {"empty", "", HG_SIGNED_NOT_OURS, 0},
    {"second @ in front", "x@support+a1234.cjk4sd6bgcu2lm2l@example.com", HG_SIGNED_NOT_OURS, 0},
    {"display name form is not an addr-spec", "Agent <support+a1234.cjk4sd6bgcu2lm2l@example.com>",
     HG_SIGNED_NOT_OURS, 0},
    {"trailing garbage", "support+a1234.cjk4sd6bgcu2lm2l@example.com>", HG_SIGNED_NOT_OURS, 0},
    {"NUL-free control in the token", "support+a1234.cjk4sd6bgcu2lm2l\r@example.com", HG_SIGNED_NO_TOKEN, 0},
};

static void test_verdicts(void)
{
    for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++) {
        const struct verdict *t = &verdicts[i];
        struct hg_signed_result r;
        char *error = NULL;
        int rc = hg_signed_address_verify(secret, SECRET_LEN, SUPPORT, t->candidate, &r, &error);
        bool right = rc == 0 && r.status == t->want && r.ticket == t->ticket &&
                     (t->want == HG_SIGNED_VALID) == (r.purpose == HG_SIGNED_AGENT);
        ok(right, "%s: %s", t->label, hg_signed_status_name(t->want));
        if (!right)
            printf("#   got rc %d, %s, ticket %llu, purpose %d\n", rc, hg_signed_status_name(r.status),
                   (unsigned long long)r.ticket, (int)r.purpose);
        free(error);
    }
    struct hg_signed_result r;
    char *error = NULL;
    ok(hg_signed_address_verify(secret, SECRET_LEN, SUPPORT, NULL, &r, &error) == 0 &&
           r.status == HG_SIGNED_NOT_OURS,
       "NULL candidate: not ours");
    char *huge = malloc(5000);
    memset(huge, 'a', 4999);
    memcpy(huge + 4999 - 12, "@example.com", 12);
    huge[4999] = '\0';
    ok(hg_signed_address_verify(secret, SECRET_LEN, SUPPORT, huge, &r, &error) == 0 &&
           r.status == HG_SIGNED_NOT_OURS,
       "5000-character candidate: not ours");
    free(huge);
    /* the secret's every byte counts, and so does its length */
    unsigned char flipped[SECRET_LEN];
    memcpy(flipped, secret, SECRET_LEN);
    flipped[SECRET_LEN - 1] ^= 1;
    ok(hg_signed_address_verify(flipped, SECRET_LEN, SUPPORT, verdicts[0].candidate, &r, &error) == 0 &&
           r.status == HG_SIGNED_BAD,
       "secret with its last bit flipped: bad");
    ok(hg_signed_address_verify(secret, SECRET_LEN - 1, SUPPORT, verdicts[0].candidate, &r, &error) == 0 &&
           r.status == HG_SIGNED_BAD,
       "secret one byte shorter: bad");
    /* another support address on the same domain with the same secret */
    char *address = NULL;
    hg_signed_address_make(secret, SECRET_LEN, "billing@example.com", HG_SIGNED_AGENT, 1234, 0, &address,
                           &error);
    const char *plus = address != NULL ? strchr(address, '+') : NULL;
    char moved[128];
    snprintf(moved, sizeof moved, "support%s", plus != NULL ? plus : "");
    ok(hg_signed_address_verify(secret, SECRET_LEN, SUPPORT, moved, &r, &error) == 0 &&
           r.status == HG_SIGNED_BAD,
       "a token made for billing@ is bad on support@");
    free(address);
    ok(strcmp(hg_signed_status_name(HG_SIGNED_NOT_OURS), "not-ours") == 0 &&
           strcmp(hg_signed_status_name(HG_SIGNED_NO_TOKEN), "no-token") == 0 &&
           strcmp(hg_signed_status_name(HG_SIGNED_BAD), "bad") == 0 &&
           strcmp(hg_signed_status_name(HG_SIGNED_VALID), "valid") == 0,
       "status names");
}

/* ------------------------------------------------------------ configuration errors */

static void test_errors(void)
{
    static const struct {
        const char *label;
        const unsigned char *secret;
        size_t secret_len;
        const char *support;
        int purpose;
        uint64_t ticket, agent;
        const char *want_error;
    } cases[] = {
        {"short secret", secret, 15, SUPPORT, 'a', 1, 0, "fewer than 16"},
        {"NULL secret", NULL, 32, SUPPORT, 'a', 1, 0, "fewer than 16"},
        {"NULL support address", secret, 32, NULL, 'a', 1, 0, "support address"},
        {"support address without @", secret, 32, "support", 'a', 1, 0, "not local@domain"},
        {"support address with plus", secret, 32, "support+x@example.com", 'a', 1, 0, "no '+'"},
        {"support address with quotes", secret, 32, "\"sup port\"@example.com", 'a', 1, 0, "local part"},
        {"support address without domain", secret, 32, "support@", 'a', 1, 0, "not local@domain"},
        {"support domain with blanks", secret, 32, "support@exa mple.com", 'a', 1, 0, "no valid domain"},
        {"support domain with CRLF", secret, 32, "support@example.com\r\nX: y", 'a', 1, 0, "no valid domain"},
        {"unclosed display form", secret, 32, "Support <support@example.com", 'a', 1, 0, "support address"},
        {"ticket zero", secret, 32, SUPPORT, 'a', 0, 0, "outside 1 .."},
        {"ticket too big", secret, 32, SUPPORT, 'a', 1000000000000000000ULL, 0, "outside 1 .."},
        {"agent too big", secret, 32, SUPPORT, 'a', 1, 1000000000000000000ULL, "agent number"},
        {"purpose t", secret, 32, SUPPORT, 't', 1, 0, "purpose"},
        {"purpose 0", secret, 32, SUPPORT, 0, 1, 0, "purpose"},
        {"local part over 64", secret, 32, "help.desk@example.com", 'a', 999999999999999999ULL,
         999999999999999999ULL, "longer than 64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *address = NULL, *error = NULL;
        int rc = hg_signed_address_make(cases[i].secret, cases[i].secret_len, cases[i].support,
                                        (enum hg_signed_purpose)cases[i].purpose, cases[i].ticket,
                                        cases[i].agent, &address, &error);
        bool one_line = error != NULL && strpbrk(error, "\r\n") == NULL;
        ok(rc == -1 && address == NULL && contains(error, cases[i].want_error) && one_line,
           "make refuses: %s", cases[i].label);
        if (!contains(error, cases[i].want_error))
            printf("#   error: %s\n", error ? error : "(none)");
        free(error);
        /* a configuration error (secret, support address) verify reports too */
        if (cases[i].purpose == 'a' && cases[i].ticket == 1 && cases[i].agent == 0) {
            struct hg_signed_result r;
            error = NULL;
            rc = hg_signed_address_verify(cases[i].secret, cases[i].secret_len, cases[i].support,
                                          verdicts[0].candidate, &r, &error);
            ok(rc == -1 && error != NULL && r.status == HG_SIGNED_NOT_OURS, "verify refuses: %s",
               cases[i].label);
            free(error);
        }
    }
}

/* ------------------------------------------------------------ with the normalizer */

/* The raw message a mail client sends when an agent answers a notification. */
static struct hg_mail *parse_reply_to(const char *to, const char *subject)
{
    char raw[1024];
    snprintf(raw, sizeof raw,
             "From: Agent <agent@example.com>\r\nTo: %s\r\nSubject: %s\r\n"
             "Message-ID: <answer.1@example.com>\r\nDate: Mon, 03 Jun 2024 09:00:00 +0000\r\n\r\nDone.\r\n",
             to, subject);
    struct hg_mail_limits limits = {.support_address = SUPPORT};
    return hg_mail_parse(raw, strlen(raw), &limits);
}

static void test_with_normalizer(void)
{
    char *address = NULL, *error = NULL;
    hg_signed_address_make(secret, SECRET_LEN, SUPPORT, HG_SIGNED_AGENT, 1234, 17, &address, &error);

    /* a notification carries it as Reply-To; the agent's client copies it to To */
    struct hg_outmail_address to = {"Agent Smith", "agent@example.com"};
    struct hg_outmail_address reply_to = {"Ticket #1234", address};
    struct hg_outmail m = {
        .from = {"helpgate", SUPPORT},
        .to = &to,
        .n_to = 1,
        .reply_to = &reply_to,
        .n_reply_to = 1,
        .subject = "[#1234] New ticket: printer offline",
        .date = 1717402500,
        .message_id = "notify.1234.1@example.com",
        .auto_submitted = "auto-generated",
        .body_text = "A new ticket.\n",
    };
    char *data = NULL;
    size_t len = 0;
    ok(hg_outmail_compose(&m, 0, &data, &len, &error) == 0,
       "a notification with the signed Reply-To composes");
    struct hg_mail *mail = hg_mail_parse(data != NULL ? data : "", len, NULL);
    ok(mail->reply_to.count == 1 && strcmp(mail->reply_to.items[0].email, address) == 0,
       "Reply-To is read back unchanged");
    struct hg_signed_result r;
    ok(mail->reply_to.count == 1 &&
           hg_signed_address_verify(secret, SECRET_LEN, SUPPORT, mail->reply_to.items[0].email, &r, &error) ==
               0 &&
           r.status == HG_SIGNED_VALID && r.ticket == 1234 && r.agent == 17 && r.purpose == HG_SIGNED_AGENT,
       "the Reply-To read back verifies: ticket 1234, agent 17");
    hg_mail_free(&mail);
    free(data);

    /* the agent's answer, with no ticket tag in the subject */
    mail = parse_reply_to(address, "Re: printer offline");
    ok(mail->ticket_tag == NULL, "the normalizer takes no plain ticket tag from a signed address");
    hg_mail_free(&mail);
    char upper[128];
    snprintf(upper, sizeof upper, "%s", address);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    mail = parse_reply_to(upper, "Re: printer offline");
    ok(mail->ticket_tag == NULL, "nor from its upper-case form");
    ok(hg_signed_address_verify(secret, SECRET_LEN, SUPPORT, mail->to.items[0].email, &r, &error) == 0 &&
           r.status == HG_SIGNED_VALID && r.ticket == 1234,
       "the upper-case form read back by the normalizer verifies");
    hg_mail_free(&mail);
    /* what the normalizer does with the forms it knows (parsers/mail_auto.c), for the record */
    mail = parse_reply_to("support+t1234.forged@example.com", "Re: printer offline");
    is_str(mail->ticket_tag, "1234", "the normalizer takes 1234 from support+t1234.forged@ (unverified)");
    ok(hg_signed_address_verify(secret, SECRET_LEN, SUPPORT, "support+t1234.forged@example.com", &r,
                                &error) == 0 &&
           r.status == HG_SIGNED_NO_TOKEN && r.ticket == 0,
       "while verification calls it no token and names no ticket");
    hg_mail_free(&mail);
    mail = parse_reply_to("support+1234@example.com", "Re: printer offline");
    is_str(mail->ticket_tag, "1234", "the normalizer takes 1234 from support+1234@");
    hg_mail_free(&mail);
    mail = parse_reply_to("support+a1234.cjk4sd6bgcu2lm2m@example.com", "Re: printer offline");
    ok(mail->ticket_tag == NULL, "a forged signed address gives the normalizer no tag either");
    hg_mail_free(&mail);
    free(address);
}

int main(void)
{
    test_known_answers();
    test_round_trips();
    test_verdicts();
    test_errors();
    test_with_normalizer();
    return tap_done();
}
