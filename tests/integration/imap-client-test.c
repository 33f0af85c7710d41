/*
 * imap-client-test.c — checks of daemon/imap.c against real Dovecot, in TAP.
 *
 * Run by tests/integration/imap-client.sh, which starts the servers, saves the messages
 * of $HGT_MSGS/{1,2,3}.eml into a fresh INBOX and passes everything in HGT_* variables.
 * What the server holds is checked with doveadm (the server's own view), not with the
 * module under test.
 */
#include "helpgate/imap.h"

#include "../unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRUNCATE_AT 100000

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        printf("Bail out! %s is not set (run tests/integration/imap-client.sh)\n", name);
        exit(1);
    }
    return v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool contains(const char *s, const char *needle)
{
    return s != NULL && strstr(s, needle) != NULL;
}

static char *read_file(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("Bail out! cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (bigger == NULL)
                abort();
            buf = bigger;
        }
    }
    fclose(f);
    if (buf == NULL)
        abort();
    *len_r = len;
    return buf;
}

static char *message(int i, size_t *len_r)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%d.eml", env("HGT_MSGS"), i);
    return read_file(path, len_r);
}

/* Runs a shell command; its standard output (at most 64 KiB), to free(). */
__attribute__((format(printf, 1, 2))) static char *run(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 65536);
    if (p == NULL || out == NULL)
        abort();
    size_t len = fread(out, 1, 65535, p);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        len--;
    out[len] = '\0';
    pclose(p);
    return out;
}

/* doveadm's count of messages in FOLDER of the shared user. */
static long count_messages(const char *doveadm_var, const char *user_var, const char *folder)
{
    char *out = run("%s -f flow mailbox status -u '%s' messages '%s' 2>/dev/null", env(doveadm_var),
                    env(user_var), folder);
    const char *p = strstr(out, "messages=");
    long n = p != NULL ? strtol(p + 9, NULL, 10) : -1;
    free(out);
    return n;
}

/* doveadm's flags of message UID in INBOX of the user in USER_VAR. */
static char *flags_in(const char *doveadm_var, const char *user_var, uint32_t uid)
{
    return run("%s -f flow fetch -u '%s' flags mailbox INBOX uid %u 2>/dev/null", env(doveadm_var),
               env(user_var), uid);
}

static char *flags_of(uint32_t uid)
{
    return flags_in("HGT_DOVEADM", "HGT_USER", uid);
}

static struct hg_imap_params plain_params(void)
{
    struct hg_imap_params p = {
        .host = env("HGT_HOST"),
        .port = atoi(env("HGT_PORT")),
        .tls = HG_IMAP_TLS_NONE,
        .user = env("HGT_USER"),
        .password = env("HGT_PASS"),
        .timeout_seconds = 10,
    };
    return p;
}

static struct hg_imap *open_plain(void)
{
    struct hg_imap_params p = plain_params();
    char *error = NULL;
    struct hg_imap *imap = hg_imap_connect(&p, &error);
    if (imap == NULL) {
        printf("Bail out! cannot log in to the shared Dovecot: %s\n", error);
        exit(1);
    }
    return imap;
}

static void select_inbox(struct hg_imap *imap)
{
    char *error = NULL;
    if (hg_imap_select(imap, "INBOX", NULL, NULL, NULL, &error) < 0) {
        printf("Bail out! SELECT INBOX: %s\n", error);
        exit(1);
    }
}

/* What a fetch callback saw. */
struct got {
    int n;
    int stop_at; /* return -1 for the message with this index (-1: never) */
    uint32_t uid[8];
    char *raw[8];
    size_t len[8];
    bool truncated[8];
};

static int on_message(uint32_t uid, const char *raw, size_t len, bool truncated, void *arg)
{
    struct got *g = arg;
    if (g->n >= 8)
        return -1;
    int i = g->n++;
    g->uid[i] = uid;
    g->raw[i] = malloc(len + 1);
    memcpy(g->raw[i], raw, len);
    g->len[i] = len;
    g->truncated[i] = truncated;
    return i == g->stop_at ? -1 : 0;
}

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n; i++)
        free(g->raw[i]);
    g->n = 0;
}

