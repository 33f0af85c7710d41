/*
 * html2text.c — render an HTML mail body as readable plain text (see html2text.h).
 *
 * How it works. The input is first copied through a small cleaner (invalid
 * UTF-8 and NUL become U+FFFD, CRLF and CR become LF, and "<![if ...]>" /
 * "<![endif]>" markers from Outlook are dropped as a browser drops them).
 * libxml2's forgiving HTML parser (htmlCtxtReadMemory) then reads it in SAX
 * mode: no tree is built, the parser calls on_start/on_end/on_text and this
 * file renders as the events arrive. Streaming keeps memory to the input size
 * and lets us stop the parser as soon as the output cap is reached; it also
 * avoids the tree builder's depth limit (256), past which libxml2 silently
 * drops the rest of the document.
 *
 * Rendering keeps a little state instead of a tree:
 *  - breaks are requested, not written: a pending count of newlines (1 = new
 *    line, 2 = blank line) is written only when the next visible content
 *    arrives, which gives "no leading/trailing blank lines" and "at most one
 *    blank line in a row" for free;
 *  - collapsible whitespace is a pending single space, written only between
 *    two pieces of content on the same line;
 *  - every line starts with a prefix built from a stack of segments ("> " for
 *    a blockquote, "- " then "  " for a list item, spaces for nested lists);
 *  - a stack of open elements remembers what each start tag did, so the end
 *    tag undoes exactly that. It is capped (MAX_OPEN); deeper elements only
 *    keep counting script/style and pre nesting. No recursion anywhere.
 *
 * Errors: libxml2 is given per-context SAX callbacks whose structured error
 * handler ignores everything, and HTML_PARSE_NOERROR|NOWARNING, so it never
 * prints, whatever error handlers the calling thread has set. Global libxml2
 * state is not touched except by xmlInitParser(), run once.
 */
#include "helpgate/html2text.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_OUT ((size_t)4 << 20)
#define MAX_HTML_INPUT ((size_t)INT_MAX / 4) /* libxml2 takes an int length */
#define MAX_OPEN 256                         /* open elements remembered */
#define MAX_SEGMENTS 32                      /* prefix segments (quote/list nesting) */
#define MAX_LISTS 32
#define MAX_ROWS 32
#define MAX_CELLS 32
#define MAX_URL 8192
#define MAX_ALT 1024
#define MAX_MSO_MARKER 64
#define NO_OFFSET SIZE_MAX

enum tag_kind {
    TAG_INLINE,
    TAG_DROP,
    TAG_LINE_BLOCK,
    TAG_PARA_BLOCK,
    TAG_P,
    TAG_SPAN,
    TAG_BR,
    TAG_HR,
    TAG_IMG,
    TAG_A,
    TAG_UL,
    TAG_OL,
    TAG_LI,
    TAG_DT,
    TAG_DD,
    TAG_BLOCKQUOTE,
    TAG_PRE,
    TAG_TABLE,
    TAG_TR,
    TAG_CELL,
};

/* What a start tag did, so that its end tag can undo it. */
enum open_flag {
    OPEN_SEGMENT = 1 << 0,
    OPEN_LIST = 1 << 1,
    OPEN_ROW = 1 << 2,
    OPEN_CELL = 1 << 3,
    OPEN_LINK = 1 << 4,
    OPEN_MSO_LINE = 1 << 5,
    OPEN_MSO_MARKER = 1 << 6,
    OPEN_PRE = 1 << 7,
};

struct tag_info {
    const char *name;
    enum tag_kind kind;
};

