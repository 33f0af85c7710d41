/*
 * agent_command.h — the commands an agent writes at the top of an answer.
 *
 * Agents answer tickets from their own mail client. The first lines of the
 * answer may hold commands:
 *
 *   #note             the text is an internal note, never sent to the customer;
 *                     text on the same line ("#note: called them") starts the note
 *   #tier L1|L2|L3    route the ticket to that tier ("#tier l3", "#tier 3", "#tier: L3")
 *   #pending          status pending (waiting for the customer)
 *   #close            status closed
 *
 * hg_agent_reply_parse() reads them from the new words of the agent's mail
 * (struct hg_mail reply_text: quoted history and signature already removed,
 * see reply.h) and returns the commands and the remaining text.
 *
 * Where commands are read. Blank lines at the top are skipped; then every
 * line that is a command line is one, blank lines between them included; the
 * first other line starts the text, and no command is read after it. A
 * command line is blanks, '#', the command and its level, then trailing
 * punctuation (". , : ; !") and blanks only; several commands may share a
 * line ("#tier L3 #note", "#note #close"). After #note, the rest of its line
 * is more commands if it is nothing but commands, else the start of the note
 * ("#note #close after lunch" is a note, and closes nothing). Words are
 * matched without regard to case. What mail clients do is tolerated: CRLF,
 * tabs, no-break and other Unicode spaces (U+00A0, U+2000-U+200A, U+202F,
 * U+205F, U+3000), zero-width characters and soft hyphens (U+200B-U+200D,
 * U+2060, U+FEFF, U+00AD) anywhere in a command line, a fullwidth number
 * sign (U+FF03), and runs of blanks ("#Tier  l3").
 *
 * What is text, not a command: '#' before a digit ("#1234 is the same
 * problem": a ticket number); '#' and a blank ("# Steps", "# close the lid
 * first"); '#' before anything but an ASCII letter ("#!", "##", "#Ärger");
 * any line after the text began.
 *
 * What is an error (hg_agent_reply_parse() returns -1, so the agent gets a
 * bounce that says why, instead of silence or a wrong mail to the customer):
 *  - in the command block, '#' directly followed by a word that is no
 *    command ("#nite", "#escalate", "#closed"), with the nearest command as
 *    a suggestion; an answer that starts with a hashtag needs a line of
 *    text before it;
 *  - in the command block, a line of nothing but commands whose first is
 *    written with a blank after '#' ("# close", "# Note" as a heading): it
 *    looks like a command, and must neither be relayed as text nor be
 *    obeyed on a guess;
 *  - "#tier" without a level or with another level ("#tier L4", "#tier high");
 *  - text after #tier, #pending or #close on the same line ("#close thanks"):
 *    whether it was meant for the customer or as a note cannot be told;
 *  - two different tiers, or #pending with #close (repeating the same
 *    command is harmless and kept once); two #note lines that both hold text;
 *  - #note with no text at all;
 *  - after the text began, a line that starts with #note, or that holds
 *    nothing but valid commands ("#close" under the answer): commands are
 *    read at the top only, and the customer must not receive a stray
 *    "#note" line followed by the note.
 * All errors are collected (up to 5) before failing.
 *
 * What the commands mean together (the caller applies them in this order):
 *  1. The text: with #note it is stored as an internal note and nothing is
 *     sent to the customer; without #note a non-empty text is relayed to the
 *     customer, whatever the other commands are ("#close" + text: the answer
 *     is relayed, then the ticket is closed; "#tier L3" + text: relayed,
 *     then escalated; write #note to keep words internal). No text and no
 *     #note: nothing is relayed.
 *  2. #tier, then #pending or #close. "#note" + "#close": the note is stored,
 *     the ticket closed, nothing relayed.
 * relay is set exactly when the text goes to the customer.
 *
 * The remaining text: the lines after the command block (the first of them
 * non-blank), with trailing blank lines removed, carriage returns at line
 * ends (CRLF) and NUL bytes dropped, LF between lines; same-line note text
 * comes first, joined with a newline. Lines are copied as they are
 * otherwise, so valid UTF-8 stays valid.
 *
 * Errors: the message in *ERROR_R (the caller frees it) is written for the
 * agent: one "Line N: ..." sentence per problem, then a line listing the
 * commands. Limits: none are needed; the work is linear in LEN.
 *
 * Ownership: hg_agent_reply_parse() returns a new record; hg_agent_reply_free(&r)
 * releases it with its text and sets r to NULL.
 *
 * Pure: no I/O, no global state; safe from several threads at once.
 */
#ifndef HELPGATE_AGENT_COMMAND_H
#define HELPGATE_AGENT_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

enum hg_agent_command_kind {
    HG_AGENT_NOTE = 1,
    HG_AGENT_TIER,
    HG_AGENT_PENDING,
    HG_AGENT_CLOSE,
};

enum hg_agent_status {
    HG_AGENT_STATUS_UNCHANGED = 0,
    HG_AGENT_STATUS_PENDING,
    HG_AGENT_STATUS_CLOSED,
};

struct hg_agent_command {
    enum hg_agent_command_kind kind;
    unsigned tier; /* 1, 2 or 3 with HG_AGENT_TIER, else 0 */
    unsigned line; /* 1-based line of the input it was first written on */
};

/* At most one command of each kind remains once repeats are merged. */
#define HG_AGENT_MAX_COMMANDS 4

struct hg_agent_reply {
    struct hg_agent_command commands[HG_AGENT_MAX_COMMANDS]; /* in the order written, for the audit */
    size_t n_commands;
    bool note;                   /* #note: text is an internal note */
    unsigned tier;               /* 0: unchanged, else 1, 2 or 3 */
    enum hg_agent_status status; /* #pending, #close */
    bool relay;                  /* the text goes to the customer: no #note and text is not empty */
    char *text;                  /* the answer or the note, commands removed; "" when none */
};

/*
 * Reads TEXT (LEN bytes, need not be NUL-terminated; NULL with LEN 0 is an
 * empty answer). 0 and a new record in *REPLY_R, or -1 and *ERROR_R.
 */
int hg_agent_reply_parse(const char *text, size_t len, struct hg_agent_reply **reply_r, char **error_r);

void hg_agent_reply_free(struct hg_agent_reply **reply);

/* "note", "tier", "pending", "close". */
const char *hg_agent_command_name(enum hg_agent_command_kind kind);

#endif
