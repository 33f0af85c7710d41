/*
 * parse.c — benchmark of the mail normalizer against GMime 3 (a benchmark, not a test).
 *
 *   parse DIR [--repeat N]        parse every DIR/ *.eml with hg_mail_parse() and with GMime in the same
 *                                 process, print messages/s, MB/s and the ratio
 *   parse --rss FILE [gmime]      parse one message once and print the peak RSS (getrusage ru_maxrss)
 *   parse --gen-big FILE MB       write one message of about MB megabytes with text, HTML and attachments
 *   parse --gen-large DIR N MB    write N such messages into DIR (a corpus with large attachments)
 *
 * Files are read into memory first, so only parsing is timed. The GMime run
 * does the equivalent work: parse, decode every text part to UTF-8 (and the
 * subject, addresses, date and references); a second GMime figure also
 * decodes every attachment, which hg_mail_parse() always does (it hashes
 * them too).
 */
#include "helpgate/mail.h"

#include <gmime/gmime.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

struct message {
    char *data;
    size_t len;
};

struct corpus {
    struct message *items;
    size_t count;
    size_t bytes;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    buf[n] = '\0';
    *len_r = n;
    return buf;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_corpus(const char *dir, struct corpus *c)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "parse: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0) {
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, compare_names);
    c->items = calloc(n ? n : 1, sizeof *c->items);
    c->count = 0;
    c->bytes = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *data = read_file(path, &len);
        if (data != NULL) {
            c->items[c->count++] = (struct message){data, len};
            c->bytes += len;
        }
        free(names[i]);
    }
    free(names);
    return c->count > 0 ? 0 : -1;
}

/* ------------------------------------------------------------ the two engines */

static size_t sink; /* keeps the work from being optimised away */

static void parse_ours(const struct message *msg)
{
    struct hg_mail *m = hg_mail_parse(msg->data, msg->len, NULL);
    sink += m->body_text_len + strlen(m->subject) + m->n_attachments + m->n_references;
    hg_mail_free(&m);
}

struct gmime_walk {
    bool decode_attachments;
    GMimeStream *null_stream;
};

static void gmime_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    struct gmime_walk *w = data;
    (void)parent;
    if (GMIME_IS_TEXT_PART(part)) {
        char *text = g_mime_text_part_get_text((GMimeTextPart *)part); /* transfer-decoded, in UTF-8 */
        if (text != NULL) {
            sink += strlen(text);
            g_free(text);
        }
        const char *name = g_mime_part_get_filename((GMimePart *)part);
        sink += name != NULL;
    } else if (GMIME_IS_PART(part)) {
        const char *name = g_mime_part_get_filename((GMimePart *)part); /* decodes RFC 2231/2047 */
        sink += name != NULL;
        if (w->decode_attachments) {
            GMimeDataWrapper *content = g_mime_part_get_content((GMimePart *)part);
            if (content != NULL)
                sink += (size_t)g_mime_data_wrapper_write_to_stream(content, w->null_stream);
        }
    }
}

static void gmime_addresses(InternetAddressList *list)
{
    if (list == NULL)
        return;
    for (int i = 0; i < internet_address_list_length(list); i++) {
        const char *name = internet_address_get_name(internet_address_list_get_address(list, i));
        sink += name != NULL ? strlen(name) : 0;
    }
}

static void parse_gmime(const struct message *msg, struct gmime_walk *w)
{
    GByteArray *bytes = g_byte_array_new_take((guint8 *)msg->data, msg->len);
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);
    if (message != NULL) {
        const char *subject = g_mime_message_get_subject(message);
        sink += subject != NULL ? strlen(subject) : 0;
        gmime_addresses(g_mime_message_get_from(message));
        gmime_addresses(g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_TO));
        gmime_addresses(g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_CC));
        GDateTime *date = g_mime_message_get_date(message);
        sink += date != NULL;
        const char *id = g_mime_message_get_message_id(message);
        sink += id != NULL;
        const char *refs = g_mime_object_get_header(GMIME_OBJECT(message), "References");
        if (refs != NULL) {
            GMimeReferences *r = g_mime_references_parse(NULL, refs);
            sink += r != NULL ? (size_t)g_mime_references_length(r) : 0;
            if (r != NULL)
                g_mime_references_free(r);
        }
        g_mime_message_foreach(message, gmime_part, w);
        g_object_unref(message);
    }
    g_object_unref(parser);
    g_object_unref(stream);
    g_byte_array_free(bytes, FALSE); /* the bytes stay ours */
}