/* Sorted by name for bsearch. Anything not listed is inline. */
static const struct tag_info tag_table[] = {
    {"a", TAG_A},
    {"address", TAG_LINE_BLOCK},
    {"applet", TAG_DROP},
    {"article", TAG_LINE_BLOCK},
    {"aside", TAG_LINE_BLOCK},
    {"audio", TAG_DROP},
    {"blockquote", TAG_BLOCKQUOTE},
    {"br", TAG_BR},
    {"canvas", TAG_DROP},
    {"caption", TAG_LINE_BLOCK},
    {"center", TAG_LINE_BLOCK},
    {"dd", TAG_DD},
    {"details", TAG_LINE_BLOCK},
    {"dir", TAG_UL},
    {"div", TAG_LINE_BLOCK},
    {"dl", TAG_PARA_BLOCK},
    {"dt", TAG_DT},
    {"embed", TAG_DROP},
    {"fieldset", TAG_LINE_BLOCK},
    {"figcaption", TAG_LINE_BLOCK},
    {"figure", TAG_LINE_BLOCK},
    {"footer", TAG_LINE_BLOCK},
    {"form", TAG_LINE_BLOCK},
    {"frameset", TAG_DROP},
    {"h1", TAG_PARA_BLOCK},
    {"h2", TAG_PARA_BLOCK},
    {"h3", TAG_PARA_BLOCK},
    {"h4", TAG_PARA_BLOCK},
    {"h5", TAG_PARA_BLOCK},
    {"h6", TAG_PARA_BLOCK},
    {"head", TAG_DROP},
    {"header", TAG_LINE_BLOCK},
    {"hr", TAG_HR},
    {"iframe", TAG_DROP},
    {"img", TAG_IMG},
    {"legend", TAG_LINE_BLOCK},
    {"li", TAG_LI},
    {"listing", TAG_PRE},
    {"main", TAG_LINE_BLOCK},
    {"map", TAG_DROP},
    {"menu", TAG_UL},
    {"nav", TAG_LINE_BLOCK},
    {"noembed", TAG_DROP},
    {"noframes", TAG_DROP},
    {"noscript", TAG_DROP},
    {"object", TAG_DROP},
    {"ol", TAG_OL},
    {"p", TAG_P},
    {"plaintext", TAG_PRE},
    {"pre", TAG_PRE},
    {"script", TAG_DROP},
    {"section", TAG_LINE_BLOCK},
    {"select", TAG_DROP},
    {"span", TAG_SPAN},
    {"style", TAG_DROP},
    {"summary", TAG_LINE_BLOCK},
    {"svg", TAG_DROP},
    {"table", TAG_TABLE},
    {"td", TAG_CELL},
    {"template", TAG_DROP},
    {"textarea", TAG_DROP},
    {"th", TAG_CELL},
    {"title", TAG_DROP},
    {"tr", TAG_TR},
    {"ul", TAG_UL},
    {"video", TAG_DROP},
    {"xml", TAG_DROP},
    {"xmp", TAG_PRE},
};

struct segment {
    char rest[16];  /* written at the start of every line but the first */
    char first[24]; /* written at the start of the first line (list marker) */
    bool first_used;
    bool is_quote;
};

struct list_state {
    bool ordered;
    long next;
};

struct cell_state {
    int breaks_before; /* pending breaks when the cell started */
};

struct open_element {
    const xmlChar *name; /* interned by the parser's dictionary */
    unsigned char kind;
    unsigned char flags;
};

struct render {
    struct hg_buf out;
    bool full; /* the output cap was reached: ignore everything after */

    /* the line being written */
    size_t line_start;
    bool line_has_text; /* prefix written, content (maybe only spaces) follows */
    bool line_visible;  /* a non-space character is on the line */
    int line_quotes;    /* quote segments in this line's prefix */

    bool any_visible; /* a visible line has been written */
    int prev_quotes;  /* quote segments of the last visible line */
    bool last_was_blank;
    size_t blank_start; /* where the last blank line starts */

    int pending_breaks; /* newlines wanted before the next content, 0..2 */
    bool pending_space;
    bool pending_separator; /* " | " before the next table cell's content */

    int drop_depth;     /* inside script, style, head... */
    int preserve_depth; /* inside pre */
    bool pre_fresh;     /* nothing seen since <pre>: a leading newline is skipped */

    struct segment segments[MAX_SEGMENTS];
    int nsegments;

    struct list_state lists[MAX_LISTS];
    int nlists;

    /* Rows and cells with an index below *_with_content have had content. */
    int nrows, rows_with_content;
    struct cell_state cells[MAX_CELLS];
    int ncells, cells_with_content;

    bool in_link;
    size_t link_text_start; /* offset of the link's first content, or NO_OFFSET */
    char *link_url;         /* what to show after the text, or NULL */

    /* Text of <span style="mso-list:Ignore"> is held back until the span
     * ends, to be written as "-" if it is a bullet; if it grows long it was
     * no marker and is "spilled" as ordinary text. */
    int mso_marker_depth;
    char mso_marker[MAX_MSO_MARKER];
    size_t mso_marker_len;
    bool mso_marker_spilled;

    struct open_element open[MAX_OPEN];
    int nopen;
    long deep_open; /* elements open past MAX_OPEN */
};

/* ------------------------------------------------------------------ */
/* Small string helpers                                                */

static int compare_tag(const void *key, const void *elem)
{
    return strcmp(key, ((const struct tag_info *)elem)->name);
}

static enum tag_kind tag_kind_of(const xmlChar *name)
{
    const struct tag_info *t =
        bsearch(name, tag_table, sizeof tag_table / sizeof tag_table[0], sizeof tag_table[0], compare_tag);
    return t ? t->kind : TAG_INLINE;
}

static const char *attribute(const xmlChar **atts, const char *name)
{
    if (atts == NULL)
        return NULL;
    for (size_t i = 0; atts[i] != NULL; i += 2)
        if (strcasecmp((const char *)atts[i], name) == 0)
            return atts[i + 1] ? (const char *)atts[i + 1] : "";
    return NULL;
}

/* Case-insensitive ASCII substring search; NULL when absent. */
static const char *find_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

