#!/usr/bin/env python3
"""Writes the mail normalizer's test messages: NAME.eml and NAME.expect.json.

Each case is one quirk of real-world mail. The expectations are written by
hand here (hashes and sizes of attachment bytes are computed from the bytes
this script puts in the message), never copied from the parser's output.
An expect file holds only the fields its case checks; keys starting with
"_" configure the test (see tests/unit/test-mail.c). "warning_codes" is the
sorted set of warning codes the record must carry: [] means no warning.

Run from anywhere: python3 tests/data/mail/generate.py
"""
import base64
import hashlib
import json
import os
import quopri
import struct

OUT = os.path.dirname(os.path.abspath(__file__))
CASES = []

STD_DATE = "Mon, 03 Jun 2024 10:00:00 +0000"
STD_ISO = "2024-06-03T10:00:00Z"


def case(name, raw, **expect):
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    CASES.append((name, raw, expect))


def headers(name, subject="Test", extra="", ctype="Content-Type: text/plain; charset=us-ascii\n",
            frm="Ann Example <ann@example.com>", to="support@example.com"):
    return ("From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <%s@example.com>\n"
            "MIME-Version: 1.0\n%s%s\n" % (frm, to, subject, STD_DATE, name, extra, ctype))


def simple(name, body="Hello,\nthis is a test.\n", **kw):
    return headers(name, **kw) + body


def att(data, filename, ctype, content_id=None, inline=False, truncated=False, size=None):
    return {"filename": filename, "content_type": ctype, "size": len(data) if size is None else size,
            "content_id": content_id, "inline": inline,
            "sha256": hashlib.sha256(data).hexdigest(), "truncated": truncated}


def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\n"


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes((i * 7) % 256 for i in range(600))

# ---------------------------------------------------------------- basics

case("basic-plain", simple("basic-plain", subject="Printer on floor 3 is jammed",
                           body="Hello,\n\nthe printer is jammed again.\n\nThanks,\nAnn\n"),
     message_id="basic-plain@example.com", message_id_generated=False, date=STD_ISO,
     subject="Printer on floor 3 is jammed",
     **{"from": {"name": "Ann Example", "email": "ann@example.com"}},
     to=[{"name": None, "email": "support@example.com"}], cc=[], reply_to=[], sender=None,
     content_type="text/plain", body_text="Hello,\n\nthe printer is jammed again.\n\nThanks,\nAnn",
     body_html=None, attachments=[], ticket_tag=None, auto=None, in_reply_to=None, references=[],
     warning_codes=[])

case("crlf-line-ends", simple("crlf", body="Line one\nLine two\n").replace("\n", "\r\n"),
     message_id="crlf@example.com", body_text="Line one\nLine two", date=STD_ISO, warning_codes=[])

case("mixed-line-ends", ("From: ann@example.com\r\nTo: support@example.com\nSubject: mixed\r\n"
                         "Date: " + STD_DATE + "\n\r\none\r\ntwo\nthree\rfour\n"),
     subject="mixed", body_text="one\ntwo\nthree\nfour", warning_codes=["message_id_generated"],
     _no_replay=True)

case("empty-message", b"", message_id_generated=True, subject="", body_text="", reply_text="",
     content_type="text/plain", attachments=[], date=None, auto=None,
     warning_codes=["date_missing", "from_missing", "message_id_generated"])

case("headers-only", "From: ann@example.com\nSubject: nothing else\n",
     subject="nothing else", body_text="", **{"from": {"name": None, "email": "ann@example.com"}})

case("no-headers-just-text", "Just some text without any header.\nSecond line.\n",
     body_text="Just some text without any header.\nSecond line.", subject="",
     warning_codes=["date_missing", "from_missing", "header_repaired", "message_id_generated"])

case("mbox-from-line", "From ann@example.com Mon Jun  3 10:00:00 2024\n" + simple("mbox"),
     message_id="mbox@example.com", subject="Test", warning_codes=["header_repaired"])

case("no-blank-line-after-header",
     "From: ann@example.com\nSubject: no separator\nDate: " + STD_DATE + "\nMessage-ID: <nb@x>\n"
     "Hello there, no blank line\nsecond\n",
     subject="no separator", body_text="Hello there, no blank line\nsecond", warning_codes=["header_repaired"])

case("header-bad-folding",
     "From: ann@example.com\nSubject: a subject that was\nwrapped badly\nDate: " + STD_DATE +
     "\nMessage-ID: <bf@x>\n\nbody\n",
     subject="a subject that was wrapped badly", body_text="body", date=STD_ISO, warning_codes=["header_repaired"])

case("header-space-before-colon",
     "From : ann@example.com\nSubject : spaced\nDate: " + STD_DATE + "\nMessage-ID: <sp@x>\n\nbody\n",
     subject="spaced", **{"from": {"name": None, "email": "ann@example.com"}}, warning_codes=[])

case("folded-subject",
     headers("fold", subject="A subject\n\tfolded over\n   three lines") + "body\n",
     subject="A subject folded over three lines", warning_codes=[])

case("duplicate-headers",
     "From: ann@example.com\nSubject: first\nSubject: second\nDate: " + STD_DATE +
     "\nMessage-ID: <dup@x>\n\nbody\n", subject="first")

case("long-header-line",
     headers("long", subject="x" * 5000) + "body\n",
     subject="x" * 4096, warning_codes=["limit_subject"])

case("nul-bytes-in-body", simple("nul").encode() + b"a\x00b\x00c\n", body_text="Hello,\nthis is a test.\nabc")

# ---------------------------------------------------------------- encoded words and raw 8-bit headers

case("rfc2047-b-utf8", simple("b", subject="=?UTF-8?B?Q2Fmw6kgY3LDqG1lIOKCrA==?="),
     subject="Café crème €", warning_codes=[])
case("rfc2047-q-latin1", simple("q", subject="=?ISO-8859-1?Q?Gr=FC=DFe_aus_M=FCnchen?="),
     subject="Grüße aus München", warning_codes=[])
case("rfc2047-adjacent-joined", simple("adj", subject="=?utf-8?q?Hello_?=\n =?utf-8?q?World?="),
     subject="Hello World", warning_codes=[])
case("rfc2047-split-multibyte", simple("split", subject="=?UTF-8?B?w6k=?= =?UTF-8?B?wqk=?= =?UTF-8?Q?=E2=82?= =?UTF-8?Q?=AC?="),
     subject="é©€", warning_codes=[])
case("rfc2047-split-base64-quantum", simple("quantum", subject="=?utf-8?B?Q2Fm?= =?utf-8?B?w6k?= =?utf-8?B?=?="),
     subject="Café")
case("rfc2047-mixed-with-text", simple("mixtext", subject="Re: =?utf-8?q?caf=C3=A9?= au =?utf-8?q?lait?= !"),
     subject="Re: café au lait !", warning_codes=[])
case("rfc2047-two-charsets", simple("twocs", subject="=?iso-8859-1?q?=E9t=E9?= =?koi8-r?b?8NLJ18XU?="),
     subject="étéПривет", warning_codes=[])
case("rfc2047-unknown-charset", simple("unkcs", subject="=?x-martian?q?hello?="),
     subject="hello", warning_codes=["charset_unknown"])
case("rfc2047-bad-encoding-letter", simple("badenc", subject="=?utf-8?x?abc?= plain"),
     subject="=?utf-8?x?abc?= plain", warning_codes=[])
case("rfc2047-unterminated", simple("unterm", subject="Re: =?utf-8?q?caf=C3=A9"),
     subject="Re: café", warning_codes=["encoded_word_repaired"])
case("rfc2047-spaces-inside", simple("spaces", subject="=?iso-8859-1?q?this is=E9 broken?="),
     subject="this isé broken", warning_codes=["encoded_word_repaired"])
