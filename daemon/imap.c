/*
 * imap.c — the IMAP client of the mailbox poller (see imap.h).
 *
 * libetpan's mailimap speaks the protocol; underneath it runs a transport of our own (a
 * mailstream_low driver: TCP, then GnuTLS when asked) rather than libetpan's socket and SSL
 * drivers, because ours
 *   - verifies the server certificate during the handshake (libetpan's GnuTLS code verifies
 *     nothing) and says why it failed;
 *   - bounds every wait with poll() and every response with a byte budget, so neither a
 *     silent nor a flooding server can hang or bloat helpgated;
 *   - never prints to stderr (libetpan's handshake calls gnutls_perror()).
 * Everything above the transport is libetpan's API, plus a hand-written IDLE start (see
 * idle_start()).
 */
#include "helpgate/imap.h"

#include "helpgate/alloc.h"

#include <libetpan/libetpan.h>

#include <gnutls/gnutls.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_SECONDS 30
#define LOGOUT_TIMEOUT_MS 5000
#define STREAM_BUFFER_SIZE 8192
/* Bytes a response may take (see imap.h). */
#define BUDGET_GREETING (64u * 1024)
#define BUDGET_COMMAND (16u * 1024 * 1024)
#define BUDGET_SEARCH (64u * 1024 * 1024)
#define BUDGET_FETCH_PER_MESSAGE 4096u
#define BUDGET_FETCH_BASE (1024u * 1024)
/* Server text quoted in an error message. */
#define SERVER_TEXT_MAX 300
#define NAME_MAX_LEN 1000

/* ---- errors ------------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void set_error(char **error_r, const char *fmt, ...)
{
    if (error_r == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    *error_r = hg_xvasprintf(fmt, ap);
    va_end(ap);
}

/* libetpan reports allocation failure by return value; helpgate aborts (see alloc.h). */
static void *must(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "level=panic event=out_of_memory where=libetpan\n");
        abort();
    }
    return p;
}

static void must_ok(int r)
{
    if (r != 0)
        must(NULL);
}

/* Server words fit for a log line: control characters become spaces, at most SERVER_TEXT_MAX bytes. */
static void clean_text(const char *text, char *out, size_t size)
{
    size_t n = 0;
    for (; text != NULL && text[n] != '\0' && n + 1 < size && n < SERVER_TEXT_MAX; n++) {
        unsigned char c = (unsigned char)text[n];
        out[n] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    if (text != NULL && text[n] != '\0') /* cut: do not end inside a UTF-8 sequence */
        while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
            n--;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* ---- transport: TCP and GnuTLS under libetpan's mailstream -------------------------------- */

struct conn {
    int fd;
    gnutls_session_t tls; /* NULL while plain */
    gnutls_certificate_credentials_t cred;
    int timeout_ms;
    size_t budget;     /* bytes the current response may still take */
    size_t budget_max; /* the budget it started with, for the error message */
    bool failed;       /* a read or write failed: the stream is unusable from then on */
    char reason[200];  /* why it failed */
};

static struct conn *conn_new(int fd, int timeout_ms)
{
    struct conn *c = hg_xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    c->budget = c->budget_max = BUDGET_GREETING;
    return c;
}

static void conn_destroy(struct conn *c)
{
    if (c->tls != NULL)
        gnutls_deinit(c->tls);
    if (c->cred != NULL)
        gnutls_certificate_free_credentials(c->cred);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* Waits until the socket is ready for EVENTS; -1 with c->reason on timeout. */
static int conn_wait(struct conn *c, short events)
{
    struct pollfd pfd = {.fd = c->fd, .events = events};
    for (;;) {
        int n = poll(&pfd, 1, c->timeout_ms);
        if (n > 0)
            return 0; /* also POLLHUP/POLLERR: the next read or write says what happened */
        if (n == 0) {
            snprintf(c->reason, sizeof(c->reason), "timed out after %d s waiting for the server",
                     c->timeout_ms / 1000);
            return -1;
        }
        if (errno != EINTR) {
            snprintf(c->reason, sizeof(c->reason), "poll: %s", strerror(errno));
            return -1;
        }
    }
}

/* The direction GnuTLS is blocked on. */
static short tls_events(struct conn *c)
{
    return gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN;
}

static ssize_t tls_recv(struct conn *c, void *buf, size_t count)
{
    for (;;) {
        ssize_t n = gnutls_record_recv(c->tls, buf, count);
        if (n >= 0)
            return n;
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            if (conn_wait(c, tls_events(c)) < 0)
                return -1;
            continue;
        }
        if (n == GNUTLS_E_PREMATURE_TERMINATION)
            return 0;
        snprintf(c->reason, sizeof(c->reason), "TLS: %s", gnutls_strerror((int)n));
        return -1;
    }
}

static ssize_t tcp_recv(struct conn *c, void *buf, size_t count)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, count, 0);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (conn_wait(c, POLLIN) < 0)
                return -1;
            continue;
        }
        snprintf(c->reason, sizeof(c->reason), "recv: %s", strerror(errno));
        return -1;
    }
}

static ssize_t conn_read(mailstream_low *s, void *buf, size_t count)
{
    struct conn *c = s->data;
    if (c->fd < 0 || c->failed)
        return -1; /* libetpan may retry a failed read: it must not wait again */
    if (c->budget == 0) {
        snprintf(c->reason, sizeof(c->reason), "the server's response exceeds %zu bytes", c->budget_max);
        c->failed = true;
        return -1;
    }
    if (count > c->budget)
        count = c->budget;
    ssize_t n = c->tls != NULL ? tls_recv(c, buf, count) : tcp_recv(c, buf, count);
    if (n == 0)
        snprintf(c->reason, sizeof(c->reason), "the server closed the connection");
    if (n <= 0) {
        c->failed = true;
        return -1;
    }
    c->budget -= (size_t)n;
    return n;
}

