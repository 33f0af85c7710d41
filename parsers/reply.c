/*
 * reply.c — find the new words of a reply: strip quoted history and signature
 * (see reply.h).
 *
 * How it works. The text is split into lines and read top to bottom once:
 *  - a quoted line (">" after at most three spaces) is dropped, and so is an
 *    attribution ("On ... wrote:", "Am ... schrieb ...:", "... <a@b>:") whose
 *    next non-blank line is quoted; text between quoted blocks is kept, with
 *    one blank line where a block was removed. A delivery report's SMTP
 *    transcript (">>> DATA", ">>> RCPT TO:<a@b>", ">>> 250 ok": ">>> " then
 *    an upper-case SMTP verb or a 2xx-5xx code) is not a quote;
 *  - reading stops at a signature ("-- ", "Sent from my iPhone" and its
 *    translations), at "-----Original Message-----" and its translations, at
 *    a header block (below), at a trailing mailing-list footer (below), and
 *    at a strong attribution (one that starts like "On"/"Am"/"Le"/a date,
 *    has a digit and an address or ends in the verb) even when the history
 *    below it is not quoted;
 *  - a header block right after a "Forwarded message" marker is kept: a
 *    forwarded mail is content, not history.
 *
 * Header blocks. A block is the run of non-blank lines from its first key
 * line ("From:", "Sent:"/"Date:", "To:", "Cc:", "Subject:" and their
 * translations; the line above is no key line), read for HEADER_WINDOW lines
 * at most. A value looks like a mail header's when a From/To/Cc value holds
 * an address ("x@y", or a name with "<...>") or a Sent/Date value holds a
 * time ("10:15") or a year ("2024"). A block is history when either
 *  - it starts with "From:" and has "Subject:" and "Sent:"/"Date:" or "To:"
 *    (Outlook's classic block), with at least one header-like value or a
 *    rule line ("_____", "---") just above it; or
 *  - in any order and with or without a subject (Hotmail's "Date: /
 *    Subject: / From: / To:" after a "---" from <hr>, Windows Mail's and
 *    Outlook mobile's "From: / Sent: / To:"), it has at least three distinct
 *    keys, one of them From or Sent/Date, and at least two header-like
 *    values, one of them an address.
 * A customer's own "From: Berlin office / To: Munich office / Date: 1 July
 * 2024" (or "... / Subject: the move") is thus kept: no address, no rule.
 *
 * Mailing-list footers. Mailman, majordomo, LISTSERV and Google Groups add a
 * footer after everything else, also after the quoted history or as an
 * inline part joined after the body. It is cut like a signature when it is
 * trailing (no quoted line after it and at most FOOTER_LINES non-blank lines
 * to the end), starts with a rule of '-' or '_' that has a footer phrase
 * ("mailing list", "listinfo", "unsubscribe", "subscribed to the", ...) in
 * the next FOOTER_PHRASE_LINES non-blank lines, or with Google Groups' "You
 * received this message because you are subscribed to ...", and names a
 * URL or an address somewhere in it (every footer says where to go), so a
 * customer's "-----\nPlease unsubscribe me from the mailing list." is kept.
 *
 * An attribution must end with a colon and contain a "wrote" verb (or end in
 * "<address>:"), so a sentence that merely contains "wrote:" is kept.
 *
 * Matching is hand-written rather than PCRE2: every test looks at one line,
 * or at most three short joined lines (ATTRIBUTION_MAX bytes), or scans a
 * fixed window of lines after a header key line (VALUE_MAX bytes of each
 * value), or, for footers, only the last FOOTER_LINES non-blank lines (found
 * once, from the end), so the work is linear in the input with no
 * backtracking, and the phrase tables stay easy to extend.
 * Comparisons fold ASCII case only; non-ASCII phrases are listed as written.
 */
#include "helpgate/reply.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ATTRIBUTION_MAX 400 /* bytes of a (joined) attribution */
#define ATTRIBUTION_LINES 3 /* an attribution wrapped over at most this many lines */
#define HEADER_WINDOW 25    /* lines of a header block searched for its keys */
#define VALUE_MAX 512       /* bytes of a header value looked at */
#define SIGNATURE_LINE_MAX 160
#define FOOTER_LINES 20       /* non-blank lines of a trailing list footer, at most */
#define FOOTER_PHRASE_LINES 4 /* non-blank lines after its rule that must name the list */
#define FOOTER_SCAN_BYTES 300 /* bytes of each footer line searched for phrases and places */

struct line {
    const char *s;
    size_t len; /* without the line end */
};

enum attribution { ATTRIBUTION_NONE, ATTRIBUTION_WEAK, ATTRIBUTION_STRONG };

enum header_key { KEY_NONE, KEY_FROM, KEY_DATE, KEY_TO, KEY_CC, KEY_SUBJECT, KEY_COUNT };

/* A phrase and its length, so that the tables cost no strlen per line. */
struct phrase {
    const char *s;
    size_t len;
};

// clang-format off
#define PHRASE(text) {text, sizeof(text) - 1}
// clang-format on

/* ------------------------------------------------------------------ */
/* Phrase tables                                                       */

/* Words that introduce a dated attribution: "On ...", "Am ...", "Le ..." */
static const struct phrase attribution_leads[] = {
    PHRASE("on "),  PHRASE("am "), PHRASE("le "),      PHRASE("el "),   PHRASE("op "),
    PHRASE("il "),  PHRASE("em "), PHRASE("w dniu "),  PHRASE("dnia "), PHRASE("den "),
    PHRASE("dne "), PHRASE("pe "), PHRASE("citando "),
};

