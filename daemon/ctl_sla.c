/*
 * ctl_sla.c — `helpgatectl sla run [--now TIME]`: one pass of the SLA
 * scheduler (daemon/sla_scheduler.c), as helpgated runs every 30 seconds,
 * at the time given: for an operator who wants the warnings and breaches
 * handled now, and for tests, whose clock it is.
 */
#include "ctl.h"

#include "helpgate/mailloop.h"
#include "helpgate/sla_scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int sla_usage(void)
{
    fprintf(stderr, "usage: helpgatectl sla run [--now TIME]\n"
                    "  TIME: 2026-11-23T10:00:00Z, with a +HH:MM offset, or now (the default)\n");
    return EXIT_USAGE;
}

static int sla_run(struct ctl *ctl, int64_t now)
{
    struct ctl_session s;
    int status = ctl_session_open(ctl, &s);
    if (status != 0)
        return status;
    char *error = NULL;
    struct hg_mailloop *loop = s.cfg->smtp_url != NULL ? hg_mailloop_new(s.cfg, &error) : NULL;
    struct hg_sla_counts counts;
    if (s.cfg->smtp_url != NULL && loop == NULL) {
        fprintf(stderr, "helpgatectl: the templates have errors: %s\n", error);
        status = 1;
    } else if (hg_sla_pass(s.store, loop, now, &counts, &error) == 0) {
        printf("sla: %ld warnings, %ld breaches, %ld escalations\n", counts.warnings, counts.breaches,
               counts.escalations);
    } else {
        fprintf(stderr, "helpgatectl: sla run failed: %s\n", error);
        status = 1;
    }
    free(error);
    hg_mailloop_free(&loop);
    ctl_session_close(&s);
    return status;
}

int cmd_sla(struct ctl *ctl, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "run") != 0)
        return sla_usage();
    int64_t now = (int64_t)time(NULL);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
            if (!ctl_parse_when(argv[++i], &now)) {
                fprintf(stderr, "helpgatectl: --now %s: write 2026-11-23T10:00:00Z, with +HH:MM, or now\n",
                        argv[i]);
                return EXIT_USAGE;
            }
        } else {
            return sla_usage();
        }
    }
    return sla_run(ctl, now);
}