static bool same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* A listening socket on 127.0.0.1 that nobody serves; its port. */
static int listen_socket(int *port_r)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        printf("Bail out! cannot listen on 127.0.0.1: %s\n", strerror(errno));
        exit(1);
    }
    *port_r = ntohs(sa.sin_port);
    return fd;
}

/* Forks a child that sleeps DELAY_MS, then runs COMMAND (shell) or writes a byte to FD. */
static pid_t later(int delay_ms, const char *command, int fd)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    int rc = 0;
    if (command != NULL)
        rc = system(command);
    else if (write(fd, "x", 1) != 1)
        rc = 1;
    _exit(rc == 0 ? 0 : 1);
}

static void reap(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
}

/* ---- connection errors -------------------------------------------------------------------- */

static void test_wrong_password(void)
{
    struct hg_imap_params p = plain_params();
    p.password = "not-the-password";
    char *error = NULL;
    struct hg_imap *imap = hg_imap_connect(&p, &error);
    ok(imap == NULL, "a wrong password fails");
    ok(contains(error, "LOGIN as imap-client@example.test") && contains(error, "Authentication failed"),
       "and says LOGIN failed with the server's words: %s", error);
    ok(!contains(error, "not-the-password"), "without the password");
    free(error);
    hg_imap_free(&imap);
}

static void test_refused_and_timeout(void)
{
    struct hg_imap_params p = plain_params();
    char *error = NULL;
    int port;
    int fd = listen_socket(&port);
    close(fd); /* now nothing listens there */
    p.port = port;
    struct hg_imap *imap = hg_imap_connect(&p, &error);
    ok(imap == NULL && contains(error, "Connection refused"), "a closed port: %s", error);
    free(error);

    fd = listen_socket(&port); /* accepts (backlog) but never says a word */
    p.port = port;
    p.timeout_seconds = 1;
    double t0 = now_s();
    imap = hg_imap_connect(&p, &error);
    double took = now_s() - t0;
    ok(imap == NULL && contains(error, "timed out after 1 s"), "a silent server times out: %s", error);
    ok(took < 3.0, "after about the timeout (%.1f s)", took);
    free(error);
    close(fd);
}

static void test_oversized_greeting(void)
{
    int port;
    int fd = listen_socket(&port);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(fd, NULL, NULL);
        static char junk[200 * 1024];
        memset(junk, 'A', sizeof(junk));
        memcpy(junk, "* OK ", 5);
        ssize_t w = write(c, junk, sizeof(junk));
        (void)w;
        sleep(5);
        _exit(0);
    }
    struct hg_imap_params p = plain_params();
    p.port = port;
    p.timeout_seconds = 5;
    char *error = NULL;
    struct hg_imap *imap = hg_imap_connect(&p, &error);
    ok(imap == NULL && contains(error, "exceeds 65536 bytes"), "an endless greeting is cut off: %s", error);
    free(error);
    kill(pid, SIGKILL);
    reap(pid);
    close(fd);
}

static void test_tls_mismatch_with_plain_server(void)
{
    struct hg_imap_params p = plain_params();
    p.tls = HG_IMAP_TLS_IMPLICIT;
    p.tls_verify = true;
    p.timeout_seconds = 2;
    char *error = NULL;
    double t0 = now_s();
    struct hg_imap *imap = hg_imap_connect(&p, &error);
    ok(imap == NULL && contains(error, "TLS handshake"), "implicit TLS to a plain IMAP port fails: %s",
       error);
    ok(now_s() - t0 < 4.0, "within the timeout");
    free(error);

    p.tls = HG_IMAP_TLS_STARTTLS;
    imap = hg_imap_connect(&p, &error);
    ok(imap == NULL && contains(error, "does not offer STARTTLS"), "STARTTLS where it is not offered: %s",
       error);
    free(error);
}

/* ---- one session on the shared Dovecot ---------------------------------------------------- */

