#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the same benchmarks on the stock kernel and on ours, side by
# side.  Writes build/bench/results.txt (printed at the end), results.md
# and throughput.png; says which kernel and benchmark it is at meanwhile.
. "$(dirname "$0")/lib.sh"

"$TOP/harness/build-tests.sh" bench
# Kernels without KASAN/lockdep/DEBUG_VM: the test kernels' debugging
# would dominate every figure.
"$TOP/harness/build-kernel.sh" uffd-bench
"$TOP/harness/build-kernel.sh" stock-bench
mkdir -p "$BUILD/bench"
export QEMU_EXTRA="-icount shift=0,sleep=off"
for k in stock uffd; do
	say "benchmarks on the $k kernel"
	set +e
	"$TOP/harness/boot.sh" --timeout 2400 --log "$BUILD/bench/$k.log" \
		"$BUILD/bench/bzImage-$k" -- sh "$TOP/harness/guest-bench.sh" |
		tr -d '\r' | grep --line-buffered -E '^UFFD-(PROGRESS|BENCH-FAIL)' |
		sed -u "s/^UFFD-PROGRESS /[$k] /"
	st=${PIPESTATUS[0]}
	set -e
	[ "$st" = 0 ] || die "$k run failed (see $BUILD/bench/$k.log)"
	grep -q '^UFFD-BENCH-FAIL' "$BUILD/bench/$k.log" &&
		die "a benchmark failed on $k (see $BUILD/bench/$k.log)"
done
python3 "$TOP/harness/bench-report.py" "$BUILD/bench/stock.log" \
	"$BUILD/bench/uffd.log" "$BUILD/bench"
cat "$BUILD/bench/results.txt"
say "table: $BUILD/bench/results.txt (Markdown: results.md); plot: $BUILD/bench/throughput.png"
