/*
 * test-reply.c — unit tests for hg_reply_extract (reply.h).
 *
 * Data-driven: every tests/data/reply/NAME.txt is extracted and compared
 * with NAME.ref (trailing newlines of the .ref ignored); each case is also
 * run with CRLF line ends, and the output is checked for what the header
 * promises. Then in-code table cases and limits (huge and hostile inputs).
 * The data directory is found through $top_srcdir (default ".").
 */
#include "helpgate/reply.h"

#include "tap.h"
#include "testdata.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the header promises of every output; NULL when it holds. */
static const char *broken_invariant(const char *out, size_t input_len)
{
    size_t len = strlen(out);
    if (len > input_len)
        return "longer than the input";
    if (strchr(out, '\r') != NULL)
        return "carriage return in output";
    if (len > 0 && (out[0] == '\n' || out[len - 1] == '\n'))
        return "leading or trailing newline";
    return NULL;
}

static void run_data_case(const char *dir, const char *name)
{
    char *in_path = file_path(dir, name, ".txt");
    char *want_path = file_path(dir, name, ".ref");
    struct text input = read_file(in_path);
    struct text want = read_file(want_path);
    free(in_path);
    free(want_path);
    if (!ok(input.data != NULL && want.data != NULL, "%s: .txt and .ref readable", name)) {
        free(input.data);
        free(want.data);
        return;
    }
    strip_trailing_newlines(want.data);

    char *got = hg_reply_extract(input.data, input.len);
    char label[512];
    snprintf(label, sizeof label, "%s: expected reply", name);
    is_str(got, want.data, label);
    const char *broken = broken_invariant(got, input.len);
    ok(broken == NULL, "%s: invariants hold (%s)", name, broken ? broken : "ok");
    free(got);

    if (memchr(input.data, '\r', input.len) == NULL) {
        struct text crlf = to_crlf(input);
        got = hg_reply_extract(crlf.data, crlf.len);
        snprintf(label, sizeof label, "%s: same reply with CRLF line ends", name);
        is_str(got, want.data, label);
        free(got);
        free(crlf.data);
    }
    free(input.data);
    free(want.data);
}

static void run_data_cases(void)
{
    const char *top = getenv("top_srcdir");
    char *dir = file_path(top && *top ? top : ".", "tests/data/reply", "");
    size_t count = 0;
    char **names = list_cases(dir, ".txt", &count);
    for (size_t i = 0; i < count; i++) {
        run_data_case(dir, names[i]);
        free(names[i]);
    }
    free(names);
    ok(count >= 40, "found %zu data cases in %s", count, dir);
    free(dir);
}

/* ------------------------------------------------------------------ */

struct table_case {
    const char *name;
    const char *text;
    const char *want;
};

