#!/bin/sh
# tests/fuzz/build.sh [OUTDIR] - build the libFuzzer targets with clang.
#
# The internal library's sources (Makefile.am: libhk_internal_la_SOURCES)
# are compiled into a static archive with ASan and UBSan and fuzzer
# coverage, and every tests/fuzz/fuzz_*.c is linked against it: the linker
# takes only the objects a target needs. No configure run is needed: a
# minimal autoconfig.h is written into OUTDIR. Binaries: OUTDIR/fuzz_<name>.
#
# Environment: CC (default clang), FUZZ_CFLAGS (default -g -O1), JOBS.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-${TMPDIR:-/tmp}/hk-fuzz}
CC=${CC:-clang}
FUZZ_CFLAGS=${FUZZ_CFLAGS:--g -O1}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! "$CC" --version 2>/dev/null | grep -q clang; then
	echo "build.sh: libFuzzer needs clang (CC=$CC); on Debian: apt-get install clang" >&2
	exit 77
fi
mkdir -p "$out/obj"
out=$(cd "$out" && pwd)

# Does this clang link libFuzzer? (Debian: the clang package ships it.)
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' \
	>"$out/probe.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" 2>"$out/probe.log"; then
	cat "$out/probe.log" >&2
	echo "build.sh: $CC cannot link -fsanitize=fuzzer (install libclang-rt-dev / clang)" >&2
	exit 77
fi
rm -f "$out/probe" "$out/probe.c" "$out/probe.log"

# What the sources take from configure (autoconfig.h.in), fixed here.
cat >"$out/autoconfig.h.tmp" <<'EOH'
/* autoconfig.h for the fuzz build, written by tests/fuzz/build.sh */
#define _GNU_SOURCE 1
#define _ALL_SOURCE 1
#define _DARWIN_C_SOURCE 1
#define __EXTENSIONS__ 1
#define PACKAGE "housekeeper"
#define PACKAGE_NAME "housekeeper"
#define PACKAGE_TARNAME "housekeeper"
#define PACKAGE_VERSION "fuzz"
#define PACKAGE_STRING "housekeeper fuzz"
#define PACKAGE_BUGREPORT ""
#define PACKAGE_URL ""
#define VERSION "fuzz"
#define HK_BUILD_EPOCH 1700000000LL
#define STDC_HEADERS 1
EOH
if cmp -s "$out/autoconfig.h.tmp" "$out/autoconfig.h"; then
	rm -f "$out/autoconfig.h.tmp"
else
	mv "$out/autoconfig.h.tmp" "$out/autoconfig.h"
fi

# The library's sources, as Makefile.am lists them (.c files only).
sources=$(sed -n '/^libhk_internal_la_SOURCES *=/,/[^\\]$/p' "$srcdir/Makefile.am" |
	tr ' \t\\' '\n\n\n' | grep '\.c$')
[ -n "$sources" ] || { echo "build.sh: no libhk_internal_la_SOURCES in Makefile.am" >&2; exit 1; }

pkg_cflags=$(pkg-config --cflags inih uuid lmdb jansson 2>/dev/null || true)
libs="$(pkg-config --libs inih uuid jansson 2>/dev/null || echo '-linih -luuid -ljansson') -llmdb -lev -lm"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="$FUZZ_CFLAGS $san -I$out -I$srcdir/include -iquote $srcdir/src -iquote $srcdir/src/lib $pkg_cflags \
	-DHK_SYSCONFDIR=\"/etc/housekeeper\" -DHK_RUNSTATEDIR=\"/run/housekeeper\" \
	-DHK_LOCALSTATEDIR=\"/var/lib/housekeeper\" -DHK_LIBDIR_CONFD=\"/usr/lib/housekeeper/conf.d\""
export CC cflags srcdir out

# Compile what changed (sources or any header), JOBS at a time.
stamp="$out/obj/.flags"
echo "$CC $cflags" >"$stamp.new"
if ! cmp -s "$stamp.new" "$stamp"; then rm -f "$out"/obj/*.o; fi
mv "$stamp.new" "$stamp"
newest_h=$(ls -t "$srcdir"/src/*.h "$srcdir"/src/lib/*.h "$srcdir"/include/*.h "$out/autoconfig.h" | head -n 1)
echo "$sources" | xargs -P "$JOBS" -I{} sh -c '
	o="$out/obj/$(basename {} .c).o"
	if [ ! -f "$o" ] || [ "$srcdir/{}" -nt "$o" ] || [ "$1" -nt "$o" ]; then
		echo "  CC       {}"
		$CC $cflags -fsanitize=fuzzer-no-link -c "$srcdir/{}" -o "$o" || exit 255
	fi' sh "$newest_h"
objs=$(for s in $sources; do echo "$out/obj/$(basename "$s" .c).o"; done)
rm -f "$out/libhk_fuzz.a"
ar rcs "$out/libhk_fuzz.a" $objs

for t in "$srcdir"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$t" .c)
	echo "  CCLD     $name"
	$CC $cflags -fsanitize=fuzzer "$t" "$out/libhk_fuzz.a" $libs -o "$out/$name"
done
