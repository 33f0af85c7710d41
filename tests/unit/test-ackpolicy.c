/*
 * test-ackpolicy.c — unit tests of the automatic-mail policy (parsers/ackpolicy.c).
 *
 * Table-driven, on real headers: every message is raw RFC 5322 text run
 * through hg_mail_parse(), so the policy sees what it will see in
 * production. The auto-replies, bounces and list posts are modelled on what
 * Exchange/Outlook, Gmail, help desks (osTicket-, Zendesk- and
 * Freshdesk-style acknowledgements), Mailman 3, Google Groups, Postfix and
 * Exchange Online write; addresses and ids are made up. Then the address to
 * answer, the settings and their errors, the no-reply pattern, the headers
 * we send, and hostile input.
 */
#include "helpgate/ackpolicy.h"

#include "helpgate/mail.h"

#include "tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const own_addresses[] = {"Support <support@example.com>", "help@example.com"};

static struct hg_ackpolicy *make_policy(unsigned per_sender, unsigned per_ticket)
{
    struct hg_ackpolicy_config cfg = {
        .own_addresses = own_addresses,
        .n_own_addresses = 2,
        .own_domain = "example.com",
        .loop_value = "example-helpdesk",
        .message_id_suffix = "@helpgate.example.com",
        .max_per_sender_hour = per_sender,
        .max_per_ticket = per_ticket,
    };
    struct hg_ackpolicy *p = NULL;
    char *error = NULL;
    if (hg_ackpolicy_new(&cfg, &p, &error) != 0) {
        printf("Bail out! policy: %s\n", error);
        exit(1);
    }
    return p;
}

/* ------------------------------------------------------------------------ */
/* Messages.                                                                */

#define GMAIL_HUMAN                                                                                          \
    "Return-Path: <ann.customer@gmail.com>\n"                                                                \
    "Delivered-To: support@example.com\n"                                                                    \
    "Received: from mail-wr1-f41.google.com (mail-wr1-f41.google.com [209.85.221.41])\n"                     \
    "\tby mx.example.com (Postfix) with ESMTPS id 4VtQ2m0Zk1z9sRs\n"                                         \
    "\tfor <support@example.com>; Mon,  3 Jun 2024 08:15:02 +0000 (UTC)\n"                                   \
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=gmail.com; s=20230601;\n"                       \
    "\th=to:subject:message-id:date:from:mime-version; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"   \
    "\tb=Kx2p0yJ9c3Lw\n"                                                                                     \
    "MIME-Version: 1.0\n"                                                                                    \
    "From: Ann Customer <ann.customer@gmail.com>\n"                                                          \
    "Date: Mon, 3 Jun 2024 10:15:00 +0200\n"                                                                 \
    "Message-ID: <CAF3xK=9fz2Qp7w@mail.gmail.com>\n"                                                         \
    "Subject: Printer does not print\n"                                                                      \
    "To: support@example.com\n"                                                                              \
    "Content-Type: text/plain; charset=\"UTF-8\"\n"                                                          \
    "\n"                                                                                                     \
    "Hello, my printer does not print.\n"

#define OUTLOOK_HUMAN                                                                                        \
    "From: Bob Buyer <bob@contoso.example>\n"                                                                \
    "To: \"support@example.com\" <support@example.com>\n"                                                    \
    "Subject: Invoice 4711 is wrong\n"                                                                       \
    "Thread-Topic: Invoice 4711 is wrong\n"                                                                  \
    "Thread-Index: AdqzbmW0d3Ql8vQyRk2vZ0qI1f3x4A==\n"                                                       \
    "Date: Mon, 3 Jun 2024 08:20:11 +0000\n"                                                                 \
    "Message-ID: <DB9PR07MB7865A1B2C3D4E5F6@DB9PR07MB7865.eurprd07.prod.outlook.com>\n"                      \
    "Accept-Language: en-US\n"                                                                               \
    "Content-Language: en-US\n"                                                                              \
    "X-MS-Has-Attach:\n"                                                                                     \
    "X-MS-TNEF-Correlator:\n"                                                                                \
    "x-ms-publictraffictype: Email\n"                                                                        \
    "Content-Type: text/plain; charset=\"us-ascii\"\n"                                                       \
    "MIME-Version: 1.0\n"                                                                                    \
    "\n"                                                                                                     \
    "Hi, the invoice lists two licences, we have one.\n"

#define EXCHANGE_OOF                                                                                         \
    "From: Bob Buyer <bob@contoso.example>\n"                                                                \
    "To: Helpgate Support <support@example.com>\n"                                                           \
    "Subject: Automatic reply: [#1234] Invoice 4711 is wrong\n"                                              \
    "Thread-Topic: [#1234] Invoice 4711 is wrong\n"                                                          \
    "Thread-Index: AQHatZ2xw7Qe5U0dS0uYfQ7Lk4z3rQ==\n"                                                       \
    "Date: Mon, 3 Jun 2024 08:21:40 +0000\n"                                                                 \
    "Message-ID: <ea1f0c5d-4b7e-4d2a-9c1e-3f7a2b9d8e61@DB9PR07MB7865.eurprd07.prod.outlook.com>\n"           \
    "References: <ack-1234@helpgate.example.com>\n"                                                          \
    "In-Reply-To: <ack-1234@helpgate.example.com>\n"                                                         \
    "Auto-Submitted: auto-generated\n"                                                                       \
    "X-MS-Has-Attach:\n"                                                                                     \
    "X-Auto-Response-Suppress: All\n"                                                                        \
    "X-MS-Exchange-Inbox-Rules-Loop: bob@contoso.example\n"                                                  \
    "X-MS-TNEF-Correlator:\n"                                                                                \
    "x-ms-exchange-parent-message-id: <ack-1234@helpgate.example.com>\n"                                     \
    "x-ms-exchange-generated-message-source: Mailbox Rules Agent\n"                                          \
    "Content-Type: text/plain; charset=\"us-ascii\"\n"                                                       \
    "MIME-Version: 1.0\n"                                                                                    \
    "\n"                                                                                                     \
    "I am out of the office until June 10 with limited access to e-mail.\n"

#define OUTLOOK_OOF_OLD                                                                                      \
    "From: Carl Clerk <carl@fabrikam.example>\n"                                                             \
    "To: support@example.com\n"                                                                              \
    "Subject: Out of Office: [#1235] Password reset\n"                                                       \
    "Thread-Topic: [#1235] Password reset\n"                                                                 \
    "Date: Mon, 3 Jun 2024 08:30:00 +0000\n"                                                                 \
    "Message-ID: <0A1B2C3D4E5F@EXCH01.fabrikam.example>\n"                                                   \
    "X-MS-Has-Attach:\n"                                                                                     \
    "X-Auto-Response-Suppress: All\n"                                                                        \
    "X-MS-Exchange-Inbox-Rules-Loop: carl@fabrikam.example\n"                                                \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=\"us-ascii\"\n"                                                       \
    "\n"                                                                                                     \
    "I will be out of the office starting 03.06.2024 and will not return until 07.06.2024.\n"

