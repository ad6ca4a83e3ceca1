#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test guest for `make check-clients`: each real client's
# scenario between markers that check-clients.sh reads back.
C=$UFFD_REPO/clients/qemu
B=$UFFD_REPO/build/tests/clients
ELF=$B/wl-guest.elf
W=/tmp/clients
mkdir -p "$W"

run() {
	name=$1
	shift
	echo "UFFD-BEGIN $name"
	"$@"
	echo "UFFD-END $name $?"
}

run client-qemu-bgsnap /usr/bin/python3 "$C/bgsnap.py" "$ELF" "$W"
for mem in anon memfd hugetlbfs; do
	run "client-qemu-postcopy-$mem" /usr/bin/python3 "$C/postcopy.py" \
		"$ELF" "$W" "$mem"
done
for mode in local page-server; do
	run "client-criu-lazy-$mode" sh "$UFFD_REPO/clients/criu/lazy.sh" \
		"$B" "$W/criu-$mode" "$mode"
done
# 64 MiB of 4 KiB pages, 32 MiB of 2 MiB pages; 8 faulting threads; the
# balloon's pages served as zeros by the handler, or by the kernel.
for remove in zeropage unregister; do
	run "client-firecracker-4k-$remove" sh \
		"$UFFD_REPO/clients/firecracker/restore.sh" \
		"$B" "$W/fc-4k" 4k 64 8 $remove
	run "client-firecracker-2m-$remove" sh \
		"$UFFD_REPO/clients/firecracker/restore.sh" \
		"$B" "$W/fc-2m" 2m 32 8 $remove
done
exit 0
