#!/bin/sh
# build.sh - build the housekeeper Debian packages from this source tree
# without touching it: copy the tree to a temporary directory, put
# contrib/debian/ there as debian/, run dpkg-buildpackage, copy the results
# to OUTDIR. See README.packaging.
#
#   contrib/debian/build.sh [--head] [--lintian] [OUTDIR]
#
#   OUTDIR     where the .deb, .changes and .buildinfo files go
#              (default: ./debs, relative to the current directory)
#   --head     build the committed tree (git archive HEAD) instead of the
#              work tree; contrib/debian/ is always taken from the work tree
#   --lintian  run lintian on the .changes afterwards (fails on errors)
#
# Environment: DEB_BUILD_OPTIONS (default "nocheck": the test suite runs in
# "make check"/CI; set it to "" to run the unit tests during the build),
# KEEP_BUILD_DIR=1 keeps the temporary build directory.
set -eu

from_head=
run_lintian=
outdir=
for a in "$@"; do
	case $a in
	--head) from_head=1 ;;
	--lintian) run_lintian=1 ;;
	-h | --help)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "build.sh: unknown option $a" >&2
		exit 2
		;;
	*) outdir=$a ;;
	esac
done
outdir=${outdir:-debs}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

top=$(cd "$(dirname "$0")/../.." && pwd)
version=$(dpkg-parsechangelog -l "$top/contrib/debian/changelog" -S Version)
upstream=${version%-*}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hk-deb.XXXXXX")
cleanup() {
	if [ -n "${KEEP_BUILD_DIR:-}" ]; then
		echo "build.sh: build directory kept: $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
src="$tmp/housekeeper-$upstream"
mkdir -p "$src"

# A clean tree: what git tracks (plus new, not ignored files of the work
# tree), never the generated configure, Makefiles or objects of a build in
# place. Without git: the whole tree, and dh's clean step runs distclean.
if [ -n "$from_head" ]; then
	git -C "$top" archive --format=tar HEAD | tar -x -C "$src"
elif git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	# not the results of an earlier build: OUTDIR (when inside the tree)
	# and a debian/ copied to the top by hand
	case $outdir/ in
	"$top"/*) skip=${outdir#"$top"/}/ ;;
	*) skip=debian/ ;;
	esac
	# shellcheck disable=SC2016 # $1, $f: expanded by the inner sh
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'skip=$1; shift; for f; do
			case $f in "$skip"* | debian/*) continue ;; esac
			[ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh "$skip" |
		tar --null -T - -cf -) | tar -x -C "$src"
else
	(cd "$top" && tar --exclude=./.git -cf - .) | tar -x -C "$src"
fi
rm -rf "$src/debian"
cp -r "$top/contrib/debian" "$src/debian"

echo "build.sh: building in $src" >&2
(
	cd "$src"
	DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck}
	export DEB_BUILD_OPTIONS
	dpkg-buildpackage -us -uc -b
)

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes="housekeeper_${version}_${arch}.changes"
for f in "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo; do
	[ -e "$f" ] && cp "$f" "$outdir/"
done
echo "build.sh: packages in $outdir:" >&2
ls -1 "$outdir"/*.deb >&2

if [ -n "$run_lintian" ]; then
	lintian --fail-on error "$outdir/$changes"
fi