case("rfc2047-lowercase", simple("lower", subject="=?utf-8?q?m=c3=bcnchen?="), subject="münchen")
case("rfc2047-language-tag", simple("lang", subject="=?utf-8*de?q?Gr=C3=BC=C3=9Fe?="), subject="Grüße")
case("rfc2047-quoted-display-name",
     simple("qdn", frm='"=?utf-8?q?J=C3=B6rg_M=C3=BCller?=" <joerg@example.de>'),
     **{"from": {"name": "Jörg Müller", "email": "joerg@example.de"}}, warning_codes=[])
case("rfc2047-comma-in-name",
     simple("comma", to="=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@example.de>, =?utf-8?b?w4VzYQ==?= <asa@example.se>"),
     to=[{"name": "Müller, Hans", "email": "hans@example.de"}, {"name": "Åsa", "email": "asa@example.se"}])
case("raw-utf8-header", simple("rawutf8", subject="Grüße, 東京", frm="Jörg <joerg@example.de>"),
     subject="Grüße, 東京", **{"from": {"name": "Jörg", "email": "joerg@example.de"}}, warning_codes=[])
case("raw-latin1-header", simple("rawl1", subject="x").encode().replace(b"Subject: x", b"Subject: Gr\xfc\xdfe \x80 10"),
     subject="Grüße € 10", warning_codes=["header_8bit"])
case("raw-8bit-header-body-charset",
     headers("rawkoi", subject="x", ctype="Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n")
     .encode().replace(b"Subject: x", b"Subject: \xf0\xd2\xc9\xd7\xc5\xd4") + "Привет\n".encode("koi8-r"),
     subject="Привет", body_text="Привет", warning_codes=["header_8bit"])

# ---------------------------------------------------------------- ids and threading

case("message-id-missing",
     "From: ann@example.com\nTo: support@example.com\nSubject: no id\nDate: " + STD_DATE + "\n\nbody\n",
     message_id=hashlib.sha256(("Date" + STD_DATE + "\nFromann@example.com\nTosupport@example.com\n"
                                "Subjectno id\nbody\n").encode()).hexdigest()[:32] + "@helpgate.invalid",
     message_id_generated=True, warning_codes=["message_id_generated"])
case("message-id-no-brackets",
     "From: ann@example.com\nSubject: x\nDate: " + STD_DATE + "\nMessage-ID: 1234.5678@host.example\n\nbody\n",
     message_id="1234.5678@host.example", message_id_generated=False)
case("threading-headers",
     "From: ann@example.com\nSubject: Re: x\nDate: " + STD_DATE + "\nMessage-ID: <r2@x.example>\n"
     "In-Reply-To: <r1@x.example> (Ann's message of Monday)\n"
     "References: <r0@x.example>\n <r1@x.example>\r\n\t<r0@x.example> broken <r1b@x.example>\n\nbody\n",
     in_reply_to="r1@x.example", references=["r0@x.example", "r1@x.example", "r1b@x.example"], _no_replay=False)
case("references-without-brackets",
     "From: ann@example.com\nSubject: x\nDate: " + STD_DATE + "\nMessage-ID: <r@x>\n"
     "In-Reply-To: a1@x.example\nReferences: a0@x.example a1@x.example\n\nbody\n",
     in_reply_to="a1@x.example", references=["a0@x.example", "a1@x.example"])

# ---------------------------------------------------------------- dates


def dated(name, date_line):
    return "From: ann@example.com\nSubject: d\nMessage-ID: <%s@x>\n%s\nbody\n" % (name, date_line)


case("date-zone-comment", dated("d1", "Date: Mon, 3 Jun 2024 12:30:00 +0200 (CEST)\n"),
     date="2024-06-03T10:30:00Z", warning_codes=[])
case("date-obsolete-zone", dated("d2", "Date: Mon, 3 Jun 2024 06:30:00 EDT\n"), date="2024-06-03T10:30:00Z")
case("date-two-digit-year", dated("d3", "Date: 3 Jun 24 10:30 GMT\n"), date="2024-06-03T10:30:00Z")
case("date-no-zone", dated("d4", "Date: Mon, 3 Jun 2024 10:30:00\n"), date="2024-06-03T10:30:00Z",
     warning_codes=["date_repaired"])
case("date-asctime", dated("d5", "Date: Mon Jun  3 10:30:00 2024 +0000\n"), date="2024-06-03T10:30:00Z")
case("date-iso8601", dated("d6", "Date: 2024-06-03T12:30:00+02:00\n"), date="2024-06-03T10:30:00Z")
case("date-gmt-offset", dated("d7", "Date: Mon, 3 Jun 2024 12:30:00 GMT+0200\n"), date="2024-06-03T10:30:00Z")
case("date-invalid", dated("d8", "Date: sometime next week\n"), date=None, warning_codes=["date_invalid"])
case("date-from-received",
     "Received: from mx.example.org by mx.example.com; Mon, 3 Jun 2024 12:30:00 +0200\n"
     "From: ann@example.com\nSubject: d\nMessage-ID: <d9@x>\n\nbody\n",
     date="2024-06-03T10:30:00Z", warning_codes=["date_repaired"])

# ---------------------------------------------------------------- addresses

case("addresses-lists",
     headers("addr", extra="Cc: \"Smith, Bob\" <bob@Example.ORG>, carol@example.net (Carol C.)\n"
             "Reply-To: Team <team@example.com>, other@example.com\nSender: Bot <bot@example.com>\n",
             to="Support Desk <support@example.com>, Smith, Dan <dan@example.com>") + "body\n",
     to=[{"name": "Support Desk", "email": "support@example.com"}, {"name": "Smith, Dan", "email": "dan@example.com"}],
     cc=[{"name": "Smith, Bob", "email": "bob@example.org"}, {"name": "Carol C.", "email": "carol@example.net"}],
     reply_to=[{"name": "Team", "email": "team@example.com"}, {"name": None, "email": "other@example.com"}],
     sender={"name": "Bot", "email": "bot@example.com"}, warning_codes=[])
case("addresses-groups",
     simple("grp", to="undisclosed-recipients:;").replace("Subject:", "Cc: Team: a@example.com, B <b@example.com>;\nSubject:"),
     to=[], cc=[{"name": None, "email": "a@example.com"}, {"name": "B", "email": "b@example.com"}])
case("addresses-broken",
     simple("brk", frm="Ann Example ann@example.com", to="<mailto:support@example.com>, 'Quoted Name' <q@example.com"),
     **{"from": {"name": "Ann Example", "email": "ann@example.com"}},
     to=[{"name": None, "email": "support@example.com"}, {"name": "Quoted Name", "email": "q@example.com"}],
     warning_codes=["address_repaired"])
case("addresses-delivered-to",
     "Delivered-To: support+4711@example.com\n" + simple("dlv"),
     delivered_to="support+4711@example.com", ticket_tag="4711")

# ---------------------------------------------------------------- multipart structure

ALT = ("Content-Type: multipart/alternative; boundary=\"alt-1\"\n\n"
       "This is a multi-part message in MIME format.\n"
       "--alt-1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
       "Hello Support,=0A=0Athe caf=C3=A9 is closed.\n"
       "--alt-1\nContent-Type: text/html; charset=utf-8\n\n"
       "<html><body><p>Hello Support,</p><p>the caf\u00e9 is closed.</p></body></html>\n"
       "--alt-1--\n")
case("alternative", headers("alt", ctype="") .replace("MIME-Version: 1.0\n\n", "MIME-Version: 1.0\n") + ALT,
     content_type="text/plain", body_text="Hello Support,\n\nthe café is closed.",
     body_html="<html><body><p>Hello Support,</p><p>the caf\u00e9 is closed.</p></body></html>",
     attachments=[], warning_codes=[])

case("html-only",
     headers("html", ctype="Content-Type: text/html; charset=utf-8\n") +
     "<html><body><p>Hi Ann,</p><p>Thanks!</p></body></html>\n",
     content_type="text/html", body_text="Hi Ann,\n\nThanks!",
     body_html="<html><body><p>Hi Ann,</p><p>Thanks!</p></body></html>", attachments=[], warning_codes=[])

