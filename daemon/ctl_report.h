/*
 * ctl_report.h — `helpgatectl report`: support figures for a period (incoming,
 * closed, time to first response and to resolution, escalations, SLA breach
 * rate per tier; custom-code customers; top customers) as a table, CSV or
 * JSON. The figures' rules are in include/helpgate/report.h and
 * helpgatectl(8), Reports. Exit status as ctl.h says: 0, 1 (database,
 * output), 2 (bad usage, invalid configuration).
 */
#ifndef HELPGATE_DAEMON_CTL_REPORT_H
#define HELPGATE_DAEMON_CTL_REPORT_H

struct ctl;

int cmd_report(struct ctl *ctl, int argc, char **argv);

#endif
