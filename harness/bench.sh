#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the same benchmarks on the stock kernel and on ours.
. "$(dirname "$0")/lib.sh"

"$TOP/harness/build-tests.sh" bench
# Kernels without KASAN/lockdep/DEBUG_VM: the test kernels' debugging
# would dominate every figure.
"$TOP/harness/build-kernel.sh" uffd-bench
"$TOP/harness/build-kernel.sh" stock-bench
mkdir -p "$BUILD/bench"
export QEMU_EXTRA="-icount shift=0,sleep=off"
for k in stock uffd; do
	"$TOP/harness/boot.sh" --timeout 2400 --log "$BUILD/bench/$k.log" \
		"$BUILD/bench/bzImage-$k" -- sh "$TOP/harness/guest-bench.sh" \
		>/dev/null || die "$k run failed (see $BUILD/bench/$k.log)"
done
printf '%-34s %-28s %s\n' benchmark stock uffd
paste <(tr -d '\r' < "$BUILD/bench/stock.log" | sed -n 's/^UFFD-BENCH //p') \
      <(tr -d '\r' < "$BUILD/bench/uffd.log" | sed -n 's/^UFFD-BENCH //p') |
	awk -F'\t' '{
		split($1, a, " "); split($2, b, " ");
		printf "%-34s %-28s %s\n", a[1], a[2], b[2] }'