case("alternative-blank-plain",
     headers("altblank", ctype="Content-Type: multipart/alternative; boundary=b\n") +
     "--b\nContent-Type: text/plain\n\n \n\n--b\nContent-Type: text/html\n\n<p>Real text</p>\n--b--\n",
     content_type="text/html", body_text="Real text", body_html="<p>Real text</p>", attachments=[])

REL = ("Content-Type: multipart/related; boundary=\"rel\"; type=\"text/html\"\n\n"
       "--rel\nContent-Type: text/html; charset=us-ascii\n\n<p>Logo: <img src=\"cid:logo@x\"></p>\n"
       "--rel\nContent-Type: image/png; name=\"logo.png\"\nContent-Transfer-Encoding: base64\n"
       "Content-ID: <logo@x>\n\n" + b64(PNG) + "--rel--\n")
case("related-inline-image",
     headers("rel", ctype="Content-Type: multipart/alternative; boundary=\"outer\"\n") +
     "--outer\nContent-Type: text/plain\n\nLogo: [logo]\n--outer\n" + REL + "\n--outer--\n",
     content_type="text/plain", body_text="Logo: [logo]", body_html="<p>Logo: <img src=\"cid:logo@x\"></p>",
     attachments=[att(PNG, "logo.png", "image/png", content_id="logo@x", inline=True)], warning_codes=[])

MIXED_PDF = ("--mix\nContent-Type: text/plain; charset=utf-8\n\nSee the invoice.\n"
             "--mix\nContent-Type: application/pdf; name=\"invoice.pdf\"\n"
             "Content-Disposition: attachment; filename=\"invoice.pdf\"\nContent-Transfer-Encoding: base64\n\n" +
             b64(PDF) + "--mix--\n")
case("mixed-pdf", headers("mix", ctype="Content-Type: multipart/mixed; boundary=mix\n") + MIXED_PDF,
     body_text="See the invoice.", attachments=[att(PDF, "invoice.pdf", "application/pdf")], warning_codes=[])

case("mixed-attachment-first",
     headers("first", ctype="Content-Type: multipart/mixed; boundary=m\n") +
     "--m\nContent-Type: image/png\nContent-Disposition: attachment; filename=a.png\n"
     "Content-Transfer-Encoding: base64\n\n" + b64(PNG) +
     "--m\nContent-Type: text/plain\n\nText after the image.\n--m--\n",
     body_text="Text after the image.", attachments=[att(PNG, "a.png", "image/png")])

case("apple-text-image-text",
     headers("apple", ctype="Content-Type: multipart/mixed; boundary=\"Apple-Mail=_1\"\n") +
     "--Apple-Mail=_1\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\nHere is the screenshot:\n\n"
     "--Apple-Mail=_1\nContent-Disposition: inline; filename=shot.png\nContent-Type: image/png; name=\"shot.png\"\n"
     "Content-Transfer-Encoding: base64\n\n" + b64(PNG) +
     "--Apple-Mail=_1\nContent-Type: text/plain; charset=us-ascii\n\nAnd that is all.\n--Apple-Mail=_1--\n",
     body_text="Here is the screenshot:\nAnd that is all.", attachments=[att(PNG, "shot.png", "image/png", inline=True)])


def nest(depth, inner):
    s = inner
    for d in range(depth, 0, -1):
        s = ("Content-Type: multipart/mixed; boundary=\"n%d\"\n\n--n%d\n%s\n--n%d--\n" % (d, d, s, d))
    return s


case("nested-multiparts",
     headers("nest", ctype="") .replace("MIME-Version: 1.0\n\n", "MIME-Version: 1.0\n") +
     nest(6, "Content-Type: text/plain\n\ndeep text"),
     body_text="deep text", attachments=[], warning_codes=[])

case("missing-final-boundary",
     headers("nofinal", ctype="Content-Type: multipart/mixed; boundary=zz\n") +
     "--zz\nContent-Type: text/plain\n\nfirst\n--zz\nContent-Type: text/csv; name=data.csv\n\na,b\n1,2\n",
     body_text="first", attachments=[att(b"a,b\n1,2\n", "data.csv", "text/csv")],
     warning_codes=["boundary_repaired"])

case("boundary-param-missing",
     headers("nobd", ctype="Content-Type: multipart/mixed\n") +
     "--guessme\nContent-Type: text/plain\n\nguessed body\n--guessme\nContent-Type: application/octet-stream;"
     " name=x.bin\n\nXYZ\n--guessme--\n",
     body_text="guessed body", attachments=[att(b"XYZ", "x.bin", "application/octet-stream")],
     warning_codes=["boundary_repaired"])

case("boundary-never-appears",
     headers("never", ctype="Content-Type: multipart/mixed; boundary=\"absent\"\n") + "just text\n",
     content_type="text/plain", body_text="just text", warning_codes=["boundary_missing"])

case("boundary-padding-preamble-epilogue",
     headers("pad", ctype="Content-Type: multipart/mixed; boundary=\"=_NextPart_000_0012_01D5\"\n") +
     "preamble text\n--=_NextPart_000_0012_01D5   \t\nContent-Type: text/plain\n\nbody with padding\n"
     "--=_NextPart_000_0012_01D5--  \nepilogue text\n",
     body_text="body with padding", attachments=[], warning_codes=[])

case("boundary-prefix-of-inner",
     headers("prefix", ctype="Content-Type: multipart/mixed; boundary=\"abc\"\n") +
     "--abc\nContent-Type: multipart/alternative; boundary=\"abcdef\"\n\n"
     "--abcdef\nContent-Type: text/plain\n\ninner plain\n--abcdef\nContent-Type: text/html\n\n<p>inner html</p>\n"
     "--abcdef--\n--abc\nContent-Type: text/plain; name=notes.txt\n\nnotes\n--abc--\n",
     body_text="inner plain", body_html="<p>inner html</p>", attachments=[att(b"notes", "notes.txt", "text/plain")])

case("boundary-reused-by-inner",
     headers("oemac", ctype="Content-Type: multipart/mixed;\n   boundary=\"MS_Mac_OE_3071_MIME_Part\"\n") +
     "> This message is in MIME format.\n\n--MS_Mac_OE_3071_MIME_Part\n"
     "Content-type: multipart/alternative;\n   boundary=\"MS_Mac_OE_3071_MIME_Part\"\n\n\n"
     "--MS_Mac_OE_3071_MIME_Part\nContent-type: text/plain; charset=\"ISO-8859-1\"\n\nSome text.\n\n"
     "--MS_Mac_OE_3071_MIME_Part\nContent-type: text/html; charset=\"ISO-8859-1\"\n\n<p>Some text.</p>\n\n"
     "--MS_Mac_OE_3071_MIME_Part--\n\n\n--MS_Mac_OE_3071_MIME_Part\nContent-type: image/gif; name=\"xx.gif\"\n"
     "Content-disposition: attachment\nContent-transfer-encoding: base64\n\nR0lGODlh\n\n"
     "--MS_Mac_OE_3071_MIME_Part--\n",
     body_text="Some text.",
     attachments=[att(b"<p>Some text.</p>\n", None, "text/html"), att(b"GIF89a", "xx.gif", "image/gif")],
     warning_codes=["boundary_missing", "boundary_repaired"])

case("empty-part-kept-siblings",
     headers("emptypart", ctype="Content-Type: multipart/mixed; boundary=\"b\"\n") +
     "--b\n\n--b\nContent-Type: text/plain\n\nsecond part\n--b\nContent-Type: application/zip; name=z.zip\n"
     "Content-Transfer-Encoding: base64\n\nUEsDBA==\n--b--\n",
     body_text="second part", attachments=[att(b"PK\x03\x04", "z.zip", "application/zip")])

INNER = ("From: Bob <bob@example.org>\nSubject: Original question\nDate: " + STD_DATE +
         "\nMessage-ID: <inner@example.org>\n\nThe original text.\n")
