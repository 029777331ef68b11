#!/bin/sh
# quickstart.sh - the README's two commands.
#   contrib/quickstart.sh demo   install build dependencies, build, run the
#                                daemon in the foreground on a demo directory
#   contrib/quickstart.sh test   install build dependencies, build, run the
#                                whole test suite (make check)
# Run as root on Debian 12 (it calls apt-get); as another user it skips the
# install step and expects the packages to be there.
set -eu

mode=${1:-}
case $mode in
demo | test) ;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2
	;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Build and test dependencies, all from Debian (see README "Dependencies").
packages="autoconf automake libtool make gcc pkg-config \
libev-dev liblmdb-dev libinih-dev libjansson-dev uuid-dev libcmocka-dev \
util-linux procps python3 jq faketime mandoc"

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	missing=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $packages 2>/dev/null |
		awk '$1 != "ii" { print $2 }'; for p in $packages; do
		dpkg-query -W "$p" >/dev/null 2>&1 || echo "$p"; done)
	if [ -n "$missing" ]; then
		echo "quickstart: installing $(echo $missing | tr '\n' ' ')"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	fi
fi

if [ ! -x configure ]; then
	autoreconf -fi
fi
if [ ! -f Makefile ]; then
	./configure ${CONFIGURE_FLAGS:-}
fi
make -j"$(nproc)"

case $mode in
test)
	make -j"$(nproc)" check || {
		cat tests/unit/*.log tests/integration/*.log 2>/dev/null | tail -n 200
		exit 1
	}
	;;
demo)
	exec sh "$top/contrib/demo.sh" "$top"
	;;
esac
