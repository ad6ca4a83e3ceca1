#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# build-tests.sh selftests|upstream|demo
#   selftests: our kselftests (one program per feature, in tests/selftests),
#              against our uapi headers
#   upstream:  6.12's own uffd-unit-tests, uffd-stress and pagemap_ioctl
#              (PAGEMAP_SCAN over asynchronous write-protect), against
#              upstream's headers, untouched
#   demo:      the demonstration monitor used by `make run`
#   bench:     the benchmark programs of `make bench`
#   clients:   what the real clients' scenarios run besides the clients
#              (the QEMU guest workload)
. "$(dirname "$0")/lib.sh"

SRC=$(base_tree)
SELFTESTS=$SRC/tools/testing/selftests
OUT=$BUILD/tests
mkdir -p "$OUT"

# Install the uapi headers of tree $1 into $2 (only when they changed).
headers() {
	local stamp
	stamp=$( (cat "$1/include/uapi/linux/userfaultfd.h"; echo "$1") | sha1sum)
	[ "$(cat "$2/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
	make -s -C "$1" O="$2" headers >/dev/null
	echo "$stamp" > "$2/.stamp"
}

case "${1:-}" in
selftests)
	"$TOP/harness/tree.sh"
	headers "$TREE" "$BUILD/hdr-uffd"
	mkdir -p "$OUT/selftests"
	make -s -C "$TREE/tools/testing/selftests/vm" OUTPUT="$OUT/selftests" \
		KHDR_INCLUDES="-isystem $BUILD/hdr-uffd/usr/include"
	;;
upstream)
	headers "$SRC" "$BUILD/hdr-upstream"
	mm=$SELFTESTS/mm
	cflags="-Wall -Wno-maybe-uninitialized -O2 -U_FORTIFY_SOURCE -no-pie -I $SRC/tools/include
		-isystem $BUILD/hdr-upstream/usr/include -I $SELFTESTS"
	for t in uffd-unit-tests uffd-stress pagemap_ioctl; do
		extra=uffd-common.c
		[ "$t" = pagemap_ioctl ] && extra=
		if [ ! -x "$OUT/$t" ] || [ "$mm/$t.c" -nt "$OUT/$t" ] ||
		   [ "$BUILD/hdr-upstream/.stamp" -nt "$OUT/$t" ]; then
			# shellcheck disable=SC2086
			(cd "$mm" && gcc $cflags "$t.c" $extra vm_util.c \
				thp_settings.c -lrt -lpthread -lm -o "$OUT/$t")
		fi
	done
	;;
demo)
	mkdir -p "$BUILD/demo"
	make -s -C "$TOP/demo" OUTPUT="$BUILD/demo" \
		CPPFLAGS="-I$TOP/include/uapi"
	;;
bench)
	mkdir -p "$BUILD/bench"
	make -s -C "$TOP/bench" OUTPUT="$BUILD/bench" \
		CPPFLAGS="-I$TOP/include/uapi"
	;;
clients)
	mkdir -p "$OUT/clients"
	make -s -C "$TOP/clients" OUTPUT="$OUT/clients" \
		CPPFLAGS="-I$TOP/include/uapi"
	;;
*)
	die "usage: build-tests.sh selftests|upstream|demo|bench|clients"
	;;
esac