/* The verb of an attribution, anywhere in it. */
static const struct phrase attribution_verbs[] = {
    PHRASE("wrote"),        PHRASE("writes"),   PHRASE("schrieb"),  PHRASE("geschrieben"), PHRASE("écrit"),
    PHRASE("escribió"),     PHRASE("escribio"), PHRASE("schreef"),  PHRASE("geschreven"),  PHRASE("scritto"),
    PHRASE("escreveu"),     PHRASE("написал"),  PHRASE("написала"), PHRASE("пишет"),       PHRASE("napisał"),
    PHRASE("napisała"),     PHRASE("pisze"),    PHRASE("skrev"),    PHRASE("kirjoitti"),   PHRASE("napsal"),
    PHRASE("írta"),         PHRASE("yazdı"),    PHRASE("a scris"),  PHRASE("写道"),        PHRASE("寫道"),
    PHRASE("のメッセージ"), PHRASE("작성"),
};

struct header_key_name {
    struct phrase name;
    enum header_key key;
};

/* Outlook's header block keys in the languages its users write in. */
static const struct header_key_name header_keys[] = {
    /* en */
    {PHRASE("From"), KEY_FROM},
    {PHRASE("Sent"), KEY_DATE},
    {PHRASE("Date"), KEY_DATE},
    {PHRASE("To"), KEY_TO},
    {PHRASE("Cc"), KEY_CC},
    {PHRASE("Bcc"), KEY_CC},
    {PHRASE("Subject"), KEY_SUBJECT},
    /* de */
    {PHRASE("Von"), KEY_FROM},
    {PHRASE("Absender"), KEY_FROM},
    {PHRASE("Gesendet"), KEY_DATE},
    {PHRASE("Datum"), KEY_DATE},
    {PHRASE("An"), KEY_TO},
    {PHRASE("Kopie"), KEY_CC},
    {PHRASE("Betreff"), KEY_SUBJECT},
    /* fr */
    {PHRASE("De"), KEY_FROM},
    {PHRASE("Expéditeur"), KEY_FROM},
    {PHRASE("Envoyé"), KEY_DATE},
    {PHRASE("À"), KEY_TO},
    {PHRASE("A"), KEY_TO},
    {PHRASE("Destinataire"), KEY_TO},
    {PHRASE("Objet"), KEY_SUBJECT},
    /* es, pt */
    {PHRASE("Remitente"), KEY_FROM},
    {PHRASE("Enviado el"), KEY_DATE},
    {PHRASE("Enviado"), KEY_DATE},
    {PHRASE("Enviada em"), KEY_DATE},
    {PHRASE("Enviada"), KEY_DATE},
    {PHRASE("Fecha"), KEY_DATE},
    {PHRASE("Data"), KEY_DATE},
    {PHRASE("Para"), KEY_TO},
    {PHRASE("CC"), KEY_CC},
    {PHRASE("Asunto"), KEY_SUBJECT},
    {PHRASE("Assunto"), KEY_SUBJECT},
    /* nl */
    {PHRASE("Van"), KEY_FROM},
    {PHRASE("Verzonden"), KEY_DATE},
    {PHRASE("Aan"), KEY_TO},
    {PHRASE("Onderwerp"), KEY_SUBJECT},
    /* it */
    {PHRASE("Da"), KEY_FROM},
    {PHRASE("Mittente"), KEY_FROM},
    {PHRASE("Inviato"), KEY_DATE},
    {PHRASE("Oggetto"), KEY_SUBJECT},
    /* ru */
    {PHRASE("От"), KEY_FROM},
    {PHRASE("Отправлено"), KEY_DATE},
    {PHRASE("Дата"), KEY_DATE},
    {PHRASE("Кому"), KEY_TO},
    {PHRASE("Копия"), KEY_CC},
    {PHRASE("Тема"), KEY_SUBJECT},
    /* pl */
    {PHRASE("Od"), KEY_FROM},
    {PHRASE("Nadawca"), KEY_FROM},
    {PHRASE("Wysłano"), KEY_DATE},
    {PHRASE("Wysłane"), KEY_DATE},
    {PHRASE("Do"), KEY_TO},
    {PHRASE("DW"), KEY_CC},
    {PHRASE("Temat"), KEY_SUBJECT},
    /* sv, da, no */
    {PHRASE("Från"), KEY_FROM},
    {PHRASE("Fra"), KEY_FROM},
    {PHRASE("Skickat"), KEY_DATE},
    {PHRASE("Sendt"), KEY_DATE},
    {PHRASE("Dato"), KEY_DATE},
    {PHRASE("Till"), KEY_TO},
    {PHRASE("Til"), KEY_TO},
    {PHRASE("Kopia"), KEY_CC},
    {PHRASE("Kopi"), KEY_CC},
    {PHRASE("Ämne"), KEY_SUBJECT},
    {PHRASE("Emne"), KEY_SUBJECT},
    /* fi */
    {PHRASE("Lähettäjä"), KEY_FROM},
    {PHRASE("Lähetetty"), KEY_DATE},
    {PHRASE("Päivämäärä"), KEY_DATE},
    {PHRASE("Vastaanottaja"), KEY_TO},
    {PHRASE("Kopio"), KEY_CC},
    {PHRASE("Aihe"), KEY_SUBJECT},
    /* cs, hu, tr */
    {PHRASE("Odesláno"), KEY_DATE},
    {PHRASE("Komu"), KEY_TO},
    {PHRASE("Předmět"), KEY_SUBJECT},
    {PHRASE("Feladó"), KEY_FROM},
    {PHRASE("Elküldve"), KEY_DATE},
    {PHRASE("Dátum"), KEY_DATE},
    {PHRASE("Címzett"), KEY_TO},
    {PHRASE("Másolat"), KEY_CC},
    {PHRASE("Tárgy"), KEY_SUBJECT},
    {PHRASE("Kimden"), KEY_FROM},
    {PHRASE("Gönderildi"), KEY_DATE},
    {PHRASE("Tarih"), KEY_DATE},
    {PHRASE("Kime"), KEY_TO},
    {PHRASE("Bilgi"), KEY_CC},
    {PHRASE("Konu"), KEY_SUBJECT},
    /* ja, zh, ko */
    {PHRASE("差出人"), KEY_FROM},
    {PHRASE("送信日時"), KEY_DATE},
    {PHRASE("宛先"), KEY_TO},
    {PHRASE("件名"), KEY_SUBJECT},
    {PHRASE("发件人"), KEY_FROM},
    {PHRASE("发送时间"), KEY_DATE},
    {PHRASE("收件人"), KEY_TO},
    {PHRASE("抄送"), KEY_CC},
    {PHRASE("主题"), KEY_SUBJECT},
    {PHRASE("寄件者"), KEY_FROM},
    {PHRASE("傳送時間"), KEY_DATE},
    {PHRASE("收件者"), KEY_TO},
    {PHRASE("副本"), KEY_CC},
    {PHRASE("主旨"), KEY_SUBJECT},
    {PHRASE("보낸 사람"), KEY_FROM},
    {PHRASE("보낸 날짜"), KEY_DATE},
    {PHRASE("받는 사람"), KEY_TO},
    {PHRASE("참조"), KEY_CC},
    {PHRASE("제목"), KEY_SUBJECT},
};

