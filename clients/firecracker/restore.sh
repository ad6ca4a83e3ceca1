#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A Firecracker-style snapshot restore: fc-vm (the VMM) sends its
# userfaultfd to fc-handler (a separate process) over a Unix socket; the
# handler serves guest memory from the snapshot file and answers the
# balloon's UFFD_EVENT_REMOVE with zero pages.  Passes only if every page
# checked out and the handler served, through the userfaultfd, exactly
# the pages the VMM needed.
#
# The handler answers REMOVE with zero pages of its own ("zeropage", as
# Firecracker's example handlers did up to v1.13) or by unregistering the
# range, so that the kernel fills it ("unregister", as since v1.14).
#
#	restore.sh BINDIR WORKDIR 4k|2m MIB THREADS zeropage|unregister
set -u
bin=$1 w=$2 kind=$3 mib=$4 threads=$5 remove=$6
case $kind-$remove in
4k-zeropage | 4k-unregister | 2m-zeropage | 2m-unregister) ;;
*) echo "usage: restore.sh BINDIR WORKDIR 4k|2m MIB THREADS zeropage|unregister"
   exit 2 ;;
esac
fail() {
	echo "firecracker-$kind-$remove: FAIL: $*"
	echo "--- fc-vm:"; tail -5 "$w/vm.log" 2>/dev/null
	echo "--- fc-handler:"; tail -5 "$w/handler.log" 2>/dev/null
	kill "$hpid" 2>/dev/null
	exit 1
}
mkdir -p "$w"
rm -f "$w/snapshot" "$w/uffd.sock" "$w/vm.log" "$w/handler.log"
hpid=
"$bin/fc-vm" snapshot "$w/snapshot" "$mib" > "$w/vm.log" 2>&1 ||
	fail "could not write the snapshot"
opt=
[ "$remove" = unregister ] && opt=-u
"$bin/fc-handler" $opt "$w/uffd.sock" "$w/snapshot" > "$w/handler.log" 2>&1 &
hpid=$!
timeout -k 5 180 "$bin/fc-vm" restore "$w/uffd.sock" "$mib" "$kind" "$threads" \
	>> "$w/vm.log" 2>&1
st=$?
[ $st = 124 ] && fail "fc-vm timed out"
[ $st = 0 ] || fail "fc-vm exit status $st"
# The handler exits once it sees the VMM's socket close.
for i in $(seq 50); do
	kill -0 "$hpid" 2>/dev/null || break
	sleep 0.2
done
kill -0 "$hpid" 2>/dev/null && fail "fc-handler did not exit"
wait "$hpid" || fail "fc-handler exit status $?"
cat "$w/vm.log" "$w/handler.log"

want=$(sed -n 's/^fc-vm: expect //p' "$w/vm.log")
[ -n "$want" ] || fail "fc-vm printed no expectation"
# Unregistered, the given-back pages are the kernel's to fill, not ours.
[ "$remove" = unregister ] &&
	want=$(echo "$want" | sed 's/zeroed=[0-9]*/zeroed=0/')
got=$(sed -n 's/^fc-handler: .*\(copied=[0-9]*\).*\(zeroed=[0-9]*\).*\(removes=[0-9]*\).*\(removed_pages=[0-9]*\).*/\1 \2 \3 \4/p' \
      "$w/handler.log")
[ "$got" = "$want" ] || fail "handler served '$got', the VMM needed '$want'"
echo "firecracker-$kind-$remove: $(sed -n 's/^fc-vm: \([0-9]* vCPU.*\)/\1/p' "$w/vm.log"); handler: $got"
