/*
 * located.h — the one way parsers here print an error with its place:
 * "FILE:LINE:COL: message", then "\n  hint: ..." when there is a hint
 * (line 0: the whole file, "FILE: message"; col 0: "FILE:LINE: message").
 * Used by the rules and template parsers. The result is new; the caller frees it.
 */
#ifndef HELPGATE_LOCATED_H
#define HELPGATE_LOCATED_H

char *hg_located_error_format(const char *filename, int line, int col, const char *message, const char *hint);

#endif
