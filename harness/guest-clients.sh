#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test guest for `make check-clients`: each real client's
# scenario between markers that check-clients.sh reads back.
C=$UFFD_REPO/clients/qemu
ELF=$UFFD_REPO/build/tests/clients/wl-guest.elf
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
exit 0
