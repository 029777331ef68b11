/*
 * cred.c - per-thread filesystem identity (see cred.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cred.h"
#include "log.h"
#include "util.h"

#define CRED_OVERFLOW_GID ((gid_t)65534)   /* "nogroup", the kernel's overflowgid */
#define CRED_MAX_GROUPS 65536              /* NGROUPS_MAX */

/* The daemon's own identity, captured once before the first switch. */
static pthread_once_t cred_self_once = PTHREAD_ONCE_INIT;
static struct hk_cred cred_self;
static __thread const struct hk_cred *cred_in_force;

static void cred_self_capture(void)
{
	cred_self.uid = geteuid();
	cred_self.gid = getegid();
	int n = getgroups(0, NULL);
	if (n > 0) {
		cred_self.groups = hk_xcalloc((size_t)n, sizeof(gid_t));
		n = getgroups(n, cred_self.groups);
	}
	cred_self.n_groups = n > 0 ? (size_t)n : 0;
}

struct hk_cred *hk_cred_for_uid(uid_t uid)
{
	pthread_once(&cred_self_once, cred_self_capture);
	if (uid == 0 || uid == cred_self.uid)
		return NULL;
	struct hk_cred *c = hk_xcalloc(1, sizeof(*c));
	c->uid = uid;
	c->gid = CRED_OVERFLOW_GID;

	long bufsize = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t len = bufsize > 0 ? (size_t)bufsize : 16384;
	char *buf = hk_xmalloc(len);
	struct passwd pw, *found = NULL;
	int r;
	while ((r = getpwuid_r(uid, &pw, buf, len, &found)) == ERANGE && len < (1u << 20)) {
		len *= 2;
		buf = hk_xrealloc(buf, len);
	}
	if (r == 0 && found) {
		c->gid = pw.pw_gid;
		int n = 32;
		c->groups = hk_xcalloc((size_t)n, sizeof(gid_t));
		if (getgrouplist(pw.pw_name, pw.pw_gid, c->groups, &n) < 0 && n > 0 &&
		    n <= CRED_MAX_GROUPS) {
			c->groups = hk_xreallocarray(c->groups, (size_t)n, sizeof(gid_t));
			if (getgrouplist(pw.pw_name, pw.pw_gid, c->groups, &n) < 0)
				n = 0;
		}
		c->n_groups = n > 0 ? (size_t)n : 0;
	} else {
		log_notice("cred", "uid %u has no entry in the user database: acting for it "
			   "with group %u and no supplementary groups", (unsigned)uid,
			   (unsigned)CRED_OVERFLOW_GID);
	}
	free(buf);
	return c;
}

void hk_cred_free(struct hk_cred *c)
{
	if (!c)
		return;
	if (cred_in_force == c)
		hk_cred_use(NULL, NULL);
	free(c->groups);
	free(c);
}

const struct hk_cred *hk_cred_current(void)
{
	return cred_in_force;
}

/* Whether this thread's supplementary groups are not the daemon's. */
static __thread bool cred_groups_changed;

/* The raw syscalls change the calling thread only. setfsuid/setfsgid
 * report no error: asking with -1 tells what is in force. */
static int cred_apply(const struct hk_cred *c)
{
	if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0)
		return -errno;
	cred_groups_changed = true;
	syscall(SYS_setfsgid, c->gid);
	if ((gid_t)syscall(SYS_setfsgid, (gid_t)-1) != c->gid)
		return -EPERM;
	syscall(SYS_setfsuid, c->uid);
	if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != c->uid)
		return -EPERM;
	return 0;
}

/* Back to the daemon's identity: fsuid first, so the filesystem
 * capabilities are back before the groups are restored. Setting fsuid and
 * fsgid back to the process's own ids needs no capability; the groups are
 * restored only when they were changed. */
static void cred_restore_self(void)
{
	syscall(SYS_setfsuid, cred_self.uid);
	syscall(SYS_setfsgid, cred_self.gid);
	if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != cred_self.uid ||
	    (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != cred_self.gid ||
	    (cred_groups_changed &&
	     syscall(SYS_setgroups, cred_self.n_groups, cred_self.groups) < 0)) {
		log_errx("cred", "cannot return to the daemon's own identity (%s): stopping",
			 strerror(errno));
		abort();
	}
	cred_groups_changed = false;
	cred_in_force = NULL;
}

/* A daemon without CAP_SETUID/CAP_SETGID fails every switch: say so once a
 * minute, not at every scan slice. */
static void cred_log_failure(const struct hk_cred *c, int err)
{
	static _Atomic int64_t last_ns;
	int64_t now = hk_time_mono_ns(), prev = last_ns;
	if (prev && now - prev < 60 * HK_NSEC_PER_SEC)
		return;
	last_ns = now;
	log_errx("cred", "cannot act with the identity of uid %u (%s): its registrations are "
		 "not scanned nor cleaned (the daemon needs CAP_SETUID and CAP_SETGID)",
		 (unsigned)c->uid, hk_strerror(err));
}

/* Two registrations of one owner share an identity: switching between
 * them costs nothing. */
static bool cred_same(const struct hk_cred *a, const struct hk_cred *b)
{
	if (a == b)
		return true;
	if (!a || !b || a->uid != b->uid || a->gid != b->gid || a->n_groups != b->n_groups)
		return false;
	return a->n_groups == 0 || memcmp(a->groups, b->groups, a->n_groups * sizeof(gid_t)) == 0;
}

int hk_cred_use(const struct hk_cred *c, const struct hk_cred **prev)
{
	pthread_once(&cred_self_once, cred_self_capture);
	if (prev)
		*prev = cred_in_force;
	if (cred_same(c, cred_in_force)) {
		cred_in_force = c;
		return 0;
	}
	if (!c) {
		cred_restore_self();
		return 0;
	}
	if (cred_in_force)
		cred_restore_self();   /* from one user to another: never mixed */
	int r = cred_apply(c);
	if (r < 0) {
		cred_restore_self();
		cred_log_failure(c, r);
		return r;
	}
	cred_in_force = c;
	return 0;
}