/* ------------------------------------------------------------ throughput */

struct result {
    double seconds;
    double msgs_per_s;
    double mb_per_s;
};

enum engine { ENGINE_OURS, ENGINE_GMIME_TEXT, ENGINE_GMIME_ALL };

static void run_once(const struct corpus *c, enum engine e, struct gmime_walk *w)
{
    w->decode_attachments = e == ENGINE_GMIME_ALL;
    for (size_t i = 0; i < c->count; i++) {
        if (e == ENGINE_OURS)
            parse_ours(&c->items[i]);
        else
            parse_gmime(&c->items[i], w);
    }
}

/* The best of REPEAT timed passes, after one warm-up pass. */
static struct result measure(const struct corpus *c, enum engine e, int repeat, struct gmime_walk *w)
{
    run_once(c, e, w);
    double best = 1e30;
    for (int r = 0; r < repeat; r++) {
        double t0 = now();
        run_once(c, e, w);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    return (struct result){best, (double)c->count / best, (double)c->bytes / 1e6 / best};
}

static void print_result(const char *name, const struct result *r)
{
    printf("%-34s %9.3f s %10.0f msgs/s %9.1f MB/s\n", name, r->seconds, r->msgs_per_s, r->mb_per_s);
}

static int bench_dir(const char *dir, int repeat)
{
    struct corpus c;
    if (load_corpus(dir, &c) != 0) {
        fprintf(stderr, "parse: no .eml files in %s\n", dir);
        return 1;
    }
    struct gmime_walk w = {false, g_mime_stream_null_new()};
    printf("corpus %s: %zu messages, %.1f MB, best of %d passes\n", dir, c.count, (double)c.bytes / 1e6,
           repeat);
    struct result ours = measure(&c, ENGINE_OURS, repeat, &w);
    struct result gm = measure(&c, ENGINE_GMIME_TEXT, repeat, &w);
    struct result gm_all = measure(&c, ENGINE_GMIME_ALL, repeat, &w);
    print_result("helpgate hg_mail_parse", &ours);
    print_result("gmime 3 (text parts)", &gm);
    print_result("gmime 3 (text parts + attachments)", &gm_all);
    printf("ratio helpgate/gmime: %.2fx (text parts), %.2fx (with attachments)\n",
           ours.msgs_per_s / gm.msgs_per_s, ours.msgs_per_s / gm_all.msgs_per_s);
    g_object_unref(w.null_stream);
    for (size_t i = 0; i < c.count; i++)
        free(c.items[i].data);
    free(c.items);
    return 0;
}

/* ------------------------------------------------------------ peak memory */

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int bench_rss(const char *file, bool gmime)
{
    size_t len;
    char *data = read_file(file, &len);
    if (data == NULL) {
        fprintf(stderr, "parse: cannot read %s\n", file);
        return 1;
    }
    long before = peak_rss_kb();
    struct message msg = {data, len};
    double t0 = now();
    size_t attachments = 0;
    if (gmime) {
        struct gmime_walk w = {true, g_mime_stream_null_new()};
        parse_gmime(&msg, &w);
        g_object_unref(w.null_stream);
    } else {
        struct hg_mail *m = hg_mail_parse(data, len, NULL);
        attachments = m->n_attachments;
        hg_mail_free(&m);
    }
    double t = now() - t0;
    long peak = peak_rss_kb();
    double mb = (double)len / (1 << 20);
    char detail[64] = "";
    if (!gmime)
        snprintf(detail, sizeof detail, ", %zu attachments", attachments);
    printf("%s: %.1f MiB message%s, %.3f s; peak RSS %.1f MiB (%.2fx the message; %.1f MiB before parsing, "
           "input included)\n",
           gmime ? "gmime 3" : "helpgate", mb, detail, t, (double)peak / 1024, (double)peak / 1024 / mb,
           (double)before / 1024);
    free(data);
    return 0;
}

/* ------------------------------------------------------------ generated messages */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void write_base64(FILE *f, size_t bytes)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t chars = (bytes + 2) / 3 * 4;
    char line[78];
    for (size_t done = 0; done < chars;) {
        size_t n = chars - done < 76 ? chars - done : 76;
        for (size_t i = 0; i < n; i++)
            line[i] = alphabet[next_random() & 63];
        line[n] = '\n';
        fwrite(line, 1, n + 1, f);
        done += n;
    }
}

