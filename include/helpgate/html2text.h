/*
 * html2text.h — render an HTML mail body as readable plain text.
 *
 * Built on libxml2's forgiving HTML parser. Paragraphs and block elements
 * become blank-line separated blocks, <br> a line break, list items "- " or
 * "1. " lines, links "text (URL)" when the text is not the URL itself,
 * <blockquote> lines prefixed with "> ", tables one row per line with cells
 * separated by " | ". <script>, <style>, <head> and comments produce nothing.
 * Entities are decoded. Whitespace is collapsed as a browser would.
 *
 * Pure: no I/O. The input must be UTF-8 (the caller converts first); invalid
 * sequences are replaced with U+FFFD.
 *
 * Ownership: the returned string is the caller's (free()). Never returns NULL.
 * When the output would exceed MAX_OUT bytes (0 = 4 MiB) it is cut at a
 * character boundary and *TRUNCATED_R (if not NULL) is set to true.
 */
#ifndef HELPGATE_HTML2TEXT_H
#define HELPGATE_HTML2TEXT_H

#include <stdbool.h>
#include <stddef.h>

char *hg_html_to_text(const char *html, size_t len, size_t max_out, bool *truncated_r);

#endif
