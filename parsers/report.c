/*
 * report.c — the figures of `helpgatectl report` and their three outputs
 * (see report.h; the semantics are documented in helpgatectl(8), Reports).
 */
#include "helpgate/report.h"

#include "helpgate/alloc.h"
#include "helpgate/csv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The duration values of one figure, in microseconds, sorted on demand. */
struct values {
    int64_t *v;
    size_t n, cap;
    bool sorted;
};

struct hg_report {
    int64_t from, to; /* seconds */
    char tier[4];     /* "" or the only tier reported */
    struct hg_report_row rows[HG_REPORT_SCOPES];
    struct values first_response[HG_REPORT_SCOPES], resolution[HG_REPORT_SCOPES];
    struct hg_report_customer customers[HG_REPORT_TOP_CUSTOMERS];
    size_t n_customers;
};

static const char *const scope_names[HG_REPORT_SCOPES] = {"L1", "L2", "L3", "all", "custom_code"};

const char *hg_report_scope_name(enum hg_report_scope scope)
{
    return scope < HG_REPORT_SCOPES ? scope_names[scope] : "?";
}

/* HG_REPORT_L1..L3 for "L1".."L3", else -1. */
static int tier_index(const char *tier)
{
    if (tier == NULL || tier[0] != 'L' || tier[1] < '1' || tier[1] > '3' || tier[2] != '\0')
        return -1;
    return HG_REPORT_L1 + (tier[1] - '1');
}

struct hg_report *hg_report_new(int64_t from, int64_t to, const char *tier)
{
    struct hg_report *r = hg_xcalloc(1, sizeof(*r));
    r->from = from;
    r->to = to;
    if (tier_index(tier) >= 0)
        memcpy(r->tier, tier, 3);
    return r;
}

void hg_report_free(struct hg_report **report)
{
    struct hg_report *r = *report;
    if (r == NULL)
        return;
    for (int s = 0; s < HG_REPORT_SCOPES; s++) {
        free(r->first_response[s].v);
        free(r->resolution[s].v);
    }
    for (size_t i = 0; i < r->n_customers; i++) {
        free((char *)r->customers[i].email);
        free((char *)r->customers[i].company);
        free((char *)r->customers[i].tier);
    }
    free(r);
    *report = NULL;
}

/* ---- counting ------------------------------------------------------------------------------ */

static bool in_period(const struct hg_report *r, int64_t at)
{
    /* at >= from*1e6 and at < to*1e6, without overflowing for far-off bounds */
    if (at == HG_REPORT_NO_TIME)
        return false;
    int64_t s = at / HG_REPORT_US_PER_S - (at % HG_REPORT_US_PER_S < 0); /* floor */
    return s >= r->from && s < r->to;
}

static void values_push(struct values *vals, int64_t from, int64_t to)
{
    int64_t d = to - from;
    if (d < 0)
        d = 0;
    if (vals->n == vals->cap) {
        vals->cap = vals->cap ? vals->cap * 2 : 16;
        vals->v = hg_xrealloc(vals->v, vals->cap * sizeof(*vals->v));
    }
    vals->v[vals->n++] = d;
    vals->sorted = false;
}

void hg_report_add_ticket(struct hg_report *r, const struct hg_report_ticket *t)
{
    if (r->tier[0] != '\0' && (t->tier == NULL || strcmp(t->tier, r->tier) != 0))
        return;
    int scopes[3], n = 0;
    if (tier_index(t->tier) >= 0)
        scopes[n++] = tier_index(t->tier);
    scopes[n++] = HG_REPORT_ALL;
    if (t->custom_code)
        scopes[n++] = HG_REPORT_CUSTOM_CODE;

    bool created = in_period(r, t->created);
    int64_t done = t->closed != HG_REPORT_NO_TIME ? t->closed : t->resolved;
    int64_t resolved = t->resolved != HG_REPORT_NO_TIME ? t->resolved : t->closed;
    for (int i = 0; i < n; i++) {
        struct hg_report_row *row = &r->rows[scopes[i]];
        if (created) {
            row->incoming++;
            if (t->first_response != HG_REPORT_NO_TIME)
                values_push(&r->first_response[scopes[i]], t->created, t->first_response);
            if (t->sla_due) {
                row->sla_tickets++;
                row->sla_breached += t->breached;
            }
        }
        if (in_period(r, done))
            row->closed++;
        if (in_period(r, resolved) && t->created != HG_REPORT_NO_TIME)
            values_push(&r->resolution[scopes[i]], t->created, resolved);
    }
}

