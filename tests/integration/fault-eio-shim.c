/* fault-eio-shim.c - LD_PRELOAD shim of t-fault-eio.sh: unlinkat() of a
 * name whose last component contains "eio" fails with EIO; everything else
 * goes to the real unlinkat. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

int unlinkat(int dirfd, const char *path, int flags)
{
	static int (*real)(int, const char *, int);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strstr(base, "eio")) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(dirfd, path, flags);
}
