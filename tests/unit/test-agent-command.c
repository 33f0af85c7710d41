/*
 * test-agent-command.c — unit tests of the agent's commands (parsers/agent_command.c).
 *
 * Table-driven: each case is an answer as an agent's mail client leaves it
 * (after hg_reply_extract) and what must come out: the commands in the order
 * written, tier, status, note/relay and the remaining text, or the pieces the
 * error message must hold. Every successful case is also run with CRLF line
 * ends. Then the header's promises on hostile input (NUL bytes, NULL input,
 * long input stays linear).
 */
#include "helpgate/agent_command.h"

#include "tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ok_case {
    const char *name;
    const char *input;
    const char *commands; /* "tier3 note close": kind (with tier level) in order */
    bool note;
    unsigned tier;
    enum hg_agent_status status;
    bool relay;
    const char *text;
};

#define UNCHANGED HG_AGENT_STATUS_UNCHANGED
#define PENDING HG_AGENT_STATUS_PENDING
#define CLOSED HG_AGENT_STATUS_CLOSED

static const struct ok_case ok_cases[] = {
    /* plain answers */
    {"plain answer", "Thanks, it is fixed now.\n\nBest, Ann", "", false, 0, UNCHANGED, true,
     "Thanks, it is fixed now.\n\nBest, Ann"},
    {"empty answer", "", "", false, 0, UNCHANGED, false, ""},
    {"blank answer", "\n  \n\t\n", "", false, 0, UNCHANGED, false, ""},
    {"leading blank lines dropped", "\n\n  \nHello", "", false, 0, UNCHANGED, true, "Hello"},
    {"trailing blank lines dropped", "Hello\n\n \n", "", false, 0, UNCHANGED, true, "Hello"},

    /* each command */
    {"note", "#note\nCalled the customer, will ship Monday.", "note", true, 0, UNCHANGED, false,
     "Called the customer, will ship Monday."},
    {"note with text on the line", "#note: called them, all good", "note", true, 0, UNCHANGED, false,
     "called them, all good"},
    {"note text on the line and below", "#note Called them.\nThey agree.", "note", true, 0, UNCHANGED, false,
     "Called them.\nThey agree."},
    {"tier L3 then answer", "#tier L3\nI have passed this to our engineers.", "tier3", false, 3, UNCHANGED,
     true, "I have passed this to our engineers."},
    {"pending then answer", "#pending\nCould you send us the log file?", "pending", false, 0, PENDING, true,
     "Could you send us the log file?"},
    {"close then answer: relayed, then closed", "#close\nGlad it works now!", "close", false, 0, CLOSED, true,
     "Glad it works now!"},
    {"close alone: closed silently", "#close", "close", false, 0, CLOSED, false, ""},

    /* combinations */
    {"note and close: nothing relayed", "#note\n#close\nDuplicate of 1234.", "note close", true, 0, CLOSED,
     false, "Duplicate of 1234."},
    {"note and close on one line", "#note #close\nDuplicate.", "note close", true, 0, CLOSED, false,
     "Duplicate."},
    {"tier and note on one line", "#tier L3 #note\nNeeds a kernel person.", "tier3 note", true, 3, UNCHANGED,
     false, "Needs a kernel person."},
    {"tier, note, pending", "#tier L2\n#note\n#pending\nWaiting on the vendor.", "tier2 note pending", true,
     2, PENDING, false, "Waiting on the vendor."},
    {"blank lines inside the block", "#tier L2\n\n#note\n\nSee the logs.", "tier2 note", true, 2, UNCHANGED,
     false, "See the logs."},
    {"same-line note text, then a command line", "#note Called them.\n#close\nThey agreed.", "note close",
     true, 0, CLOSED, false, "Called them.\nThey agreed."},
    {"repeated command kept once", "#close\n#CLOSE.\nBye", "close", false, 0, CLOSED, true, "Bye"},
    {"repeated tier kept once", "#tier L3\n#tier 3\nx", "tier3", false, 3, UNCHANGED, true, "x"},
    {"many commands after #note on one line", "#note #close #close #close\nx", "note close", true, 0, CLOSED,
     false, "x"},
    {"note then words that are no commands", "#note #close after lunch", "note", true, 0, UNCHANGED, false,
     "#close after lunch"},

    /* spellings of #tier */
    {"#Tier  l3", "#Tier  l3", "tier3", false, 3, UNCHANGED, false, ""},
    {"#tier 3", "#tier 3\nx", "tier3", false, 3, UNCHANGED, true, "x"},
    {"#tier:L2", "#tier:L2\nx", "tier2", false, 2, UNCHANGED, true, "x"},
    {"#tier = l1", "#tier = l1\nx", "tier1", false, 1, UNCHANGED, true, "x"},
    {"#tierL3", "#tierL3\nx", "tier3", false, 3, UNCHANGED, true, "x"},
    {"#tier3", "#tier3\nx", "tier3", false, 3, UNCHANGED, true, "x"},
    {"#TIER L 2", "#TIER L 2\nx", "tier2", false, 2, UNCHANGED, true, "x"},
    {"#tier L3.", "#tier L3.\nx", "tier3", false, 3, UNCHANGED, true, "x"},

    /* what mail clients do */
    {"upper case", "#NOTE\nx", "note", true, 0, UNCHANGED, false, "x"},
    {"capitalised by autocorrect", "#Close\nThanks", "close", false, 0, CLOSED, true, "Thanks"},
    {"trailing punctuation", "#pending!\nAny news?", "pending", false, 0, PENDING, true, "Any news?"},
    {"trailing full stop", "#close.\nThanks", "close", false, 0, CLOSED, true, "Thanks"},
    {"indented", "   \t#close\nThanks", "close", false, 0, CLOSED, true, "Thanks"},
    {"no-break spaces (HTML &nbsp;)", "\xC2\xA0\n\xC2\xA0#tier\xC2\xA0L3\xC2\xA0\xC2\xA0\n\xC2\xA0\nOn it.",
     "tier3", false, 3, UNCHANGED, true, "On it."},
    {"narrow no-break and ideographic spaces", "#tier\xE2\x80\xAFL2\xE3\x80\x80\nx", "tier2", false, 2,
     UNCHANGED, true, "x"},
    {"byte order mark at the start", "\xEF\xBB\xBF#note\nx", "note", true, 0, UNCHANGED, false, "x"},
    {"zero-width space after #",
     "#\xE2\x80\x8B"
     "close\nThanks",
     "close", false, 0, CLOSED, true, "Thanks"},
    {"zero-width joiner inside the word",
     "#clo\xE2\x80\x8D"
     "se\nThanks",
     "close", false, 0, CLOSED, true, "Thanks"},
    {"soft hyphen inside the word",
     "#pend\xC2\xAD"
     "ing\nx",
     "pending", false, 0, PENDING, true, "x"},
    {"fullwidth number sign",
     "\xEF\xBC\x83"
     "close\nThanks",
     "close", false, 0, CLOSED, true, "Thanks"},
    {"tab between command and level", "#tier\tL1\nx", "tier1", false, 1, UNCHANGED, true, "x"},

    /* text, not commands */
    {"ticket number", "#1234 is the same problem.", "", false, 0, UNCHANGED, true,
     "#1234 is the same problem."},
    {"heading with a blank", "# Steps\n1. Reboot", "", false, 0, UNCHANGED, true, "# Steps\n1. Reboot"},
    {"blank then a command word inside text", "# close the lid first", "", false, 0, UNCHANGED, true,
     "# close the lid first"},
    {"spaced command below the text", "Hi\n# close", "", false, 0, UNCHANGED, true, "Hi\n# close"},
    {"double number sign", "##note\nx", "", false, 0, UNCHANGED, true, "##note\nx"},
    {"number sign and punctuation", "#!/bin/sh\necho hi", "", false, 0, UNCHANGED, true,
     "#!/bin/sh\necho hi"},
    {"number sign alone", "#\nx", "", false, 0, UNCHANGED, true, "#\nx"},
    {"non-ASCII after #", "#\xC3\x84rger\nx", "", false, 0, UNCHANGED, true, "#\xC3\x84rger\nx"},
    {"hashtag below the text", "Thanks!\n#blessed", "", false, 0, UNCHANGED, true, "Thanks!\n#blessed"},
    {"command word inside a text line", "Please #close the ticket.", "", false, 0, UNCHANGED, true,
     "Please #close the ticket."},
    {"command after text, not alone on its line", "Hi\n#close the lid first", "", false, 0, UNCHANGED, true,
     "Hi\n#close the lid first"},
    {"text after a command block keeps its hashtags", "#note\nSee #1234 and #5678.\n#foo", "note", true, 0,
     UNCHANGED, false, "See #1234 and #5678.\n#foo"},
    {"interior blank lines kept", "#close\nA\n\n\nB", "close", false, 0, CLOSED, true, "A\n\n\nB"},
    {"UTF-8 text kept",
     "#note\nKunde m\xC3\xB6"
     "chte R\xC3\xBC"
     "ckruf \xE2\x80\x94 heute.",
     "note", true, 0, UNCHANGED, false,
     "Kunde m\xC3\xB6"
     "chte R\xC3\xBC"
     "ckruf \xE2\x80\x94 heute."},
};