static ssize_t conn_send(struct conn *c, const void *buf, size_t count)
{
    for (;;) {
        ssize_t n;
        if (c->tls != NULL) {
            n = gnutls_record_send(c->tls, buf, count);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
                if (conn_wait(c, tls_events(c)) < 0)
                    return -1;
                continue;
            }
            if (n < 0) {
                snprintf(c->reason, sizeof(c->reason), "TLS: %s", gnutls_strerror((int)n));
                return -1;
            }
        } else {
            n = send(c->fd, buf, count, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                if (conn_wait(c, POLLOUT) < 0)
                    return -1;
                continue;
            }
            if (n < 0) {
                snprintf(c->reason, sizeof(c->reason), "send: %s", strerror(errno));
                return -1;
            }
        }
        return n;
    }
}

static ssize_t conn_write(mailstream_low *s, const void *buf, size_t count)
{
    struct conn *c = s->data;
    if (c->fd < 0 || c->failed)
        return -1;
    ssize_t n = conn_send(c, buf, count);
    if (n < 0)
        c->failed = true;
    return n;
}

static int conn_close(mailstream_low *s)
{
    struct conn *c = s->data;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return 0;
}

static int conn_get_fd(mailstream_low *s)
{
    struct conn *c = s->data;
    return c->fd;
}

static void conn_free(mailstream_low *s)
{
    conn_destroy(s->data);
    free(s);
}

static void conn_cancel(mailstream_low *s)
{
    (void)s;
}

static struct mailstream_cancel *conn_get_cancel(mailstream_low *s)
{
    (void)s;
    return NULL;
}

static mailstream_low_driver conn_driver = {
    .mailstream_read = conn_read,
    .mailstream_write = conn_write,
    .mailstream_close = conn_close,
    .mailstream_get_fd = conn_get_fd,
    .mailstream_free = conn_free,
    .mailstream_cancel = conn_cancel,
    .mailstream_get_cancel = conn_get_cancel,
};

/* ---- TCP connect -------------------------------------------------------------------------- */

/* One address: -1 with a reason in ERR. */
static int tcp_try(const struct addrinfo *ai, int timeout_ms, char *err, size_t size)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(err, size, "socket: %s", strerror(errno));
        return -1;
    }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int n;
        do
            n = poll(&pfd, 1, timeout_ms);
        while (n < 0 && errno == EINTR);
        int so_error = 0;
        socklen_t len = sizeof(so_error);
        if (n == 0)
            so_error = ETIMEDOUT;
        else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
            so_error = errno;
        rc = so_error == 0 ? 0 : -1;
        errno = so_error;
    }
    if (rc < 0) {
        if (errno == ETIMEDOUT)
            snprintf(err, size, "timed out after %d s", timeout_ms / 1000);
        else
            snprintf(err, size, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)); /* IDLE lasts up to 29 minutes */
    return fd;
}

/* Tries every address of HOST in turn; a connected non-blocking socket or -1. */
static int tcp_connect(const char *host, int port, int timeout_ms, char **error_r)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(host, service, &hints, &list);
    if (gai != 0) {
        set_error(error_r, "cannot resolve %s: %s", host,
                  gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return -1;
    }
    char err[160] = "no address";
    int fd = -1;
    for (const struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = tcp_try(ai, timeout_ms, err, sizeof(err));
    freeaddrinfo(list);
    if (fd < 0)
        set_error(error_r, "connect to %s port %d: %s", host, port, err);
    return fd;
}

/* ---- TLS ---------------------------------------------------------------------------------- */

static bool is_ip_literal(const char *host)
{
    unsigned char addr[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* The reasons in a certificate verification STATUS, comma-separated, into BUF. */
static void verify_reasons(unsigned status, char *buf, size_t size)
{
    static const struct {
        unsigned bit;
        const char *text;
    } reasons[] = {
        {GNUTLS_CERT_SIGNER_NOT_FOUND, "certificate signed by unknown authority"},
        {GNUTLS_CERT_UNEXPECTED_OWNER, "host name mismatch"},
        {GNUTLS_CERT_EXPIRED, "certificate expired"},
        {GNUTLS_CERT_NOT_ACTIVATED, "certificate not yet valid"},
        {GNUTLS_CERT_REVOKED, "certificate revoked"},
        {GNUTLS_CERT_SIGNER_NOT_CA, "certificate issuer is not a CA"},
        {GNUTLS_CERT_INSECURE_ALGORITHM, "insecure signature algorithm"},
        {GNUTLS_CERT_SIGNATURE_FAILURE, "bad certificate signature"},
        {GNUTLS_CERT_PURPOSE_MISMATCH, "certificate not meant for a TLS server"},
        {GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, "certificate chain constraints violated"},
    };
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if ((status & reasons[i].bit) && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", reasons[i].text);
    if (len > 0)
        return;
    gnutls_datum_t out = {NULL, 0};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
        snprintf(buf, size, "%s", (const char *)out.data);
        gnutls_free(out.data);
    } else {
        snprintf(buf, size, "status 0x%x", status);
    }
}

static int tls_credentials(struct conn *c, const struct hg_imap_params *p, char **error_r)
{
    must_ok(gnutls_certificate_allocate_credentials(&c->cred));
    if (!p->tls_verify)
        return 0;
    int n = p->ca_file != NULL
                ? gnutls_certificate_set_x509_trust_file(c->cred, p->ca_file, GNUTLS_X509_FMT_PEM)
                : gnutls_certificate_set_x509_system_trust(c->cred);
    const char *where = p->ca_file != NULL ? p->ca_file : "the system trust store";
    if (n < 0) {
        set_error(error_r, "cannot load CA certificates from %s: %s", where, gnutls_strerror(n));
        return -1;
    }
    if (n == 0) {
        set_error(error_r, "no CA certificate in %s", where);
        return -1;
    }
    return 0;
}

static int tls_handshake(struct conn *c, const char *host, char **error_r)
{
    for (;;) {
        int r = gnutls_handshake(c->tls);
        if (r == GNUTLS_E_SUCCESS)
            return 0;
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
            if (conn_wait(c, tls_events(c)) < 0) {
                set_error(error_r, "TLS handshake with %s: %s", host, c->reason);
                return -1;
            }
            continue;
        }
        if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR || r == GNUTLS_E_CERTIFICATE_ERROR) {
            char why[300];
            verify_reasons(gnutls_session_get_verify_cert_status(c->tls), why, sizeof(why));
            set_error(error_r, "certificate verification failed for %s: %s", host, why);
            return -1;
        }
        if (gnutls_error_is_fatal(r)) {
            set_error(error_r, "TLS handshake with %s: %s", host, gnutls_strerror(r));
            return -1;
        }
    }
}

/* Turns the connection into TLS (nothing may have been read past the server's last line). */
static int tls_start(struct conn *c, const struct hg_imap_params *p, char **error_r)
{
    if (tls_credentials(c, p, error_r) < 0)
        return -1;
    must_ok(gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL));
    must_ok(gnutls_set_default_priority(c->tls));
    must_ok(gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred));
    if (!is_ip_literal(p->host))
        gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, p->host, strlen(p->host));
    if (p->tls_verify)
        gnutls_session_set_verify_cert(c->tls, p->host, 0);
    gnutls_transport_set_int(c->tls, c->fd);
    gnutls_handshake_set_timeout(c->tls, (unsigned)c->timeout_ms);
    return tls_handshake(c, p->host, error_r);
}

