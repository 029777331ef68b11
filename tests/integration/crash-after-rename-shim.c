/* crash-after-rename-shim.c - LD_PRELOAD shim of t-interrupted-delete.sh
 * and s-leftovers.sh: the process is killed (SIGKILL, as a crash) the
 * moment it is about to unlink a name it renamed aside for deletion
 * (reap.c renames to .housekeeper-deleting-*, checks, then unlinks), so
 * exactly that deletion is left between its rename and its unlink, its
 * audit intent committed. Everything else goes to the real call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define PREFIX ".housekeeper-deleting-"

int unlinkat(int dirfd, const char *path, int flags)
{
	static int (*real)(int, const char *, int);
	const char *base = strrchr(path, '/');
	if (strncmp(base ? base + 1 : path, PREFIX, sizeof(PREFIX) - 1) == 0)
		kill(getpid(), SIGKILL);
	if (!real)
		real = (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(dirfd, path, flags);
}
