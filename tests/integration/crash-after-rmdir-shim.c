/* crash-after-rmdir-shim.c - LD_PRELOAD shim of t-dir-intent.sh: the
 * process is killed (SIGKILL, as a crash) right after its first directory
 * removal (unlinkat with AT_REMOVEDIR) succeeded, before anything after it
 * could be written. Everything else goes to the real call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

int unlinkat(int dirfd, const char *path, int flags)
{
	static int (*real)(int, const char *, int);
	if (!real)
		real = (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	int r = real(dirfd, path, flags);
	if (r == 0 && (flags & AT_REMOVEDIR))
		kill(getpid(), SIGKILL);
	return r;
}