/* ---- the session -------------------------------------------------------------------------- */

struct hg_imap {
    mailimap *session;
    struct conn *conn; /* owned by session's mailstream once connected */
    char *where;       /* "host:port" for messages */
    bool dead;
    bool has_idle, has_move, has_uidplus;
    bool allow_plain_expunge;
};

/* Before each command: fails at once on a dead connection, else arms the response budget. */
static int begin(struct hg_imap *imap, size_t budget, char **error_r)
{
    if (imap->dead || imap->conn->failed || imap->session->imap_stream == NULL) {
        imap->dead = true;
        set_error(error_r, "connection to %s is closed; reconnect", imap->where);
        return -1;
    }
    imap->conn->budget = imap->conn->budget_max = budget;
    imap->conn->reason[0] = '\0';
    return 0;
}

static bool kills_connection(int r)
{
    switch (r) {
    case MAILIMAP_ERROR_STREAM:
    case MAILIMAP_ERROR_PARSE:
    case MAILIMAP_ERROR_FATAL:
    case MAILIMAP_ERROR_PROTOCOL:
    case MAILIMAP_ERROR_MEMORY:
    case MAILIMAP_ERROR_SSL:
    case MAILIMAP_ERROR_NEEDS_MORE_DATA:
        return true;
    default:
        return false;
    }
}

/* Turns libetpan's result R of command WHAT into 0, or -1 with a message. */
static int check(struct hg_imap *imap, int r, const char *what, char **error_r)
{
    if (r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
        r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
        return 0;
    char text[SERVER_TEXT_MAX + 1];
    clean_text(imap->session->imap_response, text, sizeof(text));
    if (kills_connection(r))
        imap->dead = true;
    if (r == MAILIMAP_ERROR_MEMORY)
        must(NULL);
    if (r == MAILIMAP_ERROR_STREAM)
        set_error(error_r, "%s: %s", what, imap->conn->reason[0] ? imap->conn->reason : "connection lost");
    else if (r == MAILIMAP_ERROR_FATAL)
        set_error(error_r, "%s: the server ended the session: %s", what, text[0] ? text : "BYE");
    else if (r == MAILIMAP_ERROR_PROTOCOL)
        set_error(error_r, "%s: the server answered BAD%s%s", what, text[0] ? ": " : "", text);
    else if (r == MAILIMAP_ERROR_PARSE)
        set_error(error_r, "%s: cannot parse the server's response", what);
    else if (r == MAILIMAP_ERROR_BAD_STATE)
        set_error(error_r, "%s: not allowed in this state (no folder selected?)", what);
    else
        set_error(error_r, "%s: the server said: %s", what, text[0] ? text : "NO");
    return -1;
}

static bool has_text_controls(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Folder names and user names travel as quoted strings: no CR, LF or other controls. */
static int check_name(const char *what, const char *name, char **error_r)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > NAME_MAX_LEN || has_text_controls(name)) {
        set_error(error_r, "invalid %s: empty, too long, or with control characters", what);
        return -1;
    }
    return 0;
}

static int check_params(const struct hg_imap_params *p, char **error_r)
{
    if (p->host == NULL || p->host[0] == '\0' || has_text_controls(p->host)) {
        set_error(error_r, "no valid IMAP host given");
        return -1;
    }
    if (p->port < 0 || p->port > 65535) {
        set_error(error_r, "invalid IMAP port %d", p->port);
        return -1;
    }
    if (check_name("IMAP user name", p->user, error_r) < 0)
        return -1;
    if ((p->password == NULL) == (p->xoauth2_token == NULL)) {
        set_error(error_r, "give either a password or an XOAUTH2 token for %s", p->user);
        return -1;
    }
    const char *secret = p->password != NULL ? p->password : p->xoauth2_token;
    if (strpbrk(secret, "\r\n") != NULL || (p->password == NULL && has_text_controls(secret))) {
        set_error(error_r, "the %s of %s contains a line break or control character",
                  p->password != NULL ? "password" : "XOAUTH2 token", p->user);
        return -1;
    }
    return 0;
}

static int refresh_capabilities(struct hg_imap *imap, char **error_r)
{
    struct mailimap_capability_data *caps = NULL;
    if (begin(imap, BUDGET_COMMAND, error_r) < 0 ||
        check(imap, mailimap_capability(imap->session, &caps), "CAPABILITY", error_r) < 0)
        return -1;
    mailimap_capability_data_free(caps);
    return 0;
}

/* The greeting may carry the capabilities ([CAPABILITY …]): no need to ask then. */
static bool have_capabilities(const struct hg_imap *imap)
{
    return imap->session->imap_connection_info != NULL &&
           imap->session->imap_connection_info->imap_capability != NULL;
}