/* The text between the dashes of "-----Original Message-----", lower case. */
static const struct phrase original_message_names[] = {
    PHRASE("original message"),
    PHRASE("original"),
    PHRASE("ursprüngliche nachricht"),
    PHRASE("originalnachricht"),
    PHRASE("message d'origine"),
    PHRASE("message original"),
    PHRASE("mensaje original"),
    PHRASE("oorspronkelijk bericht"),
    PHRASE("origineel bericht"),
    PHRASE("messaggio originale"),
    PHRASE("mensagem original"),
    PHRASE("исходное сообщение"),
    PHRASE("oryginalna wiadomość"),
    PHRASE("wiadomość oryginalna"),
    PHRASE("ursprungligt meddelande"),
    PHRASE("originalmeddelande"),
    PHRASE("oprindelig meddelelse"),
    PHRASE("opprinnelig melding"),
    PHRASE("alkuperäinen viesti"),
    PHRASE("původní zpráva"),
    PHRASE("eredeti üzenet"),
    PHRASE("orijinal ileti"),
    PHRASE("原始邮件"),
    PHRASE("原始郵件"),
    PHRASE("元のメッセージ"),
    PHRASE("원본 메시지"),
};

/* Markers of a forwarded message, lower case: between dashes, or a whole line. */
static const struct phrase forward_names[] = {
    PHRASE("forwarded message"),
    PHRASE("forwarded message follows"),
    PHRASE("weitergeleitete nachricht"),
    PHRASE("message transféré"),
    PHRASE("mensaje reenviado"),
    PHRASE("doorgestuurd bericht"),
    PHRASE("messaggio inoltrato"),
    PHRASE("mensagem encaminhada"),
    PHRASE("mensagem reencaminhada"),
    PHRASE("пересылаемое сообщение"),
    PHRASE("przekazana wiadomość"),
    PHRASE("vidarebefordrat meddelande"),
    PHRASE("videresendt meddelelse"),
    PHRASE("videresendt melding"),
    PHRASE("välitetty viesti"),
    PHRASE("přeposlaná zpráva"),
    PHRASE("továbbított üzenet"),
    PHRASE("iletilen mesaj"),
    PHRASE("转发的邮件"),
    PHRASE("転送されたメッセージ"),
};

static const struct phrase forward_lines[] = {
    PHRASE("begin forwarded message:"),      PHRASE("anfang der weitergeleiteten nachricht:"),
    PHRASE("début du message réexpédié :"),  PHRASE("début du message réexpédié:"),
    PHRASE("inicio del mensaje reenviado:"), PHRASE("begin doorgestuurd bericht:"),
    PHRASE("inizio messaggio inoltrato:"),   PHRASE("início da mensagem reencaminhada:"),
};

struct signature_pattern {
    struct phrase prefix;
    struct phrase suffix;
    size_t max_len;
};

// clang-format off
#define SIGNATURE(prefix, suffix, max_len) {PHRASE(prefix), PHRASE(suffix), max_len}
// clang-format on

/* Mobile and webmail signatures: a whole line with this prefix and suffix
 * and at most max_len bytes, without a colon. */