#define GMAIL_VACATION                                                                                       \
    "Return-Path: <dora@gmail.com>\n"                                                                        \
    "MIME-Version: 1.0\n"                                                                                    \
    "From: Dora <dora@gmail.com>\n"                                                                          \
    "Date: Mon, 3 Jun 2024 01:31:09 -0700\n"                                                                 \
    "Message-ID: <CAGn8kL0vacation2xQ@mail.gmail.com>\n"                                                     \
    "Subject: Re: [#1236] Printer does not print\n"                                                          \
    "To: support@example.com\n"                                                                              \
    "In-Reply-To: <ack-1236@helpgate.example.com>\n"                                                         \
    "References: <ack-1236@helpgate.example.com>\n"                                                          \
    "Auto-Submitted: auto-replied\n"                                                                         \
    "Content-Type: text/plain; charset=\"UTF-8\"\n"                                                          \
    "\n"                                                                                                     \
    "Thanks for your mail. I am on holiday until Monday.\n"

#define OSTICKET_ACK                                                                                         \
    "From: \"Vendor Support\" <support@vendor.example>\n"                                                    \
    "To: support@example.com\n"                                                                              \
    "Subject: Support Ticket Opened [#781245]\n"                                                             \
    "Date: Mon, 3 Jun 2024 08:40:00 +0000\n"                                                                 \
    "Message-ID: <ost-781245-a1b2c3@vendor.example>\n"                                                       \
    "X-Autoreply: yes\n"                                                                                     \
    "Auto-Submitted: auto-replied\n"                                                                         \
    "X-Auto-Response-Suppress: AutoReply\n"                                                                  \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=utf-8\n"                                                              \
    "\n"                                                                                                     \
    "We received your request and created ticket #781245.\n"

#define ZENDESK_STYLE_ACK                                                                                    \
    "From: Acme Support <support@acme.zendesk.example>\n"                                                    \
    "Reply-To: Acme Support <support+id4711@acme.zendesk.example>\n"                                         \
    "To: support@example.com\n"                                                                              \
    "Subject: [Acme] Re: Your request was received\n"                                                        \
    "Date: Mon, 3 Jun 2024 08:41:00 +0000\n"                                                                 \
    "Message-ID: <ZX8RK9_6659a1b2c3d4e_5f@zendesk.example>\n"                                                \
    "X-Mailer: Zendesk Mailer\n"                                                                             \
    "X-Zendesk-From-Account-Id: 9f1a2b\n"                                                                    \
    "X-Autorespond: Your request was received\n"                                                             \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=UTF-8\n"                                                              \
    "\n"                                                                                                     \
    "Your request (4711) has been received and is being reviewed by our support staff.\n"

#define FRESHDESK_STYLE_ACK                                                                                  \
    "From: Globex Helpdesk <help@globex.example>\n"                                                          \
    "To: support@example.com\n"                                                                              \
    "Subject: Ticket Received - Printer does not print\n"                                                    \
    "Date: Mon, 3 Jun 2024 08:42:00 +0000\n"                                                                 \
    "Message-ID: <4711.9f1a2b@globex.example>\n"                                                             \
    "Precedence: bulk\n"                                                                                     \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=UTF-8\n"                                                              \
    "\n"                                                                                                     \
    "Thank you for contacting us. A ticket has been created.\n"

/* A help desk that marks nothing: only the per-sender cap stops a ping-pong with it. */
#define UNMARKED_DESK_ACK                                                                                    \
    "From: Initech Service Desk <servicedesk@initech.example>\n"                                             \
    "To: support@example.com\n"                                                                              \
    "Subject: [Ticket #99812] Request received\n"                                                            \
    "Date: Mon, 3 Jun 2024 08:43:00 +0000\n"                                                                 \
    "Message-ID: <99812.1717404180@initech.example>\n"                                                       \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=UTF-8\n"                                                              \
    "\n"                                                                                                     \
    "Your request has been logged as ticket 99812.\n"

#define MAILMAN3_POST                                                                                        \
    "Return-Path: <users-bounces+support=example.com@lists.example.org>\n"                                   \
    "From: Dave Dev <dave@example.net>\n"                                                                    \
    "To: users@lists.example.org\n"                                                                          \
    "Subject: [Users] Printing from the CLI fails\n"                                                         \
    "Date: Mon, 3 Jun 2024 08:50:00 +0000\n"                                                                 \
    "Message-ID: <20240603085000.GA1234@example.net>\n"                                                      \
    "Message-ID-Hash: 3K7QWJ5YF2MZ6ZJ4W2XK3LQ4N5B6C7D8\n"                                                    \
    "X-Message-ID-Hash: 3K7QWJ5YF2MZ6ZJ4W2XK3LQ4N5B6C7D8\n"                                                  \
    "X-MailFrom: dave@example.net\n"                                                                         \
    "X-Mailman-Version: 3.3.8\n"                                                                             \
    "Precedence: list\n"                                                                                     \
    "Reply-To: Users of Foo <users@lists.example.org>\n"                                                     \
    "List-Id: Users of Foo <users.lists.example.org>\n"                                                      \
    "Archived-At: <https://lists.example.org/archives/list/users@lists.example.org/message/3K7Q/>\n"         \
    "List-Archive: <https://lists.example.org/archives/list/users@lists.example.org/>\n"                     \
    "List-Help: <mailto:users-request@lists.example.org?subject=help>\n"                                     \
    "List-Owner: <mailto:users-owner@lists.example.org>\n"                                                   \
    "List-Post: <mailto:users@lists.example.org>\n"                                                          \
    "List-Subscribe: <mailto:users-join@lists.example.org>\n"                                                \
    "List-Unsubscribe: <mailto:users-leave@lists.example.org>\n"                                             \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=\"us-ascii\"\n"                                                       \
    "\n"                                                                                                     \
    "Has anyone seen this?\n"

#define GOOGLE_GROUPS_POST                                                                                   \
    "From: \"'Erin Example' via Support Users\" <support-users@googlegroups.com>\n"                          \
    "Reply-To: Erin Example <erin@corp.example>\n"                                                           \
    "To: Support Users <support-users@googlegroups.com>\n"                                                   \
    "Subject: Licence server down?\n"                                                                        \
    "Date: Mon, 3 Jun 2024 09:00:00 +0000\n"                                                                 \
    "Message-ID: <c0ffee12-3456-4789-abcd-ef0123456789n@googlegroups.com>\n"                                 \
    "X-Original-Sender: erin@corp.example\n"                                                                 \
    "Precedence: list\n"                                                                                     \
    "Mailing-list: list support-users@googlegroups.com; contact support-users+owners@googlegroups.com\n"     \
    "List-ID: <support-users.googlegroups.com>\n"                                                            \
    "X-Spam-Checked-In-Group: erin@corp.example\n"                                                           \
    "X-Google-Group-Id: 123456789012\n"                                                                      \
    "List-Post: <https://groups.google.com/group/support-users/post>, "                                      \
    "<mailto:support-users@googlegroups.com>\n"                                                              \
    "List-Help: <https://groups.google.com/support/>, <mailto:support-users+help@googlegroups.com>\n"        \
    "List-Unsubscribe: <mailto:googlegroups-manage+123456789012+unsubscribe@googlegroups.com>,\n"            \
    " <https://groups.google.com/group/support-users/subscribe>\n"                                           \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=\"UTF-8\"\n"                                                          \
    "\n"                                                                                                     \
    "Is the licence server down for anyone else?\n"