static int starttls(struct hg_imap *imap, const struct hg_imap_params *p, char **error_r)
{
    if (!have_capabilities(imap) && refresh_capabilities(imap, error_r) < 0)
        return -1;
    if (!mailimap_has_extension(imap->session, "STARTTLS")) {
        set_error(error_r, "%s does not offer STARTTLS", imap->where);
        return -1;
    }
    if (begin(imap, BUDGET_COMMAND, error_r) < 0 ||
        check(imap, mailimap_starttls(imap->session), "STARTTLS", error_r) < 0)
        return -1;
    /* Bytes after the OK were sent in clear and would be taken as TLS-protected (CVE-2020-15953). */
    if (imap->session->imap_stream->read_buffer_len > 0) {
        imap->dead = true;
        set_error(error_r, "STARTTLS: %s sent data after its answer; refusing the connection", imap->where);
        return -1;
    }
    if (tls_start(imap->conn, p, error_r) < 0) {
        imap->dead = true;
        return -1;
    }
    return 0;
}

static int login(struct hg_imap *imap, const struct hg_imap_params *p, char **error_r)
{
    char what[NAME_MAX_LEN + 64];
    int r;
    if (begin(imap, BUDGET_COMMAND, error_r) < 0)
        return -1;
    if (p->xoauth2_token != NULL) {
        snprintf(what, sizeof(what), "AUTHENTICATE XOAUTH2 as %s", p->user);
        if (!mailimap_has_authentication(imap->session, "XOAUTH2")) {
            set_error(error_r, "%s: %s does not offer AUTH=XOAUTH2", what, imap->where);
            return -1;
        }
        r = mailimap_oauth2_authenticate(imap->session, p->user, p->xoauth2_token);
    } else {
        snprintf(what, sizeof(what), "LOGIN as %s", p->user);
        if (mailimap_has_extension(imap->session, "LOGINDISABLED")) {
            set_error(error_r, "%s: %s refuses LOGIN on this connection (LOGINDISABLED); use TLS", what,
                      imap->where);
            return -1;
        }
        r = mailimap_login(imap->session, p->user, p->password);
    }
    return check(imap, r, what, error_r);
}

/* Greeting, STARTTLS, login and capabilities on a connected transport. */
static int open_session(struct hg_imap *imap, const struct hg_imap_params *p, char **error_r)
{
    mailstream_low *low = must(mailstream_low_new(imap->conn, &conn_driver));
    mailstream *stream = mailstream_new(low, STREAM_BUFFER_SIZE);
    if (stream == NULL) {
        free(low);
        must(NULL);
    }
    int r = mailimap_connect(imap->session, stream); /* the session owns the stream from here */
    char what[NAME_MAX_LEN + 64];
    snprintf(what, sizeof(what), "greeting of %s", imap->where);
    if (check(imap, r, what, error_r) < 0)
        return -1;
    bool preauth = r == MAILIMAP_NO_ERROR_AUTHENTICATED;
    if (p->tls == HG_IMAP_TLS_STARTTLS) {
        if (preauth) {
            imap->dead = true;
            set_error(error_r, "%s sent PREAUTH: STARTTLS is impossible; refusing the connection",
                      imap->where);
            return -1;
        }
        if (starttls(imap, p, error_r) < 0)
            return -1;
    }
    /* After STARTTLS only what the server says over TLS counts. */
    if (!preauth && p->tls == HG_IMAP_TLS_STARTTLS && refresh_capabilities(imap, error_r) < 0)
        return -1;
    if (!preauth && !have_capabilities(imap) && refresh_capabilities(imap, error_r) < 0)
        return -1;
    if (!preauth && login(imap, p, error_r) < 0)
        return -1;
    /* Capabilities change with login (MOVE, IDLE…): ask again. */
    if (refresh_capabilities(imap, error_r) < 0)
        return -1;
    imap->has_idle = mailimap_has_extension(imap->session, "IDLE");
    imap->has_move = mailimap_has_extension(imap->session, "MOVE");
    imap->has_uidplus = mailimap_has_extension(imap->session, "UIDPLUS");
    return 0;
}

struct hg_imap *hg_imap_connect(const struct hg_imap_params *p, char **error_r)
{
    if (check_params(p, error_r) < 0)
        return NULL;
    int port = p->port != 0 ? p->port : p->tls == HG_IMAP_TLS_IMPLICIT ? 993 : 143;
    int timeout_s = p->timeout_seconds > 0 ? p->timeout_seconds : DEFAULT_TIMEOUT_SECONDS;
    int fd = tcp_connect(p->host, port, timeout_s * 1000, error_r);
    if (fd < 0)
        return NULL;
    struct hg_imap *imap = hg_xcalloc(1, sizeof(*imap));
    imap->where = hg_xasprintf(strchr(p->host, ':') ? "[%s]:%d" : "%s:%d", p->host, port);
    imap->allow_plain_expunge = p->allow_plain_expunge;
    imap->session = must(mailimap_new(0, NULL));
    mailimap_set_timeout(imap->session, timeout_s);
    imap->conn = conn_new(fd, timeout_s * 1000);
    if (p->tls == HG_IMAP_TLS_IMPLICIT && tls_start(imap->conn, p, error_r) < 0) {
        conn_destroy(imap->conn);
        imap->conn = NULL;
        imap->dead = true;
        hg_imap_free(&imap);
        return NULL;
    }
    if (open_session(imap, p, error_r) < 0) {
        imap->dead = true;
        hg_imap_free(&imap);
        return NULL;
    }
    return imap;
}

void hg_imap_free(struct hg_imap **imapp)
{
    struct hg_imap *imap = *imapp;
    if (imap == NULL)
        return;
    *imapp = NULL;
    if (imap->session != NULL) {
        if (!imap->dead && imap->session->imap_stream != NULL) {
            if (imap->conn->timeout_ms > LOGOUT_TIMEOUT_MS)
                imap->conn->timeout_ms = LOGOUT_TIMEOUT_MS;
            imap->conn->budget = imap->conn->budget_max = BUDGET_GREETING;
            mailimap_logout(imap->session); /* closes the stream, whatever the answer */
        }
        mailimap_free(imap->session);
    }
    free(imap->where);
    free(imap);
}