static const struct table_case table_cases[] = {
    {"plain", "Hello", "Hello"},
    {"trailing newline", "Hello\n", "Hello"},
    {"trailing blank lines", "Hello\n\n \n\t\n", "Hello"},
    {"leading blank lines", "\n\n  \nHello", "Hello"},
    {"quote removed", "Yes\n> Is it?", "Yes"},
    {"indented quote removed", "Yes\n   > Is it?", "Yes"},
    {"four spaces are not a quote", "Yes\n    > code", "Yes\n    > code"},
    {"everything quoted", "> a\n> b\n", "> a\n> b"},
    {"everything quoted, trimmed", "\n\n> a  \n\n", "> a"},
    {"sig delimiter", "Hi\n-- \nBob", "Hi"},
    {"sig delimiter without space", "Hi\n--\nBob", "Hi"},
    {"three dashes are not a signature", "Hi\n---\nBob", "Hi\n---\nBob"},
    {"dashes in a line", "a -- b\nc", "a -- b\nc"},
    {"only a signature: the original, lines trimmed", "-- \nBob", "--\nBob"},
    {"attribution then quote", "Ok\nOn Mon, 3 Jun 2024, Ann <a@x.org> wrote:\n> q", "Ok"},
    {"attribution, blank, quote", "Ok\n\nAnn wrote:\n\n> q", "Ok"},
    {"weak attribution without quote is text", "Ann wrote:\nhello", "Ann wrote:\nhello"},
    {"wrote: mid-sentence", "I wrote: please help\nthanks", "I wrote: please help\nthanks"},
    {"wrote without colon", "On Monday Ann wrote\n> q", "On Monday Ann wrote"},
    {"strong attribution, unquoted history", "Ok\nOn 3 Jun 2024 at 10:15, Ann <a@x.org> wrote:\nold", "Ok"},
    {"wrapped attribution", "Ok\nOn Mon, 3 Jun 2024 at 10:15, Ann Smith\n<a@x.org> wrote:\n> q", "Ok"},
    {"attribution wrapped over three lines",
     "Ok\nOn Mon, 3 Jun 2024 at 10:15,\nAnn Smith\n<a@x.org> wrote:\nold", "Ok"},
    {"sentence before attribution kept",
     "Thanks for the help.\nOn Mon, 3 Jun 2024 at 10:15, Ann <a@x.org> wrote:\n> q", "Thanks for the help."},
    {"german attribution verb inside", "Ja\nAm 03.06.2024 um 10:15 schrieb Anna Schmidt:\n> q", "Ja"},
    {"french attribution", "Oui\nLe 3 juin 2024 à 10:15, Anne <a@x.fr> a écrit :\n> q", "Oui"},
    {"french nbsp before colon", "Oui\nLe 3 juin 2024, Anne <a@x.fr> a écrit\xC2\xA0:\n> q", "Oui"},
    {"original message", "Ok\n-----Original Message-----\nFrom: x", "Ok"},
    {"original message spaced", "Ok\n----- Original Message -----\nold", "Ok"},
    {"forwarded is not original", "Ok\n-----Forwarded Message-----\nFrom: x",
     "Ok\n-----Forwarded Message-----\nFrom: x"},
    {"header block", "Ok\nFrom: A <a@x.org>\nSent: Monday\nTo: B\nSubject: S\n\nold", "Ok"},
    {"header block with fullwidth colons",
     "好\n发件人： A <a@x.org>\n发送时间： 2024年6月3日\n收件人： B\n主题： S", "好"},
    {"header block needs a subject", "Ok\nFrom: A\nTo: B\nSent: C\n\nmore",
     "Ok\nFrom: A\nTo: B\nSent: C\n\nmore"},
    {"underscore rule before header", "Ok\n\n_____\nFrom: A\nSent: x\nSubject: S", "Ok"},
    {"mobile signature", "Ok\n\nSent from my iPhone", "Ok"},
    {"rule before a signature", "Ok\n\n______\n-- \nBob", "Ok"},
    {"mobile signature german", "Ok\nVon meinem iPhone gesendet", "Ok"},
    {"mobile signature with period", "Ok\nSent from my Galaxy.", "Ok"},
    {"mobile signature japanese", "了解\niPhoneから送信", "了解"},
    {"sent from in a sentence", "Sent from my desk, the report is late and the printer is broken again today",
     "Sent from my desk, the report is late and the printer is broken again today"},
    {"interleaved", "> q1\na1\n> q2\na2", "a1\n\na2"},
    {"interleaved blank lines collapse", "a1\n\n> q\n\n> q\n\na2", "a1\n\na2"},
    {"crlf", "Hi\r\n\r\n> q\r\n", "Hi"},
    {"lone cr kept inside a line", "a\rb", "a\rb"},
    {"trailing spaces trimmed", "a   \nb\t", "a\nb"},
    {"first line indentation kept", "  indented\n", "  indented"},
    /* header blocks in any order, without a subject (D3) */
    {"header block starting with Date",
     "Ok\nDate: 3 Jun 2024 10:15\nSubject: S\nFrom: a@x.org\nTo: b@y.org\n\nold", "Ok"},
    {"header block without subject", "Ok\nFrom: A <a@x.org>\nSent: 3 June 2024 10:15\nTo: B <b@y.org>\n\nold",
     "Ok"},
    {"list with a time but no address kept", "Ok\nFrom: Berlin\nTo: Munich\nDate: Monday 10:15\n\nmore",
     "Ok\nFrom: Berlin\nTo: Munich\nDate: Monday 10:15\n\nmore"},
    {"one address is not enough", "Ok\nFrom: me@x.org\nTo: Munich\nDate: Monday\n\nmore",
     "Ok\nFrom: me@x.org\nTo: Munich\nDate: Monday\n\nmore"},
    {"two keys are not enough", "Ok\nFrom: a@x.org\nTo: b@y.org\n\nmore",
     "Ok\nFrom: a@x.org\nTo: b@y.org\n\nmore"},
    {"subject list without header values kept", "Ok\nFrom: Berlin\nTo: Munich\nSubject: the move\n\nmore",
     "Ok\nFrom: Berlin\nTo: Munich\nSubject: the move\n\nmore"},
    {"block starts at its first key", "Ok\nDate: Friday\nFrom: Berlin\nTo: Munich\nSubject: trip\n\nmore",
     "Ok\nDate: Friday\nFrom: Berlin\nTo: Munich\nSubject: trip\n\nmore"},
    {"forwarded headers in any order kept",
     "Ok\n---------- Forwarded message ---------\nFrom: A <a@x.org>\nDate: 3 Jun 2024 10:15\nTo: "
     "b@y.org\n\nbody",
     "Ok\n---------- Forwarded message ---------\nFrom: A <a@x.org>\nDate: 3 Jun 2024 10:15\nTo: "
     "b@y.org\n\nbody"},
    /* trailing mailing-list footers (D2) */
    {"mailman footer", "Ok\n> q\n_____\nx mailing list\nx@lists.example\nhttps://lists.example/listinfo/x",
     "Ok"},
    {"footer phrase further down", "Ok\n-----\n\nList X\n\nTo unsubscribe, mail x-request@example.org", "Ok"},
    {"google groups footer without rule",
     "Ok\nYou received this message because you are subscribed to the Google Groups \"x\" group.\n"
     "To unsubscribe from this group, send an email to x+unsubscribe@example.org.",
     "Ok"},
    {"footer must be trailing", "a1\n_____\nx mailing list\nhttps://lists.example/x\n> q\na2",
     "a1\n_____\nx mailing list\nhttps://lists.example/x\n\na2"},
    {"footer needs a place to go", "Ok\n-----\nPlease unsubscribe me from the mailing list.",
     "Ok\n-----\nPlease unsubscribe me from the mailing list."},
    {"footer phrase too far from the rule", "Ok\n-----\na\nb\nc\nd\nx mailing list https://x.example",
     "Ok\n-----\na\nb\nc\nd\nx mailing list https://x.example"},
    /* SMTP transcripts in delivery reports (D8) */
    {"smtp transcript kept", ">>> DATA\n<<< 554 no\nok", ">>> DATA\n<<< 554 no\nok"},
    {"smtp transcript code kept", "x\n>>> 250 2.0.0 Ok\n>>> RCPT TO:<a@b>",
     "x\n>>> 250 2.0.0 Ok\n>>> RCPT TO:<a@b>"},
    {"deep quote still a quote", "x\n>>> data was lost\n>>> 2024 was", "x"},
};

