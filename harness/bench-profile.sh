#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench-profile [KERNEL=uffd|stock] [PROFILE='uffd-tput args']: where
# the guest kernel spends one benchmark's timed region.  Boots the bench
# kernel (harness/bench.config has CONFIG_PROFILING) with profile=1 under
# -icount, where a tick falls every so many instructions, so the counts
# weigh instructions; the program resets and saves /proc/profile around
# its timed region (bench/bench.h: profile_mark()), five times; the sum
# is printed by readprofile(8), busiest first.  A count on a function
# that re-enables interrupts (finish_task_switch, handle_softirqs) stands
# for the interrupts-off code before it.
. "$(dirname "$0")/lib.sh"

kernel=${KERNEL:-uffd}
case $kernel in uffd|stock) ;; *) die "KERNEL=uffd or KERNEL=stock" ;; esac
args=${PROFILE:-64 65536}
"$TOP/harness/build-tests.sh" bench
if [ "$kernel" = uffd ]; then
	"$TOP/harness/build-kernel.sh" uffd-bench
else
	"$TOP/harness/build-kernel.sh" stock-bench
fi
map=$BUILD/obj-$kernel-bench/System.map
out=$BUILD/bench/profile-$kernel
mkdir -p "$out"
say "profiling uffd-tput $args on the $kernel kernel"
# shellcheck disable=SC2086 # $args is uffd-tput's arguments, split.
QEMU_EXTRA="-icount shift=0,sleep=off" BOOT_APPEND="profile=1" \
	"$TOP/harness/boot.sh" --timeout 1200 --log "$out/console.log" \
	"$BUILD/bench/bzImage-$kernel" -- sh "$TOP/harness/guest-profile.sh" \
	"$map" $args | tr -d '\r' | grep -E '^faults='
tr -d '\r' <"$out/console.log" | sed -n 's/^UFFD-PROFILE //p' >"$out/profile.txt"
[ -s "$out/profile.txt" ] || die "no profile (see $out/console.log)"
echo "ticks   function                                  (total: both CPUs, idle included)"
head -"${TOP_N:-40}" "$out/profile.txt"
say "whole profile: $out/profile.txt"