bool hg_imap_has_idle(const struct hg_imap *imap)
{
    return imap->has_idle;
}

bool hg_imap_has_move(const struct hg_imap *imap)
{
    return imap->has_move;
}

bool hg_imap_has_uidplus(const struct hg_imap *imap)
{
    return imap->has_uidplus;
}

int hg_imap_noop(struct hg_imap *imap, char **error_r)
{
    if (begin(imap, BUDGET_COMMAND, error_r) < 0)
        return -1;
    return check(imap, mailimap_noop(imap->session), "NOOP", error_r);
}

/* ---- SELECT and SEARCH -------------------------------------------------------------------- */

int hg_imap_select(struct hg_imap *imap, const char *folder, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
                   uint32_t *exists_r, char **error_r)
{
    if (check_name("folder name", folder, error_r) < 0 || begin(imap, BUDGET_COMMAND, error_r) < 0)
        return -1;
    char what[NAME_MAX_LEN + 32];
    snprintf(what, sizeof(what), "SELECT \"%s\"", folder);
    if (check(imap, mailimap_select(imap->session, folder), what, error_r) < 0)
        return -1;
    const struct mailimap_selection_info *sel = imap->session->imap_selection_info;
    if (uidvalidity_r != NULL)
        *uidvalidity_r = sel != NULL ? sel->sel_uidvalidity : 0;
    if (uidnext_r != NULL)
        *uidnext_r = sel != NULL ? sel->sel_uidnext : 0;
    if (exists_r != NULL)
        *exists_r = sel != NULL ? sel->sel_exists : 0;
    return 0;
}

static int cmp_uid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts UIDS in place and drops duplicates; the new count. */
static size_t sort_unique(uint32_t *uids, size_t n)
{
    if (n == 0)
        return 0;
    qsort(uids, n, sizeof(*uids), cmp_uid);
    size_t out = 1;
    for (size_t i = 1; i < n; i++)
        if (uids[i] != uids[out - 1])
            uids[out++] = uids[i];
    return out;
}

int hg_imap_uid_search_range(struct hg_imap *imap, uint32_t first_uid, uint32_t last_uid, uint32_t **uids_r,
                             size_t *count_r, char **error_r)
{
    *uids_r = NULL;
    *count_r = 0;
    if (first_uid == 0)
        first_uid = 1;
    if (last_uid != 0 && last_uid < first_uid)
        return 0;
    if (begin(imap, BUDGET_SEARCH, error_r) < 0)
        return -1;
    struct mailimap_search_key *key =
        must(mailimap_search_key_new_uid(must(mailimap_set_new_interval(first_uid, last_uid))));
    clist *result = NULL;
    int r = mailimap_uid_search(imap->session, NULL, key, &result);
    mailimap_search_key_free(key);
    if (check(imap, r, "UID SEARCH", error_r) < 0)
        return -1;
    size_t n = 0;
    uint32_t *uids = hg_xcalloc(result != NULL ? (size_t)clist_count(result) : 0, sizeof(uint32_t));
    for (clistiter *it = result != NULL ? clist_begin(result) : NULL; it != NULL; it = clist_next(it)) {
        uint32_t uid = *(uint32_t *)clist_content(it);
        if (uid >= first_uid && (last_uid == 0 || uid <= last_uid)) /* "n:*" also matches the top UID */
            uids[n++] = uid;
    }
    if (result != NULL)
        mailimap_search_result_free(result);
    n = sort_unique(uids, n);
    if (n == 0) {
        free(uids);
        return 0;
    }
    *uids_r = uids;
    *count_r = n;
    return 0;
}

/* ---- UID sets ----------------------------------------------------------------------------- */

/* A sorted, duplicate-free copy of UIDS (NULL when COUNT is 0), or -1 on bad input. */
static int copy_uids(const uint32_t *uids, size_t count, uint32_t **out_r, size_t *n_r, char **error_r)
{
    *out_r = NULL;
    *n_r = 0;
    if (count > HG_IMAP_MAX_UIDS) {
        set_error(error_r, "%zu UIDs in one call; at most %d", count, HG_IMAP_MAX_UIDS);
        return -1;
    }
    if (count == 0)
        return 0;
    uint32_t *out = hg_xmalloc(count * sizeof(*out));
    memcpy(out, uids, count * sizeof(*out));
    size_t n = sort_unique(out, count);
    if (out[0] == 0) {
        free(out);
        set_error(error_r, "UID 0 is not a valid UID");
        return -1;
    }
    *out_r = out;
    *n_r = n;
    return 0;
}

/* "1:3,7,9:10" from sorted UIDS. */
static struct mailimap_set *make_set(const uint32_t *uids, size_t n)
{
    struct mailimap_set *set = must(mailimap_set_new_empty());
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        must_ok(mailimap_set_add_interval(set, uids[i], uids[j]));
        i = j + 1;
    }
    return set;
}

/* ---- FETCH -------------------------------------------------------------------------------- */

struct fetched {
    uint32_t uid;
    const char *raw;
    size_t len;
};

static int cmp_fetched(const void *a, const void *b)
{
    return cmp_uid(&((const struct fetched *)a)->uid, &((const struct fetched *)b)->uid);
}

/* UID and body of one FETCH response; false when it lacks either (e.g. a flag update). */
static bool fetched_message(const struct mailimap_msg_att *att, struct fetched *out)
{
    bool has_uid = false, has_body = false;
    for (clistiter *it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
        const struct mailimap_msg_att_item *item = clist_content(it);
        if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
            continue;
        const struct mailimap_msg_att_static *st = item->att_data.att_static;
        if (st->att_type == MAILIMAP_MSG_ATT_UID) {
            out->uid = st->att_data.att_uid;
            has_uid = true;
        } else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && st->att_data.att_body_section != NULL &&
                   st->att_data.att_body_section->sec_body_part != NULL) {
            out->raw = st->att_data.att_body_section->sec_body_part;
            out->len = st->att_data.att_body_section->sec_length;
            has_body = true;
        }
    }
    return has_uid && has_body;
}