static void run_table_cases(void)
{
    for (size_t i = 0; i < sizeof table_cases / sizeof table_cases[0]; i++) {
        const struct table_case *c = &table_cases[i];
        char *got = hg_reply_extract(c->text, strlen(c->text));
        char label[256];
        snprintf(label, sizeof label, "table: %s", c->name);
        is_str(got, c->want, label);
        free(got);
    }
}

/* ------------------------------------------------------------------ */

static void test_null_and_empty(void)
{
    char *out = hg_reply_extract(NULL, 0);
    is_str(out, "", "NULL input gives an empty string");
    free(out);
    out = hg_reply_extract("", 0);
    is_str(out, "", "empty input gives an empty string");
    free(out);
    out = hg_reply_extract("abc\n> q", 3);
    is_str(out, "abc", "LEN is honoured, not the NUL");
    free(out);
}

static void test_not_nul_terminated(void)
{
    const char src[] = "Yes\n> q";
    char *exact = malloc(sizeof src - 1);
    memcpy(exact, src, sizeof src - 1);
    char *out = hg_reply_extract(exact, sizeof src - 1);
    is_str(out, "Yes", "input without a terminating NUL");
    free(out);
    free(exact);

    out = hg_reply_extract("a\0b\n\0\n> q", 9);
    is_str(out, "ab", "NUL bytes are dropped, a line of NUL is blank");
    free(out);
    out = hg_reply_extract("\0\0", 2);
    is_str(out, "", "only NUL bytes");
    free(out);
}

static double seconds_since(clock_t start)
{
    return (double)(clock() - start) / CLOCKS_PER_SEC;
}

/* Hostile shapes: the work must stay linear. The time limits are generous
 * (sanitizer builds are slow, CI machines too); with a million lines a
 * quadratic path would take hours. */
static void test_hostile_inputs(void)
{
    size_t size = 2u << 20;
    char *text = malloc(size + 1);

    memset(text, 'x', size);
    text[size] = '\0';
    clock_t start = clock();
    char *out = hg_reply_extract(text, size);
    ok(strlen(out) == size && seconds_since(start) < 20, "one 2 MiB line");
    free(out);

    static const char *const patterns[] = {
        "On 3 Jun 2024 Ann wrote\n",
        "From: a\nTo: b\n",
        "> q\n\n",
        ":\n",
        "-\n",
        "\n",
        " \n",
        "On 3 Jun 2024 at 10:15\n",
        "Sent from my\n",
        "From: A\nFrom: B\n",
        "Date: 2024\nTo: a@b\nFrom: <c>\n",
        "_____\nx mailing list\n",
        ">>> DATA\n",
    };
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        size_t n = strlen(patterns[p]), len = 0;
        while (len + n <= size) {
            memcpy(text + len, patterns[p], n);
            len += n;
        }
        text[len] = '\0';
        start = clock();
        out = hg_reply_extract(text, len);
        double took = seconds_since(start);
        ok(out != NULL && strlen(out) <= len && took < 20, "2 MiB of \"%.*s\" (%.2fs)",
           (int)strcspn(patterns[p], "\n"), patterns[p], took);
        free(out);
    }
    free(text);
}

int main(void)
{
    run_data_cases();
    run_table_cases();
    test_null_and_empty();
    test_not_nul_terminated();
    test_hostile_inputs();
    return tap_done();
}