void hg_report_add_escalation(struct hg_report *r, const char *from_tier, bool custom_code, int64_t at)
{
    if (!in_period(r, at))
        return;
    int tier = tier_index(from_tier);
    if (r->tier[0] != '\0' && (tier < 0 || strcmp(from_tier, r->tier) != 0))
        return;
    if (tier >= 0)
        r->rows[tier].escalations++;
    r->rows[HG_REPORT_ALL].escalations++;
    if (custom_code)
        r->rows[HG_REPORT_CUSTOM_CODE].escalations++;
}

void hg_report_add_customer(struct hg_report *r, const struct hg_report_customer *c)
{
    if (r->n_customers == HG_REPORT_TOP_CUSTOMERS)
        return;
    struct hg_report_customer *mine = &r->customers[r->n_customers++];
    mine->email = hg_xstrdup(c->email != NULL ? c->email : "");
    mine->company = c->company != NULL ? hg_xstrdup(c->company) : NULL;
    mine->tier = hg_xstrdup(c->tier != NULL ? c->tier : "");
    mine->tickets = c->tickets;
}

size_t hg_report_customer_count(const struct hg_report *r)
{
    return r->n_customers;
}

const struct hg_report_customer *hg_report_customer(const struct hg_report *r, size_t i)
{
    return i < r->n_customers ? &r->customers[i] : NULL;
}

/* ---- figures ------------------------------------------------------------------------------- */