static bool is_ascii_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t min, cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* The largest k <= n such that s[0..k) ends on a character boundary. */
static size_t utf8_floor(const char *s, size_t n, size_t k)
{
    if (k >= n)
        return n;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

/* ------------------------------------------------------------------ */
/* Input cleaning                                                      */

static const char replacement_char[] = "\xEF\xBF\xBD";

/* Length of a comment at S, to drop it: "<!-- ... -->" as a browser reads it
 * (an unterminated one runs to the end), and other "<!...>" but DOCTYPE, such
 * as Outlook's "<![if !supportLists]>" and "<![endif]>": bogus comments to a
 * browser, which libxml2 would show as text. Returns 0 when S does not start
 * a comment. */
static size_t comment_length(const char *s, size_t n)
{
    if (n >= 4 && memcmp(s, "<!--", 4) == 0) {
        if (n >= 5 && s[4] == '>')
            return 5;
        if (n >= 6 && memcmp(s + 4, "->", 2) == 0)
            return 6;
        const char *end = memmem(s + 4, n - 4, "-->", 3);
        return end ? (size_t)(end - s) + 3 : n;
    }
    if (n >= 3 && s[0] == '<' && s[1] == '!' && (n < 9 || strncasecmp(s + 2, "doctype", 7) != 0)) {
        const char *end = memchr(s, '>', n);
        return end ? (size_t)(end - s) + 1 : n;
    }
    return 0;
}

/* Copies the input with invalid UTF-8 and NUL replaced, line ends made LF and
 * comments removed. Returns false if the input had to be cut. */
static bool clean_input(const char *in, size_t len, struct hg_buf *clean)
{
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && (unsigned char)in[run] >= 0x20 && (unsigned char)in[run] < 0x80 && in[run] != '<')
            run++;
        if (run > i && hg_buf_append(clean, in + i, run - i) < 0)
            return false;
        i = run;
        if (i >= len)
            break;
        const unsigned char *u = (const unsigned char *)in + i;
        int rc;
        size_t skip;
        if (*u == '<' && (skip = comment_length(in + i, len - i)) > 0) {
            i += skip;
            continue;
        }
        if (*u == '\r') {
            rc = hg_buf_append_char(clean, '\n');
            i += (i + 1 < len && in[i + 1] == '\n') ? 2 : 1;
        } else if (*u == '\0') {
            rc = hg_buf_append_str(clean, replacement_char);
            i++;
        } else if ((skip = utf8_sequence_length(u, len - i)) > 0) {
            rc = hg_buf_append(clean, u, skip);
            i += skip;
        } else {
            rc = hg_buf_append_str(clean, replacement_char);
            i++;
        }
        if (rc < 0)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Output: bounded writes and lines                                    */

static void out_write(struct render *r, const char *s, size_t n)
{
    if (r->full || n == 0)
        return;
    if (hg_buf_append(&r->out, s, n) == 0)
        return;
    size_t room = r->out.max - r->out.len;
    (void)hg_buf_append(&r->out, s, utf8_floor(s, n, room));
    r->full = true;
}

static void out_trim_trailing_blanks(struct render *r, size_t floor)
{
    while (r->out.len > floor && (r->out.data[r->out.len - 1] == ' ' || r->out.data[r->out.len - 1] == '\t'))
        r->out.len--;
    if (r->out.data != NULL)
        r->out.data[r->out.len] = '\0';
}

static void out_truncate(struct render *r, size_t len)
{
    r->out.len = len;
    if (r->out.data != NULL)
        r->out.data[len] = '\0';
}

static int quote_segments(const struct render *r)
{
    int n = 0;
    for (int i = 0; i < r->nsegments; i++)
        n += r->segments[i].is_quote;
    return n;
}

/* The prefix of an empty line: the segments up to the last quote the lines
 * above and below share, so a blank line inside a quote reads ">". */
static void write_blank_prefix(struct render *r)
{
    int quotes = quote_segments(r);
    int want = quotes < r->prev_quotes ? quotes : r->prev_quotes;
    for (int i = 0, seen = 0; i < r->nsegments && seen < want; i++) {
        out_write(r, r->segments[i].rest, strlen(r->segments[i].rest));
        seen += r->segments[i].is_quote;
    }
    out_trim_trailing_blanks(r, r->line_start);
}

static void start_new_line(struct render *r)
{
    r->line_start = r->out.len;
    r->line_has_text = false;
    r->line_visible = false;
}

/* Ends the current line. An empty line is written only between two visible
 * lines and never twice in a row. */
static void end_line(struct render *r)
{
    out_trim_trailing_blanks(r, r->line_start);
    if (r->line_visible) {
        out_write(r, "\n", 1);
        r->any_visible = true;
        r->prev_quotes = r->line_quotes;
        r->last_was_blank = false;
    } else {
        out_truncate(r, r->line_start);
        if (r->any_visible && !r->last_was_blank) {
            r->blank_start = r->out.len;
            write_blank_prefix(r);
            out_write(r, "\n", 1);
            r->last_was_blank = true;
        }
    }
    start_new_line(r);
}

static void write_line_prefix(struct render *r)
{
    for (int i = 0; i < r->nsegments; i++) {
        struct segment *seg = &r->segments[i];
        const char *s = seg->first_used ? seg->rest : seg->first;
        out_write(r, s, strlen(s));
        seg->first_used = true;
    }
    r->line_quotes = quote_segments(r);
    r->line_has_text = true;
}

static bool in_empty_cell(const struct render *r)
{
    return r->ncells > 0 && r->ncells > r->cells_with_content;
}

/* Writes what was pending (line breaks, a cell separator or one space), then
 * the line prefix if the line is new. */
static void flush_pending(struct render *r)
{
    if (r->pending_breaks > 0) {
        for (int i = 0; i < r->pending_breaks; i++)
            end_line(r);
    } else if (r->line_has_text && r->pending_separator) {
        out_write(r, " | ", 3);
    } else if (r->line_has_text && r->pending_space) {
        out_write(r, " ", 1);
    }
    r->pending_breaks = 0;
    r->pending_space = false;
    r->pending_separator = false;
    if (!r->line_has_text)
        write_line_prefix(r);
}

/* Writes content: text, a marker, a URL. VISIBLE is false for spaces only. */
static void write_content(struct render *r, const char *s, size_t n, bool visible)
{
    if (n == 0 || r->full)
        return;
    if (!visible && in_empty_cell(r)) {
        r->pending_space = true; /* a spacer cell (&nbsp;) is an empty cell */
        return;
    }
    flush_pending(r);
    if (r->in_link && r->link_text_start == NO_OFFSET)
        r->link_text_start = r->out.len;
    out_write(r, s, n);
    if (visible)
        r->line_visible = true;
    r->rows_with_content = r->nrows;
    r->cells_with_content = r->ncells;
    r->pre_fresh = false;
}

static void request_break(struct render *r, int n)
{
    if (in_empty_cell(r))
        return;
    if (r->pending_breaks < n)
        r->pending_breaks = n;
}

/* <br> or a newline in <pre>: one more line break, at most one blank line. */
static void line_break(struct render *r)
{
    if (in_empty_cell(r))
        return;
    if (r->pending_breaks < 2)
        r->pending_breaks++;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */

/* Invisible characters dropped from the output: soft hyphen, zero-width
 * space, byte order mark, and C1 controls. Returns the length to skip. */
static size_t invisible_length(const unsigned char *s, size_t n)
{
    if (n >= 2 && s[0] == 0xC2 && (s[1] == 0xAD || (s[1] >= 0x80 && s[1] <= 0x9F)))
        return 2;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0x8B)
        return 3;
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        return 3;
    return 0;
}

static bool is_nbsp(const unsigned char *s, size_t n)
{
    return n >= 2 && s[0] == 0xC2 && s[1] == 0xA0;
}

static bool is_plain_byte(unsigned char c)
{
    return c > 0x20 && c != 0x7F && c != 0xC2 && c != 0xE2 && c != 0xEF;
}

/* Writes the character at I and the plain bytes after it; returns where it
 * stopped. Whole characters only, so a cut output stays valid UTF-8. */
static size_t write_character_run(struct render *r, const char *text, size_t len, size_t i)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t run = i + utf8_sequence_length(s + i, len - i);
    if (run == i)
        return i + 1; /* cannot happen: the input was cleaned */
    while (run < len && is_plain_byte(s[run]))
        run++;
    write_content(r, text + i, run - i, true);
    return run;
}

