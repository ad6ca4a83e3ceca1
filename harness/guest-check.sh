#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test guest: every suite, each between markers that
# check.sh reads back from the console.
T=$UFFD_REPO/build/tests

run() {
	name=$1
	shift
	echo "UFFD-BEGIN $name"
	"$@"
	echo "UFFD-END $name $?"
}

# Our kselftests, one program per feature.
for t in "$T"/selftests/uffd-*; do
	run "selftest-${t##*/}" "$t"
done
run upstream-unit-tests "$T/uffd-unit-tests"
run upstream-stress-anon "$T/uffd-stress" anon 16 4
run upstream-stress-shmem "$T/uffd-stress" shmem 16 4
run upstream-stress-hugetlb "$T/uffd-stress" hugetlb 16 4
run upstream-stress-shmem-private "$T/uffd-stress" shmem-private 16 4
run upstream-stress-hugetlb-private "$T/uffd-stress" hugetlb-private 16 4
# It writes files in its working directory: /tmp, a tmpfs.
run upstream-pagemap-ioctl sh -c "cd /tmp && exec $T/pagemap_ioctl"
run demo "$UFFD_REPO/build/demo/uffd-demo"
run criu-uffd-noncoop criu check --feature uffd-noncoop
# Unmodified QEMU (nested TCG) snapshots a running VM with write-protect.
mkdir -p /tmp/bgsnap
run client-qemu-bgsnap /usr/bin/python3 "$UFFD_REPO/clients/qemu/bgsnap.py" \
	"$T/clients/wl-guest.elf" /tmp/bgsnap
# make check's share of make check-clients: one of each client.
run client-qemu-postcopy-anon /usr/bin/python3 \
	"$UFFD_REPO/clients/qemu/postcopy.py" "$T/clients/wl-guest.elf" \
	/tmp/bgsnap anon
run client-criu-lazy-local sh "$UFFD_REPO/clients/criu/lazy.sh" \
	"$T/clients" /tmp/criu-lazy local
run client-firecracker-4k-zeropage sh \
	"$UFFD_REPO/clients/firecracker/restore.sh" "$T/clients" /tmp/fc-4k \
	4k 64 8 zeropage
exit 0
