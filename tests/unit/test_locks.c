/*
 * test_locks.c - the parser of /proc/locks (locks.c): every kind of lock
 * line gives its file, the device decodes to what statx reports, lines
 * without an inode are skipped, anything of another shape makes the whole
 * set unknown; and a lock this process takes is in the set read live.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmocka.h>

#include "locks.h"
#include "scan.h"
#include "testutil.h"

static struct hk_locks *parse_ok(const char *text)
{
	struct hk_locks *l = NULL;
	assert_int_equal(hk_locks_parse(text, strlen(text), &l), 0);
	assert_non_null(l);
	return l;
}

static void assert_entry(const struct hk_locks *l, size_t i, uint64_t dev, uint64_t ino)
{
	uint64_t d, n;
	hk_locks_entry(l, i, &d, &n);
	assert_int_equal(d, dev);
	assert_int_equal(n, ino);
}

/* The kinds of lines fs/locks.c prints, sorted by inode in the set. */
static void test_every_kind(void **state)
{
	(void)state;
	struct hk_locks *l = parse_ok(
		"1: FLOCK  ADVISORY  WRITE 27303 00:27:921971 0 EOF\n"
		"2: POSIX  ADVISORY  WRITE 27303 00:27:800056 27303 27303\n"
		"3: OFDLCK ADVISORY  READ -1 08:01:12 0 EOF\n"
		"4: LEASE  ACTIVE    READ 1250 00:2e:78\n"
		"4: -> LEASE  BREAKER   READ 1251 00:2e:78\n"
		"5: DELEG  ACTIVE    READ 1260 00:2e:79\n"
		"6: ACCESS ADVISORY  READ 1270 00:2e:80 0 EOF\n"
		"7: POSIX  ADVISORY  WRITE 1280 fd:01:4000000000 0 EOF\n"
		"7: -> POSIX  ADVISORY  WRITE 1281 fd:01:4000000000 0 EOF\n");
	assert_int_equal(hk_locks_count(l), 9);
	assert_entry(l, 0, 0x08ULL << 32 | 0x01, 12);
	assert_entry(l, 1, 0x2e, 78);
	assert_entry(l, 3, 0x2e, 79);
	assert_entry(l, 4, 0x2e, 80);
	assert_entry(l, 5, 0x27, 800056);
	assert_entry(l, 6, 0x27, 921971);
	assert_entry(l, 7, 0xfdULL << 32 | 0x01, 4000000000ULL);
	assert_true(hk_locks_has(l, 0x27, 921971));
	assert_true(hk_locks_has(l, 0, 12));
	assert_true(hk_locks_has(l, 0, 4000000000ULL));
	assert_false(hk_locks_has(l, 0x27, 921970));
	assert_false(hk_locks_has(l, 0x27, 921972));
	assert_false(hk_locks_has(l, 0x27, 1));
	/* another file system's lock on the same number keeps nothing here,
	 * unless the device is unknown (0) */
	assert_false(hk_locks_has(l, 0x2e, 921971));
	assert_false(hk_locks_has(l, 0x27, 78));
	assert_true(hk_locks_has(l, 0, 78));
	hk_locks_free(l);
}

/* major and minor are hex, as wide as they need (a minor above 0xff, the
 * largest major); the inode is decimal up to 2^64 - 1. */
static void test_device_numbers(void **state)
{
	(void)state;
	struct hk_locks *l = parse_ok("1: FLOCK  ADVISORY  WRITE 1 103:1a2b3:5 0 EOF\n"
				      "2: FLOCK  ADVISORY  WRITE 1 fff:fffff:18446744073709551615 0 EOF\n"
				      "3: FLOCK  ADVISORY  WRITE 1 Ab:cD:7 0 EOF");
	assert_int_equal(hk_locks_count(l), 3);
	assert_entry(l, 0, 0x103ULL << 32 | 0x1a2b3, 5);
	assert_entry(l, 1, 0xabULL << 32 | 0xcd, 7);
	assert_entry(l, 2, 0xfffULL << 32 | 0xfffff, UINT64_MAX);
	hk_locks_free(l);
}

/* Locks without an inode, blank lines and an empty file give no entry. */
static void test_no_inode(void **state)
{
	(void)state;
	struct hk_locks *l = parse_ok("1: POSIX  ADVISORY  READ 1260 <none>:0 0 EOF\n\n  \n");
	assert_int_equal(hk_locks_count(l), 0);
	assert_false(hk_locks_has(l, 0, 0));
	hk_locks_free(l);
	l = parse_ok("");
	assert_int_equal(hk_locks_count(l), 0);
	hk_locks_free(l);
}