/* One piece of text at I that is not white space: a no-break space, an invisible
 * character (dropped), a control character (dropped) or a run of characters. */
static size_t write_other(struct render *r, const char *text, size_t len, size_t i)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t skip;
    if (is_nbsp(s + i, len - i)) {
        write_content(r, " ", 1, false);
        return i + 2;
    }
    if ((skip = invisible_length(s + i, len - i)) > 0)
        return i + skip;
    if (s[i] < 0x20 || s[i] == 0x7F)
        return i + 1;
    return write_character_run(r, text, len, i);
}
/* Text outside <pre>: runs of whitespace become one pending space. */
static void write_flowing_text(struct render *r, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len && !r->full) {
        size_t run = i;
        while (run < len && is_plain_byte(s[run]))
            run++;
        if (run > i) {
            write_content(r, text + i, run - i, true);
            i = run;
            continue;
        }
        if (is_ascii_space(s[i])) {
            r->pending_space = true;
            i++;
        } else {
            i = write_other(r, text, len, i);
        }
    }
}

/* Text inside <pre>: spaces kept, newlines are line breaks. */
static void write_preformatted_text(struct render *r, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len && !r->full) {
        if (s[i] == '\n') {
            if (!r->pre_fresh)
                line_break(r);
            r->pre_fresh = false;
            i++;
        } else if (s[i] == ' ' || s[i] == '\t') {
            write_content(r, text + i, 1, false);
            i++;
        } else {
            i = write_other(r, text, len, i);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Element handlers                                                    */

static void push_segment(struct render *r, struct open_element *e, const char *first, bool is_quote)
{
    if (r->nsegments >= MAX_SEGMENTS)
        return;
    struct segment *seg = &r->segments[r->nsegments++];
    size_t width = strlen(first);
    snprintf(seg->first, sizeof seg->first, "%s", first);
    if (is_quote) {
        snprintf(seg->rest, sizeof seg->rest, "%s", first);
    } else {
        if (width >= sizeof seg->rest)
            width = sizeof seg->rest - 1;
        memset(seg->rest, ' ', width);
        seg->rest[width] = '\0';
    }
    seg->first_used = false;
    seg->is_quote = is_quote;
    e->flags |= OPEN_SEGMENT;
}

/* The number in a start= or value= attribute, or FALLBACK if there is none
 * or it is out of a sane range. */
static long list_number(const char *text, long fallback)
{
    if (text == NULL)
        return fallback;
    char *end;
    long n = strtol(text, &end, 10);
    if (end == text || n < -99999 || n > 999999)
        return fallback;
    return n;
}

static void start_list_item(struct render *r, struct open_element *e, const xmlChar **atts)
{
    char marker[24] = "- ";
    request_break(r, 1);
    if (r->nlists > 0 && r->lists[r->nlists - 1].ordered) {
        struct list_state *list = &r->lists[r->nlists - 1];
        long number = list_number(attribute(atts, "value"), list->next);
        list->next = number + 1;
        snprintf(marker, sizeof marker, "%ld. ", number);
    }
    push_segment(r, e, marker, false);
}

static void start_list(struct render *r, struct open_element *e, bool ordered, const xmlChar **atts)
{
    request_break(r, r->nlists == 0 ? 2 : 1);
    if (r->nlists >= MAX_LISTS)
        return;
    long first = ordered ? list_number(attribute(atts, "start"), 1) : 1;
    r->lists[r->nlists++] = (struct list_state){.ordered = ordered, .next = first};
    e->flags |= OPEN_LIST;
}

static void start_cell(struct render *r, struct open_element *e)
{
    bool row_has_content = r->nrows > 0 && r->rows_with_content >= r->nrows;
    if (r->ncells >= MAX_CELLS)
        return;
    r->cells[r->ncells++] = (struct cell_state){.breaks_before = r->pending_breaks};
    e->flags |= OPEN_CELL;
    r->pending_space = false;
    if (row_has_content)
        r->pending_separator = true;
}

static void end_cell(struct render *r)
{
    bool had_content = r->cells_with_content >= r->ncells;
    int breaks_before = r->cells[r->ncells - 1].breaks_before;
    r->ncells--;
    if (r->cells_with_content > r->ncells)
        r->cells_with_content = r->ncells;
    r->pending_breaks = had_content ? 0 : breaks_before;
    r->pending_space = false;
    if (!had_content)
        r->pending_separator = false;
}

/* Shown after a link's text: the address of a mailto: link, the URL of
 * others; nothing for page anchors and scripts. */
static char *link_display_url(const char *href)
{
    while (is_ascii_space((unsigned char)*href))
        href++;
    if (*href == '\0' || *href == '#' || strncasecmp(href, "javascript:", 11) == 0)
        return NULL;
    size_t len = strlen(href);
    if (len > MAX_URL)
        return NULL;
    bool mailto = strncasecmp(href, "mailto:", 7) == 0;
    if (mailto)
        href += 7;
    char *url = hg_xmalloc(strlen(href) + 1);
    size_t n = 0;
    for (const char *p = href; *p != '\0'; p++) {
        if (mailto && *p == '?')
            break;
        if ((unsigned char)*p > 0x20 && *p != 0x7F)
            url[n++] = *p;
    }
    url[n] = '\0';
    if (n == 0) {
        free(url);
        return NULL;
    }
    return url;
}

static void start_link(struct render *r, struct open_element *e, const xmlChar **atts)
{
    if (r->in_link)
        return;
    const char *href = attribute(atts, "href");
    char *url = href ? link_display_url(href) : NULL;
    if (url == NULL)
        return;
    r->in_link = true;
    r->link_url = url;
    r->link_text_start = NO_OFFSET;
    e->flags |= OPEN_LINK;
}

/* Skips what does not change where a link goes: scheme, "www." and a final "/". */
static void link_compare_span(const char **s, size_t *n)
{
    static const char *const skip_prefixes[] = {"https://", "http://", "mailto:", "www."};
    for (size_t i = 0; i < sizeof skip_prefixes / sizeof skip_prefixes[0]; i++) {
        size_t len = strlen(skip_prefixes[i]);
        if (*n >= len && strncasecmp(*s, skip_prefixes[i], len) == 0) {
            *s += len;
            *n -= len;
        }
    }
    if (*n > 0 && (*s)[*n - 1] == '/')
        (*n)--;
}

static bool same_link_target(const char *text, size_t text_len, const char *url)
{
    size_t url_len = strlen(url);
    link_compare_span(&text, &text_len);
    link_compare_span(&url, &url_len);
    return text_len == url_len && strncasecmp(text, url, url_len) == 0;
}

static void end_link(struct render *r)
{
    char *url = r->link_url;
    size_t start = r->link_text_start;
    r->in_link = false;
    r->link_url = NULL;
    if (start != NO_OFFSET && !r->full && start <= r->out.len &&
        !same_link_target(r->out.data + start, r->out.len - start, url)) {
        bool space_after_text = r->pending_space; /* "<a>go </a>now" keeps its space */
        r->pending_space = true;
        write_content(r, "(", 1, true);
        write_content(r, url, strlen(url), true);
        write_content(r, ")", 1, true);
        r->pending_space = space_after_text;
    }
    free(url);
}

static void write_image(struct render *r, const xmlChar **atts)
{
    const char *alt = attribute(atts, "alt");
    if (alt == NULL)
        return;
    size_t len = strnlen(alt, MAX_ALT);
    len = utf8_floor(alt, strlen(alt), len);
    size_t start = 0;
    while (start < len && is_ascii_space((unsigned char)alt[start]))
        start++;
    while (len > start && is_ascii_space((unsigned char)alt[len - 1]))
        len--;
    if (start == len)
        return;
    write_content(r, "[image: ", 8, true);
    write_flowing_text(r, alt + start, len - start);
    r->pending_space = false;
    write_content(r, "]", 1, true);
}

static bool is_mso_paragraph(const xmlChar **atts)
{
    const char *cls = attribute(atts, "class");
    return cls != NULL && find_nocase(cls, "mso") != NULL;
}

/* The level of an Outlook list paragraph: style="mso-list:l0 level2 lfo1". */
static int mso_list_level(const xmlChar **atts)
{
    const char *style = attribute(atts, "style");
    const char *list = style ? find_nocase(style, "mso-list:") : NULL;
    const char *level = list ? find_nocase(list, "level") : NULL;
    if (level == NULL || level[5] < '1' || level[5] > '9')
        return 0;
    return level[5] - '0';
}

static void start_paragraph(struct render *r, struct open_element *e, const xmlChar **atts)
{
    if (!is_mso_paragraph(atts)) {
        request_break(r, 2);
        return;
    }
    /* Outlook's paragraphs have no margins: one per line; empty ones hold &nbsp;. */
    e->flags |= OPEN_MSO_LINE;
    request_break(r, 1);
    int level = mso_list_level(atts);
    if (level > 1) {
        char indent[24];
        int width = 2 * (level - 1);
        memset(indent, ' ', (size_t)width);
        indent[width] = '\0';
        push_segment(r, e, indent, false);
    }
}

static void start_span(struct render *r, struct open_element *e, const xmlChar **atts)
{
    const char *style = attribute(atts, "style");
    if (style == NULL || find_nocase(style, "mso-list:") == NULL || find_nocase(style, "ignore") == NULL)
        return;
    if (r->mso_marker_depth++ == 0) {
        r->mso_marker_len = 0;
        r->mso_marker_spilled = false;
    }
    e->flags |= OPEN_MSO_MARKER;
}

static void spill_mso_marker(struct render *r)
{
    r->mso_marker_spilled = true;
    write_flowing_text(r, r->mso_marker, r->mso_marker_len);
    r->mso_marker_len = 0;
}

/* Holds back text inside the marker span; false if it must be written now. */
static bool hold_mso_marker_text(struct render *r, const char *text, size_t len)
{
    if (r->mso_marker_depth == 0 || r->mso_marker_spilled)
        return false;
    if (r->mso_marker_len + len > sizeof r->mso_marker) {
        spill_mso_marker(r);
        return false;
    }
    memcpy(r->mso_marker + r->mso_marker_len, text, len);
    r->mso_marker_len += len;
    return true;
}

/* The marker without spaces and no-break spaces around it. */
static const char *trimmed_mso_marker(const struct render *r, size_t *len)
{
    const unsigned char *s = (const unsigned char *)r->mso_marker;
    size_t start = 0, end = r->mso_marker_len;
    for (;;) {
        if (start < end && is_ascii_space(s[start]))
            start++;
        else if (end - start >= 2 && is_nbsp(s + start, 2))
            start += 2;
        else
            break;
    }
    for (;;) {
        if (end > start && is_ascii_space(s[end - 1]))
            end--;
        else if (end - start >= 2 && is_nbsp(s + end - 2, 2))
            end -= 2;
        else
            break;
    }
    *len = end - start;
    return r->mso_marker + start;
}

/* Outlook writes a list bullet as a Symbol-font character padded with
 * no-break spaces in an "ignored" span; numbers ("1.") are kept as written. */
static void end_mso_marker(struct render *r)
{
    static const char *const bullets[] = {
        "\xC2\xB7",     "o", "\xC2\xA7", "\xEF\x82\xB7", "\xEF\x82\xA7", "\xE2\x80\xA2",
        "\xE2\x96\xAA", "-", "*"};
    if (--r->mso_marker_depth > 0 || r->mso_marker_spilled)
        return;
    size_t len;
    const char *marker = trimmed_mso_marker(r, &len);
    r->mso_marker_len = 0;
    if (len == 0)
        return;
    bool bullet = false;
    for (size_t i = 0; i < sizeof bullets / sizeof bullets[0]; i++)
        if (len == strlen(bullets[i]) && memcmp(marker, bullets[i], len) == 0)
            bullet = true;
    if (bullet)
        write_content(r, "-", 1, true);
    else
        write_flowing_text(r, marker, len);
    r->pending_space = true;
}

static void start_element(struct render *r, struct open_element *e, const xmlChar **atts)
{
    switch ((enum tag_kind)e->kind) {
    case TAG_DROP:
        r->drop_depth++;
        break;
    case TAG_LINE_BLOCK:
    case TAG_DT:
    case TAG_TABLE:
        request_break(r, 1);
        break;
    case TAG_PARA_BLOCK:
        request_break(r, 2);
        break;
    case TAG_P:
        start_paragraph(r, e, atts);
        break;
    case TAG_SPAN:
        start_span(r, e, atts);
        break;
    case TAG_BR:
        line_break(r);
        break;
    case TAG_HR:
        request_break(r, 2);
        write_content(r, "---", 3, true);
        request_break(r, 2);
        break;
    case TAG_IMG:
        write_image(r, atts);
        break;
    case TAG_A:
        start_link(r, e, atts);
        break;
    case TAG_UL:
    case TAG_OL:
        start_list(r, e, e->kind == TAG_OL, atts);
        break;
    case TAG_LI:
        start_list_item(r, e, atts);
        break;
    case TAG_DD:
        request_break(r, 1);
        push_segment(r, e, "  ", false);
        break;
    case TAG_BLOCKQUOTE:
        request_break(r, 2);
        push_segment(r, e, "> ", true);
        break;
    case TAG_PRE:
        request_break(r, 2);
        r->preserve_depth++;
        r->pre_fresh = true;
        e->flags |= OPEN_PRE;
        break;
    case TAG_TR:
        request_break(r, 1);
        if (r->nrows < MAX_ROWS) {
            r->nrows++;
            e->flags |= OPEN_ROW;
        }
        break;
    case TAG_CELL:
        start_cell(r, e);
        break;
    case TAG_INLINE:
        break;
    }
}

static void end_element(struct render *r, const struct open_element *e)
{
    if (e->flags & OPEN_LINK)
        end_link(r);
    if (e->flags & OPEN_MSO_MARKER)
        end_mso_marker(r);
    if (e->flags & OPEN_CELL)
        end_cell(r);
    if (e->flags & OPEN_ROW) {
        r->nrows--;
        if (r->rows_with_content > r->nrows)
            r->rows_with_content = r->nrows;
    }
    if (e->flags & OPEN_LIST)
        r->nlists--;
    if (e->flags & OPEN_SEGMENT)
        r->nsegments--;
    if (e->flags & OPEN_PRE)
        r->preserve_depth--;
    switch ((enum tag_kind)e->kind) {
    case TAG_DROP:
        r->drop_depth--;
        break;
    case TAG_LINE_BLOCK:
    case TAG_DT:
    case TAG_DD:
    case TAG_LI:
    case TAG_TABLE:
    case TAG_TR:
        request_break(r, 1);
        break;
    case TAG_P:
        request_break(r, (e->flags & OPEN_MSO_LINE) ? 1 : 2);
        break;
    case TAG_PARA_BLOCK:
    case TAG_BLOCKQUOTE:
    case TAG_PRE:
        request_break(r, 2);
        break;
    case TAG_UL:
    case TAG_OL:
        request_break(r, r->nlists == 0 ? 2 : 1);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* SAX callbacks                                                       */

static struct render *render_of(void *ctx)
{
    return ((xmlParserCtxtPtr)ctx)->_private;
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
    struct render *r = render_of(ctx);
    if (r->full) {
        xmlStopParser(ctx);
        return;
    }
    enum tag_kind kind = tag_kind_of(name);
    if (r->nopen >= MAX_OPEN) {
        /* Too deep to format: keep only what decides whether text shows. */
        r->deep_open++;
        r->drop_depth += kind == TAG_DROP;
        r->preserve_depth += kind == TAG_PRE;
        return;
    }
    struct open_element *e = &r->open[r->nopen++];
    e->name = name;
    e->flags = 0;
    if (r->drop_depth > 0) {
        e->kind = kind == TAG_DROP ? TAG_DROP : TAG_INLINE;
        r->drop_depth += kind == TAG_DROP;
        return;
    }
    e->kind = (unsigned char)kind;
    if (r->mso_marker_depth > 0 && !r->mso_marker_spilled && kind != TAG_INLINE && kind != TAG_SPAN)
        spill_mso_marker(r); /* keep text and breaks in order */
    start_element(r, e, atts);
}

static bool same_name(const xmlChar *a, const xmlChar *b)
{
    return a == b || strcmp((const char *)a, (const char *)b) == 0;
}

/* libxml2 closes elements in order, but a document cut short can leave a
 * start without its end: close down to the matching element, or ignore. */
static void on_end(void *ctx, const xmlChar *name)
{
    struct render *r = render_of(ctx);
    if (r->deep_open > 0) {
        enum tag_kind kind = tag_kind_of(name);
        r->deep_open--;
        if (kind == TAG_DROP && r->drop_depth > 0)
            r->drop_depth--;
        if (kind == TAG_PRE && r->preserve_depth > 0)
            r->preserve_depth--;
        return;
    }
    int match = r->nopen - 1;
    while (match >= 0 && !same_name(r->open[match].name, name))
        match--;
    if (match < 0)
        return;
    while (r->nopen > match)
        end_element(r, &r->open[--r->nopen]);
    if (r->full)
        xmlStopParser(ctx);
}

static void on_text(void *ctx, const xmlChar *text, int len)
{
    struct render *r = render_of(ctx);
    if (r->full) {
        xmlStopParser(ctx);
        return;
    }
    if (r->drop_depth > 0 || len <= 0)
        return;
    if (hold_mso_marker_text(r, (const char *)text, (size_t)len))
        return;
    if (r->preserve_depth > 0)
        write_preformatted_text(r, (const char *)text, (size_t)len);
    else
        write_flowing_text(r, (const char *)text, (size_t)len);
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */

static pthread_once_t libxml_once = PTHREAD_ONCE_INIT;

static void init_libxml(void)
{
    xmlInitParser();
}

static void ignore_error(void *ctx, xmlErrorPtr error)
{
    (void)ctx;
    (void)error;
}

static void install_callbacks(htmlParserCtxtPtr ctxt, struct render *r)
{
    htmlSAXHandler *sax = ctxt->sax;
    memset(sax, 0, sizeof *sax);
    sax->startElement = on_start;
    sax->endElement = on_end;
    sax->characters = on_text;
    sax->ignorableWhitespace = on_text;
    sax->cdataBlock = on_text; /* script/style bodies: dropped by on_text */
    /* Errors go to serror, which libxml2 consults only with the SAX2 magic;
     * without it they would reach a handler the calling thread may have set
     * with xmlSetStructuredErrorFunc(). */
    sax->initialized = XML_SAX2_MAGIC;
    sax->serror = ignore_error;
    ctxt->_private = r;
}

static void parse_html(struct render *r, const char *html, size_t len)
{
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    if (ctxt == NULL)
        return;
    install_callbacks(ctxt, r);
    int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET;
    htmlDocPtr doc = htmlCtxtReadMemory(ctxt, html, (int)len, NULL, "UTF-8", options);
    if (doc != NULL)
        xmlFreeDoc(doc);
    htmlFreeParserCtxt(ctxt);
}

/* Drops the last line if it has nothing visible, a blank line before it,
 * and the final newline. */
static void finish_output(struct render *r)
{
    out_trim_trailing_blanks(r, r->line_start);
    if (!r->line_visible) {
        out_truncate(r, r->line_start);
        if (r->last_was_blank)
            out_truncate(r, r->blank_start);
    }
    while (r->out.len > 0 && r->out.data[r->out.len - 1] == '\n')
        out_truncate(r, r->out.len - 1);
}

char *hg_html_to_text(const char *html, size_t len, size_t max_out, bool *truncated_r)
{
    struct render r = {.link_text_start = NO_OFFSET};
    struct hg_buf clean;
    bool input_cut = false;

    if (truncated_r != NULL)
        *truncated_r = false;
    if (html == NULL || len == 0)
        return hg_xstrdup("");
    pthread_once(&libxml_once, init_libxml);

    hg_buf_init(&r.out, max_out ? max_out : DEFAULT_MAX_OUT);
    hg_buf_init(&clean, MAX_HTML_INPUT);
    input_cut = !clean_input(html, len, &clean);
    if (clean.len > 0)
        parse_html(&r, clean.data, clean.len);
    hg_buf_free(&clean);
    free(r.link_url);

    if (r.out.data != NULL)
        finish_output(&r);
    if (truncated_r != NULL)
        *truncated_r = r.full || input_cut;
    return hg_buf_steal(&r.out);
}
