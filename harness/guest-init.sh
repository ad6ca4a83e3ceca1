#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# PID 1 of the test guest.  The root is the host's / over 9p, read-only;
# UFFD_REPO (from the kernel command line) is the repository, shared
# again so it stays visible when it lives under /tmp.  Runs
# UFFD_CMD (the command file boot.sh wrote) and reports its status on the
# console.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/shm /dev/hugepages "$UFFD_REPO"
mount -t tmpfs tmpfs /dev/shm
mount -t hugetlbfs hugetlbfs /dev/hugepages 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro uffdrepo "$UFFD_REPO"
# Injected slab failures (fail-nth) must hit sleeping allocations too, and
# must not dump stacks into the log the harness scans for real problems.
if mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null &&
   [ -d /sys/kernel/debug/failslab ]; then
	echo N > /sys/kernel/debug/failslab/ignore-gfp-wait
	echo 0 > /sys/kernel/debug/failslab/verbose
fi
hostname uffd-guest 2>/dev/null
# Swap on the scratch disk, where the kernel has swap at all.
if [ -b /dev/vda ] && [ -e /proc/swaps ]; then
	mkswap /dev/vda >/dev/null 2>&1 && swapon /dev/vda 2>/dev/null
fi
# Loopback up: CRIU's feature detection binds to 127.0.0.1.
ip link set lo up 2>/dev/null || busybox ip link set lo up
cd /tmp || exit 1
export HOME=/tmp TMPDIR=/tmp
sh "${UFFD_CMD:-$UFFD_REPO/build/guest/cmd.sh}"
echo "UFFD-GUEST-EXIT: $?"
busybox reboot -f
