/*
 * imap.h — a small, bounded IMAP client for the mailbox poller (over libetpan).
 *
 * One struct hg_imap is one logged-in IMAP connection: hg_imap_connect() does TCP, TLS
 * (implicit or STARTTLS, certificate and host name verified with GnuTLS), CAPABILITY and
 * LOGIN or AUTHENTICATE XOAUTH2; the other calls work on the selected folder by UID. The
 * module never logs: every failure is returned to the caller, who logs it.
 *
 * Errors: functions return 0 (or a non-NULL connection) on success, -1 (or NULL) with
 * *error_r set to a one-line message the caller frees with free(). The message says which
 * step failed ("connect to HOST port N", "TLS handshake", "LOGIN as USER", "UID FETCH", …) and,
 * when the server answered, its words (control characters removed, at most 300 bytes). It
 * never contains the password or the token. After a network error, a timeout, a BYE, an
 * unparsable or oversized response, the connection is dead: every later call fails at once
 * with "connection is closed" and the caller reconnects (hg_imap_free + hg_imap_connect).
 * A NO from the server (e.g. a folder that does not exist) leaves the connection usable.
 *
 * Bounds: every read and write waits at most timeout_seconds; a stalled server is a
 * timeout, never a hang. Every command has a cap on the bytes its response may take
 * (16 MiB; UID SEARCH 64 MiB; UID FETCH count × (max_size + 4 KiB) + 1 MiB): past it the
 * connection is dropped with an error, so a hostile server cannot make helpgated allocate
 * without limit. libetpan keeps a whole response in memory while parsing it, so a fetch
 * peaks at about twice the bytes of the messages it returns: choose count × max_size with
 * that in mind. UID sets are at most HG_IMAP_MAX_UIDS per call: the caller batches.
 *
 * Ownership: hg_imap_connect() returns a connection released with hg_imap_free(&imap),
 * which sends LOGOUT when the connection is still alive and sets the pointer to NULL. The
 * params strings are only read during hg_imap_connect(). *uids_r from hg_imap_uid_search_range()
 * is the caller's (free()). The raw bytes passed to a fetch callback are valid only during
 * the callback. A connection is used by one thread at a time.
 *
 * TLS: the certificate chain is checked against ca_file or the system trust store and the
 * host name (or IP address) against the certificate, during the handshake, before any
 * credential is sent; a failure names the reason ("certificate signed by unknown authority",
 * "host name mismatch", "certificate expired", …). SNI is sent for DNS names. STARTTLS is
 * refused when the server sent PREAUTH or sent bytes after its STARTTLS answer.
 *
 * Folder names are IMAP mailbox names, passed as they are (modified UTF-7 for non-ASCII;
 * "INBOX" is special). Names with control characters are refused.
 */
#ifndef HELPGATE_IMAP_H
#define HELPGATE_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most UIDs one fetch, store or move takes (keeps command lines short for every server). */
#define HG_IMAP_MAX_UIDS 1000
/* max_size 0 means this; larger values are clamped to HG_IMAP_MAX_SIZE_LIMIT. */
#define HG_IMAP_DEFAULT_MAX_SIZE (32u * 1024 * 1024)
#define HG_IMAP_MAX_SIZE_LIMIT (1024u * 1024 * 1024)
/* Servers end an IDLE after 30 minutes; hg_imap_idle_wait() clamps max_seconds to this. */
#define HG_IMAP_MAX_IDLE_SECONDS (29 * 60)

struct hg_imap;

enum hg_imap_tls {
    HG_IMAP_TLS_NONE,     /* plain TCP (the config layer decides whether that is allowed) */
    HG_IMAP_TLS_STARTTLS, /* plain TCP, then STARTTLS before anything else; fails if not offered */
    HG_IMAP_TLS_IMPLICIT, /* TLS from the first byte (port 993) */
};

struct hg_imap_params {
    const char *host; /* DNS name or IP address; also the name the certificate must match */
    int port;         /* 0 = 143, or 993 with HG_IMAP_TLS_IMPLICIT */
    enum hg_imap_tls tls;
    bool tls_verify;     /* verify the certificate chain and host name (true in production) */
    const char *ca_file; /* PEM file of trusted CAs instead of the system store; NULL = system */
    const char *user;
    const char *password;      /* LOGIN with this, or */
    const char *xoauth2_token; /* AUTHENTICATE XOAUTH2 with this OAuth2 access token (one of the two) */
    int timeout_seconds;       /* per network read/write and for connect; 0 = 30 */
    /* hg_imap_move() on a server with neither MOVE nor UIDPLUS: true sends a plain EXPUNGE,
     * which also removes messages that other clients marked \Deleted in that folder; false
     * (default) leaves the moved originals in place, marked \Deleted. */
    bool allow_plain_expunge;
};

