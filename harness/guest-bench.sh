#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest for `make bench`.  Guest time is tied to executed
# instructions (-icount), so figures compare across runs and kernels.
# Each result: UFFD-BENCH <label> <metric> <value>, once per repetition;
# UFFD-PROGRESS lines say how far it is.
B=$UFFD_REPO/build/bench
REPS=${UFFD_BENCH_REPS:-3}
FAULTS=8192
THREADS="1 4 16 64 256"

# Every run of one repetition, as "label|command" lines.
runs() {
	for t in $THREADS; do
		for m in 1 2 4; do
			echo "tput-m$m-T$t|uffd-tput -r $m $t $FAULTS"
		done
		echo "tput-batch-T$t|uffd-tput -b $t $FAULTS"
	done
	for t in 1 64; do
		echo "tput-memfd-T$t|uffd-tput -m memfd $t $FAULTS"
		# hugetlbfs: 64 huge pages are reserved at boot.
		echo "tput-hugetlb-T$t|uffd-tput -m hugetlb $t 64"
	done
	# With -q 20: the mapping thread never lets CPU 1 idle, and without
	# a timer deadline at most 20 us away QEMU's -icount turns of up to
	# a tick would be the figure (bench/uffd-tput.c).  Three runs a
	# repetition: one run moves by 5 to 10% with how CPU 1 is shared
	# between the mapping thread and the faulting threads.
	for _ in 1 2 3; do
		echo "tput-contended-T16|uffd-tput -c -q 20 16 $FAULTS"
	done
	for w in read poll epoll epollx; do
		echo "readers8-$w-T64|uffd-tput -r 8 -w $w 64 $FAULTS"
	done
	for op in fork mremap dontneed munmap; do
		for on in off on; do
			echo "event-$op-$on|uffd-evcost $op $on 200"
		done
	done
	echo "mem-context|uffd-mem contexts 1000"
	echo "mem-parked-fault|uffd-mem faults 256"
	for t in 1 16 64 256; do
		# 1024 resolves at every thread count.
		echo "scale-threads-$t|uffd-scale $t $((1024 / t))"
	done
	for m in plain uffd watched; do
		echo "fork-exit-$m|uffd-exit $m 1000"
	done
	for m in read poll; do
		echo "roundtrip-$m|uffd-roundtrip $m 4096"
	done
}

total=$(($(runs | wc -l) * REPS))
i=0
for rep in $(seq "$REPS"); do
	runs | while IFS='|' read -r label cmd; do
		i=$((i + 1))
		echo "UFFD-PROGRESS $(( (rep - 1) * total / REPS + i ))/$total $label (repetition $rep)"
		# shellcheck disable=SC2086
		out=$("$B"/$cmd) || { echo "UFFD-BENCH-FAIL $label: $out"; continue; }
		for kv in $out; do
			echo "UFFD-BENCH $label ${kv%%=*} ${kv#*=}"
		done
	done
done
echo "UFFD-BENCH-DONE"
