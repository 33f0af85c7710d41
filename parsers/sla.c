/*
 * sla.c — SLA policies and time counted in business hours (see sla.h).
 *
 * A calendar's spans are merged per weekday once, when the file is read
 * (rules_calendar_prepare). Counting then walks the time line in pieces that
 * each lie within one local day at one UTC offset: the local time of the
 * piece's start gives its day, its weekday and its local midnight, the day's
 * open intervals become UTC instants by subtracting the offset, and the piece
 * ends at the next local midnight, or earlier where the offset changes (found
 * by bisection between two lookups). So a day costs two hg_tz_local() calls,
 * a day with a clock change about twenty more, and the result is exact to the
 * second across summer time, whatever the offsets are.
 */
#include "rules_internal.h"

#include "helpgate/alloc.h"
#include "helpgate/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DAY = 86400 };

/* How far hg_sla_due() searches: 100 years. */
#define WALK_SECS (INT64_C(36525) * DAY)

/* ------------------------------------------------------------------------ */
/* Calendars.                                                              */

static int compare_interval(const void *a, const void *b)
{
    const struct open_interval *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

void rules_calendar_prepare(struct calendar *c)
{
    c->week_secs = 0;
    for (int d = 0; d < 7; d++) {
        struct open_interval *iv = hg_xcalloc(c->n_spans ? c->n_spans : 1, sizeof(*iv));
        size_t n = 0;
        for (size_t i = 0; i < c->n_spans; i++)
            if (c->spans[i].days & (1u << d))
                iv[n++] = (struct open_interval){c->spans[i].start * 60, c->spans[i].end * 60};
        if (n > 1)
            qsort(iv, n, sizeof(*iv), compare_interval);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (kept > 0 && iv[i].start <= iv[kept - 1].end) {
                if (iv[i].end > iv[kept - 1].end)
                    iv[kept - 1].end = iv[i].end;
            } else {
                iv[kept++] = iv[i];
            }
        }
        for (size_t i = 0; i < kept; i++)
            c->week_secs += iv[i].end - iv[i].start;
        c->open[d] = iv;
        c->n_open[d] = kept;
    }
}

void rules_calendar_release(struct calendar *c)
{
    for (int d = 0; d < 7; d++) {
        free(c->open[d]);
        c->open[d] = NULL;
        c->n_open[d] = 0;
    }
}

