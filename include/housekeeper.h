/*
 * housekeeper.h - public client API of housekeeper.
 *
 * Error convention shared by the library and the daemon: functions return
 * 0 on success, -errno for a system failure, or one of the HK_E* codes
 * below (all < -1000). hk_strerror() describes both.
 */
#ifndef HOUSEKEEPER_H
#define HOUSEKEEPER_H

#ifdef __cplusplus
extern "C" {
#endif

enum hk_error {
	HK_EBASE = -1000,
	HK_ECONFIG = -1001,       /* configuration is invalid */
	HK_ENOTFOUND = -1002,     /* no such registration */
	HK_EREADONLY = -1003,     /* housekeeper_read_only forbids deletion */
	HK_EPROTO = -1004,        /* malformed or unexpected message */
	HK_ENODAEMON = -1005,     /* daemon not reachable */
	HK_EDENIED = -1006,       /* caller is not allowed to do this */
	HK_ESOURCE = -1007,       /* registration comes from a config file */
	HK_ESTORE = -1008,        /* state store corrupt, newer or unusable */
	HK_ECLOCK = -1009,        /* system clock is implausible */
	HK_ESYSDIR = -1010,       /* system directory without allow_system_directory */
	HK_ECHANGED = -1011,      /* object changed under us; skipped */
	HK_EBUSY = -1012,         /* resource in use (lock held, job running) */
	HK_ELAST = -1013,
};

/* Describe an error code returned by any hk_* function: -errno or HK_E*.
 * The string is static. */
const char *hk_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* HOUSEKEEPER_H */