static const struct signature_pattern mobile_signatures[] = {
    SIGNATURE("Sent from my ", "", 80),
    SIGNATURE("Sent from ", "", 60),
    SIGNATURE("Sent via ", "", 60),
    SIGNATURE("Sent with ", "", 70),
    SIGNATURE("Sent using ", "", 70),
    SIGNATURE("Get Outlook for ", "", 40),
    SIGNATURE("Download Outlook for ", "", 45),
    SIGNATURE("Envoyé de mon ", "", 80),
    SIGNATURE("Envoyé depuis mon ", "", 80),
    SIGNATURE("Envoyé à partir de ", "", 80),
    SIGNATURE("Envoyé de ", "", 60),
    SIGNATURE("Obtenir Outlook pour ", "", 45),
    SIGNATURE("Télécharger Outlook pour ", "", 50),
    SIGNATURE("Von meinem ", "gesendet", 80),
    SIGNATURE("Gesendet von meinem ", "", 80),
    SIGNATURE("Gesendet von ", "", 60),
    SIGNATURE("Gesendet mit ", "", 80),
    SIGNATURE("Outlook für ", "herunterladen", 60),
    SIGNATURE("Diese Nachricht wurde von meinem ", "", 160),
    SIGNATURE("Enviado desde mi ", "", 80),
    SIGNATURE("Enviado desde ", "", 60),
    SIGNATURE("Obtener Outlook para ", "", 45),
    SIGNATURE("Enviado do meu ", "", 80),
    SIGNATURE("Enviado de meu ", "", 80),
    SIGNATURE("Enviado do ", "", 60),
    SIGNATURE("Obter o Outlook para ", "", 45),
    SIGNATURE("Baixe o Outlook para ", "", 45),
    SIGNATURE("Verzonden vanaf mijn ", "", 80),
    SIGNATURE("Verstuurd vanaf mijn ", "", 80),
    SIGNATURE("Verzonden vanaf ", "", 60),
    SIGNATURE("Verzonden met ", "", 60),
    SIGNATURE("Download Outlook voor ", "", 45),
    SIGNATURE("Inviato da ", "", 60),
    SIGNATURE("Inviato dal mio ", "", 80),
    SIGNATURE("Scarica Outlook per ", "", 45),
    SIGNATURE("Ottieni Outlook per ", "", 45),
    SIGNATURE("Отправлено с ", "", 80),
    SIGNATURE("Отправлено из ", "", 100),
    SIGNATURE("Получите Outlook для ", "", 60),
    SIGNATURE("Скачайте Outlook для ", "", 60),
    SIGNATURE("Wysłane z mojego ", "", 80),
    SIGNATURE("Wysłane z ", "", 60),
    SIGNATURE("Wysłano z ", "", 60),
    SIGNATURE("Pobierz aplikację Outlook dla ", "", 60),
    SIGNATURE("Skickat från min ", "", 80),
    SIGNATURE("Skickat från ", "", 60),
    SIGNATURE("Hämta Outlook för ", "", 45),
    SIGNATURE("Sendt fra min ", "", 80),
    SIGNATURE("Sendt fra ", "", 60),
    SIGNATURE("Hent Outlook til ", "", 45),
    SIGNATURE("Få Outlook for ", "", 45),
    SIGNATURE("Lähetetty ", "sta", 40),
    SIGNATURE("Lähetetty ", "stä", 40),
    SIGNATURE("Odesláno z ", "", 60),
    SIGNATURE("Küldve ", "", 60),
    SIGNATURE("", "'dan gönderildi", 60),
    SIGNATURE("", "'den gönderildi", 60),
    SIGNATURE("", "から送信", 60),
    SIGNATURE("发自我的", "", 60),
    SIGNATURE("来自我的", "", 60),
    SIGNATURE("從我的", "", 60),
};

/* ------------------------------------------------------------------ */
/* Line helpers                                                        */

/* NUL counts as space here and is dropped from the result, a C string. */
static bool is_space_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\0';
}

/* Length of a no-break space (U+00A0) or narrow one (U+202F) at s, or 0. */
static size_t nbsp_length(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
        return 2;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 && u[2] == 0xAF)
        return 3;
    return 0;
}

static struct line trim_line(struct line l)
{
    size_t skip;
    for (;;) {
        if (l.len > 0 && is_space_byte(l.s[0]))
            skip = 1;
        else
            skip = nbsp_length(l.s, l.len);
        if (skip == 0)
            break;
        l.s += skip;
        l.len -= skip;
    }
    for (;;) {
        if (l.len > 0 && is_space_byte(l.s[l.len - 1]))
            l.len--;
        else if (l.len >= 2 && nbsp_length(l.s + l.len - 2, 2) == 2)
            l.len -= 2;
        else if (l.len >= 3 && nbsp_length(l.s + l.len - 3, 3) == 3)
            l.len -= 3;
        else
            break;
    }
    return l;
}

static struct line trim_line_end(struct line l)
{
    while (l.len > 0 && is_space_byte(l.s[l.len - 1]))
        l.len--;
    return l;
}

static bool is_blank(struct line l)
{
    return trim_line(l).len == 0;
}

/* ">>> DATA", ">>> RCPT TO:<a@b>", ">>> 250 ok": a line of the SMTP transcript
 * in a delivery report (sendmail writes one), not a quote three levels deep.
 * REST is the text after ">>> ": an upper-case SMTP verb or a 2xx-5xx reply
 * code, then a space, a colon, a '-' (code only) or the end of the line. */
static bool is_smtp_transcript(struct line rest)
{
    static const struct phrase verbs[] = {
        PHRASE("EHLO"), PHRASE("HELO"), PHRASE("LHLO"), PHRASE("MAIL FROM"), PHRASE("RCPT TO"),
        PHRASE("DATA"), PHRASE("BDAT"), PHRASE("QUIT"), PHRASE("RSET"),      PHRASE("STARTTLS"),
        PHRASE("AUTH"), PHRASE("NOOP"), PHRASE("VRFY"), PHRASE("."),
    };
    rest = trim_line_end(rest);
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        size_t n = verbs[i].len;
        if (rest.len >= n && memcmp(rest.s, verbs[i].s, n) == 0 &&
            (rest.len == n || rest.s[n] == ' ' || rest.s[n] == ':'))
            return true;
    }
    return rest.len >= 3 && rest.s[0] >= '2' && rest.s[0] <= '5' && rest.s[1] >= '0' && rest.s[1] <= '9' &&
           rest.s[2] >= '0' && rest.s[2] <= '9' && (rest.len == 3 || rest.s[3] == ' ' || rest.s[3] == '-');
}

static bool is_quoted(struct line l)
{
    size_t i = 0;
    while (i < l.len && i < 3 && (l.s[i] == ' ' || l.s[i] == '\t'))
        i++;
    if (i >= l.len || l.s[i] != '>')
        return false;
    if (l.len - i > 4 && memcmp(l.s + i, ">>> ", 4) == 0 &&
        is_smtp_transcript((struct line){l.s + i + 4, l.len - i - 4}))
        return false;
    return true;
}

