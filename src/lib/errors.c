/*
 * errors.c - hk_strerror, the text of every error code (-errno and HK_E*),
 * compiled into both the daemon's internal library and libhousekeeper so
 * that the two can never disagree.
 */
#include "autoconfig.h"

#include <string.h>

#include "housekeeper.h"

const char *hk_strerror(int err)
{
	if (err > HK_EBASE && err < 0)
		return strerror(-err);
	if (err == 0)
		return "success";
	switch ((enum hk_error)err) {
	case HK_EBASE: break;
	case HK_ECONFIG: return "configuration is invalid";
	case HK_ENOTFOUND: return "no such registration";
	case HK_EREADONLY: return "housekeeper_read_only is set: nothing may be deleted";
	case HK_EPROTO: return "malformed or unexpected message";
	case HK_ENODAEMON: return "daemon not reachable";
	case HK_EDENIED: return "permission denied";
	case HK_ESOURCE: return "registration comes from a configuration file";
	case HK_ESTORE: return "state store is corrupt or unusable";
	case HK_ECLOCK: return "system clock is implausible";
	case HK_ESYSDIR: return "refusing a system directory";
	case HK_ECHANGED: return "file changed under us";
	case HK_EBUSY: return "resource busy";
	case HK_ELAST: break;
	}
	return "unknown error";
}