/* "tier3 note close" for the commands of R. */
static void describe_commands(const struct hg_agent_reply *r, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n_commands && n < size; i++) {
        const struct hg_agent_command *c = &r->commands[i];
        n += (size_t)snprintf(out + n, size - n, "%s%s", i > 0 ? " " : "", hg_agent_command_name(c->kind));
        if (c->kind == HG_AGENT_TIER && n < size)
            n += (size_t)snprintf(out + n, size - n, "%u", c->tier);
    }
}

static void check_ok_case(const struct ok_case *c, const char *input, size_t len, const char *variant)
{
    struct hg_agent_reply *r = NULL;
    char *error = NULL;
    int rc = hg_agent_reply_parse(input, len, &r, &error);
    char label[200];
    snprintf(label, sizeof label, "%s%s: parses", c->name, variant);
    if (!ok(rc == 0 && r != NULL, "%s", label)) {
        printf("#   error: %s\n", error != NULL ? error : "(none)");
        free(error);
        return;
    }
    char commands[128];
    describe_commands(r, commands, sizeof commands);
    snprintf(label, sizeof label, "%s%s: commands", c->name, variant);
    is_str(commands, c->commands, label);
    snprintf(label, sizeof label, "%s%s: note, tier, status, relay", c->name, variant);
    ok(r->note == c->note && r->tier == c->tier && r->status == c->status && r->relay == c->relay,
       "%s (got %d %u %d %d)", label, r->note, r->tier, r->status, r->relay);
    snprintf(label, sizeof label, "%s%s: text", c->name, variant);
    is_str(r->text, c->text, label);
    hg_agent_reply_free(&r);
    ok(r == NULL, "%s%s: free sets NULL", c->name, variant);
}