static void test_select_and_search(struct hg_imap *imap)
{
    ok(hg_imap_has_idle(imap) && hg_imap_has_move(imap) && hg_imap_has_uidplus(imap),
       "Dovecot offers IDLE, MOVE and UIDPLUS");
    uint32_t uidvalidity = 0, uidnext = 0, exists = 0;
    char *error = NULL;
    int rc = hg_imap_select(imap, "INBOX", &uidvalidity, &uidnext, &exists, &error);
    is_int(rc, 0, "SELECT INBOX");
    is_int(uidvalidity, strtoll(env("HGT_UIDVALIDITY"), NULL, 10), "UIDVALIDITY is the server's");
    is_int(uidnext, 4, "UIDNEXT after three messages");
    is_int(exists, 3, "EXISTS");

    rc = hg_imap_select(imap, "No-Such-Folder", NULL, NULL, NULL, &error);
    ok(rc < 0 && contains(error, "SELECT \"No-Such-Folder\""), "a missing folder: %s", error);
    free(error);
    select_inbox(imap);

    uint32_t *uids = NULL;
    size_t n = 0;
    rc = hg_imap_uid_search_range(imap, 1, 0, &uids, &n, &error);
    ok(rc == 0 && n == 3 && uids[0] == 1 && uids[1] == 2 && uids[2] == 3, "UID SEARCH 1:* finds 1, 2, 3");
    free(uids);
    rc = hg_imap_uid_search_range(imap, 2, 2, &uids, &n, &error);
    ok(rc == 0 && n == 1 && uids[0] == 2, "UID SEARCH 2:2 finds 2");
    free(uids);
    rc = hg_imap_uid_search_range(imap, 10, 0, &uids, &n, &error);
    ok(rc == 0 && n == 0 && uids == NULL, "UID SEARCH 10:* finds nothing (the server's 3 is dropped)");
    free(uids);
    rc = hg_imap_uid_search_range(imap, 3, 2, &uids, &n, &error);
    ok(rc == 0 && n == 0, "an empty range asks nothing");
}

static void test_fetch(struct hg_imap *imap)
{
    size_t len1, len2, len3;
    char *m1 = message(1, &len1), *m2 = message(2, &len2), *m3 = message(3, &len3);
    struct got g = {.stop_at = -1};
    char *error = NULL;
    const uint32_t want[] = {3, 1, 2, 1, 99};
    int rc = hg_imap_fetch_bodies(imap, want, 5, TRUNCATE_AT, on_message, &g, &error);
    is_int(rc, 0, "UID FETCH of 3, 1, 2, 1 and a missing 99");
    ok(g.n == 3 && g.uid[0] == 1 && g.uid[1] == 2 && g.uid[2] == 3, "each message once, in UID order");
    ok(g.n == 3 && same_bytes(g.raw[0], g.len[0], m1, len1) && !g.truncated[0], "message 1 byte for byte");
    ok(g.n == 3 && same_bytes(g.raw[1], g.len[1], m2, len2) && !g.truncated[1],
       "message 2 (8-bit) byte for byte");
    ok(len3 > TRUNCATE_AT && g.n == 3 && g.truncated[2] && same_bytes(g.raw[2], g.len[2], m3, TRUNCATE_AT),
       "message 3 (%zu bytes) comes truncated to its first %d bytes", len3, TRUNCATE_AT);
    got_free(&g);

    const uint32_t exact[] = {2};
    rc = hg_imap_fetch_bodies(imap, exact, 1, len2, on_message, &g, &error);
    ok(rc == 0 && g.n == 1 && !g.truncated[0] && g.len[0] == len2, "a message of exactly max_size is whole");
    got_free(&g);

    char *flags = flags_of(1);
    ok(!contains(flags, "\\Seen"), "fetching does not set \\Seen (flags: %s)", flags);
    free(flags);

    g.stop_at = 0;
    rc = hg_imap_fetch_bodies(imap, want, 3, 0, on_message, &g, &error);
    ok(rc < 0 && g.n == 1 && contains(error, "stopped by the caller at UID 1"), "a callback can stop: %s",
       error);
    free(error);
    got_free(&g);
    is_int(hg_imap_noop(imap, &error), 0, "and the connection stays usable");

    uint32_t too_many[HG_IMAP_MAX_UIDS + 1] = {0};
    rc = hg_imap_fetch_bodies(imap, too_many, HG_IMAP_MAX_UIDS + 1, 0, on_message, &g, &error);
    ok(rc < 0 && contains(error, "at most"), "more than HG_IMAP_MAX_UIDS UIDs are refused: %s", error);
    free(error);
    free(m1);
    free(m2);
    free(m3);
}

