#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# CRIU lazy restore of crtree (a process tree that forks, mremaps, drops
# and unmaps memory while threads keep writing): dumped, then restored
# with `criu restore --lazy-pages` while `criu lazy-pages` serves its
# memory through userfaultfd, from the local images or, with
# "page-server", asking `criu page-server` for them over TCP.  Passes only if every restored process checks every
# page it wrote before the dump, and the daemon's log shows it served
# page faults and the tree's memory events through userfaultfd.
#
#	lazy.sh BINDIR WORKDIR local|page-server
set -u
bin=$1 w=$2 mode=$3
port=27027
img=$w/img
pids=
fail() {
	echo "criu-lazy-$mode: FAIL: $*"
	for l in dump restore lazy page-server; do
		[ -f "$img/$l.log" ] || continue
		echo "--- criu $l log:"
		grep -E 'Error|error|WARN' "$img/$l.log" | head -5
		tail -5 "$img/$l.log"
	done
	for r in "$w"/*.report; do [ -f "$r" ] && cat "$r"; done
	# The tree is one process group, the restored one too.
	[ -n "$crpid" ] && kill -9 -"$crpid" 2>/dev/null
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	[ -n "$bg" ] && kill -9 $bg 2>/dev/null
	exit 1
}
# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds.
wait_for() {
	n=$(($1 * 10)) what=$2
	shift 2
	while ! "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || fail "timed out waiting for $what"
		sleep 0.1
	done
}
gone() { ! kill -0 "$1" 2>/dev/null; }
# A process's report, unless it died without one.
reported() {
	[ -s "$w/$1.report" ] && return 0
	gone "$2" && [ ! -s "$w/$1.report" ] && fail "$1 ($2) died without a report"
	return 1
}
bg= crpid=
rm -rf "$w"
mkdir -p "$img"

setsid "$bin/crtree" "$w" < /dev/null > /dev/null 2>&1 &
crpid=$!
wait_for 60 "crtree to start" test -s "$w/pids"
pids=$(awk '{ print $2 }' "$w/pids")
root=$(awk '$1 == "parent" { print $2 }' "$w/pids")
sleep 2
for p in $pids; do
	kill -0 "$p" 2>/dev/null || fail "crtree process $p died before the dump"
done

# A restore parked for good in a fault must not take the whole run.
timeout -k 10 300 criu dump -D "$img" -t "$root" -v4 -o dump.log ||
	fail "criu dump failed"
if [ "$mode" = local ]; then
	criu lazy-pages -D "$img" -v4 -o lazy.log &
	bg=$!
else
	# The images stay with `criu page-server`, which sends the daemon
	# the pages it asks for over TCP (as from another host).
	criu page-server -D "$img" --lazy-pages --port $port \
		-v4 -o page-server.log &
	bg=$!
	wait_for 60 "criu page-server to start" \
		grep -qs "Starting page server" "$img/page-server.log"
	criu lazy-pages -D "$img" --page-server --address 127.0.0.1 \
		--port $port -v4 -o lazy.log &
	bg="$bg $!"
fi
wait_for 60 "criu lazy-pages to listen" test -S "$img/lazy-pages.socket"
for p in $pids; do wait_for 60 "the dumped tree to go" gone "$p"; done
timeout -k 10 300 criu restore -D "$img" --lazy-pages -d -v4 -o restore.log ||
	fail "criu restore failed (or timed out)"
for p in $pids; do
	kill -0 "$p" 2>/dev/null || fail "process $p was not restored"
done
# Let them run on lazily for a moment, then have them check everything.
sleep 1
kill -USR1 $pids
for r in parent mremap dontneed; do
	wait_for 300 "$r's report" reported "$r" \
		"$(awk -v r="$r" '$1 == r { print $2 }' "$w/pids")"
done
for b in $bg; do wait_for 300 "criu (pid $b) to finish" gone "$b"; done
for b in $bg; do wait "$b" || fail "criu (pid $b) exit status $?"; done
cat "$w"/*.report
grep -q FAIL "$w"/*.report && fail "a restored process found a bad page"

log=$img/lazy.log
count() { grep -c "uffd: [0-9-]*: $1" "$log"; }
faults=$(count '#PF at')
xfer=$(sed -n 's/.*UFFD transferred pages: (\([0-9]*\)\/.*/\1/p' "$log" |
       awk '{ s += $1 } END { print s + 0 }')
fork=$(count FORK) remap=$(count REMAP) remove=$(count REMOVE) unmap=$(count UNMAP)
echo "criu-lazy-$mode: lazy-pages served $faults faults, transferred $xfer pages;" \
	"events: fork $fork remap $remap remove $remove unmap $unmap exit $(count EXIT)"
[ "$faults" -gt 0 ] || fail "lazy-pages served no page fault"
[ "$xfer" -gt 0 ] || fail "lazy-pages transferred no page"
# The daemon closes a process's userfaultfd once it holds all of its
# memory, and from then on that process's layout changes are no longer
# reported; which events arrive is a matter of timing, but the tree
# changes its layout every 20 ms, so some must.  Those that arrive are
# checked by the pages: a REMOVE, UNMAP or REMAP the daemon misread would
# have it fill the wrong page.
[ $((fork + remap + remove + unmap)) -gt 0 ] ||
	fail "lazy-pages saw none of the tree's fork, mremap, madvise or munmap"