/* INPUT with every LF turned into CRLF; the caller frees it. */
static char *crlf(const char *input)
{
    char *out = malloc(strlen(input) * 2 + 1);
    size_t n = 0;
    for (const char *p = input; *p != '\0'; p++) {
        if (*p == '\n')
            out[n++] = '\r';
        out[n++] = *p;
    }
    out[n] = '\0';
    return out;
}

static void test_ok_cases(void)
{
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        const struct ok_case *c = &ok_cases[i];
        check_ok_case(c, c->input, strlen(c->input), "");
        char *with_crlf = crlf(c->input);
        check_ok_case(c, with_crlf, strlen(with_crlf), " (CRLF)");
        free(with_crlf);
    }
}

struct error_case {
    const char *name;
    const char *input;
    const char *want[4]; /* pieces the message must hold */
};

static const struct error_case error_cases[] = {
    {"unknown command with a suggestion",
     "#nite\nCalled them",
     {"Line 1: ", "\"#nite\" is not a command", "did you mean #note?"}},
    {"#closed suggests #close", "#closed\nThanks", {"\"#closed\"", "did you mean #close?"}},
    {"#resolved suggests #close", "#resolved", {"did you mean #close?"}},
    {"#L3 suggests #tier L3", "#L3\nx", {"did you mean #tier L3?"}},
    {"#escalate suggests #tier", "#escalate\nx", {"did you mean #tier L2 or #tier L3?"}},
    {"#internal suggests #note", "#internal\nx", {"did you mean #note?"}},
    {"unknown word without a suggestion", "#xyzzy\nx", {"\"#xyzzy\" is not a command (an answer"}},
    {"hashtag answer needs text first", "#BlackFriday deals are live", {"\"#BlackFriday\" is not a command"}},
    {"unknown command after a good one", "#tier L2\n#urgent\nx", {"Line 2: \"#urgent\""}},
    {"#tier without level", "#tier\nx", {"Line 1: #tier needs a level"}},
    {"#tier then another command", "#tier #close\nx", {"#tier needs a level"}},
    {"#tier L4", "#tier L4\nx", {"#tier takes L1, L2 or L3, not \"L4\""}},
    {"#tier high", "#tier high\nx", {"not \"high\""}},
    {"#tier L10", "#tier L10", {"not \"L10\""}},
    {"text after #close on the line", "#close thanks for waiting", {"text follows #close on the same line"}},
    {"text after #tier on the line", "#tier L3 customer is angry", {"text follows #tier"}},
    {"question mark after #close", "#close?\nx", {"\"#close?\" is not a command"}},
    {"two tiers", "#tier L2\n#tier L3\nx", {"Line 2: #tier L3 contradicts #tier L2 on line 1"}},
    {"pending and close", "#pending\n#close\nx", {"Line 2: #close contradicts #pending on line 1"}},
    {"blank after the number sign",
     "# close\nThanks",
     {"Line 1: write #close without a blank after the number sign"}},
    {"markdown heading that is a command", "# Note\nReboot first.", {"write #note without a blank"}},
    {"spaced commands on one line", "# tier L3 #note\nx", {"write #tier without a blank"}},
    {"two notes with text", "#note A\n#note B\nrest", {"Line 2: a second #note with text"}},
    {"spaced command after a command", "#close # pending\nx", {"text follows #close"}},
    {"empty note", "#note", {"Line 1: #note has no note"}},
    {"empty note with close", "#close\n#note\n\n  \n", {"Line 2: #note has no note"}},
    {"command below the text", "Thanks, fixed.\n#close", {"Line 2: #close comes after the text"}},
    {"note below the answer",
     "Here is the fix.\n\n#note the customer was rude",
     {"Line 3: #note comes after the text"}},
    {"commands below the text", "Hi\n\n#tier L3 #pending", {"Line 3: #tier comes after the text"}},
    {"every problem listed", "#nite\n#tier L9\nText\n#close", {"Line 1: ", "Line 2: ", "Line 4: "}},
    {"the known commands are listed",
     "#nite",
     {"Commands, each at the start of a line", "#tier L1", "#pending", "#close."}},
};

