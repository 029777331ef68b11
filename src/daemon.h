/*
 * daemon.h - housekeeperd's command line, start-up, event loop, signals and
 * reload (SPEC 2).
 */
#ifndef HK_DAEMON_H
#define HK_DAEMON_H

/* Run housekeeperd with its command line; returns the process exit code:
 * 0 ok, 1 failure (bad config, cannot start), 2 usage error. */
int hk_daemon_main(int argc, char **argv);

#endif /* HK_DAEMON_H */
