/*
 * test-html2text.c — unit tests for hg_html_to_text (html2text.h).
 *
 * Data-driven: every tests/data/html/NAME.html is rendered and compared
 * with NAME.txt (trailing newlines of the .txt ignored); each case is also
 * rendered with CRLF line ends and with small output caps, and the output
 * is checked for the invariants the header promises. Then in-code table
 * cases, limits (deep nesting, huge input, caps), threads, and silence on
 * stderr. The data directory is found through $top_srcdir (default ".").
 */
#include "helpgate/html2text.h"

#include "tap.h"
#include "testdata.h"

#include <libxml/xmlerror.h>

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool valid_utf8(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n;
        unsigned int cp;
        if (u[i] < 0x80) {
            i++;
            continue;
        } else if (u[i] >= 0xC2 && u[i] <= 0xDF) {
            n = 2, cp = u[i] & 0x1F;
        } else if (u[i] >= 0xE0 && u[i] <= 0xEF) {
            n = 3, cp = u[i] & 0x0F;
        } else if (u[i] >= 0xF0 && u[i] <= 0xF4) {
            n = 4, cp = u[i] & 0x07;
        } else {
            return false;
        }
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n;
    }
    return true;
}

static bool is_blank_line(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '>')
            return false;
    return true;
}

/* What the header promises of every output; NULL when it holds. */
static const char *broken_invariant(const char *out)
{
    size_t len = strlen(out);
    if (!valid_utf8(out, len))
        return "invalid UTF-8";
    if (len > 0 && (out[0] == '\n' || out[len - 1] == '\n'))
        return "leading or trailing newline";
    bool previous_blank = false;
    for (const char *line = out; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            return "trailing space on a line";
        if (memchr(line, '\r', n) != NULL)
            return "carriage return in output";
        bool blank = is_blank_line(line, n);
        if (blank && previous_blank)
            return "two blank lines in a row";
        if (blank && line == out)
            return "leading blank line";
        previous_blank = blank;
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static char *render(const char *html, size_t len, size_t max, bool *truncated)
{
    return hg_html_to_text(html, len, max, truncated);
}

static const char *check_caps(const struct text html, const char *full, char *why, size_t why_len)
{
    size_t full_len = strlen(full);
    size_t caps[] = {1,        2,           3, 5, 8, 16, 40, full_len / 2, full_len > 0 ? full_len - 1 : 0,
                     full_len, full_len + 1};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        if (caps[i] == 0)
            continue;
        bool truncated = false;
        char *out = render(html.data, html.len, caps[i], &truncated);
        size_t len = strlen(out);
        const char *problem = NULL;
        if (len > caps[i])
            problem = "longer than the cap";
        else if (!valid_utf8(out, len))
            problem = "invalid UTF-8";
        else if (strncmp(out, full, len) != 0)
            problem = "not a prefix of the full output";
        else if (full_len > caps[i] && !truncated)
            problem = "not flagged as truncated";
        else if (full_len <= caps[i] && strcmp(out, full) != 0)
            problem = "differs although it fits";
        free(out);
        if (problem != NULL) {
            snprintf(why, why_len, "cap %zu: %s", caps[i], problem);
            return why;
        }
    }
    return NULL;
}

static void run_data_case(const char *dir, const char *name)
{
    char *in_path = file_path(dir, name, ".html");
    char *want_path = file_path(dir, name, ".txt");
    struct text html = read_file(in_path);
    struct text want = read_file(want_path);
    free(in_path);
    free(want_path);
    if (!ok(html.data != NULL && want.data != NULL, "%s: .html and .txt readable", name)) {
        free(html.data);
        free(want.data);
        return;
    }
    strip_trailing_newlines(want.data);

    bool truncated = true;
    char *got = render(html.data, html.len, 0, &truncated);
    char label[512];
    snprintf(label, sizeof label, "%s: expected text", name);
    is_str(got, want.data, label);
    const char *broken = broken_invariant(got);
    ok(broken == NULL && !truncated, "%s: invariants hold (%s)", name, broken ? broken : "ok");

    if (memchr(html.data, '\r', html.len) == NULL) {
        struct text crlf = to_crlf(html);
        char *got_crlf = render(crlf.data, crlf.len, 0, NULL);
        snprintf(label, sizeof label, "%s: same text with CRLF line ends", name);
        is_str(got_crlf, want.data, label);
        free(got_crlf);
        free(crlf.data);
    }

    char why[128];
    const char *cap_problem = check_caps(html, got, why, sizeof why);
    ok(cap_problem == NULL, "%s: output caps (%s)", name, cap_problem ? cap_problem : "ok");

    free(got);
    free(html.data);
    free(want.data);
}

static size_t run_data_cases(void)
{
    const char *top = getenv("top_srcdir");
    char *dir = file_path(top && *top ? top : ".", "tests/data/html", "");
    size_t count = 0;
    char **names = list_cases(dir, ".html", &count);
    for (size_t i = 0; i < count; i++) {
        run_data_case(dir, names[i]);
        free(names[i]);
    }
    free(names);
    ok(count >= 25, "found %zu data cases in %s", count, dir);
    free(dir);
    return count;
}

/* ------------------------------------------------------------------ */

struct table_case {
    const char *name;
    const char *html;
    const char *want;
};

static const struct table_case table_cases[] = {
    {"plain text", "just text", "just text"},
    {"whitespace collapses", "  a \n\t b  ", "a b"},
    {"paragraphs", "<p>a</p><p>b</p>", "a\n\nb"},
    {"div lines", "<div>a</div><div>b</div>", "a\nb"},
    {"br", "a<br>b<br><br>c", "a\nb\n\nc"},
    {"br at the end of a block", "<div>a<br></div><div>b</div>", "a\nb"},
    {"many br make one blank line", "a<br><br><br><br><br>b", "a\n\nb"},
    {"leading and trailing breaks", "<br><br><p></p>x<br><br>", "x"},
    {"heading", "<h2>Title</h2>text", "Title\n\ntext"},
    {"ul", "<ul><li>a</li><li>b</li></ul>", "- a\n- b"},
    {"ol", "<ol><li>a</li><li>b</li></ol>", "1. a\n2. b"},
    {"ol start and value", "<ol start=\"3\"><li>c<li value=\"x\">d<li value=\"9\">i</ol>",
     "3. c\n4. d\n9. i"},
    {"nested ul", "<ul><li>a<ul><li>b</li></ul></li></ul>", "- a\n  - b"},
    {"li continuation", "<ul><li>a<br>b</li></ul>", "- a\n  b"},
    {"link", "<a href=\"http://x.org/p\">X</a>", "X (http://x.org/p)"},
    {"link equal to url", "<a href=\"http://x.org/\">http://x.org</a>", "http://x.org"},
    {"link without scheme in text", "<a href=\"https://www.x.org\">x.org</a>", "x.org"},
    {"mailto", "<a href=\"mailto:a@x.org\">Ann</a>", "Ann (a@x.org)"},
    {"mailto equal", "<a href=\"mailto:a@x.org\">a@x.org</a>", "a@x.org"},
    {"mailto with query", "<a href=\"MAILTO:a@x.org?subject=Hi\">mail</a>", "mail (a@x.org)"},
    {"anchor link", "<a href=\"#x\">top</a>", "top"},
    {"link without text", "a<a href=\"http://x.org\"></a>b", "ab"},
    {"link text then space", "<a href=\"http://x.org/a\">go </a>now", "go (http://x.org/a) now"},
    {"image alt", "<img alt=\"Chart\">", "[image: Chart]"},
    {"image without alt", "a<img src=\"x\">b", "ab"},
    {"blockquote", "<blockquote>q</blockquote>", "> q"},
    {"blockquote paragraphs", "<blockquote><p>a</p><p>b</p></blockquote>", "> a\n>\n> b"},
    {"nested blockquote", "<blockquote>a<blockquote>b</blockquote></blockquote>", "> a\n>\n> > b"},
    {"text around quote", "x<blockquote>q</blockquote>y", "x\n\n> q\n\ny"},
    {"pre", "<pre>\n a  b\n  c</pre>", " a  b\n  c"},
    {"pre blank lines capped", "<pre>a\n\n\n\nb</pre>", "a\n\nb"},
    {"table", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a | b\nc | d"},
    {"table empty cells", "<table><tr><td></td><td>&nbsp;</td><td>x</td><td> </td><td>y</td></tr></table>",
     "x | y"},
    {"th", "<table><tr><th>H1</th><th>H2</th></tr></table>", "H1 | H2"},
    {"hr", "a<hr>b", "a\n\n---\n\nb"},
    {"script dropped", "a<script>x</script>b", "ab"},
    {"style dropped", "<style>p{}</style>a", "a"},
    {"head dropped", "<head><title>t</title></head><body>a</body>", "a"},
    {"noscript dropped", "a<noscript>n</noscript>", "a"},
    {"template dropped", "<template>t</template>a", "a"},
    {"comment dropped", "a<!-- c -->b", "ab"},
    {"mso conditional", "<!--[if mso]>o<![endif]-->a", "a"},
    {"downlevel revealed", "<![if !supportLists]>-<![endif]>a", "-a"},
    {"o:p",
     "<p class=MsoNormal>a<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>b</p>",
     "a\n\nb"},
    {"nbsp", "a&nbsp;&nbsp;b", "a  b"},
    {"entities", "&lt;&gt;&amp;&quot;&#39;&eacute;&#x20AC;", "<>&\"'\xC3\xA9\xE2\x82\xAC"},
    {"invalid utf-8",
     "a\xFF"
     "b",
     "a\xEF\xBF\xBD"
     "b"},
    {"uppercase tags", "<P>a</P><UL><LI>b</UL>", "a\n\n- b"},
    {"unknown tags", "<foo>a</foo><bar/>b", "ab"},
};

static void run_table_cases(void)
{
    for (size_t i = 0; i < sizeof table_cases / sizeof table_cases[0]; i++) {
        const struct table_case *c = &table_cases[i];
        char *got = render(c->html, strlen(c->html), 0, NULL);
        char label[256];
        snprintf(label, sizeof label, "table: %s", c->name);
        is_str(got, c->want, label);
        free(got);
    }
}

/* ------------------------------------------------------------------ */

static char *repeat(const char *s, size_t times, const char *middle, const char *tail_s, size_t tail_times)
{
    size_t a = strlen(s), m = strlen(middle), t = strlen(tail_s);
    char *out = malloc(a * times + m + t * tail_times + 1);
    char *p = out;
    for (size_t i = 0; i < times; i++, p += a)
        memcpy(p, s, a);
    memcpy(p, middle, m);
    p += m;
    for (size_t i = 0; i < tail_times; i++, p += t)
        memcpy(p, tail_s, t);
    *p = '\0';
    return out;
}

static void test_null_and_empty(void)
{
    bool truncated = true;
    char *out = hg_html_to_text(NULL, 0, 0, &truncated);
    is_str(out, "", "NULL input gives an empty string");
    ok(!truncated, "NULL input is not truncated");
    free(out);
    out = hg_html_to_text("", 0, 0, NULL);
    is_str(out, "", "empty input gives an empty string");
    free(out);
    out = hg_html_to_text("<p>abc</p>", 3, 0, NULL); /* only "<p>" */
    is_str(out, "", "LEN is honoured, not the NUL");
    free(out);
}

static void test_not_nul_terminated(void)
{
    const char src[] = "<p>hello</p>";
    char *exact = malloc(sizeof src - 1);
    memcpy(exact, src, sizeof src - 1);
    char *out = hg_html_to_text(exact, sizeof src - 1, 0, NULL);
    is_str(out, "hello", "input without a terminating NUL");
    free(out);
    free(exact);

    char with_nul[] = "a\0b";
    out = hg_html_to_text(with_nul, 3, 0, NULL);
    is_str(out,
           "a\xEF\xBF\xBD"
           "b",
           "an embedded NUL becomes U+FFFD");
    free(out);
}

static void test_deep_nesting(void)
{
    char *html = repeat("<div>", 100000, "deep", "</div>", 100000);
    char *out = hg_html_to_text(html, strlen(html), 0, NULL);
    is_str(out, "deep", "100000 nested divs");
    free(out);
    free(html);

    html = repeat("<blockquote>", 300, "q", "</blockquote>", 300);
    char *with_after = malloc(strlen(html) + 16);
    sprintf(with_after, "%s<p>after</p>", html);
    out = hg_html_to_text(with_after, strlen(with_after), 0, NULL);
    char *want = repeat("> ", 32, "q\n\nafter", "", 0);
    is_str(out, want, "300 nested quotes: prefix capped at 32 levels, text after kept");
    free(want);
    free(out);
    free(with_after);
    free(html);

    html = repeat("<span><script>", 2000, "hidden", "</script></span>", 2000);
    with_after = malloc(strlen(html) + 16);
    sprintf(with_after, "%sshown", html);
    out = hg_html_to_text(with_after, strlen(with_after), 0, NULL);
    is_str(out, "shown", "deeply nested scripts stay hidden past the open-element cap");
    free(out);
    free(with_after);
    free(html);

    html = repeat("<ul><li>", 200, "x", "</li></ul>", 200);
    out = hg_html_to_text(html, strlen(html), 0, NULL);
    ok(strstr(out, "- x") != NULL && broken_invariant(out) == NULL, "200 nested lists");
    free(out);
    free(html);
}

static void test_huge_input(void)
{
    char *html = repeat("<p>some words in a paragraph</p>", 400000, "", "", 0); /* ~12 MiB */
    bool truncated = false;
    char *out = hg_html_to_text(html, strlen(html), 0, &truncated);
    size_t len = strlen(out);
    ok(truncated && len <= ((size_t)4 << 20) && len > ((size_t)4 << 20) - 64,
       "huge input is cut near the 4 MiB default cap (%zu bytes)", len);
    ok(broken_invariant(out) == NULL, "huge input output keeps the invariants");
    free(out);

    out = hg_html_to_text(html, strlen(html), 1000, &truncated);
    ok(truncated && strlen(out) <= 1000, "a small cap on a huge input");
    free(out);
    free(html);
}

static void test_cap_on_characters(void)
{
    bool truncated = false;
    char *out = hg_html_to_text("\xC3\xA9\xC3\xA9\xC3\xA9", 6, 3, &truncated);
    is_str(out, "\xC3\xA9", "cap cuts at a character boundary");
    ok(truncated, "and sets the truncated flag");
    free(out);
    out = hg_html_to_text("\xF0\x9F\x98\x80", 4, 3, &truncated);
    is_str(out, "", "a 4-byte character does not fit in 3 bytes");
    free(out);
    out = hg_html_to_text("abc", 3, 3, &truncated);
    ok(strcmp(out, "abc") == 0 && !truncated, "output exactly at the cap is not truncated");
    free(out);
}

/* ------------------------------------------------------------------ */

struct thread_job {
    const char *html;
    const char *want;
    int failures;
};

static void *thread_main(void *arg)
{
    struct thread_job *job = arg;
    for (int i = 0; i < 200; i++) {
        char *out = hg_html_to_text(job->html, strlen(job->html), 0, NULL);
        if (strcmp(out, job->want) != 0)
            job->failures++;
        free(out);
    }
    return NULL;
}

static void test_threads(void)
{
    static const char html[] =
        "<ul><li>a <a href=\"http://x.org/\">b</a></li></ul><blockquote>q</blockquote>";
    static const char want[] = "- a b (http://x.org/)\n\n> q";
    struct thread_job jobs[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct thread_job){html, want, 0};
        pthread_create(&threads[i], NULL, thread_main, &jobs[i]);
    }
    int failures = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        failures += jobs[i].failures;
    }
    is_int(failures, 0, "4 threads render concurrently");
}

