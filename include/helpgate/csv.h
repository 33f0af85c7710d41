/*
 * csv.h — one CSV field (RFC 4180) that is safe to open in a spreadsheet.
 *
 * A field holding a comma, a double quote, CR or LF is quoted (quotes
 * doubled). A field that starts with =, +, -, @, TAB or CR and is not a
 * number gets a leading single quote, so that a spreadsheet shows it as text
 * instead of running it as a formula: customers choose the subjects,
 * addresses and company names that end up in an agent's export (CSV
 * injection). Numbers, negative ones included, are written as they are.
 */
#ifndef HELPGATE_CSV_H
#define HELPGATE_CSV_H

#include "helpgate/buf.h"

/* Appends S (NULL: empty) as one field, without the separator: 0, or -1 past OUT's maximum. */
int hg_csv_append_field(struct hg_buf *out, const char *s);

#endif