INNER_PART = INNER.encode()[:-1]  # the line break before a delimiter belongs to the delimiter
case("message-rfc822-attached",
     headers("fwd", ctype="Content-Type: multipart/mixed; boundary=f\n") +
     "--f\nContent-Type: text/plain\n\nForwarding this.\n--f\nContent-Type: message/rfc822\n\n" + INNER + "--f--\n",
     body_text="Forwarding this.", message_id="fwd@example.com",
     attachments=[att(INNER_PART, "Original question.eml", "message/rfc822")])

case("message-rfc822-named",
     headers("fwd2", ctype="Content-Type: multipart/mixed; boundary=f\n") +
     "--f\nContent-Type: text/plain\n\nSee attached.\n--f\nContent-Type: message/rfc822; name=\"orig.eml\"\n"
     "Content-Disposition: attachment\n\n" + INNER + "--f--\n",
     attachments=[att(INNER_PART, "orig.eml", "message/rfc822")])

case("multipart-digest",
     headers("digest", ctype="Content-Type: multipart/mixed; boundary=o\n") +
     "--o\nContent-Type: text/plain\n\nDigest follows.\n--o\nContent-Type: multipart/digest; boundary=d\n\n"
     "--d\n\n" + INNER + "--d\n\n" + INNER + "--d--\n--o--\n",
     body_text="Digest follows.",
     attachments=[att(INNER_PART, "Original question.eml", "message/rfc822"),
                  att(INNER_PART, "Original question.eml", "message/rfc822")])

case("top-level-message-rfc822",
     "From: relay@example.com\nSubject: wrapper\nMessage-ID: <wrap@x>\nDate: " + STD_DATE +
     "\nContent-Type: message/rfc822\n\n" + INNER,
     subject="wrapper", body_text="The original text.", content_type="text/plain", attachments=[])

case("multipart-signed",
     headers("signed", ctype="Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; "
             "micalg=pgp-sha256; boundary=\"sig\"\n") +
     "--sig\nContent-Type: text/plain; charset=us-ascii\n\nSigned words.\n--sig\n"
     "Content-Type: application/pgp-signature; name=\"signature.asc\"\n\n-----BEGIN PGP SIGNATURE-----\nAAAA\n"
     "-----END PGP SIGNATURE-----\n--sig--\n",
     body_text="Signed words.",
     attachments=[att(b"-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----", "signature.asc",
                      "application/pgp-signature")])

case("content-type-garbage",
     headers("ctg", ctype="Content-Type: ;;;\n") + "text anyway\n",
     content_type="text/plain", body_text="text anyway", warning_codes=["content_type_repaired"])

case("content-type-no-subtype",
     headers("ctns", ctype="Content-Type: text; charset=iso-8859-1\n").encode() + b"caf\xe9\n",
     content_type="text/plain", body_text="café", warning_codes=["content_type_repaired"])

case("content-type-no-semicolons",
     headers("ctsemi", ctype="Content-Type: text/plain charset=iso-8859-1 format=flowed\n"
             "Content-Transfer-Encoding: 8bit\n").encode() + b"d\xe9j\xe0 \nvu\n",
     body_text="déjà vu", warning_codes=[])

case("multipart-no-subtype",
     headers("mpns", ctype="Content-Type: multipart; boundary=q\n") +
     "--q\nContent-Type: text/plain\n\nok\n--q--\n",
     body_text="ok", warning_codes=["content_type_repaired"])

# ---------------------------------------------------------------- file names (RFC 2231, RFC 2047, raw)

DATA = b"file contents\n"


def with_attachment(name, disposition_and_type, data=DATA):
    return (headers(name, ctype="Content-Type: multipart/mixed; boundary=a\n") +
            "--a\nContent-Type: text/plain\n\nbody\n--a\n" + disposition_and_type +
            "Content-Transfer-Encoding: base64\n\n" + b64(data) + "--a--\n")


case("filename-rfc2231-utf8",
     with_attachment("f1", "Content-Type: application/pdf\nContent-Disposition: attachment;\n"
                     " filename*=UTF-8''%E2%82%AC%20rates%20%C3%BCber.pdf\n"),
     attachments=[att(DATA, "€ rates über.pdf", "application/pdf")], warning_codes=[])
case("filename-rfc2231-continuations",
     with_attachment("f2", "Content-Type: application/octet-stream\nContent-Disposition: attachment;\n"
                     " filename*0*=iso-8859-1'de'Gr%FC%DFe%20;\n filename*1=\"aus \";\n"
                     " filename*2*=M%FCnchen.txt\n"),
     attachments=[att(DATA, "Grüße aus München.txt", "application/octet-stream")])
case("filename-rfc2231-out-of-order",
     with_attachment("f3", "Content-Type: application/octet-stream;\n name*1=\"part2.txt\";\n"
                     " name*0=\"part1-\"\n"),
     attachments=[att(DATA, "part1-part2.txt", "application/octet-stream")])
case("filename-rfc2231-wins-over-plain",
     with_attachment("f4", "Content-Type: application/octet-stream\nContent-Disposition: attachment;"
                     " filename=\"fallback.txt\"; filename*=utf-8''r%C3%A9sum%C3%A9.txt\n"),
     attachments=[att(DATA, "résumé.txt", "application/octet-stream")])
case("filename-rfc2047",
     with_attachment("f5", "Content-Type: application/pdf; name=\"=?UTF-8?B?w5xiZXJzaWNodC5wZGY=?=\"\n"
                     "Content-Disposition: attachment; filename=\"=?UTF-8?B?w5xiZXJzaWNodC5wZGY=?=\"\n"),
     attachments=[att(DATA, "Übersicht.pdf", "application/pdf")])
case("filename-unquoted-spaces",
     with_attachment("f6", "Content-Type: application/pdf; name=Quarterly Report 2024.pdf\n"),
     attachments=[att(DATA, "Quarterly Report 2024.pdf", "application/pdf")])
case("filename-with-path",
     with_attachment("f7", "Content-Type: application/pdf\nContent-Disposition: attachment;"
                     " filename=\"C:\\Users\\ann\\Desktop\\report.pdf\"\n"),
     attachments=[att(DATA, "report.pdf", "application/pdf")], warning_codes=["filename_repaired"])
case("filename-raw-utf8",
     with_attachment("f8", "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"Bestätigung.pdf\"\n"),
     attachments=[att(DATA, "Bestätigung.pdf", "application/pdf")], warning_codes=[])
case("filename-raw-latin1",
     with_attachment("f9", "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"X\"\n")
     .encode().replace(b'filename="X"', b'filename="Best\xe4tigung.pdf"'),
     attachments=[att(DATA, "Bestätigung.pdf", "application/pdf")], warning_codes=["header_8bit"])
case("text-part-with-filename-is-attachment",
     headers("txtatt", ctype="Content-Type: multipart/mixed; boundary=t\n") +
     "--t\nContent-Type: text/plain\n\nThe log is attached.\n--t\nContent-Type: text/plain; name=\"app.log\"\n"
     "Content-Disposition: inline; filename=\"app.log\"\n\nERROR 1\nERROR 2\n--t--\n",
     body_text="The log is attached.", attachments=[att(b"ERROR 1\nERROR 2", "app.log", "text/plain", inline=True)])
case("winmail-dat",
     headers("tnef", extra="X-MS-Has-Attach: yes\nThread-Index: AdW1234567890==\n",
             ctype="Content-Type: multipart/mixed; boundary=\"----_=_NextPart_001_01D5\"\n") +
     "------_=_NextPart_001_01D5\nContent-Type: text/plain; charset=\"windows-1252\"\n"
     "Content-Transfer-Encoding: quoted-printable\n\nPlease find the =93report=94 attached =96 thanks.\n"
     "------_=_NextPart_001_01D5\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\n"
     "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"winmail.dat\"\n\n" +
     b64(b"\x78\x9f\x3e\x22" + bytes(60)) + "------_=_NextPart_001_01D5--\n",
     body_text="Please find the \u201creport\u201d attached \u2013 thanks.",
     attachments=[att(b"\x78\x9f\x3e\x22" + bytes(60), "winmail.dat", "application/ms-tnef")], warning_codes=[])



