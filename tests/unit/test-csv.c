/*
 * test-csv.c — CSV fields are quoted as RFC 4180 says and never run as spreadsheet formulas.
 */
#include "helpgate/csv.h"

#include "tap.h"

static void field_is(const char *in, const char *want, const char *what)
{
    struct hg_buf b;
    hg_buf_init(&b, 1024);
    ok(hg_csv_append_field(&b, in) == 0, "%s: appended", what);
    is_str(hg_buf_str(&b), want, what);
    hg_buf_free(&b);
}

static void test_quoting(void)
{
    field_is("plain", "plain", "a plain field as it is");
    field_is("", "", "an empty field");
    field_is(NULL, "", "NULL is an empty field");
    field_is("a,b", "\"a,b\"", "a comma is quoted");
    field_is("say \"hi\"", "\"say \"\"hi\"\"\"", "quotes are doubled inside quotes");
    field_is("two\nlines", "\"two\nlines\"", "LF is quoted");
    field_is("cr\rlf", "\"cr\rlf\"", "CR is quoted");
    field_is("Ünïcødé", "Ünïcødé", "UTF-8 passes through");
}

static void test_formulas(void)
{
    field_is("=HYPERLINK(\"http://evil.test\")", "\"'=HYPERLINK(\"\"http://evil.test\"\")\"",
             "= is defused (inside the quotes)");
    field_is("=1+2", "'=1+2", "= alone is defused");
    field_is("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0", "+ is defused");
    field_is("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0",
             "- followed by more than a number is defused");
    field_is("@SUM(A1:A9)", "'@SUM(A1:A9)", "@ is defused");
    field_is("\t=1", "'\t=1", "a leading TAB is defused");
    field_is("\r=1", "\"'\r=1\"", "a leading CR is defused and quoted");
    field_is("-5", "-5", "a negative number stays a number");
    field_is("+3.25", "+3.25", "a signed decimal stays a number");
    field_is("-", "'-", "a lone minus is text");
    field_is("a=b", "a=b", "= later in the field is harmless");
}

int main(void)
{
    test_quoting();
    test_formulas();
    return tap_done();
}
