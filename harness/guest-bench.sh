#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest for `make bench`.  Guest time is tied to executed
# instructions (-icount), so figures compare across runs and kernels.
# Each line: UFFD-BENCH <label> <key=value>.
B=$UFFD_REPO/build
for t in 1 16 64 256; do
	# 1024 resolves at every thread count.
	r=$("$B/bench/uffd-scale" "$t" $((1024 / t)))
	echo "UFFD-BENCH scale-threads-$t ${r##* }"
done
for run in 1 2 3; do
	for m in plain uffd watched; do
		r=$("$B/bench/uffd-exit" "$m" 1000)
		echo "UFFD-BENCH fork-exit-$m#$run ${r##* }"
	done
done
for run in 1 2 3; do
	for m in read poll; do
		r=$("$B/bench/uffd-roundtrip" "$m" 4096)
		echo "UFFD-BENCH roundtrip-$m#$run ${r##* }"
	done
done
# uffd-stress is a stress test, not a benchmark: on the stock kernel it
# also exercises write-protect mode (which we do not provide), and its
# fault counts vary tenfold between runs.  Its time is shown for
# information only.
start=$(date +%s%N)
"$B/tests/uffd-stress" anon 16 4 >/dev/null 2>&1
st=$?
echo "UFFD-BENCH uffd-stress-anon-16-4(info) status=$st,ms=$(( ($(date +%s%N) - start) / 1000000 ))"