def tnef_attr(level, attr_id, data):
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def mapi_string8(prop_id, text):
    b = text.encode("cp1252") + b"\0"
    return struct.pack("<HHII", 0x001E, prop_id, 1, len(b)) + b + b"\0" * ((-len(b)) % 4)


def mapi_unicode(prop_id, text):
    b = text.encode("utf-16le") + b"\0\0"
    return struct.pack("<HHII", 0x001F, prop_id, 1, len(b)) + b + b"\0" * ((-len(b)) % 4)


def winmail(body=None):
    """A TNEF stream as Outlook writes it: one PDF with a long name and a MIME tag, one text file."""
    props = (struct.pack("<I", 3) + struct.pack("<HHI", 0x0003, 0x0E21, 0) +
             mapi_string8(0x3707, "Quarterly report é.pdf") + mapi_unicode(0x370E, "Application/PDF"))
    t = struct.pack("<IH", 0x223E9F78, 0x0102)
    t += tnef_attr(1, 0x00089006, b"\0\0\1\0") + tnef_attr(1, 0x00069007, struct.pack("<II", 1252, 0))
    if body is not None:
        t += tnef_attr(1, 0x0002800C, body.encode("cp1252") + b"\0")
    t += tnef_attr(2, 0x00069002, bytes(14)) + tnef_attr(2, 0x00018010, b"QUARTE~1.PDF\0")
    t += tnef_attr(2, 0x0006800F, PDF) + tnef_attr(2, 0x00069005, props)
    t += tnef_attr(2, 0x00069002, bytes(14)) + tnef_attr(2, 0x00018010, b"notes.txt\0")
    t += tnef_attr(2, 0x0006800F, b"hello")
    return t


TNEF_FILES = [att(PDF, "Quarterly report é.pdf", "application/pdf"), att(b"hello", "notes.txt", "text/plain")]
case("winmail-dat-unpacked",
     headers("tnef2", ctype="Content-Type: multipart/mixed; boundary=\"w\"\n") +
     "--w\nContent-Type: text/plain; charset=us-ascii\n\nSee attached.\n--w\n"
     "Content-Type: application/ms-tnef; name=\"winmail.dat\"\nContent-Transfer-Encoding: base64\n\n" +
     b64(winmail()) + "--w--\n",
     body_text="See attached.", attachments=TNEF_FILES, warning_codes=["tnef_unpacked"])
case("winmail-dat-only-body",
     headers("tnef3", ctype="Content-Type: application/ms-tnef; name=\"winmail.dat\"\nContent-Transfer-Encoding: base64\n") +
     b64(winmail("Bitte pr\u00fcfen Sie den Bericht.\r\n")),
     content_type="text/plain", body_text="Bitte prüfen Sie den Bericht.", attachments=TNEF_FILES,
     warning_codes=["tnef_unpacked"])
case("winmail-dat-truncated",
     headers("tnef4", ctype="Content-Type: multipart/mixed; boundary=\"w\"\n") +
     "--w\nContent-Type: text/plain\n\nbody\n--w\nContent-Type: application/ms-tnef; name=winmail.dat\n"
     "Content-Transfer-Encoding: base64\n\n" + b64(winmail()[:-20]) + "--w--\n",
     attachments=[att(PDF, "Quarterly report é.pdf", "application/pdf"),
                  att(winmail()[:-20], "winmail.dat", "application/ms-tnef")],
     warning_codes=["tnef_repaired", "tnef_unpacked"])

# ---------------------------------------------------------------- transfer encodings

case("base64-body", headers("b64", ctype="Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n") +
     b64("Grüße aus Köln\nZeile zwei\n".encode()), body_text="Grüße aus Köln\nZeile zwei", warning_codes=[])
case("base64-garbage-no-padding",
     headers("b64bad", ctype="Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n") +
     "SGVs!bG8g\nV29y*bGQ\n", body_text="Hello World", warning_codes=["base64_repaired"])
case("qp-body",
     headers("qp", ctype="Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n") +
     "Soft line break he=\nre, trailing blanks   \nlowercase =e9t=e9, bad =ZZ sequence, =3D sign\n",
     body_text="Soft line break here, trailing blanks\nlowercase été, bad =ZZ sequence, = sign",
     warning_codes=["qp_repaired"])
case("8bit-utf8-body", headers("8bit", ctype="Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n") +
     "Ünïcödé ✓ 東京\n", body_text="Ünïcödé ✓ 東京", warning_codes=[])
case("binary-cte", headers("bin", ctype="Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: binary\n") +
     "binary ok\n", body_text="binary ok", warning_codes=[])
case("unknown-cte", headers("xcte", ctype="Content-Type: text/plain\nContent-Transfer-Encoding: x-foo\n") + "as is\n",
     body_text="as is", warning_codes=["transfer_encoding_unknown"])
case("cte-uppercase-comment",
     headers("cteu", ctype="Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: BASE64 (encoded)\n") +
     b64(b"upper"), body_text="upper", warning_codes=[])
case("uuencode-part",
     headers("uue", ctype="Content-Type: multipart/mixed; boundary=u\n") +
     "--u\nContent-Type: text/plain\n\nuu attached\n--u\nContent-Type: application/octet-stream; name=cat.txt\n"
     "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 cat.txt\n#0V%T\n`\nend\n--u--\n",
     attachments=[att(b"Cat", "cat.txt", "application/octet-stream")], warning_codes=[])

# ---------------------------------------------------------------- charsets


def charset_case(name, label, text, encoding=None, cte="8bit", codes=(), expect_text=None, raw=None):
    body = raw if raw is not None else text.encode(encoding or label)
    msg = headers(name, ctype="Content-Type: text/plain; charset=%s\nContent-Transfer-Encoding: %s\n" % (label, cte)).encode()
    case(name, msg + body + b"\n", body_text=expect_text or text, warning_codes=list(codes))


charset_case("charset-latin1-c1", "iso-8859-1", "€ 5 “quoted” — dash", encoding="cp1252")
charset_case("charset-ascii-label-utf8-bytes", "us-ascii", "naïve café", encoding="utf-8", codes=["charset_mislabeled"])
charset_case("charset-utf8-label-latin1-bytes", "utf-8", "Grüße", encoding="latin-1", codes=["charset_invalid_bytes"])
charset_case("charset-ks-c-5601", "ks_c_5601-1987", "안녕하세요 고객센터", encoding="cp949")
charset_case("charset-gb2312-gbk-char", "gb2312", "朱镕基 你好", encoding="gbk")
charset_case("charset-shift-jis-nec", "shift_jis", "①②③ こんにちは", encoding="cp932")
charset_case("charset-iso-2022-jp", "iso-2022-jp", "お問い合わせありがとうございます", cte="7bit")
charset_case("charset-big5", "big5", "您好，謝謝", encoding="big5")
charset_case("charset-koi8-r", "koi8-r", "Здравствуйте", encoding="koi8-r")
charset_case("charset-windows-1251", "windows-1251", "Спасибо за помощь", encoding="cp1251")
charset_case("charset-iso-8859-2-c1", "iso-8859-2", "Dobrý den, šťastný", encoding="cp1250", codes=["charset_mislabeled"])
charset_case("charset-unknown-8bit", "unknown-8bit", "Café", encoding="latin-1", codes=["charset_unknown"])
charset_case("charset-garbage-label", "x-garbage-charset", "plain ascii", encoding="ascii", codes=["charset_unknown"])
charset_case("charset-euc-jp", "euc-jp", "日本語のテキスト", encoding="euc_jp")
charset_case("charset-windows-1255-hebrew", "windows-1255", "שלום", encoding="cp1255")
charset_case("charset-utf8-bom", "utf-8", "with BOM", raw="\ufeffwith BOM".encode("utf-8"))
case("charset-missing-8bit",
     headers("csmiss", ctype="Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n").encode() + b"Caf\xe9 ouvert\n",
     body_text="Café ouvert", warning_codes=["charset_missing"])
