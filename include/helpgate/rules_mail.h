/*
 * rules_mail.h — the facts of a normalized mail as rules input.
 *
 * hg_rules_input_from_mail() fills the message part of a struct
 * hg_rules_input from a struct hg_mail (sender, recipient, subject, texts,
 * headers, attachments, auto-submitted kind); the caller adds the customer
 * facts and the time. Pure.
 *
 * Ownership: the input points into MAIL and into *VIEWS, which the caller
 * releases with hg_rules_mail_views_free() once the input is no longer used
 * (MAIL must outlive it too).
 */
#ifndef HELPGATE_RULES_MAIL_H
#define HELPGATE_RULES_MAIL_H

#include "helpgate/mail.h"
#include "helpgate/rules.h"

struct hg_rules_mail_views {
    struct hg_rules_header *headers;
    struct hg_rules_attachment *attachments;
};

/* RECIPIENT: the support address it came in on, or NULL. Customer fields and `now` are left zero. */
void hg_rules_input_from_mail(const struct hg_mail *mail, const char *recipient, struct hg_rules_input *in,
                              struct hg_rules_mail_views *views);
void hg_rules_mail_views_free(struct hg_rules_mail_views *views);

#endif
