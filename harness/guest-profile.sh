#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest for `make bench-profile`: SYSTEM_MAP ARGS...
# Five runs of uffd-tput ARGS, each profiling its timed region; their
# counts summed and printed, busiest first, one UFFD-PROFILE line each
# (the root file system is read-only here).
map=$1
shift
B=$UFFD_REPO/build/bench
for i in 1 2 3 4 5; do
	UFFD_BENCH_PROFILE=/tmp/profile.$i "$B/uffd-tput" "$@" || exit 1
done
python3 - /tmp/profile.* >/tmp/profile.sum <<'PY' || exit 1
import array, sys
# /proc/profile: one word of step size, then a counter per step.
tot = None
for f in sys.argv[1:]:
    a = array.array('I', open(f, 'rb').read())
    if tot is None:
        tot = a
    else:
        for i in range(1, len(a)):
            tot[i] += a[i]
sys.stdout.buffer.write(tot.tobytes())
PY
readprofile -m "$map" -p /tmp/profile.sum | sort -nr | sed 's/^/UFFD-PROFILE /'