static bool starts_with_nocase(const char *s, size_t len, struct phrase prefix)
{
    return len >= prefix.len && strncasecmp(s, prefix.s, prefix.len) == 0;
}

static bool ends_with_nocase(const char *s, size_t len, struct phrase suffix)
{
    return len >= suffix.len && strncasecmp(s + len - suffix.len, suffix.s, suffix.len) == 0;
}

static bool equals_nocase(struct line l, struct phrase p)
{
    return l.len == p.len && strncasecmp(l.s, p.s, l.len) == 0;
}

static bool contains_nocase(const char *s, size_t len, struct phrase needle)
{
    for (size_t i = 0; i + needle.len <= len; i++)
        if (strncasecmp(s + i, needle.s, needle.len) == 0)
            return true;
    return false;
}

static bool contains_byte(struct line l, char c)
{
    return memchr(l.s, c, l.len) != NULL;
}

/* ------------------------------------------------------------------ */
/* Signatures and separators                                           */

/* RFC 3676's "-- ", also seen without its space. */
static bool is_signature_delimiter(struct line l)
{
    l = trim_line_end(l);
    return l.len == 2 && l.s[0] == '-' && l.s[1] == '-';
}

static bool matches_signature(struct line l, const struct signature_pattern *p)
{
    if (l.len > p->max_len || !starts_with_nocase(l.s, l.len, p->prefix))
        return false;
    if (!ends_with_nocase(l.s, l.len, p->suffix))
        return false;
    return l.len >= p->prefix.len + p->suffix.len;
}

static bool is_mobile_signature(struct line l)
{
    l = trim_line(l);
    while (l.len > 0 && (l.s[l.len - 1] == '.' || l.s[l.len - 1] == '!'))
        l.len--;
    if (l.len == 0 || l.len > SIGNATURE_LINE_MAX || contains_byte(l, ':'))
        return false;
    for (size_t i = 0; i < sizeof mobile_signatures / sizeof mobile_signatures[0]; i++)
        if (matches_signature(l, &mobile_signatures[i]))
            return true;
    return false;
}

static bool is_rule_char(char c)
{
    return c == '-' || c == '_' || c == '=' || c == '*' || c == '~';
}

/* A line drawn with dashes, underscores or equal signs (Outlook draws one
 * above its header block). */
static bool is_rule_line(struct line l)
{
    l = trim_line(l);
    if (l.len < 3)
        return false;
    for (size_t i = 0; i < l.len; i++)
        if (!is_rule_char(l.s[i]) && l.s[i] != ' ')
            return false;
    return true;
}

/* The words of "-----Original Message-----" if the line is built like that:
 * at least two dashes on each side. */
static bool dashed_title(struct line l, struct line *title)
{
    l = trim_line(l);
    size_t lead = 0, trail = 0;
    while (lead < l.len && (l.s[lead] == '-' || l.s[lead] == '_' || l.s[lead] == '='))
        lead++;
    while (trail < l.len - lead &&
           (l.s[l.len - 1 - trail] == '-' || l.s[l.len - 1 - trail] == '_' || l.s[l.len - 1 - trail] == '='))
        trail++;
    if (lead < 2 || trail < 2 || lead + trail >= l.len)
        return false;
    *title = trim_line((struct line){l.s + lead, l.len - lead - trail});
    return title->len > 0;
}

static bool title_in(struct line title, const struct phrase *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (equals_nocase(title, names[i]))
            return true;
    return false;
}

static bool is_original_message_separator(struct line l)
{
    struct line title;
    return dashed_title(l, &title) &&
           title_in(title, original_message_names,
                    sizeof original_message_names / sizeof original_message_names[0]);
}

static bool is_forward_marker(struct line l)
{
    struct line title;
    if (dashed_title(l, &title))
        return title_in(title, forward_names, sizeof forward_names / sizeof forward_names[0]);
    return title_in(trim_line(l), forward_lines, sizeof forward_lines / sizeof forward_lines[0]);
}

/* ------------------------------------------------------------------ */
/* Header blocks                                                       */

/* "From:", "*From:*", "Von:", "De :", "差出人:" at the start of a line; sets
 * *VALUE (if not NULL) to the trimmed text after the colon. */