#define POSTFIX_DSN                                                                                          \
    "Return-Path: <>\n"                                                                                      \
    "Received: by mx.customer.example (Postfix) id 4VtXyZ0abc; Mon,  3 Jun 2024 08:15:05 +0000 (UTC)\n"      \
    "Date: Mon,  3 Jun 2024 08:15:05 +0000 (UTC)\n"                                                          \
    "From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\n"                                       \
    "Subject: Undelivered Mail Returned to Sender\n"                                                         \
    "To: support@example.com\n"                                                                              \
    "Auto-Submitted: auto-replied\n"                                                                         \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: multipart/report; report-type=delivery-status;\n"                                         \
    "\tboundary=\"4VtXyZ0abc.1717402505/mx.customer.example\"\n"                                             \
    "Content-Transfer-Encoding: 8bit\n"                                                                      \
    "Message-Id: <20240603081505.4VtXyZ0abc@mx.customer.example>\n"                                          \
    "\n"                                                                                                     \
    "This is a MIME-encapsulated message.\n"                                                                 \
    "\n"                                                                                                     \
    "--4VtXyZ0abc.1717402505/mx.customer.example\n"                                                          \
    "Content-Description: Notification\n"                                                                    \
    "Content-Type: text/plain; charset=utf-8\n"                                                              \
    "Content-Transfer-Encoding: 8bit\n"                                                                      \
    "\n"                                                                                                     \
    "This is the mail system at host mx.customer.example.\n"                                                 \
    "\n"                                                                                                     \
    "I'm sorry to have to inform you that your message could not\n"                                          \
    "be delivered to one or more recipients.\n"                                                              \
    "\n"                                                                                                     \
    "<gone@customer.example>: host mail.customer.example[192.0.2.25] said: 550 5.1.1\n"                      \
    "    <gone@customer.example>: Recipient address rejected: User unknown\n"                                \
    "\n"                                                                                                     \
    "--4VtXyZ0abc.1717402505/mx.customer.example\n"                                                          \
    "Content-Description: Delivery report\n"                                                                 \
    "Content-Type: message/delivery-status\n"                                                                \
    "\n"                                                                                                     \
    "Reporting-MTA: dns; mx.customer.example\n"                                                              \
    "X-Postfix-Queue-ID: 4VtXyZ0abc\n"                                                                       \
    "Arrival-Date: Mon,  3 Jun 2024 08:15:03 +0000 (UTC)\n"                                                  \
    "\n"                                                                                                     \
    "Final-Recipient: rfc822; gone@customer.example\n"                                                       \
    "Original-Recipient: rfc822;gone@customer.example\n"                                                     \
    "Action: failed\n"                                                                                       \
    "Status: 5.1.1\n"                                                                                        \
    "Remote-MTA: dns; mail.customer.example\n"                                                               \
    "Diagnostic-Code: smtp; 550 5.1.1 <gone@customer.example>: Recipient address\n"                          \
    "    rejected: User unknown\n"                                                                           \
    "\n"                                                                                                     \
    "--4VtXyZ0abc.1717402505/mx.customer.example\n"                                                          \
    "Content-Description: Undelivered Message Headers\n"                                                     \
    "Content-Type: text/rfc822-headers\n"                                                                    \
    "\n"                                                                                                     \
    "From: Helpgate Support <support@example.com>\n"                                                         \
    "To: gone@customer.example\n"                                                                            \
    "Subject: [#1237] We received your request\n"                                                            \
    "Message-ID: <ack-1237@helpgate.example.com>\n"                                                          \
    "\n"                                                                                                     \
    "--4VtXyZ0abc.1717402505/mx.customer.example--\n"

#define EXCHANGE_ONLINE_NDR                                                                                  \
    "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>\n"          \
    "To: <support@example.com>\n"                                                                            \
    "Date: Mon, 3 Jun 2024 08:16:00 +0000\n"                                                                 \
    "Content-Type: multipart/report; report-type=delivery-status;\n"                                         \
    "\tboundary=\"ndr_boundary_0123\"\n"                                                                     \
    "X-MS-Exchange-Message-Is-Ndr:\n"                                                                        \
    "Content-Language: en-US\n"                                                                              \
    "Message-ID: <0c1d2e3f-ndr@AM6PR01MB1234.eurprd01.prod.outlook.com>\n"                                   \
    "In-Reply-To: <ack-1238@helpgate.example.com>\n"                                                         \
    "References: <ack-1238@helpgate.example.com>\n"                                                          \
    "Subject: Undeliverable: [#1238] We received your request\n"                                             \
    "Auto-Submitted: auto-replied\n"                                                                         \
    "MIME-Version: 1.0\n"                                                                                    \
    "\n"                                                                                                     \
    "--ndr_boundary_0123\n"                                                                                  \
    "Content-Type: text/plain; charset=\"us-ascii\"\n"                                                       \
    "\n"                                                                                                     \
    "Your message to gone@contoso.example couldn't be delivered.\n"                                          \
    "\n"                                                                                                     \
    "--ndr_boundary_0123\n"                                                                                  \
    "Content-Type: message/delivery-status\n"                                                                \
    "\n"                                                                                                     \
    "Reporting-MTA: dns;AM6PR01MB1234.eurprd01.prod.outlook.com\n"                                           \
    "\n"                                                                                                     \
    "Final-Recipient: rfc822;gone@contoso.example\n"                                                         \
    "Action: failed\n"                                                                                       \
    "Status: 5.1.10\n"                                                                                       \
    "\n"                                                                                                     \
    "--ndr_boundary_0123--\n"

#define GMAIL_BOUNCE                                                                                         \
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"                                         \
    "To: support@example.com\n"                                                                              \
    "Subject: Delivery Status Notification (Failure)\n"                                                      \
    "Date: Mon, 3 Jun 2024 01:17:00 -0700 (PDT)\n"                                                           \
    "Message-ID: <665d7a1c.abc.gmr-mx@mx.google.com>\n"                                                      \
    "X-Failed-Recipients: gone@gmail.com\n"                                                                  \
    "Auto-Submitted: auto-replied\n"                                                                         \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=\"UTF-8\"\n"                                                          \
    "\n"                                                                                                     \
    "Address not found\n"

#define READ_RECEIPT                                                                                         \
    "From: Bob Buyer <bob@contoso.example>\n"                                                                \
    "To: support@example.com\n"                                                                              \
    "Subject: Read: [#1234] Invoice 4711 is wrong\n"                                                         \
    "Date: Mon, 3 Jun 2024 09:10:00 +0000\n"                                                                 \
    "Message-ID: <mdn-77@contoso.example>\n"                                                                 \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"mdn\"\n"               \
    "\n"                                                                                                     \
    "--mdn\n"                                                                                                \
    "Content-Type: text/plain\n"                                                                             \
    "\n"                                                                                                     \
    "Your message was read on Monday.\n"                                                                     \
    "--mdn\n"                                                                                                \
    "Content-Type: message/disposition-notification\n"                                                       \
    "\n"                                                                                                     \
    "Final-Recipient: rfc822;bob@contoso.example\n"                                                          \
    "Disposition: manual-action/MDN-sent-manually; displayed\n"                                              \
    "--mdn--\n"

