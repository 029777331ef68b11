/*
 * client.h - internals of libhousekeeper (src/lib/client.c). The public
 * API is include/housekeeper.h; this header only holds the library's
 * tunables.
 */
#ifndef HK_CLIENT_H
#define HK_CLIENT_H

#include "housekeeper.h"

/* Default time limit of one call, in milliseconds (a run's or a wait's
 * answer, which comes when a job ends, has none). */
#define HK_CLIENT_TIMEOUT_MS 5000

#endif /* HK_CLIENT_H */
