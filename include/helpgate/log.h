/*
 * log.h — one line per event, key=value, on stderr (journald picks it up).
 *
 *   hg_log_info("imap_connected", "mailbox=%s host=%s", HG_Q(name), HG_Q(host));
 *   → level=info event=imap_connected mailbox=support host=imap.example.com
 *
 * The event name comes first after the level; the format adds the rest of the
 * line. Wrap every value that may hold spaces, quotes or control characters
 * in HG_Q(): it quotes when needed, escapes, and cuts values longer than
 * 256 bytes, so no message body or other large text can reach the log. Never
 * log secrets. parsers/ never logs: it returns errors to its caller.
 *
 * A line is written with one write(2) call, so lines from several threads
 * never interleave. HG_Q() uses per-thread rotating storage: up to 16 HG_Q()
 * values may be used in one log call.
 */
#ifndef HELPGATE_LOG_H
#define HELPGATE_LOG_H

enum hg_log_level { HG_LOG_DEBUG, HG_LOG_INFO, HG_LOG_WARN, HG_LOG_ERROR, HG_LOG_FATAL, HG_LOG_PANIC };

/* Lines below this level are dropped (default: info; HELPGATE_DEBUG=1 in the environment: debug). */
void hg_log_set_level(enum hg_log_level level);
/* A prefix added after level= and event= on every line of this process (e.g. "instance=eu1"); copied. */
void hg_log_set_prefix(const char *prefix);

void hg_log(enum hg_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define hg_log_debug(event, ...) hg_log(HG_LOG_DEBUG, event, __VA_ARGS__)
#define hg_log_info(event, ...) hg_log(HG_LOG_INFO, event, __VA_ARGS__)
#define hg_log_warn(event, ...) hg_log(HG_LOG_WARN, event, __VA_ARGS__)
#define hg_log_error(event, ...) hg_log(HG_LOG_ERROR, event, __VA_ARGS__)
/* fatal: log and exit(1). panic: a bug; log and abort(). */
#define hg_log_fatal(event, ...) (hg_log(HG_LOG_FATAL, event, __VA_ARGS__), exit(1))
#define hg_log_panic(event, ...) (hg_log(HG_LOG_PANIC, event, __VA_ARGS__), abort())

/* A value made safe for a log line (see above). The pointer is valid until 16 more HG_Q() calls. */
const char *hg_log_quote(const char *value);
#define HG_Q(value) hg_log_quote(value)

#endif