#define NEWSLETTER                                                                                           \
    "From: Shop News <news@shop.example>\n"                                                                  \
    "To: support@example.com\n"                                                                              \
    "Subject: 20% off this week\n"                                                                           \
    "Date: Mon, 3 Jun 2024 09:20:00 +0000\n"                                                                 \
    "Message-ID: <nl-2024-23.support=example.com@shop.example>\n"                                            \
    "List-Unsubscribe: <https://shop.example/u/abc123>, <mailto:unsub-abc123@shop.example>\n"                \
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"                                                    \
    "MIME-Version: 1.0\n"                                                                                    \
    "Content-Type: text/plain; charset=utf-8\n"                                                              \
    "\n"                                                                                                     \
    "Deals!\n"

/* A message with FROM (and EXTRA headers) and nothing remarkable otherwise. */
#define PLAIN(extra, from)                                                                                   \
    extra "From: " from "\n"                                                                                 \
          "To: support@example.com\n"                                                                        \
          "Subject: Help please\n"                                                                           \
          "Date: Mon, 3 Jun 2024 09:30:00 +0000\n"                                                           \
          "Message-ID: <m1@customer.example>\n"                                                              \
          "\n"                                                                                               \
          "Something is broken.\n"

#define GRACE "Grace <grace@customer.example>"

struct decide_case {
    const char *name;
    const char *raw;
    struct hg_ack_facts facts;
    const char *reason; /* NULL: HG_ACK_SEND */
    const char *to;
};

static const struct hg_ack_facts no_facts = {0};

static const struct decide_case decide_cases[] = {
    /* people: answer them */
    {"Gmail, a person", GMAIL_HUMAN, {0}, NULL, "ann.customer@gmail.com"},
    {"Outlook, a person", OUTLOOK_HUMAN, {0}, NULL, "bob@contoso.example"},
    {"a reply to our acknowledgement",
     PLAIN("In-Reply-To: <ack-1@helpgate.example.com>\n"
           "References: <ack-1@helpgate.example.com>\n",
           GRACE),
     {0},
     NULL,
     "grace@customer.example"},
    {"a colleague at our own domain", PLAIN("", "Alice <alice@example.com>"), {0}, NULL, "alice@example.com"},
    {"web form: noreply From, customer Reply-To",
     PLAIN("Reply-To: Frank <frank@gmail.com>\n", "Website <noreply@shop.example>"),
     {0},
     NULL,
     "frank@gmail.com"},
    {"Auto-Submitted: no", PLAIN("Auto-Submitted: no\n", GRACE), {0}, NULL, "grace@customer.example"},
    {"X-Autoreply: no", PLAIN("X-Autoreply: no\n", GRACE), {0}, NULL, "grace@customer.example"},
    {"Precedence: first-class",
     PLAIN("Precedence: first-class\n", GRACE),
     {0},
     NULL,
     "grace@customer.example"},
    {"X-Auto-Response-Suppress: DR, RN, NRN",
     PLAIN("X-Auto-Response-Suppress: DR, RN, NRN\n", GRACE),
     {0},
     NULL,
     "grace@customer.example"},
    {"another installation's loop value",
     PLAIN("X-Helpgate-Loop: other-desk\n", GRACE),
     {0},
     NULL,
     "grace@customer.example"},
    {"X-Loop naming someone else",
     PLAIN("X-Loop: robot@elsewhere.example\n", GRACE),
     {0},
     NULL,
     "grace@customer.example"},
    {"an unmarked help desk, first time", UNMARKED_DESK_ACK, {0}, NULL, "servicedesk@initech.example"},

    /* our own mail and loops */
    {"our own Message-ID came back",
     PLAIN("Message-ID: <ack-9@helpgate.example.com>\n", GRACE),
     {0},
     "own_message_id",
     "grace@customer.example"},
    {"our loop header",
     PLAIN("X-Helpgate-Loop: example-helpdesk\n", GRACE),
     {0},
     "loop_header",
     "grace@customer.example"},
    {"our loop header, other case",
     PLAIN("X-Helpgate-Loop: Example-Helpdesk\n", GRACE),
     {0},
     "loop_header",
     "grace@customer.example"},
    {"X-Loop naming our address",
     PLAIN("X-Loop: support@example.com\n", GRACE),
     {0},
     "loop_header",
     "grace@customer.example"},
    {"X-Loop naming our plus-address",
     PLAIN("X-Loop: <help+99@example.com>\n", GRACE),
     {0},
     "loop_header",
     "grace@customer.example"},
    {"From our support address",
     PLAIN("", "Support <support@example.com>"),
     {0},
     "own_address",
     "support@example.com"},
    {"From our plus-address, upper case",
     PLAIN("", "SUPPORT+1234@Example.com"),
     {0},
     "own_address",
     "SUPPORT+1234@example.com"},
    {"From a role mailbox of our subdomain",
     PLAIN("", "postmaster@mx1.example.com"),
     {0},
     "own_address",
     "postmaster@mx1.example.com"},
    {"Reply-To our address",
     PLAIN("Reply-To: support@example.com\n", GRACE),
     {0},
     "own_address",
     "support@example.com"},

    /* bounces */
    {"Postfix DSN", POSTFIX_DSN, {0}, "bounce", "MAILER-DAEMON@mx.customer.example"},
    {"Exchange Online NDR",
     EXCHANGE_ONLINE_NDR,
     {0},
     "bounce",
     "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example"},
    {"Gmail bounce", GMAIL_BOUNCE, {0}, "bounce", "mailer-daemon@googlemail.com"},
    {"our own MTA's bounce",
     PLAIN("X-Failed-Recipients: gone@customer.example\n", "MAILER-DAEMON@mx.example.com"),
     {0},
     "bounce",
     "MAILER-DAEMON@mx.example.com"},

    /* auto-replies */
    {"Exchange out-of-office", EXCHANGE_OOF, {0}, "auto_submitted", "bob@contoso.example"},
    {"Outlook out-of-office without Auto-Submitted",
     OUTLOOK_OOF_OLD,
     {0},
     "suppressed_by_sender",
     "carl@fabrikam.example"},
    {"Gmail vacation", GMAIL_VACATION, {0}, "auto_submitted", "dora@gmail.com"},
    {"osTicket-style acknowledgement", OSTICKET_ACK, {0}, "auto_submitted", "support@vendor.example"},
    {"Zendesk-style acknowledgement",
     ZENDESK_STYLE_ACK,
     {0},
     "auto_submitted",
     "support+id4711@acme.zendesk.example"},
    {"Freshdesk-style acknowledgement", FRESHDESK_STYLE_ACK, {0}, "list", "help@globex.example"},
    {"read receipt", READ_RECEIPT, {0}, "auto_submitted", "bob@contoso.example"},
    {"Auto-Submitted with parameters",
     PLAIN("Auto-Submitted: auto-replied; owner-email=\"robot@x.example\"\n", GRACE),
     {0},
     "auto_submitted",
     "grace@customer.example"},
    {"Auto-Submitted empty",
     PLAIN("Auto-Submitted:\n", GRACE),
     {0},
     "auto_submitted",
     "grace@customer.example"},
    {"Auto-Submitted with a comment",
     PLAIN("Auto-Submitted: Auto-Generated (cron)\n", GRACE),
     {0},
     "auto_submitted",
     "grace@customer.example"},
    {"X-Autoreply: yes", PLAIN("X-Autoreply: yes\n", GRACE), {0}, "auto_submitted", "grace@customer.example"},
    {"Precedence: auto_reply",
     PLAIN("Precedence: auto_reply\n", GRACE),
     {0},
     "auto_submitted",
     "grace@customer.example"},
    {"subject only",
     PLAIN("Subject: Out of Office: Help please\n", GRACE),
     {0},
     "auto_submitted",
     "grace@customer.example"},
    {"X-Auto-Response-Suppress: OOF, AutoReply",
     PLAIN("X-Auto-Response-Suppress: OOF, AutoReply\n", GRACE),
     {0},
     "suppressed_by_sender",
     "grace@customer.example"},

    /* lists and bulk */
    {"Mailman 3 post", MAILMAN3_POST, {0}, "list", "dave@example.net"},
    {"Google Groups post", GOOGLE_GROUPS_POST, {0}, "list", "erin@corp.example"},
    {"newsletter", NEWSLETTER, {0}, "list", "news@shop.example"},
    {"Precedence: junk", PLAIN("Precedence: junk\n", GRACE), {0}, "list", "grace@customer.example"},
    {"X-Mailing-List",
     PLAIN("X-Mailing-List: <linux-kernel@vger.example>\n", GRACE),
     {0},
     "list",
     "grace@customer.example"},

    /* senders */
    {"Return-Path: <>", PLAIN("Return-Path: <>\n", GRACE), {0}, "null_sender", "grace@customer.example"},
    {"no From", PLAIN("", "") /* "From: " with nothing */, {0}, "null_sender", NULL},
    {"From: undisclosed group", PLAIN("", "undisclosed-recipients:;"), {0}, "null_sender", NULL},
    {"From a host without a domain", PLAIN("", "root@localhost"), {0}, "null_sender", NULL},
    {"noreply without Reply-To",
     PLAIN("", "Shop <no-reply@shop.example>"),
     {0},
     "noreply_sender",
     "no-reply@shop.example"},
    {"VERP bounce address",
     PLAIN("", "bounces+123-abc=example.com@mail.shop.example"),
     {0},
     "noreply_sender",
     "bounces+123-abc=example.com@mail.shop.example"},
    {"list request address",
     PLAIN("", "users-request@lists.example.org"),
     {0},
     "noreply_sender",
     "users-request@lists.example.org"},

    /* facts */
    {"an agent", PLAIN("", GRACE), {.is_agent = true}, "agent", "grace@customer.example"},
    {"already acknowledged",
     PLAIN("", GRACE),
     {.ticket_already_acknowledged = true},
     "already_acknowledged",
     "grace@customer.example"},
    {"ticket cap reached", PLAIN("", GRACE), {.auto_on_ticket = 10}, "ticket_cap", "grace@customer.example"},
    {"ticket cap not reached", PLAIN("", GRACE), {.auto_on_ticket = 9}, NULL, "grace@customer.example"},
    {"sender throttled",
     PLAIN("", GRACE),
     {.recent_auto_to_sender = 5},
     "sender_throttled",
     "grace@customer.example"},
    {"sender not throttled", PLAIN("", GRACE), {.recent_auto_to_sender = 4}, NULL, "grace@customer.example"},
    {"an unmarked help desk, the sixth time in an hour",
     UNMARKED_DESK_ACK,
     {.recent_auto_to_sender = 5},
     "sender_throttled",
     "servicedesk@initech.example"},
    {"agent before the caps",
     PLAIN("", GRACE),
     {.is_agent = true, .auto_on_ticket = 99},
     "agent",
     "grace@customer.example"},
    {"headers before facts", EXCHANGE_OOF, {.is_agent = true}, "auto_submitted", "bob@contoso.example"},
};