static enum header_key header_key_of(struct line l, struct line *value)
{
    l = trim_line(l);
    while (l.len > 0 && l.s[0] == '*') {
        l.s++;
        l.len--;
    }
    /* every key is short: no colon near the start, no key */
    size_t head = l.len < 48 ? l.len : 48;
    if (memchr(l.s, ':', head) == NULL && !contains_nocase(l.s, head, (struct phrase)PHRASE("\xEF\xBC\x9A")))
        return KEY_NONE;
    for (size_t i = 0; i < sizeof header_keys / sizeof header_keys[0]; i++) {
        struct phrase name = header_keys[i].name;
        if (!starts_with_nocase(l.s, l.len, name))
            continue;
        size_t j = name.len, skip, colon = 0;
        for (;;) {
            if (j < l.len && (l.s[j] == ' ' || l.s[j] == '\t'))
                j++;
            else if ((skip = nbsp_length(l.s + j, l.len - j)) > 0)
                j += skip;
            else
                break;
        }
        if (j < l.len && l.s[j] == ':')
            colon = 1;
        else if (j + 3 <= l.len && memcmp(l.s + j, "\xEF\xBC\x9A", 3) == 0) /* fullwidth colon */
            colon = 3;
        if (colon == 0)
            continue;
        if (value != NULL) {
            *value = trim_line((struct line){l.s + j + colon, l.len - j - colon});
            /* "*From:* Ann": the bold markers of a rendered header */
            while (value->len > 0 && value->s[0] == '*') {
                value->s++;
                value->len--;
            }
            if (value->len > VALUE_MAX)
                value->len = VALUE_MAX;
        }
        return header_keys[i].key;
    }
    return KEY_NONE;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "ann@example.com", "Ann <ann@example.com>", "Ann<mailto:ann@x>", "Ann <ann>":
 * an '@' between two non-space bytes, or a non-empty "<...>". */
static bool looks_like_address(struct line v)
{
    for (size_t i = 1; i + 1 < v.len; i++)
        if (v.s[i] == '@' && !is_space_byte(v.s[i - 1]) && !is_space_byte(v.s[i + 1]))
            return true;
    const char *open = memchr(v.s, '<', v.len);
    if (open == NULL)
        return false;
    size_t rest = v.len - (size_t)(open - v.s) - 1;
    const char *close = memchr(open + 1, '>', rest);
    return close != NULL && close > open + 1;
}

/* A date as mail clients print one: a time ("10:15") or a year ("2024"). */
static bool looks_like_date(struct line v)
{
    for (size_t i = 0; i < v.len; i++) {
        if (!is_digit(v.s[i]) || (i > 0 && is_digit(v.s[i - 1])))
            continue;
        size_t run = 1;
        while (i + run < v.len && is_digit(v.s[i + run]))
            run++;
        size_t colon = i + run;
        if (run <= 2 && colon + 2 < v.len && v.s[colon] == ':' && is_digit(v.s[colon + 1]) &&
            is_digit(v.s[colon + 2]))
            return true;
        if (run == 4 && ((v.s[i] == '1' && v.s[i + 1] == '9') || (v.s[i] == '2' && v.s[i + 1] == '0')))
            return true;
    }
    return false;
}

/* Whether a rule line ("_____", "---") is among the three lines above I,
 * with only blank lines between: Outlook draws one above its header block. */
static bool rule_above(const struct line *lines, size_t i)
{
    for (size_t k = 1; k <= 3 && k <= i; k++) {
        if (is_rule_line(lines[i - k]))
            return true;
        if (!is_blank(lines[i - k]))
            return false;
    }
    return false;
}

/* Whether a header block starts at line I. A block is the lines from I up
 * to the next blank one (at most HEADER_WINDOW); it starts at its first key
 * line (the line above is no key line). Its values count as a mail
 * header's when a From/To/Cc value holds an address (x@y or "<...>") or a
 * Date/Sent value holds a time or a year. Two rules:
 *  - Outlook's classic block: a "From:" line, then a "Subject:" line and a
 *    "Sent:"/"Date:" or "To:" line, with one header-like value or a rule
 *    line just above (Outlook may print names without addresses, but then
 *    prints a full date);
 *  - any other order, and blocks without a subject (Hotmail's "Date: /
 *    Subject: / From: / To:", Windows Mail's "From: / Sent: / To:"): at
 *    least three distinct keys among From, Date/Sent, To, Cc and Subject,
 *    one of them From or Date/Sent, and at least two header-like values,
 *    one of them an address.
 * So a customer's "From: Berlin office / To: Munich office / Date: 1 July
 * 2024" is kept: a date, but no address, no subject, no rule above. */
static bool starts_header_block(const struct line *lines, size_t nlines, size_t i)
{
    struct line value;
    enum header_key first = header_key_of(lines[i], &value);
    if (first == KEY_NONE || (i > 0 && header_key_of(lines[i - 1], NULL) != KEY_NONE))
        return false;
    bool seen[KEY_COUNT] = {false};
    size_t addresses = 0, dates = 0;
    for (size_t j = i; j < nlines && j <= i + HEADER_WINDOW; j++) {
        if (is_blank(lines[j]))
            break;
        enum header_key key = j == i ? first : header_key_of(lines[j], &value);
        seen[key] = true;
        if ((key == KEY_FROM || key == KEY_TO || key == KEY_CC) && looks_like_address(value))
            addresses++;
        else if (key == KEY_DATE && looks_like_date(value))
            dates++;
    }
    if (first == KEY_FROM && seen[KEY_SUBJECT] && (seen[KEY_DATE] || seen[KEY_TO]) &&
        (addresses + dates >= 1 || rule_above(lines, i)))
        return true;
    size_t distinct = 0;
    for (int key = KEY_FROM; key < KEY_COUNT; key++)
        distinct += seen[key];
    return distinct >= 3 && (seen[KEY_FROM] || seen[KEY_DATE]) && addresses >= 1 && addresses + dates >= 2;
}

/* ------------------------------------------------------------------ */
/* Mailing-list footers                                                */

/* What a list footer says near its rule, lower case (ASCII folded). */
static const struct phrase footer_phrases[] = {
    PHRASE("mailing list"),      PHRASE("mailinglist"), PHRASE("listinfo"),           PHRASE("unsubscribe"),
    PHRASE("subscribed to the"), PHRASE("listserv"),    PHRASE("liste de diffusion"), PHRASE("désabonner"),
    PHRASE("lista de correo"),   PHRASE("abbestellen"), PHRASE("austragen"),          PHRASE("отписаться"),
};

/* Lines that open a footer by themselves (Google Groups, without a rule). */
static const struct phrase footer_openings[] = {
    PHRASE("You received this message because you are subscribed to"),
};

/* Mailman's "_____" line, majordomo's "-----". */
static bool is_footer_rule(struct line l)
{
    l = trim_line(l);
    if (l.len < 3)
        return false;
    for (size_t i = 0; i < l.len; i++)
        if (l.s[i] != '-' && l.s[i] != '_')
            return false;
    return true;
}

/* The first FOOTER_SCAN_BYTES of a line: footers are short lines. */
static struct line footer_head(struct line l)
{
    if (l.len > FOOTER_SCAN_BYTES)
        l.len = FOOTER_SCAN_BYTES;
    return l;
}

static bool names_a_place(struct line l)
{
    l = footer_head(l);
    return contains_nocase(l.s, l.len, (struct phrase)PHRASE("://")) || looks_like_address(l);
}

/* The first line from which on no quoted line follows and at most
 * FOOTER_LINES non-blank lines remain: where a trailing footer may start. */
static size_t footer_region(const struct line *lines, size_t nlines)
{
    size_t i = nlines, nonblank = 0;
    while (i > 0 && !is_quoted(lines[i - 1])) {
        if (!is_blank(lines[i - 1]) && ++nonblank > FOOTER_LINES)
            break;
        i--;
    }
    return i;
}

/* A mailing-list footer starting at line I and running to the end of the
 * text: at or after FROM (see footer_region); a rule of '-' or '_' with a
 * footer phrase in the next FOOTER_PHRASE_LINES non-blank lines, or a
 * line opening a footer; and somewhere in it a URL or an address (a
 * footer tells where to unsubscribe), so that "-----\nPlease unsubscribe
 * me" from a customer is kept. Each test reads only the last lines. */
static bool starts_list_footer(const struct line *lines, size_t nlines, size_t i, size_t from)
{
    if (i < from)
        return false;
    struct line l = trim_line(lines[i]);
    bool footer = false;
    for (size_t k = 0; k < sizeof footer_openings / sizeof footer_openings[0] && !footer; k++)
        footer = starts_with_nocase(l.s, l.len, footer_openings[k]);
    if (!footer && is_footer_rule(l)) {
        size_t seen = 0;
        for (size_t j = i + 1; j < nlines && seen < FOOTER_PHRASE_LINES && !footer; j++) {
            if (is_blank(lines[j]))
                continue;
            seen++;
            struct line head = footer_head(lines[j]);
            for (size_t k = 0; k < sizeof footer_phrases / sizeof footer_phrases[0] && !footer; k++)
                footer = contains_nocase(head.s, head.len, footer_phrases[k]);
        }
    }
    if (!footer)
        return false;
    for (size_t j = i; j < nlines; j++)
        if (names_a_place(lines[j]))
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Attributions                                                        */

static bool has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9')
            return true;
    return false;
}

static bool starts_with_lead(const char *s, size_t n)
{
    if (n > 0 && s[0] >= '0' && s[0] <= '9')
        return true;
    for (size_t i = 0; i < sizeof attribution_leads / sizeof attribution_leads[0]; i++)
        if (starts_with_nocase(s, n, attribution_leads[i]))
            return true;
    return false;
}

/* Removes a final ':' (or fullwidth '：') and the spaces before it. */
static bool strip_final_colon(const char *s, size_t *n)
{
    size_t len = *n;
    if (len >= 1 && s[len - 1] == ':')
        len -= 1;
    else if (len >= 3 && memcmp(s + len - 3, "\xEF\xBC\x9A", 3) == 0)
        len -= 3;
    else
        return false;
    for (;;) {
        if (len > 0 && is_space_byte(s[len - 1]))
            len--;
        else if (len >= 2 && nbsp_length(s + len - 2, 2) == 2)
            len -= 2;
        else
            break;
    }
    *n = len;
    return true;
}

/* "... Ann <ann@example.com>:" as Gmail writes it in several languages. */
static bool ends_with_address(const char *s, size_t n)
{
    if (n == 0 || (s[n - 1] != '>' && s[n - 1] != ')'))
        return false;
    for (size_t i = n; i > 0 && n - i < 256; i--) {
        if (s[i - 1] == '<' || s[i - 1] == '(')
            return memchr(s + i, '@', n - i) != NULL;
    }
    return false;
}

static bool verb_at_end(const char *s, size_t n)
{
    /* "написал(а)", "napisał(a)": the optional feminine ending */
    if (ends_with_nocase(s, n, (struct phrase)PHRASE("(a)")))
        n -= 3;
    else if (ends_with_nocase(s, n, (struct phrase)PHRASE("(\xD0\xB0)")))
        n -= 4;
    for (size_t i = 0; i < sizeof attribution_verbs / sizeof attribution_verbs[0]; i++)
        if (ends_with_nocase(s, n, attribution_verbs[i]))
            return true;
    return false;
}

static bool contains_verb(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof attribution_verbs / sizeof attribution_verbs[0]; i++)
        if (contains_nocase(s, n, attribution_verbs[i]))
            return true;
    return false;
}