/* The messages of RESULT whose UIDs were asked for (each once), sorted by UID. */
static size_t collect_fetched(clist *result, const uint32_t *uids, size_t n, struct fetched *out)
{
    bool *seen = hg_xcalloc(n, sizeof(bool));
    size_t count = 0;
    for (clistiter *it = clist_begin(result); it != NULL && count < n; it = clist_next(it)) {
        struct fetched f;
        if (!fetched_message(clist_content(it), &f))
            continue;
        const uint32_t *hit = bsearch(&f.uid, uids, n, sizeof(*uids), cmp_uid);
        if (hit == NULL || seen[hit - uids])
            continue;
        seen[hit - uids] = true;
        out[count++] = f;
    }
    free(seen);
    qsort(out, count, sizeof(*out), cmp_fetched);
    return count;
}

static struct mailimap_fetch_type *body_fetch_type(size_t max_size)
{
    struct mailimap_fetch_type *ft = must(mailimap_fetch_type_new_fetch_att_list_empty());
    must_ok(mailimap_fetch_type_new_fetch_att_list_add(ft, must(mailimap_fetch_att_new_uid())));
    /* One byte more than max_size tells a message that is larger from one that fits exactly. */
    struct mailimap_section *section = must(mailimap_section_new(NULL));
    must_ok(mailimap_fetch_type_new_fetch_att_list_add(
        ft, must(mailimap_fetch_att_new_body_peek_section_partial(section, 0, (uint32_t)max_size + 1))));
    return ft;
}

static size_t fetch_budget(size_t n, size_t max_size)
{
    size_t per = max_size + 1 + BUDGET_FETCH_PER_MESSAGE;
    if (n > (SIZE_MAX - BUDGET_FETCH_BASE) / per)
        return SIZE_MAX;
    return n * per + BUDGET_FETCH_BASE;
}

static int deliver_fetched(clist *result, const uint32_t *uids, size_t n, size_t max_size,
                           hg_imap_message_fn *on_message, void *arg, char **error_r)
{
    struct fetched *list = hg_xcalloc(n, sizeof(*list));
    size_t count = collect_fetched(result, uids, n, list);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        bool truncated = list[i].len > max_size;
        if (on_message(list[i].uid, list[i].raw, truncated ? max_size : list[i].len, truncated, arg) < 0) {
            set_error(error_r, "stopped by the caller at UID %u", list[i].uid);
            rc = -1;
        }
    }
    free(list);
    return rc;
}

int hg_imap_fetch_bodies(struct hg_imap *imap, const uint32_t *uids, size_t count, size_t max_size,
                         hg_imap_message_fn *on_message, void *arg, char **error_r)
{
    uint32_t *sorted;
    size_t n;
    if (copy_uids(uids, count, &sorted, &n, error_r) < 0)
        return -1;
    if (n == 0)
        return 0;
    if (max_size == 0)
        max_size = HG_IMAP_DEFAULT_MAX_SIZE;
    if (max_size > HG_IMAP_MAX_SIZE_LIMIT)
        max_size = HG_IMAP_MAX_SIZE_LIMIT;
    if (begin(imap, fetch_budget(n, max_size), error_r) < 0) {
        free(sorted);
        return -1;
    }
    struct mailimap_set *set = make_set(sorted, n);
    struct mailimap_fetch_type *ft = body_fetch_type(max_size);
    clist *result = NULL;
    int r = mailimap_uid_fetch(imap->session, set, ft, &result);
    mailimap_fetch_type_free(ft);
    mailimap_set_free(set);
    int rc = check(imap, r, "UID FETCH", error_r);
    if (rc == 0 && result != NULL)
        rc = deliver_fetched(result, sorted, n, max_size, on_message, arg, error_r);
    if (result != NULL)
        mailimap_fetch_list_free(result);
    free(sorted);
    return rc;
}

/* ---- STORE -------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    struct mailimap_flag *(*make)(void);
} system_flags[] = {
    {"\\Seen", mailimap_flag_new_seen},       {"\\Answered", mailimap_flag_new_answered},
    {"\\Flagged", mailimap_flag_new_flagged}, {"\\Deleted", mailimap_flag_new_deleted},
    {"\\Draft", mailimap_flag_new_draft},
};

static int system_flag_index(const char *flag)
{
    for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++)
        if (strcasecmp(flag, system_flags[i].name) == 0)
            return (int)i;
    return -1;
}

/* RFC 3501 atom: no specials, controls, spaces or 8-bit bytes. */
static bool is_keyword(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 100)
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
            return false;
    }
    return true;
}

/* True when the selected folder keeps KEYWORD (NULL: any new keyword). */
static bool keyword_allowed(const struct hg_imap *imap, const char *keyword)
{
    const struct mailimap_selection_info *sel = imap->session->imap_selection_info;
    if (sel == NULL || sel->sel_perm_flags == NULL)
        return true; /* RFC 3501: no PERMANENTFLAGS means every flag is permanent */
    for (clistiter *it = clist_begin(sel->sel_perm_flags); it != NULL; it = clist_next(it)) {
        const struct mailimap_flag_perm *perm = clist_content(it);
        if (perm->fl_type == MAILIMAP_FLAG_PERM_ALL)
            return true;
        if (keyword != NULL && perm->fl_flag != NULL && perm->fl_flag->fl_type == MAILIMAP_FLAG_KEYWORD &&
            perm->fl_flag->fl_data.fl_keyword != NULL &&
            strcasecmp(perm->fl_flag->fl_data.fl_keyword, keyword) == 0)
            return true;
    }
    return false;
}

bool hg_imap_keywords_allowed(const struct hg_imap *imap)
{
    return keyword_allowed(imap, NULL);
}

static int check_flags(const char *const *flags, char **error_r)
{
    for (size_t i = 0; flags[i] != NULL; i++) {
        if (flags[i][0] == '\\' ? system_flag_index(flags[i]) < 0 : !is_keyword(flags[i])) {
            char text[SERVER_TEXT_MAX + 1];
            clean_text(flags[i], text, sizeof(text));
            set_error(error_r, "invalid flag \"%s\": a system flag like \\Seen or an atom keyword", text);
            return -1;
        }
    }
    return 0;
}