struct hg_imap *hg_imap_connect(const struct hg_imap_params *params, char **error_r);
void hg_imap_free(struct hg_imap **imap);

/* Capabilities the server announced after login. */
bool hg_imap_has_idle(const struct hg_imap *imap);
bool hg_imap_has_move(const struct hg_imap *imap);
bool hg_imap_has_uidplus(const struct hg_imap *imap);

/*
 * SELECTs FOLDER (read-write). Outputs (each may be NULL): UIDVALIDITY, UIDNEXT (0 when the
 * server did not say) and EXISTS.
 */
int hg_imap_select(struct hg_imap *imap, const char *folder, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
                   uint32_t *exists_r, char **error_r);

/*
 * The UIDs in first_uid..last_uid (last_uid 0 = no upper bound) of the selected folder,
 * sorted ascending without duplicates, in a new array (*uids_r is NULL when *count_r is 0).
 * "UID n:*" always matches the highest UID even when it is below n: such UIDs are dropped.
 */
int hg_imap_uid_search_range(struct hg_imap *imap, uint32_t first_uid, uint32_t last_uid, uint32_t **uids_r,
                             size_t *count_r, char **error_r);

/*
 * Called once per fetched message, in ascending UID order. RAW is the message as the server
 * stores it (LEN bytes, not NUL-terminated; valid during the call only). TRUNCATED is true
 * when the message is larger than max_size: RAW is then its first max_size bytes (headers
 * first). Return 0 to go on, -1 to stop: hg_imap_fetch_bodies() then fails with
 * "stopped by the caller at UID n" and the connection stays usable.
 */
typedef int hg_imap_message_fn(uint32_t uid, const char *raw, size_t len, bool truncated, void *arg);

/*
 * One "UID FETCH uids (UID RFC822.SIZE BODY.PEEK[]<0.max_size+1>)": the messages are not
 * marked \Seen. max_size 0 = HG_IMAP_DEFAULT_MAX_SIZE. UIDs the server no longer has
 * (expunged meanwhile) are skipped without error; the callback sees each UID at most once.
 */
int hg_imap_fetch_bodies(struct hg_imap *imap, const uint32_t *uids, size_t count, size_t max_size,
                         hg_imap_message_fn *on_message, void *arg, char **error_r);

/*
 * UID STORE +FLAGS.SILENT. FLAGS is a NULL-terminated list of system flags ("\\Seen",
 * "\\Answered", "\\Flagged", "\\Deleted", "\\Draft") and keywords ("$HelpgateStored"; atom
 * characters only, else error). Keywords the folder cannot keep (its PERMANENTFLAGS lists
 * neither them nor \*) are left out, and the system flags are still stored: see
 * hg_imap_keywords_allowed(). When only such keywords are asked for, nothing is sent.
 */
int hg_imap_add_flags(struct hg_imap *imap, const uint32_t *uids, size_t count, const char *const *flags,
                      char **error_r);
/* True when the selected folder accepts new keywords (PERMANENTFLAGS has \* or is absent). */
bool hg_imap_keywords_allowed(const struct hg_imap *imap);

/*
 * Moves UIDS to DEST: UID MOVE when offered, else UID COPY + UID STORE \Deleted + UID EXPUNGE
 * (UIDPLUS), else see allow_plain_expunge. When the first attempt fails with NO, DEST is
 * CREATEd (its failure ignored: it may already exist) and the move is tried once more.
 * Without MOVE, a failure after the COPY leaves copies in DEST (the caller's unique keys
 * make a second intake of them a no-op).
 */
int hg_imap_move(struct hg_imap *imap, const uint32_t *uids, size_t count, const char *dest, char **error_r);

/*
 * IDLE on the selected folder until the server reports a change (EXISTS, RECENT or
 * EXPUNGE: *changed_r = true), wake_fd becomes readable (it is not read; -1 = none), or
 * max_seconds pass (clamped to 1..HG_IMAP_MAX_IDLE_SECONDS); then DONE. Keep-alive lines
 * ("* OK Still here") do not end the wait. Fails when the server has no IDLE. Returns 0 in
 * all three cases; re-IDLE is the caller's job.
 */
int hg_imap_idle_wait(struct hg_imap *imap, int wake_fd, int max_seconds, bool *changed_r, char **error_r);

int hg_imap_noop(struct hg_imap *imap, char **error_r);

#endif
