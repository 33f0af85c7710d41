/*
 * rules_mail.c — a normalized mail as rules input (see rules_mail.h).
 */
#include "helpgate/rules_mail.h"

#include "helpgate/alloc.h"

#include <stdlib.h>
#include <string.h>

void hg_rules_input_from_mail(const struct hg_mail *mail, const char *recipient, struct hg_rules_input *in,
                              struct hg_rules_mail_views *views)
{
    memset(in, 0, sizeof(*in));
    views->headers = hg_xcalloc(mail->n_headers + 1, sizeof(*views->headers));
    for (size_t i = 0; i < mail->n_headers; i++)
        views->headers[i] = (struct hg_rules_header){mail->headers[i].name, mail->headers[i].value};
    views->attachments = hg_xcalloc(mail->n_attachments + 1, sizeof(*views->attachments));
    for (size_t i = 0; i < mail->n_attachments; i++)
        views->attachments[i] =
            (struct hg_rules_attachment){mail->attachments[i].filename, mail->attachments[i].content_type};
    in->channel = "email";
    in->from_email = mail->from != NULL && mail->from->email[0] != '\0' ? mail->from->email : NULL;
    in->from_name = mail->from != NULL ? mail->from->name : NULL;
    in->recipient = recipient != NULL ? recipient : mail->delivered_to;
    in->subject = mail->subject;
    in->body = mail->body_text;
    in->reply = mail->reply_text;
    in->headers = views->headers;
    in->n_headers = mail->n_headers;
    in->attachments = views->attachments;
    in->n_attachments = mail->n_attachments;
    in->auto_kind = hg_mail_auto_name(mail->auto_kind);
}

void hg_rules_mail_views_free(struct hg_rules_mail_views *views)
{
    free(views->headers);
    free(views->attachments);
    views->headers = NULL;
    views->attachments = NULL;
}