/* The flags to send: system flags, plus the keywords the folder keeps when WITH_KEYWORDS. */
static struct mailimap_flag_list *build_flags(const struct hg_imap *imap, const char *const *flags,
                                              bool with_keywords, bool *has_keywords_r)
{
    struct mailimap_flag_list *list = must(mailimap_flag_list_new_empty());
    *has_keywords_r = false;
    for (size_t i = 0; flags[i] != NULL; i++) {
        int sys = flags[i][0] == '\\' ? system_flag_index(flags[i]) : -1;
        if (sys >= 0) {
            must_ok(mailimap_flag_list_add(list, must(system_flags[sys].make())));
        } else if (with_keywords && keyword_allowed(imap, flags[i])) {
            must_ok(mailimap_flag_list_add(list, must(mailimap_flag_new_flag_keyword(hg_xstrdup(flags[i])))));
            *has_keywords_r = true;
        }
    }
    return list;
}

static int store_flags(struct hg_imap *imap, struct mailimap_set *set, const char *const *flags,
                       bool with_keywords, bool *had_keywords_r, char **error_r)
{
    struct mailimap_flag_list *list = build_flags(imap, flags, with_keywords, had_keywords_r);
    if (clist_count(list->fl_list) == 0) {
        mailimap_flag_list_free(list);
        return 0;
    }
    if (begin(imap, BUDGET_COMMAND, error_r) < 0) {
        mailimap_flag_list_free(list);
        return -1;
    }
    struct mailimap_store_att_flags *att = must(mailimap_store_att_flags_new_add_flags_silent(list));
    int r = mailimap_uid_store(imap->session, set, att);
    mailimap_store_att_flags_free(att);
    return check(imap, r, "UID STORE", error_r);
}

int hg_imap_add_flags(struct hg_imap *imap, const uint32_t *uids, size_t count, const char *const *flags,
                      char **error_r)
{
    uint32_t *sorted;
    size_t n;
    if (check_flags(flags, error_r) < 0 || copy_uids(uids, count, &sorted, &n, error_r) < 0)
        return -1;
    if (n == 0)
        return 0;
    struct mailimap_set *set = make_set(sorted, n);
    free(sorted);
    bool had_keywords;
    char *first_error = NULL;
    int rc = store_flags(imap, set, flags, true, &had_keywords, &first_error);
    if (rc < 0 && had_keywords && !imap->dead) {
        /* A server that refuses our keyword after all: the system flags still matter. */
        bool unused;
        rc = store_flags(imap, set, flags, false, &unused, error_r);
        free(first_error);
    } else if (rc < 0) {
        *error_r = first_error;
    }
    mailimap_set_free(set);
    return rc;
}

/* ---- MOVE --------------------------------------------------------------------------------- */

enum move_stage { MOVE_OK, MOVE_FAILED_FIRST, MOVE_FAILED_LATER };

static enum move_stage copy_delete_expunge(struct hg_imap *imap, struct mailimap_set *set, const char *dest,
                                           char **error_r)
{
    char what[NAME_MAX_LEN + 32];
    snprintf(what, sizeof(what), "UID COPY to \"%s\"", dest);
    if (begin(imap, BUDGET_COMMAND, error_r) < 0 ||
        check(imap, mailimap_uid_copy(imap->session, set, dest), what, error_r) < 0)
        return MOVE_FAILED_FIRST;
    static const char *const deleted[] = {"\\Deleted", NULL};
    bool unused;
    if (store_flags(imap, set, deleted, false, &unused, error_r) < 0)
        return MOVE_FAILED_LATER;
    int r;
    if (imap->has_uidplus) {
        if (begin(imap, BUDGET_COMMAND, error_r) < 0)
            return MOVE_FAILED_LATER;
        r = mailimap_uid_expunge(imap->session, set);
        return check(imap, r, "UID EXPUNGE", error_r) < 0 ? MOVE_FAILED_LATER : MOVE_OK;
    }
    if (!imap->allow_plain_expunge)
        return MOVE_OK; /* the originals stay, marked \Deleted (see imap.h) */
    if (begin(imap, BUDGET_COMMAND, error_r) < 0)
        return MOVE_FAILED_LATER;
    r = mailimap_expunge(imap->session);
    return check(imap, r, "EXPUNGE", error_r) < 0 ? MOVE_FAILED_LATER : MOVE_OK;
}

static enum move_stage move_once(struct hg_imap *imap, struct mailimap_set *set, const char *dest,
                                 char **error_r)
{
    if (!imap->has_move)
        return copy_delete_expunge(imap, set, dest, error_r);
    char what[NAME_MAX_LEN + 32];
    snprintf(what, sizeof(what), "UID MOVE to \"%s\"", dest);
    if (begin(imap, BUDGET_COMMAND, error_r) < 0 ||
        check(imap, mailimap_uid_move(imap->session, set, dest), what, error_r) < 0)
        return MOVE_FAILED_FIRST;
    return MOVE_OK;
}

int hg_imap_move(struct hg_imap *imap, const uint32_t *uids, size_t count, const char *dest, char **error_r)
{
    uint32_t *sorted;
    size_t n;
    if (check_name("destination folder", dest, error_r) < 0 ||
        copy_uids(uids, count, &sorted, &n, error_r) < 0)
        return -1;
    if (n == 0)
        return 0;
    struct mailimap_set *set = make_set(sorted, n);
    free(sorted);
    char *first_error = NULL;
    enum move_stage stage = move_once(imap, set, dest, &first_error);
    if (stage == MOVE_FAILED_FIRST && !imap->dead) {
        /* Most likely DEST does not exist yet ([TRYCREATE]): create it, whatever the answer
         * (it may exist already), and try once more. */
        char *ignored = NULL;
        if (begin(imap, BUDGET_COMMAND, &ignored) == 0) {
            char what[NAME_MAX_LEN + 32];
            snprintf(what, sizeof(what), "CREATE \"%s\"", dest);
            check(imap, mailimap_create(imap->session, dest), what, &ignored);
        }
        if (!imap->dead) {
            free(first_error);
            first_error = NULL;
            stage = move_once(imap, set, dest, &first_error);
        }
        if (stage != MOVE_OK && ignored != NULL && !imap->dead) {
            char *both = hg_xasprintf("%s (and %s)", first_error, ignored);
            free(first_error);
            first_error = both;
        }
        free(ignored);
    }
    mailimap_set_free(set);
    if (stage == MOVE_OK) {
        free(first_error);
        return 0;
    }
    *error_r = first_error;
    return -1;
}