static void write_big_message(FILE *f, size_t target, unsigned serial)
{
    fprintf(f,
            "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>\nTo: support@example.com\n"
            "Subject: =?UTF-8?B?R3Jvw59lIEFuaMOkbmdl?= [#%u]\nDate: Mon, 03 Jun 2024 10:00:00 +0200\n"
            "Message-ID: <big-%u@example.de>\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"mixed-%u\"\n\n",
            serial, serial, serial);
    fprintf(f,
            "--mixed-%u\nContent-Type: multipart/alternative; boundary=\"alt-%u\"\n\n--alt-%u\n"
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n",
            serial, serial, serial);
    for (int i = 0; i < 200; i++)
        fprintf(f, "Die Datei ist angeh=C3=A4ngt, bitte pr=C3=BCfen. Zeile %d.\n", i);
    fprintf(f, "\n--alt-%u\nContent-Type: text/html; charset=utf-8\n\n<html><body>", serial);
    for (int i = 0; i < 200; i++)
        fprintf(f,
                "<p>Die Datei ist angeh\xC3\xA4ngt, bitte pr\xC3\xBC"
                "fen. Zeile %d.</p>\n",
                i);
    fprintf(f, "</body></html>\n--alt-%u--\n", serial);
    static const char *const kinds[][3] = {
        {"application/pdf", "report", "pdf"},
        {"image/png", "screenshot", "png"},
        {"application/zip", "logs", "zip"},
        {"image/jpeg", "photo", "jpg"},
    };
    long written = ftell(f);
    size_t raw_left = target > (size_t)written ? target - (size_t)written : 0;
    int n_attachments = 4;
    for (int a = 0; a < n_attachments; a++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%u-%d.%s", kinds[a % 4][1], serial, a, kinds[a % 4][2]);
        fprintf(f,
                "--mixed-%u\nContent-Type: %s; name=\"%s\"\nContent-Disposition: %s; filename=\"%s\"\n"
                "Content-Transfer-Encoding: base64\n\n",
                serial, kinds[a % 4][0], name, a == 1 ? "inline" : "attachment", name);
        size_t encoded = raw_left / (size_t)(n_attachments - a);
        raw_left -= encoded;
        write_base64(f, encoded / 78 * 76 / 4 * 3);
    }
    fprintf(f, "--mixed-%u--\n", serial);
}

static int generate(const char *path, size_t megabytes, unsigned serial)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "parse: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    write_big_message(f, megabytes << 20, serial);
    return fclose(f) == 0 ? 0 : 1;
}

static int generate_corpus(const char *dir, int count, size_t megabytes)
{
    mkdir(dir, 0755);
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/big-%04d.eml", dir, i);
        if (generate(path, megabytes, (unsigned)i) != 0)
            return 1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: parse DIR [--repeat N]\n"
                    "       parse --rss FILE [gmime]\n"
                    "       parse --gen-big FILE MB\n"
                    "       parse --gen-large DIR COUNT MB\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--gen-big") == 0)
        return generate(argv[2], (size_t)atol(argv[3]), 0);
    if (argc >= 5 && strcmp(argv[1], "--gen-large") == 0)
        return generate_corpus(argv[2], atoi(argv[3]), (size_t)atol(argv[4]));
    g_mime_init();
    int rc;
    if (argc >= 3 && strcmp(argv[1], "--rss") == 0)
        rc = bench_rss(argv[2], argc >= 4 && strcmp(argv[3], "gmime") == 0);
    else if (argc >= 2 && argv[1][0] != '-')
        rc = bench_dir(argv[1], argc >= 4 && strcmp(argv[2], "--repeat") == 0 ? atoi(argv[3]) : 3);
    else
        rc = usage();
    g_mime_shutdown();
    return rc;
}