static bool printable_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7F)
            return false;
    return true;
}

static void check_decision(const struct hg_ack_decision *d, const char *name, const char *reason,
                           const char *to)
{
    char label[200];
    snprintf(label, sizeof label, "%s: %s", name, reason != NULL ? reason : "send");
    bool same = d->verdict == (reason != NULL ? HG_ACK_SKIP : HG_ACK_SEND) &&
                (reason == NULL ? d->reason == NULL : d->reason != NULL && strcmp(d->reason, reason) == 0);
    ok(same, "%s", label);
    if (!same)
        printf("#   got: %s %s (%s)\n", d->verdict == HG_ACK_SEND ? "send" : "skip",
               d->reason != NULL ? d->reason : "-", d->detail);
    snprintf(label, sizeof label, "%s: to", name);
    is_str(d->to, to, label);
    ok(d->detail[0] != '\0' && printable_ascii(d->detail), "%s: detail \"%s\"", name, d->detail);
}

static void test_decide(void)
{
    struct hg_ackpolicy *p = make_policy(0, 0);
    for (size_t i = 0; i < sizeof decide_cases / sizeof decide_cases[0]; i++) {
        const struct decide_case *c = &decide_cases[i];
        struct hg_mail *m = hg_mail_parse(c->raw, strlen(c->raw), NULL);
        struct hg_ack_decision d;
        memset(&d, 0xA5, sizeof d);
        hg_ackpolicy_decide(p, m, &c->facts, &d);
        check_decision(&d, c->name, c->reason, c->to);
        hg_mail_free(&m);
    }
    hg_ackpolicy_free(&p);
    ok(p == NULL, "free sets NULL");
    hg_ackpolicy_free(&p);
    ok(p == NULL, "free twice is harmless");
}

/* The detail names what decided, so a log line explains itself. */
static void test_details(void)
{
    static const struct {
        const char *raw;
        const char *want;
    } cases[] = {
        {EXCHANGE_OOF, "Auto-Submitted: auto-generated"},
        {OUTLOOK_OOF_OLD, "X-Auto-Response-Suppress: All"},
        {MAILMAN3_POST, "List-Id: Users of Foo <users.lists.example.org>"},
        {POSTFIX_DSN, "a bounce (multipart/report: delivery-status)"},
        {READ_RECEIPT, "multipart/report: disposition-notification"},
        {PLAIN("Return-Path: <>\n", GRACE), "Return-Path: <> (a null reverse-path)"},
        {PLAIN("", "Shop <no-reply@shop.example>"), "no-reply@shop.example matches the no-reply pattern"},
        {PLAIN("", GRACE), "send to grace@customer.example"},
        {PLAIN("", "root@localhost"), "From and Reply-To hold no valid address to answer"},
        {PLAIN("", "Support <support@example.com>"), "From support@example.com is one of our addresses"},
        {NEWSLETTER, "List-Unsubscribe: <https://shop.example/u/abc123>, <mailto:unsub-abc123@shop.e..."},
        {PLAIN("Auto-Submitted: auto-r\xC3\xA9plied\n", GRACE), "Auto-Submitted: auto-r??plied"},
    };
    struct hg_ackpolicy *p = make_policy(0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_mail *m = hg_mail_parse(cases[i].raw, strlen(cases[i].raw), NULL);
        struct hg_ack_decision d;
        hg_ackpolicy_decide(p, m, NULL, &d);
        const char *want = cases[i].want;
        if (!ok(strstr(d.detail, want) != NULL, "detail holds \"%s\"", want))
            printf("#   detail: %s\n", d.detail);
        hg_mail_free(&m);
    }
    struct hg_ack_facts f = {.recent_auto_to_sender = 7};
    struct hg_ack_decision d;
    hg_ackpolicy_decide_address(p, "grace@customer.example", &f, &d);
    is_str(d.detail, "7 automatic mails to grace@customer.example in the last hour (at most 5)",
           "throttle detail");
    f = (struct hg_ack_facts){.auto_on_ticket = 12};
    hg_ackpolicy_decide_address(p, "grace@customer.example", &f, &d);
    is_str(d.detail, "12 automatic mails on this ticket (at most 10)", "cap detail");
    hg_ackpolicy_free(&p);
}

