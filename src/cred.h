/*
 * cred.h - acting with a registration owner's filesystem identity.
 *
 * A registration owned by a non-root user is scanned, watched and cleaned
 * with that user's fsuid, fsgid and supplementary groups (SPEC 7), so the
 * kernel checks every open, lookup, rename and unlink as it would for the
 * user's own process, whatever was swapped in between two syscalls. The
 * switch is per thread (the raw syscalls; glibc's setgroups() would change
 * every thread), and a fsuid other than 0 also drops CAP_DAC_OVERRIDE,
 * CAP_DAC_READ_SEARCH, CAP_FOWNER and the other filesystem capabilities
 * from the thread's effective set until it switches back (capabilities(7)).
 * Samba's become_user and the NFS server threads work the same way.
 */
#ifndef HK_CRED_H
#define HK_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A user's filesystem identity, resolved once (NSS may block). */
struct hk_cred {
	uid_t uid;
	gid_t gid;
	size_t n_groups;
	gid_t *groups;
};

/* The identity to act with for a registration owned by uid: NULL when no
 * switch is needed (uid 0, or the daemon's own uid), else a new hk_cred
 * with the user's primary group and supplementary groups from the user
 * database; a uid that has none gets the overflow group and no others
 * (the kernel then grants only what "other" may do). hk_cred_free it. */
struct hk_cred *hk_cred_for_uid(uid_t uid);
void hk_cred_free(struct hk_cred *c);

/* Make c (NULL: the daemon's own identity) the calling thread's
 * filesystem identity; *prev receives the one it had, for hk_cred_use(prev)
 * afterwards. Costs nothing when c is already in force. Returns 0, or
 * -errno when the switch failed: the thread is then back at the daemon's
 * identity and the caller must not do the work it wanted to do as c.
 * (A thread that cannot get back to the daemon's identity aborts the
 * process: it must never go on acting with the wrong rights.) */
int hk_cred_use(const struct hk_cred *c, const struct hk_cred **prev);

/* The identity in force on the calling thread (NULL: the daemon's). */
const struct hk_cred *hk_cred_current(void);

#endif /* HK_CRED_H */
