/*
 * ctl_session.c — the database session of one helpgatectl command (config,
 * connection, operator) and the helpers its changes share: run a statement
 * and report what it did, map the server's refusals to exit statuses, read
 * an operator's text, check addresses and teams.
 */
#include "ctl.h"

#include "helpgate/alloc.h"
#include "helpgate/config_check.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SQLSTATE_UNIQUE_VIOLATION "23505"

/* Who runs the command: the sudo user when there is one. */
static void operator_name(char *out, size_t size)
{
    const char *user = getenv("SUDO_USER");
    struct passwd *pw = user == NULL || user[0] == '\0' ? getpwuid(geteuid()) : NULL;
    snprintf(out, size, "%s", user != NULL && user[0] != '\0' ? user : pw != NULL ? pw->pw_name : "unknown");
}

int ctl_session_open(struct ctl *ctl, struct ctl_session *s)
{
    memset(s, 0, sizeof(*s));
    s->cfg = load_config_or_explain(hg_config_default_path(ctl->config_path), false);
    if (s->cfg == NULL)
        return EXIT_USAGE;
    s->store = connect_or_explain(s->cfg);
    if (s->store == NULL) {
        hg_config_free(&s->cfg);
        return 1;
    }
    /* Output (tables, JSON) is UTF-8 whatever the environment asks. */
    if (PQsetClientEncoding(hg_store_conn(s->store), "UTF8") != 0) {
        fprintf(stderr, "helpgatectl: cannot set the client encoding to UTF-8: %s",
                PQerrorMessage(hg_store_conn(s->store)));
        ctl_session_close(s);
        return 1;
    }
    operator_name(s->user, sizeof s->user);
    snprintf(s->actor, sizeof s->actor, "ctl:%s", s->user);
    return 0;
}

void ctl_session_close(struct ctl_session *s)
{
    hg_store_free(&s->store);
    hg_config_free(&s->cfg);
}

int ctl_exit_status(const char *sqlstate)
{
    if (sqlstate == NULL)
        return 1;
    /* P0002 no_data_found (raised by sql/011), class 22 data exception, class 23 integrity. */
    if (strcmp(sqlstate, "P0002") == 0 || strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0)
        return EXIT_USAGE;
    return 1;
}

PGresult *ctl_query(struct ctl_session *s, const char *sql, int n, const char *const *params, int *rc_r)
{
    char *error = NULL;
    PGresult *res = hg_pg_exec(s->store, sql, n, params, &error);
    if (res == NULL) {
        fprintf(stderr, "helpgatectl: %s\n", error);
        free(error);
        *rc_r = ctl_exit_status(hg_pg_last_sqlstate(s->store));
    }
    return res;
}

int ctl_change(struct ctl_session *s, const char *sql, int n, const char *const *params,
               const char *what_done, const char *not_found, const char *duplicate)
{
    char *error = NULL;
    PGresult *res = hg_pg_exec(s->store, sql, n, params, &error);
    if (res == NULL) {
        const char *state = hg_pg_last_sqlstate(s->store);
        bool dup = strcmp(state, SQLSTATE_UNIQUE_VIOLATION) == 0;
        fprintf(stderr, "helpgatectl: %s\n", dup && duplicate != NULL ? duplicate : error);
        free(error);
        return ctl_exit_status(state);
    }
    int rows = PQntuples(res);
    PQclear(res);
    if (rows == 0) {
        fprintf(stderr, "helpgatectl: %s\n", not_found);
        return EXIT_USAGE;
    }
    printf("%s\n", what_done);
    return 0;
}

char *ctl_text_arg(const char *command, const char *arg, size_t max)
{
    if (strcmp(arg, "-") != 0) {
        if (strlen(arg) > max) {
            fprintf(stderr, "helpgatectl %s: the text is longer than %zu bytes\n", command, max);
            return NULL;
        }
        return hg_xstrdup(arg);
    }
    char *text = hg_xmalloc(max + 2);
    size_t len = fread(text, 1, max + 1, stdin);
    if (ferror(stdin)) {
        fprintf(stderr, "helpgatectl %s: cannot read standard input: %s\n", command, strerror(errno));
        free(text);
        return NULL;
    }
    if (len > max) {
        fprintf(stderr, "helpgatectl %s: standard input is longer than %zu bytes\n", command, max);
        free(text);
        return NULL;
    }
    if (memchr(text, '\0', len) != NULL) {
        fprintf(stderr, "helpgatectl %s: standard input holds a NUL byte; give text\n", command);
        free(text);
        return NULL;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    text[len] = '\0';
    return text;
}

bool ctl_valid_address(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL || strlen(s) > 254)
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' || *s == '"' || *s == 0x7f)
            return false;
    return true;
}

bool ctl_valid_team(const char *s)
{
    return s != NULL && (strcmp(s, "L1") == 0 || strcmp(s, "L2") == 0 || strcmp(s, "L3") == 0);
}