static void test_flags(struct hg_imap *imap)
{
    char *error = NULL;
    const uint32_t uids[] = {1, 2};
    const char *const flags[] = {"\\Seen", "$HelpgateStored", NULL};
    ok(hg_imap_keywords_allowed(imap), "INBOX keeps new keywords");
    int rc = hg_imap_add_flags(imap, uids, 2, flags, &error);
    is_int(rc, 0, "UID STORE +FLAGS.SILENT (\\Seen $HelpgateStored)");
    char *f1 = flags_of(1), *f2 = flags_of(2), *f3 = flags_of(3);
    ok(contains(f1, "\\Seen") && contains(f1, "$HelpgateStored"), "the server has them on UID 1: %s", f1);
    ok(contains(f2, "\\Seen") && contains(f2, "$HelpgateStored"), "and on UID 2");
    ok(!contains(f3, "\\Seen") && !contains(f3, "$HelpgateStored"), "not on UID 3");
    free(f1);
    free(f2);
    free(f3);

    const char *const bad[] = {"\\Seen", "two words", NULL};
    rc = hg_imap_add_flags(imap, uids, 2, bad, &error);
    ok(rc < 0 && contains(error, "invalid flag"), "a keyword that is not an atom is refused: %s", error);
    free(error);
    const char *const unknown[] = {"\\Bogus", NULL};
    rc = hg_imap_add_flags(imap, uids, 2, unknown, &error);
    ok(rc < 0 && contains(error, "invalid flag"), "so is an unknown system flag");
    free(error);
}

static void test_move(struct hg_imap *imap)
{
    char *error = NULL;
    const uint32_t uids[] = {2};
    int rc = hg_imap_move(imap, uids, 1, "Helpgate-Done", &error);
    ok(rc == 0, "UID MOVE 2 to a folder that does not exist yet%s%s", rc ? ": " : "", rc ? error : "");
    is_int(count_messages("HGT_DOVEADM", "HGT_USER", "Helpgate-Done"), 1,
           "the folder was created and has it");
    is_int(count_messages("HGT_DOVEADM", "HGT_USER", "INBOX"), 2, "INBOX has two left");
    uint32_t *left = NULL;
    size_t n = 0;
    rc = hg_imap_uid_search_range(imap, 1, 0, &left, &n, &error);
    ok(rc == 0 && n == 2 && left[0] == 1 && left[1] == 3, "UID SEARCH now finds 1 and 3");
    free(left);
    const uint32_t again[] = {3};
    rc = hg_imap_move(imap, again, 1, "Helpgate-Done", &error);
    ok(rc == 0, "a second move to the existing folder");
    is_int(count_messages("HGT_DOVEADM", "HGT_USER", "Helpgate-Done"), 2, "which now has two");
}

static void test_idle(struct hg_imap *imap)
{
    char *error = NULL;
    bool changed = true;
    double t0 = now_s();
    int rc = hg_imap_idle_wait(imap, -1, 1, &changed, &error);
    double took = now_s() - t0;
    ok(rc == 0 && !changed && took >= 0.9 && took < 2.5,
       "IDLE with nothing new returns after max_seconds (%.1f s)", took);

    pid_t pid = later(500, getenv("HGT_IDLE_APPEND"), -1);
    t0 = now_s();
    rc = hg_imap_idle_wait(imap, -1, 20, &changed, &error);
    took = now_s() - t0;
    reap(pid);
    ok(rc == 0 && changed, "IDLE reports a message saved meanwhile%s%s", rc ? ": " : "", rc ? error : "");
    ok(took < 2.5, "within 2 s of its arrival (%.2f s after IDLE, which it came 0.5 s into)", took);

    int pipefd[2];
    if (pipe(pipefd) < 0)
        abort();
    pid = later(500, NULL, pipefd[1]);
    t0 = now_s();
    rc = hg_imap_idle_wait(imap, pipefd[0], 20, &changed, &error);
    took = now_s() - t0;
    reap(pid);
    ok(rc == 0 && !changed && took < 2.0, "IDLE returns early when wake_fd is written (%.2f s)", took);
    struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
    ok(poll(&pfd, 1, 0) == 1, "and leaves its byte unread");
    close(pipefd[0]);
    close(pipefd[1]);
    is_int(hg_imap_noop(imap, &error), 0, "NOOP after IDLE");
}

