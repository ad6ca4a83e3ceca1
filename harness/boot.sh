#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# boot.sh [--timeout S] [--log FILE] [--no-scan] BZIMAGE -- CMD [ARGS...]
# Boot BZIMAGE under QEMU (TCG), run CMD in the guest, exit with its
# status.  A guest that does not finish in S seconds is killed and the
# run fails; so does one whose kernel log shows a warning or a bug.
# QEMU_EXTRA adds QEMU options (make bench: -icount for a guest clock
# that does not depend on the host's load).
. "$(dirname "$0")/lib.sh"

timeout=600 log= scan=1
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--no-scan) scan=0; shift ;;
	--) shift; break ;;
	*) kernel=$1; shift ;;
	esac
done
[ -n "${kernel:-}" ] && [ -f "$kernel" ] || die "no kernel image '${kernel:-}'"
[ $# -gt 0 ] || die "no command to run"
[ -n "$log" ] || log=$BUILD/guest/console.log

mkdir -p "$BUILD/guest" "$(dirname "$log")"
# The command, beside the log: make check, make bench and make run may
# boot at the same time, each with its own.
cmdfile=$(cd "$(dirname "$log")" && pwd)/cmd.sh	# the guest's path too
{
	# Relative paths in CMD mean what they mean on the host.
	printf 'cd %q 2>/dev/null || cd /tmp\n' "$PWD"
	printf '%q ' "$@"
	echo
} > "$cmdfile"

accel=tcg
[ "${UFFD_KVM:-0}" = 1 ] && [ -w /dev/kvm ] && accel=kvm
append="console=ttyS0 loglevel=5 printk.time=1 panic=-1 oops=panic"
append="$append root=/dev/root rootfstype=9p ro"
append="$append rootflags=trans=virtio,version=9p2000.L,msize=262144"
append="$append init=$TOP/harness/guest-init.sh UFFD_REPO=$TOP UFFD_CMD=$cmdfile"
append="$append hugepages=64"
# BOOT_APPEND: more kernel parameters (make check: numa=fake=2).
append="$append ${BOOT_APPEND:-}"

# A scratch disk the guest uses as swap (sparse, made once), beside the
# log: QEMU locks it, and make check, make bench and make run may boot
# at the same time.
swapimg=$(dirname "$log")/swap.img
[ -f "$swapimg" ] || truncate -s 256M "$swapimg"

say "booting $(basename "$kernel") ($accel, timeout ${timeout}s): $*"
set +e
timeout -k 10 "$timeout" qemu-system-x86_64 -accel "$accel" -smp 2 -m 2G \
	-display none -monitor none -serial stdio -no-reboot \
	-kernel "$kernel" -append "$append" \
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root \
	-fsdev local,id=repo,path="$TOP",security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=repo,mount_tag=uffdrepo \
	-drive file="$swapimg",if=virtio,format=raw,cache=unsafe \
	${QEMU_EXTRA:-} </dev/null 2>&1 | tee "$log"
qemu=${PIPESTATUS[0]}
set -e

status=$(sed -n 's/^UFFD-GUEST-EXIT: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$status" ]; then
	if [ "$qemu" = 124 ] || [ "$qemu" = 137 ]; then
		say "guest did not finish within ${timeout}s (log: $log)"
	else
		say "guest died without reporting a status (qemu $qemu, log: $log)"
	fi
	status=125
fi
if [ "$scan" = 1 ] && ! "$TOP/harness/scan-log.sh" "$log"; then
	[ "$status" = 0 ] && status=126
fi
exit "$status"