static void test_error_cases(void)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        struct hg_agent_reply *r = (struct hg_agent_reply *)1;
        char *error = NULL;
        int rc = hg_agent_reply_parse(c->input, strlen(c->input), &r, &error);
        ok(rc == -1 && r == NULL && error != NULL, "%s: fails", c->name);
        for (size_t k = 0; k < 4 && c->want[k] != NULL; k++) {
            bool found = error != NULL && strstr(error, c->want[k]) != NULL;
            ok(found, "%s: message holds \"%s\"", c->name, c->want[k]);
            if (!found)
                printf("#   message: %s\n", error != NULL ? error : "(none)");
        }
        free(error);
    }
}

static void test_many_errors(void)
{
    char input[512] = "";
    for (int i = 0; i < 8; i++)
        strcat(input, "#bogus\n");
    struct hg_agent_reply *r = NULL;
    char *error = NULL;
    is_int(hg_agent_reply_parse(input, strlen(input), &r, &error), -1, "eight unknown commands fail");
    ok(error != NULL && strstr(error, "Line 5: ") != NULL && strstr(error, "Line 6: ") == NULL,
       "five problems are listed");
    ok(error != NULL && strstr(error, "And 3 more problems.") != NULL, "the rest are counted");
    free(error);
}

static void test_command_lines(void)
{
    struct hg_agent_reply *r = NULL;
    char *error = NULL;
    const char *in = "\n#tier L3\n\n#note #close\nx";
    is_int(hg_agent_reply_parse(in, strlen(in), &r, &error), 0, "lines: parses");
    is_int((long long)r->n_commands, 3, "lines: three commands");
    is_int(r->commands[0].line, 2, "lines: #tier on line 2");
    is_int(r->commands[1].line, 4, "lines: #note on line 4");
    is_int(r->commands[2].line, 4, "lines: #close on line 4");
    is_str(hg_agent_command_name(r->commands[2].kind), "close", "lines: the third is close");
    hg_agent_reply_free(&r);
    hg_agent_reply_free(&r); /* a second free is harmless */
    ok(r == NULL, "free twice is harmless");
}