int64_t hg_report_nearest_rank(const int64_t *sorted, size_t n, unsigned percent)
{
    if (percent > 100)
        percent = 100;
    size_t rank = (n * percent + 99) / 100; /* ceil(percent * n / 100), exactly */
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void durations(struct values *vals, struct hg_report_durations *d)
{
    d->count = (int64_t)vals->n;
    d->median = d->p90 = 0;
    if (vals->n == 0)
        return;
    if (!vals->sorted) {
        qsort(vals->v, vals->n, sizeof(*vals->v), compare_int64);
        vals->sorted = true;
    }
    d->median = hg_report_nearest_rank(vals->v, vals->n, 50) / HG_REPORT_US_PER_S;
    d->p90 = hg_report_nearest_rank(vals->v, vals->n, 90) / HG_REPORT_US_PER_S;
}

static bool scope_shown(const struct hg_report *r, enum hg_report_scope scope)
{
    if (scope >= HG_REPORT_SCOPES)
        return false;
    if (r->tier[0] == '\0' || scope == HG_REPORT_CUSTOM_CODE)
        return true;
    return (int)scope == tier_index(r->tier);
}

const struct hg_report_row *hg_report_row(struct hg_report *r, enum hg_report_scope scope)
{
    if (!scope_shown(r, scope))
        return NULL;
    struct hg_report_row *row = &r->rows[scope];
    durations(&r->first_response[scope], &row->first_response);
    durations(&r->resolution[scope], &row->resolution);
    return row;
}

/* ---- pure helpers -------------------------------------------------------------------------- */

int hg_report_format_parse(const char *name, enum hg_report_format *format_r)
{
    static const char *const names[] = {"table", "csv", "json"};
    for (int i = 0; i < 3; i++)
        if (name != NULL && strcmp(name, names[i]) == 0) {
            *format_r = (enum hg_report_format)i;
            return 0;
        }
    return -1;
}

void hg_report_format_duration(int64_t s, char out[HG_REPORT_DURATION_MAX])
{
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(out, HG_REPORT_DURATION_MAX, "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf(out, HG_REPORT_DURATION_MAX, "%" PRId64 "m", s / 60);
    else if (s < 86400)
        snprintf(out, HG_REPORT_DURATION_MAX, "%" PRId64 "h %02" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(out, HG_REPORT_DURATION_MAX, "%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y_r, int *m_r, int *d_r)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y_r = yoe + era * 400 + (m <= 2);
    *m_r = m;
    *d_r = d;
}

/* N digits at *P (advanced); -1 when they are not all there. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* 9999-12-31T23:59:59Z: the times stay four-digit years in UTC, as PostgreSQL reads them. */
#define LAST_SECOND INT64_C(253402300799)

int hg_report_parse_time(const char *text, int64_t *epoch_r)
{
    const char *p = text;
    int y = digits(&p, 4), m, d, hh = 0, mm = 0, ss = 0, offset = 0;
    if (y < 1970 || *p++ != '-' || (m = digits(&p, 2)) < 1 || m > 12 || *p++ != '-' ||
        (d = digits(&p, 2)) < 1 || d > days_in_month(y, m))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if ((hh = digits(&p, 2)) < 0 || hh > 23 || *p++ != ':' || (mm = digits(&p, 2)) < 0 || mm > 59)
            return -1;
        if (*p == ':' && (p++, (ss = digits(&p, 2)) < 0 || ss > 59))
            return -1;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh = digits(&p, 2), om;
            if (*p == ':')
                p++;
            if (oh < 0 || oh > 23 || (om = digits(&p, 2)) < 0 || om > 59)
                return -1;
            offset = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p != '\0')
        return -1;
    int64_t epoch = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - offset;
    if (epoch < 0 || epoch > LAST_SECOND)
        return -1;
    *epoch_r = epoch;
    return 0;
}

void hg_report_format_time(int64_t epoch, char out[HG_REPORT_TIME_MAX])
{
    int64_t days = epoch / 86400 - (epoch % 86400 < 0), secs = epoch - days * 86400, y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, HG_REPORT_TIME_MAX, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(secs / 3600),
             (int)(secs % 3600 / 60), (int)(secs % 60));
}

/* ---- the table ----------------------------------------------------------------------------- */

#define TABLE_COLS 11
#define TABLE_ROWS (1 + HG_REPORT_SCOPES + HG_REPORT_TOP_CUSTOMERS)

struct table {
    char *cells[TABLE_ROWS][TABLE_COLS]; /* owned */
    int rows, cols;
    const char *align; /* per column: 'l' or 'r' */
};

/* Code points, which is how wide a cell shows for the text a report holds. */
static size_t display_width(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

__attribute__((format(printf, 4, 5))) static void set_cell(struct table *t, int row, int col, const char *fmt,
                                                           ...)
{
    va_list ap;
    va_start(ap, fmt);
    t->cells[row][col] = hg_xvasprintf(fmt, ap);
    va_end(ap);
}

/* A cell of text from the database: control characters show as '?', not as line breaks. */
static void set_text_cell(struct table *t, int row, int col, const char *text)
{
    char *copy = hg_xstrdup(text);
    for (char *c = copy; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    t->cells[row][col] = copy;
}

static void duration_cell(struct table *t, int row, int col, const struct hg_report_durations *d, bool p90)
{
    char text[HG_REPORT_DURATION_MAX] = "-";
    if (d->count > 0)
        hg_report_format_duration(p90 ? d->p90 : d->median, text);
    set_cell(t, row, col, "%s", text);
}

/* Writes the table (columns two spaces apart, no trailing blanks) and frees its cells. */
static int table_write(struct table *t, struct hg_buf *out)
{
    size_t width[TABLE_COLS] = {0};
    for (int r = 0; r < t->rows; r++)
        for (int c = 0; c < t->cols; c++)
            if (display_width(t->cells[r][c]) > width[c])
                width[c] = display_width(t->cells[r][c]);
    int rc = 0;
    for (int r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->cols; c++) {
            const char *s = t->cells[r][c];
            int pad = (int)(width[c] - display_width(s));
            bool last = c == t->cols - 1;
            if (rc == 0 && t->align[c] == 'r')
                rc = hg_buf_printf(out, "%*s%s%s", pad, "", s, last ? "\n" : "  ");
            else if (rc == 0)
                rc = hg_buf_printf(out, "%s%*s%s", s, last ? 0 : pad, "", last ? "\n" : "  ");
            free(t->cells[r][c]);
        }
    }
    return rc;
}

static void tiers_table(struct hg_report *r, struct table *t)
{
    static const char *const heads[TABLE_COLS] = {"TIER",        "INCOMING",  "CLOSED",      "ANSWERED",
                                                  "TTFR MEDIAN", "TTFR P90",  "RESOLVED",    "TTR MEDIAN",
                                                  "TTR P90",     "ESCALATED", "SLA BREACHED"};
    t->cols = TABLE_COLS;
    t->align = "lrrrrrrrrrr";
    for (int c = 0; c < TABLE_COLS; c++)
        set_cell(t, 0, c, "%s", heads[c]);
    t->rows = 1;
    for (int s = 0; s < HG_REPORT_SCOPES; s++) {
        const struct hg_report_row *x = hg_report_row(r, (enum hg_report_scope)s);
        if (x == NULL)
            continue;
        int row = t->rows++;
        set_cell(t, row, 0, "%s", s == HG_REPORT_CUSTOM_CODE ? "custom code" : scope_names[s]);
        set_cell(t, row, 1, "%" PRId64, x->incoming);
        set_cell(t, row, 2, "%" PRId64, x->closed);
        set_cell(t, row, 3, "%" PRId64, x->first_response.count);
        duration_cell(t, row, 4, &x->first_response, false);
        duration_cell(t, row, 5, &x->first_response, true);
        set_cell(t, row, 6, "%" PRId64, x->resolution.count);
        duration_cell(t, row, 7, &x->resolution, false);
        duration_cell(t, row, 8, &x->resolution, true);
        set_cell(t, row, 9, "%" PRId64, x->escalations);
        if (x->sla_tickets == 0)
            set_cell(t, row, 10, "-");
        else
            set_cell(t, row, 10, "%.1f%% (%" PRId64 "/%" PRId64 ")",
                     100.0 * (double)x->sla_breached / (double)x->sla_tickets, x->sla_breached,
                     x->sla_tickets);
    }
}

static void customers_table(struct hg_report *r, struct table *t)
{
    static const char *const heads[] = {"TICKETS", "CUSTOMER", "COMPANY", "TIER"};
    t->cols = 4;
    t->align = "rlll";
    for (int c = 0; c < 4; c++)
        set_cell(t, 0, c, "%s", heads[c]);
    t->rows = 1;
    for (size_t i = 0; i < r->n_customers; i++) {
        const struct hg_report_customer *c = &r->customers[i];
        int row = t->rows++;
        set_cell(t, row, 0, "%" PRId64, c->tickets);
        set_text_cell(t, row, 1, c->email);
        set_text_cell(t, row, 2, c->company != NULL ? c->company : "-");
        set_text_cell(t, row, 3, c->tier);
    }
}

static int write_table(struct hg_report *r, struct hg_buf *out)
{
    char from[HG_REPORT_TIME_MAX], to[HG_REPORT_TIME_MAX];
    hg_report_format_time(r->from, from);
    hg_report_format_time(r->to, to);
    struct table t = {0};
    tiers_table(r, &t);
    int rc = hg_buf_printf(out, "Support report %s to %s (end excluded)%s%s\n\n", from, to,
                           r->tier[0] ? ", tier " : "", r->tier);
    if (table_write(&t, out) != 0)
        rc = -1;
    if (rc == 0)
        rc = hg_buf_append_str(
            out,
            "\nANSWERED: tickets created in the period that have a first response; TTFR: time to it.\n"
            "RESOLVED: tickets resolved (else closed) in the period; TTR: time from creation to it.\n"
            "Wall-clock time; median and p90 by nearest rank; tiers are the tickets' current tiers.\n"
            "SLA BREACHED: of the tickets created in the period with an SLA due time, those breached.\n");
    if (rc == 0 && r->n_customers == 0)
        return hg_buf_append_str(out, "\nTop customers: no tickets from known customers in the period\n");
    struct table ct = {0};
    customers_table(r, &ct);
    if (rc == 0)
        rc = hg_buf_append_str(out, "\nTop customers by tickets created\n");
    if (table_write(&ct, out) != 0)
        rc = -1;
    return rc;
}

/* ---- CSV (RFC 4180: CRLF line ends; fields as csv.h writes them) -------------------------- */

static int csv_field(struct hg_buf *out, const char *s, bool last)
{
    int rc = hg_csv_append_field(out, s);
    return rc != 0 ? rc : hg_buf_append_str(out, last ? "\r\n" : ",");
}

/* The columns, in order; numbers go in a record's text[], names point elsewhere. */
enum csv_column {
    COL_FROM,
    COL_TO,
    COL_KIND,
    COL_NAME,
    COL_COMPANY,
    COL_CUSTOMER_TIER,
    COL_INCOMING,
    COL_CLOSED,
    COL_TTFR, /* count, median, p90 */
    COL_TTR = COL_TTFR + 3,
    COL_ESCALATIONS = COL_TTR + 3,
    COL_SLA_TICKETS,
    COL_SLA_BREACHED,
    COL_SLA_RATE,
    CSV_COLS
};

static const char *const csv_columns[CSV_COLS] = {
    "from",         "to",        "kind",        "name",          "company",      "customer_tier",
    "incoming",     "closed",    "ttfr_count",  "ttfr_median_s", "ttfr_p90_s",   "ttr_count",
    "ttr_median_s", "ttr_p90_s", "escalations", "sla_tickets",   "sla_breached", "sla_breach_rate"};

/* One record: FIELD[i] is the text of column i (NULL: empty). */
struct csv_record {
    const char *field[CSV_COLS];
    char text[CSV_COLS][HG_REPORT_TIME_MAX]; /* room for a time; a number takes at most 21 */
};

static void csv_record_init(struct csv_record *rec, const struct hg_report *r, const char *kind,
                            const char *name)
{
    memset(rec, 0, sizeof(*rec));
    hg_report_format_time(r->from, rec->text[COL_FROM]);
    hg_report_format_time(r->to, rec->text[COL_TO]);
    rec->field[COL_FROM] = rec->text[COL_FROM];
    rec->field[COL_TO] = rec->text[COL_TO];
    rec->field[COL_KIND] = kind;
    rec->field[COL_NAME] = name;
}

static void csv_number(struct csv_record *rec, enum csv_column col, int64_t value)
{
    snprintf(rec->text[col], sizeof(rec->text[col]), "%" PRId64, value);
    rec->field[col] = rec->text[col];
}

/* The count, then the median and p90 when there are values. */
static void csv_durations(struct csv_record *rec, enum csv_column col, const struct hg_report_durations *d)
{
    csv_number(rec, col, d->count);
    if (d->count > 0) {
        csv_number(rec, col + 1, d->median);
        csv_number(rec, col + 2, d->p90);
    }
}

static int csv_write_record(struct hg_buf *out, const char *const field[CSV_COLS])
{
    int rc = 0;
    for (int c = 0; c < CSV_COLS && rc == 0; c++)
        rc = csv_field(out, field[c] != NULL ? field[c] : "", c == CSV_COLS - 1);
    return rc;
}

static int write_csv(struct hg_report *r, struct hg_buf *out)
{
    int rc = csv_write_record(out, csv_columns);
    struct csv_record rec;
    for (int s = 0; s < HG_REPORT_SCOPES && rc == 0; s++) {
        const struct hg_report_row *x = hg_report_row(r, (enum hg_report_scope)s);
        if (x == NULL)
            continue;
        csv_record_init(&rec, r, s == HG_REPORT_CUSTOM_CODE ? "custom_code" : "tier", scope_names[s]);
        csv_number(&rec, COL_INCOMING, x->incoming);
        csv_number(&rec, COL_CLOSED, x->closed);
        csv_durations(&rec, COL_TTFR, &x->first_response);
        csv_durations(&rec, COL_TTR, &x->resolution);
        csv_number(&rec, COL_ESCALATIONS, x->escalations);
        csv_number(&rec, COL_SLA_TICKETS, x->sla_tickets);
        csv_number(&rec, COL_SLA_BREACHED, x->sla_breached);
        if (x->sla_tickets > 0) {
            snprintf(rec.text[COL_SLA_RATE], sizeof(rec.text[COL_SLA_RATE]), "%.4f",
                     (double)x->sla_breached / (double)x->sla_tickets);
            rec.field[COL_SLA_RATE] = rec.text[COL_SLA_RATE];
        }
        rc = csv_write_record(out, rec.field);
    }
    for (size_t i = 0; i < r->n_customers && rc == 0; i++) {
        const struct hg_report_customer *c = &r->customers[i];
        csv_record_init(&rec, r, "customer", c->email);
        rec.field[COL_COMPANY] = c->company;
        rec.field[COL_CUSTOMER_TIER] = c->tier;
        csv_number(&rec, COL_INCOMING, c->tickets);
        rc = csv_write_record(out, rec.field);
    }
    return rc;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* A JSON string, or null for NULL. Bytes >= 0x80 pass as they are (the database's text is UTF-8). */
static int json_string(struct hg_buf *out, const char *s)
{
    if (s == NULL)
        return hg_buf_append_str(out, "null");
    int rc = hg_buf_append_char(out, '"');
    for (; *s != '\0' && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = hg_buf_printf(out, "\\%c", c);
        else if (c == '\n')
            rc = hg_buf_append_str(out, "\\n");
        else if (c == '\r')
            rc = hg_buf_append_str(out, "\\r");
        else if (c == '\t')
            rc = hg_buf_append_str(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            rc = hg_buf_printf(out, "\\u%04x", c);
        else
            rc = hg_buf_append_char(out, (char)c);
    }
    return rc != 0 ? rc : hg_buf_append_char(out, '"');
}

static int json_durations(struct hg_buf *out, const char *key, const struct hg_report_durations *d)
{
    if (d->count == 0)
        return hg_buf_printf(out, "\"%s\": {\"count\": 0, \"median_s\": null, \"p90_s\": null}", key);
    return hg_buf_printf(
        out, "\"%s\": {\"count\": %" PRId64 ", \"median_s\": %" PRId64 ", \"p90_s\": %" PRId64 "}", key,
        d->count, d->median, d->p90);
}

static int json_row(struct hg_buf *out, const char *name, const struct hg_report_row *x)
{
    int rc = hg_buf_printf(out, "    \"%s\": {\"incoming\": %" PRId64 ", \"closed\": %" PRId64 ", ", name,
                           x->incoming, x->closed);
    if (rc == 0)
        rc = json_durations(out, "first_response", &x->first_response);
    if (rc == 0)
        rc = hg_buf_append_str(out, ", ");
    if (rc == 0)
        rc = json_durations(out, "resolution", &x->resolution);
    if (rc == 0)
        rc = hg_buf_printf(out,
                           ", \"escalations\": %" PRId64 ", \"sla\": {\"tickets\": %" PRId64
                           ", \"breached\": %" PRId64 ", \"breach_rate\": ",
                           x->escalations, x->sla_tickets, x->sla_breached);
    if (rc == 0 && x->sla_tickets > 0)
        rc = hg_buf_printf(out, "%.4f}}", (double)x->sla_breached / (double)x->sla_tickets);
    else if (rc == 0)
        rc = hg_buf_append_str(out, "null}}");
    return rc;
}

static int write_json(struct hg_report *r, struct hg_buf *out)
{
    char from[HG_REPORT_TIME_MAX], to[HG_REPORT_TIME_MAX];
    hg_report_format_time(r->from, from);
    hg_report_format_time(r->to, to);
    int rc = hg_buf_printf(out, "{\n  \"from\": \"%s\",\n  \"to\": \"%s\",\n  \"tier\": ", from, to);
    if (rc == 0)
        rc = json_string(out, r->tier[0] ? r->tier : NULL);
    if (rc == 0)
        rc = hg_buf_append_str(out, ",\n  \"rows\": {\n");
    const char *sep = "";
    for (int s = 0; s < HG_REPORT_SCOPES && rc == 0; s++) {
        const struct hg_report_row *x = hg_report_row(r, (enum hg_report_scope)s);
        if (x == NULL)
            continue;
        rc = hg_buf_append_str(out, sep);
        if (rc == 0)
            rc = json_row(out, scope_names[s], x);
        sep = ",\n";
    }
    if (rc == 0)
        rc = hg_buf_append_str(out, "\n  },\n  \"top_customers\": [");
    for (size_t i = 0; i < r->n_customers && rc == 0; i++) {
        const struct hg_report_customer *c = &r->customers[i];
        rc = hg_buf_append_str(out, i == 0 ? "\n    {\"email\": " : ",\n    {\"email\": ");
        if (rc == 0)
            rc = json_string(out, c->email);
        if (rc == 0)
            rc = hg_buf_append_str(out, ", \"company\": ");
        if (rc == 0)
            rc = json_string(out, c->company);
        if (rc == 0)
            rc = hg_buf_append_str(out, ", \"tier\": ");
        if (rc == 0)
            rc = json_string(out, c->tier);
        if (rc == 0)
            rc = hg_buf_printf(out, ", \"tickets\": %" PRId64 "}", c->tickets);
    }
    if (rc == 0)
        rc = hg_buf_append_str(out, r->n_customers > 0 ? "\n  ]\n}\n" : "]\n}\n");
    return rc;
}

int hg_report_write(struct hg_report *r, enum hg_report_format format, struct hg_buf *out)
{
    switch (format) {
    case HG_REPORT_TABLE:
        return write_table(r, out);
    case HG_REPORT_CSV:
        return write_csv(r, out);
    case HG_REPORT_JSON:
        return write_json(r, out);
    }
    return -1;
}
