/*
 * client.h - internals of libhousekeeper (src/client.c). The public API is
 * include/housekeeper.h; this header only holds the library's tunables.
 */
#ifndef HK_CLIENT_H
#define HK_CLIENT_H

#include "housekeeper.h"

/* Default time limits of one call, in milliseconds. */
#define HK_CLIENT_TIMEOUT_MS 5000
#define HK_CLIENT_RUN_TIMEOUT_MS 30000

#endif /* HK_CLIENT_H */
