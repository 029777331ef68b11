/*
 * client.h - internals of libhousekeeper (src/client.c). The public API is
 * include/housekeeper.h; this header only holds the library's tunables.
 */
#ifndef HK_CLIENT_H
#define HK_CLIENT_H

#include "housekeeper.h"

/* Default time limits of one call, in milliseconds: connecting and every
 * answer but a job's. */
#define HK_CLIENT_TIMEOUT_MS 5000
/* The answer of a job (run_cleanup, wait_job) comes when the job ends:
 * waited for without a limit, since a slow job is not an unreachable
 * daemon. Connecting keeps HK_CLIENT_TIMEOUT_MS. */
#define HK_CLIENT_NO_TIMEOUT (-1)

#endif /* HK_CLIENT_H */