/* ------------------------------------------------------------------------ */
/* The address to answer.                                                   */

static void test_reply_address(void)
{
    static const struct {
        const char *name;
        const char *raw;
        const char *want;
    } cases[] = {
        {"From only", PLAIN("", GRACE), "grace@customer.example"},
        {"Reply-To wins", PLAIN("Reply-To: Hank <hank@customer.example>\n", GRACE), "hank@customer.example"},
        {"first of several Reply-To", PLAIN("Reply-To: a@one.example, b@two.example\n", GRACE),
         "a@one.example"},
        {"invalid Reply-To falls back to From", PLAIN("Reply-To: nobody\n", GRACE), "grace@customer.example"},
        {"empty Reply-To group falls back to From", PLAIN("Reply-To: undisclosed-recipients:;\n", GRACE),
         "grace@customer.example"},
        {"list Reply-To skipped (List-Post)", MAILMAN3_POST, "dave@example.net"},
        {"list Reply-To skipped, next one taken",
         PLAIN("List-Post: <mailto:users@lists.example.org>\n"
               "Reply-To: users@lists.example.org, Ivy <ivy@customer.example>\n",
               GRACE),
         "ivy@customer.example"},
        {"list Reply-To skipped (List-Id only)",
         PLAIN("List-Id: <users.lists.example.org>\nReply-To: Users@Lists.example.org\n", GRACE),
         "grace@customer.example"},
        {"list Reply-To skipped (X-Mailing-List)",
         PLAIN("X-Mailing-List: <users@lists.example.org>\nReply-To: users@lists.example.org\n", GRACE),
         "grace@customer.example"},
        {"Google Groups: the person, not the group", GOOGLE_GROUPS_POST, "erin@corp.example"},
        {"From is the list and no Reply-To",
         PLAIN("List-Id: <support-users.googlegroups.com>\n", "Group <support-users@googlegroups.com>"),
         NULL},
        {"no address at all", "Subject: x\n\nbody\n", NULL},
        {"From with a non-ASCII local part", PLAIN("", "J\xC3\xB6rg <j\xC3\xB6rg@customer.example>"), NULL},
        {"From with a quoted local part", PLAIN("", "\"john doe\"@customer.example"), NULL},
        {"From with a domain literal", PLAIN("", "ops@[192.0.2.1]"), "ops@[192.0.2.1]"},
        {"From with a trailing dot", PLAIN("", "kim@customer.example."), NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_mail *m = hg_mail_parse(cases[i].raw, strlen(cases[i].raw), NULL);
        is_str(hg_ackpolicy_reply_address(m), cases[i].want, cases[i].name);
        hg_mail_free(&m);
    }
}

/* ------------------------------------------------------------------------ */
/* Settings.                                                                */

static char *new_error(const struct hg_ackpolicy_config *cfg)
{
    static int sentinel;
    struct hg_ackpolicy *p = (struct hg_ackpolicy *)&sentinel;
    char *error = NULL;
    int rc = hg_ackpolicy_new(cfg, &p, &error);
    ok(rc == -1 && p == NULL && error != NULL, "the settings are refused");
    return error;
}

static void expect_in(const char *error, const char *want)
{
    bool found = error != NULL && strstr(error, want) != NULL;
    ok(found, "error holds \"%s\"", want);
    if (!found)
        printf("#   error: %s\n", error != NULL ? error : "(none)");
}

static void test_config_errors(void)
{
    struct hg_ackpolicy_config cfg = {0};
    char *error = new_error(&cfg);
    expect_in(error, "own_addresses: none given (list the support mailboxes");
    free(error);

    static const char *const bad_own[] = {"support at example.com", "ok@example.com", NULL};
    cfg = (struct hg_ackpolicy_config){
        .own_addresses = bad_own,
        .n_own_addresses = 3,
        .own_domain = "@example.com",
        .loop_value = "desk\r\nBcc: victim@example.org",
        .message_id_suffix = "helpgate.example.com",
        .noreply_pattern = "^(no-reply",
    };
    error = new_error(&cfg);
    expect_in(error,
              "own_addresses: \"support at example.com\" is not an address (write support@example.com)");
    expect_in(error, "own_addresses: \"(null)\" is not an address");
    expect_in(error, "own_domain: \"@example.com\" is not a domain name");
    expect_in(error, "loop_value: must be 1 to 200 characters of printable ASCII on one line");
    expect_in(error, "message_id_suffix: \"helpgate.example.com\" is not the end of a Message-ID");
    expect_in(error, "noreply_pattern: missing closing parenthesis at offset 10");
    size_t lines = 1;
    for (const char *c = error; c != NULL && *c != '\0'; c++)
        lines += *c == '\n';
    is_int((long long)lines, 6, "one line per problem");
    free(error);

    static const char *const one[] = {"support@example.com"};
    cfg = (struct hg_ackpolicy_config){.own_addresses = one, .n_own_addresses = 1, .loop_value = " padded"};
    error = new_error(&cfg);
    expect_in(error, "loop_value: must be");
    free(error);
    cfg.loop_value = "";
    error = new_error(&cfg);
    expect_in(error, "loop_value: must be");
    free(error);
    cfg.loop_value = NULL;
    cfg.noreply_pattern = "[z-a]";
    error = new_error(&cfg);
    expect_in(error, "noreply_pattern: range out of order in character class at offset 3");
    free(error);
}

static void test_config_defaults(void)
{
    static const char *const one[] = {"Desk <desk@example.org>"};
    struct hg_ackpolicy_config cfg = {.own_addresses = one, .n_own_addresses = 1};
    struct hg_ackpolicy *p = NULL;
    char *error = NULL;
    is_int(hg_ackpolicy_new(&cfg, &p, &error), 0, "only an own address is needed");
    struct hg_ack_header h[HG_ACK_MAX_HEADERS];
    size_t n = hg_ackpolicy_headers(p, HG_ACK_MAIL_ACK, h);
    ok(n == 3 && strcmp(h[1].name, "X-Helpgate-Loop") == 0 && strcmp(h[1].value, "desk@example.org") == 0,
       "the loop value defaults to the first own address");
    ok(!hg_ackpolicy_is_own_message_id(p, "ack-1@helpgate.example.org"), "no suffix: no id is ours");
    ok(!hg_ackpolicy_is_own_address(p, "postmaster@example.org"), "no own_domain: no role mailboxes");
    ok(hg_ackpolicy_is_own_address(p, "DESK+7@example.org"), "own plus-address");
    struct hg_ack_decision d;
    struct hg_ack_facts f = {.recent_auto_to_sender = 4, .auto_on_ticket = 9};
    hg_ackpolicy_decide_address(p, "x@customer.example", &f, &d);
    ok(d.verdict == HG_ACK_SEND, "default limits: 4 per hour and 9 per ticket pass");
    f.recent_auto_to_sender = HG_ACKPOLICY_DEFAULT_PER_SENDER_HOUR;
    hg_ackpolicy_decide_address(p, "x@customer.example", &f, &d);
    is_str(d.reason, "sender_throttled", "default per-sender limit");
    hg_ackpolicy_free(&p);

    p = make_policy(1, 2);
    f = (struct hg_ack_facts){.recent_auto_to_sender = 1};
    hg_ackpolicy_decide_address(p, "x@customer.example", &f, &d);
    is_str(d.reason, "sender_throttled", "custom per-sender limit 1");
    f = (struct hg_ack_facts){.auto_on_ticket = 2};
    hg_ackpolicy_decide_address(p, "x@customer.example", &f, &d);
    is_str(d.reason, "ticket_cap", "custom per-ticket cap 2");
    hg_ackpolicy_free(&p);
}

/* ------------------------------------------------------------------------ */
/* The no-reply pattern, own addresses and ids.                             */

static void test_noreply_pattern(void)
{
    static const struct {
        const char *address;
        bool noreply;
    } cases[] = {
        {"noreply@x.example", true},
        {"no-reply@x.example", true},
        {"No_Reply@x.example", true},
        {"no.reply@x.example", true},
        {"NOREPLY+tag@x.example", true},
        {"noreply-alerts@x.example", true},
        {"do-not-reply@x.example", true},
        {"donotreply@x.example", true},
        {"MAILER-DAEMON@x.example", true},
        {"mailer_daemon@x.example", true},
        {"postmaster@x.example", true},
        {"bounce@x.example", true},
        {"bounces+abc=example.com@x.example", true},
        {"bounce-123-xyz@x.example", true},
        {"users-bounces@lists.x.example", true},
        {"users-request@lists.x.example", true},
        {"users-owner@lists.x.example", true},
        {"owner-users@x.example", true},
        {"listserv@x.example", true},
        {"Majordomo@x.example", true},
        {"norbert@x.example", false},
        {"replyguy@x.example", false},
        {"noreplyfan@x.example", false},
        {"bounce.ann@x.example", false},
        {"alice@noreply.example", false},
        {"request@x.example", false},
        {"postmasters@x.example", false},
        {"grace@customer.example", false},
    };
    struct hg_ackpolicy *p = make_policy(0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct hg_ack_decision d;
        hg_ackpolicy_decide_address(p, cases[i].address, NULL, &d);
        bool noreply = d.reason != NULL && strcmp(d.reason, "noreply_sender") == 0;
        ok(noreply == cases[i].noreply, "default pattern: %s is %sa no-reply sender", cases[i].address,
           cases[i].noreply ? "" : "not ");
    }
    hg_ackpolicy_free(&p);

    static const char *const one[] = {"support@example.com"};
    struct hg_ackpolicy_config cfg = {
        .own_addresses = one, .n_own_addresses = 1, .noreply_pattern = "^robot@"};
    char *error = NULL;
    is_int(hg_ackpolicy_new(&cfg, &p, &error), 0, "custom pattern compiles");
    struct hg_ack_decision d;
    hg_ackpolicy_decide_address(p, "ROBOT@x.example", NULL, &d);
    is_str(d.reason, "noreply_sender", "custom pattern matches without regard to case");
    hg_ackpolicy_decide_address(p, "noreply@x.example", NULL, &d);
    ok(d.verdict == HG_ACK_SEND, "custom pattern replaces the default");
    hg_ackpolicy_free(&p);

    /* Catastrophic backtracking hits the match limit: counted as a match. */
    cfg.noreply_pattern = "^(a+)+@x$";
    is_int(hg_ackpolicy_new(&cfg, &p, &error), 0, "backtracking pattern compiles");
    hg_ackpolicy_decide_address(p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example", NULL, &d);
    is_str(d.reason, "noreply_sender", "a pattern that gives up counts as a match");
    ok(strstr(d.detail, "gave up") != NULL, "and says so: %s", d.detail);
    hg_ackpolicy_free(&p);
}

static void test_own(void)
{
    static const struct {
        const char *email;
        bool own;
    } addresses[] = {
        {"support@example.com", true},
        {"Support@EXAMPLE.com", true},
        {"support+1234@example.com", true},
        {"support+t1234.abcdef@example.com", true},
        {"help@example.com", true},
        {"postmaster@example.com", true},
        {"MAILER-DAEMON@example.com", true},
        {"abuse@mail.example.com", true},
        {"noreply+x@example.com", true},
        {"supporter@example.com", false},
        {"support@example.org", false},
        {"support@notexample.com", false},
        {"postmaster@notexample.com", false},
        {"alice@example.com", false},
        {"support", false},
        {"", false},
    };
    struct hg_ackpolicy *p = make_policy(0, 0);
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++)
        ok(hg_ackpolicy_is_own_address(p, addresses[i].email) == addresses[i].own, "%s is %sours",
           addresses[i].email, addresses[i].own ? "" : "not ");
    ok(!hg_ackpolicy_is_own_address(p, NULL), "NULL is not ours");
    ok(hg_ackpolicy_is_own_message_id(p, "ack-1@helpgate.example.com"), "our message id");
    ok(hg_ackpolicy_is_own_message_id(p, "ACK-1@HELPGATE.EXAMPLE.COM"), "our message id, upper case");
    ok(!hg_ackpolicy_is_own_message_id(p, "ack-1@example.com"), "another id of our domain");
    ok(!hg_ackpolicy_is_own_message_id(p, "x@helpgate.example.com.evil.example"), "a longer domain");
    ok(!hg_ackpolicy_is_own_message_id(p, NULL), "NULL id");

    /* A made-up Message-ID is never ours, whatever the suffix. */
    const char *raw = "From: Grace <grace@customer.example>\nSubject: x\n\nbody\n";
    struct hg_mail *m = hg_mail_parse(raw, strlen(raw), NULL);
    struct hg_ack_decision d;
    hg_ackpolicy_decide(p, m, NULL, &d);
    ok(m->message_id_generated && d.verdict == HG_ACK_SEND, "generated message id: send");
    hg_mail_free(&m);
    hg_ackpolicy_free(&p);
}

/* ------------------------------------------------------------------------ */
/* What we send.                                                            */

/* An acknowledgement as we would send it, FROM and MSGID changed as a forwarder might. */
static void own_ack(char *raw, size_t size, const struct hg_ackpolicy *p, const char *from, const char *msgid)
{
    struct hg_ack_header h[HG_ACK_MAX_HEADERS];
    size_t n = hg_ackpolicy_headers(p, HG_ACK_MAIL_ACK, h);
    int len =
        snprintf(raw, size, "From: %s\nTo: grace@customer.example\nMessage-ID: <%s>\nAuto-Submitted: %s\n",
                 from, msgid, hg_ackpolicy_auto_submitted(HG_ACK_MAIL_ACK));
    for (size_t i = 0; i < n; i++)
        len += snprintf(raw + len, size - (size_t)len, "%s: %s\n", h[i].name, h[i].value);
    snprintf(raw + len, size - (size_t)len, "Subject: [#5] received\n\nThanks.\n");
}

static void test_headers(void)
{
    struct hg_ackpolicy *p = make_policy(0, 0);
    struct hg_ack_header h[HG_ACK_MAX_HEADERS];
    size_t n = hg_ackpolicy_headers(p, HG_ACK_MAIL_ACK, h);
    is_int((long long)n, 3, "acknowledgement: three extra headers");
    ok(n == 3 && strcmp(h[0].name, "X-Auto-Response-Suppress") == 0 && strcmp(h[0].value, "All") == 0 &&
           strcmp(h[1].name, "X-Helpgate-Loop") == 0 && strcmp(h[1].value, "example-helpdesk") == 0 &&
           strcmp(h[2].name, "X-Loop") == 0 && strcmp(h[2].value, "support@example.com") == 0,
       "acknowledgement: suppress, loop, X-Loop");
    is_str(hg_ackpolicy_auto_submitted(HG_ACK_MAIL_ACK), "auto-replied", "acknowledgement: auto-replied");
    n = hg_ackpolicy_headers(p, HG_ACK_MAIL_NOTIFICATION, h);
    ok(n == 3 && strcmp(h[0].name, "X-Auto-Response-Suppress") == 0, "notification: the same three");
    is_str(hg_ackpolicy_auto_submitted(HG_ACK_MAIL_NOTIFICATION), "auto-generated",
           "notification: auto-generated");
    n = hg_ackpolicy_headers(p, HG_ACK_MAIL_RELAY, h);
    ok(n == 2 && strcmp(h[0].name, "X-Helpgate-Loop") == 0 && strcmp(h[1].name, "X-Loop") == 0,
       "relay: loop headers only");
    is_str(hg_ackpolicy_auto_submitted(HG_ACK_MAIL_RELAY), NULL, "relay: no Auto-Submitted");
    for (int kind = HG_ACK_MAIL_ACK; kind <= HG_ACK_MAIL_RELAY; kind++) {
        n = hg_ackpolicy_headers(p, (enum hg_ack_mail_kind)kind, h);
        bool precedence = false;
        for (size_t i = 0; i < n; i++)
            precedence = precedence || strcasecmp(h[i].name, "Precedence") == 0;
        ok(!precedence, "kind %d: no Precedence", kind);
    }

    /* Our own acknowledgement, should it come back, is recognised by every sign it carries. */
    char raw[1024];
    own_ack(raw, sizeof raw, p, "Support <support@example.com>", "ack-5@helpgate.example.com");
    struct hg_mail *m = hg_mail_parse(raw, strlen(raw), NULL);
    struct hg_ack_decision d;
    hg_ackpolicy_decide(p, m, NULL, &d);
    is_str(d.reason, "own_message_id", "our acknowledgement coming back");
    hg_mail_free(&m);
    own_ack(raw, sizeof raw, p, "Fwd <fwd@customer.example>", "fwd-5@customer.example");
    m = hg_mail_parse(raw, strlen(raw), NULL);
    hg_ackpolicy_decide(p, m, NULL, &d);
    is_str(d.reason, "loop_header", "our acknowledgement forwarded back with a new From and Message-ID");
    hg_mail_free(&m);
    hg_ackpolicy_free(&p);
}

/* ------------------------------------------------------------------------ */
/* Hostile and odd input.                                                   */

static void test_hostile(void)
{
    struct hg_ackpolicy *p = make_policy(0, 0);
    struct hg_ack_decision d;
    struct hg_mail *m = hg_mail_parse(NULL, 0, NULL);
    hg_ackpolicy_decide(p, m, &no_facts, &d);
    ok(d.verdict == HG_ACK_SKIP && strcmp(d.reason, "null_sender") == 0 && d.to == NULL, "empty message");
    hg_mail_free(&m);

    static const char *const addresses[] = {
        NULL,           "",   "a@b", "@x.example", "x@", "a@@x.example", "a b@x.example", "a@x..example",
        "a@.x.example", "a@-"};
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++) {
        hg_ackpolicy_decide_address(p, addresses[i], NULL, &d);
        ok(d.verdict == HG_ACK_SKIP && strcmp(d.reason, "null_sender") == 0, "address \"%s\": null_sender",
           addresses[i] != NULL ? addresses[i] : "(NULL)");
    }
    char long_local[80];
    memset(long_local, 'a', 65);
    strcpy(long_local + 65, "@x.example");
    hg_ackpolicy_decide_address(p, long_local, NULL, &d);
    is_str(d.reason, "null_sender", "a local part of 65 characters");
    char long_address[300];
    memset(long_address, 'b', 250);
    memcpy(long_address, "c@", 2);
    strcpy(long_address + 250, ".example");
    hg_ackpolicy_decide_address(p, long_address, NULL, &d);
    is_str(d.reason, "null_sender", "an address of 258 characters");
    hg_ackpolicy_decide_address(p, "chat-visitor@customer.example", NULL, &d);
    ok(d.verdict == HG_ACK_SEND && strcmp(d.to, "chat-visitor@customer.example") == 0,
       "a chat visitor's address");

    /* Hundreds of headers and a long X-Loop stay cheap and are read safely. */
    size_t cap = 400000, len = 0;
    char *raw = malloc(cap);
    for (int i = 0; i < 150; i++)
        len += (size_t)snprintf(raw + len, cap - len, "X-Noise-%d: %d\n", i, i);
    len += (size_t)snprintf(raw + len, cap - len, "X-Loop: ");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(raw + len, cap - len, "<a%d@x.example>, ", i);
    len += (size_t)snprintf(raw + len, cap - len, "\nFrom: " GRACE "\nSubject: x\n\nbody\n");
    m = hg_mail_parse(raw, len, NULL);
    hg_ackpolicy_decide(p, m, NULL, &d);
    ok(d.verdict == HG_ACK_SEND, "150 headers and a long X-Loop: %s", d.detail);
    hg_mail_free(&m);

    /* A thousand list addresses in Reply-To and List-Post: only the first ten are tried. */
    len = (size_t)snprintf(raw, cap, "List-Post: ");
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(raw + len, cap - len, "<mailto:l%d@lists.example.org>, ", i);
    len += (size_t)snprintf(raw + len, cap - len, "\nReply-To: ");
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(raw + len, cap - len, "l%d@lists.example.org, ", i);
    len +=
        (size_t)snprintf(raw + len, cap - len, "ivy@customer.example\nFrom: " GRACE "\nSubject: x\n\nbody\n");
    m = hg_mail_parse(raw, len, NULL);
    clock_t start = clock();
    const char *to = hg_ackpolicy_reply_address(m);
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    is_str(to, "grace@customer.example", "1000 list addresses in Reply-To: From is answered");
    ok(seconds < 0.5, "in %.3f s", seconds);
    hg_mail_free(&m);
    free(raw);
    hg_ackpolicy_free(&p);
}

int main(void)
{
    test_decide();
    test_details();
    test_reply_address();
    test_config_errors();
    test_config_defaults();
    test_noreply_pattern();
    test_own();
    test_headers();
    test_hostile();
    return tap_done();
}