case("charset-utf16-base64",
     headers("utf16", ctype="Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n") +
     b64("Hello ☃".encode("utf-16")), body_text="Hello ☃", warning_codes=[])
case("charset-html-meta",
     headers("meta", ctype="Content-Type: text/html\nContent-Transfer-Encoding: 8bit\n").encode() +
     b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\"></head>"
     b"<body><p>\x93Quoted\x94 caf\xe9</p></body></html>\n",
     content_type="text/html", body_text="\u201cQuoted\u201d café", warning_codes=[])

# ---------------------------------------------------------------- text details

case("format-flowed",
     headers("flowed", ctype="Content-Type: text/plain; charset=utf-8; format=flowed; delsp=no\n") +
     "This paragraph was \nwrapped by the client \nat the end.\n\n> Quoted text that \n> was wrapped too.\nReply.\n",
     body_text="This paragraph was wrapped by the client at the end.\n\n> Quoted text that was wrapped too.\nReply.")
case("format-flowed-delsp",
     headers("delsp", ctype="Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\n") +
     "長い行を \n折り返し \nました。\n",
     body_text="長い行を折り返しました。")
case("reply-with-quote",
     simple("reply", subject="Re: [#77] VPN", body="Thanks, that fixed it.\n\n"
            "On Mon, 3 Jun 2024 at 10:00, Support <support@example.com> wrote:\n> Please try again.\n"),
     reply_text="Thanks, that fixed it.", ticket_tag="77")
case("reply-with-signature", simple("sig", body="Hello,\n\nit works now.\n\n-- \nAnn Example\nACME Corp\n"),
     reply_text="Hello,\n\nit works now.", body_text="Hello,\n\nit works now.\n\n-- \nAnn Example\nACME Corp")
case("iphone-reply",
     headers("iphone", ctype="Content-Type: text/plain; charset=utf-8; format=flowed\n",
             extra="X-Mailer: iPhone Mail (21F90)\n") +
     "Yes please.\n\nSent from my iPhone\n\n> On 3 Jun 2024, at 10:00, Support <s@example.com> wrote:\n> \n> Shall we?\n",
     reply_text="Yes please.")

# ---------------------------------------------------------------- auto-submitted, bounces, lists


def auto_case(name, extra, kind, reason, subject="Test", frm="Ann Example <ann@example.com>", body="text\n", ctype=None):
    raw = headers(name, subject=subject, extra=extra, frm=frm,
                  ctype=ctype if ctype is not None else "Content-Type: text/plain; charset=us-ascii\n") + body
    case(name, raw, auto=None if kind is None else {"kind": kind, "reason": reason})


auto_case("auto-submitted-replied", "Auto-Submitted: auto-replied\n", "autoreply", "Auto-Submitted: auto-replied",
          subject="Out of office")
auto_case("auto-submitted-no", "Auto-Submitted: no\n", None, None)
auto_case("auto-x-autoreply", "X-Autoreply: yes\n", "autoreply", "X-Autoreply: yes")
auto_case("auto-x-autorespond", "X-Autorespond: Vacation\n", "autoreply", "X-Autorespond: Vacation")
auto_case("auto-exchange-suppress", "X-Auto-Response-Suppress: All\n", "autoreply", "X-Auto-Response-Suppress: All",
          subject="Automatic reply: Test")
auto_case("auto-exchange-suppress-partial", "X-Auto-Response-Suppress: DR, RN, NRN\n", None, None)
auto_case("auto-precedence-bulk", "Precedence: bulk\n", "bulk", "Precedence: bulk")
auto_case("auto-precedence-junk", "Precedence: junk\n", "bulk", "Precedence: junk")
auto_case("auto-precedence-list", "Precedence: list\n", "list", "Precedence: list")
auto_case("auto-list-id", "List-Id: Users of Widgets <users.widgets.example.org>\nList-Post: <mailto:users@example.org>\n",
          "list", "List-Id: Users of Widgets <users.widgets.example.org>")
auto_case("auto-list-unsubscribe", "List-Unsubscribe: <https://news.example.com/u?id=1>\n", "bulk", "List-Unsubscribe")
auto_case("auto-null-return-path", "Return-Path: <>\n", "autoreply", "Return-Path: <>")
auto_case("auto-subject-only", "", "autoreply", "Subject: Automatic reply: Test", subject="Automatic reply: Test")
auto_case("auto-mailer-daemon", "", "bounce", "From: MAILER-DAEMON@mx.example.com",
          subject="Undelivered Mail Returned to Sender", frm="MAILER-DAEMON@mx.example.com (Mail Delivery System)")
auto_case("auto-null-return-path-failure", "Return-Path: <>\n", "bounce", "Return-Path: <> with a delivery failure subject",
          subject="Delivery Status Notification (Failure)", frm="bounces@example.org")
auto_case("auto-x-failed-recipients", "X-Failed-Recipients: gone@example.org\n", "bounce", "X-Failed-Recipients",
          subject="Mail delivery failed: returning message to sender")
auto_case("auto-bounce-wins-over-autoreply", "Auto-Submitted: auto-replied\nX-Failed-Recipients: gone@example.org\n",
          "bounce", "X-Failed-Recipients")

DSN = ("Content-Type: multipart/report; report-type=delivery-status; boundary=\"dsn\"\n\n"
       "--dsn\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.com.\nYour message could not be delivered.\n"
       "--dsn\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
       "Final-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1\n"
       "--dsn\nContent-Type: message/rfc822\n\n" + INNER + "--dsn--\n")
case("bounce-multipart-report",
     headers("dsn", subject="Undelivered Mail Returned to Sender", frm="Mail Delivery System <MAILER-DAEMON@mx.example.com>",
             ctype="").replace("MIME-Version: 1.0\n\n", "MIME-Version: 1.0\n") + DSN,
     auto={"kind": "bounce", "reason": "multipart/report: delivery-status"},
     body_text="This is the mail system at host mx.example.com.\nYour message could not be delivered.",
     attachments=[att(b"Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; gone@example.org\nAction: failed\nStatus: 5.1.1",
                      None, "message/delivery-status"),
                  att(INNER_PART, "Original question.eml", "message/rfc822")])
case("read-receipt-mdn",
     headers("mdn", subject="Read: Test", ctype="Content-Type: multipart/report; report-type=disposition-notification; boundary=r\n") +
     "--r\nContent-Type: text/plain\n\nYour message was read.\n--r\nContent-Type: message/disposition-notification\n\n"
     "Final-Recipient: rfc822; ann@example.com\nDisposition: manual-action/MDN-sent-manually; displayed\n--r--\n",
     auto={"kind": "autoreply", "reason": "multipart/report: disposition-notification"})

# ---------------------------------------------------------------- ticket tags

case("ticket-hash", simple("t1", subject="Re: [#1234] Printer"), ticket_tag="1234")
case("ticket-word", simple("t2", subject="Re: [Ticket#2024010110000011] Printer"), ticket_tag="2024010110000011")
case("ticket-word-space-zeros", simple("t3", subject="AW: [Ticket #00042] Drucker"), ticket_tag="42")
case("ticket-configured-prefix", simple("t4", subject="Re: [HD #55] Printer"), ticket_tag="55",
     _limits={"ticket_tag_prefix": "HD #"})
case("ticket-none", simple("t5", subject="Invoice [2024] overdue"), ticket_tag=None)
case("ticket-plus-address", simple("t6", to="Support <support+981@example.com>"), ticket_tag="981")
case("ticket-plus-signed", simple("t7", to="support+t42.9f8e7d@example.com"), ticket_tag="42",
     _limits={"support_address": "support@example.com"})