static int compare_date(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static bool is_holiday(const struct calendar *c, const struct hg_tz_local *l)
{
    int date = l->year * 10000 + l->month * 100 + l->day;
    return c->n_holidays > 0 && bsearch(&date, c->holidays, c->n_holidays, sizeof(int), compare_date) != NULL;
}

/* ------------------------------------------------------------------------ */
/* Walking the open intervals.                                             */

/* Returns true to stop the walk. */
typedef bool visit_fn(void *ctx, int64_t from, int64_t to);

static int offset_at(const struct hg_tz *tz, int64_t t)
{
    struct hg_tz_local l;
    hg_tz_local(tz, t, &l);
    return l.utc_offset;
}

/* The first instant in (LO, HI] whose offset is not OFFSET; LO has it, HI does not. */
static int64_t offset_change(const struct hg_tz *tz, int64_t lo, int64_t hi, int offset)
{
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (offset_at(tz, mid) == offset)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/*
 * Calls VISIT with every open interval of C inside [FROM, TO), in order, cut
 * to [FROM, TO); both lie within HG_TZ_EPOCH_MIN..HG_TZ_EPOCH_MAX + 1.
 * Returns true when VISIT stopped the walk.
 */
static bool walk(const struct hg_tz *tz, const struct calendar *c, int64_t from, int64_t to, visit_fn *visit,
                 void *ctx)
{
    for (int64_t t = from; t < to;) {
        struct hg_tz_local l;
        hg_tz_local(tz, t, &l);
        int64_t midnight = t - (l.hour * 3600 + l.minute * 60 + l.second);
        int64_t end = midnight + DAY < to ? midnight + DAY : to;
        if (end - 1 > t && offset_at(tz, end - 1) != l.utc_offset)
            end = offset_change(tz, t, end - 1, l.utc_offset);
        if (!is_holiday(c, &l)) {
            const struct open_interval *iv = c->open[l.weekday % 7];
            for (size_t i = 0; i < c->n_open[l.weekday % 7]; i++) {
                int64_t a = midnight + iv[i].start, b = midnight + iv[i].end;
                if (a < t)
                    a = t;
                if (b > end)
                    b = end;
                if (a < b && visit(ctx, a, b))
                    return true;
            }
        }
        t = end;
    }
    return false;
}

static int64_t clamp(int64_t t)
{
    return t < HG_TZ_EPOCH_MIN ? HG_TZ_EPOCH_MIN : t > HG_TZ_EPOCH_MAX + 1 ? HG_TZ_EPOCH_MAX + 1 : t;
}

/* The policy's calendar, or NULL for around the clock. */
static const struct calendar *calendar_of(const struct hg_rules *r, const struct hg_sla_policy *p)
{
    if (r == NULL || p == NULL || p->calendar == NULL || r->tz == NULL)
        return NULL;
    const struct sla_policy *sp = (const struct sla_policy *)p;
    return sp->calendar < r->n_calendars ? &r->calendars[sp->calendar] : NULL;
}

struct due {
    int64_t left, at;
    bool open; /* the instant must be open: not the end of a span but the start of the next */
};

static bool due_visit(void *ctx, int64_t from, int64_t to)
{
    struct due *d = ctx;
    if (to - from > d->left || (to - from == d->left && !d->open)) {
        d->at = from + d->left;
        return true;
    }
    d->left -= to - from;
    return false;
}

/* hg_sla_due(); OPEN: the first counted instant after COUNTED_SECS (for warnings). */
static int64_t due(const struct hg_rules *rules, const struct hg_sla_policy *p, int64_t start_epoch,
                   int64_t counted_secs, bool open)
{
    if (p == NULL)
        return HG_SLA_NEVER;
    if (counted_secs <= 0 && !open)
        return start_epoch;
    if (counted_secs < 0)
        counted_secs = 0;
    const struct calendar *c = calendar_of(rules, p);
    int64_t start = clamp(start_epoch);
    if (start > HG_TZ_EPOCH_MAX || counted_secs > HG_TZ_EPOCH_MAX - start)
        return HG_SLA_NEVER;
    if (c == NULL)
        return start + counted_secs;
    int64_t limit = start < HG_TZ_EPOCH_MAX + 1 - WALK_SECS ? start + WALK_SECS : HG_TZ_EPOCH_MAX + 1;
    struct due d = {.left = counted_secs, .at = HG_SLA_NEVER, .open = open};
    if (!walk(rules->tz, c, start, limit, due_visit, &d))
        return HG_SLA_NEVER;
    return d.at;
}

int64_t hg_sla_due(const struct hg_rules *rules, const struct hg_sla_policy *p, int64_t start_epoch,
                   int64_t counted_secs)
{
    return due(rules, p, start_epoch, counted_secs, false);
}

static bool sum_visit(void *ctx, int64_t from, int64_t to)
{
    *(int64_t *)ctx += to - from;
    return false;
}

int64_t hg_sla_counted(const struct hg_rules *rules, const struct hg_sla_policy *p, int64_t from, int64_t to)
{
    from = clamp(from);
    to = clamp(to);
    if (p == NULL || to <= from)
        return 0;
    const struct calendar *c = calendar_of(rules, p);
    if (c == NULL)
        return to - from;
    int64_t sum = 0;
    walk(rules->tz, c, from, to, sum_visit, &sum);
    return sum;
}

void hg_sla_times_at(const struct hg_rules *rules, const struct hg_sla_policy *p, int64_t start,
                     struct hg_sla_times *out)
{
    out->first_response_due = out->resolution_due = HG_SLA_NEVER;
    out->first_response_warn = out->resolution_warn = HG_SLA_NEVER;
    if (p == NULL)
        return;
    out->first_response_due = hg_sla_due(rules, p, start, p->first_response_secs);
    out->resolution_due = hg_sla_due(rules, p, start, p->resolution_secs);
    if (p->warn_secs > 0) {
        out->first_response_warn = due(rules, p, start, p->first_response_secs - p->warn_secs, true);
        out->resolution_warn = due(rules, p, start, p->resolution_secs - p->warn_secs, true);
    }
}

/* ------------------------------------------------------------------------ */
/* Policies.                                                               */

const struct hg_sla_policy *hg_rules_sla(const struct hg_rules *rules, const char *name)
{
    for (size_t i = 0; rules != NULL && name != NULL && i < rules->n_slas; i++)
        if (strcmp(rules->slas[i].name, name) == 0)
            return &rules->slas[i].pub;
    return NULL;
}

size_t hg_rules_sla_count(const struct hg_rules *rules)
{
    return rules != NULL ? rules->n_slas : 0;
}

const struct hg_sla_policy *hg_rules_sla_at(const struct hg_rules *rules, size_t i)
{
    return rules != NULL && i < rules->n_slas ? &rules->slas[i].pub : NULL;
}

const char *hg_sla_breach_name(enum hg_sla_breach breach)
{
    return breach == HG_SLA_NOTIFY_LEAD ? "notify lead" : "escalate";
}

enum hg_rules_tier hg_sla_breach_tier(const struct hg_sla_policy *p, enum hg_rules_tier tier,
                                      bool *notify_lead_r)
{
    if (tier < HG_TIER_L1 || tier > HG_TIER_L3)
        tier = HG_TIER_L1;
    if (p != NULL && p->on_breach == HG_SLA_NOTIFY_LEAD) {
        *notify_lead_r = true;
        return tier;
    }
    *notify_lead_r = tier == HG_TIER_L3;
    return tier == HG_TIER_L3 ? HG_TIER_L3 : (enum hg_rules_tier)(tier + 1);
}

/* ------------------------------------------------------------------------ */
/* Text.                                                                   */

void rules_sla_duration_text(int64_t secs, bool days, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    if (days && secs > 0 && secs % DAY == 0) {
        snprintf(out, size, "%lldd", (long long)(secs / DAY));
        return;
    }
    static const struct {
        int64_t unit;
        char letter;
    } units[] = {{3600, 'h'}, {60, 'm'}, {1, 's'}};
    for (size_t i = 0; i < 3 && n < size; i++)
        if (secs / units[i].unit > 0 || (i == 2 && n == 0)) {
            n += (size_t)snprintf(out + n, size - n, "%lld%c", (long long)(secs / units[i].unit),
                                  units[i].letter);
            secs %= units[i].unit;
        }
}

/* "Mon 2026-11-23 09:30 +01:00" in the rules' time zone. */
static void append_time(struct hg_buf *b, const struct hg_tz *tz, int64_t t)
{
    static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    if (t == HG_SLA_NEVER) {
        hg_buf_append_str(b, "never (beyond the search)");
        return;
    }
    struct hg_tz_local l;
    hg_tz_local(tz, t, &l);
    int off = l.utc_offset < 0 ? -l.utc_offset : l.utc_offset;
    hg_buf_printf(b, "%s %04d-%02d-%02d %02d:%02d", days[l.weekday % 7], l.year, l.month, l.day, l.hour,
                  l.minute);
    if (l.second != 0)
        hg_buf_printf(b, ":%02d", l.second);
    hg_buf_printf(b, " %c%02d:%02d", l.utc_offset < 0 ? '-' : '+', off / 3600, off / 60 % 60);
}

void rules_sla_explain(const struct hg_rules *rules, const char *name, int64_t now, struct hg_buf *b)
{
    hg_buf_printf(b, "  sla           %s", name);
    const struct hg_sla_policy *p = hg_rules_sla(rules, name);
    if (p == NULL) {
        hg_buf_printf(b, "   (no policy \"%s\" is defined: no due times)\n", name);
        return;
    }
    const struct sla_policy *sp = (const struct sla_policy *)p;
    hg_buf_printf(b, "   (%s:%d, counted ", rules->filename, p->line);
    if (p->calendar != NULL)
        hg_buf_printf(b, "in hours %s, %s)\n", p->calendar, rules->tz_name != NULL ? rules->tz_name : "UTC");
    else
        hg_buf_append_str(b, "around the clock)\n");
    struct hg_sla_times times;
    hg_sla_times_at(rules, p, now, &times);
    char fr[32], res[32], warn[32];
    bool days = sp->in_days.line > 0;
    rules_sla_duration_text(p->first_response_secs, days, fr, sizeof fr);
    rules_sla_duration_text(p->resolution_secs, days, res, sizeof res);
    rules_sla_duration_text(p->warn_secs, days, warn, sizeof warn);
    hg_buf_append_str(b, "    first response due  ");
    append_time(b, rules->tz, times.first_response_due);
    hg_buf_printf(b, "   (within %s)\n    resolution due      ", fr);
    append_time(b, rules->tz, times.resolution_due);
    hg_buf_printf(b, "   (within %s)\n", res);
    if (p->warn_secs > 0) {
        hg_buf_append_str(b, "    warnings            ");
        append_time(b, rules->tz, times.first_response_warn);
        hg_buf_append_str(b, " and ");
        append_time(b, rules->tz, times.resolution_warn);
        hg_buf_printf(b, "   (%s before)\n", warn);
    }
    hg_buf_printf(b, "    on breach           %s\n", hg_sla_breach_name(p->on_breach));
}
