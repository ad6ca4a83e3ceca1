#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the same benchmarks on the stock kernel and on ours.
. "$(dirname "$0")/lib.sh"

"$TOP/harness/build-tests.sh" bench
mkdir -p "$BUILD/bench"
export QEMU_EXTRA="-icount shift=0,sleep=off"
for k in stock uffd; do
	img=$BUILD/bzImage
	[ $k = stock ] && img=$BUILD/stock/bzImage
	"$TOP/harness/boot.sh" --timeout 1800 --log "$BUILD/bench/$k.log" \
		"$img" -- sh "$TOP/harness/guest-bench.sh" >/dev/null ||
		die "$k run failed (see $BUILD/bench/$k.log)"
done
printf '%-44s %-22s %s\n' benchmark stock uffd
paste <(tr -d '\r' < "$BUILD/bench/stock.log" | sed -n 's/^UFFD-BENCH //p') \
      <(tr -d '\r' < "$BUILD/bench/uffd.log" | sed -n 's/^UFFD-BENCH //p') |
	awk -F'\t' '{
		n = split($1, a, " "); split($2, b, " ");
		printf "%-44s %-22s %s\n", a[1] " " a[2], a[n], b[n] }'