static void test_shared_session(void)
{
    struct hg_imap *imap = open_plain();
    ok(imap != NULL, "LOGIN on plain IMAP");
    test_select_and_search(imap);
    test_fetch(imap);
    test_flags(imap);
    test_move(imap);
    test_idle(imap);
    hg_imap_free(&imap);
    ok(imap == NULL, "hg_imap_free clears the pointer");
    hg_imap_free(&imap);
}

/* ---- TLS and the COPY fallback on the private Dovecot ------------------------------------- */

static struct hg_imap_params private_params(enum hg_imap_tls tls, const char *host, const char *ca_file,
                                            bool verify)
{
    struct hg_imap_params p = {
        .host = host,
        .port = atoi(env(tls == HG_IMAP_TLS_IMPLICIT ? "HGT_TLS_PORT" : "HGT_STARTTLS_PORT")),
        .tls = tls,
        .tls_verify = verify,
        .ca_file = ca_file,
        .user = env("HGT_TLS_USER"),
        .password = env("HGT_PASS"),
        .timeout_seconds = 10,
    };
    return p;
}

static struct hg_imap *try_tls(enum hg_imap_tls tls, const char *host, const char *ca_file, bool verify,
                               char **error_r)
{
    struct hg_imap_params p = private_params(tls, host, ca_file, verify);
    *error_r = NULL;
    return hg_imap_connect(&p, error_r);
}

static struct hg_imap *open_private(struct hg_imap_params *p)
{
    char *error = NULL;
    struct hg_imap *imap = hg_imap_connect(p, &error);
    if (imap == NULL) {
        printf("Bail out! login on the private Dovecot (%s): %s\n", p->host, error);
        exit(1);
    }
    select_inbox(imap);
    return imap;
}

static void test_tls_mode(enum hg_imap_tls tls, const char *name)
{
    const char *ca = env("HGT_CA");
    char *error;
    struct hg_imap *imap = try_tls(tls, "localhost", NULL, true, &error);
    ok(imap == NULL && contains(error, "certificate signed by unknown authority"),
       "%s: a certificate from an unknown CA is refused: %s", name, error);
    free(error);
    hg_imap_free(&imap);

    imap = try_tls(tls, "localhost", ca, true, &error);
    ok(imap != NULL, "%s: accepted with ca_file = the test CA%s%s", name, error ? ": " : "",
       error ? error : "");
    free(error);
    if (imap != NULL)
        ok(hg_imap_noop(imap, &error) == 0, "%s: and works", name);
    hg_imap_free(&imap);

    imap = try_tls(tls, "127.0.0.1", ca, true, &error);
    ok(imap == NULL && contains(error, "host name mismatch") && !contains(error, "unknown authority"),
       "%s: a certificate for another name is refused: %s", name, error);
    free(error);
    hg_imap_free(&imap);

    imap = try_tls(tls, "127.0.0.1", NULL, false, &error);
    ok(imap != NULL, "%s: tls_verify = false accepts anything", name);
    free(error);
    hg_imap_free(&imap);
}

static void test_xoauth2(void)
{
    struct hg_imap_params p = private_params(HG_IMAP_TLS_IMPLICIT, "localhost", env("HGT_CA"), true);
    p.password = NULL;
    p.xoauth2_token = env("HGT_PASS"); /* the private Dovecot checks tokens like passwords */
    char *error = NULL;
    struct hg_imap *imap = hg_imap_connect(&p, &error);
    ok(imap != NULL, "AUTHENTICATE XOAUTH2 with a good token%s%s", error ? ": " : "", error ? error : "");
    free(error);
    hg_imap_free(&imap);

    p.xoauth2_token = "bad-token-123";
    error = NULL;
    imap = hg_imap_connect(&p, &error);
    ok(imap == NULL && contains(error, "AUTHENTICATE XOAUTH2 as tls@example.test"),
       "a bad token fails with the step named: %s", error);
    ok(!contains(error, "bad-token-123"), "without the token");
    free(error);

    struct hg_imap_params shared = plain_params();
    shared.password = NULL;
    shared.xoauth2_token = "x";
    imap = hg_imap_connect(&shared, &error);
    ok(imap == NULL && contains(error, "does not offer AUTH=XOAUTH2"), "a server without XOAUTH2: %s", error);
    free(error);
}