case("ticket-plus-other-address", simple("t8", to="sales+42@example.com"), ticket_tag=None,
     _limits={"support_address": "support@example.com"})
case("ticket-subject-encoded", simple("t9", subject="=?utf-8?q?Re=3A_=5B=23314=5D_Caf=C3=A9?="),
     subject="Re: [#314] Café", ticket_tag="314")

# ---------------------------------------------------------------- limits

case("limit-parts",
     headers("lp", ctype="Content-Type: multipart/mixed; boundary=p\n") + "--p\nContent-Type: text/plain\n\nmain\n" +
     "".join("--p\nContent-Type: application/octet-stream; name=f%d.bin\n\nx%d\n" % (i, i) for i in range(10)) + "--p--\n",
     body_text="main", attachments=[att(b"x%d" % i, "f%d.bin" % i, "application/octet-stream") for i in range(3)],
     warning_codes=["limit_parts"], _limits={"max_parts": 5})
case("limit-depth",
     headers("ld", ctype="") .replace("MIME-Version: 1.0\n\n", "MIME-Version: 1.0\n") +
     nest(6, "Content-Type: text/plain\n\ndeep"),
     content_type=None, body_text="", warning_codes=["limit_depth"], _limits={"max_depth": 3})
case("limit-part-size",
     headers("lps", ctype="Content-Type: multipart/mixed; boundary=s\n") +
     "--s\nContent-Type: text/plain\n\nsmall\n--s\nContent-Type: application/pdf; name=big.pdf\n"
     "Content-Transfer-Encoding: base64\n\n" + b64(PDF) + "--s--\n",
     attachments=[att(PDF[:200], "big.pdf", "application/pdf", truncated=True)],
     warning_codes=["limit_part_size"], _limits={"max_part_size": 200})
case("limit-header-size",
     "From: ann@example.com\nSubject: kept\nX-Padding: " + "p" * 300 + "\nMessage-ID: <lost@x>\n\nbody\n",
     subject="kept", message_id_generated=True, body_text="body",
     warning_codes=["date_missing", "limit_header_size", "message_id_generated"], _limits={"max_header_size": 200})
case("limit-body-size", simple("lbs", body="0123456789" * 30 + "\n"), body_text="0123456789" * 10,
     warning_codes=["limit_body_size"], _limits={"max_body_size": 100})
case("limit-message-size", simple("lms", body="A" * 1000 + "\n"), message_id="lms@example.com",
     warning_codes=["limit_message_size"], _limits={"max_message_size": 300}, _no_replay=True)

# ---------------------------------------------------------------- real-world shapes

case("outlook-html-alternative",
     headers("outlook", frm="\"Doe, John\" <John.Doe@Contoso.COM>", subject="RE: [#8812] VPN keeps dropping",
             extra="Thread-Topic: VPN keeps dropping\nThread-Index: AQHaTest==\nX-MS-Has-Attach:\n"
                   "X-MS-TNEF-Correlator:\nIn-Reply-To: <ticket-8812@helpdesk.example>\n",
             ctype="Content-Type: multipart/alternative;\n\tboundary=\"_000_DB9PR01MB1234_\"\n") +
     "--_000_DB9PR01MB1234_\nContent-Type: text/plain; charset=\"Windows-1252\"\nContent-Transfer-Encoding: quoted-printable\n\n"
     "It dropped again at 9:15 =96 see below.\n\nFrom: Support <support@example.com>\nSent: Monday, June 3, 2024 10:00 AM\n"
     "To: Doe, John <John.Doe@Contoso.COM>\nSubject: [#8812] VPN keeps dropping\n\nDoes it still happen?\n\n"
     "--_000_DB9PR01MB1234_\nContent-Type: text/html; charset=\"Windows-1252\"\nContent-Transfer-Encoding: quoted-printable\n\n"
     "<html><body><p>It dropped again at 9:15 =96 see below.</p></body></html>\n--_000_DB9PR01MB1234_--\n",
     **{"from": {"name": "Doe, John", "email": "John.Doe@contoso.com"}}, ticket_tag="8812",
     in_reply_to="ticket-8812@helpdesk.example", content_type="text/plain",
     reply_text="It dropped again at 9:15 \u2013 see below.", warning_codes=[])

case("gmail-html-alternative-quoted",
     headers("gmail", subject="Re: Order 1234", ctype="Content-Type: multipart/alternative; boundary=\"000000000000abc\"\n") +
     "--000000000000abc\nContent-Type: text/plain; charset=\"UTF-8\"\n\nIt arrived, thanks!\n\n"
     "On Mon, Jun 3, 2024 at 10:00 AM Support <support@example.com> wrote:\n\n> Your order shipped.\n>\n\n"
     "--000000000000abc\nContent-Type: text/html; charset=\"UTF-8\"\nContent-Transfer-Encoding: quoted-printable\n\n"
     "<div dir=3D\"ltr\">It arrived, thanks!</div><br><div class=3D\"gmail_quote\">On Mon, Jun 3, 2024 wrote:<br>"
     "<blockquote class=3D\"gmail_quote\">Your order shipped.</blockquote></div>\n\n--000000000000abc--\n",
     reply_text="It arrived, thanks!", content_type="text/plain")

case("mailing-list-post",
     headers("list", subject="[widgets-users] Crash on start",
             extra="List-Id: <widgets-users.lists.example.org>\nList-Unsubscribe: <mailto:leave@lists.example.org>\n"
                   "Precedence: list\nSender: widgets-users-bounces@lists.example.org\n") +
     "It crashes.\n_______________________________________________\nwidgets-users mailing list\n",
     auto={"kind": "list", "reason": "List-Id: <widgets-users.lists.example.org>"},
     sender={"name": None, "email": "widgets-users-bounces@lists.example.org"}, ticket_tag=None)

# ---------------------------------------------------------------- review of real-world mail (D1-D8)

# Old Mac mail / gateways: every line ends in a lone CR. The record must equal the CRLF copy's
# (the twin below) except for the warning; a binary part keeps its bytes, lone CRs included.
BIN = b"\x00\x01\rBIN\r\x7f\xfe"
CR_MSG = (b"From: Claire Martin <claire@example.fr>\nTo: support@example.com\nSubject: Scanner driver\n"
          b"Date: Tue, 04 Jun 2024 09:15:00 +0200\nMessage-ID: <cr-%s@example.fr>\nMIME-Version: 1.0\n"
          b"Content-Type: multipart/mixed; boundary=\"mac-1\"\n\n"
          b"--mac-1\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
          b"Bonjour,\n\nle pilote du scanner ne s'installe pas sur le poste de l'accueil, m=EAme apr=\n"
          b"=E8s red=E9marrage.\n\nClaire\n"
          b"--mac-1\nContent-Type: image/png; name=\"erreur.png\"\nContent-Disposition: attachment; filename=\"erreur.png\"\n"
          b"Content-Transfer-Encoding: base64\n\n" + b64(PNG).encode() +
          b"--mac-1\nContent-Type: application/octet-stream; name=\"setup.log\"\nContent-Transfer-Encoding: binary\n\n"
          + b"@BIN@" + b"\n--mac-1--\n")
CR_EXPECT = dict(subject="Scanner driver", date="2024-06-04T07:15:00Z",
                 **{"from": {"name": "Claire Martin", "email": "claire@example.fr"}},
                 to=[{"name": None, "email": "support@example.com"}], content_type="text/plain",
                 body_text="Bonjour,\n\nle pilote du scanner ne s'installe pas sur le poste de l'accueil, "
                           "même après redémarrage.\n\nClaire",
                 attachments=[att(PNG, "erreur.png", "image/png"), att(BIN, "setup.log", "application/octet-stream")])
case("line-ends-bare-cr", (CR_MSG % b"a").replace(b"\n", b"\r").replace(b"@BIN@", BIN),
     message_id="cr-a@example.fr", warning_codes=["line_ends_repaired"], **CR_EXPECT)