static int thread_handler_calls;

static void count_error(void *ctx, xmlErrorPtr error)
{
    (void)ctx;
    (void)error;
    thread_handler_calls++;
}

/* libxml2 must not print: run nasty inputs with stderr sent to a file. Nor
 * may it call error handlers another module set for the thread. */
static void test_silence(void)
{
    static const char *const nasty[] = {
        "<p>unclosed <b><i><u>",
        "</div></p></table></html>",
        "<a href='x' href='y' <<<>>> &bogus; &#xFFFFFFFF; &#0;",
        "<!DOCTYPE html PUBLIC \"broken",
        "<?xml version=\"1.0\"?><?pi?><p>x",
        "<![CDATA[x]]><!-- unterminated",
        "<table><td><tr><th></tr></td></table><li></ol>",
        "<p \xFF\xFE=\"\xC3\x28\">\xE2\x82</p>",
        "<meta charset=\"iso-8859-1\"><p>\xC3\xA9</p>",
        "<svg><foreignObject><p>a</svg>",
    };
    fflush(stderr);
    FILE *capture = tmpfile();
    int saved = dup(STDERR_FILENO);
    if (capture == NULL || saved < 0) {
        ok(0, "could not capture stderr");
        return;
    }
    dup2(fileno(capture), STDERR_FILENO);
    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++)
        free(hg_html_to_text(nasty[i], strlen(nasty[i]), 0, NULL));
    xmlSetStructuredErrorFunc(NULL, count_error);
    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++)
        free(hg_html_to_text(nasty[i], strlen(nasty[i]), 0, NULL));
    xmlSetStructuredErrorFunc(NULL, NULL);
    char *deep = repeat("<x:y a=\"", 3000, "", "\">", 3000);
    free(hg_html_to_text(deep, strlen(deep), 0, NULL));
    free(deep);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    fseek(capture, 0, SEEK_END);
    long size = ftell(capture);
    fclose(capture);
    is_int(size, 0, "nothing written to stderr on broken HTML");
    is_int(thread_handler_calls, 0, "the thread's structured error handler is not called");
}

int main(void)
{
    run_data_cases();
    run_table_cases();
    test_null_and_empty();
    test_not_nul_terminated();
    test_deep_nesting();
    test_huge_input();
    test_cap_on_characters();
    test_threads();
    test_silence();
    return tap_done();
}
