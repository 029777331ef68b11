/* unit-swap-shim.c - LD_PRELOAD shim of s-unit-swap.sh: the moment the
 * daemon is about to delete, the unit directory HK_SWAP_UNIT (absolute
 * path) is renamed to HK_SWAP_AWAY and a symlink to HK_SWAP_VICTIM put in
 * its place, once: with HK_SWAP_AT=file at the first unlink of a name
 * renamed aside for deletion (a file of the unit, reap.c), with
 * HK_SWAP_AT=rmdir at the first unlinkat(AT_REMOVEDIR). Then the real
 * call goes on. Everything else goes to the real call untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX ".housekeeper-deleting-"

static void shim_swap(void)
{
	static int done;
	const char *unit = getenv("HK_SWAP_UNIT"), *away = getenv("HK_SWAP_AWAY");
	const char *victim = getenv("HK_SWAP_VICTIM");
	if (done || !unit || !away || !victim)
		return;
	done = 1;
	if (rename(unit, away) == 0 && symlink(victim, unit) == 0)
		fprintf(stderr, "unit-swap-shim: swapped %s for a symlink to %s\n", unit, victim);
	else
		fprintf(stderr, "unit-swap-shim: swap failed\n");
}

int unlinkat(int dirfd, const char *path, int flags)
{
	static int (*real)(int, const char *, int);
	const char *at = getenv("HK_SWAP_AT");
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (at && strcmp(at, "file") == 0 && !(flags & AT_REMOVEDIR) &&
	    strncmp(base, PREFIX, sizeof(PREFIX) - 1) == 0)
		shim_swap();
	if (at && strcmp(at, "rmdir") == 0 && (flags & AT_REMOVEDIR))
		shim_swap();
	real = real ? real : (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
	if (real)
		return real(dirfd, path, flags);
	errno = ENOSYS;
	return -1;
}