case("line-ends-bare-cr-crlf-twin", (CR_MSG % b"b").replace(b"\n", b"\r\n").replace(b"@BIN@", BIN),
     message_id="cr-b@example.fr", warning_codes=[], **CR_EXPECT)

# Apple Mail "picture in the middle": the HTML branch is a multipart/mixed of two HTML fragments around an image.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes((i * 13) % 256 for i in range(400)) + b"\xff\xd9"
case("apple-alternative-html-image-html",
     headers("apple-pim", subject="Damaged pallet", ctype="Content-Type: multipart/alternative; boundary=\"Apple-Mail=_A\"\n") +
     "--Apple-Mail=_A\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
     "The pallet arrived like this:\n\n\n\nCan you send a replacement?\n"
     "--Apple-Mail=_A\nContent-Type: multipart/mixed; boundary=\"Apple-Mail=_B\"\n\n"
     "--Apple-Mail=_B\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n"
     "<html><body><div>The pallet arrived like this:</div><div><br></div></body></html>\n"
     "--Apple-Mail=_B\nContent-Disposition: inline; filename=pallet.jpg\nContent-Type: image/jpeg; name=\"pallet.jpg\"\n"
     "Content-Transfer-Encoding: base64\nContent-Id: <0A1B2C3D-pallet@example.com>\n\n" + b64(JPEG) +
     "--Apple-Mail=_B\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n"
     "<html><body><div><br></div><div>Can you send a replacement?</div></body></html>\n"
     "--Apple-Mail=_B--\n\n--Apple-Mail=_A--\n",
     content_type="text/plain", body_text="The pallet arrived like this:\n\n\n\nCan you send a replacement?",
     body_html="<html><body><div>The pallet arrived like this:</div><div><br></div></body></html>\n"
               "<html><body><div><br></div><div>Can you send a replacement?</div></body></html>",
     attachments=[att(JPEG, "pallet.jpg", "image/jpeg", content_id="0A1B2C3D-pallet@example.com", inline=True)])
case("apple-mixed-html-image-html",
     headers("apple-pim2", subject="Damaged pallet", ctype="Content-Type: multipart/mixed; boundary=\"Apple-Mail=_C\"\n") +
     "--Apple-Mail=_C\nContent-Type: text/html; charset=utf-8\n\n<div>Before the photo.</div>\n"
     "--Apple-Mail=_C\nContent-Disposition: inline; filename=pallet.jpg\nContent-Type: image/jpeg; name=\"pallet.jpg\"\n"
     "Content-Transfer-Encoding: base64\n\n" + b64(JPEG) +
     "--Apple-Mail=_C\nContent-Type: text/html; charset=utf-8\n\n<div>After the photo.</div>\n--Apple-Mail=_C--\n",
     content_type="text/html", body_text="Before the photo.\nAfter the photo.",
     body_html="<div>Before the photo.</div>\n<div>After the photo.</div>",
     attachments=[att(JPEG, "pallet.jpg", "image/jpeg", inline=True)])

# ARF (RFC 5965) feedback reports are machine mail: no auto-acknowledgement.
ARF_ORIG = ("From: support@example.com\nTo: someone@mailbox.example.net\nSubject: [#5120] Your request\n"
            "Date: " + STD_DATE + "\nMessage-ID: <ack-5120@example.com>\n\nWe received your request.\n")
case("auto-arf-feedback-report",
     headers("arf", frm="abuse@mailbox.example.net", subject="FW: [#5120] Your request",
             ctype="Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf_b\"\n") +
     "--arf_b\nContent-Type: text/plain; charset=us-ascii\n\nThis is an email abuse report for an email message "
     "received from IP 192.0.2.25.\n"
     "--arf_b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: ExampleFBL/1.0\nVersion: 1\n"
     "Source-IP: 192.0.2.25\n\n--arf_b\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n" + ARF_ORIG +
     "--arf_b--\n",
     auto={"kind": "bounce", "reason": "multipart/report: feedback-report"}, ticket_tag="5120")
case("auto-arf-feedback-part-only",
     headers("arf2", frm="fbl@mailbox.example.net", subject="complaint",
             ctype="Content-Type: multipart/mixed; boundary=\"arf_c\"\n") +
     "--arf_c\nContent-Type: text/plain\n\nA recipient marked a message as spam.\n"
     "--arf_c\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nVersion: 1\n--arf_c--\n",
     auto={"kind": "bounce", "reason": "multipart/report: feedback-report"})

# Dates: a comment before the zone (RFC 3798's example); a zone that cannot be read is never silently UTC.
case("date-comment-before-zone", dated("d10", "Date: Wed, 20 Sep 1995 00:19:00 (EDT) -0400\n"),
     date="1995-09-20T04:19:00Z", warning_codes=[])
case("date-unknown-zone", dated("d11", "Date: Mon, 3 Jun 2024 10:30:00 XST\n"), date="2024-06-03T10:30:00Z",
     warning_codes=["date_repaired"])
case("date-comment-zone-only", dated("d12", "Date: Mon, 3 Jun 2024 10:30:00 (CEST)\n"), date="2024-06-03T10:30:00Z",
     warning_codes=["date_repaired"])

# An address with an empty addr-spec cannot be replied to: dropped (From is kept, with a warning).
case("addresses-empty-addr-spec",
     simple("emptyaddr", extra="Reply-To: \"MARTA- KOWALSKA\" <>\nCc: \"Front desk\" <>, desk@example.org\n"),
     reply_to=[], cc=[{"name": None, "email": "desk@example.org"}], to=[{"name": None, "email": "support@example.com"}],
     warning_codes=["address_invalid"])
case("addresses-empty-from",
     simple("emptyfrom", frm="\"Printer Room\" <>"),
     **{"from": {"name": "Printer Room", "email": ""}}, warning_codes=["address_invalid"])

# Legacy single-byte charset labels on valid UTF-8 text; RFC 2231 values with bad bytes.
case("charset-mac-cyrillic-label-utf8-bytes",
     simple("maccyr", ctype="Content-Type: text/plain; charset=x-mac-cyrillic\nContent-Transfer-Encoding: 8bit\n",
            body="Здравствуйте, принтер не печатает.\n"),
     body_text="Здравствуйте, принтер не печатает.", warning_codes=["charset_mislabeled"])
case("charset-koi8r-label-utf8-bytes",
     simple("koi8utf", ctype="Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n",
            body="Счёт во вложении.\n"),
     body_text="Счёт во вложении.", warning_codes=["charset_mislabeled"])
case("charset-windows-1251-real",
     simple("cp1251", ctype="Content-Type: text/plain; charset=windows-1251\nContent-Transfer-Encoding: 8bit\n",
            body="Счёт во вложении.\n".encode("cp1251").decode("latin-1")).encode("latin-1"),
     body_text="Счёт во вложении.", warning_codes=[])
case("param-rfc2231-invalid-bytes",
     headers("p2231bad", ctype="Content-Type: multipart/mixed; boundary=b\n") +
     "--b\nContent-Type: text/plain\n\nSee attached.\n--b\nContent-Type: application/pdf\n"
     "Content-Disposition: attachment; filename*=utf-8''Rechnung%FF%00.pdf\n\nxx\n--b--\n",
     attachments=[att(b"xx", "Rechnungÿ .pdf", "application/pdf")],
     warning_codes=["charset_repaired", "param_repaired"])


def main():
    for f in os.listdir(OUT):
        if f.endswith(".eml") or f.endswith(".expect.json"):
            os.unlink(os.path.join(OUT, f))
    names = set()
    for name, raw, expect in CASES:
        assert name not in names, name
        names.add(name)
        with open(os.path.join(OUT, name + ".eml"), "wb") as fh:
            fh.write(raw)
        with open(os.path.join(OUT, name + ".expect.json"), "w", encoding="utf-8") as fh:
            json.dump(expect, fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.write("\n")
    print("%d cases written to %s" % (len(CASES), OUT))


if __name__ == "__main__":
    main()
