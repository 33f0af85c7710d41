/*
 * reply.h — find the new words of a reply: strip quoted history and signature.
 *
 * Recognises, in many languages and client styles:
 *  - attribution lines that start quoted history ("On Mon, 3 Jun 2024, Ann
 *    <a@x> wrote:", "Am ... schrieb ...:", "Le ... a écrit :", "El ...
 *    escribió:", "Op ... schreef ...:", "Il ... ha scritto:", "Em ...
 *    escreveu:", "... написал(а):", and the same wrapped over two lines);
 *  - "-----Original Message-----" and its translations, and header blocks as
 *    Outlook, Hotmail, Windows Mail and mobile clients write them ("From: /
 *    Sent: / To: / Subject:" in any order, Subject optional, and their
 *    translations "Von: / Gesendet: / An: / Betreff:", "De : / Envoyé : / À :
 *    / Objet :", …), when their values look like headers (addresses, dates);
 *  - lines starting with ">" (trailing quote blocks, and interleaved quotes
 *    are removed while the answers between them are kept);
 *  - trailing mailing-list footers (Mailman, majordomo, Google Groups);
 *  - signatures: the "-- " delimiter (RFC 3676), and common mobile ones
 *    ("Sent from my iPhone", "Get Outlook for Android", "Envoyé de mon
 *    iPhone", "Von meinem iPhone gesendet", …).
 * Trailing blank lines are dropped. When stripping would leave nothing, the
 * original text (trimmed) is returned, so a message is never emptied.
 *
 * Pure: no I/O. Input is UTF-8 text with LF or CRLF line ends.
 * Ownership: the result is the caller's (free()); never NULL.
 */
#ifndef HELPGATE_REPLY_H
#define HELPGATE_REPLY_H

#include <stddef.h>

char *hg_reply_extract(const char *text, size_t len);

#endif