/* WEAK: ends with a colon and has a "wrote" verb or ends in "<address>:";
 * it introduces a quote only if quoted lines follow. STRONG: also starts
 * like a dated attribution, has a digit, and an address or the verb last. */
static enum attribution classify_attribution(const char *s, size_t n)
{
    if (n == 0 || n > ATTRIBUTION_MAX || !strip_final_colon(s, &n) || n == 0)
        return ATTRIBUTION_NONE;
    bool address = ends_with_address(s, n);
    bool verb_last = verb_at_end(s, n);
    if (!address && !verb_last && !contains_verb(s, n))
        return ATTRIBUTION_NONE;
    bool has_at = memchr(s, '@', n) != NULL;
    if (starts_with_lead(s, n) && has_digit(s, n) && (has_at || verb_last))
        return ATTRIBUTION_STRONG;
    return ATTRIBUTION_WEAK;
}

/* An attribution starting at line I, possibly wrapped over up to three
 * lines; sets *SPAN to the number of lines it takes. A wrapped one must be
 * strong and its first line must start like an attribution. */
static enum attribution attribution_at(const struct line *lines, size_t nlines, size_t i, size_t *span)
{
    char joined[ATTRIBUTION_MAX + 1];
    size_t len = 0;
    for (size_t k = 0; k < ATTRIBUTION_LINES && i + k < nlines; k++) {
        struct line l = trim_line(lines[i + k]);
        if (l.len == 0 || is_quoted(lines[i + k]) || len + (k > 0) + l.len > ATTRIBUTION_MAX)
            break;
        if (k > 0) {
            if (!starts_with_lead(joined, len))
                break;
            joined[len++] = ' ';
        }
        memcpy(joined + len, l.s, l.len);
        len += l.len;
        enum attribution a = classify_attribution(joined, len);
        if (a == ATTRIBUTION_STRONG || (a == ATTRIBUTION_WEAK && k == 0)) {
            *span = k + 1;
            return a;
        }
    }
    return ATTRIBUTION_NONE;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */

struct line_list {
    struct line *items;
    size_t count;
};

static struct line_list split_lines(const char *text, size_t len)
{
    size_t count = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + len - p))) != NULL; p++)
        count++;
    struct line_list list = {hg_xcalloc(count, sizeof(struct line)), 0};
    const char *p = text, *end = text + len;
    while (p <= end && list.count < count) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t n = (size_t)(stop - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        list.items[list.count++] = (struct line){p, n};
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return list;
}