/* Anything else: the set is unknown, nothing is returned. */
static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"FLOCK  ADVISORY  WRITE 1 00:27:5 0 EOF\n",          /* no lock number */
		"x: FLOCK  ADVISORY  WRITE 1 00:27:5 0 EOF\n",
		"1: FLOCK  ADVISORY  WRITE 1 0g:27:5 0 EOF\n",       /* not hex */
		"1: FLOCK  ADVISORY  WRITE 1 00:27:5x 0 EOF\n",      /* not decimal */
		"1: FLOCK  ADVISORY  WRITE 1 00:27:18446744073709551616 0 EOF\n",
		"1: FLOCK  ADVISORY  WRITE 1 100000000:0:5 0 EOF\n", /* major > 32 bits */
		"1: FLOCK  ADVISORY  WRITE 1 00:27: 0 EOF\n",
		"1: FLOCK  ADVISORY  WRITE\n",                       /* cut short */
		"1: FLOCK  ADVISORY  WRITE 1 00:27:5 0 EOF\n2: something else\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hk_locks *l = (struct hk_locks *)1;
		assert_int_equal(hk_locks_parse(bad[i], strlen(bad[i]), &l), -EINVAL);
		assert_null(l);
	}
}

/* Text that is not NUL-terminated ends where len says. */
static void test_length(void **state)
{
	(void)state;
	const char text[] = "1: FLOCK  ADVISORY  WRITE 1 00:27:5 0 EOF\n2: garbage";
	struct hk_locks *l = NULL;
	size_t first = strchr(text, '\n') - text + 1;
	assert_int_equal(hk_locks_parse(text, first, &l), 0);
	assert_int_equal(hk_locks_count(l), 1);
	hk_locks_free(l);
	hk_locks_free(NULL);
}

/* The live set has the locks this process holds, under the device and
 * inode statx reports for the file (tmpfs or ext4 here: no subvolumes). */
/* The superblock device of a mount, from /proc/self/mountinfo's third
 * field (decimal major:minor), found by mount id. */
static void test_mountinfo(void **state)
{
	(void)state;
	static const char text[] =
		"22 1 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
		"28 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		"101 28 0:52 /@home /home rw shared:40 - btrfs /dev/sdb1 rw,subvol=/@home\n"
		"2200 28 259:3 / /srv rw - xfs /dev/nvme0n1p3 rw";
	uint64_t dev = 0;

	assert_int_equal(hk_locks_mountinfo_dev(text, strlen(text), 28, &dev), 0);
	assert_true(dev == (8ULL << 32 | 1));
	assert_int_equal(hk_locks_mountinfo_dev(text, strlen(text), 101, &dev), 0);
	assert_true(dev == 52);
	assert_int_equal(hk_locks_mountinfo_dev(text, strlen(text), 2200, &dev), 0);
	assert_true(dev == (259ULL << 32 | 3));
	assert_int_equal(hk_locks_mountinfo_dev(text, strlen(text), 1, &dev), -ENOENT);
	assert_int_equal(hk_locks_mountinfo_dev(text, strlen(text), 2, &dev), -ENOENT);
	assert_true(hk_locks_mount_dev(0) == 0);
}

static void test_read_live(void **state)
{
	(void)state;
	char dir[64], path[96];
	assert_non_null(test_tmpdir(dir, sizeof(dir), "locks"));
	snprintf(path, sizeof(path), "%s/f", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	struct hk_stat st;
	assert_int_equal(hk_stat_fd(fd, &st), 0);

	struct hk_locks *l = hk_locks_read();
	if (!l) {
		close(fd);
		unlink(path);
		rmdir(dir);
		skip();   /* no /proc/locks, or not the initial PID namespace */
	}
	assert_false(hk_locks_has(l, st.dev, st.ino));
	hk_locks_free(l);

	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	l = hk_locks_read();
	assert_non_null(l);
	assert_true(hk_locks_has(l, st.dev, st.ino));
	/* as the engine asks: by the mount's superblock device */
	assert_true(hk_locks_has(l, hk_locks_mount_dev(st.mnt_id), st.ino));
	bool same_dev = false;
	for (size_t i = 0; i < hk_locks_count(l); i++) {
		uint64_t d, n;
		hk_locks_entry(l, i, &d, &n);
		same_dev |= n == st.ino && d == st.dev;
	}
	assert_true(same_dev);
	hk_locks_free(l);

	close(fd);   /* the OFD lock goes with its last fd */
	l = hk_locks_read();
	assert_non_null(l);
	assert_false(hk_locks_has(l, st.dev, st.ino));
	hk_locks_free(l);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind),
		cmocka_unit_test(test_device_numbers),
		cmocka_unit_test(test_no_inode),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test(test_read_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
