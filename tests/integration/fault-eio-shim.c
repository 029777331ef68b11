/* fault-eio-shim.c - LD_PRELOAD shim of t-fault-eio.sh: removing a file
 * whose name contains "eio" fails with EIO, whether the daemon unlinks the
 * name directly or first renames it aside (reap.c renames, checks, then
 * unlinks); everything else goes to the real calls. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int eio_name(const char *path)
{
	const char *base = strrchr(path, '/');
	return strstr(base ? base + 1 : path, "eio") != NULL;
}

int unlinkat(int dirfd, const char *path, int flags)
{
	static int (*real)(int, const char *, int);
	if (eio_name(path)) {
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

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
	      unsigned int flags)
{
	static int (*real)(int, const char *, int, const char *, unsigned int);
	if (eio_name(oldpath)) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int, const char *, int, const char *, unsigned int))dlsym(
			RTLD_NEXT, "renameat2");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(olddirfd, oldpath, newdirfd, newpath, flags);
}
