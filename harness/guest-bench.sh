#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest for `make bench`.  Guest time is tied to executed
# instructions (-icount), so figures compare across runs and kernels.
B=$UFFD_REPO/build
for t in 1 16 64 256; do
	echo "UFFD-BENCH $("$B/bench/uffd-scale" "$t" 4)"
done
start=$(date +%s%N)
"$B/tests/uffd-stress" anon 16 4 >/dev/null 2>&1
echo "UFFD-BENCH uffd-stress-anon-16-4 status=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))"