static void test_hostile(void)
{
    struct hg_agent_reply *r = NULL;
    char *error = NULL;
    is_int(hg_agent_reply_parse(NULL, 0, &r, &error), 0, "NULL input is an empty answer");
    ok(r != NULL && r->text[0] == '\0' && !r->relay && r->n_commands == 0, "NULL input: nothing to do");
    hg_agent_reply_free(&r);

    static const char with_nul[] = "#note\nA\0B\n\0\n";
    is_int(hg_agent_reply_parse(with_nul, sizeof with_nul - 1, &r, &error), 0, "NUL bytes: parses");
    is_str(r != NULL ? r->text : NULL, "AB", "NUL bytes are dropped, a NUL-only line is blank");
    hg_agent_reply_free(&r);

    static const char nul_command[] = "#clo\0se\nx";
    int rc = hg_agent_reply_parse(nul_command, sizeof nul_command - 1, &r, &error);
    ok(rc == -1 && error != NULL && strstr(error, "\"#clo?se\"") != NULL,
       "a NUL inside a command word is quoted");
    free(error);
    error = NULL;

    static const char cr_nul[] = "x\n#ble\r\0\0\nsd"; /* found by fuzz_agent_command */
    is_int(hg_agent_reply_parse(cr_nul, sizeof cr_nul - 1, &r, &error), 0, "CR then NULs: parses");
    is_str(r != NULL ? r->text : NULL, "x\n#ble\nsd", "CR then NULs at a line end are removed");
    hg_agent_reply_free(&r);

    static const char cr_only[] = "#note\r\r\nx\r\r\n";
    is_int(hg_agent_reply_parse(cr_only, sizeof cr_only - 1, &r, &error), 0, "CR runs: parses");
    is_str(r != NULL ? r->text : NULL, "x", "CR runs at line ends are removed");
    hg_agent_reply_free(&r);

    const char *cut = "#close\xC2"; /* a no-break space cut short */
    is_int(hg_agent_reply_parse(cut, strlen(cut), &r, &error), -1, "a cut UTF-8 sequence after a command");
    free(error);
    error = NULL;

    const char *fw_cut = "\xEF\xBC"; /* a fullwidth number sign cut short */
    is_int(hg_agent_reply_parse(fw_cut, strlen(fw_cut), &r, &error), 0,
           "a cut fullwidth number sign is text");
    hg_agent_reply_free(&r);

    /* Not NUL-terminated: only LEN bytes are read. */
    char buf[8];
    memcpy(buf, "#closeXY", 8);
    is_int(hg_agent_reply_parse(buf, 6, &r, &error), 0, "reads only LEN bytes");
    ok(r != NULL && r->status == HG_AGENT_STATUS_CLOSED, "reads only LEN bytes: #close");
    hg_agent_reply_free(&r);
}

/* A long answer and a long command block stay linear. */
static void test_large(void)
{
    size_t n = 200000;
    char *big = malloc(n * 8 + 16);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(big + len, "#close\n");
    len += (size_t)sprintf(big + len, "done");
    struct hg_agent_reply *r = NULL;
    char *error = NULL;
    clock_t start = clock();
    int rc = hg_agent_reply_parse(big, len, &r, &error);
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    ok(rc == 0 && r != NULL && r->status == HG_AGENT_STATUS_CLOSED && strcmp(r->text, "done") == 0,
       "200000 repeated #close lines");
    ok(seconds < 2.0, "in %.3f s", seconds);
    hg_agent_reply_free(&r);

    len = 0;
    big[len++] = 'x';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(big + len, "\n#note y");
    start = clock();
    rc = hg_agent_reply_parse(big, len, &r, &error);
    seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    ok(rc == -1 && error != NULL && strstr(error, "And 199995 more problems.") != NULL,
       "200000 misplaced #note lines are counted");
    ok(seconds < 2.0, "in %.3f s", seconds);
    free(error);
    error = NULL;

    /* One line of many commands after #note: read once, not once per command. */
    len = (size_t)sprintf(big, "#note");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(big + len, " #close");
    len += (size_t)sprintf(big + len, "\nwhy");
    start = clock();
    rc = hg_agent_reply_parse(big, len, &r, &error);
    seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    ok(rc == 0 && r != NULL && r->note && r->status == HG_AGENT_STATUS_CLOSED && strcmp(r->text, "why") == 0,
       "#note and 200000 #close on one line");
    ok(seconds < 2.0, "in %.3f s", seconds);
    hg_agent_reply_free(&r);
    free(big);
}

int main(void)
{
    test_ok_cases();
    test_error_cases();
    test_many_errors();
    test_command_lines();
    test_hostile();
    test_large();
    return tap_done();
}