static size_t next_nonblank(const struct line *lines, size_t nlines, size_t i)
{
    while (i < nlines && is_blank(lines[i]))
        i++;
    return i;
}

/* The kept lines, blank ones with len 0. */
struct kept {
    struct line *items;
    size_t count;
    size_t pending_blanks; /* blank lines seen since the last kept line */
    bool dropped;          /* something was removed since the last kept line */
};

static void keep_line(struct kept *k, struct line l)
{
    if (k->count > 0) {
        size_t blanks = k->dropped ? 1 : k->pending_blanks;
        for (size_t i = 0; i < blanks; i++)
            k->items[k->count++] = (struct line){"", 0};
    }
    k->items[k->count++] = trim_line_end(l);
    k->pending_blanks = 0;
    k->dropped = false;
}

/* After a cut, drops the blank and rule lines that led up to it. */
static void drop_trailing_rules(struct kept *k)
{
    while (k->count > 0 && (k->items[k->count - 1].len == 0 || is_rule_line(k->items[k->count - 1])))
        k->count--;
}

static void select_reply_lines(const struct line *lines, size_t nlines, struct kept *k)
{
    bool after_forward_marker = false;
    size_t footer_from = footer_region(lines, nlines);
    size_t i = 0;
    while (i < nlines) {
        struct line l = lines[i];
        if (is_quoted(l)) {
            k->dropped = true;
            i++;
            continue;
        }
        if (is_blank(l)) {
            k->pending_blanks++;
            i++;
            continue;
        }
        if (is_signature_delimiter(l) || is_mobile_signature(l) || is_original_message_separator(l) ||
            starts_list_footer(lines, nlines, i, footer_from) ||
            (!after_forward_marker && starts_header_block(lines, nlines, i))) {
            drop_trailing_rules(k);
            break;
        }
        size_t span = 0;
        enum attribution a = attribution_at(lines, nlines, i, &span);
        if (a != ATTRIBUTION_NONE) {
            size_t next = next_nonblank(lines, nlines, i + span);
            if (next < nlines && is_quoted(lines[next])) {
                k->dropped = true;
                i += span;
                continue;
            }
            if (a == ATTRIBUTION_STRONG) {
                drop_trailing_rules(k);
                break;
            }
        }
        after_forward_marker = is_forward_marker(l);
        keep_line(k, l);
        i++;
    }
}

static char *join_lines(const struct line *items, size_t count, size_t max)
{
    struct hg_buf out;
    hg_buf_init(&out, max);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            (void)hg_buf_append_char(&out, '\n');
        const char *p = items[i].s, *end = items[i].s + items[i].len;
        while (p < end) {
            const char *nul = memchr(p, '\0', (size_t)(end - p));
            const char *stop = nul ? nul : end;
            (void)hg_buf_append(&out, p, (size_t)(stop - p));
            p = nul ? nul + 1 : end;
        }
    }
    return hg_buf_steal(&out);
}

/* The whole text with LF line ends and no leading or trailing blank space. */
static char *original_trimmed(const struct line *lines, size_t nlines, size_t max)
{
    size_t first = next_nonblank(lines, nlines, 0);
    size_t last = nlines;
    while (last > first && is_blank(lines[last - 1]))
        last--;
    if (first == last)
        return hg_xstrdup("");
    struct line *copy = hg_xcalloc(last - first, sizeof(struct line));
    memcpy(copy, lines + first, (last - first) * sizeof(struct line));
    copy[0] = trim_line(copy[0]);
    for (size_t i = 1; i < last - first; i++)
        copy[i] = trim_line_end(copy[i]);
    copy[last - first - 1] = trim_line_end(copy[last - first - 1]);
    char *result = join_lines(copy, last - first, max);
    free(copy);
    return result;
}

char *hg_reply_extract(const char *text, size_t len)
{
    if (text == NULL || len == 0)
        return hg_xstrdup("");
    struct line_list lines = split_lines(text, len);
    /* at most every line kept plus one blank before each */
    struct kept k = {hg_xcalloc(2 * lines.count + 1, sizeof(struct line)), 0, 0, false};
    select_reply_lines(lines.items, lines.count, &k);
    while (k.count > 0 && k.items[k.count - 1].len == 0)
        k.count--;
    char *result = k.count > 0 ? join_lines(k.items, k.count, 2 * len + 16)
                               : original_trimmed(lines.items, lines.count, 2 * len + 16);
    free(k.items);
    free(lines.items);
    return result;
}
