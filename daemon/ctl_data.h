/*
 * ctl_data.h — helpgatectl's commands about the data held: `retention run`
 * (daemon/retention.c, the code helpgated runs daily) and one customer's data,
 * `customer export` and `customer erase` (dispatched from cmd_customer() in
 * ctl_people.c; argv[0] is "customer", argv[1] the verb). Exit status as
 * ctl.h says: 0 done, 1 failed (database, files), 2 bad usage, invalid
 * configuration, or nothing held about the address.
 */
#ifndef HELPGATE_DAEMON_CTL_DATA_H
#define HELPGATE_DAEMON_CTL_DATA_H

struct ctl;

/* retention run [--dry-run [--at TIME]] [--max-rows N] */
int cmd_retention(struct ctl *ctl, int argc, char **argv);

/* customer export EMAIL [--out DIR] */
int ctl_customer_export(struct ctl *ctl, int argc, char **argv);

/* customer erase EMAIL [--yes]: without --yes, shows what it would do and changes nothing. */
int ctl_customer_erase(struct ctl *ctl, int argc, char **argv);

#endif