/* ---- IDLE --------------------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "* 12 EXISTS", "* 3 EXPUNGE", "* 1 RECENT", "* VANISHED …". */
static bool line_reports_change(const char *line)
{
    if (strncmp(line, "* ", 2) != 0)
        return false;
    const char *p = line + 2;
    if (!isdigit((unsigned char)*p))
        return strncasecmp(p, "VANISHED", 8) == 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p++ != ' ')
        return false;
    return strncasecmp(p, "EXISTS", 6) == 0 || strncasecmp(p, "RECENT", 6) == 0 ||
           strncasecmp(p, "EXPUNGE", 7) == 0;
}

/*
 * Sends IDLE and reads up to the "+" continuation. libetpan's mailimap_idle() parses and
 * discards the untagged responses a server may send before the "+": an EXISTS among them
 * would be lost, so this reads those lines itself.
 */
static int idle_start(struct hg_imap *imap, bool *changed, char **error_r)
{
    mailimap *s = imap->session;
    if (begin(imap, BUDGET_COMMAND, error_r) < 0)
        return -1;
    int r = mailimap_send_current_tag(s);
    if (r == MAILIMAP_NO_ERROR &&
        (mailstream_write(s->imap_stream, "IDLE\r\n", 6) != 6 || mailstream_flush(s->imap_stream) == -1))
        r = MAILIMAP_ERROR_STREAM;
    if (check(imap, r, "IDLE", error_r) < 0)
        return -1;
    s->imap_selection_info->sel_has_exists = 0;
    s->imap_selection_info->sel_has_recent = 0;
    for (;;) {
        const char *line = mailimap_read_line(s);
        if (line == NULL)
            return check(imap, MAILIMAP_ERROR_STREAM, "IDLE", error_r);
        if (line[0] == '+')
            return 0;
        size_t len = strlen(line);
        if (line[0] != '*' || (len >= 3 && line[len - 3] == '}')) {
            /* The tagged refusal, or a literal we cannot skip: give up on this connection. */
            const char *text = strchr(line, ' ');
            char clean[SERVER_TEXT_MAX + 1];
            clean_text(text != NULL ? text + 1 : line, clean, sizeof(clean));
            imap->dead = true;
            set_error(error_r, "IDLE: the server answered: %s", clean);
            return -1;
        }
        if (line_reports_change(line))
            *changed = true;
    }
}

/* True when bytes of the server are already buffered above the socket. */
static bool data_pending(const struct hg_imap *imap)
{
    return imap->session->imap_stream->read_buffer_len > 0 ||
           (imap->conn->tls != NULL && gnutls_record_check_pending(imap->conn->tls) > 0);
}

enum idle_wake { WAKE_TIMEOUT, WAKE_SERVER, WAKE_FD };

static int wait_idle(struct hg_imap *imap, int wake_fd, long long deadline, enum idle_wake *wake_r,
                     char **error_r)
{
    if (data_pending(imap)) {
        *wake_r = WAKE_SERVER;
        return 0;
    }
    struct pollfd pfd[2] = {{.fd = imap->conn->fd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            *wake_r = WAKE_TIMEOUT;
            return 0;
        }
        int n = poll(pfd, wake_fd >= 0 ? 2 : 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            imap->dead = true;
            set_error(error_r, "IDLE: poll: %s", strerror(errno));
            return -1;
        }
        if (n == 0)
            continue; /* the loop head sees the deadline */
        *wake_r = pfd[0].revents != 0 ? WAKE_SERVER : WAKE_FD;
        return 0;
    }
}

/* DONE, and whether the answer reported a change. */
static int idle_done(struct hg_imap *imap, bool *changed, char **error_r)
{
    if (begin(imap, BUDGET_COMMAND, error_r) < 0 ||
        check(imap, mailimap_idle_done(imap->session), "IDLE DONE", error_r) < 0)
        return -1;
    const struct mailimap_selection_info *sel = imap->session->imap_selection_info;
    const struct mailimap_response_info *info = imap->session->imap_response_info;
    if ((sel != NULL && (sel->sel_has_exists || sel->sel_has_recent)) ||
        (info != NULL && info->rsp_expunged != NULL && clist_count(info->rsp_expunged) > 0))
        *changed = true;
    return 0;
}

int hg_imap_idle_wait(struct hg_imap *imap, int wake_fd, int max_seconds, bool *changed_r, char **error_r)
{
    *changed_r = false;
    if (!imap->has_idle) {
        set_error(error_r, "%s does not offer IDLE", imap->where);
        return -1;
    }
    if (imap->session->imap_selection_info == NULL) {
        set_error(error_r, "IDLE: no folder selected");
        return -1;
    }
    if (max_seconds < 1)
        max_seconds = 1;
    if (max_seconds > HG_IMAP_MAX_IDLE_SECONDS)
        max_seconds = HG_IMAP_MAX_IDLE_SECONDS;
    long long deadline = now_ms() + (long long)max_seconds * 1000;
    for (;;) {
        enum idle_wake wake = WAKE_TIMEOUT;
        if (idle_start(imap, changed_r, error_r) < 0)
            return -1;
        if (!*changed_r && wait_idle(imap, wake_fd, deadline, &wake, error_r) < 0)
            return -1;
        if (idle_done(imap, changed_r, error_r) < 0)
            return -1;
        /* Only keep-alive lines ("* OK Still here") woke us: idle again until the deadline. */
        if (*changed_r || wake != WAKE_SERVER || now_ms() >= deadline)
            return 0;
    }
}
