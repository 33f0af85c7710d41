/*
 * fetch_ceiling.c — the IMAP side's ceiling for bench/ingest (a benchmark, not a test).
 *
 *   fetch_ceiling HOST PORT USER PASSWORD_FILE [--folder F] [--batch N]
 *
 * A bare libetpan client: plain IMAP connect, LOGIN, SELECT, UID SEARCH ALL,
 * then UID FETCH (UID BODY.PEEK[]) in batches of N UIDs (default 100, as
 * helpgated's batch_size), counting messages and bytes and doing nothing else
 * with them. It is what helpgated's poller must at least do to read a mailbox,
 * with libetpan's own socket layer. Nothing on the server changes (PEEK).
 *
 * Prints one line, key=value, for the driver to read:
 *   fetch_ceiling messages=N bytes=B seconds=S msgs_per_s=R fetch_seconds=F
 * seconds runs from before the TCP connect to the last byte of the last batch
 * (as helpgated's figure includes its start-up); fetch_seconds only the FETCHes.
 * Exits 1 with a message on stderr on any failure.
 */
#include <libetpan/libetpan.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int r)
{
    fprintf(stderr, "fetch_ceiling: %s failed (libetpan error %d)\n", what, r);
    exit(1);
}

static char *read_password(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    char line[512];
    if (fgets(line, sizeof(line), f) == NULL) {
        fprintf(stderr, "fetch_ceiling: %s is empty\n", path);
        exit(1);
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return strdup(line);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Every UID of the selected folder, sorted. */
static uint32_t *search_all(mailimap *imap, size_t *n_r)
{
    struct mailimap_search_key *key = mailimap_search_key_new_all();
    clist *result = NULL;
    int r = mailimap_uid_search(imap, NULL, key, &result);
    mailimap_search_key_free(key);
    if (r != MAILIMAP_NO_ERROR)
        die("UID SEARCH ALL", r);
    size_t n = 0, i = 0;
    for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it))
        n++;
    uint32_t *uids = calloc(n + 1, sizeof(*uids));
    for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it))
        uids[i++] = *(uint32_t *)clist_content(it);
    mailimap_search_result_free(result);
    qsort(uids, n, sizeof(*uids), cmp_u32);
    *n_r = n;
    return uids;
}

/* UID FETCH of UIDS (sorted); adds what came back to the counters. */
static void fetch_batch(mailimap *imap, const uint32_t *uids, size_t n, size_t *messages, size_t *bytes)
{
    struct mailimap_set *set = mailimap_set_new_empty();
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        mailimap_set_add_interval(set, uids[i], uids[j]);
        i = j + 1;
    }
    struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
    mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
    mailimap_fetch_type_new_fetch_att_list_add(
        ft, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
    clist *result = NULL;
    int r = mailimap_uid_fetch(imap, set, ft, &result);
    mailimap_fetch_type_free(ft);
    mailimap_set_free(set);
    if (r != MAILIMAP_NO_ERROR)
        die("UID FETCH", r);
    for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
        struct mailimap_msg_att *att = clist_content(it);
        for (clistiter *a = clist_begin(att->att_list); a != NULL; a = clist_next(a)) {
            struct mailimap_msg_att_item *item = clist_content(a);
            if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
                continue;
            struct mailimap_msg_att_static *st = item->att_data.att_static;
            if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && st->att_data.att_body_section != NULL &&
                st->att_data.att_body_section->sec_body_part != NULL) {
                (*messages)++;
                *bytes += st->att_data.att_body_section->sec_length;
            }
        }
    }
    mailimap_fetch_list_free(result);
}

static void usage(void)
{
    fprintf(stderr, "usage: fetch_ceiling HOST PORT USER PASSWORD_FILE [--folder F] [--batch N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 5)
        usage();
    const char *host = argv[1], *user = argv[3], *folder = "INBOX";
    long port = strtol(argv[2], NULL, 10);
    size_t batch = 100;
    for (int i = 5; i < argc; i++) {
        if (strcmp(argv[i], "--folder") == 0 && i + 1 < argc)
            folder = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = strtoul(argv[++i], NULL, 10);
        else
            usage();
    }
    if (port <= 0 || port > 65535 || batch == 0)
        usage();
    char *password = read_password(argv[4]);

    double t0 = now();
    mailimap *imap = mailimap_new(0, NULL);
    mailimap_set_timeout(imap, 60);
    int r = mailimap_socket_connect(imap, host, (uint16_t)port);
    if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED && r != MAILIMAP_NO_ERROR)
        die("connect", r);
    if ((r = mailimap_login(imap, user, password)) != MAILIMAP_NO_ERROR)
        die("LOGIN", r);
    if ((r = mailimap_select(imap, folder)) != MAILIMAP_NO_ERROR)
        die("SELECT", r);
    size_t n = 0;
    uint32_t *uids = search_all(imap, &n);

    double t1 = now();
    size_t messages = 0, bytes = 0;
    for (size_t i = 0; i < n; i += batch)
        fetch_batch(imap, uids + i, n - i < batch ? n - i : batch, &messages, &bytes);
    double t2 = now();

    mailimap_logout(imap);
    mailimap_free(imap);
    free(uids);
    free(password);
    if (messages != n) {
        fprintf(stderr, "fetch_ceiling: %zu UIDs but %zu bodies came back\n", n, messages);
        return 1;
    }
    double seconds = t2 - t0;
    printf("fetch_ceiling messages=%zu bytes=%zu seconds=%.4f msgs_per_s=%.1f fetch_seconds=%.4f\n", messages,
           bytes, seconds, seconds > 0 ? (double)messages / seconds : 0.0, t2 - t1);
    return 0;
}