static void test_keepalive(void)
{
    struct hg_imap_params p = private_params(HG_IMAP_TLS_STARTTLS, "localhost", env("HGT_CA"), true);
    struct hg_imap *imap = open_private(&p);
    char *error = NULL;
    bool changed = true;
    double t0 = now_s();
    int rc = hg_imap_idle_wait(imap, -1, 3, &changed, &error);
    double took = now_s() - t0;
    ok(rc == 0 && !changed && took > 2.9 && took < 4.5,
       "IDLE rides out keep-alives (one a second) until max_seconds (%.1f s)%s%s", took, rc ? ": " : "",
       rc ? error : "");
    free(error);
    hg_imap_free(&imap);
}

static void test_copy_fallback(void)
{
    struct hg_imap_params p = private_params(HG_IMAP_TLS_STARTTLS, "localhost", env("HGT_CA"), true);
    struct hg_imap *imap = open_private(&p);
    char *error = NULL;
    ok(!hg_imap_has_move(imap) && hg_imap_has_uidplus(imap),
       "the private Dovecot offers UIDPLUS but no MOVE");
    const uint32_t one[] = {1};
    int rc = hg_imap_move(imap, one, 1, "Archive", &error);
    ok(rc == 0, "move by UID COPY + STORE \\Deleted + UID EXPUNGE%s%s", rc ? ": " : "", rc ? error : "");
    is_int(count_messages("HGT_DOVEADM_PRIVATE", "HGT_TLS_USER", "Archive"), 1,
           "Archive was created and has it");
    is_int(count_messages("HGT_DOVEADM_PRIVATE", "HGT_TLS_USER", "INBOX"), 3, "INBOX has three left");
    hg_imap_free(&imap);

    /* 127.0.0.2 gets a capability list without UIDPLUS either. */
    p = private_params(HG_IMAP_TLS_STARTTLS, "127.0.0.2", NULL, false);
    imap = open_private(&p);
    ok(!hg_imap_has_move(imap) && !hg_imap_has_uidplus(imap), "as 127.0.0.2: neither MOVE nor UIDPLUS");
    const uint32_t two[] = {2};
    rc = hg_imap_move(imap, two, 1, "Archive", &error);
    ok(rc == 0, "move without UIDPLUS%s%s", rc ? ": " : "", rc ? error : "");
    is_int(count_messages("HGT_DOVEADM_PRIVATE", "HGT_TLS_USER", "Archive"), 2, "copies it");
    char *flags = flags_in("HGT_DOVEADM_PRIVATE", "HGT_TLS_USER", 2);
    ok(count_messages("HGT_DOVEADM_PRIVATE", "HGT_TLS_USER", "INBOX") == 3 && contains(flags, "\\Deleted"),
       "and leaves the original marked \\Deleted (no plain EXPUNGE by default): %s", flags);
    free(flags);
    hg_imap_free(&imap);

    p.allow_plain_expunge = true;
    imap = open_private(&p);
    const uint32_t three[] = {3};
    rc = hg_imap_move(imap, three, 1, "Archive", &error);
    ok(rc == 0, "move with allow_plain_expunge%s%s", rc ? ": " : "", rc ? error : "");
    is_int(count_messages("HGT_DOVEADM_PRIVATE", "HGT_TLS_USER", "Archive"), 3, "copies it");
    is_int(count_messages("HGT_DOVEADM_PRIVATE", "HGT_TLS_USER", "INBOX"), 1,
           "and EXPUNGE removes it, and the \\Deleted one before it");
    hg_imap_free(&imap);
}

int main(void)
{
    if (getenv("HGT_HOST") == NULL) { /* run alone (e.g. as one of TESTS): nothing to talk to */
        printf("1..0 # SKIP run through tests/integration/imap-client.sh\n");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    test_wrong_password();
    test_refused_and_timeout();
    test_oversized_greeting();
    test_tls_mismatch_with_plain_server();
    test_shared_session();
    test_tls_mode(HG_IMAP_TLS_IMPLICIT, "IMAPS");
    test_tls_mode(HG_IMAP_TLS_STARTTLS, "STARTTLS");
    test_xoauth2();
    test_keepalive();
    test_copy_fallback();
    return tap_done();
}
